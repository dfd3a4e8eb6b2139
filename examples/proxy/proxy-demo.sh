#!/usr/bin/env bash
# The main job through `softprobe proxy`, for an app in any language (here: curl):
#   1. capture: a local "pricing service" on 127.0.0.1 answers through the proxy,
#      which records every exchange into OUT_DIR/proxy.case.json;
#   2. the service is stopped; replay in strict mode from the case file answers the
#      same requests as recorded, offline;
#   3. a request nobody recorded gets the strict miss (599) with the core's explanation.
# Usage: examples/proxy/proxy-demo.sh SOFTPROBE_BINARY OUT_DIR
set -euo pipefail
softprobe="$1"
out="$(mkdir -p "$2" && cd "$2" && pwd)"
case_file="$out/proxy.case.json"
work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# wait_for_line FILE PATTERN: the first line of FILE matching PATTERN, within 10 s.
wait_for_line() {
  local i
  for i in $(seq 1 100); do
    if grep -m1 -E "$2" "$1" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "timed out waiting for '$2' in $1" >&2
  return 1
}

# start_proxy ARGS...: starts softprobe proxy on a free port; sets proxy_pid and proxy_url.
start_proxy() {
  "$softprobe" proxy --listen 127.0.0.1:0 --log-level warn "$@" >"$work/proxy.out" 2>"$work/proxy.err" &
  proxy_pid=$!
  pids+=("$proxy_pid")
  proxy_url="$(wait_for_line "$work/proxy.out" '^softprobe proxy listening on ' | sed 's/.* on //')"
}

stop_proxy() {
  kill -TERM "$proxy_pid"
  wait "$proxy_pid" || { echo "softprobe proxy exited with $?" >&2; cat "$work/proxy.err" >&2; return 1; }
}

# The pricing service: a real HTTP server on a free port.
python3 - "$work/upstream.port" <<'PY' &
import http.server, json, sys
class Prices(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"path": self.path, "price": 42, "currency": "EUR"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Prices)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(server.server_port))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
server.serve_forever()
PY
upstream_pid=$!
pids+=("$upstream_pid")
for _ in $(seq 1 100); do [ -f "$work/upstream.port" ] && break; sleep 0.1; done
upstream="http://127.0.0.1:$(cat "$work/upstream.port")"

echo "1. capture: the app's requests go through softprobe proxy to the real service at $upstream"
start_proxy --mode capture --out "$case_file"
for sku in 1 2; do
  curl -sS -x "$proxy_url" "$upstream/prices?sku=$sku" >"$work/captured-$sku"
  printf '   GET /prices?sku=%s -> %s\n' "$sku" "$(cat "$work/captured-$sku")"
done
stop_proxy
echo "   recorded $(grep -c '"http.request.method"' "$case_file") exchanges into $case_file"

kill "$upstream_pid"
wait "$upstream_pid" 2>/dev/null || true
echo "2. replay, strict, with the service stopped: answered from the case file"
start_proxy --mode replay --case "$case_file" --policy strict
for sku in 1 2; do
  curl -sS -x "$proxy_url" "$upstream/prices?sku=$sku" >"$work/replayed-$sku"
  printf '   GET /prices?sku=%s -> %s\n' "$sku" "$(cat "$work/replayed-$sku")"
  cmp -s "$work/captured-$sku" "$work/replayed-$sku" || { echo "the replayed answer differs from the recorded one" >&2; exit 1; }
done

echo "3. a request nobody recorded: the strict miss"
status="$(curl -sS -o "$work/miss.json" -w '%{http_code}' -x "$proxy_url" "$upstream/prices?sku=3")"
echo "   GET /prices?sku=3 -> $status $(head -c 400 "$work/miss.json")"
stop_proxy
[ "$status" = 599 ] || { echo "expected the strict miss (599), got $status" >&2; exit 1; }
