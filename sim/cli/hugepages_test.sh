#!/usr/bin/env bash
# hugepages_test.sh: transparent huge pages are off in every process
# arenalab starts and in minreplay, from the first mapping of a preloaded
# allocator on; ARENALAB_HUGEPAGES=system leaves the system's setting; a
# bad value is refused; reports say which the run had.
#
# Why it matters: peak_resident_bytes counts the kernel's pages, and a
# 2 MiB huge page is resident all at once or not, by where the kernel put
# the mapping: on a machine set to `always`, resident_check_test's
# jemalloc rows read below live and minreplay disagreed with itself.  The
# machine this runs on may be set to anything, so the test checks the flag
# (a preloaded probe reads THP_enabled from /proc/self/status as each
# process starts, hugepages_probe.c), not the figures.
set -uo pipefail
bin=$(pwd)/sim/cli/arenalab
mr=$(pwd)/sim/replay/minreplay
probe=$(pwd)/sim/cli/libhugepages_probe.so
tmp=${TEST_TMPDIR:-$(mktemp -d)}
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# A bad value: a clear message, exit 2, nothing replayed (any build).
ARENALAB_HUGEPAGES=maybe "$bin" replay traces/queue.atr --alloc raw -n 1 >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" = 2 ] || fail "ARENALAB_HUGEPAGES=maybe: exit $rc, expected 2"
grep -q "ARENALAB_HUGEPAGES='maybe': expected 'off'" "$tmp/err" || fail "no clear message: $(cat "$tmp/err")"
[ -s "$tmp/out" ] && fail "ARENALAB_HUGEPAGES=maybe still replayed: $(head -3 "$tmp/out")"
"$bin" --help | grep -q "ARENALAB_HUGEPAGES=system" || fail "--help does not mention ARENALAB_HUGEPAGES"

# The report's machine facts say what the run had.
"$bin" report scripts/experiments/tiny.lua --out "$tmp/rep" >/dev/null 2>"$tmp/err" ||
  fail "report: $(cat "$tmp/err")"
grep -q "^- huge pages: off (4 KiB pages only" "$tmp"/rep/tiny-*/summary.md 2>/dev/null ||
  grep -q "^- huge pages: none (no transparent huge pages" "$tmp"/rep/tiny-*/summary.md 2>/dev/null ||
  fail "summary.md has no 'huge pages: off' row: $(grep -h "huge" "$tmp"/rep/tiny-*/summary.md)"
ARENALAB_HUGEPAGES=system "$bin" report scripts/experiments/tiny.lua --out "$tmp/rep2" \
  >/dev/null 2>"$tmp/err" || fail "report (system): $(cat "$tmp/err")"
grep -qE "^- huge pages: (the system's: .*ARENALAB_HUGEPAGES=system|none)" "$tmp"/rep2/tiny-*/summary.md ||
  fail "ARENALAB_HUGEPAGES=system: $(grep -h "huge" "$tmp"/rep2/tiny-*/summary.md)"

case "$(ldd "$bin" 2>/dev/null)" in
*libasan* | *libtsan*)
  echo "hugepages_test: probes skipped: sanitized build (nothing can be preloaded)"
  [ "$fails" = 0 ] && exit 0
  exit 1
  ;;
esac

# What the probe saw in each process it was loaded into, one word a line.
seen() { awk '{ print $2 }' "$1" 2>/dev/null | tr '\n' ' ' | sed 's/ $//'; }

# A replay worker (the probe is preloaded there as a `raw` pair's library).
run_worker() { # OUT [ENV=VALUE...]
  local out=$1
  shift
  rm -f "$out"
  env "$@" ARENALAB_TEST_PRELOAD="$probe" ARENALAB_HUGEPAGES_PROBE_OUT="$out" \
    "$bin" replay traces/queue.atr --alloc raw -n 2 >"$tmp/log" 2>&1 ||
    fail "replay: $(tail -3 "$tmp/log")"
}
run_worker "$tmp/w0"
if [ "$(seen "$tmp/w0")" = "unknown" ] || grep -q unknown "$tmp/w0" 2>/dev/null; then
  echo "hugepages_test: probes skipped: this kernel has no THP_enabled in /proc/PID/status"
  [ "$fails" = 0 ] && exit 0
  exit 1
fi
[ -s "$tmp/w0" ] || fail "the probe never ran in a worker"
grep -qv "^thp 0$" "$tmp/w0" && fail "a worker started with huge pages allowed: $(seen "$tmp/w0")"

run_worker "$tmp/w1" ARENALAB_HUGEPAGES=system
[ -s "$tmp/w1" ] || fail "the probe never ran in a worker (system)"
grep -qv "^thp 1$" "$tmp/w1" && fail "ARENALAB_HUGEPAGES=system: workers saw $(seen "$tmp/w1"), expected 1"

# A real run (`arenalab run`): the program starts with them off too, so
# its max RSS is counted as the replay's resident memory is.
rm -f "$tmp/run0"
"$bin" run --alloc raw --repeat 1 -- sh -c "grep THP_enabled /proc/self/status >>'$tmp/run0'" \
  >"$tmp/log" 2>&1 || fail "run: $(tail -3 "$tmp/log")"
grep -q "^THP_enabled:[[:space:]]*0$" "$tmp/run0" 2>/dev/null ||
  fail "a real run's program started with huge pages allowed: $(cat "$tmp/run0" 2>/dev/null)"

# What a process this shell starts has, for minreplay under "system".
rm -f "$tmp/r0"
ARENALAB_HUGEPAGES_PROBE_OUT="$tmp/r0" LD_PRELOAD="$probe" /bin/true
[ "$(seen "$tmp/r0")" = 1 ] || echo "note: this shell already runs with huge pages off ($(seen "$tmp/r0"))"

# minreplay: its last image (the one that measures) starts with them off.
rm -f "$tmp/m0"
LD_PRELOAD=$probe ARENALAB_HUGEPAGES_PROBE_OUT="$tmp/m0" "$mr" traces/queue.atr >"$tmp/mout" 2>&1 ||
  fail "minreplay: $(cat "$tmp/mout")"
[ "$(tail -1 "$tmp/m0" 2>/dev/null)" = "thp 0" ] ||
  fail "minreplay measured with huge pages allowed: $(seen "$tmp/m0")"
rm -f "$tmp/m1"
LD_PRELOAD=$probe ARENALAB_HUGEPAGES_PROBE_OUT="$tmp/m1" ARENALAB_HUGEPAGES=system \
  "$mr" traces/queue.atr >"$tmp/mout" 2>&1 || fail "minreplay (system): $(cat "$tmp/mout")"
[ "$(seen "$tmp/m1")" = "$(seen "$tmp/r0")" ] ||
  fail "minreplay with ARENALAB_HUGEPAGES=system: $(seen "$tmp/m1"), expected the shell's $(seen "$tmp/r0")"

[ "$fails" = 0 ] && { echo "hugepages_test: ok"; exit 0; }
echo "hugepages_test: $fails failures"
exit 1
