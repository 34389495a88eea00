-- real-vs-replay.lua: how well a replay predicts reality -- the recorded
-- Lua program (traces/rec-lua-binary-trees.atr, see traces/README.md) run
-- for real under each allocator that can serve a real process, beside the
-- replays of its recording, with the two rankings and their agreement
-- (section "Replay vs real run" of index.html and summary.md).
--
--   scripts/arenalab report scripts/experiments/real-vs-replay.lua
--
-- A replay's peak resident memory is the allocator's heap alone; a real
-- run's max RSS includes the interpreter: compare the rankings, not the
-- figures.  Models (pymalloc, segfit...) live only inside replays; declared
-- here they would be replayed and listed as "not run for real".
name("real-vs-replay")
repeats(6)

program("lua-binary-trees", {
  cmd = {"lua5.4", "scripts/record-workloads/binary-trees.lua", "8"},
  trace = "traces/rec-lua-binary-trees.atr",
})

allocator("raw")
for _, real in ipairs{"jemalloc", "mimalloc", "tcmalloc"} do
  allocator(real, {optional = true})
end
