-- A message handler that loops, for the limit's own error (Lua runs it with hooks off).
xpcall(function() while true do end end, function() while true do end end)
