-- binary-trees.lua: the Computer Language Benchmarks Game's binary-trees in
-- plain Lua 5.4, a real allocation-heavy program for `arenalab record`
-- (scripts/record-traces, scripts/bench-record).  Lua's allocator is
-- realloc/free, so every table and string is a malloc-family call.
--   lua5.4 binary-trees.lua DEPTH     (default 12; 14 takes ~0.6 s)
local function bottomup(d)
  if d == 0 then return {} end
  d = d - 1
  return { bottomup(d), bottomup(d) }
end

local function check(t)
  if t[1] then return 1 + check(t[1]) + check(t[2]) end
  return 1
end

local maxdepth = math.max(6, tonumber(arg and arg[1]) or 12)
local stretch = maxdepth + 1
io.write("stretch tree of depth ", stretch, "\t check: ", check(bottomup(stretch)), "\n")
local long = bottomup(maxdepth)
for d = 4, maxdepth, 2 do
  local iters = 2 ^ (maxdepth - d + 4)
  local c = 0
  for _ = 1, iters do c = c + check(bottomup(d)) end
  io.write(string.format("%d\t trees of depth %d\t check: %d\n", iters, d, c))
end
io.write("long lived tree of depth ", maxdepth, "\t check: ", check(long), "\n")
