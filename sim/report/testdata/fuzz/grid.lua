-- Every declaration, globs, a workload with parameters, sweeps.
name('grid-1')
repeats(4)
samples(50)
local files = traces('traces/*.txt')
assert(#files == 2 and files[1] == 'a.txt')
workload('w', {seed = 5, params = {n = 10, k = 'x', big = 2.5}})
allocator('raw')
allocator('pymalloc:arena=1M')
allocator('missinglib', {optional = true})
sweep{alloc = 'pymalloc', param = 'arena', values = {'256K', '1M'}, traces = {'a.txt'}, repeats = 7}
sweep{alloc = 'raw', param = 'x', values = {'fast', 3}, title = 'raw x'}
repeats(2)
