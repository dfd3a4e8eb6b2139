"""Test support: a real HTTP server on 127.0.0.1 that counts what reaches it, and paths."""

from __future__ import annotations

import gzip
import http.server
import json
import os
import shutil
import ssl
import subprocess
import threading
from typing import Any, Dict, List, Optional, Tuple

CASES = os.path.join(os.path.dirname(__file__), "cases")


class Upstream:
    """A threaded HTTP/1.1 server; ``hits`` lists (method, path) it served;
    ``heads`` counts every request line it read, even one it refused or whose
    body never arrived (what "the server saw no request" is checked with)."""

    def __init__(self, tls: Optional[Tuple[str, str]] = None) -> None:
        """``tls``: (certificate file, key file) to serve HTTPS instead."""
        self.hits: List[Tuple[str, str]] = []
        self.heads = 0
        self.lock = threading.Lock()
        upstream = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def parse_request(self) -> bool:
                with upstream.lock:
                    upstream.heads += 1
                return super().parse_request()

            def _reply(self, status: int, body: bytes, headers: Dict[str, str], chunked: bool = False) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                if chunked:
                    self.send_header("transfer-encoding", "chunked")
                    self.end_headers()
                    half = len(body) // 2
                    for part in (body[:half], body[half:]):
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                    self.wfile.write(b"0\r\n\r\n")
                else:
                    self.send_header("content-length", str(len(body)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(body)

            def _handle(self) -> None:
                try:
                    length = int(self.headers.get("content-length") or 0)
                except ValueError:
                    self.close_connection = True
                    self._reply(400, b"bad content-length", {"content-type": "text/plain"})
                    return
                body = self.rfile.read(length) if length else b""
                if self.headers.get("transfer-encoding", "").lower() == "chunked":
                    body = b""
                    while True:
                        size = int(self.rfile.readline().strip(), 16)
                        if size == 0:
                            self.rfile.readline()
                            break
                        body += self.rfile.read(size)
                        self.rfile.readline()
                with upstream.lock:
                    upstream.hits.append((self.command, self.path))
                path = self.path.split("?", 1)[0]
                if path.startswith("/items/"):
                    item = path.rsplit("/", 1)[1]
                    self._reply(200, json.dumps({"id": item, "source": "upstream"}).encode(),
                                {"content-type": "application/json", "x-upstream": "1"})
                elif path == "/echo":
                    doc = {"method": self.command, "path": self.path, "body": body.decode("utf-8", "replace"),
                           "headers": {k.lower(): v for k, v in self.headers.items()}}
                    self._reply(201, json.dumps(doc).encode(), {"content-type": "application/json"})
                elif path == "/gzip":
                    self._reply(200, gzip.compress(b'{"compressed":true}'),
                                {"content-type": "application/json", "content-encoding": "gzip"})
                elif path == "/chunked":
                    self._reply(200, b'{"chunked":"yes, in two parts"}', {"content-type": "application/json"},
                                chunked=True)
                elif path == "/redirect":
                    self._reply(302, b"", {"location": "/items/redirected"})
                elif path == "/binary":
                    self._reply(200, bytes(range(256)), {"content-type": "application/octet-stream"})
                else:
                    self._reply(404, b'{"error":"not found"}', {"content-type": "application/json"})

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle  # noqa: N815

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"{'https' if tls else 'http'}://{self.host}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def count(self) -> int:
        with self.lock:
            return len(self.hits)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def self_signed_certificate(directory: str) -> Optional[Tuple[str, str]]:
    """(certificate, key) for 127.0.0.1 made with the openssl command, or None
    when it is not installed."""
    if shutil.which("openssl") is None:
        return None
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key
