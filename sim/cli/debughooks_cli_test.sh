#!/usr/bin/env bash
# debughooks_cli_test.sh: `arenalab replay` under CPython's debug hooks
# (alloc/debughooks.c) — an API violation (sim/trace/testdata/bad/
# api-violation.txt: a block of obj freed through raw) stops the replay
# with exit 1 and what CPython reports (both API ids) at the event, under
# every debug name; --keep-going counts and goes on; without the hooks on
# both domains the reader's or the replay's API violation; usage errors;
# --list; and --verify through the hooks on every bundled trace.
set -uo pipefail

bin=$(pwd)/sim/cli/arenalab
tmp=${TEST_TMPDIR:-$(mktemp -d)}
bad=sim/trace/testdata/bad/api-violation.txt
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# run WANT_STATUS ARGS...: the replay's exit status must be WANT_STATUS;
# stderr is in $tmp/err.
run() {
  local want=$1
  shift
  "$bin" replay "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  [ "$got" = "$want" ] || fail "replay $*: exit $got, want $want: $(cat "$tmp/err")"
}

has() { # FILE TEXT
  grep -qF -- "$2" "$1" || fail "no '$2' in $1: $(cat "$1")"
}

# CPython's verdict at the event, under each PYTHONMALLOC debug name and
# the layer on other allocators.
for a in pymalloc_debug malloc_debug debug null:debug arena_debug \
    "raw=malloc_debug,obj=pymalloc_debug"; do
  run 1 "$bad" --alloc "$a" -n 0
  has "$tmp/err" "api-violation.txt:2: event 1: debug hooks: _PyMem_DebugRawFree: bad ID: Allocated using API 'o', verified using API 'r' (f of id 1 in domain raw, allocated in domain obj) (allocator "
done
has "$tmp/err" "(allocator raw=malloc_debug,mem=malloc,obj=pymalloc_debug)"

# A realloc through mem of a raw block, in the middle of a trace.
cat >"$tmp/realloc.txt" <<'TRACE'
a 1 100 raw
a 2 10 obj
r 1 200 mem
f 2 obj
f 1 raw
TRACE
run 1 "$tmp/realloc.txt" --alloc pymalloc_debug -n 0 --verify
has "$tmp/err" "realloc.txt:3: event 2: debug hooks: _PyMem_DebugRawRealloc: bad ID: Allocated using API 'r', verified using API 'm' (r of id 1 in domain mem, allocated in domain raw)"

# --keep-going: counted, warned about, replayed as meant; outputs written.
run 0 "$bad" --alloc pymalloc_debug -n 1 --keep-going --verify --json "$tmp/k.json"
has "$tmp/err" "warning: $bad:2: event 1: debug hooks: _PyMem_DebugRawFree: bad ID"
has "$tmp/err" "with pymalloc_debug: 1 API violations caught by the debug hooks"
has "$tmp/k.json" '"events": 2,'
run 0 "$tmp/realloc.txt" --alloc malloc_debug,debug -n 0 --keep-going --verify
has "$tmp/err" "realloc.txt with debug: 1 API violations caught"

# Many: all counted, the first ten shown.
{
  for i in $(seq 1 30); do echo "a $i $((i * 8)) obj"; done
  for i in $(seq 1 20); do echo "f $i raw"; done
  for i in $(seq 21 24); do echo "r $i 700 mem"; done
  for i in $(seq 21 30); do echo "f $i obj"; done
} >"$tmp/many.txt"
run 0 "$tmp/many.txt" --alloc pymalloc_debug -n 2 --keep-going --verify
has "$tmp/err" "24 API violations caught"
[ "$(grep -c 'warning:' "$tmp/err")" = 10 ] || fail "want 10 warnings: $(cat "$tmp/err")"
has "$tmp/err" "no more are shown"
run 1 "$tmp/many.txt" --alloc pymalloc_debug -n 0
has "$tmp/err" "many.txt:31: event 30: debug hooks: _PyMem_DebugRawFree: bad ID: Allocated using API 'o', verified using API 'r'"

# Without the hooks: the reader's message, as before.
run 1 "$bad" --alloc pymalloc -n 0
has "$tmp/err" "api-violation.txt:2: API violation: f of id 1 in domain raw, allocated in domain obj"
run 0 "$bad" --alloc cpython:hooks=debug -n 0 --lenient
# The hooks on one domain only: nothing can catch it safely.
run 1 "$bad" --alloc "raw=malloc,obj=pymalloc_debug" -n 0
has "$tmp/err" "API violation: f of id 1 in domain raw, allocated in domain obj (replayed only with the debug hooks on both)"

# Usage errors.
run 2 "$bad" --alloc debug:arena=1M
has "$tmp/err" "debug takes no parameters"
run 2 "$bad" --alloc pymalloc_debug:pools=4K
run 2 "$bad" --alloc nosuch_debug
has "$tmp/err" "unknown allocator 'nosuch'"
run 2 traces/spec-example.txt --alloc "cpython:hooks=maybe" -n 0
has "$tmp/err" "hooks"

# --list names them.
"$bin" replay --list >"$tmp/list" || fail "--list failed"
for name in "pymalloc_debug" "malloc_debug" "debug   " "hooks=none|debug"; do
  has "$tmp/list" "$name"
done
has "$tmp/list" "layers (NAME_LAYER"

# --verify through the hooks on every bundled trace: patterns inside the
# payload, the hooks' bytes around it checked on every realloc and free.
shopt -s nullglob
traces=(traces/*.atr traces/*.rep traces/*.txt)
[ "${#traces[@]}" -ge 10 ] || fail "only ${#traces[@]} bundled traces"
allocs=pymalloc_debug,malloc_debug,cpython:hooks=debug,cpython_debug,arena:debug
if ! "$bin" replay "${traces[@]}" --alloc "$allocs" --verify -n 1 --samples 50 \
    --json "$tmp/all.json" >"$tmp/table" 2>"$tmp/err"; then
  fail "replay --verify through $allocs: $(cat "$tmp/err")"
fi
want=$((5 * ${#traces[@]}))
got=$(grep -c '"allocator":' "$tmp/all.json")
[ "$got" = "$want" ] || fail "$got verified runs, want $want"

if [ "$fails" -gt 0 ]; then
  echo "$fails failure(s)" >&2
  exit 1
fi
echo "debughooks_cli_test: all passed ($got verified runs under the hooks)"
