"""Every supported client behind one small interface, for test_fidelity.py.

A ``Client`` is opened once (its pool, connection or session) and then used
for several requests, so "a pool opened before the session" is the same
object used before and during sessions. Each request returns a ``Seen``: what
the application sees through that client's own API.
"""

from __future__ import annotations

import asyncio
import http.client
import http.cookies
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple, Type, TypeVar

import aiohttp
import httpx
import requests
import urllib3

T = TypeVar("T")


class Seen:
    """What the application saw: status, headers (one entry per header as
    the client exposes them, names lowercased), body (as the client hands it
    over: decoded where the client decodes), set-cookie lines, cookie names
    in the client's jar (names parsed from the lines for clients without a
    jar), the final URL's path and the statuses of the redirects followed."""

    def __init__(self, status: int, headers: List[Tuple[str, str]], body: bytes, set_cookies: List[str],
                 jar: Optional[List[str]] = None, path: str = "", history: Optional[List[int]] = None) -> None:
        self.status = status
        self.headers = [(k.lower(), v) for k, v in headers]
        self.body = body
        self.set_cookies = list(set_cookies)
        self.jar = sorted(jar if jar is not None else _cookie_names(set_cookies))
        self.path = path
        self.history = history or []

    def header(self, name: str) -> Optional[str]:
        for k, v in self.headers:
            if k == name:
                return v
        return None

    def view(self) -> Dict[str, Any]:
        """Everything compared between live, capture and replay."""
        return {"status": self.status, "content-length": self.header("content-length"),
                "content-encoding": self.header("content-encoding"), "content-type": self.header("content-type"),
                "body": self.body, "set-cookie": self.set_cookies, "jar": self.jar, "path": self.path,
                "history": self.history}


def _cookie_names(lines: List[str]) -> List[str]:
    names = []
    for line in lines:
        c: http.cookies.SimpleCookie = http.cookies.SimpleCookie()
        c.load(line)
        names += list(c.keys())
    return names


class Client:
    name = ""
    follows_redirects = True
    has_pool = True
    timeout_error: Type[BaseException] = Exception

    def __init__(self, base: str) -> None:
        self.base = base

    def fetch(self, method: str, path: str) -> Seen:
        raise NotImplementedError

    def stream(self, path: str, on_first: Callable[[], None]) -> bytes:
        """Reads the body piece by piece as the client streams it, calling
        ``on_first`` once the first piece is in the application's hands."""
        raise NotImplementedError

    def fetch_with_timeout(self, path: str, seconds: float) -> Seen:
        """A GET with the client's own read timeout."""
        raise NotImplementedError

    def close(self) -> None:
        pass


class HttpClient(Client):
    name = "http.client"
    follows_redirects = False
    timeout_error = TimeoutError

    def __init__(self, base: str) -> None:
        super().__init__(base)
        u = urllib.parse.urlsplit(base)
        self.conn = http.client.HTTPConnection(u.hostname or "", u.port)

    def _go(self, conn: http.client.HTTPConnection, method: str, path: str) -> Seen:
        conn.request(method, path)
        r = conn.getresponse()
        body = r.read()
        headers = r.getheaders()
        return Seen(r.status, headers, body, [v for k, v in headers if k.lower() == "set-cookie"], path=path)

    def fetch(self, method: str, path: str) -> Seen:
        return self._go(self.conn, method, path)

    def stream(self, path: str, on_first: Callable[[], None]) -> bytes:
        self.conn.request("GET", path)
        r = self.conn.getresponse()
        try:
            first = r.readline()
            on_first()
            return first + r.read()
        finally:
            r.close()

    def fetch_with_timeout(self, path: str, seconds: float) -> Seen:
        u = urllib.parse.urlsplit(self.base)
        conn = http.client.HTTPConnection(u.hostname or "", u.port, timeout=seconds)
        try:
            return self._go(conn, "GET", path)
        finally:
            conn.close()

    def close(self) -> None:
        self.conn.close()


class Urllib(Client):
    name = "urllib"
    has_pool = False
    timeout_error = TimeoutError

    def fetch(self, method: str, path: str, timeout: Optional[float] = None) -> Seen:
        req = urllib.request.Request(self.base + path, method=method)
        kwargs = {} if timeout is None else {"timeout": timeout}
        try:
            r = urllib.request.urlopen(req, **kwargs)
        except urllib.error.HTTPError as e:
            r = e
        with r:
            body = r.read()
            headers = r.headers.items()
            final = urllib.parse.urlsplit(r.geturl()).path
            return Seen(r.status, headers, body, r.headers.get_all("set-cookie") or [], path=final)

    def stream(self, path: str, on_first: Callable[[], None]) -> bytes:
        with urllib.request.urlopen(self.base + path) as r:
            first = r.readline()
            on_first()
            return bytes(first + r.read())

    def fetch_with_timeout(self, path: str, seconds: float) -> Seen:
        return self.fetch("GET", path, seconds)


class Urllib3(Client):
    name = "urllib3"
    timeout_error = urllib3.exceptions.ReadTimeoutError

    def __init__(self, base: str) -> None:
        super().__init__(base)
        self.pool = urllib3.PoolManager()

    def fetch(self, method: str, path: str, **kwargs: Any) -> Seen:
        r = self.pool.request(method, self.base + path, retries=urllib3.Retry(total=3, read=False), **kwargs)
        history = [h.status for h in r.retries.history] if r.retries else []
        final = urllib.parse.urlsplit(r.geturl() or path).path or path
        return Seen(r.status, list(r.headers.items()), r.data, r.headers.getlist("set-cookie"), path=final,
                    history=history)

    def stream(self, path: str, on_first: Callable[[], None]) -> bytes:
        r = self.pool.request("GET", self.base + path, preload_content=False)
        out = b""
        try:
            for piece in r.stream(None):
                if not out:
                    on_first()
                out += piece
        except BaseException:
            r.close()  # what an application leaving early does: the connection is not reused
            raise
        r.release_conn()
        return out

    def fetch_with_timeout(self, path: str, seconds: float) -> Seen:
        return self.fetch("GET", path, timeout=urllib3.Timeout(connect=5.0, read=seconds))

    def close(self) -> None:
        self.pool.clear()


class Requests(Client):
    name = "requests"
    timeout_error = requests.exceptions.ReadTimeout

    def __init__(self, base: str) -> None:
        super().__init__(base)
        self.session = requests.Session()

    def fetch(self, method: str, path: str, **kwargs: Any) -> Seen:
        self.session.cookies.clear()
        r = self.session.request(method, self.base + path, **kwargs)
        return Seen(r.status_code, list(r.raw.headers.items()), r.content, r.raw.headers.getlist("set-cookie"),
                    jar=[c.name for c in self.session.cookies], path=urllib.parse.urlsplit(r.url).path,
                    history=[h.status_code for h in r.history])

    def stream(self, path: str, on_first: Callable[[], None]) -> bytes:
        with self.session.get(self.base + path, stream=True) as r:
            out = b""
            for piece in r.iter_content(chunk_size=None):
                if not out:
                    on_first()
                out += piece
            return out

    def fetch_with_timeout(self, path: str, seconds: float) -> Seen:
        return self.fetch("GET", path, timeout=(5.0, seconds))

    def close(self) -> None:
        self.session.close()


class Httpx(Client):
    name = "httpx"
    timeout_error = httpx.ReadTimeout

    def __init__(self, base: str) -> None:
        super().__init__(base)
        self.client = httpx.Client(follow_redirects=True)

    def _seen(self, r: httpx.Response) -> Seen:
        return Seen(r.status_code, list(r.headers.multi_items()), r.content, r.headers.get_list("set-cookie"),
                    jar=[c.name for c in self.client.cookies.jar], path=r.url.path,
                    history=[h.status_code for h in r.history])

    def fetch(self, method: str, path: str, **kwargs: Any) -> Seen:
        self.client.cookies.clear()
        return self._seen(self.client.request(method, self.base + path, **kwargs))

    def stream(self, path: str, on_first: Callable[[], None]) -> bytes:
        out = b""
        with self.client.stream("GET", self.base + path) as r:
            for piece in r.iter_bytes():
                if not out:
                    on_first()
                out += piece
        return out

    def fetch_with_timeout(self, path: str, seconds: float) -> Seen:
        return self.fetch("GET", path, timeout=httpx.Timeout(5.0, read=seconds))

    def close(self) -> None:
        self.client.close()


class _Async(Client):
    """An async client driven from synchronous tests: its own event loop,
    in which every request runs as a task (it copies the caller's context,
    so the session active in the test is active in the task)."""

    def __init__(self, base: str) -> None:
        super().__init__(base)
        self.loop = asyncio.new_event_loop()

    def run(self, coro: Awaitable[T]) -> T:
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        self.run(self.aclose())
        self.loop.close()

    async def aclose(self) -> None:
        pass


class HttpxAsync(_Async):
    name = "httpx-async"
    timeout_error = httpx.ReadTimeout

    def __init__(self, base: str) -> None:
        super().__init__(base)

        async def make() -> httpx.AsyncClient:
            return httpx.AsyncClient(follow_redirects=True)

        self.client = self.run(make())

    def fetch(self, method: str, path: str, **kwargs: Any) -> Seen:
        async def go() -> Seen:
            self.client.cookies.clear()
            r = await self.client.request(method, self.base + path, **kwargs)
            return Seen(r.status_code, list(r.headers.multi_items()), r.content, r.headers.get_list("set-cookie"),
                        jar=[c.name for c in self.client.cookies.jar], path=r.url.path,
                        history=[h.status_code for h in r.history])

        return self.run(go())

    def stream(self, path: str, on_first: Callable[[], None]) -> bytes:
        async def go() -> bytes:
            out = b""
            async with self.client.stream("GET", self.base + path) as r:
                async for piece in r.aiter_bytes():
                    if not out:
                        on_first()
                    out += piece
            return out

        return self.run(go())

    def fetch_with_timeout(self, path: str, seconds: float) -> Seen:
        return self.fetch("GET", path, timeout=httpx.Timeout(5.0, read=seconds))

    async def aclose(self) -> None:
        await self.client.aclose()


class Aiohttp(_Async):
    name = "aiohttp"
    timeout_error = aiohttp.SocketTimeoutError

    def __init__(self, base: str) -> None:
        super().__init__(base)

        async def make() -> aiohttp.ClientSession:
            return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))  # cookies of 127.0.0.1 too

        self.session = self.run(make())

    def fetch(self, method: str, path: str, **kwargs: Any) -> Seen:
        async def go() -> Seen:
            self.session.cookie_jar.clear()
            async with self.session.request(method, self.base + path, **kwargs) as r:
                body = await r.content.read()  # the stream the application reads (issue 12, item 1)
                return Seen(r.status, list(r.headers.items()), body, r.headers.getall("set-cookie", []),
                            jar=[c.key for c in self.session.cookie_jar], path=r.url.path,
                            history=[h.status for h in r.history])

        return self.run(go())

    def stream(self, path: str, on_first: Callable[[], None]) -> bytes:
        async def go() -> bytes:
            out = b""
            async with self.session.get(self.base + path) as r:
                async for piece in r.content.iter_any():
                    if not out:
                        on_first()
                    out += piece
            return out

        return self.run(go())

    def fetch_with_timeout(self, path: str, seconds: float) -> Seen:
        return self.fetch("GET", path, timeout=aiohttp.ClientTimeout(total=None, sock_read=seconds))

    async def aclose(self) -> None:
        await self.session.close()


CLIENTS: Dict[str, Type[Client]] = {c.name: c for c in (HttpClient, Urllib, Urllib3, Requests, Httpx, HttpxAsync,
                                                          Aiohttp)}

