-- queue.lua: a producer/consumer queue with bursty arrivals.
--
-- A message broker: producers enqueue messages -- a small header object
-- (obj) and a payload buffer (mem) of lognormal size -- and one consumer
-- dequeues them in FIFO order at a steady rate.  Arrivals are
-- Markov-modulated: calm periods below the consumer's rate alternate with
-- bursts well above it, so the queue swells to thousands of messages and
-- drains again, and the heap sees waves of same-aged blocks freed in
-- allocation order.
--
-- Parameters (-D NAME=VALUE), defaults in brackets:
--   ticks     [12000]  time steps
--   calm      [2]      mean arrivals per tick when calm (exponential)
--   burst     [12]     mean arrivals per tick in a burst
--   serve     [4]      messages consumed per tick
--   p_burst   [0.01]   chance per calm tick that a burst starts
--   p_calm    [0.05]   chance per burst tick that it ends
--   payload   [512]    median payload bytes (lognormal, sigma 1.2)
--
-- About 190k events with the defaults.

local ticks = param("ticks", 12000)
local calm = param("calm", 2)
local burst = param("burst", 12)
local serve = param("serve", 4)
local p_burst = param("p_burst", 0.01)
local p_calm = param("p_calm", 0.05)
local median_payload = param("payload", 512)

local headers, payloads = pool(), pool() -- FIFO, in lockstep
local bursting = false

phase("calm")
for t = 1, ticks do
  if bursting and uniform() < p_calm then
    bursting = false
    phase("calm")
  elseif not bursting and uniform() < p_burst then
    bursting = true
    phase("burst")
  end
  local arrivals = round(exponential(bursting and burst or calm))
  for i = 1, arrivals do
    headers:add(alloc(64, "obj"))
    payloads:add(alloc(clamp(round(lognormal(math.log(median_payload), 1.2)), 16, 1024 * 1024)))
  end
  for i = 1, serve do
    if headers:size() == 0 then break end
    payloads:free_oldest()
    headers:free_oldest()
  end
end

phase("drain")
while headers:size() > 0 do
  payloads:free_oldest()
  headers:free_oldest()
end
