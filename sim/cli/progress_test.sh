#!/usr/bin/env bash
# progress_test.sh: the progress lines of gen, stats, replay and report appear
# on a terminal (a pty from script(1)), as one line redrawn in place
# ("\r\033[K"), and never when stderr is not a terminal or with --quiet;
# standard output is the same either way.
set -u
bin=$(pwd)/sim/cli/arenalab
export ARENALAB_ROOT=$(pwd)
tmp=${TEST_TMPDIR:-$(mktemp -d)}
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

command -v script >/dev/null || { echo "SKIP: no script(1) (util-linux)"; exit 0; }
unset CI # CI=true turns progress off (cli_interactive)

# tty NAME CMD: runs CMD on a pty, its stdout to $tmp/NAME.out and what the
# terminal showed (stderr) to $tmp/NAME.tty.
tty() {
  local name=$1
  shift
  script -qec "$* >$tmp/$name.out" /dev/null >"$tmp/$name.tty" 2>&1 </dev/null
}

# 10 M events: workers report every 4 Mi, so every pass shows up.
"$bin" gen scripts/workloads/bench-ring.lua -D n=10000000 -o "$tmp/big.atr" ||
  fail "gen failed"

# gen: events written and the rate (the total is unknown)
tty gen "$bin" gen scripts/workloads/bench.lua -D n=1000000 -o "$tmp/small.atr"
grep -qa $'\r\033\[Karenalab: gen bench.lua: .* events, .* M events/s' "$tmp/gen.tty" ||
  fail "gen: no progress line on a terminal: $(head -c 300 "$tmp/gen.tty")"
"$bin" gen scripts/workloads/bench.lua -D n=1000000 -o "$tmp/small2.atr" 2>"$tmp/gen.err"
[ -s "$tmp/gen.err" ] && fail "gen: wrote to a non-terminal stderr: $(head -c 300 "$tmp/gen.err")"
cmp -s "$tmp/small.atr" "$tmp/small2.atr" || fail "gen: a different trace on a terminal"
tty genq "$bin" gen -q scripts/workloads/bench.lua -D n=1000000 -o "$tmp/small3.atr"
[ -s "$tmp/genq.tty" ] && fail "gen --quiet: $(head -c 300 "$tmp/genq.tty")"

# stats: a line with the total and the percentage, then erased
tty stats "$bin" stats "$tmp/big.atr"
grep -qa $'\r\033\[Karenalab: stats .*big.atr: .* of 10.0 M events (.*%), .* M events/s' \
  "$tmp/stats.tty" || fail "stats: no progress line on a terminal: $(head -c 300 "$tmp/stats.tty")"
"$bin" stats "$tmp/big.atr" >"$tmp/stats.plain" 2>"$tmp/stats.err"
[ -s "$tmp/stats.err" ] && fail "stats: wrote to a non-terminal stderr: $(head -c 300 "$tmp/stats.err")"
cmp -s "$tmp/stats.out" "$tmp/stats.plain" || fail "stats: stdout differs on a terminal"
tty statsq "$bin" stats --quiet "$tmp/big.atr"
[ -s "$tmp/statsq.tty" ] && fail "stats --quiet: $(head -c 300 "$tmp/statsq.tty")"

# replay: which pair, then each pass of the worker
tty replay "$bin" replay "$tmp/big.atr" --alloc null -n 1
for pass in pre-pass "measurement run" "timed run"; do
  grep -qa "replay $tmp/big.atr with null, $pass: .* of 10.0 M events" "$tmp/replay.tty" ||
    fail "replay: no '$pass' progress: $(tr '\r' '\n' <"$tmp/replay.tty" | head -5)"
done
"$bin" replay "$tmp/big.atr" --alloc null -n 1 >/dev/null 2>"$tmp/replay.err"
[ -s "$tmp/replay.err" ] && fail "replay: wrote to a non-terminal stderr: $(head -c 300 "$tmp/replay.err")"
tty replayq "$bin" replay -q "$tmp/big.atr" --alloc null -n 1
[ -s "$tmp/replayq.tty" ] && fail "replay --quiet: $(head -c 300 "$tmp/replayq.tty")"

# report: the running trace's pass on its status line
printf 'name("big")\nrepeats(0)\ntrace("%s")\nallocator("null")\n' "$tmp/big.atr" >"$tmp/big.lua"
tty report "$bin" report "$tmp/big.lua" --out "$tmp/rep1"
grep -qa 'arenalab: report: 0/1 runs done.*: measurement run [0-9]* %' "$tmp/report.tty" ||
  fail "report: no pass on the status line: $(tr '\r' '\n' <"$tmp/report.tty" | head -5)"
grep -qa 'arenalab: report: statistics of big.atr: .* of 10.0 M events' "$tmp/report.tty" ||
  fail "report: no progress of its statistics pass: $(tr '\r' '\n' <"$tmp/report.tty" | tail -5)"
tty reportq "$bin" report -q "$tmp/big.lua" --out "$tmp/rep2"
grep -qa $'\r' "$tmp/reportq.tty" && fail "report --quiet: $(head -c 300 "$tmp/reportq.tty")"

[ "$fails" -eq 0 ] && echo "PASS" || echo "$fails failures"
[ "$fails" -eq 0 ]
