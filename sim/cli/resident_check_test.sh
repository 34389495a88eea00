#!/usr/bin/env bash
# resident_check_test.sh: arenalab's common memory figure checked against an
# independent measurement.  For every bundled trace and each of raw
# (glibc), jemalloc, mimalloc and tcmalloc, `arenalab replay --json` must
# give a `peak_resident_bytes` that agrees with minreplay's
# (sim/replay/minreplay.c: direct malloc calls, no arenalab code, the same
# library in LD_PRELOAD) within 15 % or 256 KiB, whichever is larger, and
# is not below 95 % of the peak live bytes; both must count the same peak
# live bytes.  minreplay runs twice and must agree with itself (10 % or
# 256 KiB): an unsteady reference would make the comparison meaningless.
#
# Arena events: minreplay makes every `m` a malloc of its own, freed at
# `x`, so arenalab runs with --arena-mode per-object, the same workload
# (the default pyarena packs them into 8 KiB blocks: another workload).
# Both run with transparent huge pages off (hugepages_test.sh checks the
# flag): with the machine's THP set to `always`, jemalloc's rows read below
# live and minreplay disagreed with itself.
# A sanitized arenalab has ASan's malloc and refuses preloads: skipped.
set -uo pipefail

bin=$(pwd)/sim/cli/arenalab
mr=$(pwd)/sim/replay/minreplay
tmp=${TEST_TMPDIR:-$(mktemp -d)}
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

case "$(ldd "$bin" 2>/dev/null)" in
  *libasan*)
    echo "resident_check_test: skipped: sanitized build (arenalab's malloc is ASan's)"
    exit 0
    ;;
esac

# The sonames arenalab puts in its worker's LD_PRELOAD (alloc/preloaded.c).
preload_of() {
  case "$1" in
    jemalloc) echo libjemalloc.so.2 ;;
    mimalloc) echo libmimalloc.so.2 ;;
    tcmalloc) echo libtcmalloc_minimal.so.4 ;;
    *) echo "" ;;
  esac
}

KIB=1024
ABS=$((256 * KIB)) # absolute tolerance of the agreement and of the self-check
# Pages resident at the baseline (an allocator's partly used pages) can
# hold a tiny trace's first blocks: the 95 % floor allows 4 pages.
SLACK=$((16 * KIB))

# |A - B| within PCT % of B or ABS bytes.
close_to() {
  local a=$1 b=$2 pct=$3 d=$(($1 - $2))
  [ "$d" -lt 0 ] && d=$((-d))
  [ "$d" -le "$ABS" ] || [ $((d * 100)) -le $((b * pct)) ]
}
# A is at least 95 % of LIVE, less SLACK.
above_live() { [ $(($1 * 100)) -ge $(($2 * 95 - SLACK * 100)) ]; }
kib() { awk -v b="$1" 'BEGIN { if (b == "") print "-"; else printf "%.1f", b / 1024 }'; }
field() { grep -m1 "\"$1\":" "$2" | tr -dc 0-9; }

shopt -s nullglob
traces=(traces/*.atr traces/*.rep traces/*.txt)
[ "${#traces[@]}" -ge 10 ] || { echo "FAIL: only ${#traces[@]} bundled traces found"; exit 1; }

missing=0
skipped=""
rows=0
printf '%-32s %-9s %12s %12s %12s %7s %12s  %s\n' trace allocator "arenalab KiB" \
  "minreplay" "minreplay #2" "diff" "live KiB" verdict >"$tmp/table"
for a in raw jemalloc mimalloc tcmalloc; do
  lib=$(preload_of "$a")
  for t in "${traces[@]}"; do
    case " $skipped " in *" $a "*) continue ;; esac
    json="$tmp/$a-$(basename "$t").json"
    "$bin" replay "$t" --alloc "$a" --arena-mode per-object --json "$json" -n 1 \
      >/dev/null 2>"$tmp/err"
    rc=$?
    if [ "$rc" = 2 ] && grep -q "not available here" "$tmp/err"; then
      echo "skipped: $a: $(cat "$tmp/err")"
      skipped="$skipped $a"
      continue
    fi
    [ "$rc" = 0 ] || { fail "$t $a: arenalab replay exit $rc: $(cat "$tmp/err")"; continue; }
    res=$(field peak_resident_bytes "$json")
    live=$(field peak_live_bytes "$json")
    [ -n "$res" ] || missing=$((missing + 1))

    # minreplay, twice: "peak_resident_bytes N peak_live_bytes M events E"
    m=()
    for i in 1 2; do
      out=$(LD_PRELOAD=$lib "$mr" "$t" 2>"$tmp/mrerr")
      rc=$?
      if [ "$rc" != 0 ] || grep -q "cannot be preloaded" "$tmp/mrerr" ||
          ! [[ "$out" =~ ^peak_resident_bytes\ ([0-9]+)\ peak_live_bytes\ ([0-9]+)\ events\ [0-9]+$ ]]; then
        fail "$t $a: minreplay exit $rc: $out $(cat "$tmp/mrerr")"
        continue 2
      fi
      m+=("${BASH_REMATCH[1]}")
      mlive=${BASH_REMATCH[2]}
    done

    verdict=""
    [ "$live" = "$mlive" ] || verdict="$verdict peak live differs (arenalab $live, minreplay $mlive);"
    close_to "${m[1]}" "${m[0]}" 10 || verdict="$verdict minreplay unsteady;"
    above_live "${m[0]}" "$mlive" || verdict="$verdict minreplay below 95% of live;"
    diff=-
    if [ -n "$res" ]; then
      diff=$(awk -v a="$res" -v b="${m[0]}" 'BEGIN { printf "%+.1f%%", b ? (a - b) * 100 / b : 0 }')
      close_to "$res" "${m[0]}" 15 || verdict="$verdict disagree (> 15% and > 256 KiB);"
      above_live "$res" "$mlive" || verdict="$verdict arenalab below 95% of live;"
    fi
    [ -n "$verdict" ] && fail "$t $a:$verdict"
    [ -z "$verdict" ] && [ -z "$res" ] && verdict="no peak_resident_bytes in --json"
    printf '%-32s %-9s %12s %12s %12s %7s %12s  %s\n' "$t" "$a" "$(kib "$res")" \
      "$(kib "${m[0]}")" "$(kib "${m[1]}")" "$diff" "$(kib "$mlive")" "${verdict:-ok}" \
      >>"$tmp/table"
    rows=$((rows + 1))
  done
done

echo "peak_resident_bytes, arenalab replay --arena-mode per-object vs minreplay:"
cat "$tmp/table"
[ "$rows" -gt 0 ] || fail "nothing compared"
if [ "$missing" -gt 0 ]; then
  fail "replay --json has no peak_resident_bytes ($missing of $rows runs): nothing to check it against"
fi
[ "$fails" = 0 ] && { echo "resident_check_test: all $rows pairs agree"; exit 0; }
echo "resident_check_test: $fails failures"
exit 1
