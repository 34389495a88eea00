#!/usr/bin/env bash
# report_realrun_test.sh: a report on an experiment with a program()
# trace runs the recorded program for real under each allocator that can
# serve a real process and sets it beside the replays: a section "Replay vs
# real run" in index.html and summary.md with a row per such allocator,
# both rankings and their agreement, the definitions, and the model
# allocator listed as not run for real.  A bad program() declaration fails
# at FILE:LINE and creates nothing.
set -uo pipefail
bin=$(pwd)/sim/cli/arenalab
export ARENALAB_ROOT=$(pwd) # the runfiles tree holds scripts/ and traces/
tmp=${TEST_TMPDIR:-$(mktemp -d)}
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

sanitized=0
case "$(ldd "$bin" 2>/dev/null)" in *libasan*) sanitized=1 ;; esac
# jemalloc when it is installed (and not under a sanitizer, which refuses
# preloaded allocators); the rows then are raw and jemalloc
jem=
[ "$sanitized" = 0 ] && [ -e /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 ] && jem=1
jline=
[ -n "$jem" ] && jline='allocator("jemalloc")'

# perl is in every Debian system (perl-base); its recording is bundled
cat >"$tmp/rr.lua" <<LUA
name("rr")
repeats(1)
program("perl-hash", {
  cmd = {"perl", "scripts/record-workloads/hash-churn.pl", "10000"},
  trace = "traces/rec-perl-hash-churn.atr",
})
allocator("raw")
$jline
allocator("pymalloc")
LUA
if "$bin" report "$tmp/rr.lua" -o "$tmp/out" >"$tmp/log" 2>&1; then
  page="$tmp/out/latest/index.html"
  md="$tmp/out/latest/summary.md"
  grep -q '<h2 id="realrun">Replay vs real run</h2>' "$page" || fail "no section in index.html"
  grep -q 'href="#realrun"' "$page" || fail "no link to the section"
  rows=$(sed -n '/<table class="realrun">/,/<\/table>/p' "$page" | grep -c '^<tr><td class="l">')
  want=1
  [ -n "$jem" ] && want=2
  [ "$rows" = "$want" ] || fail "index.html: $rows rows, want $want"
  grep -q '<tr><td class="l">raw</td>' "$page" || fail "no raw row"
  [ -z "$jem" ] || grep -q '<tr><td class="l">jemalloc</td>' "$page" || fail "no jemalloc row"
  # the agreement figure for both rankings, pairs out of n(n-1)/2
  pairs=$((want * (want - 1) / 2))
  for what in "Memory ranking" "Speed ranking"; do
    grep -q "<li class=\"agreement\">$what (.*): the replay orders [0-9]* of $pairs pairs" "$page" ||
      fail "no $what agreement: $(grep -o '<li class="agreement">[^<]*' "$page")"
  done
  if [ -n "$jem" ]; then
    grep -q "Kendall's tau = -\?[01]\.[0-9][0-9]" "$page" || fail "no Kendall's tau"
  fi
  grep -q "measure different things" "$page" || fail "no definitions next to the numbers"
  grep -q "not run for real: pymalloc: pymalloc lives inside a replay" "$page" ||
    fail "pymalloc not listed as not run for real"
  grep -q "^## Replay vs real run" "$md" || fail "no section in summary.md"
  grep -q "^| raw | " "$md" || fail "no raw row in summary.md"
  grep -q "^- Memory ranking .* pairs as the real run does" "$md" || fail "no agreement in summary.md"
  grep -q 'perl scripts/record-workloads/hash-churn.pl 10000' "$md" || fail "no command in summary.md"
  # every real run in experiment.json, the model allocator with its reason
  python3 - "$tmp/out/latest/experiment.json" "$want" <<'PY' || fail "experiment.json real_runs"
import json, sys
d = json.load(open(sys.argv[1]))
t = [t for t in d["traces"] if t["name"] == "perl-hash"][0]
assert t["program"] == ["perl", "scripts/record-workloads/hash-churn.pl", "10000"], t
runs = [a for a in t["real_runs"] if "skipped" not in a]
assert len(runs) == int(sys.argv[2]), t["real_runs"]
for a in runs:
    assert len(a["maxrss_bytes"]["runs"]) == 1 and a["maxrss_bytes"]["median"] > 0, a
    assert a["exit_status"] == 0, a
skipped = [a["allocator"] for a in t["real_runs"] if "skipped" in a]
assert skipped == ["pymalloc"], skipped
PY
else
  fail "report: $(cat "$tmp/log")"
fi

# an experiment without program() has no such section
cat >"$tmp/plain.lua" <<'LUA'
name("plain")
repeats(1)
trace("traces/rec-perl-hash-churn.atr")
allocator("raw")
LUA
if "$bin" report "$tmp/plain.lua" -o "$tmp/plain" >"$tmp/log" 2>&1; then
  ! grep -q 'Replay vs real run' "$tmp/plain/latest/index.html" "$tmp/plain/latest/summary.md" ||
    fail "a section without program()"
else
  fail "plain report: $(cat "$tmp/log")"
fi

# bad declarations: FILE:LINE and nothing created
bad() { # EXPECTED-MESSAGE DECLARATION
  printf 'name("bad")\nallocator("raw")\n%s\n' "$2" >"$tmp/bad.lua"
  rm -rf "$tmp/bad"
  "$bin" report "$tmp/bad.lua" -o "$tmp/bad" >"$tmp/out.txt" 2>"$tmp/err.txt"
  local rc=$?
  [ "$rc" = 1 ] || fail "$2: exit $rc, want 1"
  grep -q "bad.lua:3: $1" "$tmp/err.txt" || fail "$2: message $(cat "$tmp/err.txt")"
  [ ! -e "$tmp/bad" ] || fail "$2: created $(ls -R "$tmp/bad")"
}
t=traces/rec-perl-hash-churn.atr
bad "program p: cannot run 'no-such-program-x' (not found on PATH)" \
  "program(\"p\", {cmd = {\"no-such-program-x\"}, trace = \"$t\"})"
bad "program p: cannot run 'scripts/none.sh' (no executable file there" \
  "program(\"p\", {cmd = {\"scripts/none.sh\"}, trace = \"$t\"})"
bad "program p: cannot read trace 'none.atr'" "program(\"p\", {cmd = {\"perl\"}, trace = \"none.atr\"})"
bad "program p: 'trace' (the recording of the command) is missing" 'program("p", {cmd = {"perl"}})'
bad "program p: 'cmd' must be a list of strings" "program(\"p\", {cmd = \"perl\", trace = \"$t\"})"
bad "program p: 'cmd' must be a list of 1 to 1000 strings" "program(\"p\", {cmd = {}, trace = \"$t\"})"
bad "program p: cmd\[2\] must be a string" "program(\"p\", {cmd = {\"perl\", 1}, trace = \"$t\"})"
bad "program: unknown option 'args'" "program(\"p\", {cmd = {\"perl\"}, args = {}, trace = \"$t\"})"
bad "a trace named 'p' already exists" \
  "trace(\"$t\", \"p\"); program(\"p\", {cmd = {\"perl\"}, trace = \"$t\"})"

# the example experiment runs (lua5.4 is its program; --repeat 0: memory
# only, one real run each)
if command -v lua5.4 >/dev/null; then
  if "$bin" report scripts/experiments/real-vs-replay.lua --repeat 0 -o "$tmp/ex" >"$tmp/log" 2>&1; then
    grep -q '<tr><td class="l">raw</td>' "$tmp/ex/latest/index.html" || fail "real-vs-replay.lua: no raw row"
    grep -q 'Speed ranking (.*): no ranking (the replays were not timed' "$tmp/ex/latest/index.html" ||
      fail "real-vs-replay.lua --repeat 0: a speed ranking without timed replays"
  else
    fail "real-vs-replay.lua: $(cat "$tmp/log")"
  fi
fi

[ "$fails" = 0 ] && echo PASS
exit $((fails > 0))
