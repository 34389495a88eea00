-- program.lua: a program() trace (a command run for real beside its replay).
name("program")
repeats(1)
program("p", {cmd = {"sh", "-c", "true"}, trace = "traces/a.txt"})
allocator("raw")
