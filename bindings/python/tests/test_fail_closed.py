"""No silent leak in strict mode (issue 8, item 15): a request the package
cannot frame, and traffic from a context whose session is closed, get the
strict-miss answer under a strict policy and never reach the server (counted
on the server: every request line it reads). Under the allow policy they go
to the network as before."""

from __future__ import annotations

import asyncio
import contextvars
import http.client
import json
import threading
from typing import Any, Callable, Dict, List

import pytest
import urllib3

import softprobe
from support import Upstream
from test_replay import CLIENTS, Result

STRICT = {"externalHttp": "strict"}


def _strict_miss_body(session: softprobe.Session, host: str, method: str, path: str) -> Dict[str, str]:
    return {"error": "strict policy blocked unmatched outbound", "sessionId": session.id,
            "requestFingerprint": softprobe.fingerprint(method, host, path)}


# Ways of writing a request through http.client that cannot be framed as HTTP/1.1.
def cl_not_a_number(conn: http.client.HTTPConnection) -> None:
    conn.putrequest("POST", "/echo")
    conn.putheader("Content-Length", "nope")
    conn.endheaders(b"body")


def body_shorter_than_cl(conn: http.client.HTTPConnection) -> None:
    conn.putrequest("POST", "/echo")
    conn.putheader("Content-Length", "100")
    conn.endheaders(b"only this")


def bad_chunk_size(conn: http.client.HTTPConnection) -> None:
    conn.putrequest("POST", "/echo")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    conn.send(b"zz\r\nabc\r\n0\r\n\r\n")


def te_not_chunked(conn: http.client.HTTPConnection) -> None:
    conn.putrequest("POST", "/echo")
    conn.putheader("Transfer-Encoding", "gzip")
    conn.endheaders(b"\x1f\x8b not really")


def cl_and_te(conn: http.client.HTTPConnection) -> None:
    conn.putrequest("POST", "/echo")
    conn.putheader("Content-Length", "3")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders(b"3\r\nabc\r\n0\r\n\r\n")


def two_lengths(conn: http.client.HTTPConnection) -> None:
    conn.putrequest("POST", "/echo")
    conn.putheader("Content-Length", "1")
    conn.putheader("Content-Length", "4")
    conn.endheaders(b"body")


UNFRAMEABLE: Dict[str, Callable[[http.client.HTTPConnection], None]] = {
    "content-length-not-a-number": cl_not_a_number,
    "body-shorter-than-content-length": body_shorter_than_cl,
    "bad-chunk-size": bad_chunk_size,
    "transfer-encoding-not-chunked": te_not_chunked,
    "content-length-and-transfer-encoding": cl_and_te,
    "two-content-lengths": two_lengths,
}


@pytest.mark.parametrize("opened_before", [False, True], ids=["new-connection", "connection-opened-before"])
@pytest.mark.parametrize("write", list(UNFRAMEABLE.values()), ids=list(UNFRAMEABLE))
def test_unframeable_request_under_strict_gets_the_strict_miss(write: Callable[[http.client.HTTPConnection], None],
                                                               opened_before: bool, upstream: Upstream,
                                                               sp: softprobe.Softprobe) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", upstream.port, timeout=2)
    try:
        if opened_before:
            conn.request("GET", "/items/before")
            assert conn.getresponse().read()
        seen = upstream.heads
        with sp.start_session(policy=STRICT) as s:
            s.mock_outbound(method="POST", path="/echo", response={"body": "a rule must not answer what was not read"})
            write(conn)
            r = conn.getresponse()
            status, headers, body = r.status, dict(r.getheaders()), r.read()
            stats = s.get_stats()["stats"]
            misses = s.strict_misses()
    finally:
        conn.close()
    assert status == 599 and headers["x-softprobe-strict-miss"] == "1"
    assert json.loads(body) == _strict_miss_body(s, upstream.host, "POST", "/echo")
    assert upstream.heads == seen, "an unframeable request of a strict session reached the server"
    assert stats["strictMisses"] == 1 and [(m["method"], m["path"]) for m in misses] == [("POST", "/echo")]


def test_unframeable_request_through_urllib3_under_strict(upstream: Upstream, sp: softprobe.Softprobe) -> None:
    with urllib3.PoolManager() as pool, sp.start_session(policy=STRICT):
        r = pool.request("POST", f"{upstream.url}/echo", body=b"body", headers={"Content-Length": "nope"},
                         retries=False)
    assert r.status == 599 and r.headers["x-softprobe-strict-miss"] == "1"
    assert upstream.heads == 0


@pytest.mark.parametrize("policy", [{"defaultOnMiss": "error"}, {"blockHosts": ["127.0.0.1"]}],
                         ids=["defaultOnMiss-error", "blockHosts"])
def test_unframeable_request_under_other_refusing_policies(policy: Dict[str, Any], upstream: Upstream,
                                                          sp: softprobe.Softprobe) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", upstream.port, timeout=2)
    try:
        with sp.start_session(policy=policy):
            cl_not_a_number(conn)
            r = conn.getresponse()
            status, headers = r.status, dict(r.getheaders())
            r.read()
    finally:
        conn.close()
    assert status == 599 and headers["x-softprobe-strict-miss"] == "1"
    assert upstream.heads == 0


def test_unframeable_request_under_allow_goes_to_the_server(upstream: Upstream, sp: softprobe.Softprobe) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", upstream.port, timeout=5)
    try:
        with sp.start_session() as s:
            cl_not_a_number(conn)
            r = conn.getresponse()
            status, body = r.status, r.read()
            assert s.get_stats()["stats"]["strictMisses"] == 0
    finally:
        conn.close()
    assert (status, body) == (400, b"bad content-length")  # the server judged it
    assert upstream.heads == 1


def test_bytes_after_the_end_of_a_request_are_not_sent_under_strict(upstream: Upstream, sp: softprobe.Softprobe,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", upstream.port, timeout=2)
    try:
        with sp.start_session(policy=STRICT) as s:
            s.mock_outbound(path="/items/1", response={"body": "mocked"})
            conn.putrequest("POST", "/items/1")
            conn.putheader("Content-Length", "2")
            conn.endheaders(b"okGET /items/smuggled HTTP/1.1\r\nHost: x\r\n\r\n")
            r = conn.getresponse()
            assert r.read() == b"mocked"
            assert "GET http://127.0.0.1:%d/items/smuggled was answered 599 by the strict policy: bytes after the end " \
                   "of the request" % upstream.port in caplog.text
            # The next request on the connection settles the leftover bytes first.
            conn.request("GET", "/items/2")
            r = conn.getresponse()
            assert r.status == 599
            r.read()
            assert s.get_stats()["stats"]["strictMisses"] == 2
    finally:
        conn.close()
    assert upstream.heads == 0


def test_unframeable_request_to_an_allowlisted_host_follows_the_policy(upstream: Upstream,
                                                                      sp: softprobe.Softprobe) -> None:
    """The policy decides, in the core: a strict policy that allows this host
    forwards the unframeable request."""
    conn = http.client.HTTPConnection("127.0.0.1", upstream.port, timeout=5)
    try:
        with sp.start_session(policy={"externalHttp": "strict", "externalAllowlist": ["127.0.0.1"]}):
            cl_not_a_number(conn)
            r = conn.getresponse()
            status = r.status
            r.read()
    finally:
        conn.close()
    assert status == 400 and upstream.heads == 1


clients = pytest.mark.parametrize("call", list(CLIENTS.values()), ids=list(CLIENTS))


@clients
def test_context_whose_session_was_closed_gets_the_strict_miss(call: Callable[..., Result], upstream: Upstream,
                                                               sp: softprobe.Softprobe) -> None:
    s = sp.start_session(policy=STRICT)
    with s.activate():
        s.mock_outbound(path="/items/1", response={"body": "mocked"})
        s.close()
        status, headers, body = call("GET", f"{upstream.url}/items/1")
    assert status == 599 and headers["x-softprobe-strict-miss"] == "1"
    assert json.loads(body) == _strict_miss_body(s, upstream.host, "GET", "/items/1")
    assert upstream.heads == 0
    assert s.get_stats()["stats"]["strictMisses"] == 1
    assert [m["path"] for m in s.strict_misses()] == ["/items/1"]


@clients
def test_context_whose_session_was_closed_passes_through_under_allow(call: Callable[..., Result], upstream: Upstream,
                                                                     sp: softprobe.Softprobe, tmp_path: Any) -> None:
    s = sp.start_session("capture")
    with s.activate():
        s.mock_outbound(path="/items/1", response={"body": "mocked"})
        s.close(tmp_path / "closed.case.json")
        status, _, body = call("GET", f"{upstream.url}/items/1")
    assert status == 200 and json.loads(body)["source"] == "upstream"  # no rule answers after close
    assert upstream.heads == 1
    assert json.loads((tmp_path / "closed.case.json").read_text())["traces"] == []  # nothing recorded after close


def test_session_closed_through_another_handle(upstream: Upstream, sp: softprobe.Softprobe) -> None:
    with sp.start_session(policy=STRICT) as s:
        sp.attach(s.id).close()
        status, _, body = CLIENTS["urllib3"]("GET", f"{upstream.url}/items/1")
    assert status == 599 and json.loads(body)["sessionId"] == s.id
    assert upstream.heads == 0


def test_thread_that_outlives_its_session_gets_the_strict_miss(upstream: Upstream, sp: softprobe.Softprobe) -> None:
    """A thread running in a copy of the session's context, still working
    after the session ended: its requests are still the session's."""
    go, results = threading.Event(), []  # type: ignore[var-annotated]

    def work() -> None:
        go.wait(5)
        for name in ("requests", "urllib3", "httpx"):
            results.append(CLIENTS[name]("GET", f"{upstream.url}/items/late")[0])

    with sp.start_session(policy=STRICT):
        t = threading.Thread(target=contextvars.copy_context().run, args=(work,))
        t.start()
    go.set()
    t.join(10)
    assert results == [599, 599, 599]
    assert upstream.heads == 0


def test_task_that_outlives_its_session_gets_the_strict_miss(upstream: Upstream, sp: softprobe.Softprobe) -> None:
    async def late(gate: asyncio.Event) -> List[int]:
        await gate.wait()
        return [CLIENTS["requests"]("GET", f"{upstream.url}/items/late")[0]]

    async def main() -> List[int]:
        gate = asyncio.Event()
        with sp.start_session(policy=STRICT):
            task = asyncio.ensure_future(late(gate))
        gate.set()
        return await task

    assert asyncio.run(main()) == [599]
    assert upstream.heads == 0


def test_capture_closed_while_a_response_is_read(upstream: Upstream, sp: softprobe.Softprobe, tmp_path: Any,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    """The request was forwarded before close; its response arrives after:
    the client gets it, and the log says it is not in the case."""
    out = tmp_path / "early.case.json"
    conn = http.client.HTTPConnection("127.0.0.1", upstream.port, timeout=5)
    try:
        with sp.start_session("capture") as s:
            conn.request("GET", "/items/late")
            s.close(out)
            r = conn.getresponse()
            status, body = r.status, r.read()
    finally:
        conn.close()
    assert status == 200 and json.loads(body)["id"] == "late"
    assert json.loads(out.read_text())["traces"] == []
    assert "was closed before GET http://127.0.0.1" in caplog.text and "not in its case" in caplog.text
