-- A message handler that loops, for an ordinary error.
xpcall(error, function() while true do end end)
