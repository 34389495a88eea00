-- debug.lua: what PYTHONMALLOC=debug costs -- footprint and time of each
-- allocator with and without CPython 3.11's debug hooks (24 bytes around
-- every block, clean and dead bytes written, API ids checked on every
-- free and realloc), on the Python traces: a recorded CPython program and
-- the workloads that model CPython's compiler (ast) and object churn.
--
--   scripts/arenalab report scripts/experiments/debug.lua
--
-- Pairs: pymalloc / pymalloc_debug (our obmalloc, our hooks), malloc /
-- malloc_debug (the process's malloc), and cpython / cpython:hooks=debug
-- (libpython3.11's own obmalloc and its own PyMem_SetupDebugHooks, raw
-- routed to malloc as CPython does: the reference).  An experiment's
-- allocator serves every domain, so pymalloc and pymalloc_debug take the
-- raw domain too (1% of rec-python-json's events); `arenalab replay
-- --alloc pymalloc_debug` routes it as CPython does.
name("debug")
repeats(15)
samples(1000)

trace("traces/rec-python-json.atr")
trace("traces/ast.atr")
trace("traces/churn.atr")

allocator("pymalloc")
allocator("pymalloc_debug")
allocator("malloc")
allocator("malloc_debug")
allocator("cpython")
allocator("cpython:hooks=debug")
