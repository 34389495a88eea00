#!/usr/bin/env bash
# threads_cli_test.sh: traces of several threads as a user meets them --
# `check` and `stats` show the threads and the cross-thread frees and
# reallocs, `check` rejects a free listed before its allocation with
# FILE:LINE; `replay` runs the thread-safe allocators on the trace's
# threads (`threads` in the JSON), with --verify, and the models
# serialized with the same memory figures as --threads 1; usage errors.
set -uo pipefail

bin=$(pwd)/sim/cli/arenalab
tmp=${TEST_TMPDIR:-$(mktemp -d)}
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

sanitized=0
case "$(ldd "$bin" 2>/dev/null)" in *libasan* | *libtsan*) sanitized=1 ;; esac

# Three threads, bursts of 8 events each in turn; every thread frees some
# of the previous thread's blocks and reallocs others, and thread 3 ends
# with blocks live.
awk 'BEGIN {
  id = 0
  for (round = 0; round < 300; round++)
    for (t = 1; t <= 3; t++) {
      print "#@ thread " t
      for (k = 0; k < 4; k++) { id++; print "a " id " " (16 + (id * 37) % 900); mine[t, n[t]++] = id }
      p = t == 1 ? 3 : t - 1
      if (n[p] > 2 && !(t == 3 && round > 250)) {
        print "f " mine[p, --n[p]]
        print "r " mine[p, n[p] - 1] " " (32 + (round * 13) % 2000)
      }
      if (n[t] > 4 && !(t == 3 && round > 250)) { print "f " mine[t, --n[t]]; print "f " mine[t, --n[t]] }
    }
}' >"$tmp/three.txt"

out=$("$bin" check "$tmp/three.txt" 2>&1) || fail "check: $out"
[[ $out == *"3 threads ("*"cross-thread frees"* ]] || fail "check does not show the threads: $out"
out=$("$bin" stats "$tmp/three.txt" --json "$tmp/stats.json" 2>&1) || fail "stats: $out"
[[ $out == *"threads 3 (cross-thread: "*" frees, "*" reallocs; "*" sync points)"* ]] ||
  fail "stats does not show the threads: $out"
python3 - "$tmp/stats.json" <<'PY' || fail "stats JSON: $(cat "$tmp/stats.json")"
import json, sys
t = json.load(open(sys.argv[1]))["threads"]
assert t["count"] == 3 and len(t["per_thread"]) == 3
assert [x["id"] for x in t["per_thread"]] == [1, 2, 3]
assert t["remote_frees"] > 0 and t["remote_reallocs"] > 0 and t["sync_points"] > 0
assert sum(x["remote_frees"] for x in t["per_thread"]) == t["remote_frees"]
PY

# A free listed before its allocation: wrong in every order of the threads.
printf '#@ thread 1\na 1 10\n#@ thread 2\na 5 10\nf 2\nf 5\n#@ thread 1\na 2 10\n' >"$tmp/bad.txt"
out=$("$bin" check "$tmp/bad.txt" 2>&1)
rc=$?
[ "$rc" = 1 ] || fail "check of a free before its allocation: exit $rc, not 1"
[[ $out == *"bad.txt:5: f of id 2, which is not live"* ]] || fail "check message: $out"
[[ $out == *"note: a trace of several threads"* ]] || fail "check does not explain: $out"
out=$("$bin" replay "$tmp/bad.txt" --alloc malloc -n 0 2>&1)
rc=$?
[ "$rc" = 1 ] && [[ $out == *"bad.txt:5: f of id 2, which is not live"* ]] ||
  fail "replay of a free before its allocation: exit $rc: $out"

# Threaded where the allocator is thread-safe, serialized for the models.
real=(malloc)
[ "$sanitized" = 0 ] && real=(raw malloc jemalloc mimalloc tcmalloc)
allocs=$(IFS=,; echo "${real[*]},pymalloc,arena,pymalloc_debug")
"$bin" replay "$tmp/three.txt" --alloc "$allocs" --verify -n 1 --json "$tmp/rec.json" \
  >"$tmp/table" 2>"$tmp/err" || fail "threaded replay: $(cat "$tmp/err")"
grep -q "^threads: " "$tmp/table" || fail "table has no threads note: $(cat "$tmp/table")"
"$bin" replay "$tmp/three.txt" --alloc "$allocs" --threads 1 -n 1 --json "$tmp/one.json" \
  >/dev/null 2>"$tmp/err" || fail "--threads 1: $(cat "$tmp/err")"
python3 - "$tmp/rec.json" "$tmp/one.json" "$sanitized" "${real[@]}" <<'PY' ||
import json, sys
rec = {r["allocator"]: r for r in json.load(open(sys.argv[1]))["runs"]}
one = {r["allocator"]: r for r in json.load(open(sys.argv[2]))["runs"]}
sanitized, real = sys.argv[3] == "1", sys.argv[4:]
for a in real:
    if rec[a].get("available") is False:
        continue
    assert rec[a]["threads"] == 3, (a, rec[a]["threads"])
    assert one[a]["threads"] == 1, a
    assert rec[a]["events"] == one[a]["events"]
    assert rec[a]["events_per_s"] > 0 and rec[a]["ns_per_event_per_thread"] > 0
    assert abs(rec[a]["ns_per_event_per_thread"] - 3 * rec[a]["ns_per_event"]["median"]) < 1e-3 * rec[a]["ns_per_event_per_thread"]
for a in ("pymalloc", "arena", "pymalloc_debug"):
    assert rec[a]["threads"] == 1 and one[a]["threads"] == 1, a
    keys = ["peak_live_bytes", "peak_live_blocks", "peak_held_bytes"]
    if not sanitized:
        keys += ["peak_resident_bytes", "frag", "util", "internal_frag"]
    for k in keys:
        assert rec[a][k] == one[a][k], (a, k, rec[a][k], one[a][k])
PY
  fail "threads in the JSON: $(cat "$tmp/rec.json")"

# Usage.
out=$("$bin" replay "$tmp/three.txt" --alloc malloc --threads 2 2>&1)
rc=$?
[ "$rc" = 2 ] && [[ $out == *"--threads 2: expected recorded or 1"* ]] ||
  fail "--threads 2: exit $rc: $out"
"$bin" replay --help | grep -q -- "--threads recorded|1" || fail "--help lacks --threads"

[ "$fails" = 0 ] && echo "threads_cli_test: all passed"
exit $((fails > 0))
