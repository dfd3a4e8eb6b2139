#!/usr/bin/env bash
# Throughput and latency of softprobe proxy (egress) with wrk, in one run:
#   upstream direct   wrk straight to the local upstream: the ceiling, and proof
#                     that the upstream is not the bottleneck;
#   softprobe mock    a rule mocks the upstream's URL: answered by the proxy;
#   softprobe pass    --policy allow, no rules: forwarded to the upstream;
#   tinyproxy pass    the same passthrough through tinyproxy (generated config
#                     on 127.0.0.1, no filtering, no Via, logging at Critical);
#   mitmproxy pass    the same through mitmdump, regular proxy mode, -q.
# Each row is wrk -t$WRK_THREADS -c$CONNECTIONS -d$DURATION --latency sending
# absolute-form "GET http://127.0.0.1:UP/x HTTP/1.1" to the proxy
# (absolute_get.lua). The upstream is runtime-server/bench/floor_server.c built
# with cc -O2: one epoll thread, a 2-byte keep-alive answer, no parsing.
# Every proxy is checked with curl -x first (the mock answers its body, the
# passthroughs the upstream's "{}"); a row's "check" column reports wrk's
# non-2xx answers and socket errors. "cpu us/req" is the CPU time (user+sys,
# all threads) the process under test used during the row, per request.
# Prints the load average before and after, and softprobe's RSS.
#
# usage: proxy/bench/proxy_bench.sh [path/to/softprobe]
# env:   DURATION=5s (per row)  CONNECTION_COUNTS="16 64"  WRK_THREADS=1
#        PROXY_THREADS=N   softprobe proxy --threads (default: its own, one per core)
#        LOG_LEVEL=warn    softprobe proxy --log-level (info writes a JSON line per request)
#        PACE_MS=N         each wrk connection pauses N ms after each answer (wrk delay()):
#                          a paced load below saturation, for latency; every row, the
#                          direct one too, then goes through absolute_get.lua
#        PIN=1             wrk and the upstream on CPU 0, the proxy under test on CPU 1
#                          (taskset; softprobe then runs --threads 1 unless PROXY_THREADS says
#                          otherwise): the proxy's latency without the load generator taking
#                          its CPU now and then
# needs: wrk, cc, curl, python3, tinyproxy, mitmdump (apt-get install -y wrk tinyproxy
#        mitmproxy: installed here when missing and run as root)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-${SOFTPROBE_BIN:-$root/build/cli/softprobe}}
duration=${DURATION:-5s}
counts=${CONNECTION_COUNTS:-16 64}
wrk_threads=${WRK_THREADS:-1}
proxy_threads=${PROXY_THREADS:-}
log_level=${LOG_LEVEL:-warn}
pin=${PIN:-0}
pace_ms=${PACE_MS:-}
load_cpu=()   # command prefixes: where wrk and the upstream run, and where the proxies run
proxy_cpu=()
if [ "$pin" = 1 ]; then
  command -v taskset >/dev/null || { echo "PIN=1 needs taskset (util-linux)" >&2; exit 1; }
  [ "$(nproc)" -ge 2 ] || { echo "PIN=1 needs 2 CPUs" >&2; exit 1; }
  load_cpu=(taskset -c 0)
  proxy_cpu=(taskset -c 1)
  proxy_threads=${proxy_threads:-1}
fi

[ -x "$bin" ] || { echo "no softprobe binary at $bin (build the softprobe_cli target first)" >&2; exit 1; }
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v tinyproxy >/dev/null || missing+=(tinyproxy)
command -v mitmdump >/dev/null || missing+=(mitmproxy)
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || { echo "missing: ${missing[*]} (apt-get install -y ${missing[*]})" >&2; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
for tool in cc curl python3; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed" >&2; exit 1; }
done

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for_port() {  # PORT NAME LOG: up to 10 s
  for _ in $(seq 200); do
    python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1",int(sys.argv[1])),0.2).close()' "$1" \
      2>/dev/null && return
    sleep 0.05
  done
  echo "$2 did not listen on 127.0.0.1:$1:" >&2
  cat "$3" >&2
  exit 1
}
first_line_port() {  # FILE: the port of the first "...http://127.0.0.1:PORT" line, up to 10 s
  for _ in $(seq 200); do
    [ -s "$1" ] && { head -n1 "$1" | sed 's/.*://'; return; }
    sleep 0.05
  done
}

# The upstream.
cc -O2 -o "$work/floor_server" "$root/runtime-server/bench/floor_server.c"
"${load_cpu[@]}" "$work/floor_server" 0 >"$work/upstream.out" &
pids+=($!)
up_port=$(first_line_port "$work/upstream.out")
[ -n "$up_port" ] || { echo "the upstream did not start" >&2; exit 1; }
target="http://127.0.0.1:$up_port/x"

# softprobe proxy, twice: with a mock rule for the target, and passthrough only.
cat >"$work/rules.json" <<EOF
{"version":1,"rules":[{"when":{"host":"127.0.0.1:$up_port","path":"/x"},
  "then":{"action":"mock","response":{"status":200,"body":"mocked"}}}]}
EOF
start_softprobe() {  # NAME ARGS...: sets softprobe_port
  local name=$1
  shift
  local cmd=("${proxy_cpu[@]}" "$bin" proxy --listen 127.0.0.1:0 --log-level "$log_level" "$@")
  [ -n "$proxy_threads" ] && cmd+=(--threads "$proxy_threads")
  "${cmd[@]}" >"$work/$name.out" 2>"$work/$name.log" &
  pids+=($!)
  declare -g "pid_$name=$!"
  softprobe_port=$(first_line_port "$work/$name.out")
  [ -n "$softprobe_port" ] || { echo "softprobe proxy ($name) did not start:" >&2; cat "$work/$name.log" >&2; exit 1; }
}
start_softprobe softprobe_mock --rules "$work/rules.json"
mock_port=$softprobe_port
start_softprobe softprobe_pass --policy allow
pass_port=$softprobe_port

# tinyproxy: foreground, its own config, nothing but forwarding.
tiny_port=$(free_port)
cat >"$work/tinyproxy.conf" <<EOF
Port $tiny_port
Listen 127.0.0.1
Timeout 600
MaxClients 1024
LogFile "$work/tinyproxy.log"
LogLevel Critical
PidFile "$work/tinyproxy.pid"
DisableViaHeader Yes
EOF
"${proxy_cpu[@]}" tinyproxy -d -c "$work/tinyproxy.conf" >"$work/tinyproxy.out" 2>&1 &
pids+=($!)
pid_tinyproxy=$!
wait_for_port "$tiny_port" tinyproxy "$work/tinyproxy.out"

# mitmproxy: regular mode, quiet, its CA kept in the work directory.
mitm_port=$(free_port)
"${proxy_cpu[@]}" mitmdump --listen-host 127.0.0.1 -p "$mitm_port" -q --set confdir="$work/mitmproxy" >"$work/mitmdump.out" 2>&1 &
pids+=($!)
pid_mitmproxy=$!
wait_for_port "$mitm_port" mitmdump "$work/mitmdump.out"

# Each proxy answers as expected before it is loaded.
expect_body() {  # PROXY_PORT BODY NAME
  local got
  got=$(curl -s --max-time 5 -x "http://127.0.0.1:$1" "$target") || true
  [ "$got" = "$2" ] || { echo "$3: expected \"$2\" through 127.0.0.1:$1, got \"$got\"" >&2; exit 1; }
}
expect_body "$mock_port" mocked "softprobe mock"
expect_body "$pass_port" "{}" "softprobe pass"
expect_body "$tiny_port" "{}" "tinyproxy pass"
expect_body "$mitm_port" "{}" "mitmproxy pass"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime, all threads
ticks_per_second=$(getconf CLK_TCK)

row() {  # NAME PID PROXY_PORT(empty: direct)
  local name=$1 pid=$2 port=$3 out="$work/row.txt" before after
  local args=(-t"$wrk_threads" -c"$connections" -d"$duration" --latency)
  before=$(cpu_ticks "$pid")
  if [ -n "$port" ]; then
    "${load_cpu[@]}" wrk "${args[@]}" -s "$here/absolute_get.lua" "http://127.0.0.1:$port" -- "$target" ${pace_ms:+"$pace_ms"} >"$out"
  elif [ -n "$pace_ms" ]; then  # floor_server answers any request line, the absolute form too
    "${load_cpu[@]}" wrk "${args[@]}" -s "$here/absolute_get.lua" "$target" -- "$target" "$pace_ms" >"$out"
  else
    "${load_cpu[@]}" wrk "${args[@]}" "$target" >"$out"
  fi
  after=$(cpu_ticks "$pid")
  local rps p50 p99 total check cpu
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  p50=$(awk '$1 == "50%" {print $2}' "$out")
  p99=$(awk '$1 == "99%" {print $2}' "$out")
  total=$(awk '/requests in/ {print $1}' "$out")
  cpu=$(awk -v t=$((after - before)) -v hz="$ticks_per_second" -v n="$total" \
    'BEGIN { printf "%.1f", (n > 0 ? t / hz * 1e6 / n : 0) }')
  check=ok
  grep -q 'Non-2xx' "$out" && check="$(awk '/Non-2xx/ {print $NF}' "$out") non-2xx"
  grep -q 'Socket errors' "$out" && check="$check; $(sed -n 's/^ *Socket errors: //p' "$out")"
  printf '| %-17s | %11s | %8s | %8s | %10s | %s |\n' "$name" "$rps" "$p50" "$p99" "$cpu" "$check"
  [ "${VERBOSE:-0}" = 1 ] && cat "$out"
  return 0
}

rss_kib() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$2/status"; }
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
echo "machine: $(nproc) CPUs ($cpu), $(uname -sr)"
echo "softprobe: $bin ($("$bin" --version)) --threads ${proxy_threads:-default} --log-level $log_level"
echo "tinyproxy: $(tinyproxy -v 2>&1 | head -n1); mitmproxy: $(mitmdump --version 2>&1 | head -n1)"
echo "upstream: floor_server.c (cc -O2) on 127.0.0.1:$up_port; wrk -t$wrk_threads -d$duration --latency"
[ "$pin" = 1 ] && echo "pinned: wrk and the upstream on CPU 0, the proxies on CPU 1"
[ -n "$pace_ms" ] && echo "paced: each connection pauses $pace_ms ms after each answer"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for connections in $counts; do
  echo
  echo "## $connections connections"
  echo
  printf '| %-17s | %11s | %8s | %8s | %10s | %s |\n' row "requests/s" p50 p99 "cpu us/req" check
  printf '|%s|%s|%s|%s|%s|%s|\n' ------------------- ------------- ---------- ---------- ------------ -------
  row "upstream direct" "${pids[0]}" ""
  row "softprobe mock" "$pid_softprobe_mock" "$mock_port"
  row "softprobe pass" "$pid_softprobe_pass" "$pass_port"
  row "tinyproxy pass" "$pid_tinyproxy" "$tiny_port"
  row "mitmproxy pass" "$pid_mitmproxy" "$mitm_port"
done
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "softprobe RSS after the load: mock $(($(rss_kib VmRSS "$pid_softprobe_mock") / 1024)) MiB," \
  "pass $(($(rss_kib VmRSS "$pid_softprobe_pass") / 1024)) MiB (peak $(($(rss_kib VmHWM "$pid_softprobe_pass") / 1024)) MiB)"
