-- wrk script: POST one payload file to /v1/inject, the same bytes every time.
-- usage: wrk [options] -s post.lua http://HOST:PORT -- PAYLOAD_FILE CONTENT_TYPE
-- The request is set up once in init() and no request() function is defined,
-- so wrk sends its prepared bytes without calling Lua per request (a
-- request() function cost wrk ~14 us of CPU per request on the 2-core
-- machine, more than the runtime's user-space share).
function init(args)
  local f = assert(io.open(args[1], "rb"))
  local body = f:read("*a")
  f:close()
  wrk.method = "POST"
  wrk.path = "/v1/inject"
  wrk.body = body
  wrk.headers["Content-Type"] = args[2]
end
