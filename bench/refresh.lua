-- wrk: refresh-token grants. Each response carries the next (rotated) refresh token, which the
-- next request uses; every token is used exactly once. Initial tokens come from the file named
-- by the REFRESH_TOKENS environment variable, split between threads.
local tokens = {}
local headers = {}
local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("index", thread_count)
  table.insert(threads, thread)
end

function init(args)
  for name, value in pairs(wrk.headers) do headers[name] = value end
  headers["Content-Type"] = "application/x-www-form-urlencoded"
  local n = 0
  local per = tonumber(os.getenv("TOKENS_PER_THREAD") or "64")
  for line in io.lines(os.getenv("REFRESH_TOKENS")) do
    n = n + 1
    if n > (index - 1) * per and n <= index * per then table.insert(tokens, line) end
  end
end

function request()
  local token = table.remove(tokens, 1)
  if token == nil then token = "exhausted" end
  return wrk.format("POST", nil, headers, "grant_type=refresh_token&refresh_token=" .. token)
end

function response(status, hdrs, body)
  local token = string.match(body, '"refresh_token":"([^"]+)"')
  if token then table.insert(tokens, token) end
end
