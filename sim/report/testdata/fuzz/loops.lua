-- Loops the harness's instruction limit stops, caught or not.
local n = 0
while n < 100 do n = n + 1 end
for i = 1, 10 do pcall(function() local t = {} for j = 1, 10 do t[j] = j end end) end
trace('traces/a.txt')
allocator('raw')
for i = 1, 3 do allocator('pymalloc:pool=' .. (4 * 2 ^ i) .. 'K') end
