#!/usr/bin/env bash
# gen_workloads_test.sh: every workload of scripts/workloads/ generates a
# trace that `arenalab check` accepts, the same bytes twice for one seed;
# `arenalab gen` exits 1 with SCRIPT:LINE and no output on a script error,
# and 2 on a missing script or a usage error.
set -uo pipefail

bin=$(pwd)/sim/cli/arenalab
lib=scripts/workloads
tmp=${TEST_TMPDIR:-$(mktemp -d)}
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

for w in adversary ast churn grow lru malloclab queue; do
  out1="$tmp/$w.1.atr" out2="$tmp/$w.2.atr"
  if ! "$bin" gen "$lib/$w.lua" -o "$out1" --seed 7 2>"$tmp/err"; then
    fail "$w: gen failed: $(cat "$tmp/err")"
    continue
  fi
  [ -s "$tmp/err" ] && fail "$w: gen printed: $(cat "$tmp/err")"
  "$bin" gen "$lib/$w.lua" -o "$out2" --seed 7 2>/dev/null || fail "$w: second gen failed"
  cmp -s "$out1" "$out2" || fail "$w: two runs with --seed 7 differ"
  if ! "$bin" check "$out1" >"$tmp/check" 2>&1; then
    fail "$w: arenalab check rejects the trace: $(head -5 "$tmp/check")"
  fi
  # Moderate defaults: 50k..300k events each.
  n=$("$bin" gen "$lib/$w.lua" -o "$tmp/$w.txt" --seed 7 --stats 2>&1 |
      sed -n 's/.*: \([0-9]*\) events,.*/\1/p')
  if [ -z "$n" ] || [ "$n" -lt 50000 ] || [ "$n" -gt 300000 ]; then
    fail "$w: ${n:-?} events with the defaults (want 50k..300k)"
  fi
done

# The benchmark runs (small n) and reports its speed.
"$bin" gen "$lib/bench.lua" -o "$tmp/bench.atr" -D n=100000 --stats 2>"$tmp/err" ||
  fail "bench: $(cat "$tmp/err")"
grep -q "events/s" "$tmp/err" || fail "bench: no events/s in --stats output"

# A Lua error: exit 1, SCRIPT:LINE: message, nothing left behind.
mkdir -p "$tmp/err_case"
printf 'local b = alloc(8)\nfree(b)\nfree(b)\n' >"$tmp/err_case/bad.lua"
(cd "$tmp/err_case" && "$bin" gen bad.lua -o out.atr 2>err.txt)
rc=$?
[ "$rc" -eq 1 ] || fail "script error: exit $rc, want 1"
grep -q '^arenalab: bad.lua:3: free: block 0 was already freed' "$tmp/err_case/err.txt" ||
  fail "script error message: $(head -1 "$tmp/err_case/err.txt")"
[ -z "$(ls "$tmp/err_case" | grep out)" ] || fail "script error left: $(ls "$tmp/err_case")"

# A missing script, a missing -o, an unknown option: exit 2.
"$bin" gen "$tmp/nonexistent.lua" -o "$tmp/x.atr" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 2 ] || fail "missing script: exit $rc, want 2"
grep -q "nonexistent.lua: cannot read the script" "$tmp/err" || fail "missing script: $(cat "$tmp/err")"
"$bin" gen "$lib/ast.lua" 2>/dev/null
[ $? -eq 2 ] || fail "missing -o: want exit 2"
"$bin" gen "$lib/ast.lua" -o "$tmp/x.atr" --bogus 2>/dev/null
[ $? -eq 2 ] || fail "unknown option: want exit 2"
"$bin" gen "$lib/ast.lua" -o "$tmp/x.atr" --seed abc 2>/dev/null
[ $? -eq 2 ] || fail "bad seed: want exit 2"
"$bin" gen --help | grep -q "usage: arenalab gen" || fail "gen --help"

if [ "$fails" -gt 0 ]; then
  echo "$fails failures" >&2
  exit 1
fi
echo "all passed"
