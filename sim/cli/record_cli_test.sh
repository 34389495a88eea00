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
# and the exit status is the program's.  And what a program must never
# suffer from its recorder: trace bytes in its own files or its standard
# output (it closes every descriptor, or dup2s over the trace's), an output
# that is a device, FIFO or symlink replaced, an unrelated OUT removed for
# OUT.zst, or the program left running when `arenalab record` is killed;
# Ctrl-C of a --python script finishing its trace; and what a --python
# script starts (subprocess) recorded by the LD_PRELOAD recorder.
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

# Frames of the zstd file $1 (skippable ones too), or "bad".
zframes() {
  python3 - "$1" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
i = n = 0
try:
    while i < len(d):
        magic, = struct.unpack_from("<I", d, i)
        if magic & 0xFFFFFFF0 == 0x184D2A50:
            i += 8 + struct.unpack_from("<I", d, i + 4)[0]
        elif magic == 0xFD2FB528:
            fhd = d[i + 4]
            single = fhd >> 5 & 1
            i += 5 + (0 if single else 1) + (0, 1, 2, 4)[fhd & 3]
            i += ((1 if single else 0), 2, 4, 8)[fhd >> 6]
            while True:
                h = d[i] | d[i + 1] << 8 | d[i + 2] << 16
                i += 3 + (1 if (h >> 1 & 3) == 1 else h >> 3)
                if h & 1:
                    break
            i += 4 if fhd >> 2 & 1 else 0
        else:
            raise ValueError
        n += 1
    print(n if i == len(d) else "bad")
except (IndexError, ValueError, struct.error):
    print("bad")
PY
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
  case $1 in *.atr | *.atr.*) f=$tmp/$1 ;; esac
  out=$("$bin" check "$f" 2>&1) || fail "$1: check failed: $out"
  if [ "$2" = cut ]; then
    grep -q "cut short" <<<"$out" || fail "$1: check does not say cut short: $out"
  else
    ! grep -q "cut short" <<<"$out" || fail "$1: check says cut short: $out"
  fi
}

# wait_for FILE REGEX: until FILE has a matching line (10 s at most).
wait_for() {
  for _ in $(seq 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  return 1
}

# alive PID: the process exists and is not a zombie.
alive() {
  local state
  state=$(sed -n 's/^[0-9]* (.*) \(.\) .*/\1/p' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

# dies PID: waits (5 s at most) for PID to end; kills it and fails if not.
dies() {
  for _ in $(seq 100); do alive "$1" || return 0; sleep 0.05; done
  kill -KILL "$1" 2>/dev/null
  return 1
}

# text FILE: only printable text (no trace bytes leaked into it).
text() { ! LC_ALL=C grep -q '[^[:print:][:space:]]' "$1"; }

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
# children are named by pid and command (comm: the test program's name)
child=fork.atr.$cpid-record_testprog
for f in "$child" "$child.1"; do
  [ -f "$tmp/$f" ] || { fail "fork: no $f"; continue; }
  checked "$f" clean
done
[ "$(magic "$tmp/$child")" = "$(sed -n 's/^child [0-9]* events //p' "$tmp/fork.out")" ] ||
  fail "fork: child events differ"
[ "$(magic "$tmp/$child.1")" = "$(sed -n 's/^exec-child events //p' "$tmp/fork.out")" ] ||
  fail "fork: exec'ed image events differ"
grep -q "^#@ ppid $(sed -n 's/^#@ pid //p' "$tmp/fork.atr.txt")$" "$tmp/$child.txt" ||
  fail "fork: the child's trace does not name its parent"
grep -Eq '^#@ dropped_frees [1-9][0-9]*$' "$tmp/$child.txt" ||
  fail "fork: the free of the parent's block is not counted as dropped"
grep -q "2 child traces" "$tmp/fork.err" || fail "fork: summary: $(cat "$tmp/fork.err")"
! grep -q "the program you named" "$tmp/fork.err" ||
  fail "fork: CMD's own process never exec'd, yet: $(cat "$tmp/fork.err")"
# A shim (a shell script that execs the real program, as pyenv's): the
# summary names the file that holds the program it ran.
"$bin" record -o "$tmp/shim.atr" -- sh -c "exec '$prog' apis" >/dev/null 2>"$tmp/shim.err" ||
  fail "shim: $(cat "$tmp/shim.err")"
shimfile=$(sed -n "s/.*the program you named exec'd .*record_testprog (pid [0-9]*): its trace is \([^ ]*\) (.*/\1/p" "$tmp/shim.err")
case "$shimfile" in
  "$tmp"/shim.atr.[0-9]*-record_testprog)
    "$bin" convert "$shimfile" "$tmp/shim.txt" 2>/dev/null && grep -q '^c [0-9]* 1 40002$' "$tmp/shim.txt" ||
      fail "shim: $shimfile does not hold the program's calloc" ;;
  *) fail "shim: the summary does not name the program's trace: $(cat "$tmp/shim.err")" ;;
esac
# --follow-fork no: the program's own process only
"$bin" record --follow-fork no -o "$tmp/nofollow.atr" -- "$prog" fork >/dev/null 2>"$tmp/nofollow.err"
[ $? = 7 ] || fail "follow-fork no: $(cat "$tmp/nofollow.err")"
grep -q "no child traces" "$tmp/nofollow.err" || fail "follow-fork no: $(cat "$tmp/nofollow.err")"
! ls "$tmp" | grep -q '^nofollow\.atr\.' || fail "follow-fork no: child traces: $(ls "$tmp" | grep nofollow)"

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

# The recorder dies: the program must not outlive it (PR_SET_PDEATHSIG).
"$bin" record -o "$tmp/orphan.atr" -- "$prog" sleep >"$tmp/orphan.out" 2>"$tmp/orphan.err" &
rec=$!
if wait_for "$tmp/orphan.out" '^ready '; then
  opid=$(sed -n 's/^ready //p' "$tmp/orphan.out")
  kill -KILL "$rec"
  wait "$rec" 2>/dev/null
  dies "$opid" || fail "orphan: the program outlived its killed recorder"
else
  fail "orphan: the program did not start: $(cat "$tmp/orphan.err")"
  kill -KILL "$rec"
fi

# ---- the trace descriptor belongs to the program's process too --------------
# fd_case NAME STOPS LINES MODE ARGS...: records `record_testprog MODE
# ARGS`, whose file of its own is $tmp/NAME.user: exit 0 and "user file
# intact"; LINES 1: that file holds exactly its 20 lines; the message about
# a lost trace descriptor said once when STOPS is 1, never when 0.
fd_case() {
  local name=$1 stops=$2 lines=$3 rc said
  shift 3
  "$bin" record -o "$tmp/$name.atr" -- "$prog" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
  rc=$?
  [ "$rc" = 0 ] && grep -q "user file intact" "$tmp/$name.out" ||
    fail "$name: exit $rc: $(cat "$tmp/$name.out" "$tmp/$name.err")"
  [ "$lines" = 0 ] || seq 0 19 | sed 's/^/user line /' | cmp -s - "$tmp/$name.user" ||
    fail "$name: the program's file was written into ($(wc -c <"$tmp/$name.user") bytes)"
  said=$(grep -c 'closed or replaced the trace descriptor' "$tmp/$name.err")
  [ "$said" = "$stops" ] ||
    fail "$name: the lost-descriptor message said $said times, want $stops: $(cat "$tmp/$name.err")"
}
# It closes every descriptor >= 3 by the raw system call (no C library
# function the recorder could take) and opens a file of its own: that file
# must hold exactly what the program wrote, the recording stops (said once)
# and the trace reads as cut short.
fd_case closefds 1 1 closefds "$tmp/closefds.user"
checked closefds cut

# It closes every descriptor, standard ones too, and puts a file of its own
# on 0, 1 and 2 (a daemon's log): the recorder's message about the lost
# descriptor must not go into that file; the summary still says the trace
# is cut short.
# closeall_ok NAME RC: the run that wrote $tmp/NAME.atr exited RC = 0, left
# $tmp/NAME.user as the program wrote it, and its summary says cut short.
closeall_ok() {
  [ "$2" = 0 ] || fail "$1: exit $2: $(cat "$tmp/$1.err")"
  seq 0 19 | sed 's/^/daemon line /' | cmp -s - "$tmp/$1.user" ||
    fail "$1: the program's file was written into: $(grep -v '^daemon line' "$tmp/$1.user")"
  grep -q "$1.atr: [0-9]* events (cut short)" "$tmp/$1.err" ||
    fail "$1: the summary does not say cut short: $(cat "$tmp/$1.err")"
  checked "$1" cut
}
"$bin" record -o "$tmp/closeall.atr" -- "$prog" closeall "$tmp/closeall.user" \
  >"$tmp/closeall.out" 2>"$tmp/closeall.err"
closeall_ok closeall $?

# ---- a file the user may not write is not replaced ---------------------------
# OUT.zst is written beside OUT and renamed over it: a read-only OUT is
# refused before the program runs, as OUT without .zst is by open().  As
# root, run without CAP_DAC_OVERRIDE, for whom every file is writable.
drop=()
[ "$(id -u)" = 0 ] && drop=(setpriv --bounding-set=-dac_override,-dac_read_search)
for out in ro.atr ro.atr.zst; do
  echo "read-only" >"$tmp/$out"
  chmod 444 "$tmp/$out"
  "${drop[@]}" "$bin" record -o "$tmp/$out" -- "$prog" apis >/dev/null 2>"$tmp/ro.err"
  rc=$?
  [ "$rc" = 2 ] || fail "$out read-only: exit $rc, want 2: $(cat "$tmp/ro.err")"
  grep -q "Permission denied" "$tmp/ro.err" || fail "$out read-only: said $(cat "$tmp/ro.err")"
  [ "$(cat "$tmp/$out")" = read-only ] || fail "$out read-only: replaced"
  [ -z "$(ls -A "$tmp" | grep "^\.$out\.")" ] || fail "$out read-only: a temporary file is left"
  chmod 644 "$tmp/$out"
done
# A writable OUT replaced keeps its mode, compressed or not, as every
# other command's output does.
for out in mode.atr mode.atr.zst; do
  echo "old" >"$tmp/$out"
  chmod 640 "$tmp/$out"
  "$bin" record -o "$tmp/$out" -- "$prog" apis >/dev/null 2>"$tmp/mode.err" ||
    fail "$out: $(cat "$tmp/mode.err")"
  [ "$(stat -c %a "$tmp/$out")" = 640 ] || fail "$out: mode $(stat -c %a "$tmp/$out"), want 640"
done

# It puts its standard output over the trace's descriptor (dup2): not one
# byte of trace may go to standard output, and since the C library's dup2
# comes to the recorder first, the trace moves away and recording goes on:
# the trace is whole, nothing said.
"$bin" record -o "$tmp/clobber.atr" -- "$prog" clobber "$tmp/clobber.atr" \
  >"$tmp/clobber.out" 2>"$tmp/clobber.err"
rc=$?
[ "$rc" = 0 ] || fail "clobber: exit $rc: $(cat "$tmp/clobber.err")"
grep -q "clobbering descriptor" "$tmp/clobber.err" || fail "clobber: no descriptor found"
text "$tmp/clobber.out" && [ "$(cat "$tmp/clobber.out")" = clobbered ] ||
  fail "clobber: trace bytes in standard output ($(wc -c <"$tmp/clobber.out") bytes)"
! grep -q 'closed or replaced the trace descriptor' "$tmp/clobber.err" ||
  fail "clobber: recording stopped: $(cat "$tmp/clobber.err")"
checked clobber clean

# Every C library way of closing or replacing descriptors it did not open
# (close_range, close of every number, dup2 and dup3 over the trace's,
# closefrom), with a file of its own written in between: the file holds
# what the program wrote, the trace every event, whole.
fd_case libcfds 0 1 libcfds "$tmp/libcfds.user" "$tmp/libcfds.atr"
want_events libcfds
checked libcfds clean

# One thread writing the trace (every buffer flushed) while another puts a
# file of its own over the trace's current number (dup2, dup3), 2000 times:
# the file never takes a byte of trace, and the trace is whole.
fd_case fdrace 0 0 fdrace "$tmp/fdrace.user" "$tmp/fdrace.atr" 2000
want_events fdrace
checked fdrace clean

# A signal handler that calls close_range while the recorder is taking or
# giving back its lock in the thread it interrupted must not wait for that
# lock, nor wait for a move of the trace it interrupted: thousands of
# signals during 200000 events or more (the trace moved every 1000), no
# hang, recording whole.
timeout 120 "$bin" record -o "$tmp/sigclose.atr" -- "$prog" sigclose 100000 "$tmp/sigclose.atr" \
  >"$tmp/sigclose.out" 2>"$tmp/sigclose.err"
rc=$?
[ "$rc" = 0 ] || fail "sigclose: exit $rc (124: it hung): $(cat "$tmp/sigclose.err")"
sigs=$(sed -n 's/^signals //p' "$tmp/sigclose.out")
[ "${sigs:-0}" -ge 2000 ] || fail "sigclose: only '${sigs}' signals handled in 20 s, want >= 2000"
! grep -q 'closed or replaced the trace descriptor' "$tmp/sigclose.err" ||
  fail "sigclose: recording stopped: $(cat "$tmp/sigclose.err")"
want_events sigclose
checked sigclose clean

# A thread cancelled inside close (a cancellation point the recorder
# counts): closing the trace's number afterwards moves it at once, and
# recording goes on.
timeout 120 "$bin" record -o "$tmp/cancel.atr" -- "$prog" cancel "$tmp/cancel.atr" \
  >"$tmp/cancel.out" 2>"$tmp/cancel.err"
rc=$?
[ "$rc" = 0 ] || fail "cancel: exit $rc: $(cat "$tmp/cancel.err")"
took=$(sed -n 's/^close took \([0-9.]*\) s$/\1/p' "$tmp/cancel.out")
awk -v t="${took:-99}" 'BEGIN { exit !(t < 1) }' ||
  fail "cancel: closing the trace's number took ${took:-?} s (a count never given back)"
! grep -q 'closed or replaced the trace descriptor' "$tmp/cancel.err" ||
  fail "cancel: recording stopped: $(cat "$tmp/cancel.err")"
want_events cancel
checked cancel clean

# A thread cancelled while it allocates (the recorder writing its buffer
# from inside malloc): the other threads go on allocating, the trace is
# whole.
timeout 120 "$bin" record -o "$tmp/cancel-alloc.atr" -- "$prog" cancel-alloc \
  >"$tmp/cancel-alloc.out" 2>"$tmp/cancel-alloc.err"
rc=$?
[ "$rc" = 0 ] && grep -q "allocating after the cancel" "$tmp/cancel-alloc.out" ||
  fail "cancel-alloc: exit $rc (124: it hung): $(cat "$tmp/cancel-alloc.err")"
checked cancel-alloc clean

# ---- outputs that are not regular files, symlinks ----------------------------
# A device node is written into, never replaced (a private /dev/null).
if mknod "$tmp/null" c 1 3 2>/dev/null; then
  for out in null null.zst; do
    [ -e "$tmp/$out" ] || mknod "$tmp/$out" c 1 3
    "$bin" record -o "$tmp/$out" -- "$prog" fork >"$tmp/dev.out" 2>"$tmp/dev.err"
    rc=$?
    [ "$rc" = 7 ] || fail "$out: exit $rc: $(cat "$tmp/dev.err")"
    [ -c "$tmp/$out" ] && [ "$(stat -c %t:%T "$tmp/$out")" = 1:3 ] ||
      fail "$out: the device node was replaced: $(ls -l "$tmp/$out")"
    ! ls "$tmp/$out".[0-9]* >/dev/null 2>&1 || fail "$out: child traces beside a device"
  done
  ! ls -A "$tmp" | grep -q '^\.null' || fail "null.zst: temporary files left: $(ls -A "$tmp")"
else
  echo "record_cli_test: mknod not permitted: device output not tested" >&2
fi

# A device that takes nothing (/dev/full): the recorder says why and the
# exit status says the trace was not written, for a program that exits 0,
# with the LD_PRELOAD recorder and with --python; the private directory the
# recorders tell it in is gone.
if [ -w /dev/full ]; then
  mkdir "$tmp/fulltmp"
  TMPDIR=$tmp/fulltmp "$bin" record -o /dev/full -- "$prog" apis >/dev/null 2>"$tmp/full.err"
  rc=$?
  [ "$rc" = 2 ] || fail "/dev/full: exit $rc, want 2: $(cat "$tmp/full.err")"
  grep -q "/dev/full: cannot write the trace: No space left on device" "$tmp/full.err" &&
    grep -q "/dev/full: 1 trace could not be written whole" "$tmp/full.err" ||
    fail "/dev/full: said $(cat "$tmp/full.err")"
  TMPDIR=$tmp/fulltmp ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 \
    "$bin" record --python -o /dev/full -- "$pyscript" closerange "$tmp/full.user" >/dev/null 2>"$tmp/full.err"
  rc=$?
  [ "$rc" = 2 ] && grep -q "/dev/full: 1 trace could not be written whole" "$tmp/full.err" ||
    fail "--python /dev/full: exit $rc: $(cat "$tmp/full.err")"
  [ -z "$(ls -A "$tmp/fulltmp")" ] || fail "/dev/full: left in \$TMPDIR: $(ls -A "$tmp/fulltmp")"
fi

# A FIFO (with a reader): the reader gets the whole trace, the FIFO stays.
for out in fifo.atr zfifo.atr.zst; do
  mkfifo "$tmp/$out"
  copy=$tmp/copy-$out
  timeout 20 cat "$tmp/$out" >"$copy" &
  reader=$!
  timeout 20 "$bin" record -o "$tmp/$out" -- "$prog" apis >"$tmp/$out.out" 2>"$tmp/$out.err"
  rc=$?
  wait "$reader"
  [ "$rc" = 0 ] || fail "$out: exit $rc: $(cat "$tmp/$out.err")"
  [ -p "$tmp/$out" ] || fail "$out: the FIFO was replaced"
  checked "copy-$out" clean
  [ "$(magic "$copy")" = "$(sed -n 's/^events //p' "$tmp/$out.out")" ] || fail "$out: events differ"
done

# A shell that tries PATH entries one by one (execve failing on each but
# the last): a stream is finished only by the exec that works.
mkfifo "$tmp/fifosh.atr"
timeout 20 cat "$tmp/fifosh.atr" >"$tmp/copy-fifosh.atr" &
reader=$!
PATH=/nonexistent:$(dirname "$prog"):$PATH timeout 20 "$bin" record -o "$tmp/fifosh.atr" -- \
  sh -c 'exec record_testprog apis' >"$tmp/fifosh.out" 2>"$tmp/fifosh.err"
rc=$?
wait "$reader"
[ "$rc" = 0 ] && ! grep -q "failed exec" "$tmp/fifosh.err" || fail "fifosh: exit $rc: $(cat "$tmp/fifosh.err")"
checked copy-fifosh.atr clean

# A symlink is followed, never replaced.
for out in link.atr link.atr.zst; do
  ln -s "target-$out" "$tmp/$out"
  "$bin" record -o "$tmp/$out" -- "$prog" apis >"$tmp/$out.out" 2>"$tmp/$out.err" ||
    fail "$out: $(cat "$tmp/$out.err")"
  [ -L "$tmp/$out" ] || fail "$out: the symlink was replaced"
  checked "target-$out" clean
done

# ---- OUT.zst: compressed as the program runs, read by every command ---------
"$bin" record -o "$tmp/zst.atr.zst" -- "$prog" apis >"$tmp/zst.out" 2>"$tmp/zst.err" ||
  fail "zst: $(cat "$tmp/zst.err")"
[ -f "$tmp/zst.atr.zst" ] && [ ! -e "$tmp/zst.atr" ] || fail "zst: files: $(ls "$tmp"/zst.*)"
head -c 4 "$tmp/zst.atr.zst" | od -An -tx1 | grep -q "28 b5 2f fd" || fail "zst: not zstd"
checked zst.atr.zst clean
[ "$(magic "$tmp/zst.atr.zst")" = "$(sed -n 's/^events //p' "$tmp/zst.out")" ] ||
  fail "zst: events differ"
# Converted while the program runs (sim/record/record_conv.h), the events
# are exactly those of OUT without .zst converted afterwards: one thread
# (one order), long enough for the converter to follow it over many
# flushes; only the metadata of the run (time, pids) and the kernel's
# thread id may differ.  The same with $TMPDIR unusable (the converter's
# temporary file goes beside OUT).  Two zstd frames: the live converter's
# output (the header's, then the rest), not the checked fallback's (one).
for out in same.atr same.atr.zst notmp.atr.zst; do
  tmpdir=${TMPDIR:-/tmp}
  [ "$out" = notmp.atr.zst ] && tmpdir=/nonexistent
  TMPDIR=$tmpdir "$bin" record --flush-ms 1 -o "$tmp/$out" -- "$prog" threads 1 300000 7 \
    >"$tmp/$out.out" 2>"$tmp/$out.err" || fail "$out: $(cat "$tmp/$out.err")"
  "$bin" convert "$tmp/$out" "$tmp/$out.txt" >/dev/null 2>&1 || fail "$out: cannot convert"
  grep -Ev '^#@ (created|pid|ppid|session|marker tid) ' "$tmp/$out.txt" >"$tmp/$out.events"
done
[ "$(wc -l <"$tmp/same.atr.events")" -gt 300000 ] || fail "same: too few events"
for out in same.atr.zst notmp.atr.zst; do
  cmp -s "$tmp/same.atr.events" "$tmp/$out.events" ||
    fail "$out: record -o X.atr.zst and record -o X.atr differ: $(diff "$tmp/same.atr.events" \
      "$tmp/$out.events" | head -5)"
  checked "$out" clean
  [ "$(zframes "$tmp/$out")" = 2 ] || fail "$out: $(zframes "$tmp/$out") zstd frames, want 2"
  [ -z "$(ls -A "$tmp" | grep -E '^\.(same|notmp)|arenalab-record')" ] ||
    fail "$out: temporary files left: $(ls -A "$tmp")"
done
# A program that crashes: its trace is cut short, and compressed as it is.
"$bin" record -o "$tmp/zabort.atr.zst" -- "$prog" abort >"$tmp/zabort.out" 2>"$tmp/zabort.err"
rc=$?
[ "$rc" = 134 ] || fail "zabort: exit $rc: $(cat "$tmp/zabort.err")"
checked zabort.atr.zst cut
[ "$(magic "$tmp/zabort.atr.zst")" = "$(sed -n 's/^events //p' "$tmp/zabort.out")" ] ||
  fail "zabort: events differ"
# The uncompressed trace goes to a temporary file: an unrelated OUT
# without .zst is left alone, and nothing temporary is left behind.
echo precious >"$tmp/keep.atr"
"$bin" record -o "$tmp/keep.atr.zst" -- "$prog" fork >"$tmp/keep.out" 2>"$tmp/keep.err"
rc=$?
[ "$rc" = 7 ] || fail "keep: exit $rc: $(cat "$tmp/keep.err")"
[ "$(cat "$tmp/keep.atr")" = precious ] || fail "keep: record -o keep.atr.zst replaced keep.atr"
checked keep.atr.zst clean
cpid=$(sed -n 's/^child \([0-9]*\) events.*/\1/p' "$tmp/keep.out")
for f in "keep.atr.$cpid-record_testprog.zst" "keep.atr.$cpid-record_testprog.1.zst"; do
  [ -f "$tmp/$f" ] || { fail "keep: no $f: $(ls -A "$tmp" | grep keep)"; continue; }
  checked "$f" clean
done
grep -q "2 child traces.*keep.atr.$cpid.*zst" "$tmp/keep.err" || fail "keep: summary: $(cat "$tmp/keep.err")"
! ls -A "$tmp" | grep -q '^\.keep' || fail "keep: temporary files left: $(ls -A "$tmp" | grep keep)"
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
grep -q "LD_PRELOAD\|preloaded" <<<"$("$bin" record --help)" || fail "--help says nothing of preloading"

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

# os.closerange(3, 65536), then a file of the script's own: as above.
ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 "$bin" record --python -o "$tmp/pyfds.atr" -- \
  "$pyscript" closerange "$tmp/pyfds.user" >"$tmp/pyfds.out" 2>"$tmp/pyfds.err"
rc=$?
[ "$rc" = 0 ] && grep -q "user file intact" "$tmp/pyfds.out" ||
  fail "python closerange: exit $rc: $(cat "$tmp/pyfds.out" "$tmp/pyfds.err")"
seq 0 19 | sed 's/^/user line /' | cmp -s - "$tmp/pyfds.user" ||
  fail "python closerange: the script's file was written into"
[ "$(grep -c 'closed or replaced the trace descriptor' "$tmp/pyfds.err")" = 1 ] ||
  fail "python closerange: no (single) message: $(cat "$tmp/pyfds.err")"
checked pyfds cut

# Every descriptor closed, standard ones too, and a file of the script's own
# on 0, 1 and 2: the recorder's message must not go into that file; the
# summary still says the trace is cut short.
ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 "$bin" record --python -o "$tmp/pyall.atr" -- \
  "$pyscript" closeall "$tmp/pyall.user" >"$tmp/pyall.out" 2>"$tmp/pyall.err"
closeall_ok pyall $?

# A program the script starts (subprocess) is not in the script's trace:
# the LD_PRELOAD recorder records it into OUT.<pid>, every event of its own.
ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 "$bin" record --python -o "$tmp/pysub.atr" -- \
  -c 'import subprocess, sys; subprocess.run([sys.argv[1], "apis"], check=True)' "$prog" \
  >"$tmp/pysub.out" 2>"$tmp/pysub.err"
rc=$?
[ "$rc" = 0 ] || fail "python subprocess: exit $rc: $(cat "$tmp/pysub.err")"
checked pysub clean
subs=$(ls "$tmp"/pysub.atr.* 2>/dev/null | grep -v '\.txt$')
if [ "$(echo "$subs" | grep -c .)" != 1 ]; then
  fail "python subprocess: child traces: '$subs', want one"
else
  checked "$(basename "$subs")" clean
  want=$(sed -n 's/^events \([0-9]*\)$/\1/p' "$tmp/pysub.out")
  got=$(magic "$subs")
  [ -n "$want" ] && [ "$got" = "$want" ] ||
    fail "python subprocess: $got magic events in the child's trace, the child says '$want'"
  grep -q "^#@ exe .*record_testprog" "$subs.txt" || fail "python subprocess: not the child's trace"
  grep -q "1 child traces.*$(basename "$subs")" "$tmp/pysub.err" ||
    fail "python subprocess: summary: $(cat "$tmp/pysub.err")"
fi

# Ctrl-C: the KeyboardInterrupt ends the script, the trace is finished
# (--flush-ms 0: nothing but the end writes the last buffer), and the
# process still dies of SIGINT.  (A background job of a script starts
# with SIGINT ignored: env gives it back its default.)
ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 env --default-signal=INT \
  "$bin" record --python --flush-ms 0 \
  -o "$tmp/pyint.atr" -- "$pyscript" sleep 300 >"$tmp/pyint.out" 2>"$tmp/pyint.err" &
rec=$!
if wait_for "$tmp/pyint.out" '^ready '; then
  kill -INT "$(sed -n 's/^ready //p' "$tmp/pyint.out")"
else
  fail "python sigint: no ready line: $(cat "$tmp/pyint.err")"
  kill -KILL "$rec"
fi
wait "$rec"
rc=$?
[ "$rc" = 130 ] || fail "python sigint: exit $rc, want 130: $(cat "$tmp/pyint.err")"
checked pyint clean
"$bin" convert "$tmp/pyint.atr" "$tmp/pyint.txt" >/dev/null 2>&1 || fail "python sigint: convert"
n=$(grep -cE '^(a [0-9]+|c [0-9]+ 1) 1267 obj$' "$tmp/pyint.txt")
[ "$n" -ge 300 ] || fail "python sigint: $n obj allocations of 1267 bytes, want >= 300"

# The recorder dies: the interpreter must not outlive it.
ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 "$bin" record --python -o "$tmp/pyorphan.atr" -- \
  "$pyscript" sleep 10 >"$tmp/pyorphan.out" 2>"$tmp/pyorphan.err" &
rec=$!
if wait_for "$tmp/pyorphan.out" '^ready '; then
  opid=$(sed -n 's/^ready //p' "$tmp/pyorphan.out")
  kill -KILL "$rec"
  wait "$rec" 2>/dev/null
  dies "$opid" || fail "python orphan: the interpreter outlived its killed recorder"
else
  fail "python orphan: no ready line: $(cat "$tmp/pyorphan.err")"
  kill -KILL "$rec"
fi

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

# ---- a pipeline: a program killed by SIGPIPE ended normally ---------------------
# sort resets SIGPIPE to its default in its own handler and re-raises it;
# its trace must still be finished, not cut short
mkdir -p "$tmp/pipe"
"$bin" record -o "$tmp/pipe/p.atr" -- sh -c 'seq 200000 | sort -n | head -1' >/dev/null 2>"$tmp/pipe.err" ||
  fail "pipeline: $(cat "$tmp/pipe.err")"
sortf=$(ls "$tmp"/pipe/p.atr.*-sort 2>/dev/null | head -1)
if [ -z "$sortf" ]; then
  fail "pipeline: no trace named for sort: $(ls "$tmp/pipe")"
else
  out=$("$bin" check "$sortf" 2>&1)
  ! grep -q "cut short" <<<"$out" || fail "pipeline: sort's trace cut short: $out"
fi
! grep -q "cut short" "$tmp/pipe.err" || fail "pipeline: summary says cut short: $(cat "$tmp/pipe.err")"

# ---- --python with the user's own Python -----------------------------------------
# a virtual environment's site-packages: through VIRTUAL_ENV, the
# interpreter named after --, or --python=PYTHON; another minor version is
# refused before anything runs
py_venv=$tmp/venv
if /usr/bin/python3.11 -m venv --without-pip "$py_venv" 2>"$tmp/venv.err"; then
  site=$("$py_venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  mkdir -p "$site" && echo "ANSWER = 42" >"$site/only_in_venv.py"
  printf 'import only_in_venv\nprint("venv", only_in_venv.ANSWER)\n' >"$tmp/venvjob.py"
  pyrec() { # NAME ARGS...: record --python, the script must see the venv's module
    local name=$1
    shift
    ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
    local rc=$?
    [ "$rc" = 0 ] && grep -q "venv 42" "$tmp/$name.out" ||
      fail "python $name: exit $rc: $(cat "$tmp/$name.out" "$tmp/$name.err" | tail -3)"
    "$bin" check "$tmp/$name.atr" >/dev/null 2>&1 || fail "python $name: trace unreadable"
  }
  pyrec venv-env env VIRTUAL_ENV="$py_venv" "$bin" record --python -o "$tmp/venv-env.atr" -- "$tmp/venvjob.py"
  pyrec venv-argv env PATH="$py_venv/bin:$PATH" "$bin" record --python -o "$tmp/venv-argv.atr" -- python3 "$tmp/venvjob.py"
  pyrec venv-opt "$bin" record --python="$py_venv/bin/python" -o "$tmp/venv-opt.atr" -- "$tmp/venvjob.py"
else
  fail "cannot make a virtual environment: $(cat "$tmp/venv.err")"
fi
mkdir -p "$tmp/fakepy"
printf '#!/bin/sh\necho "3.12 /opt/python3.12"\n' >"$tmp/fakepy/python3.12"
chmod +x "$tmp/fakepy/python3.12"
"$bin" record --python="$tmp/fakepy/python3.12" -o "$tmp/wrongpy.atr" -- "$pyscript" >/dev/null 2>"$tmp/err"
rc=$?
[ "$rc" = 2 ] && grep -q "is Python 3.12; the recorder runs scripts in libpython3.11" "$tmp/err" ||
  fail "python 3.12: exit $rc: $(cat "$tmp/err")"
[ ! -e "$tmp/wrongpy.atr" ] || fail "python 3.12: a trace was left"

if [ "$fails" -gt 0 ]; then
  echo "$fails failure(s)" >&2
  exit 1
fi
echo "record_cli_test: all passed"
