#!/usr/bin/env bash
# replay_all_test.sh: every allocator of the registry replays every bundled
# trace (generated workloads, malloc-lab files, the spec example, recorded
# programs) with --verify: patterns checked on every realloc and free,
# calloc memory zero, no NULL, no crash.  In a sanitized build the
# preloaded allocators cannot run (replay_real_test checks their refusal).
# `reuse` hands every request one block, so it cannot --verify (it refuses):
# it replays every trace without, its arena events per object.
set -uo pipefail

bin=$(pwd)/sim/cli/arenalab
tmp=${TEST_TMPDIR:-$(mktemp -d)}

allocs=$("$bin" replay --list | awk '/^allocators:/ {on = 1; next} /^$/ {on = 0} on && /^  [a-z]/ {print $1}')
# (captured, not piped into grep -q: under pipefail an early grep exit
# would fail the pipeline)
sanitized=0
case "$(ldd "$bin" 2>/dev/null)" in *libasan*) sanitized=1 ;; esac
if [ "$sanitized" = 1 ]; then
  allocs=$(printf '%s\n' $allocs | grep -vxE 'jemalloc|mimalloc|tcmalloc')
fi
printf '%s\n' $allocs | grep -qx reuse || { echo "FAIL: reuse not listed"; exit 1; }
allocs=$(printf '%s\n' $allocs | grep -vx reuse)
[ -n "$allocs" ] || { echo "FAIL: no allocators listed"; exit 1; }
list=$(printf '%s,' $allocs)
list=${list%,}

shopt -s nullglob
traces=(traces/*.atr traces/*.rep traces/*.txt)
[ "${#traces[@]}" -ge 10 ] || { echo "FAIL: only ${#traces[@]} bundled traces found"; exit 1; }

if ! "$bin" replay "${traces[@]}" --alloc "$list" --verify -n 1 --samples 50 \
    --json "$tmp/all.json" >"$tmp/table" 2>"$tmp/err"; then
  echo "FAIL: replay --verify of every trace through $list:"
  cat "$tmp/err"
  exit 1
fi
want=$(($(printf '%s\n' $allocs | wc -l) * ${#traces[@]}))
got=$(grep -c '"allocator":' "$tmp/all.json")
[ "$got" = "$want" ] || { echo "FAIL: $got runs, expected $want"; exit 1; }
echo "replay_all_test: $got verified runs ($list over ${#traces[@]} traces)"

if ! "$bin" replay "${traces[@]}" --alloc reuse --arena-mode per-object -n 1 --samples 50 \
    --json "$tmp/reuse.json" >"$tmp/table" 2>"$tmp/err"; then
  echo "FAIL: replay of every trace through reuse:"
  cat "$tmp/err"
  exit 1
fi
got=$(grep -c '"allocator":' "$tmp/reuse.json")
[ "$got" = "${#traces[@]}" ] || { echo "FAIL: reuse: $got runs, expected ${#traces[@]}"; exit 1; }
echo "replay_all_test: $got runs through reuse"
