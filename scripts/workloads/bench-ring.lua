-- bench-ring.lua: the generator's speed benchmark with handles kept in a
-- Lua table, as real workloads keep them; not a workload.
--
-- A ring of `ring` slots: each step frees the block in the slot (once the
-- ring is full) and allocates a new one into it, so every handle lives in a
-- table for `ring` steps.  Measures the Lua glue, the handles and the trace
-- writer per event:
--   arenalab gen scripts/workloads/bench-ring.lua -o /tmp/ring.atr --stats
-- prints events/s on stderr.  Uses only param, alloc and free, so that
-- scripts/bench can run the same file under plain lua5.4 with Lua functions
-- in their place (the reference).
--
-- Parameters (-D NAME=VALUE), defaults in brackets:
--   n      [10000000]  events (half allocations, half frees)
--   ring   [1024]      handles kept live
--   size   [64]        bytes per block

local n = param("n", 10000000)
local k = param("ring", 1024)
local size = param("size", 64)
local ring = {}
for i = 0, n // 2 - 1 do
  local j = i % k + 1
  local b = ring[j]
  if b then free(b) end
  ring[j] = alloc(size)
end
for j = 1, k do
  if ring[j] then free(ring[j]) end
end
