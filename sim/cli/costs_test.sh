#!/usr/bin/env bash
# costs_test.sh: `replay --measure latency` and `--measure instructions`
# end to end.
#
# Latency: with --latency-every 1 every allocator call of every timed run
# is in its operation's histogram (counts = the trace's events x runs);
# the default sample times about 1 in 32, the same calls in every run; the
# percentiles are ordered, the clock and its overhead and resolution are
# stated, and nothing of it shows without the measure.
# Instructions (under valgrind's callgrind; a sanitized build refuses with
# a clear message): the counts of every allocator -- the preloaded
# libraries too -- are the same byte for byte run after run, also with the
# other core loaded; pymalloc's count moves with its pool size; a report
# with measure(...) draws the plots; compare calls any change in a count
# significant and no change none.
set -uo pipefail
bin=$(pwd)/sim/cli/arenalab
export ARENALAB_ROOT=$(pwd)
tmp=${TEST_TMPDIR:-$(mktemp -d)}
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# ---- latency ------------------------------------------------------------

"$bin" stats --json "$tmp/churn.stats.json" traces/churn.atr >/dev/null || fail "stats churn"
"$bin" stats --json "$tmp/ast.stats.json" traces/ast.atr >/dev/null || fail "stats ast"
"$bin" replay traces/churn.atr traces/ast.atr --alloc pymalloc,raw -n 2 --measure latency \
  --latency-every 1 --json "$tmp/lat.json" >"$tmp/lat.txt" 2>&1 ||
  fail "replay --measure latency: $(cat "$tmp/lat.txt")"
grep -q "latency: allocator calls of the timed runs.*clock .*overhead .*resolution" "$tmp/lat.txt" ||
  fail "the table says nothing of the clock: $(cat "$tmp/lat.txt")"
python3 - "$tmp/lat.json" "$tmp/churn.stats.json" "$tmp/ast.stats.json" <<'PY' || fail "latency JSON"
import json, sys
doc = json.load(open(sys.argv[1]))
ops = {"churn.atr": json.load(open(sys.argv[2]))["by_op"], "ast.atr": json.load(open(sys.argv[3]))["by_op"]}
names = {"alloc": "malloc", "calloc": "calloc", "realloc": "realloc", "free": "free",
         "arena_new": "arena_new", "arena_malloc": "arena_malloc", "arena_own": "arena_own",
         "arena_free": "arena_free"}
assert doc["measure"] == "latency", doc["measure"]
assert doc["latency"]["bucket_error"] <= 0.02 and doc["latency"]["sample_every"] == 1
bad = 0
for run in doc["runs"]:
    clock = run["latency_clock"]
    assert clock["name"] in ("rdtscp", "clock_gettime"), clock
    assert clock["overhead_ns"] >= 0 and clock["resolution_ns"] > 0, clock
    lat = run["latency_ns"]
    by_op = ops[run["trace"].split("/")[-1]]
    total = 0
    for op, name in names.items():
        want = by_op[op] * run["repeat"]
        got = lat.get(name, {}).get("count", 0)
        if got != want:
            print(run["trace"], run["allocator"], name, got, "want", want); bad += 1
        total += got
        if name in lat:
            s = lat[name]
            q = [s["p50"], s["p90"], s["p99"], s["p99_9"], s["p99_99"], s["max"]]
            if q != sorted(q) or q[0] < 0:
                print(run["allocator"], name, "quantiles out of order", q); bad += 1
    if lat["all"]["count"] != total:
        print("all", lat["all"]["count"], total); bad += 1
sys.exit(1 if bad else 0)
PY

# the default sample: about 1 call in 32, the same calls in two replays
for i in 1 2; do
  "$bin" replay traces/churn.atr --alloc pymalloc -n 3 --measure latency \
    --json "$tmp/sample$i.json" >/dev/null 2>&1 || fail "replay --measure latency ($i)"
done
python3 - "$tmp/sample1.json" "$tmp/sample2.json" <<'PY' || fail "the default latency sample"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
assert a["latency"]["sample_every"] == 32, a["latency"]
ca = {op: s["count"] for op, s in a["runs"][0]["latency_ns"].items()}
cb = {op: s["count"] for op, s in b["runs"][0]["latency_ns"].items()}
assert ca == cb, (ca, cb)
want = 160000 * 3 / 32
assert 0.9 * want < ca["all"] < 1.1 * want, ca
assert ca["all"] % 3 == 0 and ca["malloc"] > 0.3 * ca["all"] and ca["free"] > 0.3 * ca["all"], ca
PY
# the fallback clock, when asked for
ARENALAB_LATENCY_CLOCK=clock_gettime "$bin" replay traces/churn.atr --alloc pymalloc -n 1 \
  --measure latency --json - 2>/dev/null | grep -q '"name": "clock_gettime"' ||
  fail "ARENALAB_LATENCY_CLOCK=clock_gettime is not the clock used"
# nothing of it without the measure
"$bin" replay traces/churn.atr --alloc pymalloc -n 1 --json "$tmp/time.json" >/dev/null ||
  fail "replay"
grep -q '"latency_ns"\|"callgrind": {' "$tmp/time.json" && fail "latency or counts in a plain replay"
grep -q '"measure": "time"' "$tmp/time.json" || fail "measure not recorded"
"$bin" replay traces/churn.atr --alloc pymalloc --measure speed >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "expected a comma-separated list of time, latency and instructions" "$tmp/err" ||
  fail "--measure speed: $(cat "$tmp/err")"

# ---- instructions -----------------------------------------------------------

case "$(ldd "$bin" 2>/dev/null)" in
*libasan*)
  "$bin" replay traces/churn.atr --alloc pymalloc --measure instructions >/dev/null 2>"$tmp/err"
  [ $? -eq 2 ] && grep -q "sanitized build" "$tmp/err" ||
    fail "a sanitized build does not refuse to count: $(cat "$tmp/err")"
  echo "instruction counts skipped: sanitized build (valgrind cannot run it)"
  [ "$fails" -gt 0 ] && exit 1
  echo "all passed"
  exit 0
  ;;
esac
if ! command -v valgrind >/dev/null; then
  echo "instruction counts skipped: valgrind is not installed (scripts/setup installs it)"
  [ "$fails" -gt 0 ] && exit 1
  exit 0
fi

allocs=pymalloc,cpython,raw,arena,null
for real in jemalloc mimalloc tcmalloc; do
  "$bin" replay --list | grep -q "^  $real " && allocs=$allocs,$real
done

# The counted figures of a replay JSON, one line per run (the wall time
# of the run under callgrind is a time, not a count).
counts() {
  python3 - "$1" <<'PY'
import json, sys
for run in json.load(open(sys.argv[1]))["runs"]:
    cg = dict(run["callgrind"])
    del cg["wall_ns_per_event"]
    print(run["trace"], run["allocator"], run["instructions_per_event"], run["d1_misses_per_event"],
          run["ll_misses_per_event"], json.dumps(cg, sort_keys=True))
PY
}

traces=(traces/rec-python-json.atr traces/ast.atr)
"$bin" replay "${traces[@]}" --alloc "$allocs" -n 0 --measure instructions --json "$tmp/c1.json" \
  >"$tmp/c1.txt" 2>&1 || fail "replay --measure instructions: $(tail -5 "$tmp/c1.txt")"
# the second time with the other core busy
(while :; do :; done) &
busy=$!
"$bin" replay "${traces[@]}" --alloc "$allocs" -n 0 --measure instructions --json "$tmp/c2.json" \
  >"$tmp/c2.txt" 2>&1 || fail "replay --measure instructions, loaded: $(tail -5 "$tmp/c2.txt")"
kill "$busy"
wait "$busy" 2>/dev/null
counts "$tmp/c1.json" >"$tmp/c1.counts" || fail "no counts in run 1"
counts "$tmp/c2.json" >"$tmp/c2.counts" || fail "no counts in run 2"
[ "$(wc -l <"$tmp/c1.counts")" -eq $((2 * $(echo "$allocs" | tr , '\n' | wc -l))) ] ||
  fail "not every pair counted: $(cat "$tmp/c1.counts")"
cmp -s "$tmp/c1.counts" "$tmp/c2.counts" ||
  fail "counts differ between two runs: $(diff "$tmp/c1.counts" "$tmp/c2.counts")"
grep -q "instr / D1 / LL miss per event" "$tmp/c1.txt" || fail "the table has no counts column"
python3 - "$tmp/c1.json" <<'PY' || fail "counted figures"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["measure"] == "instructions" and doc["callgrind"]["LL"] == "8388608,16,64"
for run in doc["runs"]:
    cg = run["callgrind"]
    assert run["repeat"] == 0, run["repeat"]                    # no timed runs asked for
    assert cg["events"] == run["events"] and cg["probe_pairs"] <= run["events"], cg
    assert abs(run["instructions_per_event"] - cg["Ir"] / cg["events"]) < 1e-5
    assert abs(run["d1_misses_per_event"] - (cg["D1mr"] + cg["D1mw"]) / cg["events"]) < 1e-5
    assert 0 < run["instructions_per_event"] < 100000, run
PY

# pymalloc's count follows its algorithm: other pool sizes, other counts
"$bin" replay traces/churn.atr --alloc pymalloc:pool=4K,pymalloc,pymalloc:pool=64K -n 0 \
  --measure instructions --json "$tmp/pool.json" >/dev/null 2>&1 || fail "pool sweep"
python3 - "$tmp/pool.json" <<'PY' || fail "pymalloc's pool size does not change its count"
import json, sys
ir = [run["callgrind"]["Ir"] for run in json.load(open(sys.argv[1]))["runs"]]
print("pool 4K, 16K, 64K:", ir)
assert len(set(ir)) == 3, ir
PY

# A report measuring all three: its plots, and compare on its runs.csv
cat >"$tmp/costs.lua" <<'LUA'
name("costs-test")
repeats(2)
samples(50)
measure("time", "latency", "instructions")
trace("traces/churn.atr")
allocator("pymalloc")
allocator("raw")
LUA
mkdir -p "$tmp/rep"
"$bin" report "$tmp/costs.lua" --out "$tmp/rep" >"$tmp/rep.txt" 2>&1 ||
  fail "report with measure(...): $(tail -5 "$tmp/rep.txt")"
dir=$(ls -d "$tmp"/rep/costs-test-* 2>/dev/null | head -1)
for plot in instructions d1-misses ll-misses latency-churn.atr; do
  [ -s "$dir/plots/$plot.svg" ] || fail "no plot $plot"
  grep -q "plots/$plot.svg" "$dir/index.html" || fail "$plot not on the page"
done
mkdir -p "$tmp/b"
awk -F, -v OFS=, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; print; next }
  $2 == "raw" { $(col["callgrind_Ir"]) += 1; $(col["instructions_per_event"]) += 0.5 } { print }' \
  "$dir/runs.csv" >"$tmp/b/runs.csv"
"$bin" compare "$dir" "$dir" --out "$tmp/cmp-same" --json "$tmp/same.json" >"$tmp/same.txt" 2>&1 ||
  fail "compare A A: $(cat "$tmp/same.txt")"
grep -q "instructions: 0 of 2 pairs counted on both sides changed" "$tmp/same.txt" ||
  fail "compare A A: $(cat "$tmp/same.txt")"
"$bin" compare "$dir" "$tmp/b/runs.csv" --out "$tmp/cmp" --json "$tmp/cmp.json" >"$tmp/cmp.txt" 2>&1 ||
  fail "compare A B: $(cat "$tmp/cmp.txt")"
grep -q "instructions: 1 of 2 pairs counted on both sides changed" "$tmp/cmp.txt" ||
  fail "compare A B: $(cat "$tmp/cmp.txt")"
python3 - "$tmp/cmp.json" <<'PY' || fail "compare --json: a count's change is significant"
import json, sys
for pair in json.load(open(sys.argv[1]))["pairs"]:
    m = pair["metrics"]
    changed = pair["allocator"] == "raw"
    assert m["callgrind_Ir"]["significant"] == changed, pair
    assert m["instructions_per_event"]["significant"] == changed, pair
    assert not m["d1_misses_per_event"]["significant"], pair
PY

if [ "$fails" -gt 0 ]; then
  echo "$fails failures" >&2
  exit 1
fi
echo "all passed"
