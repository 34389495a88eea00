-- ast.lua: AST compilation, the way CPython compiles modules.
--
-- Each compile unit (a module) gets an arena (PyArena_New); the parser
-- allocates thousands of small AST nodes from it (PyArena_Malloc) with a
-- realistic node-size mix -- 16 to 120 bytes, mostly 32 to 64 -- and hands
-- it the Python objects it creates for names and constants
-- (PyArena_AddPyObject), which die with the arena.  The tokenizer's buffer
-- grows by realloc while the unit is parsed.  When the unit is compiled the
-- arena is freed at once, leaving a few long-lived objects behind (code
-- objects, interned strings), which are interleaved with the arenas and
-- retired oldest first once they exceed a byte budget.
--
-- Parameters (-D NAME=VALUE), defaults in brackets:
--   units     [80]     compile units
--   nodes     [1500]   median AST nodes per unit (lognormal, sigma 0.5)
--   own_rate  [0.04]   objects handed to the arena per node
--   keep      [1M]     byte budget of the long-lived objects
--
-- About 145k events with the defaults.

local units = param("units", 80)
local median_nodes = param("nodes", 1500)
local own_rate = param("own_rate", 0.04)
local keep_budget = param("keep", 1024 * 1024)

-- AST node sizes (bytes, weight): mostly expression and name nodes of 32 to
-- 64 bytes, a few statements and large nodes up to 120.
local node_size = chooser({
  {16, 3}, {24, 8}, {32, 20}, {40, 18}, {48, 20}, {56, 12}, {64, 9},
  {72, 4}, {80, 2}, {96, 2}, {104, 1}, {120, 1},
})
-- Objects the parser creates: small ints and names (interned str), floats,
-- tuples of constants.
local object_size = chooser({{32, 5}, {50, 4}, {24, 2}, {64, 2}, {120, 1}})

local long_lived = pool()

for u = 1, units do
  phase("unit " .. u)
  local a = arena()
  local nodes = clamp(round(lognormal(math.log(median_nodes), 0.5)), 100, 20 * median_nodes)
  local tokbuf = alloc(8192, "mem")
  local tokcap = 8192
  for i = 1, nodes do
    a:alloc(node_size())
    if uniform() < own_rate then
      a:own(alloc(object_size(), "obj"))
    end
    -- The token buffer doubles every few hundred nodes of source.
    if i % 400 == 0 and tokcap < 1024 * 1024 then
      tokcap = tokcap * 2
      realloc(tokbuf, tokcap)
    end
  end
  free(tokbuf)
  -- Compiling leaves the code objects and a few interned names behind.
  for k = 1, uniform(3, 12) do
    long_lived:add(alloc(uniform(96, 480), "obj"))
  end
  a:free()
  while long_lived:bytes() > keep_budget do
    long_lived:free_oldest()
  end
end

phase("shutdown")
long_lived:free_all()
