#!/usr/bin/env bash
# outputs_test.sh: where `gen -o`, `convert`, `stats --json` and `replay
# --json/--series` put their bytes (sim/base/outfile.h has the rules): a
# character device stays that device, a FIFO's reader gets the bytes, a
# symbolic link stays a link and its target is replaced, /proc/self/fd/1 is
# written through, a directory is exit 2; no temporary file survives
# SIGINT/SIGTERM/SIGHUP during a long `gen`; a write error on standard
# output (/dev/full) is a non-zero exit with a message, for every command
# that writes there.
#
# Device nodes and FIFOs are private, made in the test's directory (the
# device checks are skipped, and say so, without CAP_MKNOD); the real /dev
# is used only as /dev/full, written to.
set -uo pipefail

bin=$(pwd)/sim/cli/arenalab
tmp=$(mktemp -d "${TEST_TMPDIR:-/tmp}/outputs.XXXXXX")
fails=0
checks=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
ok() { checks=$((checks + 1)); } # one more case

trace=traces/churn.atr
text=traces/spec-example.txt
cat >"$tmp/small.lua" <<'LUA'
local keep = pool()
for i = 1, 2000 do
  local b = alloc(16 + i % 100)
  if i % 3 == 0 then keep:add(b) else free(b) end
end
keep:free_all()
LUA

# The four producers, OUT as the last word.
produce() { # KIND OUT
  case $1 in
    gen) "$bin" gen "$tmp/small.lua" -o "$2" ;;
    convert) "$bin" convert "$text" "$2" ;;
    stats) "$bin" stats "$trace" --json "$2" ;;
    replay) "$bin" replay "$text" --alloc null -n 0 --json "$2" ;;
  esac
}
kinds="gen convert stats replay"
# A trace's file name says its format (.txt here); a device, FIFO or /proc
# link needs none.
ext() { case $1 in gen | convert) echo .txt ;; esac; }

# References, written to regular files.
mkdir "$tmp/ref"
for k in $kinds; do
  produce "$k" "$tmp/ref/$k$(ext "$k")" >/dev/null 2>"$tmp/err" || fail "$k to a file: $(cat "$tmp/err")"
  [ -z "$(ext "$k")" ] || cp "$tmp/ref/$k$(ext "$k")" "$tmp/ref/$k"
done
grep -q '"allocator"' "$tmp/ref/replay" || fail "replay --json wrote no JSON"

# only DIR's entries, one a line (hidden ones too)
entries() { ls -A "$1"; }

# ---- a character device ------------------------------------------------------------
mkdir "$tmp/dev"
if mknod "$tmp/dev/null" c 1 3 2>"$tmp/err" && mknod "$tmp/dev/full" c 1 7 2>>"$tmp/err"; then
  for k in $kinds; do
    ok
    produce "$k" "$tmp/dev/null" >/dev/null 2>"$tmp/err" || fail "$k to a device: $(cat "$tmp/err")"
    [ "$(stat -c '%F %t %T' "$tmp/dev/null")" = "character special file 1 3" ] ||
      fail "$k replaced the device node: $(stat -c '%F %t %T' "$tmp/dev/null")"
    [ "$(entries "$tmp/dev" | tr '\n' ' ')" = "full null " ] ||
      fail "$k left files beside the device: $(entries "$tmp/dev")"
  done
  # --series too, and both at once
  "$bin" replay "$text" --alloc null -n 0 --json "$tmp/dev/null" --series "$tmp/dev/null" \
    >/dev/null 2>"$tmp/err" || fail "replay --json/--series to a device: $(cat "$tmp/err")"
  [ "$(stat -c '%F %t %T' "$tmp/dev/null")" = "character special file 1 3" ] ||
    fail "replay --series replaced the device node"
  # a device that fails writes: exit non-zero, the node stays
  for k in $kinds; do
    ok
    produce "$k" "$tmp/dev/full" >/dev/null 2>"$tmp/err"
    rc=$?
    [ $rc != 0 ] || fail "$k to a full device exited 0"
    grep -q "No space left on device" "$tmp/err" || fail "$k to a full device: $(cat "$tmp/err")"
    [ "$(stat -c '%F %t %T' "$tmp/dev/full")" = "character special file 1 7" ] ||
      fail "$k replaced the full device node"
  done
else
  echo "SKIP: device checks: mknod: $(cat "$tmp/err")" >&2
fi

# ---- a FIFO: a reader gets exactly the bytes ---------------------------------------
mkdir "$tmp/fifo"
for k in $kinds; do
  ok
  f=$tmp/fifo/$k
  mkfifo "$f"
  timeout 10 cat "$f" >"$tmp/fifo-$k.got" & # bounded: a FIFO replaced has no writer
  reader=$!
  produce "$k" "$f" >/dev/null 2>"$tmp/err" || fail "$k to a FIFO: $(cat "$tmp/err")"
  wait $reader
  [ -p "$f" ] || fail "$k replaced the FIFO"
  if [ "$k" = replay ]; then
    grep -q '"allocator": "null"' "$tmp/fifo-$k.got" || fail "replay to a FIFO: no JSON came"
  else
    cmp -s "$tmp/ref/$k" "$tmp/fifo-$k.got" || fail "$k to a FIFO: the reader got other bytes"
  fi
done
[ "$(entries "$tmp/fifo" | wc -l)" = 4 ] || fail "files left beside the FIFOs: $(entries "$tmp/fifo")"
# a binary trace through a FIFO (header counts cannot be patched: still valid)
mkfifo "$tmp/fifo/bin.atr"
timeout 10 cat "$tmp/fifo/bin.atr" >"$tmp/fifo-bin.atr" &
reader=$!
"$bin" convert "$text" "$tmp/fifo/bin.atr" >/dev/null 2>"$tmp/err" || fail "convert to FIFO.atr"
wait $reader
"$bin" check "$tmp/fifo-bin.atr" 2>&1 | grep -q "binary, 9 events, 0 errors" ||
  fail "the binary trace from a FIFO does not check: $("$bin" check "$tmp/fifo-bin.atr" 2>&1)"

# ---- a symbolic link: the link stays, its target is replaced --------------------------
mkdir "$tmp/link" "$tmp/link/data"
for k in $kinds; do
  ok
  echo old >"$tmp/link/data/$k.out"
  ln -s "data/$k.out" "$tmp/link/$k$(ext "$k")"
  produce "$k" "$tmp/link/$k$(ext "$k")" >/dev/null 2>"$tmp/err" ||
    fail "$k through a link: $(cat "$tmp/err")"
  [ -L "$tmp/link/$k$(ext "$k")" ] && [ "$(readlink "$tmp/link/$k$(ext "$k")")" = "data/$k.out" ] ||
    fail "$k replaced the link itself"
  if [ "$k" = replay ]; then
    grep -q '"allocator": "null"' "$tmp/link/data/$k.out" || fail "replay through a link: no JSON"
  else
    cmp -s "$tmp/ref/$k" "$tmp/link/data/$k.out" || fail "$k through a link: target not replaced"
  fi
done
[ "$(entries "$tmp/link/data" | wc -l)" = 4 ] ||
  fail "files left beside the targets: $(entries "$tmp/link/data")"
# a dangling link: its target is created
ln -s made.json "$tmp/link/dangling"
"$bin" stats "$trace" --json "$tmp/link/dangling" >/dev/null 2>"$tmp/err" ||
  fail "stats through a dangling link: $(cat "$tmp/err")"
cmp -s "$tmp/ref/stats" "$tmp/link/made.json" && [ -L "$tmp/link/dangling" ] ||
  fail "a dangling link's target was not created"

# ---- the process's own standard output, by name --------------------------------------
"$bin" stats "$trace" --json /proc/self/fd/1 >"$tmp/self.txt" 2>"$tmp/err" ||
  fail "stats --json /proc/self/fd/1: $(cat "$tmp/err")"
head -1 "$tmp/self.txt" | grep -q "^trace $trace" || fail "/proc/self/fd/1: the table is gone"
grep -q '"peak_live_bytes"' "$tmp/self.txt" || fail "/proc/self/fd/1: no JSON after the table"
"$bin" gen "$tmp/small.lua" -o /proc/self/fd/1 2>"$tmp/err" | cat >"$tmp/self.pipe"
cmp -s "$tmp/ref/gen" "$tmp/self.pipe" || fail "gen -o /proc/self/fd/1 into a pipe"

# ---- a directory: exit 2, untouched ----------------------------------------------------
mkdir "$tmp/dir"
for k in $kinds; do
  ok
  produce "$k" "$tmp/dir" >/dev/null 2>"$tmp/err"
  rc=$?
  [ $rc = 2 ] || fail "$k to a directory exited $rc, not 2: $(cat "$tmp/err")"
  grep -q "dir: is a directory" "$tmp/err" || fail "$k to a directory: $(cat "$tmp/err")"
done
[ -z "$(entries "$tmp/dir")" ] || fail "files left in the directory: $(entries "$tmp/dir")"

# ---- a new file respects the umask ------------------------------------------------------
(umask 027 && "$bin" gen "$tmp/small.lua" -o "$tmp/umask.atr") 2>"$tmp/err" || fail "umask gen"
[ "$(stat -c %a "$tmp/umask.atr")" = 640 ] || fail "umask 027 gave $(stat -c %a "$tmp/umask.atr")"

# ---- interrupted: no temporary file left ------------------------------------------------
# A long `gen` (bench.lua, 4e9 events: minutes) is signalled once its
# temporary file exists.  Background jobs of a script ignore SIGINT, so the
# default action is restored for it, as a terminal's Ctrl-C would find it.
for sig in INT TERM HUP; do
  ok
  d=$tmp/sig-$sig
  mkdir "$d"
  env --default-signal="$sig" "$bin" gen scripts/workloads/bench.lua -D n=4000000000 \
    -o "$d/out.atr" 2>"$tmp/err" &
  pid=$!
  t=""
  for _ in $(seq 200); do
    t=$(entries "$d" | grep '^out\.atr\.tmp\.' || true)
    [ -n "$t" ] && break
    sleep 0.05
  done
  [ -n "$t" ] || fail "SIG$sig: no temporary file appeared: $(entries "$d")"
  [ "$t" != "out.atr.tmp.$pid" ] || fail "SIG$sig: a predictable temporary name $t"
  sleep 0.2
  kill -"$sig" $pid
  wait $pid
  rc=$?
  want=$((128 + $(kill -l "$sig")))
  [ $rc = $want ] || { fail "SIG$sig: gen exited $rc, not $want: $(cat "$tmp/err")"; kill -KILL $pid 2>/dev/null; }
  [ -z "$(entries "$d")" ] || fail "SIG$sig left $(entries "$d")"
done

# ---- write errors on standard output ----------------------------------------------------
full() { # DESCRIPTION CMD...: CMD >/dev/full fails, saying so
  local what=$1
  shift
  ok
  "$@" >/dev/full 2>"$tmp/err"
  local rc=$?
  [ $rc != 0 ] || fail "$what >/dev/full exited 0"
  grep -q "cannot write: No space left on device" "$tmp/err" ||
    fail "$what >/dev/full: $(cat "$tmp/err")"
}
full "replay" "$bin" replay "$trace" --alloc raw -n 1
full "replay --json FILE" "$bin" replay "$text" --alloc null -n 0 --json "$tmp/full.json"
full "replay --json -" "$bin" replay "$text" --alloc null -n 0 --json -
full "replay --list" "$bin" replay --list
full "check" "$bin" check "$trace"
full "check, failing" "$bin" check "$trace" "$tmp/nosuch"
full "stats" "$bin" stats "$trace"
full "stats --json FILE" "$bin" stats "$trace" --json "$tmp/full.json"
full "stats --json -" "$bin" stats "$trace" --json -
full "gen -o -" "$bin" gen "$tmp/small.lua" -o -
full "convert IN -" "$bin" convert "$text" -
full "convert IN OUT" "$bin" convert "$text" "$tmp/full.txt"
full "--help" "$bin" --help
full "check --help" "$bin" check --help

rm -rf "$tmp"
echo "$checks cases, $fails failures"
[ $fails = 0 ]
