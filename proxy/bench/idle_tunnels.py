#!/usr/bin/env python3
"""Memory per idle CONNECT tunnel of softprobe proxy: RSS before and after 500 idle
tunnels to a local echo server (docs/performance.md). Usage: idle_tunnels.py /path/to/softprobe
(needs ulimit -n >= 2100)."""
import socket, subprocess, sys, threading, time, os
def echo_server():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1024)
    def run():
        while True:
            c, _ = s.accept()
            threading.Thread(target=lambda c=c: [c.sendall(d) for d in iter(lambda: c.recv(4096), b"")], daemon=True).start()
    threading.Thread(target=run, daemon=True).start()
    return s.getsockname()[1]
up = echo_server()
p = subprocess.Popen([sys.argv[1], "proxy", "--listen", "127.0.0.1:0", "--log-level", "warn", "--threads", "2"], stdout=subprocess.PIPE)
port = int(p.stdout.readline().decode().rsplit(":", 1)[1])
def rss(): return int([l for l in open("/proc/%d/status" % p.pid) if l.startswith("VmRSS")][0].split()[1])
def tunnels(n):
    out = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port)); s.settimeout(5)
        s.sendall(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: x\r\n\r\n" % up)
        d = b""
        while b"\r\n\r\n" not in d: d += s.recv(100)
        s.sendall(b"ping"); assert s.recv(4) == b"ping"
        out.append(s)
    return out
warm = tunnels(50); time.sleep(0.3); base = rss()
more = tunnels(500); time.sleep(0.5); after = rss()
print("RSS %d KiB -> %d KiB for 500 more idle tunnels: %.1f KiB per tunnel" % (base, after, (after - base) / 500))
p.kill()
