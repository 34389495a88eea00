-- grow.lua: growing buffers crossing the 512-byte small-object threshold.
--
-- Lists, byte strings and string builders that start small and grow by
-- realloc as items are appended, most ending between a few hundred bytes
-- and a few kilobytes, so they cross pymalloc's 512-byte threshold (where
-- CPython moves a block from its pools to the system malloc).  Growth
-- policies:
--   list     item array of 8-byte pointers over-allocated as CPython 3.11's
--            list_resize does: (n + n/8 + 6) rounded down to a multiple of 4
--   doubling a string builder doubling its buffer
--   exact    realloc to the exact new size at every append (worst case)
-- A set of buffers grows at once, interleaved; each is freed when it reaches
-- its final length, or, now and then, shrunk to fit and kept for a while.
--
-- Parameters (-D NAME=VALUE), defaults in brackets:
--   buffers   [5000]   buffers created
--   active    [64]     buffers growing at the same time
--   final     [1200]   median final length in bytes (lognormal, sigma 1)
--   keep      [0.2]    share shrunk to fit and kept (in a pool of 500)
--
-- About 90k events with the defaults.

local nbuffers = param("buffers", 5000)
local nactive = param("active", 64)
local median_final = param("final", 1200)
local keep = param("keep", 0.2)

local policy_of = chooser({{"list", 5}, {"doubling", 3}, {"exact", 1}})

-- Bytes allocated for a buffer holding LEN bytes under POLICY, given its
-- current capacity CAP (returns CAP when it still fits).
local function capacity(policy, len, cap)
  if len <= cap then return cap end
  if policy == "list" then
    local n = (len + 7) // 8
    return 8 * ((n + (n >> 3) + 6) & ~3)
  elseif policy == "doubling" then
    local c = math.max(cap, 32)
    while c < len do c = c * 2 end
    return c
  end
  return len
end

local active = {}
local kept = pool()
local created = 0

local function start()
  created = created + 1
  local policy = policy_of()
  local b = {policy = policy, len = 0, cap = capacity(policy, 8, 0),
             final = clamp(round(lognormal(math.log(median_final), 1.0)), 16, 512 * 1024)}
  b.block = alloc(b.cap, policy == "list" and "mem" or "obj")
  return b
end

for i = 1, nactive do active[i] = start() end

phase("grow")
while #active > 0 do
  local i = uniform(1, #active)
  local b = active[i]
  -- Append an item: a pointer for lists, a chunk of text otherwise.
  b.len = b.len + (b.policy == "list" and 8 or uniform(1, 64))
  local cap = capacity(b.policy, b.len, b.cap)
  if cap ~= b.cap then
    realloc(b.block, cap)
    b.cap = cap
  end
  if b.len >= b.final then
    if uniform() < keep then
      realloc(b.block, b.len) -- shrink to fit, then keep it a while
      kept:add(b.block)
      if kept:size() > 500 then kept:free_random() end
    else
      free(b.block)
    end
    if created < nbuffers then
      active[i] = start()
    else
      active[i] = active[#active]
      active[#active] = nil
    end
  end
end

phase("teardown")
kept:free_all()
