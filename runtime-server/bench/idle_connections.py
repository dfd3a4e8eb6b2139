#!/usr/bin/env python3
"""10,000 idle keep-alive connections against softprobe-runtime.

Starts the runtime (--max-connections and --keep-alive-timeout raised so the
connections stay), measures GET /health with wrk (p50/p99), then opens N
connections that each send one GET /health, read the answer and stay open
(keep-alive, idle), measures the runtime's RSS (VmRSS) and GET /health with
wrk again while they are held, checks they are all still open, and prints
one Markdown table.

usage: runtime-server/bench/idle_connections.py path/to/softprobe-runtime [N]
env:   DURATION=5s  wrk duration for each /health measurement
"""
import os
import resource
import selectors
import socket
import subprocess
import sys
import time


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def wrk_health(url, duration):
    out = subprocess.run(["wrk", "-t1", "-c16", f"-d{duration}", "--latency", f"{url}/health"],
                         capture_output=True, text=True, check=True).stdout
    rps = p50 = p99 = "?"
    for line in out.splitlines():
        parts = line.split()
        if line.startswith("Requests/sec:"):
            rps = parts[1]
        elif parts[:1] == ["50%"]:
            p50 = parts[1]
        elif parts[:1] == ["99%"]:
            p99 = parts[1]
    return rps, p50, p99


def open_idle(port, n):
    """n connections, each with one answered request; returns the sockets."""
    socks = []
    request = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    sel = selectors.DefaultSelector()
    pending = {}
    deadline = time.monotonic() + 120
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(request)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        pending[s] = b""
        socks.append(s)
        # Bound the in-flight answers so the kernel backlog never overflows.
        while len(pending) > 256 and time.monotonic() < deadline:
            drain(sel, pending, 1.0)
    while pending and time.monotonic() < deadline:
        drain(sel, pending, 1.0)
    if pending:
        raise SystemExit(f"{len(pending)} connections got no answer within 120 s")
    return socks


def drain(sel, pending, timeout):
    for key, _ in sel.select(timeout):
        s = key.fileobj
        data = s.recv(4096)
        if not data:
            raise SystemExit("the runtime closed an idle connection while opening them")
        pending[s] += data
        if b"\r\n\r\n" in pending[s] and pending[s].endswith(b"}"):
            sel.unregister(s)
            del pending[s]


def still_open(socks):
    """Every socket still open: a non-blocking recv would block (no EOF)."""
    closed = 0
    for s in socks:
        try:
            if s.recv(1) == b"":
                closed += 1
        except BlockingIOError:
            pass
    return len(socks) - closed


def main():
    binary = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    duration = os.environ.get("DURATION", "5s")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n + 512
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    proc = subprocess.Popen([binary, "--port", "0", "--log-level", "warn", "--max-connections", str(n + 64),
                             "--keep-alive-timeout", "10m"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    try:
        url = proc.stdout.readline().strip()
        port = int(url.rsplit(":", 1)[1])
        rss_start = rss_mib(proc.pid)
        before = wrk_health(url, duration)
        started = time.monotonic()
        socks = open_idle(port, n)
        opened_in = time.monotonic() - started
        time.sleep(1)
        rss_idle = rss_mib(proc.pid)
        during = wrk_health(url, duration)
        alive = still_open(socks)
        rss_after = rss_mib(proc.pid)
        print(f"runtime: {binary}; {n} idle keep-alive connections opened in {opened_in:.1f} s; "
              f"{alive} still open after the second measurement")
        print()
        print("| | RSS | GET /health req/s | p50 | p99 |")
        print("|---|---|---|---|---|")
        print(f"| started, no connections | {rss_start:.1f} MiB | | | |")
        print(f"| no idle connections | | {before[0]} | {before[1]} | {before[2]} |")
        print(f"| {n} idle connections held | {rss_idle:.1f} MiB | {during[0]} | {during[1]} | {during[2]} |")
        print(f"| after the measurement | {rss_after:.1f} MiB | | | |")
        for s in socks:
            s.close()
        if alive != n:
            raise SystemExit(f"only {alive} of {n} idle connections stayed open")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
