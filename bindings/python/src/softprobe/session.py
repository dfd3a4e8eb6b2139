"""Session: one test-scoped context of rules, policy, a case and captures."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Mapping, Optional, Union

from . import _core, _intercept
from ._context import active_session
from ._documents import (
    CaseMatch,
    describe_matches,
    describe_predicate,
    policy_document,
    predicate_json,
    rule_from_spec,
    rules_document,
)
from .errors import (
    CaseLoadError,
    CaseLookupError,
    SessionClosedError,
    SoftprobeError,
    StrictMissError,
    UnknownSessionError,
)

if TYPE_CHECKING:  # pragma: no cover
    from .client import Softprobe

PathLike = Union[str, "os.PathLike[str]"]
logger = logging.getLogger("softprobe")

_CASE_ERRORS = ("SP_E_INVALID_JSON", "SP_E_INVALID_CASE", "SP_E_IO", "SP_E_LIMIT_EXCEEDED", "SP_E_INVALID_RULE")


class Session:
    """A softprobe session. Create one with ``Softprobe.start_session`` or
    ``softprobe.start_session``; do not construct it directly.

    Decisions are always made in this process by the core (through the
    session's local handle). With a remote runtime the same calls reach the
    runtime: the core checks each document, sends it, and applies it to its
    local mirror (same id) once the runtime took it, so both decide alike.
    """

    def __init__(self, client: "Softprobe", native: _core.Session) -> None:
        self._client = client
        self._native = native
        self._base_url: Optional[str] = client.base_url if client.mode == "remote" else None
        self.id: str = native.id
        self.mode: str = native.mode
        # Capture and generate sessions record what they let through.
        self._records = self.mode != "replay"
        self._service: Optional[str] = client.service
        self._lock = threading.RLock()
        self._closed = False
        self._activated = False
        self._capture_path: Optional[str] = None
        self._entered: List[Any] = []
        # The policy stand-in (see _policy_session), made on first need.
        self._policy_lock = threading.Lock()
        self._policy_store: Optional[_core.Store] = None
        self._policy_native: Optional[_core.Session] = None
        self._policy_revision = -1

    def __repr__(self) -> str:
        where = f" runtime={self._base_url}" if self._base_url else ""
        return f"<softprobe.Session {self.id} mode={self.mode}{where}{' closed' if self._closed else ''}>"

    # ---- activation ----------------------------------------------------------------

    @contextlib.contextmanager
    def activate(self) -> Iterator["Session"]:
        """Makes this session decide the outbound HTTP of the current context
        (this thread, or this asyncio task and the tasks it creates) inside
        the block. Interception is installed while any session is active."""
        self._ensure_open()
        _intercept.acquire()
        self._activated = True
        token = active_session.set(self)
        try:
            yield self
        finally:
            active_session.reset(token)
            _intercept.release()

    def __enter__(self) -> "Session":
        cm = self.activate()
        cm.__enter__()
        with self._lock:
            self._entered.append(cm)
        return self

    def __exit__(self, *exc: Any) -> None:
        with self._lock:
            cm = self._entered.pop()
        try:
            if not self._closed:
                self.close()  # first, so a closed session never finds the interceptors gone
        finally:
            cm.__exit__(*exc)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def revision(self) -> int:
        """The local session's revision: +1 on every change applied to it."""
        return int(self._native.revision)

    @property
    def base_url(self) -> Optional[str]:
        """The runtime this session lives in, or None when embedded."""
        return self._base_url

    def _ensure_open(self) -> None:
        if self._closed:
            raise SessionClosedError(f"session {self.id} is closed: start a new session")

    # ---- deciding (used by the interceptors) ----------------------------------------

    # The interceptors hand the core the URL as the client had it: an absolute
    # URL, or a request-target ("/a?b", as sent) with the scheme, host and port
    # of the connection. Header lines go as sent. The core makes the request
    # canonical (docs/requests.md); nothing here splits or normalizes.

    def _decide(self, method: Any, url: Any, headers: Any, body: Any, scheme: Any = "", host: Any = "",
                port: int = 0) -> _core.Decision:
        """The core's decision for one request of a context where this session
        is active. After close, the request is decided by the session's policy
        alone (strict: the strict-miss answer; allow: passthrough): a closed
        session never lets traffic through undecided."""
        if not self._closed:
            try:
                return self._native.decide(method, scheme, host, port, "", "", headers, body, None, self._service, url)
            except SessionClosedError:
                pass  # closed through another handle to the same session
        return self._policy_session().decide(method, scheme, host, port, "", "", headers, body, None, self._service,
                                             url)

    def _record(self, method: Any, url: Any, headers: Any, body: Any, status: int, response_headers: Any,
                response_body: bytes, start: int, end: int, scheme: Any = "", host: Any = "", port: int = 0) -> None:
        """Records one forwarded exchange. A session closed while the
        response was being read records nothing (its case is already
        written): the client still gets its response, and the loss is logged."""
        try:
            self._native.record(method, scheme, host, port, "", "", headers, body, status, response_headers,
                                response_body, start, end, None, self._service, url)
        except SessionClosedError:
            logger.warning("softprobe session %s was closed before %s %s could be recorded; the exchange is "
                           "not in its case", self.id, _text(method), _shown_url(url, scheme, host, port))
        except SoftprobeError as e:
            # Over the capture's limits (the case must load back with them):
            # capture never changes what the application sees, so the client
            # still gets its response; the loss is logged with the limit to raise.
            if e.status_name != "SP_E_LIMIT_EXCEEDED":
                raise
            logger.warning("softprobe session %s did not record %s %s: %s", self.id, _text(method),
                           _shown_url(url, scheme, host, port), e)

    def _decide_unframed(self, method: str, url: str, scheme: str = "", host: str = "",
                         port: int = 0) -> _core.Decision:
        """The decision for a request the interceptor could not frame (its
        body or headers cannot be read reliably): no rule may answer it, so
        only the session's policy decides (strict: the strict-miss answer,
        counted like any other; allow or an allowlisted host: passthrough)."""
        return self._policy_session().decide(method, scheme, host, port, "", "", None, None, None, self._service,
                                             url)

    def _policy_session(self) -> _core.Session:
        """A rule-less core session with this session's id and current policy,
        in a private store: it decides what the rules must not (requests that
        cannot be framed, traffic after close), so the strict-miss answer, its
        fingerprint and the policy semantics stay the core's. Its strict misses
        count in strict_misses() and get_stats()."""
        with self._policy_lock:
            revision = int(self._native.revision)
            if self._policy_native is not None and revision == self._policy_revision:
                return self._policy_native
            policy = json.loads(self._native.state()).get("policy")
            policy = policy if isinstance(policy, dict) else {}
            if self._policy_native is None:
                store = _core.Store()
                options = {"sessionId": self.id, "mode": "replay", "policy": policy}
                self._policy_native = store.new_session(json.dumps(options))
                self._policy_store = store
            else:
                self._policy_native.set_policy(json.dumps(policy))
            self._policy_revision = revision
            return self._policy_native

    # ---- case ------------------------------------------------------------------------

    def load_case_from_file(self, path: PathLike) -> None:
        """Loads a ``*.case.json`` file (and its embedded rules), replacing any
        loaded case. Raises CaseLoadError (with ``.path``) when the file cannot
        be read or is not a valid case."""
        self._ensure_open()
        fspath = os.fspath(path)
        try:
            self._native.load_case_file(fspath)
        except SoftprobeError as exc:
            raise self._case_error(exc, fspath) from exc

    def load_case(self, case: Union[Mapping[str, Any], str, bytes]) -> None:
        """Loads a case document (a dict, or JSON text), replacing any loaded case."""
        self._ensure_open()
        data = case if isinstance(case, (str, bytes)) else json.dumps(case)
        if isinstance(data, str):
            data = data.encode("utf-8")
        try:
            self._native.load_case(data)
        except SoftprobeError as exc:
            raise self._case_error(exc, None) from exc

    @staticmethod
    def _case_error(exc: SoftprobeError, path: Optional[str]) -> SoftprobeError:
        if exc.status_name not in _CASE_ERRORS:
            return exc
        where = f"case file {path!r}" if path else "case document"
        hint = {
            "SP_E_IO": "check that the file exists and is readable",
            "SP_E_INVALID_JSON": "the file is not valid JSON",
            "SP_E_INVALID_CASE": "it must follow the case format (version, caseId, traces[]; see docs/python.md)",
            "SP_E_LIMIT_EXCEEDED": "raise the limit with start_session(limits=...) if the case is meant to be "
            "this large",
            "SP_E_INVALID_RULE": "fix the case's embedded rules",
        }[exc.status_name or ""]
        return CaseLoadError(
            f"cannot load {where}: {exc.message}; {hint}", path=path, status_name=exc.status_name, details=exc.details
        )

    def find_in_case(self, **predicate: Any) -> CaseMatch:
        """The one span of the loaded case that matches ``predicate``
        (direction, method, host, host_suffix, path, path_prefix, service) and
        carries a response. Raises CaseLookupError listing the matches unless
        exactly one span matches."""
        try:
            found = json.loads(self._native.find_in_case(predicate_json(predicate)))
        except CaseLookupError as exc:
            n = len(exc.matches)
            what = "no span" if n == 0 else f"{n} spans"
            advice = (
                "check the predicate against the case (find_all_in_case() with fewer keys lists candidates)"
                if n == 0
                else "narrow the predicate (add method=, host=, path= ...) so it matches exactly one:\n"
                + describe_matches(exc.matches)
            )
            error = CaseLookupError(
                f"find_in_case({describe_predicate(predicate)}) matched {what}: {advice}",
                matches=exc.matches,
                status_name=exc.status_name,
                details=exc.details,
            )
            error.predicate = dict(predicate)
            raise error from None
        except SoftprobeError as exc:
            raise self._lookup_error(exc) from None
        return CaseMatch(found["response"], found.get("span", {}))

    def find_all_in_case(self, **predicate: Any) -> List[CaseMatch]:
        """Every span of the loaded case that matches, in file order (maybe none)."""
        try:
            found = json.loads(self._native.find_all_in_case(predicate_json(predicate)))
        except SoftprobeError as exc:
            raise self._lookup_error(exc) from None
        return [CaseMatch(m["response"], m.get("span", {})) for m in found.get("matches", [])]

    def _lookup_error(self, exc: SoftprobeError) -> SoftprobeError:
        if exc.status_name == "SP_E_INVALID_ARGUMENT" and "no case" in exc.message:
            where = " in this process (the runtime's copy is not readable back)" if self._base_url else ""
            return CaseLookupError(
                f"{exc.message}: call load_case_from_file() first{where}",
                matches=[],
                status_name=exc.status_name,
                details=exc.details,
            )
        return exc

    # ---- rules, policy, fixtures ----------------------------------------------------

    def mock_outbound(self, **spec: Any) -> Dict[str, Any]:
        """Appends one rule after the session rules (sp_session_add_rules:
        the current rules are not sent or reparsed again; in remote mode the
        core sends the runtime the whole list).

        ``response=`` (a dict or a CaseMatch) answers matching requests; other
        keywords: ``error=``, ``action=``, ``name``, ``priority``, ``consume``
        ("once"/"many"), ``latency_ms``, and the ``when`` predicates
        (``method``, ``host``, ``host_suffix``, ``path``, ``path_prefix``,
        ``headers``, ``body_json_path``, ``service``, ``direction`` ...).
        Returns the rule as sent. Raises InvalidRuleError naming the field
        (its rule index is 0: the rule given).
        """
        rule = rule_from_spec(spec)
        doc = json.dumps(rule)
        with self._lock:
            self._ensure_open()
            self._native.add_rules(doc)
        return rule

    def clear_rules(self) -> None:
        """Removes every session rule (case-embedded rules stay)."""
        with self._lock:
            self._ensure_open()
            self._set_rules(rules_document([]))

    def dump_rules(self) -> Dict[str, Any]:
        """The session rules document, {"version": 1, "rules": [...]}."""
        with self._lock:
            return {"version": 1, "rules": self._current_rules()}

    def _current_rules(self) -> List[Dict[str, Any]]:
        # Remote: the mirror's, which holds what the runtime last took from this session.
        return list(json.loads(self._native.get_rules()).get("rules", []))

    def _set_rules(self, doc: str) -> None:
        self._native.set_rules(doc)

    def set_policy(self, policy: Optional[Mapping[str, Any]] = None, **fields: Any) -> None:
        """Replaces the policy: a dict ({"externalHttp": "strict", ...}) and/or
        keywords (external_http="strict", external_allowlist=[...])."""
        doc = json.dumps(policy_document(policy, fields))
        with self._lock:
            self._ensure_open()
            self._native.set_policy(doc)

    def set_auth_fixtures(self, fixtures: Optional[Mapping[str, Any]] = None, **fields: Any) -> None:
        """Replaces the auth fixtures ({"tokens": [], "cookies": [], "metadata": {}})."""
        doc = json.dumps({**dict(fixtures or {}), **fields})
        with self._lock:
            self._ensure_open()
            self._native.set_auth_fixtures(doc)

    # ---- observation --------------------------------------------------------------

    def get_stats(self) -> Dict[str, Any]:
        """{"sessionId", "sessionRevision", "mode", "stats": {"injectedSpans"
        (mock and error answers), "extractedSpans", "strictMisses", "decisions"
        (every decided request), "passthroughs", "lastStrictMiss"?, "ruleHits"}}.

        With a remote runtime the core adds the runtime's counters (traffic its
        proxy saw) and this process's (traffic decided here), and keeps both
        under "sources"; once the session is closed (the runtime's is gone)
        they are this process's alone."""
        if self._base_url and self._closed:
            state = json.loads(self._native.state())  # the mirror's own, read locally
            local = {k: state[k] for k in ("sessionId", "sessionRevision", "mode", "stats") if k in state}
        else:
            local = json.loads(self._native.stats())
        standin = self._policy_native
        if standin is not None:
            # Misses the policy stand-in decided (see _policy_session).
            extra = json.loads(standin.stats()).get("stats", {})
            if extra.get("strictMisses"):
                stats = local.setdefault("stats", {})
                stats["strictMisses"] = int(stats.get("strictMisses", 0)) + int(extra["strictMisses"])
                if extra.get("lastStrictMiss") and (self._closed or not stats.get("lastStrictMiss")):
                    stats["lastStrictMiss"] = extra["lastStrictMiss"]  # after close, the stand-in's are the latest
        return local

    def strict_misses(self) -> List[Dict[str, Any]]:
        """The latest strict misses decided in this process (up to 32), each
        with the core's near-miss explanation."""
        value = json.loads(self._native.strict_misses())
        misses = value if isinstance(value, list) else list(value.get("strictMisses", []))
        return misses + self._policy_misses()

    def _policy_misses(self) -> List[Dict[str, Any]]:
        """Strict misses the policy stand-in decided (unframeable requests,
        traffic after close)."""
        native = self._policy_native
        if native is None:
            return []
        value = json.loads(native.strict_misses())
        return value if isinstance(value, list) else list(value.get("strictMisses", []))

    def assert_no_strict_misses(self) -> None:
        """Raises StrictMissError describing every strict miss of this session."""
        misses = self.strict_misses()
        if misses:
            raise StrictMissError(describe_strict_misses(self.id, misses), misses=misses)

    # ---- close ---------------------------------------------------------------------

    def close(self, out: Optional[PathLike] = None) -> Optional[str]:
        """Closes the session. A capture (or generate) session writes its case
        file atomically to ``out`` (default: $SOFTPROBE_CAPTURE_CASE_PATH or
        ./captured.case.json) and returns the path; replay returns None.
        Closing twice returns the first result.

        Remote: the core hands what this process captured to the runtime,
        then closes the runtime's session, which writes one case at ``out``
        (a path relative to its capture directory) and whose path is
        returned. If that fails (RuntimeError, RuntimeUnreachableError) the
        session stays open here and the core keeps what it could not send:
        calling close() again sends it."""
        with self._lock:
            if self._closed:
                return self._capture_path
            out_path = os.fspath(out) if out is not None else ""
            try:
                path = self._native.close(out_path)
            except (UnknownSessionError, SessionClosedError):
                # Closed through another handle to the same session (remote: also by another
                # client in the runtime), with nothing of this process's left unsent.
                path = ""
            self._closed = True
            self._capture_path = path or None
            self._client._forget(self)
            if self._activated:
                self._hold_interceptors()
            return self._capture_path

    def _hold_interceptors(self) -> None:
        """A thread or task still running in a copy of a context where this
        closed session was active must get its policy's answer, not the
        network: the interceptors stay while the session can be reached."""
        try:
            if _policy_can_refuse(json.loads(self._native.state()).get("policy")):
                _intercept.hold(self)
        except Exception as exc:  # the session is closed either way; say what is not guarded
            logger.warning("softprobe session %s is closed, but its interceptors could not be kept for contexts "
                           "that still hold it (%s): their requests now go to the network undecided", self.id, exc)


def _text(value: Any) -> str:
    return value.decode("latin-1") if isinstance(value, (bytes, bytearray)) else str(value)


def _shown_url(url: Any, scheme: Any, host: Any, port: int) -> str:
    """A request for log messages only (the core has the canonical form):
    a request-target shown with the origin it was sent to."""
    text = _text(url)
    if not text.startswith("/") or not host:
        return text
    return f"{_text(scheme) or 'http'}://{_text(host)}{':' + str(port) if port else ''}{text}"


def _policy_can_refuse(policy: Any) -> bool:
    """False only for a policy that lets every unmatched request through
    (the default: externalHttp allow, defaultOnMiss passthrough, no
    blockHosts); anything else, including fields this version does not know,
    counts as able to refuse. Only used to keep interceptors installed; what
    a request gets is always the core's decision."""
    if not isinstance(policy, dict):
        return False
    known = {"externalHttp": ("allow",), "defaultOnMiss": ("passthrough",)}
    for key, value in policy.items():
        if key in known:
            if value not in known[key]:
                return True
        elif key in ("externalAllowlist", "allowHosts"):
            continue
        elif key == "blockHosts":
            if value:
                return True
        else:
            return True
    return False


def describe_strict_misses(session_id: str, misses: List[Dict[str, Any]]) -> str:
    lines = [f"{len(misses)} request(s) were blocked by the strict policy of session {session_id}:"]
    for m in misses:
        lines.append(f"  - {m.get('method', '?')} {m.get('host', '?')}{m.get('path', '')}"
                     f"{'?' + m['query'] if m.get('query') else ''} (fingerprint {m.get('requestFingerprint', '?')})")
        if m.get("explanation"):
            lines.append(f"    {m['explanation']}")
    lines.append("Add a rule for each (session.mock_outbound(...), e.g. with session.find_in_case(...).response), "
                 "allow the host in the policy, or mark the test with @pytest.mark.softprobe_allow_strict_misses.")
    return "\n".join(lines)
