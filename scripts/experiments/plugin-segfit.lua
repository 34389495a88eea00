-- plugin-segfit.lua: bring your own allocator.  The example plugin
-- (alloc/examples/segfit.c, a segregated-fit allocator built beside the
-- arenalab program) against glibc and pymalloc, with the size above which
-- it maps each block swept; and jemalloc run as any malloc library would
-- be, through so: (skipped where it cannot run: not installed, or a
-- sanitized build).  alloc/plugin/README.md explains both ways.
--
--   scripts/arenalab report scripts/experiments/plugin-segfit.lua
name("plugin-segfit")
repeats(5)

local samples = traces("traces/*.atr")

local segfit = "plugin:segfit=" .. bindir .. "/libsegfit.so"
allocator("raw")
allocator("pymalloc")
allocator(segfit)
allocator("so:je=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2", {optional = true})

sweep{alloc = segfit, param = "large", values = {"256", "1K", "4K", "16K"}, traces = samples,
      title = "segfit: largest request served from a size class"}
