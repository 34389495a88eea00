#!/usr/bin/env bash
# plugin_cli_test.sh: bring your own allocator, end to end.
#   plugin:  the example plugin (alloc/examples/libsegfit.so) replays with
#            --verify, parameters, routes per domain, --mallocstats, exact
#            and reproducible counters, and in experiments with a sweep
#            (a file of the test's, and scripts/experiments/plugin-segfit.lua);
#   so:      a tiny malloc library (alloc/plugin/testdata/libbump.so) is
#            preloaded and measured like jemalloc, with its held-bytes and
#            statistics conventions; jemalloc through so: agrees with the
#            jemalloc class;
#   broken:  a plugin without the descriptor, of another ABI, whose malloc
#            returns NULL, that crashes; a library that crashes, one that
#            does not interpose malloc, files that are no shared objects --
#            each a clear error (exit 1 or 2) naming it, never a hang, in
#            replay and in a report.
# In a sanitized build no so: library can run: each must be refused
# cleanly (exit 2, "not available here"), optional ones skipped; plugins
# run there as anywhere.
set -uo pipefail

root=$(pwd)
bin=$root/sim/cli/arenalab
seg=$root/alloc/examples/libsegfit.so
libs=$root/alloc/plugin/testdata
tmp=${TEST_TMPDIR:-$(mktemp -d)}
export ARENALAB_ROOT=$root # experiments' relative paths: the runfiles tree
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
t=traces/churn.atr

sanitized=0
case "$(ldd "$bin" 2>/dev/null)" in *libasan*) sanitized=1 ;; esac

# Runs arenalab with a time limit (a hang is a failure); status in $rc,
# stderr in $tmp/err.
run() {
  timeout 300 "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  [ "$rc" = 124 ] && fail "timed out: arenalab $*"
}
# expect RC TEXT ARGS...: exit status RC and TEXT on stderr.
expect() {
  local want=$1 text=$2
  shift 2
  run "$@"
  [ "$rc" = "$want" ] || fail "arenalab $*: exit $rc, want $want: $(head -c 600 "$tmp/err")"
  grep -qF -- "$text" "$tmp/err" || fail "arenalab $*: no '$text' in: $(head -c 600 "$tmp/err")"
}
# The first number after "KEY": in FILE, from the object of trace TRACE
# whose allocator is ALLOC.
json_num() { # FILE ALLOC KEY
  awk -v a="\"allocator\": \"$2\"" -v k="\"$3\":" '
    index($0, a) { on = 1 } on && index($0, k) { sub(/.*: */, ""); sub(/,$/, ""); print; exit }' "$1"
}

# ---- plugin: the example ------------------------------------------------------
run replay $t traces/spec-example.txt --alloc "plugin:$seg,plugin:seg=$seg:chunk=64K" --verify \
  -n 1 --json "$tmp/seg.json" --series "$tmp/seg.csv"
[ "$rc" = 0 ] || fail "segfit replay: $(cat "$tmp/err")"
grep -q '^traces/churn.atr  *libsegfit.so ' "$tmp/out" || fail "no row libsegfit.so: $(cat "$tmp/out")"
grep -q '^traces/churn.atr  *seg:chunk=64K ' "$tmp/out" || fail "no row seg:chunk=64K"
held=$(json_num "$tmp/seg.json" libsegfit.so peak_held_bytes)
[ -n "$held" ] && [ "$held" -gt 160000 ] || fail "segfit held '$held' on churn.atr (~168 KiB live)"
frag=$(json_num "$tmp/seg.json" libsegfit.so internal_frag)
case $frag in "" | null) fail "segfit: no internal fragmentation (it has a usable size)" ;; esac
grep -q "\"configuration\": \"plugin:$seg\"" "$tmp/seg.json" || fail "configuration is not the full spec"
head -1 "$tmp/seg.csv" | grep -q 'extra_chunks,extra_large_blocks' || fail "no extra counters: $(head -1 "$tmp/seg.csv")"
# exact counters: a second replay gives the same figures, byte for byte
run replay $t --alloc "plugin:$seg" -n 0 --json "$tmp/seg2.json"
for k in peak_held_bytes jw1 jw4 internal_frag; do
  [ "$(json_num "$tmp/seg.json" libsegfit.so $k)" = "$(json_num "$tmp/seg2.json" libsegfit.so $k)" ] ||
    fail "segfit $k differs between two replays"
done
# its defaults make one configuration of two spellings
run replay $t --alloc "plugin:$seg,plugin:$seg:chunk=256K:large=4096" -n 0
grep -q '(= libsegfit.so)' "$tmp/out" || fail "defaults: not one configuration: $(cat "$tmp/out")"
# --mallocstats: the plugin's own text
run replay $t --alloc "plugin:$seg" -n 0 --mallocstats
[ "$rc" = 0 ] && grep -q '^segfit: chunk 262144, large 4096' "$tmp/out" ||
  fail "segfit --mallocstats: $(head -3 "$tmp/out") $(cat "$tmp/err")"
# --list shows a plugin's parameters
run replay --list --alloc "plugin:seg=$seg"
grep -q '^  seg  *plugin segfit' "$tmp/out" && grep -q 'chunk=SIZE' "$tmp/out" ||
  fail "--list --alloc plugin: $(tail -8 "$tmp/out")"
# a route per domain, with parameters
run replay $t --alloc "raw=malloc,mem=plugin:$seg,obj=plugin:$seg:large=256" --verify -n 1
[ "$rc" = 0 ] && grep -q 'raw=malloc,mem=libsegfit.so,obj=libsegfit.so:large=256' "$tmp/out" ||
  fail "segfit route: $(cat "$tmp/out" "$tmp/err")"

# ---- plugin: built as a user outside this tree builds it ------------------------
# The READMEs' command, in a directory holding only the source and the
# header (which must need nothing else); then replayed.
cmd='cc -std=c11 -O2 -fPIC -shared -I. segfit.c -o libsegfit.so'
for f in alloc/examples/README.md alloc/plugin/README.md; do
  grep -qxF "$cmd" "$f" || fail "$f does not give the build command '$cmd'"
done
mkdir -p "$tmp/outside"
cp alloc/examples/segfit.c alloc/plugin/arenalab_plugin.h "$tmp/outside/"
if ! (cd "$tmp/outside" && $cmd) >"$tmp/cc.out" 2>&1; then
  fail "the README's build command failed: $(cat "$tmp/cc.out")"
else
  run replay $t --alloc "plugin:$tmp/outside/libsegfit.so:chunk=64K" --verify -n 1
  [ "$rc" = 0 ] || fail "the plugin built outside: $(cat "$tmp/err")"
  # replay --html: a relative path is from the current directory there too
  (cd "$tmp/outside" && timeout 300 "$bin" replay "$root/$t" --alloc "plugin:./libsegfit.so" \
    -n 1 --html "$tmp/html") >"$tmp/out" 2>"$tmp/err" || fail "replay --html: $(cat "$tmp/err")"
  grep -q '^churn.atr,libsegfit.so,' "$tmp"/html/replay-*/runs.csv 2>/dev/null ||
    fail "replay --html: no libsegfit.so row"
fi
# the header alone, strict C99
printf '#include "arenalab_plugin.h"\nint main(void) { return ARENALAB_PLUGIN_ABI != 1; }\n' \
  >"$tmp/outside/hdr.c"
(cd "$tmp/outside" && cc -std=c99 -Wall -Wextra -Wpedantic -Werror -I. hdr.c -o hdr && ./hdr) \
  >"$tmp/cc.out" 2>&1 || fail "arenalab_plugin.h alone, -std=c99 -Wpedantic: $(cat "$tmp/cc.out")"

# ---- plugin: broken ones ---------------------------------------------------------
expect 2 "has no symbol 'arenalab_plugin'" replay $t --alloc "plugin:$libs/libbump.so" -n 0
expect 2 "built for plugin ABI 2; this arenalab loads ABI 1" replay $t --alloc "plugin:$libs/libbadabi.so" -n 0
expect 2 "No such file" replay $t --alloc "plugin:$libs/libnothere.so" -n 0
expect 2 "parameter chunk=1K" replay $t --alloc "plugin:$seg:chunk=1K" -n 0
expect 2 "unknown parameter 'chunck'" replay $t --alloc "plugin:$seg:chunck=1M" -n 0
expect 2 "must contain a '/'" replay $t --alloc "plugin:libsegfit.so" -n 0
expect 1 "returned NULL (allocator libfailing.so)" replay $t --alloc "plugin:$libs/libfailing.so" -n 1
expect 1 "with libfailing.so:mode=crash: the worker was killed by signal" \
  replay $t --alloc "plugin:$libs/libfailing.so:mode=crash" -n 1

# ---- so: ------------------------------------------------------------------------------
if [ "$sanitized" = 1 ]; then
  expect 2 "not available here: so: libraries cannot replace AddressSanitizer's malloc" \
    replay $t --alloc "so:$libs/libbump.so" -n 0
else
  run replay $t traces/spec-example.txt --alloc "so:$libs/libbump.so,so:bump=$libs/libbump.so" \
    --verify -n 1 --json "$tmp/bump.json"
  [ "$rc" = 0 ] || fail "so: bump replay: $(cat "$tmp/err")"
  grep -q '^traces/churn.atr  *libbump.so ' "$tmp/out" || fail "no row libbump.so: $(cat "$tmp/out")"
  grep -q '^traces/churn.atr  *bump ' "$tmp/out" || fail "no row bump (so:NAME=PATH)"
  for k in peak_resident_bytes peak_held_bytes; do # held: arenalab_held_bytes()
    v=$(json_num "$tmp/bump.json" bump $k)
    [ -n "$v" ] && [ "$v" -gt 160000 ] || fail "so: bump $k '$v' on churn.atr"
  done
  frag=$(json_num "$tmp/bump.json" bump internal_frag)
  case $frag in "" | null) fail "so: bump: no internal fragmentation (it has malloc_usable_size)" ;; esac
  run replay $t --alloc "so:bump=$libs/libbump.so" -n 0 --mallocstats
  grep -q '^bump: [0-9]* bytes bumped' "$tmp/out" || fail "so: --mallocstats: $(cat "$tmp/out" "$tmp/err")"
  # a route: the library is the process's malloc, plugins beside it
  run replay $t --alloc "raw=so:bump=$libs/libbump.so,mem=plugin:$seg,obj=plugin:$seg" --verify -n 1
  [ "$rc" = 0 ] || fail "so: route: $(cat "$tmp/err")"

  expect 2 "does not serve malloc in this process" replay $t --alloc "so:$seg" -n 0
  expect 1 "replay of traces/churn.atr with libcrashlib.so: the worker was killed by signal" \
    replay $t --alloc "so:$libs/libcrashlib.so" -n 1
  expect 2 "is not an ELF file" replay $t --alloc "so:$root/traces/spec-example.txt" -n 0
  expect 2 "No such file" replay $t --alloc "so:$libs/libnothere.so" -n 0
  expect 2 "unknown parameter 'x'" replay $t --alloc "so:$libs/libbump.so:x=1" -n 0

  # jemalloc as any library: measured as the jemalloc class measures it
  je=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
  if [ -e "$je" ]; then
    run replay $t --alloc "jemalloc,so:je=$je" -n 1 --json "$tmp/je.json"
    [ "$rc" = 0 ] || fail "so: jemalloc: $(cat "$tmp/err")"
    a=$(json_num "$tmp/je.json" jemalloc peak_resident_bytes)
    b=$(json_num "$tmp/je.json" je peak_resident_bytes)
    [ -n "$a" ] && [ -n "$b" ] && [ $((a > b ? a - b : b - a)) -le 262144 ] ||
      fail "so: jemalloc resident $b, the jemalloc class $a"
  fi
fi

# ---- experiments ------------------------------------------------------------------
cat >"$tmp/byo.lua" <<'LUA'
name("byo")
repeats(1)
samples(100)
trace("traces/churn.atr")
trace("traces/spec-example.txt")
local seg = "plugin:seg=alloc/examples/libsegfit.so" -- relative: from the root
allocator("raw")
assert(allocator(seg) == "plugin:seg=" .. root .. "/alloc/examples/libsegfit.so")
allocator("so:bump=alloc/plugin/testdata/libbump.so", {optional = true})
sweep{alloc = seg, param = "chunk", values = {"64K", "1M"}}
LUA
run report "$tmp/byo.lua" --out "$tmp/res"
[ "$rc" = 0 ] || fail "report byo: $(cat "$tmp/err")"
dir=$(ls -d "$tmp"/res/byo-* 2>/dev/null | head -1)
csv=${dir:-/nonexistent}/runs.csv
want="raw seg seg:chunk=64K seg:chunk=1M"
[ "$sanitized" = 1 ] || want="$want bump"
for a in $want; do
  [ "$(awk -F, -v a="$a" '$1 == "churn.atr" && $2 == a' "$csv" | wc -l)" = 1 ] ||
    fail "report byo: no churn.atr row for $a in runs.csv"
done
if [ "$sanitized" = 1 ]; then
  grep -q 'skipped so:bump=' "$dir/summary.md" || fail "report byo: so: not shown as skipped"
  grep -q ',bump,' "$csv" && fail "report byo: a so: row in a sanitized build"
fi
grep -q 'seg:chunk=64K' "$dir/index.html" || fail "report byo: index.html does not name seg:chunk=64K"
grep -q "plugin:seg=$root/alloc/examples/libsegfit.so:chunk=64K" "$csv" ||
  fail "report byo: runs.csv configuration without the full path"

# compare reads such a report (so: rows are measured, never judged exact)
run compare "$dir" "$dir" --out "$tmp/cmp"
[ "$rc" = 0 ] && grep -q 'seg:chunk=64K' "$tmp/out" || fail "compare byo: $(cat "$tmp/err")"

# the experiment of the tree: the example plugin beside the program (bindir)
run report scripts/experiments/plugin-segfit.lua --repeat 0 --jobs 2 --out "$tmp/res2"
[ "$rc" = 0 ] || fail "report plugin-segfit.lua: $(cat "$tmp/err")"
csv=$(ls -d "$tmp"/res2/plugin-segfit-*/runs.csv 2>/dev/null | head -1)
for a in segfit segfit:large=256 segfit:large=16K; do
  grep -q "^churn.atr,$a," "${csv:-/nonexistent}" || fail "plugin-segfit.lua: no churn.atr row for $a"
done

# broken ones in an experiment: FILE:LINE before anything runs or is created
bad() { # LINE LUA TEXT
  printf 'trace("traces/churn.atr")\n%s\n' "$2" >"$tmp/bad.lua"
  run report "$tmp/bad.lua" --out "$tmp/bad"
  [ "$rc" = 1 ] || fail "bad experiment '$2': exit $rc, want 1: $(cat "$tmp/err")"
  grep -qF "bad.lua:$1: " "$tmp/err" && grep -qF -- "$3" "$tmp/err" ||
    fail "bad experiment '$2': no bad.lua:$1 with '$3': $(cat "$tmp/err")"
  [ -e "$tmp/bad" ] && fail "bad experiment '$2' created $tmp/bad"
  rm -rf "$tmp/bad"
}
bad 2 'allocator("plugin:alloc/plugin/testdata/libbadabi.so")' "ABI 2"
bad 2 'allocator("plugin:alloc/plugin/testdata/libbump.so")' "has no symbol"
bad 2 'sweep{alloc = "plugin:alloc/examples/libsegfit.so", param = "chunk", values = {"1K"}}' "chunk=1K"
bad 2 'allocator("plugin:alloc/examples/libsegfit.so:chunck=1M")' "unknown parameter 'chunck'"
bad 2 'allocator("plugin:alloc/plugin/testdata/libfailing.so:mode=create")' \
  "the plugin crashed when created and destroyed (signal"
if [ "$sanitized" = 0 ]; then
  bad 2 'allocator("so:alloc/plugin/testdata/libbump.so:x=1")' "takes no parameters"
else
  bad 2 'allocator("so:alloc/plugin/testdata/libbump.so")' "sanitized build"
fi

# a plugin that crashes in a report: the run fails naming it, PARTIAL says so
printf '%s\n' 'repeats(1)' 'trace("traces/churn.atr")' \
  'allocator("plugin:alloc/plugin/testdata/libfailing.so:mode=crash")' >"$tmp/crash.lua"
run report "$tmp/crash.lua" --out "$tmp/crash"
[ "$rc" = 1 ] || fail "crashing plugin in a report: exit $rc, want 1"
grep -q 'libfailing.so:mode=crash: the worker was killed by signal' "$tmp/err" ||
  fail "crashing plugin in a report: $(cat "$tmp/err")"
ls "$tmp"/crash/*.partial/PARTIAL >/dev/null 2>&1 || fail "crashing plugin: no PARTIAL file"

[ "$fails" = 0 ] && echo "plugin_cli_test: all passed"
exit "$fails"
