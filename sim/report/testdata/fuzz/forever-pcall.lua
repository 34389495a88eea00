-- A loop in a loop, each under pcall: the instruction limit ends it.
while true do pcall(function() while true do end end) end
