-- sweep-pymalloc.lua: how pymalloc's arena size trades footprint for speed,
-- on the workload samples and on CPython 3.8's smaller pools.
--
--   scripts/arenalab report scripts/experiments/sweep-pymalloc.lua
name("sweep-pymalloc")
repeats(5)

local samples = traces("traces/*.atr")

allocator("pymalloc")
allocator("pymalloc:preset=3.8")

local sizes = {"256K", "512K", "1M", "2M", "4M"}
sweep{alloc = "pymalloc", param = "arena", values = sizes, traces = samples}
sweep{alloc = "pymalloc:pool=4K", param = "arena", values = sizes, traces = samples,
      title = "pymalloc arena size with 4 KiB pools"}
