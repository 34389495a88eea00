-- bench.lua: the generator's speed benchmark, not a workload.
--
-- A tight loop of alloc/free pairs: measures the cost of the Lua glue and
-- the trace writer per event.
--   arenalab gen scripts/workloads/bench.lua -o /tmp/bench.atr --stats
-- prints events/s on stderr.
--
-- Parameters (-D NAME=VALUE), defaults in brackets:
--   n      [10000000]  events (half allocations, half frees)
--   size   [64]        bytes per block

local n = param("n", 10000000)
local size = param("size", 64)
for i = 1, n // 2 do
  free(alloc(size))
end
