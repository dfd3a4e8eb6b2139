"""The HTTP client for the softprobe runtime's control API (contract section 6).

Its connections use http.client's connect functions as they were when this
module was imported, and run with interception bypassed, so the package's
own calls to the runtime are never decided, mocked or recorded.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from typing import Any, Dict, Optional
from urllib.parse import quote, urlsplit

from ._context import bypassed
from .errors import RuntimeError as RuntimeHTTPError
from .errors import RuntimeUnreachableError, SoftprobeError, UnknownSessionError

_HTTP_CONNECT = http.client.HTTPConnection.connect
_HTTPS_CONNECT = http.client.HTTPSConnection.connect


class _PlainConnection(http.client.HTTPConnection):
    connect = _HTTP_CONNECT  # type: ignore[assignment]


class _TLSConnection(http.client.HTTPSConnection):
    connect = _HTTPS_CONNECT  # type: ignore[assignment]


class RuntimeClient:
    """Calls one runtime. Thread-safe: every call opens its own connection."""

    def __init__(self, base_url: str, *, token: Optional[str] = None, timeout: float = 10.0) -> None:
        parts = urlsplit(base_url if "://" in base_url else "http://" + base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SoftprobeError(
                f"runtime URL {base_url!r} is not an http(s) URL: pass e.g. base_url='http://127.0.0.1:8080' "
                "or set SOFTPROBE_RUNTIME_URL"
            )
        self.base_url = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        self._scheme = parts.scheme
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self._token = token
        self._timeout = timeout

    def url(self, path: str) -> str:
        return self.base_url + path

    @staticmethod
    def session_path(session_id: str, action: str = "") -> str:
        path = "/v1/sessions/" + quote(session_id, safe="")
        return path + ("/" + action if action else "")

    def call(self, method: str, path: str, body: Any = None, *, raw: Optional[bytes] = None) -> Dict[str, Any]:
        """Sends one control call; returns the JSON answer (a dict).

        Raises RuntimeUnreachableError when nothing answers, UnknownSessionError
        for 404 unknown_session, RuntimeError for any other error status.
        """
        url = self.url(path)
        payload = raw if raw is not None else (None if body is None else json.dumps(body).encode("utf-8"))
        headers = {"accept": "application/json"}
        if payload is not None:
            headers["content-type"] = "application/json"
        if self._token:
            headers["authorization"] = "Bearer " + self._token
        conn: http.client.HTTPConnection
        if self._scheme == "https":
            conn = _TLSConnection(self._host, self._port, timeout=self._timeout, context=ssl.create_default_context())
        else:
            conn = _PlainConnection(self._host, self._port, timeout=self._timeout)
        try:
            with bypassed():
                try:
                    conn.request(method, self._prefix + path, body=payload, headers=headers)
                    resp = conn.getresponse()
                    text = resp.read().decode("utf-8", "replace")
                except (OSError, socket.timeout, http.client.HTTPException) as exc:
                    raise RuntimeUnreachableError(
                        f"cannot reach the softprobe runtime at {self.base_url} ({method} {path}: {exc}); "
                        "start it (softprobe-runtime --port 0 prints its address) or fix base_url / "
                        "SOFTPROBE_RUNTIME_URL",
                        url=url,
                    ) from exc
        finally:
            conn.close()
        if 200 <= resp.status < 300:
            if not text.strip():
                return {}
            try:
                value = json.loads(text)
            except ValueError as exc:
                raise RuntimeHTTPError(
                    f"{method} {url} answered {resp.status} with a body that is not JSON: {text[:200]!r}; "
                    "is base_url pointing at a softprobe runtime?",
                    status=resp.status,
                    body=text,
                    url=url,
                ) from exc
            return value if isinstance(value, dict) else {"value": value}
        raise self._error(method, url, resp.status, text)

    def _error(self, method: str, url: str, status: int, text: str) -> SoftprobeError:
        code = message = ""
        try:
            err = json.loads(text).get("error", {})
            code, message = str(err.get("code", "")), str(err.get("message", ""))
        except (ValueError, AttributeError):
            pass
        if status == 404 and code == "unknown_session":
            sid = url.split("/v1/sessions/", 1)[-1].split("/", 1)[0]
            return UnknownSessionError(
                f"the runtime at {self.base_url} has no session {sid!r} ({message or 'unknown_session'}): "
                "it was closed or expired; start a new session",
                session_id=sid,
                url=url,
            )
        hint = {
            401: "the runtime needs a token: pass token= or set SOFTPROBE_API_TOKEN",
            403: "the runtime refused the token: check token= / SOFTPROBE_API_TOKEN",
            413: "the document is larger than the runtime accepts",
        }.get(status, "see the runtime's log for details")
        return RuntimeHTTPError(
            f"{method} {url} failed with {status} {code or ''}: {message or text[:200]!r}; {hint}".replace("  ", " "),
            status=status,
            body=text,
            url=url,
            details={"code": code} if code else None,
        )
