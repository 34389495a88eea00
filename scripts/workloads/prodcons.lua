-- prodcons.lua: a producer/consumer queue across threads.
--
-- `producers` threads build messages -- a small header object (obj) and a
-- payload buffer (mem) of lognormal size -- and put them on one shared
-- FIFO queue of at most `capacity` messages; `consumers` threads take them
-- off, sometimes grow the payload (a realloc on a thread other than the
-- one that allocated it), and free both.  So every free and every realloc
-- here is *remote*, the pattern of a thread pool fed by a dispatcher.
-- The seeded scheduler (run_threads) switches threads every `burst`
-- messages, when a producer finds the queue full, or when a consumer finds
-- it empty.
--
-- Threads 1..producers are the producers, the next `consumers` threads
-- the consumers (thread 0, the main thread, makes no event).
--
-- Parameters (-D NAME=VALUE), defaults in brackets:
--   producers [2]      producer threads
--   consumers [2]      consumer threads
--   messages  [60000]  messages over all producers
--   capacity  [512]    queue length at which producers wait
--   burst     [32]     messages a thread handles before the scheduler may switch
--   payload   [256]    median payload bytes (lognormal, sigma 1.0)
--   grow      [0.1]    share of payloads a consumer reallocs to twice their size
--
-- About 250k events with the defaults.

local producers = param("producers", 2)
local consumers = param("consumers", 2)
local messages = param("messages", 60000)
local capacity = param("capacity", 512)
local burst = param("burst", 32)
local median_payload = param("payload", 256)
local grow = param("grow", 0.1)
if producers < 1 or consumers < 1 or capacity < 1 or burst < 1 then
  error("producers, consumers, capacity and burst must be at least 1")
end

-- The queue: a ring of {header, payload} in an array indexed head..tail.
local queue, head, tail = {}, 1, 0
local producing = producers
local log_payload = math.log(median_payload)

local function producer(i)
  -- Producer i makes messages i, i + producers, ...: all of them together.
  local n = 0
  for _ = i, messages, producers do
    while tail - head + 1 >= capacity do coroutine.yield() end
    local header = alloc(64, "obj")
    local payload = alloc(round(lognormal(log_payload, 1.0)) + 16, "mem")
    tail = tail + 1
    queue[tail] = {header, payload}
    n = n + 1
    if n % burst == 0 then coroutine.yield() end
  end
  producing = producing - 1
end

local function consumer()
  local n = 0
  while true do
    if head > tail then
      if producing == 0 then return end
      coroutine.yield()
    else
      local m = queue[head]
      queue[head] = nil
      head = head + 1
      if uniform() < grow then realloc(m[2], 2 * m[2]:size()) end
      free(m[2])
      free(m[1])
      n = n + 1
      if n % burst == 0 then coroutine.yield() end
    end
  end
end

local roles = {}
for i = 1, producers do roles[i] = function() producer(i) end end
for i = 1, consumers do roles[producers + i] = consumer end

phase("run")
run_threads(roles)
