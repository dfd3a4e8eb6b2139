"""HTTP/1.1 framing used by the socket-level interceptors."""

from __future__ import annotations

import http.client
import json

import pytest

import softprobe
from softprobe._intercept._wire import CHUNKED, body_framing, parse_request, serialize_response
from support import Upstream


def test_parse_request_frames_by_length_and_chunks() -> None:
    head = b"POST /a?b=1 HTTP/1.1\r\nHost: x.test:81\r\nContent-Length: 5\r\n\r\n"
    assert parse_request(head + b"hel") is None
    req = parse_request(head + b"hello" + b"GET /next")
    assert req is not None and (req.method, req.target, req.body, req.size) == ("POST", "/a?b=1", b"hello",
                                                                                 len(head) + 5)
    assert req.header("HOST") == "x.test:81"
    chunked = b"PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n"
    assert parse_request(chunked) is None
    done = parse_request(chunked + b"Trailer: x\r\n\r\n")
    assert done is not None and done.body == b"abcde"
    with pytest.raises(ValueError):
        parse_request(b"PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")


@pytest.mark.parametrize("head, message", [
    (b"POST / HTTP/1.1\r\nContent-Length: 1x", "Content-Length '1x' is not a length"),
    (b"POST / HTTP/1.1\r\nContent-Length: -1", "Content-Length '-1' is not a length"),
    (b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2", "different Content-Length values [1, 2]"),
    (b"POST / HTTP/1.1\r\nContent-Length: 3, 4", "different Content-Length values [3, 4]"),
    (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip", "Transfer-Encoding 'chunked, gzip' does not end with "
                                                            "chunked"),
    (b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked",
     "both Content-Length and Transfer-Encoding"),
])
def test_framing_a_server_could_read_differently_is_refused(head: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        body_framing(head)
    with pytest.raises(ValueError):
        parse_request(head + b"\r\n\r\nabc")


def test_framing_that_is_read_alike() -> None:
    assert body_framing(b"GET / HTTP/1.1\r\nHost: x") == 0
    assert body_framing(b"POST / HTTP/1.1\r\ncontent-length: 7") == 7
    assert body_framing(b"POST / HTTP/1.1\r\nContent-Length: 7, 7") == 7  # the same value twice (RFC 9110 8.6)
    assert body_framing(b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: Chunked") == CHUNKED


@pytest.mark.parametrize("head", [b"GET /\r\n", b"GET / HTTP/2\r\n", b"GET  / HTTP/1.1\r\n",
                                  b"GET / HTTP/1.1\r\nno colon\r\n", b"GET / HTTP/1.1\r\nName : v\r\n"])
def test_request_lines_and_headers_that_are_not_http11_are_refused(head: bytes) -> None:
    with pytest.raises(ValueError, match="malformed"):
        parse_request(head + b"\r\n")


def test_serialize_response_recomputes_framing() -> None:
    raw = serialize_response(200, [("Content-Type", "text/plain"), ("Transfer-Encoding", "chunked"),
                                   ("Content-Length", "999")], b"abc")
    assert raw == b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\ncontent-length: 3\r\n\r\nabc"
    assert serialize_response(204, [], b"ignored") == b"HTTP/1.1 204 No Content\r\n\r\n"
    assert serialize_response(599, [], b"{}").startswith(b"HTTP/1.1 599 \r\n")
    assert serialize_response(200, [], b"abc", head=True).endswith(b"content-length: 3\r\n\r\n")


def test_http_client_chunked_request_body_is_decided_with_its_bytes(sp: softprobe.Softprobe) -> None:
    with sp.start_session(policy={"externalHttp": "strict"}) as s:
        s.mock_outbound(method="POST", path="/up", body_json_path="$.n", equals=3, response={"body": "got 3"})
        conn = http.client.HTTPConnection("api.example.test")
        conn.request("POST", "/up", body=iter([b'{"n":', b"3}"]), encode_chunked=True,
                     headers={"Transfer-Encoding": "chunked"})
        assert conn.getresponse().read() == b"got 3"
        conn.close()


def test_unframeable_request_goes_to_the_server_untouched(upstream: Upstream, sp: softprobe.Softprobe) -> None:
    with sp.start_session() as s:
        conn = http.client.HTTPConnection("127.0.0.1", upstream.port)
        conn.putrequest("POST", "/echo")
        conn.putheader("Content-Length", "five")  # not a number: softprobe cannot frame it
        conn.endheaders()
        r = conn.getresponse()
        assert (r.status, r.read()) == (400, b"bad content-length")  # the server's own answer
        conn.close()
        assert s.get_stats()["stats"]["injectedSpans"] == 0


def test_upstream_echo_through_the_wire(upstream: Upstream, sp: softprobe.Softprobe) -> None:
    with sp.start_session():
        conn = http.client.HTTPConnection("127.0.0.1", upstream.port)
        body = b"x" * 200_000  # several sendall calls
        conn.request("POST", "/echo", body=body, headers={"content-type": "text/plain"})
        doc = json.loads(conn.getresponse().read())
        conn.close()
    assert doc["body"] == body.decode()
