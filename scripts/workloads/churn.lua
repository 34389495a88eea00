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
--   threads    [1]       threads running this program side by side
--   slice      [64]      allocations a thread makes before the scheduler
--                        may switch (with threads > 1)
--
-- Threads (the thread-scaled version, for scaling experiments): with
-- threads=N > 1, N threads (1..N) each run the whole program above (steps
-- allocations each: weak scaling, N times the events) with their own
-- temporaries, interleaved by the seeded scheduler (run_threads), while the
-- old generation is shared (N * old_max objects), so an old object is
-- often freed by another thread than the one that made it.  A thread's
-- own leftovers die as it ends; the main thread (0) frees the old
-- generation at the end.  threads=1 is exactly the single-threaded trace
-- (thread 0 only).
--
-- About 160k events per thread with the defaults.

local steps = param("steps", 80000)
local young_life = param("young_life", 4)
local mid_share = param("mid_share", 0.08)
local mid_life = param("mid_life", 2000)
local old_share = param("old_share", 0.02)
local old_max = param("old_max", 5000)
local buffers = param("buffers", 0.15)
local threads = param("threads", 1)
local slice = param("slice", 64)
if threads < 1 or slice < 1 then error("threads and slice must be at least 1") end

-- CPython 3.11 object sizes on 64-bit: int 28-32, float 24, small tuples
-- 48-80, dict 64 (+ keys table), list 56, str 49+len, frames and closures.
local object_size = chooser({
  {24, 10}, {28, 14}, {32, 12}, {48, 10}, {56, 8}, {64, 10}, {72, 6},
  {80, 5}, {104, 3}, {136, 3}, {184, 2}, {232, 2}, {360, 1}, {640, 1},
})

local old = pool()
local old_limit = old_max * threads

-- One thread's program.  TEARDOWN_MARK: write the teardown phase marker
-- (once, by the only thread).
local function program(teardown_mark)
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
    if old:size() > old_limit then old:free_random() end
    if threads > 1 and t % slice == 0 then coroutine.yield() end
  end

  if teardown_mark then phase("teardown") end
  for t = steps + 1, last_due do
    local dying = due[t]
    if dying then
      for i = #dying, 1, -1 do free(dying[i]) end
      due[t] = nil
    end
  end
end

phase("run")
if threads == 1 then
  program(true)
else
  run_threads(threads, function() program(false) end)
  phase("teardown")
end
old:free_all()
