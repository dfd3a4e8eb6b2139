#!/usr/bin/env bash
# Load test of POST /v1/inject on softprobe-runtime with wrk.
#
# Starts the runtime on a free port, creates a replay session with 100 mock
# rules (allow policy), then runs wrk for DURATION against four payloads:
# OTLP JSON hit, OTLP JSON miss, OTLP protobuf hit, OTLP protobuf miss.
# Prints requests/s, p50, p90 and p99 per case, and checks the runtime's own
# counters (/metrics) saw as many hits/misses as wrk got answers; then the
# same load on GET /health as a baseline (the HTTP layer alone). Prints the
# runtime's RSS before the load and after it (VmRSS, and VmHWM: the peak).
#
# usage: runtime-server/bench/inject_load.sh [path/to/softprobe-runtime]
# env:   DURATION=10s CONNECTIONS=8 WRK_THREADS=1
#        SERVER_THREADS=N  --threads for the runtime (default: the runtime's own default;
#                          a thread-per-connection build needs CONNECTIONS+8)
#        PIN=1   pin the runtime to CPU 0 and wrk to CPU 1 (taskset)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-${SOFTPROBE_RUNTIME_BIN:-$here/../../build-runtime/runtime-server/softprobe-runtime}}
duration=${DURATION:-10s}
connections=${CONNECTIONS:-8}
wrk_threads=${WRK_THREADS:-1}
server_threads=${SERVER_THREADS:-}
pin=${PIN:-0}

command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
[ -x "$bin" ] || { echo "no runtime binary at $bin (build the softprobe-runtime target first)" >&2; exit 1; }

work=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

server_cmd=("$bin" --port 0 --log-level warn)
[ -n "$server_threads" ] && server_cmd+=(--threads "$server_threads")
wrk_cmd=(wrk)
if [ "$pin" = 1 ]; then
  server_cmd=(taskset -c 0 "${server_cmd[@]}")
  wrk_cmd=(taskset -c 1 wrk)
fi
"${server_cmd[@]}" >"$work/stdout" 2>"$work/runtime.log" &
pid=$!
for _ in $(seq 100); do
  [ -s "$work/stdout" ] && break
  sleep 0.05
done
url=$(head -n1 "$work/stdout")
[ -n "$url" ] || { echo "the runtime did not start:" >&2; cat "$work/runtime.log" >&2; exit 1; }

session=$(curl -sf -X POST "$url/v1/sessions" -H 'content-type: application/json' -d '{"mode":"replay"}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["sessionId"])')
python3 "$here/make_payloads.py" "$work" "$session"
curl -sf -X POST "$url/v1/sessions/$session/rules" -H 'content-type: application/json' \
  --data-binary @"$work/rules.json" >/dev/null

declare -A file=([json-hit]=inject-hit.json [json-miss]=inject-miss.json [protobuf-hit]=inject-hit.pb [protobuf-miss]=inject-miss.pb)
declare -A ctype=([json-hit]=application/json [json-miss]=application/json
                  [protobuf-hit]=application/x-protobuf [protobuf-miss]=application/x-protobuf)
declare -A expect=([json-hit]=200 [json-miss]=404 [protobuf-hit]=200 [protobuf-miss]=404)
cases=(json-hit json-miss protobuf-hit protobuf-miss)

# Each payload answers as expected before it is loaded.
for c in "${cases[@]}"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$url/v1/inject" -H "content-type: ${ctype[$c]}" \
    --data-binary @"$work/${file[$c]}")
  [ "$code" = "${expect[$c]}" ] || { echo "$c: expected ${expect[$c]}, got $code" >&2; exit 1; }
done

outcome_count() {  # hit | miss
  curl -s "$url/metrics" | awk -v o="softprobe_inject_requests_total{outcome=\"$1\"," 'index($1, o) == 1 {print $2}'
}

rss_kib() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$pid/status"; }
rss_before=$(rss_kib VmRSS)

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
echo "machine: $(nproc) CPUs ($cpu), $(uname -sr)"
echo "runtime: $bin --threads ${server_threads:-default}; wrk -t$wrk_threads -c$connections -d$duration --latency; pinned: $pin"
echo
printf '| %-14s | %12s | %9s | %9s | %9s | %10s |\n' case "requests/s" p50 p90 p99 "checked"
printf '|%s|%s|%s|%s|%s|%s|\n' ---------------- -------------- ----------- ----------- ----------- ------------
for c in "${cases[@]}"; do
  outcome=${c#*-}
  before=$(outcome_count "$outcome")
  "${wrk_cmd[@]}" -t"$wrk_threads" -c"$connections" -d"$duration" --latency -s "$here/post.lua" "$url" -- \
    "$work/${file[$c]}" "${ctype[$c]}" >"$work/$c.txt"
  after=$(outcome_count "$outcome")
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$work/$c.txt")
  p50=$(awk '$1 == "50%" {print $2}' "$work/$c.txt")
  p90=$(awk '$1 == "90%" {print $2}' "$work/$c.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$work/$c.txt")
  total=$(awk '/requests in/ {print $1}' "$work/$c.txt")
  errors=$(awk '/Socket errors/ {print}' "$work/$c.txt")
  served=$((after - before))
  # The runtime may have served a few requests wrk stopped waiting for.
  check="ok"
  if [ "$served" -lt "$total" ] || [ "$served" -gt $((total + connections)) ]; then check="MISMATCH $served/$total"; fi
  [ -n "$errors" ] && check="$check; $errors"
  printf '| %-14s | %12s | %9s | %9s | %9s | %10s |\n' "$c" "$rps" "$p50" "$p90" "$p99" "$check"
  [ "${VERBOSE:-0}" = 1 ] && cat "$work/$c.txt"
done

# Baseline: GET /health, a constant answer and no core call: what cpp-httplib
# itself serves on this machine with the same connections.
"${wrk_cmd[@]}" -t"$wrk_threads" -c"$connections" -d"$duration" --latency "$url/health" >"$work/health.txt"
printf '| %-14s | %12s | %9s | %9s | %9s | %10s |\n' "GET /health" \
  "$(awk '/^Requests\/sec:/ {print $2}' "$work/health.txt")" "$(awk '$1 == "50%" {print $2}' "$work/health.txt")" \
  "$(awk '$1 == "90%" {print $2}' "$work/health.txt")" "$(awk '$1 == "99%" {print $2}' "$work/health.txt")" baseline
echo
echo "runtime RSS: before the load $((rss_before / 1024)) MiB, after $(($(rss_kib VmRSS) / 1024)) MiB (peak $(($(rss_kib VmHWM) / 1024)) MiB)"
