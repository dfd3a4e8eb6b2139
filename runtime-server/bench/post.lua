-- wrk script: POST one payload file to /v1/inject, the same bytes every time.
-- usage: wrk [options] -s post.lua http://HOST:PORT -- PAYLOAD_FILE CONTENT_TYPE
-- The request is set up once in init() and no request() function is defined,
-- so wrk sends its prepared bytes without calling Lua per request (a
-- request() function added ~3 us of wrk CPU per request on the 2-core
-- machine, where wrk shares the CPUs with the runtime).
function init(args)
  local f = assert(io.open(args[1], "rb"))
  local body = f:read("*a")
  f:close()
  wrk.method = "POST"
  wrk.path = "/v1/inject"
  wrk.body = body
  wrk.headers["Content-Type"] = args[2]
end
