-- default.lua: what `scripts/arenalab report` runs when given no experiment.
--
-- Every bundled trace (the workload samples traces/*.atr, the malloc-lab
-- .rep files, the spec example, and recorded traces as they appear) and the
-- workload library generated afresh with another seed, through the
-- allocators of this build: raw (glibc), pymalloc (ours), arena (PyArena
-- as a malloc), cpython (libpython3.11's own), and jemalloc, mimalloc and
-- tcmalloc when their classes and libraries are present.  Then three
-- sweeps over the workload samples: pymalloc's arena size and pool size,
-- and the arena allocator's block size.  About a minute on two cores.
-- The API is described in EXPERIMENTS.md beside this file.
name("default")
repeats(6)
samples(1000)

local samples = traces("traces/*.atr")
traces("traces/*.rep")
trace("traces/spec-example.txt")
-- Recorded traces (text or binary), whenever some have been added.
traces("traces/*.trace", {optional = true})
traces("traces/recorded/*", {optional = true})

for _, w in ipairs{"adversary", "ast", "churn", "grow", "lru", "malloclab", "queue"} do
  workload(w, {seed = 2})
end

allocator("raw")
allocator("pymalloc")
allocator("arena")
allocator("cpython")
for _, real in ipairs{"jemalloc", "mimalloc", "tcmalloc"} do
  allocator(real, {optional = true})
end

sweep{alloc = "pymalloc", param = "arena", title = "pymalloc arena size",
      values = {"256K", "512K", "1M", "2M", "4M"}, traces = samples, repeats = 6}
sweep{alloc = "pymalloc", param = "pool", title = "pymalloc pool size",
      values = {"4K", "8K", "16K", "32K", "64K"}, traces = samples, repeats = 6}
sweep{alloc = "arena", param = "block", title = "arena block size",
      values = {"4K", "8K", "16K", "32K", "64K"}, traces = samples, repeats = 6}
