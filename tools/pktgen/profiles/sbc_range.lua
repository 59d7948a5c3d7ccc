-- Shared by the profiles: sets one pktgen range field (start, increment, minimum,
-- maximum) in one call. Loaded with dofile from the profile's own folder.
return function(port, field, start, inc, min, max)
  local set = pktgen.range[field]
  set(port, "start", start)
  set(port, "inc", inc)
  set(port, "min", min)
  set(port, "max", max)
end
