"""The canonical request property (issue 10): one request sent by every Python
client records the same canonical path, query, headers and fingerprint, the
form in tests/fixtures/canonical_request/same-request.json that the Node suite
checks too (docs/requests.md)."""
from __future__ import annotations

import asyncio
import http.client
import json
import pathlib
import urllib.request
from typing import Any, Callable, Dict, List, Tuple

import aiohttp
import httpx
import pytest
import requests
import urllib3
from multidict import CIMultiDict

import softprobe
from support import Upstream

FIXTURE = json.loads((pathlib.Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "canonical_request" /
                      "same-request.json").read_text())
METHOD: str = FIXTURE["method"]
TARGET: str = FIXTURE["target"]
LINES: List[Tuple[str, str]] = [(n, v) for n, v in FIXTURE["headers"]]
BODY: bytes = FIXTURE["body"].encode()


def folded() -> Dict[str, str]:
    """The header lines as one value per name (for the clients whose API has no repeated names)."""
    out: Dict[str, str] = {}
    for n, v in LINES:
        out[n] = out[n] + ", " + v if n in out else v
    return out


def via_http_client(base: str) -> int:
    host, port = base.split("://", 1)[1].split(":")
    conn = http.client.HTTPConnection(host, int(port))
    try:
        conn.putrequest(METHOD, TARGET)
        for n, v in LINES:
            conn.putheader(n, v)
        conn.putheader("Content-Length", str(len(BODY)))
        conn.endheaders(BODY)
        r = conn.getresponse()
        r.read()
        return r.status
    finally:
        conn.close()


def via_urllib(base: str) -> int:
    req = urllib.request.Request(base + TARGET, data=BODY, method=METHOD, headers=folded())
    try:
        with urllib.request.urlopen(req) as r:
            r.read()
            return int(r.status)
    except urllib.error.HTTPError as e:
        with e:
            return e.code


def via_requests(base: str) -> int:
    return requests.request(METHOD, base + TARGET, data=BODY, headers=folded()).status_code


def via_urllib3(base: str) -> int:
    headers = urllib3.HTTPHeaderDict()
    for n, v in LINES:
        headers.add(n, v)
    with urllib3.PoolManager() as pool:
        return pool.request(METHOD, base + TARGET, body=BODY, headers=headers).status


def via_httpx(base: str) -> int:
    with httpx.Client() as c:
        return c.request(METHOD, base + TARGET, content=BODY, headers=LINES).status_code


def via_httpx_async(base: str) -> int:
    async def go() -> int:
        async with httpx.AsyncClient() as c:
            return (await c.request(METHOD, base + TARGET, content=BODY, headers=LINES)).status_code

    return asyncio.run(go())


def via_aiohttp(base: str) -> int:
    async def go() -> int:
        async with aiohttp.ClientSession() as c:
            async with c.request(METHOD, base + TARGET, data=BODY, headers=CIMultiDict(LINES)) as r:
                await r.read()
                return r.status

    return asyncio.run(go())


# (send, whether the client's API folds repeated header names into one line)
CLIENTS: Dict[str, Tuple[Callable[[str], int], bool]] = {
    "http.client": (via_http_client, False),
    "urllib": (via_urllib, True),
    "requests": (via_requests, True),
    "urllib3": (via_urllib3, False),
    "httpx": (via_httpx, False),
    "httpx-async": (via_httpx_async, False),
    "aiohttp": (via_aiohttp, False),
}


def _values(span: Dict[str, Any], key: str) -> Any:
    for a in span["attributes"]:
        if a["key"] == key:
            v = a["value"]
            if "arrayValue" in v:
                return [x["stringValue"] for x in v["arrayValue"]["values"]]
            return [v.get("stringValue", v.get("intValue"))]
    return None


@pytest.mark.parametrize("name", list(CLIENTS))
def test_every_client_records_the_same_canonical_request(name: str, upstream: Upstream, sp: softprobe.Softprobe,
                                                         tmp_path: Any) -> None:
    send, folds = CLIENTS[name]
    exp = FIXTURE["expected"]

    out = tmp_path / "canonical.case.json"
    with sp.start_session("capture", case_id=f"canonical-{name}") as s:
        status = send(upstream.url)  # the upstream's answer (it serves no such path), not a softprobe one
        assert status not in (0, 599)
        s.close(str(out))
    spans = [span for t in json.loads(out.read_text())["traces"] for rs in t["resourceSpans"]
             for ss in rs["scopeSpans"] for span in ss["spans"]]
    assert len(spans) == 1
    span = spans[0]
    assert _values(span, "http.request.method") == [exp["method"]]
    assert str(_values(span, "http.response.status_code")[0]) == str(status)
    assert _values(span, "url.path") == [exp["path"]]
    assert _values(span, "url.query") == [exp["query"]]
    assert _values(span, "http.request.header.host") == [upstream.host]
    for header, values in (exp["foldedHeaders"] if folds else exp["headers"]).items():
        assert _values(span, f"http.request.header.{header}") == values, header

    # Strict replay: the decision sees the same form and reports its fingerprint.
    with sp.start_session("replay", policy={"externalHttp": "strict"}) as r:
        assert send(upstream.url) == 599
        misses = r.strict_misses()
    assert len(misses) == 1
    assert misses[0]["path"] == exp["path"]
    assert misses[0]["query"] == exp["query"]
    assert misses[0]["requestFingerprint"] == softprobe.fingerprint(exp["method"], upstream.host, exp["path"], BODY)
