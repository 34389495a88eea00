-- workload-sweep.lua: how allocators scale with a workload's size.  The
-- churn workload is generated once per value of its `steps` parameter
-- (traces churn-s1.steps-2000, ...); every allocator replays each, and
-- the report plots peak resident memory and ns/event against steps, one
-- line per allocator.  The test suite runs it end to end
-- (sim/cli/report_cli_test.sh); it takes a few seconds.
name("workload-sweep")
repeats(1)
samples(200)

workload("churn", {seed = 1, params = {young_life = 4}, sweep = {steps = {2000, 4000, 8000}}})

allocator("raw")
allocator("pymalloc")
allocator("mimalloc", {optional = true})
