#!/usr/bin/env bash
# layout_test.sh: ARENALAB_ASLR=off fixes the address-space layout, so the
# real allocators' resident figures repeat exactly from run to run (with
# the kernel's randomized layout they move by a few pages: jemalloc placing
# its extents, libpython's radix tree), and a wrong value is refused.
set -uo pipefail

bin=$(pwd)/sim/cli/arenalab
tmp=${TEST_TMPDIR:-$(mktemp -d)}
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# In a sanitized build the sanitizer owns malloc: the preloaded libraries
# are refused there, raw is the sanitizer's allocator.  Its resident memory
# includes the sanitizer's own pages, which move by a page now and then
# whatever the layout (seen once in ~1,000 runs on a loaded machine; as in
# report_cli_test): there only the held figure (the sanitizer's mapped
# heap) is compared, and what the fixed layout does for resident memory is
# the normal build's check.
allocs=raw,cpython,jemalloc,mimalloc,tcmalloc
keys="peak_resident_bytes peak_held_bytes"
note=""
case "$(ldd "$bin" 2>/dev/null)" in
  *libasan*) allocs=raw keys="peak_held_bytes" note="; sanitized: resident memory not compared" ;;
esac

# the compared figures per allocator, one line "allocator figure..." each
figures() {
  python3 - "$1" $keys <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["runs"]:
    print(r["allocator"], *(r[k] for k in sys.argv[2:]))
PY
}

# Where the system refuses the personality (a container's seccomp profile),
# ARENALAB_ASLR=off must say so and stop, never run with the layout random.
if ! setarch "$(uname -m)" -R true 2>/dev/null; then
  ARENALAB_ASLR=off "$bin" stats traces/queue.atr >"$tmp/out" 2>"$tmp/err"
  rc=$?
  [ "$rc" = 2 ] || fail "personality refused here, yet ARENALAB_ASLR=off: exit $rc, expected 2"
  grep -q "cannot set the address-space layout" "$tmp/err" || fail "no clear message: $(cat "$tmp/err")"
  [ "$fails" -eq 0 ] && echo "layout_test: ok (this system refuses a fixed layout: refused clearly)"
  exit $((fails > 0))
fi

for i in 1 2 3 4; do
  if ! ARENALAB_ASLR=off "$bin" replay traces/queue.atr --alloc "$allocs" -n 1 --quiet \
      --json "$tmp/run$i.json" >/dev/null 2>"$tmp/err$i"; then
    fail "run $i: $(cat "$tmp/err$i")"
    continue
  fi
  figures "$tmp/run$i.json" >"$tmp/fig$i"
  [ "$(wc -l <"$tmp/fig$i")" = "$(echo "$allocs" | tr , '\n' | wc -l)" ] ||
    fail "run $i: not one row per allocator: $(cat "$tmp/fig$i")"
  if [ "$i" -gt 1 ] && ! diff "$tmp/fig1" "$tmp/fig$i" >"$tmp/diff"; then
    fail "run $i: memory figures differ from run 1 with the layout fixed: $(cat "$tmp/diff")"
  fi
done

# a wrong value: exit 2, saying what is expected, nothing run
ARENALAB_ASLR=maybe "$bin" replay traces/queue.atr --alloc raw -n 1 >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" = 2 ] || fail "ARENALAB_ASLR=maybe: exit $rc, expected 2"
grep -q "ARENALAB_ASLR='maybe': expected 'on'" "$tmp/err" || fail "no clear message: $(cat "$tmp/err")"
[ -s "$tmp/out" ] && fail "ARENALAB_ASLR=maybe still replayed: $(head -3 "$tmp/out")"
# "on" is the default and runs
ARENALAB_ASLR=on "$bin" stats traces/queue.atr >/dev/null 2>"$tmp/err" || fail "ARENALAB_ASLR=on: $(cat "$tmp/err")"

if [ "$fails" -gt 0 ]; then
  echo "$fails failure(s)"
  exit 1
fi
echo "layout_test: ok ($allocs: the same $keys in 4 runs with the layout fixed$note)"
