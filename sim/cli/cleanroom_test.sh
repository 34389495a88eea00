#!/usr/bin/env bash
# cleanroom_test.sh: between a replay's baseline and its end, nothing but
# the trace's events reaches the allocator under test.  A counting library
# (sim/replay/cleanroom_shim.c) is preloaded into the workers of `raw` and
# counts every malloc-family call between the engine's begin/end hooks;
# each run's counts must equal the trace's a, c, r and f events exactly —
# text and binary traces, measurement and timed runs, every touch mode,
# progress lines on a terminal, timed runs with the latency probes, the run
# counted under callgrind, a trace of two threads replayed on them.
set -uo pipefail
bin=$(pwd)/sim/cli/arenalab
shim=$(pwd)/sim/replay/libcleanroom_shim.so
tmp=${TEST_TMPDIR:-$(mktemp -d)}
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

case "$(ldd "$bin" 2>/dev/null)" in
*libasan*)
  echo "skipped: sanitized build (the sanitizer owns malloc; nothing can be preloaded)"
  exit 0
  ;;
esac

# A trace with every kind of block event, text and binary.
cat >"$tmp/mix.lua" <<'LUA'
local keep = {}
for i = 1, 20000 do
  local b = (i % 3 == 0) and calloc(i % 7 + 1, 16) or alloc(i % 500 + 1)
  if i % 5 == 0 then b = realloc(b, i % 9000 + 1) end
  keep[#keep + 1] = b
  if #keep > 300 then free(table.remove(keep, 1)) end
  if i % 1000 == 0 then phase("p" .. i) end
end
for _, b in ipairs(keep) do free(b) end
LUA
"$bin" gen "$tmp/mix.lua" -o "$tmp/mix.atr" --seed 1 || fail "gen"
"$bin" convert "$tmp/mix.atr" "$tmp/mix.txt" >/dev/null 2>&1 || fail "convert"

for t in "$tmp/mix.atr" "$tmp/mix.txt" traces/churn.atr traces/grow.atr; do
  want=$("$bin" stats --json - "$t" | awk -F'[:,]' '
    /"alloc": [0-9]/ {a=$2} /"calloc": [0-9]/ {c=$2} /"realloc": [0-9]/ {r=$2} /"free": [0-9]/ {f=$2}
    END {gsub(/ /,"",a); gsub(/ /,"",c); gsub(/ /,"",r); gsub(/ /,"",f);
         printf "cleanroom malloc %s calloc %s realloc %s free %s other 0", a, c, r, f}')
  for touch in page none all; do
    out="$tmp/counts.$(basename "$t").$touch"
    rm -f "$out"
    ARENALAB_TEST_PRELOAD=$shim ARENALAB_CLEANROOM_OUT=$out \
      "$bin" replay "$t" --alloc raw -n 2 --touch "$touch" >"$tmp/log" 2>&1 ||
      fail "$t --touch $touch: replay failed: $(tail -3 "$tmp/log")"
    n=$(wc -l <"$out" 2>/dev/null || echo 0)
    [ "$n" -eq 3 ] || fail "$t --touch $touch: $n runs counted, want 3 (measurement + 2 timed)"
    while read -r line; do
      [ "$line" = "$want" ] || fail "$t --touch $touch: '$line', want '$want'"
    done <"$out"
  done
done

# Progress on a terminal adds nothing either: a worker's "progress" lines
# (every 4 Mi events, between chunks) allocate nothing.
if command -v script >/dev/null; then
  "$bin" gen scripts/workloads/bench-ring.lua -D n=5000000 -o "$tmp/long.atr" || fail "gen long"
  want="cleanroom malloc 2500000 calloc 0 realloc 0 free 2500000 other 0"
  out="$tmp/counts.long.tty"
  rm -f "$out"
  env -u CI ARENALAB_TEST_PRELOAD=$shim ARENALAB_CLEANROOM_OUT=$out \
    script -qec "'$bin' replay '$tmp/long.atr' --alloc raw -n 1 >/dev/null" /dev/null >"$tmp/tty"
  grep -qa "measurement run: " "$tmp/tty" || fail "long trace on a pty: no progress line"
  n=$(wc -l <"$out" 2>/dev/null || echo 0)
  [ "$n" -eq 2 ] || fail "long trace on a pty: $n runs counted, want 2"
  while read -r line; do
    [ "$line" = "$want" ] || fail "long trace on a pty: '$line', want '$want'"
  done <"$out"
fi

# The latency probes add nothing either: every call timed, the same counts
# (measurement + 2 timed runs); and the run counted under callgrind (when
# valgrind is here): measurement + the counted run.
for t in "$tmp/mix.atr" traces/churn.atr; do
  want=$("$bin" stats --json - "$t" | awk -F'[:,]' '
    /"alloc": [0-9]/ {a=$2} /"calloc": [0-9]/ {c=$2} /"realloc": [0-9]/ {r=$2} /"free": [0-9]/ {f=$2}
    END {gsub(/ /,"",a); gsub(/ /,"",c); gsub(/ /,"",r); gsub(/ /,"",f);
         printf "cleanroom malloc %s calloc %s realloc %s free %s other 0", a, c, r, f}')
  for measure in latency instructions; do
    if [ "$measure" = instructions ] && ! command -v valgrind >/dev/null; then
      echo "note: valgrind is not installed: the counted run is not checked"
      continue
    fi
    out="$tmp/counts.$(basename "$t").$measure"
    rm -f "$out"
    ARENALAB_TEST_PRELOAD=$shim ARENALAB_CLEANROOM_OUT=$out \
      "$bin" replay "$t" --alloc raw -n 2 --measure "$measure" >"$tmp/log" 2>&1 ||
      fail "$t --measure $measure: replay failed: $(tail -3 "$tmp/log")"
    n=$(wc -l <"$out" 2>/dev/null || echo 0)
    expect=3
    [ "$measure" = instructions ] && expect=2
    [ "$n" -eq "$expect" ] || fail "$t --measure $measure: $n runs counted, want $expect"
    while read -r line; do
      [ "$line" = "$want" ] || fail "$t --measure $measure: '$line', want '$want'"
    done <"$out"
  done
done

# A trace of two threads replayed on them: the threads and their stacks
# are made before the baseline and exit after the end, so the counts are
# still the trace's events.
awk 'BEGIN {
  for (i = 1; i <= 3000; i++) {
    t = int(i / 16) % 2 + 1
    print "#@ thread " t
    print "a " i " " (i % 700 + 1)
    if (i % 3 == 0) print "r " i " " (i % 5000 + 1)
    if (i > 40 && (i - 40) % 2 == 0) print "f " (i - 40)
  }
}' >"$tmp/two.txt"
want=$("$bin" stats --json - "$tmp/two.txt" | awk -F'[:,]' '
  /"alloc": [0-9]/ {a=$2} /"calloc": [0-9]/ {c=$2} /"realloc": [0-9]/ {r=$2} /"free": [0-9]/ {f=$2}
  END {gsub(/ /,"",a); gsub(/ /,"",c); gsub(/ /,"",r); gsub(/ /,"",f);
       printf "cleanroom malloc %s calloc %s realloc %s free %s other 0", a, c, r, f}')
out="$tmp/counts.two"
rm -f "$out"
ARENALAB_TEST_PRELOAD=$shim ARENALAB_CLEANROOM_OUT=$out \
  "$bin" replay "$tmp/two.txt" --alloc raw -n 2 --json "$tmp/two.json" >"$tmp/log" 2>&1 ||
  fail "two threads: replay failed: $(tail -3 "$tmp/log")"
grep -q '"threads": 2,' "$tmp/two.json" || fail "two threads: not replayed on 2 threads"
n=$(wc -l <"$out" 2>/dev/null || echo 0)
[ "$n" -eq 3 ] || fail "two threads: $n runs counted, want 3 (measurement + 2 timed)"
while read -r line; do
  [ "$line" = "$want" ] || fail "two threads: '$line', want '$want'"
done <"$out"

# A class that is not what serves malloc is refused, never measured under
# its name: raw with a library the user preloads
LD_PRELOAD=$shim "$bin" replay traces/churn.atr --alloc raw -n 0 >/dev/null 2>"$tmp/err" ||
  fail "a user's LD_PRELOAD is dropped from workers: $(cat "$tmp/err")"

if [ "$fails" -gt 0 ]; then
  echo "$fails failures" >&2
  exit 1
fi
echo "all passed"
