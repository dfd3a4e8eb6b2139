-- wrk script: GET one absolute-form URL through a forward proxy (wrk has no
-- proxy option: wrk connects to the proxy's address given on its command
-- line, and this sends "GET http://UPSTREAM/PATH HTTP/1.1" with Host: UPSTREAM).
-- usage: wrk [options] -s absolute_get.lua http://PROXY_HOST:PORT -- http://UPSTREAM_HOST:PORT/PATH [PACE_MS]
-- With PACE_MS, each connection waits that many milliseconds after an answer
-- before its next request (wrk's delay()): a load below saturation, so the
-- latency is the proxy's and not the queue's. wrk times a request from its
-- write, after the pause.
-- The request is set up once in init() and no request() function is defined,
-- so wrk sends its prepared bytes without calling Lua per request (as in
-- runtime-server/bench/post.lua: a request() function costs wrk CPU that the
-- proxy shares on a 2-core machine).
function init(args)
  local url = assert(args[1], "usage: -- http://UPSTREAM_HOST:PORT/PATH")
  local authority = assert(url:match("^http://([^/]+)"), "not an http:// URL: " .. url)
  wrk.method = "GET"
  wrk.path = url
  wrk.headers["Host"] = authority
  local pace = tonumber(args[2])
  if pace then
    delay = function() return pace end  -- read by wrk after init(): called per request
  end
end
