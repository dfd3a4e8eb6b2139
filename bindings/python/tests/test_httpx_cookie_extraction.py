"""httpx's cookie extraction under a session (``httpx_transport``'s
``extract_cookies``): a response without Set-Cookie lines skips building the
urllib request and email message the cookie jar would read nothing from;
every other response, jar and policy get httpx's and the jar's own."""

from __future__ import annotations

import asyncio
import http.cookiejar
from typing import Any, Dict, List

import httpx
import pytest

STRICT = {"externalHttp": "strict"}
HOST = "cookies.test"


@pytest.fixture
def jar_calls(monkeypatch: pytest.MonkeyPatch) -> List[Dict[str, Any]]:
    """Each call of CookieJar.extract_cookies (the default jar's), with the headers it read."""
    calls: List[Dict[str, Any]] = []
    original = http.cookiejar.CookieJar.extract_cookies

    def extract(self: Any, response: Any, request: Any) -> None:
        calls.append({"set-cookie": response.info().get_all("Set-Cookie", [])})
        original(self, response, request)

    monkeypatch.setattr(http.cookiejar.CookieJar, "extract_cookies", extract)
    return calls


def _rules(s: Any) -> None:
    s.mock_outbound(method="GET", host=HOST, path="/plain", response={"status": 200, "body": "p"})
    s.mock_outbound(method="GET", host=HOST, path="/set",
                    response={"status": 200, "headers": {"Set-Cookie": ["a=1; Path=/", "b=2; Path=/"]}, "body": "s"})
    s.mock_outbound(method="GET", host=HOST, path="/echo", headers={"cookie": "a=1; b=2"},
                    response={"status": 200, "body": "sent"})


def test_answers_without_cookies_skip_the_jar_and_cookies_still_land(sp: Any, jar_calls: List[Dict[str, Any]]) -> None:
    with sp.start_session(policy=STRICT) as s, httpx.Client() as c:
        _rules(s)
        assert c.get(f"http://{HOST}/plain").text == "p"
        assert jar_calls == []
        assert c.cookies.jar._now > 0  # stamped as CookieJar.make_cookies stamps it
        assert c.get(f"http://{HOST}/set").text == "s"
        assert jar_calls == [{"set-cookie": ["a=1; Path=/", "b=2; Path=/"]}]
        assert dict(c.cookies) == {"a": "1", "b": "2"}
        assert c.get(f"http://{HOST}/echo").text == "sent"  # the jar's cookies go out on the next request
        assert s.get_stats()["stats"]["strictMisses"] == 0


def test_async_client_cookies(sp: Any, jar_calls: List[Dict[str, Any]]) -> None:
    async def go() -> Dict[str, str]:
        async with httpx.AsyncClient() as c:
            assert (await c.get(f"http://{HOST}/plain")).text == "p"
            assert jar_calls == []
            assert (await c.get(f"http://{HOST}/set")).text == "s"
            assert (await c.get(f"http://{HOST}/echo")).text == "sent"
            return dict(c.cookies)

    with sp.start_session(policy=STRICT) as s:
        _rules(s)
        assert asyncio.run(go()) == {"a": "1", "b": "2"}
        assert len(jar_calls) == 1 and s.get_stats()["stats"]["strictMisses"] == 0


def test_other_jars_and_policies_get_their_own_extract(sp: Any) -> None:
    seen: List[int] = []

    class Jar(http.cookiejar.CookieJar):
        def extract_cookies(self, response: Any, request: Any) -> None:
            seen.append(1)
            super().extract_cookies(response, request)

    class Policy(http.cookiejar.DefaultCookiePolicy):
        pass

    with sp.start_session(policy=STRICT) as s:
        _rules(s)
        with httpx.Client(cookies=Jar()) as c:
            c.get(f"http://{HOST}/plain")
        assert seen == [1]
        policy_jar = http.cookiejar.CookieJar(Policy())
        with httpx.Client(cookies=policy_jar) as c:
            c.get(f"http://{HOST}/plain")
            assert policy_jar._policy._now > 0


def test_outside_a_session_httpx_extracts_as_usual(jar_calls: List[Dict[str, Any]]) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=b"x"))
    with httpx.Client(transport=transport) as c:
        c.get(f"http://{HOST}/plain")
    assert jar_calls == [{"set-cookie": []}]


def test_a_non_ascii_header_name_goes_to_the_jar(sp: Any, jar_calls: List[Dict[str, Any]]) -> None:
    """Only an ASCII name is known not to read as Set-Cookie in the jar's
    (unicode-lowercasing) email message."""
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=[(b"X-\xc3\xa9", b"v")], content=b"x")

    with sp.start_session(policy=STRICT), httpx.Client(transport=httpx.MockTransport(handler)) as c:
        c.get(f"http://{HOST}/plain")
    assert len(jar_calls) == 1
