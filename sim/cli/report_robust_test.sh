#!/usr/bin/env bash
# report_robust_test.sh: `arenalab report` on legal experiments at the
# edges.  Traces with no events (an empty text file, its binary form, a
# workload that allocates nothing) beside a real one and alone, with a
# sweep and timed runs: the report succeeds, the page says "No events" in
# each empty trace's section, and every plot script runs without a word
# from gnuplot.  Seventy allocators of one class on a small trace: every
# plot is made (SVG and PNG), every allocator is in each of them, no two
# look alike, and gnuplot is silent.
set -uo pipefail

bin=$(pwd)/sim/cli/arenalab
export ARENALAB_ROOT=$(pwd) # the runfiles tree holds scripts/ and traces/
tmp=${TEST_TMPDIR:-$(mktemp -d)}
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# report NAME: runs $tmp/NAME.lua with ARGS into $tmp/out-NAME; sets $dir.
report() { # NAME ARGS...
  local name=$1
  shift
  dir=/nonexistent
  if ! "$bin" report "$tmp/$name.lua" --out "$tmp/out-$name" "$@" >"$tmp/$name.stdout" 2>"$tmp/$name.stderr"; then
    fail "$name: report failed: $(head -c 2000 "$tmp/$name.stderr")"
    return 1
  fi
  dir=$(ls -d "$tmp/out-$name/$name"-* 2>/dev/null | grep -v '\.partial$' | head -1)
  [ -n "$dir" ] && [ -s "$dir/index.html" ] || { fail "$name: no index.html"; dir=/nonexistent; return 1; }
}

# gnuplot_quiet NAME: every plot script of $dir runs with no output.
gnuplot_quiet() {
  for gp in "$dir"/plots/*.gp; do
    local g
    g=$(basename "$gp")
    [ "$g" = style.gp ] && continue
    if ! (cd "$dir/plots" && gnuplot "$g") >"$tmp/gp.out" 2>&1; then
      fail "$1: gnuplot $g failed: $(cat "$tmp/gp.out")"
    elif [ -s "$tmp/gp.out" ]; then
      fail "$1: gnuplot $g printed: $(cat "$tmp/gp.out")"
    fi
  done
}

# plots_exist NAME PLOT...: each PLOT has its .gp, an SVG and a PNG.
plots_exist() {
  local name=$1
  shift
  for p in "$@"; do
    [ -s "$dir/plots/$p.gp" ] || fail "$name: missing plots/$p.gp"
    grep -q '<svg' "$dir/plots/$p.svg" 2>/dev/null || fail "$name: plots/$p.svg is missing or not an SVG"
    head -c 8 "$dir/plots/$p.png" 2>/dev/null | od -An -c | grep -q 'P   N   G' ||
      fail "$name: plots/$p.png is missing or not a PNG"
    grep -q "plots/$p.svg" "$dir/index.html" || fail "$name: index.html does not show plots/$p.svg"
  done
}

# The section of TRACE in index.html says "No events", and no plot of its own.
says_no_events() { # NAME TRACE
  awk -v t="$2" 'index($0, "<h3 id=\"trace-" t "\">") { on = 1; next }
    on && /<h[23]/ { exit }
    on && /No events/ { found = 1 }
    END { exit !found }' "$dir/index.html" || fail "$1: the section of $2 does not say 'No events'"
  ls "$dir/plots/resident-$2".* "$dir/plots/sizes-$2".* >/dev/null 2>&1 &&
    fail "$1: plots made for $2, which has no events"
}

# ---- traces with no events ---------------------------------------------------
: >"$tmp/empty.txt"
"$bin" convert "$tmp/empty.txt" "$tmp/empty.atr" 2>"$tmp/err" || fail "convert empty: $(cat "$tmp/err")"
printf -- '-- allocates nothing\nlocal unused = param("n", 0)\n' >"$tmp/nothing.lua"
cat >"$tmp/mixed.lua" <<EOF
name("mixed")
repeats(1)
samples(50)
trace("$tmp/empty.txt")
trace("$tmp/empty.atr")
workload("$tmp/nothing.lua", {name = "nothing"})
trace("traces/binary-lab.rep")
allocator("raw")
allocator("pymalloc")
sweep{alloc = "pymalloc", param = "arena", values = {"256K", "1M"}}
EOF
if report mixed; then
  for t in empty.txt empty.atr nothing; do says_no_events mixed "$t"; done
  plots_exist mixed frag-util speed sweep-1-resident sweep-1-speed \
    resident-binary-lab.rep sizes-binary-lab.rep
  grep -q 'Left out of these plots (no events' "$dir/index.html" ||
    fail "mixed: the overview does not say which traces it leaves out"
  gnuplot_quiet mixed
fi

# Nothing but empty traces: no overview plot at all, each absence noted.
cat >"$tmp/allempty.lua" <<EOF
name("allempty")
repeats(1)
trace("$tmp/empty.txt")
workload("$tmp/nothing.lua", {name = "nothing"})
allocator("raw")
allocator("pymalloc")
sweep{alloc = "pymalloc", param = "arena", values = {"256K", "1M"}}
EOF
if report allempty; then
  for t in empty.txt nothing; do says_no_events allempty "$t"; done
  grep -q 'No fragmentation plots: no trace has any event' "$dir/index.html" ||
    fail "allempty: no note for the fragmentation plots"
  grep -q 'No plots of this sweep' "$dir/index.html" || fail "allempty: no note for the sweep"
  gnuplot_quiet allempty
fi

# ---- seventy allocators -----------------------------------------------------
n=70
{
  echo 'name("many")'
  echo 'samples(20)'
  echo 'trace("traces/binary-lab.rep")'
  echo "for i = 1, $n do allocator(\"null:reserve=\" .. (1000 + i) .. \"M\") end"
} >"$tmp/many.lua"
if report many --repeat 0; then
  plots_exist many frag-util frag-jw4 resident-binary-lab.rep sizes-binary-lab.rep
  gnuplot_quiet many
  for p in frag-util frag-jw4 resident-binary-lab.rep; do
    got=$(grep -c 'title "null:reserve=' "$dir/plots/$p.gp")
    [ "$got" -eq "$n" ] || fail "many: $p draws $got allocators, want $n"
  done
  # Every line looks different: colour and dash pattern, pairwise.
  looks=$(grep -o "lc rgb '#[0-9a-f]*' dt [^ ]*" "$dir/plots/resident-binary-lab.rep.gp" | sort -u | wc -l)
  [ "$looks" -eq "$n" ] || fail "many: $looks distinct line styles for $n allocators"
  bars=$(grep -o "lc rgb '#[0-9a-f]*'[^,]*" "$dir/plots/frag-util.gp" | sort -u | wc -l)
  [ "$bars" -eq "$n" ] || fail "many: $bars distinct bar styles for $n allocators"
fi

[ "$fails" -eq 0 ] && echo "PASS" || echo "$fails failure(s)"
exit $((fails > 0))
