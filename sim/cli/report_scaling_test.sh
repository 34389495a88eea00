#!/usr/bin/env bash
# report_scaling_test.sh: `arenalab report` on churn at 1 and 2 threads
# through raw (repeats 1) draws the scaling plot -- throughput against
# threads, a line per allocator: its files exist, index.html shows it with
# the CPUs the threaded runs had, its data has one row per thread count
# per allocator, and the two-thread trace was replayed on its threads.
set -uo pipefail

bin=$(pwd)/sim/cli/arenalab
export ARENALAB_ROOT=$(pwd) # the runfiles tree holds scripts/
tmp=${TEST_TMPDIR:-$(mktemp -d)}
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

cat >"$tmp/scal.lua" <<'LUA'
name("scal")
repeats(1)
samples(50)
for _, n in ipairs{1, 2} do
  workload("churn", {seed = 1, name = "churn-t" .. n, params = {threads = n, steps = 3000}})
end
workload("churn", {seed = 1, name = "churn-other", params = {steps = 2000}})
allocator("raw")
LUA
if ! "$bin" report "$tmp/scal.lua" --jobs 2 --out "$tmp/out" >"$tmp/stdout" 2>"$tmp/stderr"; then
  fail "report failed: $(cat "$tmp/stderr")"
fi
dir=$(ls -d "$tmp/out"/scal-* 2>/dev/null | head -1)
[ -n "$dir" ] && [ -d "$dir" ] || { fail "no result directory"; dir=/nonexistent; }

for ext in gp dat svg png; do
  [ -s "$dir/plots/scaling-1.$ext" ] || fail "missing plot file: plots/scaling-1.$ext"
done
# churn-other differs in steps: a group of its own, of one thread count: no plot
[ -e "$dir/plots/scaling-2.gp" ] && fail "a scaling plot for a single thread count"
grep -q 'plots/scaling-1\.\(svg\|png\)' "$dir/index.html" || fail "index.html does not show the scaling plot"
grep -q 'CPUs available: [0-9]' "$dir/index.html" || fail "index.html does not say the CPUs available"
# one row per thread count per allocator: raw at 1 and 2 threads
rows=$(grep -v '^#' "$dir/plots/scaling-1.dat" | grep -c .)
[ "$rows" = 2 ] || fail "scaling data has $rows rows, want 2: $(cat "$dir/plots/scaling-1.dat")"
awk '!/^#/ && NF { if (!($1 == 1 || $1 == 2) || !($2 > 0)) bad = 1; seen[$1]++ }
     END { exit bad || seen[1] != 1 || seen[2] != 1 }' "$dir/plots/scaling-1.dat" ||
  fail "scaling data rows are not (1, events/s) and (2, events/s): $(cat "$dir/plots/scaling-1.dat")"
# the two-thread trace ran on its threads (the threads column of runs.csv:
# churn's two workers and its main thread)
threads=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
                   $1 == "churn-t2" && $2 == "raw" { print $(col["threads"]) }' "$dir/runs.csv")
[ "${threads:-0}" -gt 1 ] 2>/dev/null || fail "churn-t2 through raw ran on '$threads' threads, want its 3"
grep -q "^set output 'scaling-1.svg'" "$dir/plots/scaling-1.gp" || fail "scaling-1.gp does not write scaling-1.svg"

if [ "$fails" -ne 0 ]; then
  echo "$fails failure(s)" >&2
  exit 1
fi
echo "PASS"
