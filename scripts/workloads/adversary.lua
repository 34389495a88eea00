-- adversary.lua: a fragmentation adversary.
--
-- Each round allocates blocks of two sizes in alternation, frees every
-- other one -- leaving holes between live neighbours -- and then asks for
-- blocks larger than any hole, so a size-segregated or coalescing allocator
-- alike must take fresh memory while the holes sit idle.  The sizes walk
-- through the small-object classes (16 .. 512 bytes) and past the 512-byte
-- threshold; survivors accumulate up to a byte budget and then die at
-- random, which punches more holes.  Peak footprint over live bytes is the
-- figure to watch.
--
-- Parameters (-D NAME=VALUE), defaults in brackets:
--   rounds    [12]     rounds
--   pairs     [3000]   alternating pairs allocated per round
--   budget    [16M]    live bytes kept across rounds
--   domain    [obj]    domain of every block (raw, mem or obj)
--
-- About 180k events with the defaults.

local rounds = param("rounds", 12)
local pairs_per_round = param("pairs", 3000)
local budget = param("budget", 16 * 1024 * 1024)
local domain = param("domain", "obj")

local survivors = pool()

for r = 1, rounds do
  -- 16, 32, ..., 512, then 768 and 1024 (past the small-object threshold).
  local classes = {16, 32, 64, 128, 256, 512, 768, 1024}
  local small = classes[(r - 1) % #classes + 1]
  local other = small + 16
  local larger = small + other + 16
  phase("round " .. r .. " holes of " .. small)
  local holes = pool()
  for i = 1, pairs_per_round do
    holes:add(alloc(small, domain))
    survivors:add(alloc(other, domain))
  end
  holes:free_all() -- every other block
  phase("round " .. r .. " larger " .. larger)
  for i = 1, pairs_per_round // 2 do
    survivors:add(alloc(larger, domain))
  end
  while survivors:bytes() > budget do
    survivors:free_random()
  end
end

phase("teardown")
survivors:free_all()
