#!/usr/bin/env bash
# report_browser_test.sh: a report's plots read right, and its page renders
# in a browser.  One small experiment (an allocator towering over live
# bytes, zero-size sweeps of pymalloc and arena, latency measured) is
# reported; then
#   - its plot scripts: a footprint plot whose allocators differ by more
#     than 4x switches to a log axis and plots every allocator (no cut
#     axis); x tic labels are distinct; titles fit their plot's width; a
#     sweep draws every trace in the swept allocator's own hue (no other
#     allocator's colour), telling traces apart by dash and marker, on a
#     log2 x axis for the pool and the block sweep alike; J&W #4 marks a
#     value of 0 or less with a "0"; the pool heatmaps name the pymalloc
#     configuration they show;
#   - its log has no gnuplot output, and every plot file is non-empty and
#     referenced (SVG, PNG and .gp from index.html, .dat and style.gp from
#     a .gp);
#   - Chromium renders index.html (scripts/render_report.py): every <img>
#     loaded (naturalWidth > 0), the page does not overflow the window's
#     width, and the screenshot holds the page's full height.
# Without Chromium the browser part is skipped with a message, unless CI is
# set (then it fails: scripts/setup installs chromium).
set -uo pipefail

bin=$(pwd)/sim/cli/arenalab
render=$(pwd)/scripts/render_report.py
export ARENALAB_ROOT=$(pwd)
tmp=${TEST_TMPDIR:-$(mktemp -d)}
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

exp=$tmp/browser.lua
cat >"$exp" <<'EOF'
name("browser")
repeats(2)
samples(100)
measure("time", "latency")
trace("traces/realloc-lab.rep")
trace("traces/spec-example.txt")
workload("churn", {seed = 3, params = {steps = 3000}})
allocator("raw")
allocator("pymalloc")
allocator("arena")
sweep{alloc = "pymalloc", param = "pool", title = "pymalloc pool size", values = {"8K", "16K"}}
sweep{alloc = "arena", param = "block", title = "arena block size", values = {"4K", "16K", "64K"}}
EOF
if ! "$bin" report "$exp" --out "$tmp/out" >"$tmp/stdout" 2>"$tmp/stderr"; then
  fail "report failed: $(cat "$tmp/stderr")"
  exit 1
fi
out=$(echo "$tmp"/out/browser-*)
p=$out/plots

# ---- the report's log: nothing from gnuplot ---------------------------------
if grep -iE "gnuplot|warning" "$tmp/stdout" "$tmp/stderr"; then
  fail "the report's log mentions gnuplot or a warning (above)"
fi

# ---- every plot file non-empty and referenced ---------------------------------
nplots=0
for f in "$p"/*; do
  name=${f##*/}
  [ -s "$f" ] || fail "$name is empty"
  case "$name" in
    style.gp) grep -qF "load 'style.gp'" "$p"/*.gp || fail "style.gp is loaded by no plot script" ;;
    *.svg | *.png | *.gp)
      nplots=$((nplots + 1))
      grep -qF "plots/$name\"" "$out/index.html" || fail "$name is not referenced by index.html" ;;
    *.dat) grep -qF "'$name'" "$p"/*.gp || fail "$name is not read by any plot script" ;;
  esac
done
[ "$nplots" -ge 30 ] || fail "only $nplots plot files"

# ---- the plots read right -------------------------------------------------------
# realloc-lab: arena holds tens of times its peak live bytes.
gp=$p/resident-realloc-lab.rep.gp
grep -q '^set logscale y' "$gp" || fail "realloc-lab's footprint is not on a log axis"
grep -q 'axis cut' "$gp" && fail "realloc-lab's footprint still cuts its axis"
for a in raw pymalloc arena; do
  grep -q "title \"$a\"" "$gp" || fail "realloc-lab's footprint leaves $a out"
done
grep -Eq 'The y axis is logarithmic: [a-z]+ peaks at [0-9.]+ [KMG]?i?B, [0-9]+x the peak live bytes' "$out/index.html" ||
  fail "the caption does not say why the axis is logarithmic"

# x tic labels: distinct on every footprint plot (no "1M 1M").
for gp in "$p"/resident-*.gp; do
  labels=$(sed -n 's/^set xtics (\(.*\))$/\1/p' "$gp" | grep -o "'[^']*'")
  [ -n "$labels" ] || fail "${gp##*/}: no explicit x tics"
  dups=$(echo "$labels" | sort | uniq -d)
  [ -z "$dups" ] || fail "${gp##*/}: repeated x tic labels: $dups"
done

# Titles fit: every line of a title within (width - 40) / 8 characters.
for gp in "$p"/*.gp; do
  w=$(sed -n 's/^set terminal svg size \([0-9]*\),.*/\1/p' "$gp")
  title=$(sed -n 's/^set title "\(.*\)"$/\1/p' "$gp")
  [ -n "$title" ] || continue
  longest=$(printf '%b\n' "$title" | awk '{ if (length($0) > m) m = length($0) } END { print m }')
  [ "$longest" -le $(((w - 40) / 8)) ] || fail "${gp##*/}: a title line of $longest characters in $w px"
done

# Sweeps: the swept allocator's hue for every trace, dashes and markers
# apart, log2 x for both size sweeps.
others="#4e79a7 #59a14f #f28e2b #b07aa1 #76b7b2 #9c755f" # raw arena cpython jemalloc mimalloc tcmalloc
for s in 1 2; do
  gp=$p/sweep-$s-resident.gp
  grep -q '^set logscale x 2' "$gp" || fail "sweep $s: x axis not log2"
  colours=$(grep -o "lc rgb '#[0-9a-f]*'" "$gp" | sort -u)
  dashes=$(grep -o " dt [^ ]*" "$gp" | sort -u | wc -l)
  points=$(grep -o " pt [0-9]*" "$gp" | sort -u | wc -l)
  [ "$dashes" -ge 3 ] && [ "$points" -ge 3 ] || fail "sweep $s: traces not told apart by dash and marker"
  if [ "$s" = 1 ]; then
    for c in $others; do
      echo "$colours" | grep -q "$c" && fail "sweep 1 (pymalloc) uses another allocator's colour $c"
    done
  fi
done
grep -q "lc rgb '#e15759'" "$p/sweep-1-resident.gp" || fail "sweep 1: not in pymalloc's colour"
grep -q "lc rgb '#59a14f'" "$p/sweep-2-resident.gp" || fail "sweep 2: not in arena's colour"

# J&W #4: a "0" label series per allocator; and where frag.dat holds a
# value of 0 or less, the plot has something to mark.
grep -q "column([0-9]*) > 0 ? '' : '0'" "$p/frag-jw4.gp" || fail "J&W #4 does not mark zeros"
n=$(grep -c "with labels" "$p/frag-jw4.gp")
[ "$n" = 3 ] || fail "J&W #4: $n zero-mark series, want 3"

# Bar charts: the x range reaches as far past the last trace as before the
# first, so the last allocator's bar of the last trace is whole (a cluster
# of 7 bars spans 0.44 each side of its trace).
for b in frag-util frag-jw4; do
  grep -qE '^set xrange \[-0\.6:[0-9]+\.6\]$' "$p/$b.gp" ||
    fail "$b: x range cuts the last cluster: $(grep '^set xrange' "$p/$b.gp")"
done

grep -q 'set title "pymalloc (pool=16K, arena=1M): pools in use' "$p/pools.gp" ||
  fail "the pool heatmap does not say which pymalloc it shows"

# ---- the page in Chromium --------------------------------------------------------
if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
  if [ -n "${CI:-}" ]; then
    fail "chromium is not installed (scripts/setup installs it); CI is set, so this fails"
  else
    echo "SKIP: the browser part: chromium is not installed (scripts/setup installs it)" >&2
  fi
else
  shot=$tmp/shot.png
  if ! python3 "$render" "$out/index.html" "$shot" --json "$tmp/page.json" >"$tmp/render.out" 2>"$tmp/render.err"; then
    fail "render_report: $(cat "$tmp/render.out" "$tmp/render.err")"
  fi
  python3 - "$tmp/page.json" "$shot" <<'EOF' || fail "the page in Chromium (above)"
import json, struct, sys
facts = json.load(open(sys.argv[1]))
ok = True
imgs = facts["images"]
if len(imgs) < 10:
    print(f"only {len(imgs)} images on the page", file=sys.stderr); ok = False
for i in imgs:
    if not i["complete"] or i["naturalWidth"] <= 0:
        print(f"image not loaded: {i['src']}", file=sys.stderr); ok = False
if facts["width"] > 1280:
    print(f"the page is {facts['width']} px wide in a 1280 px window", file=sys.stderr); ok = False
png = open(sys.argv[2], "rb").read(24)
w, h = struct.unpack(">II", png[16:24])
if (w, h) != (1280, facts["height"]):
    print(f"screenshot {w}x{h}, the page is 1280x{facts['height']}", file=sys.stderr); ok = False
if facts["height"] <= 4000:
    print(f"the page is only {facts['height']} px tall: the full-height capture is not exercised",
          file=sys.stderr); ok = False
sys.exit(0 if ok else 1)
EOF
fi

if [ "$fails" -gt 0 ]; then
  echo "$fails failure(s)" >&2
  exit 1
fi
echo "report_browser_test: all passed"
