-- lru.lua: a long-lived cache with LRU eviction at a fixed byte budget.
--
-- A memoising server: requests name keys drawn from a Zipf distribution
-- (a few hot keys, a long tail).  A hit touches the entry (it becomes the
-- most recently used) and now and then updates its value in place (a
-- realloc to a new size).  A miss builds the entry -- a small key object
-- (obj) and a value buffer of lognormal size (mem) -- and evicts least
-- recently used entries until the values fit the byte budget again.  The
-- heap holds a slowly churning, long-lived working set of mixed sizes.
--
-- Parameters (-D NAME=VALUE), defaults in brackets:
--   requests  [100000]  cache requests
--   keys      [50000]   key space
--   zipf_s    [0.9]     Zipf exponent of the key popularity
--   budget    [2M]      byte budget of the cached values
--   value     [300]     median value size in bytes (lognormal, sigma 1)
--   update    [0.05]    chance that a hit rewrites the value
--
-- About 180k events with the defaults.

local requests = param("requests", 100000)
local nkeys = param("keys", 50000)
local s = param("zipf_s", 0.9)
local budget = param("budget", 2 * 1024 * 1024)
local median_value = param("value", 300)
local update = param("update", 0.05)

local values = pool()     -- value blocks, least recently used first
local by_key = {}         -- key -> {key block, value block}
local key_of = {}         -- value block id -> key

local function value_size()
  return clamp(round(lognormal(math.log(median_value), 1.0)), 8, 256 * 1024)
end

phase("warm-up")
for r = 1, requests do
  if r == requests // 10 then phase("steady") end
  local k = zipf(nkeys, s)
  local e = by_key[k]
  if e then
    values:touch(e[2])
    if uniform() < update then realloc(e[2], value_size()) end
  else
    local kb = alloc(48 + 8 * uniform(0, 4), "obj")
    local vb = alloc(value_size(), "mem")
    by_key[k] = {kb, vb}
    key_of[vb:id()] = k
    values:add(vb)
  end
  -- Evict while over budget (the touched or updated entry never goes first:
  -- it is the most recently used).
  while values:bytes() > budget do
    local victim = values:oldest()
    local vk = key_of[victim:id()]
    key_of[victim:id()] = nil
    free(by_key[vk][1])
    by_key[vk] = nil
    values:free_oldest()
  end
end

phase("flush")
while values:size() > 0 do
  local victim = values:oldest()
  local vk = key_of[victim:id()]
  free(by_key[vk][1])
  by_key[vk] = nil
  values:free_oldest()
end
