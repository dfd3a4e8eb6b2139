"""Connections opened before a session are decided per request (issue 8, item 14).

A keep-alive connection that was already connected to the real server when
the session started (a module-level urllib3 pool, an http.client connection,
a requests.Session whose pool was used once) must not carry a strict
session's request to the network, must be recorded by a capture session, and
must work as a plain network connection again once the session is over.
Every check of "the server saw nothing" counts request lines on the server.
"""

from __future__ import annotations

import http.client
import json
from typing import Any, Callable, Dict, Iterator, List, Tuple

import pytest
import requests
import urllib3

import softprobe
from support import Upstream, self_signed_certificate

STRICT = {"externalHttp": "strict"}


def _pooled_socket(manager: Any, upstream: Upstream) -> Any:
    """The socket of the one idle connection a PoolManager keeps to upstream."""
    pools = [manager.pools[key] for key in manager.pools.keys() if key.key_port == upstream.port]
    assert len(pools) == 1
    cp = pools[0]
    assert cp.num_connections == 1, "the pool opened a new connection: the test must reuse the first one"
    return cp.pool.queue[-1].sock


class Client:
    """One pre-opened client: get(path) -> (status, body); the connection's socket."""

    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream

    def get(self, path: str) -> Tuple[int, bytes]:  # pragma: no cover - overridden
        raise NotImplementedError

    def socket(self) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class Urllib3Pool(Client):
    def __init__(self, upstream: Upstream) -> None:
        super().__init__(upstream)
        self.pool = urllib3.PoolManager()

    def get(self, path: str) -> Tuple[int, bytes]:
        r = self.pool.request("GET", f"{self.upstream.url}{path}", retries=False)
        return r.status, r.data

    def socket(self) -> Any:
        return _pooled_socket(self.pool, self.upstream)

    def close(self) -> None:
        self.pool.clear()


class HttpClientConnection(Client):
    def __init__(self, upstream: Upstream) -> None:
        super().__init__(upstream)
        self.conn = http.client.HTTPConnection("127.0.0.1", upstream.port, timeout=5)

    def get(self, path: str) -> Tuple[int, bytes]:
        self.conn.request("GET", path)
        r = self.conn.getresponse()
        return r.status, r.read()

    def socket(self) -> Any:
        return self.conn.sock

    def close(self) -> None:
        self.conn.close()


class RequestsSession(Client):
    def __init__(self, upstream: Upstream) -> None:
        super().__init__(upstream)
        self.session = requests.Session()

    def get(self, path: str) -> Tuple[int, bytes]:
        r = self.session.get(f"{self.upstream.url}{path}")
        return r.status_code, r.content

    def socket(self) -> Any:
        return _pooled_socket(self.session.get_adapter(self.upstream.url).poolmanager, self.upstream)

    def close(self) -> None:
        self.session.close()


KINDS: Dict[str, Callable[[Upstream], Client]] = {
    "urllib3-PoolManager": Urllib3Pool,
    "http.client": HttpClientConnection,
    "requests.Session": RequestsSession,
}


@pytest.fixture(params=list(KINDS), ids=list(KINDS))
def opened(request: Any, upstream: Upstream) -> Iterator[Client]:
    """A client that made one request to the real server before any session."""
    client = KINDS[request.param](upstream)
    try:
        status, body = client.get("/items/before")
        assert status == 200 and json.loads(body)["source"] == "upstream"
        assert upstream.heads == 1
        yield client
    finally:
        client.close()


def test_strict_replay_never_uses_a_connection_opened_before(opened: Client, upstream: Upstream,
                                                             sp: softprobe.Softprobe) -> None:
    real = opened.socket()
    with sp.start_session(policy=STRICT) as s:
        s.mock_outbound(path="/items/mocked", response={"body": "mocked"})
        assert opened.get("/items/mocked") == (200, b"mocked")
        status, body = opened.get("/items/1")
        stats = s.get_stats()["stats"]
    assert status == 599
    assert json.loads(body) == {"error": "strict policy blocked unmatched outbound", "sessionId": s.id,
                                "requestFingerprint": softprobe.fingerprint("GET", upstream.host, "/items/1")}
    assert stats["strictMisses"] == 1 and stats["injectedSpans"] == 1 and stats["decisions"] == 2
    assert upstream.heads == 1, "a request of the strict session reached the server"
    # After the session the same keep-alive connection is a plain one again.
    status, body = opened.get("/items/after")
    assert status == 200 and json.loads(body) == {"id": "after", "source": "upstream"}
    assert upstream.hits == [("GET", "/items/before"), ("GET", "/items/after")]
    assert opened.socket() is real, "no softprobe state is left on the connection"


def test_capture_records_every_request_through_a_connection_opened_before(opened: Client, upstream: Upstream,
                                                                          sp: softprobe.Softprobe,
                                                                          tmp_path: Any) -> None:
    out = tmp_path / "pooled.case.json"
    real = opened.socket()
    with sp.start_session("capture") as s:
        for i in range(3):
            status, body = opened.get(f"/items/{i}")
            assert status == 200 and json.loads(body) == {"id": str(i), "source": "upstream"}
        assert s.get_stats()["stats"]["extractedSpans"] == 3
        s.close(out)
    assert upstream.heads == 4
    case = json.loads(out.read_text())
    paths = [a["value"]["stringValue"] for trace in case["traces"] for rs in trace["resourceSpans"]
             for ss in rs["scopeSpans"] for span in ss["spans"] for a in span["attributes"] if a["key"] == "url.path"]
    assert paths == ["/items/0", "/items/1", "/items/2"]
    # Teed through the connection's own TCP connection, not a new one.
    assert opened.socket().getsockname() == real.getsockname()
    # After the session: plain network, nothing recorded anywhere.
    assert opened.get("/items/after")[0] == 200
    assert upstream.heads == 5
    assert opened.socket() is real, "no softprobe state is left on the connection"


def test_a_connection_alternates_between_sessions_and_the_network(upstream: Upstream, sp: softprobe.Softprobe) -> None:
    """Each request goes through the session active at its own time: no state
    of one session's request survives into the next request."""
    pool = urllib3.PoolManager()
    try:
        url = f"{upstream.url}/items/x"
        assert pool.request("GET", url).status == 200
        for _ in range(2):
            with sp.start_session(policy=STRICT):
                assert pool.request("GET", url).status == 599
            assert pool.request("GET", url).status == 200
            with sp.start_session() as s:
                s.mock_outbound(path="/items/x", response={"body": "mocked"})
                assert pool.request("GET", url).data == b"mocked"
            with sp.start_session("capture") as c:
                assert pool.request("GET", url).status == 200
                assert c.get_stats()["stats"]["extractedSpans"] == 1
                c.close("")
        _pooled_socket(pool, upstream)  # still the first connection
    finally:
        pool.clear()
    assert upstream.heads == 1 + 2 * 2


def test_a_session_in_another_thread_does_not_see_this_threads_connection(upstream: Upstream,
                                                                          sp: softprobe.Softprobe) -> None:
    """A connection used by a thread with no session stays plain while another
    thread has a strict session active."""
    import threading

    conn = http.client.HTTPConnection("127.0.0.1", upstream.port, timeout=5)
    results = []
    try:
        with sp.start_session(policy=STRICT):
            def plain() -> None:
                conn.request("GET", "/items/other-thread")
                results.append(conn.getresponse().status)

            t = threading.Thread(target=plain)
            t.start()
            t.join()
    finally:
        conn.close()
    assert results == [200]
    assert upstream.heads == 1


@pytest.fixture(scope="module")
def tls_upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tuple[Upstream, str]]:
    files = self_signed_certificate(str(tmp_path_factory.mktemp("tls")))
    if files is None:
        pytest.skip("needs the openssl command to make a certificate")
    server = Upstream(tls=files)
    yield server, files[0]
    server.close()


def test_tls_connections_opened_before_are_decided_per_request(tls_upstream: Tuple[Upstream, str],
                                                               sp: softprobe.Softprobe, tmp_path: Any) -> None:
    """The same through TLS: the wire wraps the connection's TLS socket."""
    import ssl

    upstream, ca = tls_upstream
    with upstream.lock:
        upstream.heads = 0
    pool = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=ca)
    conn = http.client.HTTPSConnection("127.0.0.1", upstream.port, timeout=5,
                                       context=ssl.create_default_context(cafile=ca))
    try:
        def both() -> List[int]:
            conn.request("GET", "/items/tls")
            r = conn.getresponse()
            r.read()
            return [pool.request("GET", f"{upstream.url}/items/tls", retries=False).status, r.status]

        assert both() == [200, 200]
        real = (_pooled_socket(pool, upstream), conn.sock)
        assert all(isinstance(s, ssl.SSLSocket) for s in real)
        with sp.start_session(policy=STRICT):
            assert both() == [599, 599]
        assert upstream.heads == 2
        with sp.start_session("capture") as s:
            assert both() == [200, 200]
            s.close(tmp_path / "tls.case.json")
        assert upstream.heads == 4
        case = json.loads((tmp_path / "tls.case.json").read_text())
        assert sum(len(ss["spans"]) for t in case["traces"] for rs in t["resourceSpans"] for ss in rs["scopeSpans"]) == 2
        assert both() == [200, 200]
        assert (_pooled_socket(pool, upstream), conn.sock) == real
    finally:
        conn.close()
        pool.clear()
    assert upstream.heads == 6
