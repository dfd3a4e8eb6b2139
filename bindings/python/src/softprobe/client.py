"""Softprobe: where sessions come from (the embedded core or a runtime)."""

from __future__ import annotations

import json
import os
import threading
import weakref
from typing import Any, Callable, Dict, List, Mapping, Optional

from . import _core
from ._runtime import RuntimeClient
from .errors import UnknownSessionError
from .session import Session

class Softprobe:
    """Starts and attaches sessions.

    Embedded by default: sessions live in this process's core. With
    ``base_url`` (or ``$SOFTPROBE_RUNTIME_URL``) sessions are created in that
    softprobe runtime, and each gets a local mirror with the same id, rules,
    policy and case that decides this process's requests in process.

    ``token`` (default ``$SOFTPROBE_API_TOKEN``) is sent as a bearer token to
    the runtime; ``service`` (default ``$SOFTPROBE_SERVICE_NAME``) names this
    process in decisions (``service`` predicates) and captures.
    """

    def __init__(
        self,
        base_url: Optional[str] = None,
        *,
        token: Optional[str] = None,
        service: Optional[str] = None,
        timeout: float = 10.0,
    ) -> None:
        url = base_url if base_url is not None else os.environ.get("SOFTPROBE_RUNTIME_URL") or None
        if token is None:
            token = os.environ.get("SOFTPROBE_API_TOKEN")
        self._runtime = RuntimeClient(url, token=token, timeout=timeout) if url else None
        self.service: Optional[str] = service if service is not None else os.environ.get("SOFTPROBE_SERVICE_NAME")
        self._store = _core.Store()
        self._scratch = _core.Store()
        self._sessions: "weakref.WeakValueDictionary[str, Session]" = weakref.WeakValueDictionary()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<softprobe.Softprobe {'runtime=' + self._runtime.base_url if self._runtime else 'embedded'}>"

    @property
    def mode(self) -> str:
        """"embedded" or "remote"."""
        return "remote" if self._runtime else "embedded"

    @property
    def base_url(self) -> Optional[str]:
        """The runtime's URL, or None when embedded."""
        return self._runtime.base_url if self._runtime else None

    def start_session(
        self,
        mode: str = "replay",
        policy: Optional[Mapping[str, Any]] = None,
        *,
        case_id: Optional[str] = None,
        suite: Optional[str] = None,
        redaction: Optional[Mapping[str, Any]] = None,
        limits: Optional[Mapping[str, Any]] = None,
    ) -> Session:
        """A new session: ``mode`` is "replay" (default), "capture" or
        "generate"; ``policy`` e.g. {"externalHttp": "strict"}. ``case_id``
        and ``suite`` are written into a captured case; ``redaction`` and
        ``limits`` are passed to the core (see docs/python.md)."""
        options: Dict[str, Any] = {"mode": mode}
        if policy is not None:
            options["policy"] = dict(policy)
        for key, value in (("caseId", case_id), ("suite", suite), ("redaction", redaction), ("limits", limits)):
            if value is not None:
                options[key] = value
        if self._runtime is None:
            native = self._store.new_session(json.dumps(options))
        else:
            # Validate here first so a bad policy never reaches the runtime.
            self._validate(lambda s: None, options)
            body: Dict[str, Any] = {"mode": mode}
            if policy is not None:
                body["policy"] = dict(policy)
            answer = self._runtime.call("POST", "/v1/sessions", body)
            options["sessionId"] = str(answer["sessionId"])
            native = self._store.new_session(json.dumps(options))
        return self._track(Session(self, native, self._runtime))

    def attach(self, session_id: str) -> Session:
        """A Session object for an open session (started by this client, or
        in the runtime by another process). Raises UnknownSessionError."""
        if self._runtime is None:
            return self._track(Session(self, self._store.get_session(session_id), None))
        state = self._runtime.call("GET", RuntimeClient.session_path(session_id, "state"))
        try:
            native = self._store.get_session(session_id)
        except UnknownSessionError:
            options: Dict[str, Any] = {"sessionId": session_id, "mode": state.get("mode", "replay")}
            if state.get("policy"):
                options["policy"] = state["policy"]
            native = self._store.new_session(json.dumps(options))
            rules = state.get("rules")
            if rules:
                native.set_rules(json.dumps(rules))
            fixtures = state.get("fixtures")
            if fixtures:
                native.set_auth_fixtures(json.dumps(fixtures))
        return self._track(Session(self, native, self._runtime))

    def sessions(self) -> List[Session]:
        """The sessions started or attached through this client and not closed."""
        with self._lock:
            return [s for s in self._sessions.values() if not s.closed]

    # ---- internal ----------------------------------------------------------------

    def _track(self, session: Session) -> Session:
        with self._lock:
            self._sessions[f"{session.id}:{id(session)}"] = session
        return session

    def _forget(self, session: Session) -> None:
        with self._lock:
            self._sessions.pop(f"{session.id}:{id(session)}", None)

    def _validate(self, apply: Callable[[_core.Session], None], options: Optional[Mapping[str, Any]] = None) -> None:
        """Runs `apply` on a throw-away session, so the core checks a document
        before it is sent to the runtime (a refused document changes nothing)."""
        # Always a replay session: closing it must never write a capture file.
        opts = {k: v for k, v in (options or {}).items() if k not in ("sessionId", "mode")}
        scratch = self._scratch.new_session(json.dumps(opts) if opts else None)
        try:
            apply(scratch)
        finally:
            scratch.close("")
