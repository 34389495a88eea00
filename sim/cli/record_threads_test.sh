#!/usr/bin/env bash
# record_threads_test.sh: recordings of real multithreaded programs are one
# valid order of all their threads (sim/record/README.md, "Threads"):
# record_testprog's threads trading blocks, a Python producer/consumer
# (`record --python`) and `xz -T2` (when installed) each give a trace with
# two threads or more, frees (and reallocs) on another thread than the
# block's allocation where the program makes them, that `arenalab check`
# accepts and that replays with --verify through raw, jemalloc, mimalloc
# and tcmalloc (raw only in a sanitized build).
set -uo pipefail

bin=$(pwd)/sim/cli/arenalab
prog=$(pwd)/sim/record/record_testprog
pyscript=$(pwd)/sim/record/record_python_test.py
tmp=${TEST_TMPDIR:-$(mktemp -d)}
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# "THREADS REMOTE_FREES REMOTE_REALLOCS" of a text trace: distinct threads
# with events, frees and reallocs on another thread than the allocation.
threads_of() {
  awk '/^#@ thread / { t = $3; next }
    /^#/ { next }
    { seen[t + 0] = 1 }
    $1 == "a" || $1 == "c" { owner[$2] = t + 0; next }
    $1 == "r" { if ($2 in owner && owner[$2] != t + 0) rr++; next }
    $1 == "f" { if ($2 in owner && owner[$2] != t + 0) rf++; delete owner[$2]; next }
    END { n = 0; for (k in seen) n++; print n, rf + 0, rr + 0 }' "$1"
}

# The real allocators; none in a sanitized build (the
# sanitizer owns malloc there: replay_real_test.sh checks it says so).
allocs=raw
case "$(ldd "$bin" 2>/dev/null)" in
  *libasan* | *libtsan*) ;;
  *) allocs=raw,jemalloc,mimalloc,tcmalloc ;;
esac

# verified NAME MIN_THREADS MIN_REMOTE_FREES MIN_REMOTE_REALLOCS: checks
# $tmp/NAME.atr as the header says.
verified() {
  local name=$1 f=$tmp/$1.atr out nt rf rr
  out=$("$bin" check "$f" 2>&1) || fail "$name: check: $out"
  grep -q "cut short" <<<"$out" && fail "$name: cut short: $out"
  "$bin" convert "$f" "$f.txt" >/dev/null 2>&1 || fail "$name: convert"
  read -r nt rf rr <<<"$(threads_of "$f.txt")"
  [ "$nt" -ge "$2" ] || fail "$name: $nt threads, want >= $2"
  [ "$rf" -ge "$3" ] || fail "$name: $rf frees on another thread, want >= $3"
  [ "$rr" -ge "$4" ] || fail "$name: $rr reallocs on another thread, want >= $4"
  "$bin" replay "$f" --alloc "$allocs" --verify -n 0 >"$tmp/$name.replay" 2>&1 ||
    fail "$name: replay --verify --alloc $allocs: $(tail -3 "$tmp/$name.replay")"
  for a in ${allocs//,/ }; do
    awk -v a="$a" '$2 == a { n++ } END { exit n != 1 }' "$tmp/$name.replay" ||
      fail "$name: no $a row: $(cat "$tmp/$name.replay")"
  done
}

# ---- C threads trading blocks through a shared table ---------------------
"$bin" record -o "$tmp/trade.atr" -- "$prog" threads 4 4000 11 >"$tmp/trade.out" 2>"$tmp/trade.err" ||
  fail "trade: $(cat "$tmp/trade.err")"
verified trade 4 100 20

# ---- Python: a producer thread, a consumer thread, a queue.Queue ----------
ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 "$bin" record --python -o "$tmp/pyq.atr" -- \
  "$pyscript" prodcons 3000 >"$tmp/pyq.out" 2>"$tmp/pyq.err" || fail "pyq: $(cat "$tmp/pyq.err")"
grep -q "^consumed 3000$" "$tmp/pyq.out" || fail "pyq: $(cat "$tmp/pyq.out")"
# Each of the 3000 objects (1267-byte obj calloc) dies on the consumer.
verified pyq 3 3000 0

# ---- xz -T2: worker threads (their blocks live to the end) ----------------
if command -v xz >/dev/null; then
  awk 'BEGIN { srand(5); for (i = 0; i < 60000; i++) printf "%d %x\n", i, rand() * 2^31 }' \
    >"$tmp/xz.in"
  "$bin" record -o "$tmp/xz.atr" -- xz -T2 --block-size=256KiB -c "$tmp/xz.in" \
    >"$tmp/xz.out.xz" 2>"$tmp/xz.err" || fail "xz: $(cat "$tmp/xz.err")"
  xz -dc "$tmp/xz.out.xz" | cmp -s - "$tmp/xz.in" || fail "xz: output differs"
  verified xz 3 0 0
else
  echo "xz not installed: skipped"
fi

if [ "$fails" -gt 0 ]; then
  echo "$fails failures" >&2
  exit 1
fi
echo "all passed"
