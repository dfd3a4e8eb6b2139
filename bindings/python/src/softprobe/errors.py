"""The exceptions of the softprobe package.

Every message says what went wrong and what to do about it. Failures of the
core arrive here through ``from_core`` (registered with the native module),
so the core's own message, which names the rule index, field, JSON path or
file, is kept word for word.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

__all__ = [
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


class SoftprobeError(Exception):
    """Base class of every error the package raises.

    ``status_name`` is the core's status ("SP_E_INVALID_RULE", ...) when the
    core reported the failure, else None; ``details`` its structured details.
    """

    def __init__(self, message: str, *, status_name: Optional[str] = None, details: Optional[Dict[str, Any]] = None):
        super().__init__(message)
        self.message = message
        self.status_name = status_name
        self.details: Dict[str, Any] = details or {}

    @property
    def code(self) -> Optional[str]:
        """Same as ``status_name`` (the Node binding's name for it)."""
        return self.status_name


class RuntimeError(SoftprobeError):  # noqa: A001 - the name the API promises
    """The softprobe runtime refused a control call (an error status, an
    answer that is not JSON, or captured spans it did not take).

    ``status`` is the HTTP status it answered (None when the call succeeded
    but the runtime did not take everything, e.g. captured spans of a session
    it no longer has: see ``details["partialSuccess"]``), ``url`` the URL
    called ("" when the core did not name one), ``body`` the runtime's error
    details as JSON text ("" when it gave none: the core keeps the answer's
    code, message and details, not its raw bytes; the message is in
    ``str(err)``). Note: this shadows the builtin name inside ``softprobe`` only.
    """

    def __init__(self, message: str, *, status: Optional[int], body: str, url: str,
                 details: Optional[Dict[str, Any]] = None, status_name: Optional[str] = None):
        super().__init__(message, details=details, status_name=status_name)
        self.status = status
        self.body = body
        self.url = url


class UnknownSessionError(SoftprobeError):
    """No open session has this id (closed, expired, or never created here)."""

    def __init__(self, message: str, *, session_id: str, url: Optional[str] = None, **kw: Any):
        super().__init__(message, **kw)
        self.session_id = session_id
        self.url = url


class RuntimeUnreachableError(SoftprobeError):
    """The runtime at ``url`` could not be reached or did not answer in time
    (refused, timeout, DNS); ``details["cause"]`` is libcurl's reason."""

    def __init__(self, message: str, *, url: str, details: Optional[Dict[str, Any]] = None,
                 status_name: Optional[str] = None):
        super().__init__(message, details=details, status_name=status_name)
        self.url = url


class CaseLookupError(SoftprobeError):
    """find_in_case matched zero or several spans; ``matches`` lists them
    ({spanId, traceId, method, host, path, status}) so ``predicate`` can be narrowed."""

    def __init__(self, message: str, *, matches: List[Dict[str, Any]], **kw: Any):
        super().__init__(message, **kw)
        self.matches = matches
        self.predicate: Dict[str, Any] = {}


class CaseLoadError(SoftprobeError):
    """A case file or document could not be read or is not a valid case.
    ``path`` is the file (None for an in-memory document)."""

    def __init__(self, message: str, *, path: Optional[str], **kw: Any):
        super().__init__(message, **kw)
        self.path = path


class InvalidRuleError(SoftprobeError):
    """A rule was refused; ``rule_index`` and ``field`` say which and where.
    The session keeps its previous rules."""

    def __init__(self, message: str, *, rule_index: Optional[int] = None, field: Optional[str] = None, **kw: Any):
        super().__init__(message, **kw)
        self.rule_index = rule_index
        self.field = field


class InvalidPolicyError(SoftprobeError):
    """A policy was refused; ``field`` names the offending key. The previous policy stays."""

    def __init__(self, message: str, *, field: Optional[str] = None, **kw: Any):
        super().__init__(message, **kw)
        self.field = field


class SessionClosedError(SoftprobeError):
    """The session was closed; start a new one."""


class StrictMissError(SoftprobeError):
    """Requests were blocked by the strict policy; ``misses`` holds the core's
    explanation of each ({method, host, path, requestFingerprint, nearMiss, explanation})."""

    def __init__(self, message: str, *, misses: List[Dict[str, Any]]):
        super().__init__(message)
        self.misses = misses


def _details(text: str) -> Dict[str, Any]:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def from_core(status: int, status_name: str, message: str, details_json: str) -> SoftprobeError:
    """Builds the exception for a failed C call (registered with softprobe._core)."""
    details = _details(details_json)
    kw: Dict[str, Any] = {"status_name": status_name, "details": details}
    if status_name == "SP_E_INVALID_RULE":
        return InvalidRuleError(
            f"{message} (fix the rule; the session keeps its previous rules)",
            rule_index=details.get("ruleIndex"),
            field=details.get("field"),
            **kw,
        )
    if status_name == "SP_E_INVALID_POLICY":
        return InvalidPolicyError(
            f"{message} (see the policy keys in docs/python.md)", field=details.get("field"), **kw
        )
    if status_name == "SP_E_UNKNOWN_SESSION":
        # From the local store, or the runtime's 404 unknown_session (details then carry its url and status).
        url = details.get("url")
        return UnknownSessionError(
            f"{message}: start a session with start_session() or attach() to an open one",
            session_id=str(details.get("sessionId", "")),
            url=str(url) if url is not None else None,
            **kw,
        )
    if status_name == "SP_E_RUNTIME":
        return _runtime_error(message, details, kw)
    if status_name == "SP_E_CASE_LOOKUP":
        return CaseLookupError(message, matches=list(details.get("matches", [])), **kw)
    if status_name == "SP_E_SESSION_CLOSED":
        return SessionClosedError(f"{message}: start a new session", **kw)
    if status_name == "SP_E_INTERNAL":
        return SoftprobeError(f"{message} (a libsoftprobe bug: please report it)", **kw)
    return SoftprobeError(message, **kw)



def _runtime_error(message: str, details: Dict[str, Any], kw: Dict[str, Any]) -> SoftprobeError:
    """SP_E_RUNTIME: the core's remote mode could not reach the runtime (its
    details name the url and libcurl's cause, and no status), or the runtime
    answered and refused (details: url, status and the runtime's own details)."""
    url = str(details.get("url", ""))
    if "status" not in details and "cause" in details:
        return RuntimeUnreachableError(
            f"{message}; start it (softprobe-runtime --port 0 prints its address) or fix base_url / "
            "SOFTPROBE_RUNTIME_URL",
            url=url,
            **kw,
        )
    status = details.get("status")
    own = {k: v for k, v in details.items() if k not in ("url", "status")}
    return RuntimeError(
        message,
        status=int(status) if isinstance(status, int) else None,
        body=json.dumps(own) if own else "",
        url=url,
        **kw,
    )
