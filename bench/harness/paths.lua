-- wrk script for bench/http.ts: sends GETs cycling through the paths in WRK_PATHS (comma-separated),
-- one path per request, so a router is exercised. The requests are formatted once per thread.
local paths = {}
for p in string.gmatch(os.getenv("WRK_PATHS") or "/", "[^,]+") do paths[#paths + 1] = p end
local requests = {}
local i = 0

function init(args)
  for k, p in ipairs(paths) do requests[k] = wrk.format("GET", p) end
end

function request()
  i = i % #requests + 1
  return requests[i]
end
