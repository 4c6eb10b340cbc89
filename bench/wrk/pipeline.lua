-- pipeline.lua: wrk writes `depth` requests at once per connection (default 16), the same
-- load as reactord-bench --pipeline 16. Usage: wrk -s pipeline.lua URL -- 16
init = function(args)
  local depth = tonumber(args[1]) or 16
  local batch = {}
  for i = 1, depth do
    batch[i] = wrk.format(nil)
  end
  req = table.concat(batch)
end

request = function()
  return req
end
