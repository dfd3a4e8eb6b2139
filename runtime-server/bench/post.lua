-- wrk script: POST one payload file to /v1/inject, the same bytes every time.
-- usage: wrk [options] -s post.lua http://HOST:PORT -- PAYLOAD_FILE CONTENT_TYPE
local request_bytes

function init(args)
  local f = assert(io.open(args[1], "rb"))
  local body = f:read("*a")
  f:close()
  request_bytes = wrk.format("POST", "/v1/inject", { ["Content-Type"] = args[2] }, body)
end

function request()
  return request_bytes
end
