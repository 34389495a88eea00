-- A sweep over a long list of traces (its expansion is quadratic).
local t = {}
for i = 1, 100 do t[i] = 'a.txt' end
trace('traces/a.txt')
sweep{alloc = 'pymalloc', param = 'arena', values = {'1M'}, traces = t}
