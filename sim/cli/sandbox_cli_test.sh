#!/usr/bin/env bash
# sandbox_cli_test.sh: `arenalab gen` and `arenalab report` run scripts in
# the sandbox (sim/lua/sandbox.h): a workload or an experiment that starts a
# program or writes a file fails with SCRIPT:LINE naming what is refused and
# the option that allows it, exit 1, and nothing happened; --allow-unsafe
# gives the full standard library; --help lists it.
set -uo pipefail

bin=$(pwd)/sim/cli/arenalab
export ARENALAB_ROOT=$(pwd) # the runfiles tree holds traces/
tmp=${TEST_TMPDIR:-$(mktemp -d)}
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# ---- gen ----------------------------------------------------------------------
# (Relative script names: Lua shortens long chunk names in messages.)
cd "$tmp" || exit 1
printf 'free(alloc(8))\nos.execute("touch %s/ran")\n' "$tmp" >"$tmp/exec.lua"
"$bin" gen exec.lua -o "$tmp/exec.atr" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 1 ] || fail "gen os.execute: exit $rc, want 1"
head -1 "$tmp/err" | grep -qF "arenalab: exec.lua:2: os.execute is not available to workload scripts (arenalab gen --allow-unsafe gives the full standard library)" ||
  fail "gen os.execute: message '$(head -1 "$tmp/err")'"
[ -e "$tmp/ran" ] && fail "gen os.execute: the command ran"
[ -e "$tmp/exec.atr" ] && fail "gen os.execute: a trace was written"

printf 'local f = assert(io.open("%s/written", "w"))\nf:write("yes")\nf:close()\nfree(alloc(8))\n' \
  "$tmp" >"$tmp/write.lua"
"$bin" gen write.lua -o "$tmp/write.atr" 2>"$tmp/err"
[ $? -eq 1 ] || fail "gen io.open: want exit 1"
grep -q "write.lua:1: io.open is not available" "$tmp/err" || fail "gen io.open: $(head -1 "$tmp/err")"
[ -e "$tmp/written" ] && fail "gen io.open: the file was written"
if "$bin" gen write.lua -o "$tmp/write.atr" --allow-unsafe 2>"$tmp/err"; then
  [ "$(cat "$tmp/written" 2>/dev/null)" = yes ] || fail "gen --allow-unsafe: the file was not written"
  [ -s "$tmp/write.atr" ] || fail "gen --allow-unsafe: no trace"
else
  fail "gen --allow-unsafe: $(cat "$tmp/err")"
fi
grep -q -- "--allow-unsafe" <<<"$("$bin" gen --help)" || fail "gen --help does not list --allow-unsafe"
rm -f "$tmp/written"

# ---- report: the experiment file, and a workload given by path ---------------
printf "trace('traces/binary-lab.rep')\nallocator('raw')\nlocal p = io.popen('touch %s/ran')\n" \
  "$tmp" >"$tmp/exp-popen.lua"
"$bin" report "$tmp/exp-popen.lua" --out "$tmp/out-popen" --repeat 0 >/dev/null 2>"$tmp/err"
rc=$?
[ "$rc" -eq 1 ] || fail "report io.popen: exit $rc, want 1"
head -1 "$tmp/err" | grep -qF "arenalab: $tmp/exp-popen.lua:3: io.popen is not available to experiment files (arenalab report --allow-unsafe gives the full standard library)" ||
  fail "report io.popen: message '$(head -1 "$tmp/err")'"
[ -e "$tmp/ran" ] && fail "report io.popen: the command ran"
[ -e "$tmp/out-popen" ] && fail "report io.popen: $tmp/out-popen was created"

printf "trace('traces/binary-lab.rep')\nworkload('%s/exec.lua')\nallocator('raw')\n" "$tmp" \
  >"$tmp/exp-workload.lua"
"$bin" report "$tmp/exp-workload.lua" --out "$tmp/out-workload" --repeat 0 >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] || fail "report workload os.execute: want exit 1"
grep -qF "exec.lua:2: os.execute is not available to workload scripts (arenalab report --allow-unsafe gives the full standard library)" "$tmp/err" ||
  fail "report workload os.execute: $(head -1 "$tmp/err")"
[ -e "$tmp/ran" ] && fail "report workload os.execute: the command ran"

printf "local f = assert(io.open('%s/written', 'w'))\nf:write('yes')\nf:close()\ntrace('traces/binary-lab.rep')\nworkload('%s/write.lua')\nallocator('raw')\n" \
  "$tmp" "$tmp" >"$tmp/exp-write.lua"
rm -f "$tmp/written"
if "$bin" report "$tmp/exp-write.lua" --out "$tmp/out-write" --repeat 0 --allow-unsafe >/dev/null 2>"$tmp/err"; then
  [ "$(cat "$tmp/written" 2>/dev/null)" = yes ] || fail "report --allow-unsafe: the file was not written"
else
  fail "report --allow-unsafe: $(cat "$tmp/err")"
fi
# (read whole: grep -q would stop reading and fail a help longer than a pipe write)
"$bin" report --help | grep -- "--allow-unsafe" >/dev/null || fail "report --help does not list --allow-unsafe"

[ "$fails" -eq 0 ] && echo "PASS" || echo "$fails failure(s)"
exit $((fails > 0))
