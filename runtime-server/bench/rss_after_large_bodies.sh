#!/usr/bin/env bash
# Resident memory of an idle runtime after many large refused bodies.
#
# usage: rss_after_large_bodies.sh [RUNTIME_BINARY] [REQUESTS] [MIB]
#
# Starts the runtime on a free port, prints its VmRSS, sends REQUESTS
# (default 64) rules documents of MIB MiB (default 15) that the core refuses
# (a 400: "rules" is one long string) to POST /v1/sessions/ID/rules over 16
# concurrent connections, waits 2 s, and prints VmRSS again. Issue 8 saw ~900 MiB here before
# large buffers were handed back to the OS.
set -euo pipefail
BIN=${1:-$(dirname "$0")/../../build/runtime-server/softprobe-runtime}
REQUESTS=${2:-64}
MIB=${3:-15}
DIR=$(mktemp -d)
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$DIR"' EXIT
SOFTPROBE_CAPTURE_CASE_PATH="$DIR/captured.case.json" "$BIN" --port 0 --log-level error >"$DIR/out" 2>"$DIR/err" &
PID=$!
for _ in $(seq 100); do [ -s "$DIR/out" ] && break; sleep 0.05; done
URL=$(head -1 "$DIR/out")
rss() { awk '/^VmRSS/ {print $2 " " $3}' "/proc/$PID/status"; }
echo "idle at start: $(rss)"
python3 - "$URL" "$REQUESTS" "$MIB" <<'PY'
import http.client, sys, threading, urllib.parse
url, n, mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
u = urllib.parse.urlparse(url)
body = b'{"version":1,"rules":"' + b'x' * ((mib << 20) - 24) + b'"}'
c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
c.request("POST", "/v1/sessions", body=b"{}", headers={"content-type": "application/json"})
import json
sid = json.loads(c.getresponse().read())["sessionId"]
statuses = {}
count = iter(range(n))
lock = threading.Lock()
def worker():
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    while True:
        with lock:
            if next(count, None) is None: break
        c.request("POST", f"/v1/sessions/{sid}/rules", body=body, headers={"content-type": "application/json"})
        r = c.getresponse()
        r.read()
        with lock:
            statuses[r.status] = statuses.get(r.status, 0) + 1
threads = [threading.Thread(target=worker) for _ in range(16)]
for t in threads: t.start()
for t in threads: t.join()
print("answers:", statuses)
PY
echo "after $REQUESTS x $MIB MiB bodies: $(rss)"
sleep 2
echo "idle 2 s later: $(rss)"
