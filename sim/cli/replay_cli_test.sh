#!/usr/bin/env bash
# replay_cli_test.sh: `arenalab replay` end to end — the spec example
# through raw and null with --verify, the JSON keys and the series columns,
# byte-identical figures from two runs, exit 1 with FILE:LINE on a bad
# trace (0 with --lenient, which counts it), exit 2 on usage errors, and
# --list.
set -uo pipefail

bin=$(pwd)/sim/cli/arenalab
tmp=${TEST_TMPDIR:-$(mktemp -d)}
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

cat >"$tmp/spec.txt" <<'TRACE'
# two objects, one resized; an arena with two allocations that takes over block 1
a 0 24 obj
a 1 100
r 1 300
f 0 obj
n 7
m 7 48
m 7 9000
o 7 1
x 7
TRACE

# The spec example: both allocators, verified; outputs written.
if ! "$bin" replay "$tmp/spec.txt" --alloc raw --alloc null --verify -n 2 \
    --json "$tmp/out.json" --series "$tmp/out.csv" >"$tmp/table" 2>"$tmp/err"; then
  fail "spec replay failed: $(cat "$tmp/err")"
fi
[ "$(grep -c spec.txt "$tmp/table")" = 2 ] || fail "table has no row per run: $(cat "$tmp/table")"
head -1 "$tmp/table" | grep -q "ns/event" || fail "table header: $(head -1 "$tmp/table")"
for key in trace allocator events ns_per_event min median max peak_live_bytes \
    peak_resident_bytes peak_held_bytes touch frag jw1 jw2 jw3 jw4 util internal_frag \
    peak_live_blocks repeat lenient_skipped params mean ci_low ci_high ci_level runs \
    timing_too_short configuration seed; do
  grep -q "\"$key\":" "$tmp/out.json" || fail "JSON lacks \"$key\""
done
[ "$(grep -c '"peak_live_bytes": 9348,' "$tmp/out.json")" = 2 ] || fail "peak live is not 9348"
# null under the default arena mode (PyArena): derived in replay_test.c.
grep -q '"peak_held_bytes": 17888,' "$tmp/out.json" || fail "null's held memory is not 17888"
# per-object: every `m` is its own block (16+48, 16+9008), nothing else.
"$bin" replay "$tmp/spec.txt" --alloc null --arena-mode per-object --verify -n 1 \
  --json "$tmp/po.json" >/dev/null 2>"$tmp/err" || fail "per-object: $(cat "$tmp/err")"
grep -q '"peak_held_bytes": 9584,' "$tmp/po.json" || fail "per-object held memory is not 9584"
"$bin" replay "$tmp/spec.txt" --alloc null --arena-mode pyarena:growth=doubling:block=4K \
  -n 1 >/dev/null 2>"$tmp/err" || fail "pyarena params: $(cat "$tmp/err")"
"$bin" replay "$tmp/spec.txt" --alloc null --arena-mode pyarena:blocks=4K >/dev/null 2>"$tmp/err"
[ $? = 2 ] && grep -q "unknown parameter 'blocks'" "$tmp/err" || fail "bad arena param: $(cat "$tmp/err")"
# A trace whose live bytes would not fit is refused before any run; the
# shared-block allocator holds one block whatever the trace.
printf 'a 0 100000\nf 0\n' >"$tmp/mid.txt"
ARENALAB_REPLAY_MAX_BYTES=99999 "$bin" replay "$tmp/mid.txt" --alloc raw -n 1 >"$tmp/out" 2>"$tmp/err"
[ $? = 2 ] && grep -q "peak live bytes (100000) are more than a replay may hold here (99999" "$tmp/err" ||
  fail "live bound: $(cat "$tmp/err")"
[ ! -s "$tmp/out" ] || fail "live bound: a table was printed: $(cat "$tmp/out")"
ARENALAB_REPLAY_MAX_BYTES=100000 "$bin" replay "$tmp/mid.txt" --alloc raw -n 1 >/dev/null 2>"$tmp/err" ||
  fail "live bound at the peak: $(cat "$tmp/err")"
ARENALAB_REPLAY_MAX_BYTES=1000 "$bin" replay "$tmp/mid.txt" --alloc reuse --touch none -n 1 \
  >/dev/null 2>"$tmp/err" || fail "live bound, reuse: $(cat "$tmp/err")"
# --json or --series onto a trace: refused before anything runs, the trace kept
cp "$tmp/mid.txt" "$tmp/mid.orig"
for opt in --json --series; do
  "$bin" replay "$tmp/mid.txt" --alloc raw -n 1 "$opt" "$tmp/mid.txt" >/dev/null 2>"$tmp/err"
  [ $? = 2 ] && grep -q "is the trace .*mid.txt itself" "$tmp/err" || fail "$opt onto the trace: $(cat "$tmp/err")"
  cmp -s "$tmp/mid.txt" "$tmp/mid.orig" || fail "$opt onto the trace replaced it"
done
# cpython's domain is the routing's to set: a user's domain= would be ignored.
"$bin" replay "$tmp/spec.txt" --alloc cpython:domain=raw -n 0 >/dev/null 2>"$tmp/err"
[ $? = 2 ] && grep -q "parameter 'domain' is set by the routing" "$tmp/err" ||
  fail "cpython:domain=raw was not refused: $(cat "$tmp/err")"
head -1 "$tmp/out.csv" | grep -q \
  '^trace,allocator,event,live_bytes,live_blocks,resident_bytes,held_bytes,extra_' ||
  fail "series header: $(head -1 "$tmp/out.csv")"
[ "$(wc -l <"$tmp/out.csv")" = 19 ] || fail "series: want 18 samples, got $(wc -l <"$tmp/out.csv")"
cols=$(head -1 "$tmp/out.csv" | awk -F, '{print NF}')
awk -F, -v n="$cols" 'NF != n { exit 1 }' "$tmp/out.csv" || fail "series rows differ in width"

# Every timed run is in the JSON; the 9-event trace is too short to time.
python3 - "$tmp/out.json" <<'PY' || fail "JSON timings: $(cat "$tmp/out.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["seed"] == 1 and d["repeat"] == 2
for r in d["runs"]:
    ns = r["ns_per_event"]
    assert len(ns["runs"]) == r["repeat"] == 2
    assert ns["min"] == min(ns["runs"]) and ns["max"] == max(ns["runs"])
    assert ns["ci_level"] == 0.5 and r["timing_too_short"] is True
PY
grep -q 'too short' "$tmp/table" || fail "table does not flag the short trace: $(cat "$tmp/table")"

# The same configuration twice: run once, both rows, the same figures.
"$bin" replay "$tmp/spec.txt" --alloc null,null:reserve=64G,null:reserve=65536M -n 3 --seed 9 \
  --json "$tmp/same.json" >"$tmp/same" 2>"$tmp/err" || fail "same configuration: $(cat "$tmp/err")"
python3 - "$tmp/same.json" <<'PY' || fail "same configuration: $(cat "$tmp/same.json")"
import json, sys
d = json.load(open(sys.argv[1]))
r = d["runs"]
assert d["seed"] == 9 and [x["configuration"] for x in r] == ["null"] * 3
assert "same_as" not in r[0] and r[1]["same_as"] == "null" and r[2]["same_as"] == "null"
assert r[0]["ns_per_event"]["runs"] == r[1]["ns_per_event"]["runs"] == r[2]["ns_per_event"]["runs"]
PY
grep -q 'null:reserve=64G (= null)' "$tmp/same" || fail "table does not say = null: $(cat "$tmp/same")"
"$bin" replay "$tmp/spec.txt" -a null --seed x >/dev/null 2>&1
[ $? = 2 ] || fail "bad --seed: want exit 2"
# a seed past 2^64-1 is refused, not taken as 2^64-1 (and recorded as that)
"$bin" replay "$tmp/spec.txt" -a null -n 0 --seed 99999999999999999999 >/dev/null 2>&1
[ $? = 2 ] || fail "--seed 99999999999999999999: want exit 2"
"$bin" replay "$tmp/spec.txt" -a null -n 0 --seed 18446744073709551615 >/dev/null 2>&1 ||
  fail "--seed 18446744073709551615 (2^64-1): want exit 0"

# Determinism: same trace, allocator and params -> the same figures and
# series, resident memory included (timings excluded): null is ours.  The
# spec example has arena events: their bookkeeping, and under a sanitizer
# the stack's shadow, are resident before the baseline (sim/replay), so a
# sanitized build's figures hold still too.
for i in 1 2; do
  "$bin" replay "$tmp/spec.txt" -a null -n 0 --json "$tmp/d$i.json" --series "$tmp/d$i.csv" \
    >/dev/null 2>&1 || fail "determinism run $i failed"
  grep -v -e '"m[a-z]*":' "$tmp/d$i.json" >"$tmp/d$i.fig"
  cut -d, -f1-7 "$tmp/d$i.csv" >"$tmp/d$i.cols"
done
cmp -s "$tmp/d1.fig" "$tmp/d2.fig" || fail "two runs give different figures"
cmp -s "$tmp/d1.cols" "$tmp/d2.cols" || fail "two runs give different series"

# A semantic error: exit 1, FILE:LINE, no outputs; --lenient counts it.
printf 'a 1 10\nf 2\nf 1\n' >"$tmp/bad.txt"
"$bin" replay "$tmp/bad.txt" -a null --json "$tmp/bad.json" >/dev/null 2>"$tmp/err"
[ $? = 1 ] || fail "bad trace: want exit 1"
grep -q "bad.txt:2: " "$tmp/err" || fail "bad trace: no FILE:LINE: $(cat "$tmp/err")"
[ -e "$tmp/bad.json" ] && fail "bad trace: JSON written anyway"
ls "$tmp" | grep -q 'bad.json.tmp' && fail "bad trace: temporary file left behind"
"$bin" replay "$tmp/bad.txt" -a null --lenient -n 1 --json "$tmp/lenient.json" \
  >/dev/null 2>"$tmp/err" || fail "lenient: $(cat "$tmp/err")"
grep -q '"lenient_skipped": 1,' "$tmp/lenient.json" || fail "lenient: skip not counted"

# One input error, one exit status in every command: a syntax error is 2
# (the trace cannot be read as one), a semantic error 1
printf 'a 1 10\nq 3\nf 1\n' >"$tmp/syn.txt"
printf 'a 1 10\nf 2\nf 1\n' >"$tmp/sem.txt"
for t in syn:2 sem:1; do
  for c in check stats replay convert; do
    case $c in
      replay) "$bin" replay "$tmp/${t%:*}.txt" -a raw -n 0 >/dev/null 2>&1 ;;
      convert) "$bin" convert "$tmp/${t%:*}.txt" "$tmp/out.atr" >/dev/null 2>&1 ;;
      *) "$bin" "$c" "$tmp/${t%:*}.txt" >/dev/null 2>&1 ;;
    esac
    rc=$?
    [ "$rc" = "${t#*:}" ] || fail "$c of a ${t%:*} error: exit $rc, want ${t#*:}"
  done
done

# Usage errors: exit 2.
"$bin" replay "$tmp/spec.txt" -a nosuch >/dev/null 2>&1
[ $? = 2 ] || fail "unknown allocator: want exit 2"
"$bin" replay "$tmp/spec.txt" >/dev/null 2>&1
[ $? = 2 ] || fail "no --alloc: want exit 2"
"$bin" replay "$tmp/nonexistent.txt" -a null >/dev/null 2>&1
[ $? = 2 ] || fail "missing trace: want exit 2"
"$bin" replay "$tmp/spec.txt" -a null --repeat x >/dev/null 2>&1
[ $? = 2 ] || fail "bad --repeat: want exit 2"
# a missing value names the option as typed; a typo gets a suggestion
usage_says() { # WANT ARGS...: exit 2 and WANT on stderr
  local want=$1
  shift
  "$bin" "$@" >/dev/null 2>"$tmp/err"
  local rc=$?
  [ "$rc" = 2 ] && grep -qF -- "$want" "$tmp/err" || fail "$*: exit $rc, said: $(cat "$tmp/err")"
}
usage_says "replay: --alloc needs a value (--alloc A[,B...]" replay "$tmp/spec.txt" --alloc
usage_says "replay: -a needs a value" replay "$tmp/spec.txt" -a
usage_says "replay: --repeat needs a value" replay "$tmp/spec.txt" -a null --repeat
usage_says "gen: -o needs a value" gen x.lua -o
usage_says "record: -o needs a value" record -o
usage_says "unknown option '--allco' (did you mean --alloc?)" replay "$tmp/spec.txt" --allco null
usage_says "replay: --touch sometimes: expected none, page or all" replay "$tmp/spec.txt" -a null --touch sometimes
usage_says "--mallocstats=evnt:3: expected end, peak, event:N or marker:NAME" replay "$tmp/spec.txt" -a null --mallocstats=evnt:3
# --mallocstats at a point: the heap after that many events (the spec
# example's live bytes peak after its 7th event)
"$bin" replay "$tmp/spec.txt" -a pymalloc -n 0 --mallocstats >"$tmp/ms" 2>&1 || fail "mallocstats: $(cat "$tmp/ms")"
grep -q "^== mallocstats: .* with pymalloc after event 7 ==" "$tmp/ms" || fail "mallocstats at peak: $(head -1 "$tmp/ms")"
"$bin" replay "$tmp/spec.txt" -a pymalloc -n 0 --mallocstats=event:2 >"$tmp/ms" 2>&1 || fail "mallocstats=event:2"
grep -q "after event 2 ==" "$tmp/ms" || fail "mallocstats=event:2: $(head -1 "$tmp/ms")"
"$bin" replay "$tmp/spec.txt" -a pymalloc -n 0 --mallocstats=event:99 >/dev/null 2>"$tmp/err"
[ $? = 2 ] && grep -q "the trace has 9 events" "$tmp/err" || fail "mallocstats=event:99: $(cat "$tmp/err")"

"$bin" replay --list >"$tmp/list" || fail "--list failed"
grep -q '^  raw ' "$tmp/list" && grep -q '^  null ' "$tmp/list" && grep -q 'per-object' "$tmp/list" ||
  fail "--list: $(cat "$tmp/list")"

if [ "$fails" -gt 0 ]; then
  echo "$fails failure(s)" >&2
  exit 1
fi
echo "replay_cli_test: all passed"
