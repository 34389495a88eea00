-- More declarations than the harness allows.
for i = 1, 100 do allocator('null:reserve=' .. i .. 'G') end
