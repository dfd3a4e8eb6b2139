-- wrk script: GET one absolute-form URL through a forward proxy (wrk has no
-- proxy option: wrk connects to the proxy's address given on its command
-- line, and this sends "GET http://UPSTREAM/PATH HTTP/1.1" with Host: UPSTREAM).
-- usage: wrk [options] -s absolute_get.lua http://PROXY_HOST:PORT -- http://UPSTREAM_HOST:PORT/PATH
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
end
