-- churn.lua: object churn under the generational hypothesis.
--
-- A Python-like program allocating objects (obj domain: ints, floats,
-- tuples, small dicts and lists) and their out-of-line buffers (mem
-- domain: list item arrays, dict tables, string data).  Most objects die
-- young -- temporaries living a few allocations (geometric lifetimes) --
-- some live for a while (a request's or a loop's data: exponential
-- lifetimes of thousands of allocations), and a few survive into an old
-- generation that turns over slowly (module-level data, caches).
--
-- Parameters (-D NAME=VALUE), defaults in brackets:
--   steps      [80000]   object allocations
--   young_life [4]       mean lifetime of a temporary, in allocations
--   mid_share  [0.08]    share of objects living a while
--   mid_life   [2000]    their mean lifetime, in allocations
--   old_share  [0.02]    share of objects joining the old generation
--   old_max    [5000]    old objects alive before old ones start dying
--   buffers    [0.15]    share of allocations that are mem-domain buffers
--
-- About 160k events with the defaults.

local steps = param("steps", 80000)
local young_life = param("young_life", 4)
local mid_share = param("mid_share", 0.08)
local mid_life = param("mid_life", 2000)
local old_share = param("old_share", 0.02)
local old_max = param("old_max", 5000)
local buffers = param("buffers", 0.15)

-- CPython 3.11 object sizes on 64-bit: int 28-32, float 24, small tuples
-- 48-80, dict 64 (+ keys table), list 56, str 49+len, frames and closures.
local object_size = chooser({
  {24, 10}, {28, 14}, {32, 12}, {48, 10}, {56, 8}, {64, 10}, {72, 6},
  {80, 5}, {104, 3}, {136, 3}, {184, 2}, {232, 2}, {360, 1}, {640, 1},
})

-- Blocks due to die at each step: a calendar of arrays, indexed by step
-- (never iterated with pairs, so the order of deaths is deterministic).
local due = {}
local last_due = 0
local function die_at(step, b)
  local list = due[step]
  if not list then
    list = {}
    due[step] = list
  end
  list[#list + 1] = b
  if step > last_due then last_due = step end
end

local old = pool()

phase("run")
for t = 1, steps do
  local b
  if uniform() < buffers then
    b = alloc(round(lognormal(math.log(160), 0.9)) + 8, "mem")
  else
    b = alloc(object_size(), "obj")
  end
  local r = uniform()
  if r < old_share then
    old:add(b)
  elseif r < old_share + mid_share then
    die_at(t + 1 + round(exponential(mid_life)), b)
  else
    die_at(t + geometric(1 / young_life), b)
  end
  -- Deaths of this step, newest first (as a stack of temporaries unwinds).
  local dying = due[t]
  if dying then
    for i = #dying, 1, -1 do free(dying[i]) end
    due[t] = nil
  end
  if old:size() > old_max then old:free_random() end
end

phase("teardown")
for t = steps + 1, last_due do
  local dying = due[t]
  if dying then
    for i = #dying, 1, -1 do free(dying[i]) end
    due[t] = nil
  end
end
old:free_all()
