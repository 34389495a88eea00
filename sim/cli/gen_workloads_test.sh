#!/usr/bin/env bash
# gen_workloads_test.sh: every workload of scripts/workloads/ generates a
# trace that `arenalab check` accepts, the same bytes twice for one seed,
# the same events in binary and in text;
# the threaded ones (larson, prodcons, churn -D threads=N) write events on
# their threads with frees on other threads than the allocation's;
# `arenalab gen` exits 1 with SCRIPT:LINE and no output on a script error,
# and 2 on a missing script or a usage error; --allow-unsafe loads C
# modules.
set -uo pipefail

bin=$(pwd)/sim/cli/arenalab
lib=scripts/workloads
tmp=${TEST_TMPDIR:-$(mktemp -d)}
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

for w in adversary ast churn grow larson lru malloclab prodcons queue; do
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
  # The binary trace names blocks by the slots gen hands its writer
  # unchecked; the text one by ids: read back, the two must agree.
  "$bin" convert "$out1" "$tmp/$w.conv.txt" >/dev/null 2>&1 || fail "$w: convert failed"
  cmp -s "$tmp/$w.txt" "$tmp/$w.conv.txt" || fail "$w: the .atr read back differs from the .txt"
done

# Threads (text traces): "THREADS REMOTE_FREES REMOTE_REALLOCS" -- distinct
# threads with events, frees and reallocs on another thread than the
# block's allocation.
threads_of() {
  awk '/^#@ thread / { t = $3; seen[t] = 1; next }
    /^#/ { next }
    $1 == "a" || $1 == "c" { owner[$2] = t + 0; seen[t + 0] = 1; next }
    $1 == "r" { if (owner[$2] != t + 0) rr++; next }
    $1 == "f" { if (owner[$2] != t + 0) rf++; delete owner[$2]; next }
    END { n = 0; for (k in seen) n++; print n, rf + 0, rr + 0 }' "$1"
}
for w in larson prodcons; do
  "$bin" gen "$lib/$w.lua" -o "$tmp/$w.txt" --seed 7 2>/dev/null || fail "$w: text gen failed"
  read -r nt rf rr <<<"$(threads_of "$tmp/$w.txt")"
  case $w in
    larson) [ "$nt" = 8 ] && [ "$rf" -gt 50000 ] || fail "larson: $nt threads, $rf remote frees" ;;
    prodcons)
      # Every free is remote; some payloads grow on the consumer's thread.
      nf=$(grep -c '^f ' "$tmp/$w.txt")
      [ "$nt" = 4 ] && [ "$rf" = "$nf" ] && [ "$rr" -gt 1000 ] ||
        fail "prodcons: $nt threads, $rf of $nf frees remote, $rr remote reallocs" ;;
  esac
done
# churn scaled: threads=1 is the single-threaded trace, event for event
# (the metadata says param.threads=1);
# threads=4 has four threads (and the main one) with remote frees, the
# same bytes for a seed, and replays.
"$bin" gen "$lib/churn.lua" -o "$tmp/churn.t1.atr" --seed 7 -D threads=1 2>/dev/null ||
  fail "churn threads=1: gen failed"
for f in churn.1 churn.t1; do
  "$bin" convert "$tmp/$f.atr" - 2>/dev/null | grep -v '^#@ param\.' >"$tmp/$f.noparam"
done
[ -s "$tmp/churn.t1.noparam" ] && cmp -s "$tmp/churn.1.noparam" "$tmp/churn.t1.noparam" ||
  fail "churn threads=1 differs from churn"
for k in 1 2; do
  "$bin" gen "$lib/churn.lua" -o "$tmp/churn.t4.$k.atr" --seed 7 -D threads=4 -D steps=20000 \
    2>/dev/null || fail "churn threads=4: gen failed"
done
cmp -s "$tmp/churn.t4.1.atr" "$tmp/churn.t4.2.atr" || fail "churn threads=4: two runs differ"
"$bin" check "$tmp/churn.t4.1.atr" >/dev/null 2>&1 || fail "churn threads=4: check rejects it"
"$bin" convert "$tmp/churn.t4.1.atr" "$tmp/churn.t4.txt" >/dev/null 2>&1 || fail "churn: convert"
read -r nt rf rr <<<"$(threads_of "$tmp/churn.t4.txt")"
[ "$nt" = 5 ] && [ "$rf" -gt 100 ] || fail "churn threads=4: $nt threads, $rf remote frees"
"$bin" replay "$tmp/churn.t4.1.atr" --alloc raw --verify >/dev/null 2>"$tmp/err" ||
  fail "churn threads=4: replay --verify: $(cat "$tmp/err")"
"$bin" gen "$lib/churn.lua" -o "$tmp/churn.t0.atr" -D threads=0 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "churn.lua:[0-9]*: threads and slice must be at least 1" "$tmp/err" ||
  fail "churn threads=0: $(head -1 "$tmp/err")"
[ ! -e "$tmp/churn.t0.atr" ] || fail "churn threads=0: left an output"

# A thread that does not exist: exit 1, SCRIPT:LINE, no output.
mkdir -p "$tmp/err_case"
printf 'local b = alloc(8)\non_thread(3, free, b)\n' >"$tmp/err_case/nothread.lua"
(cd "$tmp/err_case" && "$bin" gen nothread.lua -o out.atr 2>err.txt)
[ $? -eq 1 ] || fail "no such thread: want exit 1"
grep -q '^arenalab: nothread.lua:2: on_thread: no thread 3' "$tmp/err_case/err.txt" ||
  fail "no such thread: $(head -1 "$tmp/err_case/err.txt")"
[ ! -e "$tmp/err_case/out.atr" ] || fail "no such thread: left an output"

# The benchmarks run (small n) and report their speed.
for b in bench bench-ring; do
  "$bin" gen "$lib/$b.lua" -o "$tmp/$b.atr" -D n=100000 --stats 2>"$tmp/err" ||
    fail "$b: $(cat "$tmp/err")"
  grep -q "events/s" "$tmp/err" || fail "$b: no events/s in --stats output"
done

# A Lua error: exit 1, SCRIPT:LINE: message, nothing left behind.
mkdir -p "$tmp/err_case"
printf 'local b = alloc(8)\nfree(b)\nfree(b)\n' >"$tmp/err_case/bad.lua"
(cd "$tmp/err_case" && "$bin" gen bad.lua -o out.atr 2>err.txt)
rc=$?
[ "$rc" -eq 1 ] || fail "script error: exit $rc, want 1"
grep -q '^arenalab: bad.lua:3: free: block 0 was already freed' "$tmp/err_case/err.txt" ||
  fail "script error message: $(head -1 "$tmp/err_case/err.txt")"
[ -z "$(ls "$tmp/err_case" | grep out)" ] || fail "script error left: $(ls "$tmp/err_case")"

# gen --stats and stats count peak live blocks the same way (arena
# allocations included): ast has arenas
gen_peak=$("$bin" gen "$lib/ast.lua" -o "$tmp/ast.peak.atr" --seed 7 --stats 2>&1 |
  sed -n 's/.*peak \([0-9]*\) live blocks.*/\1/p')
stats_peak=$("$bin" stats "$tmp/ast.peak.atr" | sed -n 's/^ *peak live blocks *\([0-9]*\).*/\1/p')
[ -n "$gen_peak" ] && [ "$gen_peak" = "$stats_peak" ] ||
  fail "peak live blocks: gen --stats says ${gen_peak:-?}, stats says ${stats_peak:-?}"

# Live bytes past 2^64 (no process can hold that): an error, never a wrap
printf 'local t = {}\nfor i = 1, 70000 do t[i] = alloc(2^48) end\n' >"$tmp/huge.lua"
"$bin" gen "$tmp/huge.lua" -o "$tmp/huge.atr" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 1 ] || fail "huge: exit $rc, want 1"
grep -q "huge.lua:2: alloc: live bytes would exceed 2^64" "$tmp/err" || fail "huge: $(head -1 "$tmp/err")"
[ ! -e "$tmp/huge.atr" ] || fail "huge: left an output"
{ for i in $(seq 0 65540); do echo "a $i 281474976710656"; done; } >"$tmp/huge.txt"
"$bin" stats "$tmp/huge.txt" >/dev/null 2>"$tmp/err"
rc=$?
[ "$rc" -eq 1 ] || fail "stats huge: exit $rc, want 1"
grep -q "event 65535: live bytes exceed 2^64" "$tmp/err" || fail "stats huge: $(head -1 "$tmp/err")"

# --allow-unsafe: require loads a C module, built as one is outside the
# tree; it finds the Lua API in arenalab, which links Lua statically and
# exports that API (third_party/lua.BUILD).
mkdir -p "$tmp/cmod"
cat >"$tmp/cmod/twice.c" <<'EOF'
#include <lauxlib.h>
#include <lua.h>
static int twice(lua_State *L)
{
    lua_pushinteger(L, 2 * luaL_checkinteger(L, 1));
    return 1;
}
int luaopen_twice(lua_State *L)
{
    lua_pushcfunction(L, twice);
    return 1;
}
EOF
if cc -std=c11 -O2 -fPIC -shared -I/usr/include/lua5.4 "$tmp/cmod/twice.c" \
    -o "$tmp/cmod/twice.so" 2>"$tmp/err"; then
  printf 'package.cpath = "%s/cmod/?.so"\nfree(alloc(require("twice")(21)))\n' "$tmp" \
    >"$tmp/cmod/use.lua"
  "$bin" gen --allow-unsafe "$tmp/cmod/use.lua" -o "$tmp/cmod/out.txt" 2>"$tmp/err" ||
    fail "C module: $(head -3 "$tmp/err")"
  grep -q '^a 0 42$' "$tmp/cmod/out.txt" || fail "C module: $(head -3 "$tmp/cmod/out.txt")"
else
  fail "C module: cc failed: $(head -3 "$tmp/err")"
fi

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
# --seed is decimal, as every command's: 010 is ten (not octal eight), 08 is
# eight (not refused), and 0x10, ' 5' and +5 are refused
printf 'free(alloc(uniform(1, 1000000)))\n' >"$tmp/seed.lua"
for s in 8 10; do
  "$bin" gen "$tmp/seed.lua" -o "$tmp/seed.$s.txt" --seed "$s" 2>/dev/null || fail "--seed $s"
done
"$bin" gen "$tmp/seed.lua" -o "$tmp/seed.010.txt" --seed 010 2>/dev/null || fail "--seed 010"
cmp -s "$tmp/seed.010.txt" "$tmp/seed.10.txt" || fail "--seed 010 is not --seed 10"
"$bin" gen "$tmp/seed.lua" -o "$tmp/seed.08.txt" --seed 08 2>/dev/null || fail "--seed 08 refused"
cmp -s "$tmp/seed.08.txt" "$tmp/seed.8.txt" || fail "--seed 08 is not --seed 8"
for s in 0x10 " 5" +5 18446744073709551616; do
  "$bin" gen "$tmp/seed.lua" -o "$tmp/x.txt" --seed "$s" 2>/dev/null
  [ $? -eq 2 ] || fail "--seed '$s': want exit 2"
done
grep -q "usage: arenalab gen" <<<"$("$bin" gen --help)" || fail "gen --help"

if [ "$fails" -gt 0 ]; then
  echo "$fails failures" >&2
  exit 1
fi
echo "all passed"
