-- threads.lua: how the allocators scale with threads.  The thread-scaled
-- churn workload (scripts/workloads/churn.lua, -D threads=N: N threads each
-- running churn side by side, sharing the old generation, so some frees
-- are remote) at 1, 2, 4 and 8 threads (weak scaling: 40k events per
-- thread), and the two threaded library workloads: larson (a server whose
-- workers hand their blocks on, mostly remote frees) and prodcons (every
-- free on another thread than the allocation).  Through the C library's
-- malloc and jemalloc, mimalloc and tcmalloc when present.  A replay that
-- runs a trace on its recorded threads gives the throughput per thread
-- count; a serialized replay gives the memory figures of the same traces.
-- A few minutes on two cores.  The API is described in EXPERIMENTS.md.
name("threads")
repeats(6)
samples(500)

-- a workload sweep: one trace per thread count (churn-s1.threads-N), drawn
-- as one scaling plot (throughput vs threads) and as the sweep's plots
workload("churn", {seed = 1, params = {steps = 20000}, sweep = {threads = {1, 2, 4, 8}}})
workload("larson", {seed = 1})
workload("prodcons", {seed = 1})

allocator("raw")
for _, real in ipairs{"jemalloc", "mimalloc", "tcmalloc"} do
  allocator(real, {optional = true})
end
