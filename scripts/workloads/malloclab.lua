-- malloclab.lua: a random trace in the style of the CS:APP malloc lab.
--
-- Like the lab's random-*.rep files: one domain, no arenas, a fixed number
-- of operations mixing malloc, free and realloc on randomly chosen live
-- blocks, with sizes drawn uniformly from a few ranges (small, medium,
-- page-sized), and every block freed at the end, as a .rep trace does.
-- Converting the result to text (arenalab convert OUT.atr OUT.txt) gives
-- lines comparable with a .rep file's.  With -D sizes=TRACE the request
-- sizes come from another trace's size distribution instead (sizes_from).
--
-- Parameters (-D NAME=VALUE), defaults in brackets:
--   ops       [80000]  operations before the final frees
--   live      [2000]   target number of live blocks
--   realloc   [0.15]   share of operations on a live block that realloc it
--   sizes     [none]   trace whose request sizes to sample
--
-- About 82k events with the defaults.

local ops = param("ops", 80000)
local target = param("live", 2000)
local p_realloc = param("realloc", 0.15)
local sizes_path = param("sizes", "")

local size
if sizes_path ~= "" then
  size = sizes_from(sizes_path)
else
  local range = chooser({{{1, 64}, 6}, {{65, 1024}, 3}, {{1025, 16384}, 1}})
  size = function()
    local r = range()
    return uniform(r[1], r[2])
  end
end

local blocks = pool()
phase("random")
for i = 1, ops do
  -- Allocate more often while below the target, free more often above it.
  local p_alloc = blocks:size() < target and 0.6 or 0.4
  if blocks:size() == 0 or uniform() < p_alloc then
    blocks:add(alloc(size()))
  elseif uniform() < p_realloc then
    realloc(blocks:random(), size())
  else
    blocks:free_random()
  end
end

phase("free all")
blocks:free_all()
