-- costs.lua: costs that do not depend on a noisy machine, and latency
-- tails -- instructions and cache misses per event, counted under
-- valgrind's callgrind (exact: the same on any load), and every allocator
-- call of the timed runs timed into histograms (p50 ... p99.99, max), on
-- the Python traces: a recorded CPython program and the workloads that
-- model CPython's compiler (ast) and object churn.
--
--   scripts/arenalab report scripts/experiments/costs.lua
--
-- A few minutes: each (trace, allocator) runs once more under callgrind,
-- a few hundred times slower than natively.  `pymalloc` against
-- `cpython` is our obmalloc against libpython3.11's, instruction for
-- instruction; the pool-size sweep shows a count moving with the
-- algorithm.
name("costs")
repeats(6)
samples(200)
measure("time", "latency", "instructions")

trace("traces/rec-python-json.atr")
trace("traces/ast.atr")
trace("traces/churn.atr")

allocator("pymalloc")
allocator("cpython")
allocator("raw")
for _, real in ipairs{"jemalloc", "mimalloc", "tcmalloc"} do
  allocator(real, {optional = true})
end

sweep{alloc = "pymalloc", param = "pool", title = "pymalloc pool size",
      values = {"4K", "16K", "64K"}, repeats = 6}
