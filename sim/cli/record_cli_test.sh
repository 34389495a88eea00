#!/usr/bin/env bash
# record_cli_test.sh: `arenalab record` end to end.  The recorded program is
# sim/record/record_testprog, built without sanitizers (a preloaded recorder and
# ASan cannot share a process), so under --config=asan only arenalab itself
# and the --python launcher run sanitized.
#
# Each case checks what a user relies on: the program's own events are all
# in the trace, exactly (record_testprog prints how many it caused on its
# blocks of "magic" size 40001..42999), `arenalab check` accepts the trace
# (and says "cut short" exactly when the program crashed or was killed),
# and the exit status is the program's.
set -uo pipefail

bin=$(pwd)/sim/cli/arenalab
prog=$(pwd)/sim/record/record_testprog
pyscript=$(pwd)/sim/record/record_python_test.py
tmp=${TEST_TMPDIR:-$(mktemp -d)}
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# Events on magic-size blocks in a trace (converted to text).
magic() {
  "$bin" convert "$1" "$1.txt" >/dev/null 2>&1 || { echo -1; return; }
  awk -v lo=40001 -v hi=43000 '
    $1 == "a" { if ($3 >= lo && $3 < hi) { live[$2] = 1; n++ } else delete live[$2] }
    $1 == "c" { if ($3 == 1 && $4 >= lo && $4 < hi) { live[$2] = 1; n++ } else delete live[$2] }
    $1 == "r" { if ($2 in live) n++ }
    $1 == "f" { if ($2 in live) { n++; delete live[$2] } }
    END { print n + 0 }' "$1.txt"
}

# run NAME EXPECTED_STATUS ARGS...: records the test program.
run() {
  local name=$1 want=$2
  shift 2
  "$bin" record -o "$tmp/$name.atr" -- "$prog" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
  local rc=$?
  [ "$rc" = "$want" ] || fail "$name: exit $rc, want $want: $(cat "$tmp/$name.err")"
  grep -q "arenalab: record: .*$name.atr: [0-9]* events" "$tmp/$name.err" ||
    fail "$name: no summary line: $(cat "$tmp/$name.err")"
}

# checked NAME clean|cut: `arenalab check` accepts $tmp/NAME.atr (or
# $tmp/NAME when NAME is a whole file name), cut or not.
checked() {
  local f=$tmp/$1.atr out
  case $1 in *.atr.*) f=$tmp/$1 ;; esac
  out=$("$bin" check "$f" 2>&1) || fail "$1: check failed: $out"
  if [ "$2" = cut ]; then
    grep -q "cut short" <<<"$out" || fail "$1: check does not say cut short: $out"
  else
    ! grep -q "cut short" <<<"$out" || fail "$1: check says cut short: $out"
  fi
}

want_events() { # NAME: magic events in the trace == what the program printed
  local want got
  want=$(sed -n 's/^events \([0-9]*\)$/\1/p' "$tmp/$1.out")
  got=$(magic "$tmp/$1.atr")
  [ -n "$want" ] && [ "$got" = "$want" ] || fail "$1: $got magic events in the trace, program says '$want'"
}

# ---- many threads trading blocks: every event, in a valid order ------------
run threads 0 threads 8 20000 42
checked threads clean
want_events threads
nthreads=$(grep -c '^#@ thread ' "$tmp/threads.atr.txt")
[ "$nthreads" -ge 8 ] || fail "threads: only $nthreads thread switches"
[ "$(grep -c '^#@ marker tid ' "$tmp/threads.atr.txt")" -ge 9 ] || fail "threads: tid markers missing"

# Same run, without THREAD records: same events, none of the records.
"$bin" record --no-threads -o "$tmp/nothreads.atr" -- "$prog" threads 4 5000 7 \
  >"$tmp/nothreads.out" 2>"$tmp/nothreads.err" || fail "nothreads: $(cat "$tmp/nothreads.err")"
want_events nothreads
! grep -q '^#@ thread ' "$tmp/nothreads.atr.txt" || fail "--no-threads wrote thread records"

# ---- every interposed function ---------------------------------------------
run apis 0 apis
checked apis clean
want_events apis
grep -q '^c [0-9]* 1 40002$' "$tmp/apis.atr.txt" || fail "apis: calloc is not a c event"

# ---- fork + exec: one trace per process image -------------------------------
run fork 7 fork
checked fork clean
want_events fork
cpid=$(sed -n 's/^child \([0-9]*\) events.*/\1/p' "$tmp/fork.out")
[ -n "$cpid" ] || fail "fork: the child did not report"
for f in "fork.atr.$cpid" "fork.atr.$cpid.1"; do
  [ -f "$tmp/$f" ] || { fail "fork: no $f"; continue; }
  checked "$f" clean
done
[ "$(magic "$tmp/fork.atr.$cpid")" = "$(sed -n 's/^child [0-9]* events //p' "$tmp/fork.out")" ] ||
  fail "fork: child events differ"
[ "$(magic "$tmp/fork.atr.$cpid.1")" = "$(sed -n 's/^exec-child events //p' "$tmp/fork.out")" ] ||
  fail "fork: exec'ed image events differ"
grep -q "^#@ ppid $(sed -n 's/^#@ pid //p' "$tmp/fork.atr.txt")$" "$tmp/fork.atr.$cpid.txt" ||
  fail "fork: the child's trace does not name its parent"
grep -q '^#@ dropped_frees 0*[1-9]' "$tmp/fork.atr.$cpid.txt" ||
  fail "fork: the free of the parent's block is not counted as dropped"
grep -q "2 child traces" "$tmp/fork.err" || fail "fork: summary: $(cat "$tmp/fork.err")"

# ---- crashes and signals ---------------------------------------------------
run abort 134 abort
checked abort cut
want_events abort
run segv 139 segv
checked segv cut
want_events segv
run term 143 term
checked term clean
want_events term

# SIGPIPE (`cmd | head`) finishes the trace too.
"$bin" record -o "$tmp/pipe.atr" -- "$prog" pipe 2>"$tmp/pipe.err" | head -1 >"$tmp/pipe.out"
rc=${PIPESTATUS[0]}
[ "$rc" = 141 ] || fail "pipe: exit $rc, want 141: $(cat "$tmp/pipe.err")"
checked pipe clean
want_events pipe

# SIGKILL: nothing runs in the process, so the idle flusher must have
# written the events within --flush-ms (100) + a quarter.
"$bin" record -o "$tmp/kill.atr" -- "$prog" sleep >"$tmp/kill.out" 2>"$tmp/kill.err" &
rec=$!
for _ in $(seq 100); do grep -q ready "$tmp/kill.out" 2>/dev/null && break; sleep 0.1; done
sleep 0.5
kpid=$(sed -n 's/^ready //p' "$tmp/kill.out")
[ -n "$kpid" ] && kill -KILL "$kpid"
wait "$rec"
rc=$?
[ "$rc" = 137 ] || fail "kill: exit $rc, want 137"
checked kill cut
want_events kill

# ---- OUT.zst: compressed after the run, read by every command ---------------
"$bin" record -o "$tmp/zst.atr.zst" -- "$prog" apis >"$tmp/zst.out" 2>"$tmp/zst.err" ||
  fail "zst: $(cat "$tmp/zst.err")"
[ -f "$tmp/zst.atr.zst" ] && [ ! -e "$tmp/zst.atr" ] || fail "zst: files: $(ls "$tmp"/zst.*)"
head -c 4 "$tmp/zst.atr.zst" | od -An -tx1 | grep -q "28 b5 2f fd" || fail "zst: not zstd"
checked zst.atr.zst clean
[ "$(magic "$tmp/zst.atr.zst")" = "$(sed -n 's/^events //p' "$tmp/zst.out")" ] ||
  fail "zst: events differ"
printf '\x28\xb5\x2f\xfdnot zstd at all' >"$tmp/bad.atr.zst"
"$bin" check "$tmp/bad.atr.zst" >/dev/null 2>"$tmp/bad.err"
[ $? = 2 ] && grep -q "bad.atr.zst: corrupt zstd" "$tmp/bad.err" || fail "corrupt zstd: $(cat "$tmp/bad.err")"

# ---- exit statuses, usage ----------------------------------------------------
run exit5 5 exit 5
checked exit5 clean
run uexit6 6 _exit 6
checked uexit6 clean
want_events uexit6
"$bin" record -o "$tmp/none.atr" -- /nonexistent/program 2>/dev/null
[ $? = 127 ] || fail "a missing program does not exit 127"
"$bin" record -- "$prog" exit 0 2>/dev/null
[ $? = 2 ] || fail "no -o is not a usage error"
"$bin" record -o "$tmp/x.atr" 2>/dev/null
[ $? = 2 ] || fail "no program is not a usage error"
"$bin" record -o /nonexistent/dir/x.atr -- "$prog" exit 0 2>/dev/null
[ $? = 2 ] || fail "an output in a missing directory is not an error"
"$bin" record --help | grep -q "LD_PRELOAD\|preloaded" || fail "--help says nothing of preloading"

# ---- --python: CPython's domains ----------------------------------------------
# CPython leaves memory to the OS at exit by design: no leak check for it.
ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 "$bin" record --python -o "$tmp/py.atr" -- \
  "$pyscript" 1000 3 >"$tmp/py.out" 2>"$tmp/py.err"
rc=$?
[ "$rc" = 3 ] || fail "python: exit $rc, want 3: $(cat "$tmp/py.err")"
grep -q "python made 1000 objects" "$tmp/py.out" || fail "python: stdout: $(cat "$tmp/py.out")"
checked py clean
"$bin" convert "$tmp/py.atr" "$tmp/py.txt" >/dev/null 2>&1 || fail "python: convert"
# bytes(1234) is PyObject_Calloc(1, 33 + 1234).
n=$(grep -cE '^(a [0-9]+|c [0-9]+ 1) 1267 obj$' "$tmp/py.txt")
[ "$n" -ge 1000 ] || fail "python: $n obj allocations of 1267 bytes, want >= 1000"
grep -qE '^[acrf] .* raw$' "$tmp/py.txt" || fail "python: no raw-domain event"
grep -qE '^[acrf] [0-9]+( [0-9]+)*$' "$tmp/py.txt" || fail "python: no mem-domain event"
grep -q '^#@ producer arenalab record --python' "$tmp/py.txt" || fail "python: producer"
pychild=$(ls "$tmp"/py.atr.* 2>/dev/null | grep -v '\.txt$' | head -1)
[ -n "$pychild" ] || fail "python: the forked child wrote no trace"
[ -z "$pychild" ] || "$bin" check "$pychild" >/dev/null 2>&1 || fail "python: child trace unreadable"

# ---- the bundled recordings (scripts/record-traces) --------------------------
for t in rec-lua-binary-trees rec-perl-hash-churn rec-python-json; do
  f=$(pwd)/traces/$t.atr
  out=$("$bin" check "$f" 2>&1) || fail "$t: $out"
  ! grep -q "cut short" <<<"$out" || fail "$t: cut short"
  "$bin" convert "$f" "$tmp/$t.txt" >/dev/null 2>&1 || fail "$t: convert"
  grep -q '^#@ producer arenalab record' "$tmp/$t.txt" || fail "$t: no producer"
  grep -q '^#@ command ' "$tmp/$t.txt" || fail "$t: no command"
done
grep -qE ' obj$' "$tmp/rec-python-json.txt" || fail "rec-python-json: no obj domain"

if [ "$fails" -gt 0 ]; then
  echo "$fails failure(s)" >&2
  exit 1
fi
echo "record_cli_test: all passed"
