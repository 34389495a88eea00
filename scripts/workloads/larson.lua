-- larson.lua: a multithreaded server, after Larson and Krishnan's benchmark
-- ("Memory allocation for long-running server applications", ISMM 1998).
--
-- Each of `threads` workers holds an array of `slots` blocks and, for
-- `ops` steps per round, replaces a random slot: it frees the block there
-- and allocates a new one of a uniform size in [min, max].  At the end of
-- each round the arrays rotate (worker i takes worker i-1's array), as
-- larson hands a dying thread's blocks to a new one: most frees of a
-- round are *remote*, of blocks another thread allocated.  Workers are
-- interleaved by the seeded scheduler every `burst` steps (run_threads),
-- and meet at a barrier between rounds.  At the end each worker frees the
-- array it holds.
--
-- Threads 1..threads (thread 0, the main thread, makes no event).
--
-- Parameters (-D NAME=VALUE), defaults in brackets:
--   threads [8]      workers
--   slots   [1000]   blocks per worker
--   rounds  [10]     rounds (the arrays rotate between them)
--   ops     [1500]   replacements per worker per round
--   min     [16]     smallest block
--   max     [512]    largest block
--   burst   [50]     steps a worker runs before the scheduler may switch
--
-- About 250k events with the defaults.

local threads = param("threads", 8)
local slots = param("slots", 1000)
local rounds = param("rounds", 10)
local ops = param("ops", 1500)
local min = param("min", 16)
local max = param("max", 512)
local burst = param("burst", 50)
if threads < 1 or slots < 1 or rounds < 1 or burst < 1 then
  error("threads, slots, rounds and burst must be at least 1")
end
if min > max then error("min must not exceed max") end

local arrays = {}
local arrived = 0 -- workers past the current barrier, over all rounds

local function worker(i)
  local mine = {}
  for k = 1, slots do mine[k] = alloc(uniform(min, max)) end
  arrays[i] = mine
  for round = 1, rounds do
    -- Round r works on the array worker i-r+1 filled.
    local arr = arrays[(i - round) % threads + 1]
    for step = 1, ops do
      local k = uniform(1, slots)
      free(arr[k])
      arr[k] = alloc(uniform(min, max))
      if step % burst == 0 then coroutine.yield() end
    end
    arrived = arrived + 1
    while arrived < threads * round do coroutine.yield() end
  end
  local arr = arrays[(i - rounds - 1) % threads + 1]
  for k = 1, slots do free(arr[k]) end
end

phase("run")
run_threads(threads, worker)
