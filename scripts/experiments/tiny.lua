-- tiny.lua: the smallest experiment that exercises every part of a report
-- (a recorded trace, a generated workload, two allocators, a two-point
-- sweep).  The test suite runs it end to end (sim/cli/report_cli_test.sh);
-- it takes a second or two.
name("tiny")
repeats(1)
samples(200)

trace("traces/binary-lab.rep")
workload("churn", {seed = 3, params = {steps = 3000}})

allocator("raw")
allocator("pymalloc")

sweep{alloc = "pymalloc", param = "arena", values = {"256K", "1M"}}
