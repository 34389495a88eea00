trace('traces/a.txt')
allocator('raw')
error({})
