"""softprobe: test sessions that mock, fail or record a program's outbound
HTTP in process, decided by libsoftprobe (the same core as the softprobe
runtime and proxy).

    import softprobe

    with softprobe.start_session("replay", policy={"externalHttp": "strict"}) as s:
        s.load_case_from_file("cases/checkout.case.json")
        s.mock_outbound(method="GET", path="/v1/items", response=s.find_in_case(path="/v1/items").response)
        ...  # requests / urllib / httpx / aiohttp calls made here are answered by the session

See docs/python.md.
"""

from __future__ import annotations

import threading
from importlib import metadata as _metadata
from typing import Any, Mapping, Optional

from . import _core
from ._context import bypassed as without_interception
from ._context import current_session
from ._documents import CaseMatch
from .client import Softprobe
from .errors import (
    CaseLoadError,
    CaseLookupError,
    InvalidPolicyError,
    InvalidRuleError,
    RuntimeError,
    RuntimeUnreachableError,
    SessionClosedError,
    SoftprobeError,
    StrictMissError,
    UnknownSessionError,
    from_core,
)
from .session import Session

_core.set_error_factory(from_core)

# The distribution's version: the project's one version (VERSION, read at build time).
try:
    __version__: str = _metadata.version("libsoftprobe")
except _metadata.PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = _core.VERSION
core_version: str = _core.VERSION
spec_version: str = _core.SPEC_VERSION

__all__ = [
    "Softprobe",
    "Session",
    "CaseMatch",
    "start_session",
    "attach",
    "current_session",
    "without_interception",
    "fingerprint",
    "request_fingerprint",
    "set_log_level",
    "SoftprobeError",
    "RuntimeError",
    "UnknownSessionError",
    "RuntimeUnreachableError",
    "CaseLookupError",
    "CaseLoadError",
    "InvalidRuleError",
    "InvalidPolicyError",
    "SessionClosedError",
    "StrictMissError",
]

_default: Optional[Softprobe] = None
_default_lock = threading.Lock()


def _default_client() -> Softprobe:
    global _default
    with _default_lock:
        if _default is None:
            _default = Softprobe()
        return _default


def start_session(mode: str = "replay", policy: Optional[Mapping[str, Any]] = None, **options: Any) -> Session:
    """``Softprobe().start_session(...)`` on a process-wide client (embedded,
    or the runtime named by $SOFTPROBE_RUNTIME_URL when the client is first used)."""
    return _default_client().start_session(mode, policy, **options)


def attach(session_id: str) -> Session:
    """``Softprobe().attach(session_id)`` on the process-wide client."""
    return _default_client().attach(session_id)


def fingerprint(method: str, host: str, path: str, body: bytes = b"") -> str:
    """The contract's 16-hex-digit request fingerprint (as the core computes it)."""
    return _core.fingerprint(method, host, path, body)


request_fingerprint = fingerprint  # the Node binding's name


def set_log_level(level: str) -> None:
    """The core's JSON-lines log level: "debug", "info", "warn", "error" or "off"
    (default: $SOFTPROBE_LOG_LEVEL or "warn"). Strict misses log at "info"."""
    _core.set_log_level(level)
