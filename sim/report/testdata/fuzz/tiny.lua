-- tiny.lua: scripts/experiments/tiny.lua on the fuzz root's files.
name("tiny")
repeats(1)
samples(200)

trace("traces/a.txt")
workload("w", {seed = 3, params = {n = 3000}})

allocator("raw")
allocator("pymalloc")

sweep{alloc = "pymalloc", param = "arena", values = {"256K", "1M"}}
