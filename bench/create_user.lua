-- wrk: POST a new account with a unique username and a password (one argon2id hash each).
-- Keeps the headers given with -H (the Authorization header).
local counter = 0
local thread_tag = 0
local headers = {}

function setup(thread)
  thread:set("tag", math.random(1, 1000000000))
end

function init(args)
  thread_tag = tag or math.random(1, 1000000000)
  for name, value in pairs(wrk.headers) do headers[name] = value end
  headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  local body = string.format('{"username":"load-%d-%d","password":"bench password %d"}', thread_tag, counter, counter)
  return wrk.format("POST", nil, headers, body)
end
