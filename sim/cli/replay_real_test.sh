#!/usr/bin/env bash
# replay_real_test.sh: the real allocators (jemalloc, mimalloc, tcmalloc)
# and the routes.  Each library is preloaded into its worker: a verified
# replay of the bundled workloads must succeed, with a footprint read from
# the library's own statistics (never zero for a trace that holds memory).
# In a sanitized build the sanitizer owns malloc, so each must instead be
# refused with a clear message (exit 2), never silently measure glibc.
set -uo pipefail

bin=$(pwd)/sim/cli/arenalab
tmp=${TEST_TMPDIR:-$(mktemp -d)}
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
traces="traces/spec-example.txt traces/churn.atr"

sanitized=0
case "$(ldd "$bin" 2>/dev/null)" in *libasan*) sanitized=1 ;; esac

for a in jemalloc mimalloc tcmalloc; do
  if [ "$sanitized" = 1 ]; then
    "$bin" replay $traces --alloc "$a" -n 1 >"$tmp/out" 2>"$tmp/err"
    rc=$?
    [ "$rc" = 2 ] || fail "$a in a sanitized build: exit $rc, expected 2"
    grep -q "not available here" "$tmp/err" || fail "$a: no clear message: $(cat "$tmp/err")"
    continue
  fi
  if ! "$bin" replay $traces --alloc "$a" --verify -n 1 --json "$tmp/$a.json" \
      >"$tmp/out" 2>"$tmp/err"; then
    fail "$a replay failed: $(cat "$tmp/err")"
    continue
  fi
  [ "$(grep -c "\"allocator\": \"$a\"" "$tmp/$a.json")" = 2 ] || fail "$a: not one run per trace"
  # churn.atr holds ~168 KiB at its peak: resident memory (touched pages)
  # and the library's own figure must both show it
  for k in peak_resident_bytes peak_held_bytes; do
    v=$(grep -A40 '"trace": "traces/churn.atr"' "$tmp/$a.json" | grep -m1 "\"$k\"" | tr -dc 0-9)
    [ -n "$v" ] && [ "$v" -gt 160000 ] || fail "$a: $k '$v' on churn.atr"
  done
  # --mallocstats prints the library's own statistics
  "$bin" replay traces/churn.atr --alloc "$a" -n 0 --mallocstats >"$tmp/$a.ms" 2>"$tmp/err" ||
    fail "$a --mallocstats: $(cat "$tmp/err")"
  case $a in
    jemalloc) want="Begin jemalloc statistics" ;;
    tcmalloc) want="Bytes in use by application" ;;
    mimalloc) want="committed:" ;;
  esac
  grep -q "$want" "$tmp/$a.ms" || fail "$a --mallocstats: no '$want': $(head -3 "$tmp/$a.ms")"
  # a route whose domains share the process's malloc counts it once
  if ! "$bin" replay traces/churn.atr --alloc "$a" --alloc "raw=raw,mem=$a,obj=raw" -n 0 \
      --json "$tmp/$a-route.json" >/dev/null 2>"$tmp/err"; then
    fail "$a route: $(cat "$tmp/err")"
  else
    held=($(grep '"peak_held_bytes"' "$tmp/$a-route.json" | tr -dc '0-9\n'))
    [ "${#held[@]}" = 2 ] && [ "${held[1]}" -le $((held[0] * 5 / 4)) ] ||
      fail "$a: the route's held memory ${held[1]:-?} counts the heap twice (plain: ${held[0]:-?})"
  fi
done

# Routes: PYTHONMALLOC names and an explicit route, one row each.
"$bin" replay traces/churn.atr --alloc pymalloc,malloc --alloc raw=malloc,mem=pymalloc,obj=arena \
  --verify -n 1 >"$tmp/routes" 2>"$tmp/err" || fail "routes: $(cat "$tmp/err")"
grep -q '^traces/churn.atr  *pymalloc ' "$tmp/routes" || fail "no pymalloc row: $(cat "$tmp/routes")"
grep -q 'raw=malloc,mem=pymalloc,obj=arena' "$tmp/routes" || fail "no explicit route row"
"$bin" replay traces/churn.atr --alloc heap=raw >/dev/null 2>"$tmp/err"
[ $? = 2 ] && grep -q "a route names a domain" "$tmp/err" || fail "bad route: $(cat "$tmp/err")"

[ "$fails" = 0 ] && echo "replay_real_test: all passed"
exit "$fails"
