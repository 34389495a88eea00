#!/usr/bin/env bash
# run_cli_test.sh: `arenalab run` runs the real program under each
# allocator that can serve one (the C library's malloc, a preloaded
# library: really loaded into the program), interleaved, --repeat times,
# with every run's figures in the JSON; model allocators and routes are
# refused with a message.
set -uo pipefail
bin=$(pwd)/sim/cli/arenalab
tmp=${TEST_TMPDIR:-$(mktemp -d)}
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# --help says how, and runs nothing
"$bin" run --help >"$tmp/help" 2>&1 || fail "run --help: exit $?"
grep -q "^allocator " "$tmp/help" && fail "run --help printed a result table: $(cat "$tmp/help")"

sanitized=0
case "$(ldd "$bin" 2>/dev/null)" in *libasan*) sanitized=1 ;; esac
allocs=raw
[ "$sanitized" = 1 ] || allocs=raw,jemalloc

# the program checks which library it runs with: exit 0 when jemalloc is
# mapped into it, 1 when not
probe='grep -q libjemalloc /proc/self/maps'
if "$bin" run --alloc "$allocs" -n 3 --seed 7 --json "$tmp/run.json" -- sh -c "$probe" \
    >"$tmp/out" 2>"$tmp/err"; then
  python3 - "$tmp/run.json" "$allocs" <<'PY' || fail "run --json: $(cat "$tmp/run.json")"
import json, sys
d = json.load(open(sys.argv[1]))
want = sys.argv[2].split(",")
got = [a["allocator"] for a in d["allocators"]]
assert got == want, got
assert d["repeat"] == 3 and d["seed"] == 7
for a in d["allocators"]:
    for k in ("wall_s", "user_s", "sys_s", "maxrss_bytes", "minor_faults"):
        assert len(a[k]["runs"]) == 3, (a["allocator"], k)
        assert a[k]["ci_low"] <= a[k]["median"] <= a[k]["ci_high"]
    assert a["maxrss_bytes"]["median"] > 0
    # the library was really there, and only where asked
    assert a["exit_status"] == (0 if a["allocator"] == "jemalloc" else 1), a
PY
  grep -q "under raw the program exited with status 1" "$tmp/err" || fail "no warning for raw: $(cat "$tmp/err")"
  grep -q "^raw " "$tmp/out" || fail "no table: $(cat "$tmp/out")"
else
  fail "run: $(cat "$tmp/err")"
fi

# refused: a model allocator, a route, no program, a missing program
for args in "--alloc pymalloc -- true:lives inside a replay" \
  "--alloc raw=malloc,mem=raw -- true:give one allocator, not a route" \
  "--alloc raw:cannot be run" "--alloc raw -- /nonexistent/prog:cannot be run"; do
  want=${args##*:}
  # shellcheck disable=SC2086
  "$bin" run ${args%:*} >/dev/null 2>"$tmp/err"
  rc=$?
  [ "$rc" = 2 ] || fail "run ${args%:*}: exit $rc, want 2"
  [ "$want" = "cannot be run" ] && [[ ${args%:*} == "--alloc raw" ]] && want="usage: arenalab run"
  grep -q "$want" "$tmp/err" || fail "run ${args%:*}: said $(cat "$tmp/err")"
done
grep -q "usage: arenalab run" <<<"$("$bin" run --help)" || fail "run --help"

[ "$fails" = 0 ] && echo "run_cli_test: all passed"
exit "$fails"
