"""A real HTTP/1.1 server on 127.0.0.1 for the fidelity tests: every path
shows one behaviour a client must see the same way live, in capture and in
replay (test_fidelity.py)."""

from __future__ import annotations

import gzip
import http.server
import random
import threading
from typing import Any, List, Tuple

PAGE = b"<html><body>" + b"x" * 72 + b"</body></html>"  # 90 bytes: what HEAD /page announces
BINARY = random.Random(7).randbytes(1 << 20)  # 1 MiB, every byte value
GZIP_TEXT = b'{"compressed":true,"text":"' + b"abc" * 40 + b'"}'
STREAM_CHUNKS = (b'{"n":1}\n', b'{"n":2}\n')
SET_COOKIES = ("a=1; Path=/", "b=2; Path=/; HttpOnly")
# How long the server holds a response for its client at most (a failing
# test ends after this instead of hanging).
HOLD_SECONDS = 3.0


class FidelityServer:
    """``hits`` lists (method, path) served. ``/stream`` sends its first
    chunk, then waits until the client sets ``first_chunk_seen`` (or
    HOLD_SECONDS pass) before the last one; ``stream_released`` lists, per
    stream, whether the client set it (it had the first chunk while the
    server still held the last). ``/slow`` answers after ``slow_release`` is
    set (or HOLD_SECONDS)."""

    def __init__(self) -> None:
        self.hits: List[Tuple[str, str]] = []
        self.stream_released: List[bool] = []
        self.first_chunk_seen = threading.Event()
        self.slow_release = threading.Event()
        self.lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: bytes, headers: List[Tuple[str, str]]) -> None:
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD" and status not in (204, 304):
                    self.wfile.write(body)

            def _chunk(self, data: bytes) -> None:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                with server.lock:
                    server.hits.append((self.command, self.path))
                path = self.path.split("?", 1)[0]
                if path == "/page":
                    self._send(200, PAGE, [("content-type", "text/html")])
                elif path == "/cookies":
                    self._send(200, b"ok", [("content-type", "text/plain")] + [("set-cookie", c) for c in SET_COOKIES])
                elif path == "/gzip":
                    self._send(200, gzip.compress(GZIP_TEXT, mtime=0),
                               [("content-type", "application/json"), ("content-encoding", "gzip")])
                elif path == "/redirect":
                    self._send(302, b"", [("location", "/target")])
                elif path == "/target":
                    self._send(200, b"the target", [("content-type", "text/plain")])
                elif path == "/binary":
                    self._send(200, BINARY, [("content-type", "application/octet-stream")])
                elif path == "/empty":
                    self._send(204, b"", [])
                elif path == "/stream":
                    self.send_response(200)
                    self.send_header("content-type", "application/x-ndjson")
                    self.send_header("transfer-encoding", "chunked")
                    self.end_headers()
                    self._chunk(STREAM_CHUNKS[0])
                    released = server.first_chunk_seen.wait(HOLD_SECONDS)
                    with server.lock:
                        server.stream_released.append(released)
                    self._chunk(STREAM_CHUNKS[1])
                    self.wfile.write(b"0\r\n\r\n")
                elif path == "/slow":
                    server.slow_release.wait(HOLD_SECONDS)
                    try:
                        self._send(200, b"late", [("content-type", "text/plain")])
                    except OSError:
                        pass  # the client timed out and left
                else:
                    self._send(404, b"not found", [("content-type", "text/plain")])

            do_GET = do_POST = do_HEAD = _handle  # noqa: N815

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def count(self) -> int:
        with self.lock:
            return len(self.hits)

    def reset(self) -> None:
        with self.lock:
            self.hits.clear()
            self.stream_released.clear()
        self.first_chunk_seen.clear()
        self.slow_release.clear()

    def close(self) -> None:
        self.slow_release.set()
        self.first_chunk_seen.set()
        self.server.shutdown()
        self.server.server_close()
