workload('w', {params = {}})
workload('w', {seed = 2, params = {n = nil}})
allocator('raw')
