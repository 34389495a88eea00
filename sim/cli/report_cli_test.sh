#!/usr/bin/env bash
# report_cli_test.sh: `arenalab report` and `arenalab compare` end to end on
# scripts/experiments/tiny.lua (2 traces x 2 allocators, repeat 1, a
# 2-point sweep): the files a user opens exist and parse, runs.csv has the
# replay's columns and the same figures as `arenalab replay --json` on the
# same trace and allocator, every gnuplot script runs with no output at
# all, fragmentation figures are byte-identical across two runs, results
# are never overwritten; a bad experiment gives FILE:LINE and creates
# nothing; a failed run leaves a .partial directory with a PARTIAL file.
set -uo pipefail

bin=$(pwd)/sim/cli/arenalab
export ARENALAB_ROOT=$(pwd) # the runfiles tree holds scripts/ and traces/
# In a sanitized build resident memory includes the sanitizer's own pages,
# which vary by a page or so from run to run: the figures derived from it
# (peak resident, J&W #1-#4, util) are compared only in a normal build.
sanitized=0
case "$(ldd "$bin" 2>/dev/null)" in *libasan*) sanitized=1 ;; esac
tmp=${TEST_TMPDIR:-$(mktemp -d)}
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# Column NAME of the runs.csv row for (TRACE, ALLOC).
csv_field() { # FILE TRACE ALLOC NAME
  awk -F, -v t="$2" -v a="$3" -v n="$4" '
    NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    $1 == t && $2 == a { print $(col[n]); found = 1 }
    END { if (!found) print "MISSING" }' "$1"
}

# A number from `replay --json` output: the first "KEY": VALUE.
json_field() { # FILE KEY
  sed -n "s/.*\"$2\": *\([-0-9.enul]*\).*/\1/p" "$1" | head -1
}

# ---- the tiny experiment, end to end ---------------------------------------
out1=$tmp/out1
if ! "$bin" report scripts/experiments/tiny.lua --out "$out1" >"$tmp/stdout" 2>"$tmp/stderr"; then
  fail "report tiny failed: $(cat "$tmp/stderr")"
fi
[ -s "$tmp/stderr" ] && fail "report printed on stderr without a terminal: $(cat "$tmp/stderr")"
dir=$(ls -d "$out1"/tiny-* 2>/dev/null | head -1)
[ -n "$dir" ] && [ -d "$dir" ] || { fail "no result directory in $out1"; dir=/nonexistent; }
[ "$(tail -n 1 "$tmp/stdout")" = "$dir/index.html" ] || fail "stdout does not end with $dir/index.html: $(cat "$tmp/stdout")"
# The headline table comes first: one row per trace, no full metric tables.
grep -q '^| trace | least memory |' "$tmp/stdout" || fail "stdout has no headline table"
[ "$(grep -c '^| binary-lab.rep \|^| churn-s3 ' "$tmp/stdout")" = 2 ] || fail "headline rows: $(cat "$tmp/stdout")"
grep -q '^## Metrics' "$tmp/stdout" && fail "stdout holds the full metric tables"
[ "$(readlink "$out1/latest")" = "$(basename "$dir")" ] || fail "latest does not point at $dir"
ls -d "$out1"/*.partial >/dev/null 2>&1 && fail "a .partial directory is left after success"

for f in index.html summary.md runs.json runs.csv experiment.json experiment.lua \
         series/binary-lab.rep.csv series/churn-s3.csv traces/churn-s3.atr plots/style.gp; do
  [ -s "$dir/$f" ] || fail "missing or empty: $f"
done
plots="frag-util frag-jw4 speed pools pools-occupancy sweep-1-resident sweep-1-speed
       resident-binary-lab.rep resident-churn-s3 sizes-binary-lab.rep sizes-churn-s3"
for p in $plots; do
  for ext in gp svg png; do
    [ -s "$dir/plots/$p.$ext" ] || fail "missing plot file: plots/$p.$ext"
  done
  head -c 8 "$dir/plots/$p.png" | od -An -c | grep -q 'P   N   G' || fail "plots/$p.png is not a PNG"
  grep -q '<svg' "$dir/plots/$p.svg" || fail "plots/$p.svg is not an SVG"
  grep -q "plots/$p.svg" "$dir/index.html" || fail "index.html does not show plots/$p.svg"
done
cmp -s scripts/experiments/tiny.lua "$dir/experiment.lua" || fail "experiment.lua is not a copy"

# gnuplot: every script runs again, exit 0 and not one byte of output.
for gp in "$dir"/plots/*.gp; do
  name=$(basename "$gp")
  [ "$name" = style.gp ] && continue
  if ! (cd "$dir/plots" && gnuplot "$name") >"$tmp/gp.out" 2>&1; then
    fail "gnuplot $name failed: $(cat "$tmp/gp.out")"
  elif [ -s "$tmp/gp.out" ]; then
    fail "gnuplot $name printed: $(cat "$tmp/gp.out")"
  fi
done

# runs.csv: the replay's columns; one row per unit (4 grid + 4 sweep points).
header=$(head -1 "$dir/runs.csv")
want="trace,allocator,events,repeat,lenient_skipped,ns_per_event_min,ns_per_event_median,ns_per_event_max,ns_per_event_mean,ns_per_event_ci_low,ns_per_event_ci_high,ns_per_event_ci_level,ns_per_event_runs,timing_too_short,threads,ns_per_event_per_thread,events_per_s,cpu_ns_per_event,peak_live_bytes,peak_live_blocks,peak_resident_bytes,peak_held_bytes,frag_jw1,frag_jw2,frag_jw3,frag_jw4,util,internal_frag,configuration"
# then the counts and the latency summaries (empty here: not measured)
case "$header" in
"$want,instructions_per_event,d1_misses_per_event,ll_misses_per_event,callgrind_"*latency_ns_all_max) ;;
*) fail "runs.csv header: $header" ;;
esac
rows=$(($(wc -l <"$dir/runs.csv") - 1))
[ "$rows" -eq 8 ] || fail "runs.csv has $rows rows, want 8"
for a in raw pymalloc pymalloc:arena=256K pymalloc:arena=1M; do
  for t in binary-lab.rep churn-s3; do
    [ "$(csv_field "$dir/runs.csv" "$t" "$a" repeat)" = 1 ] || fail "$t with $a: repeat is not 1"
  done
done
grep -q '"command": "replay"' "$dir/runs.json" || fail "runs.json is not replay --json's document"
grep -q '"seed": 1,' "$dir/runs.json" || fail "runs.json does not record the seed"

# The same configuration (pymalloc:arena=1M is pymalloc) runs once: the
# same figures, the same timed run, said so in the tables.
for t in binary-lab.rep churn-s3; do
  for k in configuration ns_per_event_runs peak_resident_bytes; do
    [ "$(csv_field "$dir/runs.csv" "$t" pymalloc "$k")" = "$(csv_field "$dir/runs.csv" "$t" pymalloc:arena=1M "$k")" ] ||
      fail "$t: pymalloc and pymalloc:arena=1M differ in $k"
  done
  [ "$(csv_field "$dir/runs.csv" "$t" pymalloc:arena=256K configuration)" = "pymalloc:arena=256K" ] ||
    fail "$t: pymalloc:arena=256K is not a configuration of its own"
  # Fewer than 10000 events: flagged, never crowned.
  [ "$(csv_field "$dir/runs.csv" "$t" raw timing_too_short)" = true ] || fail "$t is not flagged too short"
  grep -q "^| $t | .* too short to time" "$dir/summary.md" || fail "summary.md crowns a fastest on $t"
done
grep -q 'pymalloc:arena=1M \*(= pymalloc)\*' "$dir/summary.md" || fail "summary.md does not say pymalloc:arena=1M = pymalloc"
grep -q 'same configuration as pymalloc' "$dir/index.html" || fail "index.html does not say pymalloc:arena=1M = pymalloc"

# The same figures as `arenalab replay --json` (tiny.lua: samples(200)).
for pair in "binary-lab.rep traces/binary-lab.rep" "churn-s3 $dir/traces/churn-s3.atr"; do
  set -- $pair
  for a in raw pymalloc pymalloc:arena=256K; do
    if ! "$bin" replay "$2" --alloc "$a" -n 0 --samples 200 --json "$tmp/r.json" >/dev/null 2>"$tmp/err"; then
      fail "replay $2 --alloc $a: $(cat "$tmp/err")"
      continue
    fi
    keys="peak_live_bytes:peak_live_bytes peak_held_bytes:peak_held_bytes events:events"
    [ "$sanitized" = 1 ] || keys="$keys peak_resident_bytes:peak_resident_bytes jw4:frag_jw4 util:util"
    for k in $keys; do
      got=$(csv_field "$dir/runs.csv" "$1" "$a" "${k#*:}")
      exp=$(json_field "$tmp/r.json" "${k%%:*}")
      [ -n "$exp" ] && [ "$got" = "$exp" ] ||
        fail "$1 with $a: ${k#*:} is '$got' in runs.csv, '$exp' in replay --json"
    done
  done
done

# Headline and tables name both traces; summary.md has the headline.
for t in binary-lab.rep churn-s3; do
  grep -q "id=\"trace-$t\"" "$dir/index.html" || fail "index.html has no section for $t"
  grep -q "^| $t | \*\*" "$dir/summary.md" || fail "summary.md headline lacks $t"
done
# A memory lead is "within 16 pages" exactly when the runner-up's peak
# resident (runs.csv) is at most 16 pages above the best's; a tie says tie.
# Prints the kinds of lead it checked ("tie", "within", "beyond"), a line each.
check_within() {
  python3 - "$1" "$2" <<'PY'
import csv, re, sys
res = {(r["trace"], r["allocator"]): int(r["peak_resident_bytes"]) for r in csv.DictReader(open(sys.argv[2]))}
for line in open(sys.argv[1]):
    m = re.match(r"^\| (\S+) \| \*\*(.+?)\*\* \| [^|]+ \| (.+?) \|", line)
    if not m:
        continue
    trace, best, margin = m.groups()
    r = re.match(r"^(?:tie with |[+][0-9.]+% for )(.+?)( \(within 16 pages\))?$", margin)
    assert r, "%s: runner-up cell '%s'" % (trace, margin)
    second, within = r.group(1), r.group(2) is not None
    diff = res[(trace, second)] - res[(trace, best)]
    assert diff >= 0, "%s: runner-up %s needed less than %s" % (trace, second, best)
    if margin.startswith("tie"):
        assert diff == 0 and not within, "%s: '%s' with %d bytes apart" % (trace, margin, diff)
        print("tie")
    else:
        assert within == (diff <= 16 * 4096), "%s: '%s' with %d bytes apart" % (trace, margin, diff)
        print("within" if within else "beyond")
PY
}
check_within "$dir/summary.md" "$dir/runs.csv" >"$tmp/within" 2>&1 ||
  fail "headline memory verdicts: $(cat "$tmp/within")"
[ "$(wc -l <"$tmp/within")" = 2 ] || fail "headline memory verdicts checked: $(cat "$tmp/within")"
# the page says what summary.md says
[ "$(grep -o '(within 16 pages)' "$dir/index.html" | wc -l)" = "$(grep -c 'within$' "$tmp/within")" ] ||
  fail "index.html and summary.md disagree on 'within 16 pages': $(cat "$tmp/within")"
# a lead far beyond 16 pages (PyArena's model frees nothing) is not "within"
cat >"$tmp/lead.lua" <<'LUA'
name("lead")
repeats(1)
samples(50)
workload("churn", {seed = 3, params = {steps = 3000}})
allocator("raw")
allocator("arena")
LUA
if "$bin" report "$tmp/lead.lua" --out "$tmp/lead" --quiet >/dev/null 2>"$tmp/err"; then
  ld=$(ls -d "$tmp/lead"/lead-* | head -1)
  check_within "$ld/summary.md" "$ld/runs.csv" >"$tmp/within" 2>&1 ||
    fail "headline memory verdicts (lead.lua): $(cat "$tmp/within")"
  [ "$(cat "$tmp/within")" = beyond ] || fail "raw against arena on churn: $(cat "$tmp/within")"
else
  fail "report lead.lua: $(cat "$tmp/err")"
fi
grep -q '"experiment": "tiny"' "$dir/experiment.json" || fail "experiment.json lacks the name"
grep -q '"git commit"' "$dir/experiment.json" || fail "experiment.json lacks the environment"

# ---- determinism: fragmentation columns byte-identical across runs ---------
out2=$tmp/out2
"$bin" report scripts/experiments/tiny.lua --out "$out2" >/dev/null 2>"$tmp/stderr" ||
  fail "second report failed: $(cat "$tmp/stderr")"
dir2=$(ls -d "$out2"/tiny-* 2>/dev/null | head -1)
frag_cols() { # FILE: trace, allocator, events and every memory/fragmentation figure
  awk -F, -v sanitized="$sanitized" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i }
    sanitized == 1 { print $(col["trace"]), $(col["allocator"]), $(col["events"]),
                           $(col["peak_live_bytes"]), $(col["peak_live_blocks"]),
                           $(col["peak_held_bytes"]), $(col["internal_frag"]); next }
    { print $(col["trace"]), $(col["allocator"]), $(col["events"]), $(col["peak_live_bytes"]),
            $(col["peak_live_blocks"]), $(col["peak_resident_bytes"]), $(col["peak_held_bytes"]),
            $(col["frag_jw1"]), $(col["frag_jw2"]), $(col["frag_jw3"]), $(col["frag_jw4"]),
            $(col["util"]), $(col["internal_frag"]) }' "$1"
}
if [ -n "$dir2" ]; then
  frag_cols "$dir/runs.csv" >"$tmp/frag1"
  frag_cols "$dir2/runs.csv" >"$tmp/frag2"
  cmp -s "$tmp/frag1" "$tmp/frag2" || fail "fragmentation figures differ between two runs:
$(diff "$tmp/frag1" "$tmp/frag2")"
  cmp -s "$dir/traces/churn-s3.atr" "$dir2/traces/churn-s3.atr" || fail "generated traces differ"
else
  fail "no second result directory"
fi

# ---- never overwritten: a third run into out1 is a new directory -----------
"$bin" report scripts/experiments/tiny.lua --out "$out1" --repeat 0 >/dev/null 2>&1 ||
  fail "third report failed"
n=$(ls -d "$out1"/tiny-* | wc -l)
[ "$n" -eq 2 ] || fail "$n result directories in $out1 after two runs, want 2"
[ -s "$dir/index.html" ] || fail "the first result was disturbed"
[ "$(readlink "$out1/latest")" != "$(basename "$dir")" ] || fail "latest still names the first run"

# ---- compare ----------------------------------------------------------------
if "$bin" compare "$dir" "$dir2" --out "$tmp/cmp" >"$tmp/cmp.out" 2>"$tmp/cmp.err"; then
  for f in compare.csv compare.md compare.gp compare.dat compare.svg compare.png; do
    [ -s "$tmp/cmp/$f" ] || fail "compare: missing $f"
  done
  [ "$(grep -c 'churn-s3' "$tmp/cmp.out")" -eq 4 ] || fail "compare: churn-s3 rows: $(cat "$tmp/cmp.out")"
  # Same experiment twice: every resident-memory change is zero.
  [ "$sanitized" = 1 ] || awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    $(col["peak_resident_bytes_change"]) != "0.000000" { bad = 1 } END { exit bad }' \
    "$tmp/cmp/compare.csv" || fail "compare: resident memory changed between identical runs"
  # A single timed run has no spread to judge.
  grep -q "no spread" "$tmp/cmp.out" || fail "compare: repeat 1 should say 'no spread'"
  grep -q "^timing: 0 of 0 pairs tested" "$tmp/cmp.out" || fail "compare: no tally: $(cat "$tmp/cmp.out")"
else
  fail "compare failed: $(cat "$tmp/cmp.err")"
fi
"$bin" compare "$dir" "$dir2" --out "$tmp/cmp" >/dev/null 2>&1 && fail "compare overwrote $tmp/cmp"
# --out names a new or empty directory: one holding the user's files is
# refused (exit 2) before anything is written, --json FILE included.
mkdir -p "$tmp/mine"
echo "my notes" >"$tmp/mine/compare.md"
echo "my json" >"$tmp/mine.json"
"$bin" compare "$dir" "$dir2" --out "$tmp/mine" --json "$tmp/mine.json" >"$tmp/mine.out" 2>"$tmp/err"
rc=$?
[ ! -s "$tmp/mine.out" ] || fail "compare printed its table, then refused --out"
[ "$rc" -eq 2 ] || fail "compare into a non-empty --out: exit $rc, want 2"
grep -q "not empty" "$tmp/err" || fail "compare into a non-empty --out said: $(cat "$tmp/err")"
[ "$(cat "$tmp/mine/compare.md")" = "my notes" ] || fail "compare overwrote the user's compare.md"
[ "$(ls -A "$tmp/mine")" = compare.md ] || fail "compare wrote into $tmp/mine: $(ls -A "$tmp/mine")"
[ "$(cat "$tmp/mine.json")" = "my json" ] || fail "compare replaced --json FILE, then failed"
"$bin" compare "$dir" >/dev/null 2>&1; [ $? -eq 2 ] || fail "compare with one result: want exit 2"
"$bin" compare "$dir" "$tmp/nowhere" >/dev/null 2>&1; [ $? -eq 2 ] || fail "compare of a missing result: want exit 2"
# compare refuses what is no complete, valid result, saying what is wrong
cmp_bad() { # WHAT FILE-OR-DIR
  "$bin" compare "$dir" "$2" >/dev/null 2>"$tmp/err"
  local rc=$?
  [ "$rc" -eq 2 ] || fail "compare $1: exit $rc, want 2"
  grep -q "$1" "$tmp/err" || fail "compare $1: said '$(head -1 "$tmp/err")'"
}
mkdir -p "$tmp/half.partial"
cp "$dir/runs.csv" "$tmp/half.partial/"
cmp_bad "is an incomplete report" "$tmp/half.partial"
cmp_bad "not a .csv file" "$dir/runs.json"
csv_edit() { # NAME AWK-PROGRAM: runs.csv of $dir, edited, as $tmp/NAME.csv
  awk -F, -v OFS=, "$2" "$dir/runs.csv" >"$tmp/$1.csv"
}
col() { head -1 "$dir/runs.csv" | tr , '\n' | grep -nx "$1" | cut -d: -f1; }
cmin=$(col ns_per_event_min) cmax=$(col ns_per_event_max) cfp=$(col peak_resident_bytes)
csv_edit nan "NR == 2 { \$$cfp = \"nan\" } 1"
cmp_bad ":2: column 'peak_resident_bytes': 'nan' is not a finite number" "$tmp/nan.csv"
cev=$(col events) clive=$(col peak_live_bytes)
csv_edit negev "NR == 2 { \$$cev = -\$$cev } 1"
cmp_bad ":2: column 'events': '-[0-9]*' is negative (an impossible figure)" "$tmp/negev.csv"
csv_edit neglive "NR == 3 { \$$clive = -1 } 1"
cmp_bad ":3: column 'peak_live_bytes': '-1' is negative" "$tmp/neglive.csv"
csv_edit order "NR == 3 { t = \$$cmin; \$$cmin = \$$cmax + 1 } 1"
cmp_bad ":3: ns_per_event min .* out of order" "$tmp/order.csv"
csv_edit other "NR > 1 { \$1 = \"elsewhere-\" \$1 } 1"
"$bin" compare "$dir" "$tmp/other.csv" >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] || fail "compare with nothing in common: want exit 1"
head -1 "$tmp/err" | grep -q "no (trace, allocator) pair in common" ||
  fail "compare with nothing in common said first: $(head -1 "$tmp/err")"
[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "compare with nothing in common: $(wc -l <"$tmp/err") lines"
csv_edit dup "1; NR == 2 { print }"
cmp_bad ":3: .* again (first on line 2)" "$tmp/dup.csv"

# The test: runs.csv files made by hand, six runs a side.  t1 and t2 have
# fewer than 3 configurations, so no reference: raw runs are tested.  B's
# t1/x is twice as slow in every run (significant), t1/y the same runs
# reordered (not), t2/x has the same timings and another footprint
# (memory: significant; the same change to jemalloc, a preloaded library
# whose figures are measured, is not), t3/x is too short to time (not
# judged).  On t4
# every allocator is twice as slow in B (the machine: not significant)
# except p, four times as slow (twice relative to the others: significant).
hdr="trace,allocator,events,repeat,ns_per_event_min,ns_per_event_median,ns_per_event_max,ns_per_event_runs,timing_too_short,peak_held_bytes,peak_resident_bytes,util"
{ echo "$hdr"
  echo "t1,x,50000,6,10,12.5,15,10;11;12;13;14;15,false,4096,65536"
  echo "t1,y,50000,6,10,12.5,15,10;11;12;13;14;15,false,4096,65536"
  echo "t2,x,50000,6,10,12.5,15,10;11;12;13;14;15,false,4096,65536"
  echo "t2,jemalloc,50000,6,10,12.5,15,10;11;12;13;14;15,false,4096,65536"
  echo "t3,x,500,6,10,12.5,15,10;11;12;13;14;15,true,4096,65536"
  for a in p:10 q:20 r:30 s:40 u:50; do
    b=${a#*:}; echo "t4,${a%:*},50000,6,$b,$((b + 2)).5,$((b + 5)),$b;$((b + 1));$((b + 2));$((b + 3));$((b + 4));$((b + 5)),false,4096,65536"
  done; } | sed '2,$ s/$/,0.5/' >"$tmp/ta.csv"
{ echo "$hdr"
  echo "t1,x,50000,6,20,25,30,20;22;24;26;28;30,false,4096,65536"
  echo "t1,y,50000,6,10,12.5,15,15;14;13;12;11;10,false,4096,69632"
  echo "t2,x,50000,6,10,12.5,15,10;11;12;13;14;15,false,8192,135168"
  echo "t2,jemalloc,50000,6,10,12.5,15,10;11;12;13;14;15,false,8192,65536"
  echo "t3,x,500,6,20,25,30,20;22;24;26;28;30,true,4096,65536"
  for a in p:40:4 q:40:2 r:60:2 s:80:2 u:100:2; do
    IFS=: read -r n b f <<<"$a"
    echo "t4,$n,50000,6,$b,$((b + 5 * f / 2)),$((b + 5 * f)),$b;$((b + f));$((b + 2 * f));$((b + 3 * f));$((b + 4 * f));$((b + 5 * f)),false,4096,65536"
  done; } | sed '2,$ s/$/,0.5/; /^t1,y,/ s/0.5$/0.47/; /^t2,x,/ s/0.5$/0.24/' >"$tmp/tb.csv"
if "$bin" compare "$tmp/ta.csv" "$tmp/tb.csv" --out "$tmp/cmp2" --json "$tmp/cmp2.json" >"$tmp/cmp2.out" 2>"$tmp/err"; then
  grep -q "^timing: 2 of 9 pairs tested changed significantly" "$tmp/cmp2.out" &&
    grep -q "^memory: 1 of 10 pairs changed .*; 1 pairs of preloaded libraries moved" "$tmp/cmp2.out" ||
    fail "compare tally: $(cat "$tmp/cmp2.out")"
  python3 - "$tmp/cmp2.json" <<'PY' || fail "compare --json: $(cat "$tmp/cmp2.json")"
import json, sys
d = json.load(open(sys.argv[1]))
p = {(x["trace"], x["allocator"]): x for x in d["pairs"]}
sig = lambda k, m: p[k]["metrics"][m]["significant"]
assert sig(("t1", "x"), "ns_per_event_median") is True
assert abs(p[("t1", "x")]["metrics"]["ns_per_event_median"]["change"] - 1.0) < 1e-9
assert p[("t1", "x")]["timing"]["runs_b"] == [20, 22, 24, 26, 28, 30]
assert sig(("t1", "y"), "ns_per_event_median") is False
# util moved with one page of resident memory (t1/y: jitter, not judged),
# with 17 (t2/x: significant)
assert p[("t1", "y")]["metrics"]["util"]["b"] == 0.47
assert sig(("t1", "y"), "util") is False and sig(("t1", "y"), "peak_resident_bytes") is False
assert sig(("t2", "x"), "util") is True and sig(("t2", "x"), "peak_resident_bytes") is True
assert sig(("t2", "x"), "ns_per_event_median") is False
assert sig(("t2", "x"), "peak_held_bytes") is True
assert sig(("t1", "x"), "peak_held_bytes") is False
assert sig(("t2", "jemalloc"), "peak_held_bytes") is False
assert p[("t2", "jemalloc")]["memory_exact"] is False and p[("t2", "x")]["memory_exact"] is True
assert p[("t3", "x")]["timing_too_short"] is True
assert sig(("t3", "x"), "ns_per_event_median") is False
assert p[("t3", "x")]["timing"]["p"] is None
assert p[("t1", "x")]["timing"]["test"] == "absolute"
for a in "pqrsu":
    assert p[("t4", a)]["timing"]["test"] == "relative"
    assert sig(("t4", a), "ns_per_event_median") is (a == "p"), a
assert abs(p[("t4", "q")]["metrics"]["ns_per_event_median"]["change"] - 1.0) < 1e-9
assert abs(p[("t4", "p")]["timing"]["change_tested"] - 1.0) < 1e-9
PY
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    $1 == "t1" && $2 == "x" && $(col["ns_per_event_median_significant"]) != "true" { bad = 1 }
    END { exit bad }' "$tmp/cmp2/compare.csv" || fail "compare.csv: t1/x not significant"
else
  fail "compare of hand-made runs.csv failed: $(cat "$tmp/err")"
fi
# a runs column that disagrees with repeat is refused
sed 's/10;11;12;13;14;15,false,4096,65536,0.5$/10;11;12,false,4096,65536,0.5/' "$tmp/ta.csv" >"$tmp/tc.csv"
cmp_bad ":2: ns_per_event_runs '10;11;12' is not 6 finite numbers" "$tmp/tc.csv"

# ---- replay --html: a quick look, the same page as a report ------------------
# its own TMPDIR: the temporary experiment must be gone afterwards, and
# another test's replay --html in /tmp must not count
mkdir -p "$tmp/quick-tmp"
if TMPDIR=$tmp/quick-tmp "$bin" replay traces/binary-lab.rep --alloc pymalloc,raw -n 1 --samples 50 \
    --html "$tmp/quick" >"$tmp/quick.out" 2>"$tmp/quick.err"; then
  qdir=$(ls -d "$tmp"/quick/replay-* 2>/dev/null | head -1)
  [ -n "$qdir" ] && [ -s "$qdir/index.html" ] && [ -s "$qdir/runs.csv" ] ||
    fail "replay --html: no report in $tmp/quick: $(ls -R "$tmp/quick" | head)"
  [ "$(($(wc -l <"$qdir/runs.csv") - 1))" = 2 ] || fail "replay --html: $(cat "$qdir/runs.csv")"
  ls "$qdir"/plots/*.svg >/dev/null 2>&1 || fail "replay --html: no plots"
  ! ls "$tmp"/quick-tmp/arenalab-replay-*.lua >/dev/null 2>&1 ||
    fail "replay --html left its experiment file"
else
  fail "replay --html: $(cat "$tmp/quick.err")"
fi
"$bin" replay traces/binary-lab.rep --alloc raw=malloc,mem=pymalloc --html "$tmp/quick2" >/dev/null 2>"$tmp/err"
[ $? = 2 ] && grep -q "not explicit routes" "$tmp/err" || fail "replay --html with a route: $(cat "$tmp/err")"

# ---- a workload sweep: one trace per value, plotted against it -------------
out3=$tmp/out3
if "$bin" report scripts/experiments/workload-sweep.lua --out "$out3" >/dev/null 2>"$tmp/stderr"; then
  wdir=$out3/latest
  for v in 2000 4000 8000; do
    [ -s "$wdir/traces/churn-s1.steps-$v.atr" ] || fail "workload sweep: no trace for steps=$v"
  done
  for p in wsweep-1-resident wsweep-1-speed; do
    [ -s "$wdir/plots/$p.png" ] && [ -s "$wdir/plots/$p.svg" ] || fail "workload sweep: no plots/$p"
    grep -q "plots/$p.svg" "$wdir/index.html" || fail "index.html does not show plots/$p.svg"
  done
  # One line per allocator, each in its own colour, at the three values.
  lines=$(grep -c "^# " "$wdir/plots/wsweep-1.dat")
  [ "$(grep -c "'wsweep-1.dat' index" "$wdir/plots/wsweep-1-resident.gp")" = $((lines - 1)) ] ||
    fail "workload sweep: not a line per allocator: $(cat "$wdir/plots/wsweep-1-resident.gp")"
  cols=$(grep -o "lc rgb '#[0-9a-f]*'" "$wdir/plots/wsweep-1-resident.gp" | sort -u | wc -l)
  [ "$cols" = $((lines - 1)) ] || fail "workload sweep: $cols colours for $((lines - 1)) allocators"
  grep -q '"4000"' "$wdir/plots/wsweep-1-resident.gp" || fail "workload sweep: no tic at 4000"
  [ "$(grep -c '"workload_sweep": "churn-s1"' "$wdir/experiment.json")" = 3 ] ||
    fail "experiment.json does not name the workload sweep of each point"
else
  fail "report workload-sweep failed: $(cat "$tmp/stderr")"
fi

# ---- bad experiments: FILE:LINE, exit 1, nothing created --------------------
check_bad() { # NAME TEXT LINE WHAT
  printf '%b' "$2" >"$tmp/$1.lua"
  "$bin" report "$tmp/$1.lua" --out "$tmp/bad-$1" >/dev/null 2>"$tmp/err"
  local rc=$?
  [ "$rc" -eq 1 ] || fail "$1: exit $rc, want 1"
  head -1 "$tmp/err" | grep -q "^arenalab: $tmp/$1.lua:$3: .*$4" ||
    fail "$1: message '$(head -1 "$tmp/err")', want $tmp/$1.lua:$3: ...$4"
  [ -e "$tmp/bad-$1" ] && fail "$1: $tmp/bad-$1 was created"
}
check_bad luaerror "trace('traces/binary-lab.rep')\nallocator('raw')\nlocal x = nil .. 'x'\n" 3 "concatenate"
check_bad unknown "trace('traces/binary-lab.rep')\n\nallocator('nosuch')\n" 3 "not an allocator"
check_bad syntax "trace('traces/binary-lab.rep'\n" 2 "expected"
check_bad sweep "trace('traces/binary-lab.rep')\nallocator('raw')\nsweep{alloc = 'pymalloc', param = 'arena', values = {}}\n" 3 "values"
# sweeps and parameters are checked before anything runs or is created
check_bad sweepparam "trace('traces/binary-lab.rep')\nallocator('raw')\nsweep{alloc = 'pymalloc', param = 'arenaa', values = {'256K'}}\n" 3 "unknown parameter 'arenaa'"
check_bad sweepvalue "trace('traces/binary-lab.rep')\nallocator('raw')\nsweep{alloc = 'pymalloc', param = 'arena', values = {'256K', 'big'}}\n" 3 "arena=big: expected a size"
check_bad wsweepparam "allocator('raw')\nworkload('churn', {sweep = {stepz = {10, 20}}})\n" 2 "never reads -D stepz"
check_bad wsweepvalue "allocator('raw')\nworkload('churn', {sweep = {steps = {10, 'many'}}})\n" 2 "churn-s1.steps-many: .*-D steps=many"
check_bad allocparam "trace('traces/binary-lab.rep')\n\nallocator('pymalloc:pools=4K')\n" 3 "unknown parameter 'pools'"
"$bin" report "$tmp/no-such.lua" --out "$tmp/bad-missing" >/dev/null 2>&1
[ $? -eq 2 ] || fail "missing experiment: want exit 2"
[ -e "$tmp/bad-missing" ] && fail "missing experiment: output created"
"$bin" report --jobs 0 >/dev/null 2>&1; [ $? -eq 2 ] || fail "--jobs 0: want exit 2"

# ---- a run that fails leaves a marked partial directory --------------------
printf 'a 1 100\nf 2\n' >"$tmp/broken.txt"
printf "name('broken')\ntrace('%s')\nallocator('raw')\n" "$tmp/broken.txt" >"$tmp/broken.lua"
"$bin" report "$tmp/broken.lua" --out "$tmp/partial" >/dev/null 2>"$tmp/err"
rc=$?
[ "$rc" -eq 1 ] || fail "broken trace: exit $rc, want 1 ($(cat "$tmp/err"))"
p=$(ls -d "$tmp/partial"/broken-*.partial 2>/dev/null | head -1)
if [ -z "$p" ]; then
  fail "broken trace: no .partial directory"
else
  grep -q "broken.txt" "$p/PARTIAL" || fail "PARTIAL does not say what failed: $(cat "$p/PARTIAL")"
fi
ls -d "$tmp/partial"/broken-* | grep -qv '\.partial$' && fail "broken trace: a complete-looking directory exists"
[ -e "$tmp/partial/latest" ] && fail "broken trace: latest was set"

# ---- interrupted: SIGTERM mid-run leaves a marked partial directory -------
# A workload big enough to take seconds, so the signal lands mid-run.
printf "name('slow')\nworkload('churn', {seed = 1, params = {steps = 4000000}})\nallocator('raw')\n" >"$tmp/slow.lua"
"$bin" report "$tmp/slow.lua" --out "$tmp/intr" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 50); do
  ls -d "$tmp/intr"/slow-*.partial >/dev/null 2>&1 && break
  sleep 0.1
done
sleep 0.5
kill -TERM "$pid"
wait "$pid"
rc=$?
[ "$rc" -eq 143 ] || fail "SIGTERM: exit $rc, want 143 (killed by the signal)"
p=$(ls -d "$tmp/intr"/slow-*.partial 2>/dev/null | head -1)
if [ -z "$p" ]; then
  fail "SIGTERM: no .partial directory"
else
  grep -q "interrupted" "$p/PARTIAL" 2>/dev/null || fail "SIGTERM: no PARTIAL marker saying so"
fi
ls -d "$tmp/intr"/slow-* | grep -qv '\.partial$' && fail "SIGTERM: a complete-looking directory exists"

[ "$fails" -eq 0 ] && echo "PASS" || echo "$fails failure(s)"
exit $((fails > 0))
