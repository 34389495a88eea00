#!/usr/bin/env bash
# mallocstats_fidelity_test.sh [OURS THEIRS]: `--alloc OURS --mallocstats`
# prints what CPython 3.11 itself prints (`--alloc THEIRS --mallocstats`,
# the real obmalloc of libpython3.11 with pool-aligned arenas, each run in a
# fresh process) for every bundled trace — generated workloads with all
# three domains, reallocs across the threshold, arenas emptied and refilled,
# and malloc-lab files — at their end, at their peak, after a third of their
# events (--mallocstats=peak, event:N) and at several prefixes, byte for
# byte, from `Small block threshold` through the first `Total` line.
# Default: pymalloc against cpython; BUILD runs it again with
# pymalloc_debug against cpython:hooks=debug (libpython's own debug hooks,
# PyMem_SetupDebugHooks, over its obmalloc).
set -uo pipefail

bin=$(pwd)/sim/cli/arenalab
ours=${1:-pymalloc}
theirs=${2:-cpython}
tmp=${TEST_TMPDIR:-$(mktemp -d)}
fails=0
checked=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# The pymalloc section of a replay's --mallocstats output.
section() { # TRACE ALLOC [WHEN]
  "$bin" replay "$1" --alloc "$2" -n 0 --mallocstats="${3:-end}" 2>"$tmp/err" |
    sed -n '/^Small block threshold = /,/^Total /p'
}

compare() { # TRACE LABEL [WHEN]
  section "$1" "$ours" "${3:-end}" >"$tmp/ours"
  section "$1" "$theirs" "${3:-end}" >"$tmp/theirs"
  if [ ! -s "$tmp/theirs" ]; then
    fail "$2: $theirs printed no statistics: $(cat "$tmp/err")"
  elif ! cmp -s "$tmp/ours" "$tmp/theirs"; then
    fail "$2: $ours differs from $theirs:"
    diff "$tmp/ours" "$tmp/theirs" | head -20 >&2
  fi
  checked=$((checked + 1))
}

for t in traces/*.atr traces/*.rep traces/spec-example.txt; do
  [ -f "$t" ] || continue
  compare "$t" "$t"
  # at the peak of live bytes (--mallocstats' default) and at points inside
  compare "$t" "$t at its peak" peak
  events=$("$bin" stats --json - "$t" 2>/dev/null | sed -n 's/^  "events": \([0-9]*\),/\1/p')
  [ -n "$events" ] && compare "$t" "$t after event $((events / 3))" "event:$((events / 3))"
  # Prefixes: the text form cut at a few points (its lines are events).
  "$bin" convert "$t" "$tmp/full.txt" >/dev/null 2>&1 || { fail "convert $t"; continue; }
  total=$(grep -vc '^#' "$tmp/full.txt")
  for frac in 7 31 63 90; do
    n=$((total * frac / 100))
    [ "$n" -gt 0 ] || continue
    grep -v '^#' "$tmp/full.txt" | head -n "$n" >"$tmp/prefix.txt"
    compare "$tmp/prefix.txt" "$t at event $n"
  done
done

echo "mallocstats_fidelity_test ($ours against $theirs): $checked comparisons, $fails failed"
exit "$fails"
