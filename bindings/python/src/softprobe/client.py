"""Softprobe: where sessions come from (the embedded core or a runtime)."""

from __future__ import annotations

import json
import math
import os
import threading
import weakref
from typing import Any, Dict, List, Mapping, Optional

from . import _core
from .session import Session


class Softprobe:
    """Starts and attaches sessions.

    Embedded by default: sessions live in this process's core. With
    ``base_url`` (or ``$SOFTPROBE_RUNTIME_URL``) the core opens a remote
    store (``sp_store_new_remote``): sessions are created in that softprobe
    runtime, and each gets a local mirror with the same id, rules, policy and
    case that decides this process's requests in process. The core speaks the
    runtime's control API; this class only chooses the store.

    ``token`` (default ``$SOFTPROBE_API_TOKEN``) is sent as a bearer token to
    the runtime; ``timeout`` (seconds, default 10) bounds each call to it;
    ``service`` (default ``$SOFTPROBE_SERVICE_NAME``) names this process in
    decisions (``service`` predicates) and captures.

    Raises SoftprobeError (``status_name`` "SP_E_INVALID_ARGUMENT") for a
    runtime URL that is not http(s)://host[:port][/prefix] or a token a header
    cannot carry, and ValueError for a timeout that is not a positive, finite
number. No call
    is made here.
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
        if not (timeout > 0 and math.isfinite(timeout)):
            raise ValueError(f"timeout must be a positive, finite number of seconds, not {timeout!r}")
        self._base_url: Optional[str] = url or None
        self.service: Optional[str] = service if service is not None else os.environ.get("SOFTPROBE_SERVICE_NAME")
        # At least 1 ms: 0 would mean the core's default.
        self._store = _core.Store(url or "", token or "", max(1, round(timeout * 1000)))
        self._sessions: "weakref.WeakValueDictionary[str, Session]" = weakref.WeakValueDictionary()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<softprobe.Softprobe {'runtime=' + self._base_url if self._base_url else 'embedded'}>"

    @property
    def mode(self) -> str:
        """"embedded" or "remote"."""
        return "remote" if self._store.is_remote else "embedded"

    @property
    def base_url(self) -> Optional[str]:
        """The runtime's URL as given, or None when embedded."""
        return self._base_url

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
        ``limits`` are passed to the core (see docs/python.md). Remote: the
        core checks the options, creates the session in the runtime, then
        its mirror (RuntimeError / RuntimeUnreachableError when the runtime
        refuses or cannot be reached)."""
        options: Dict[str, Any] = {"mode": mode}
        if policy is not None:
            options["policy"] = dict(policy)
        for key, value in (("caseId", case_id), ("suite", suite), ("redaction", redaction), ("limits", limits)):
            if value is not None:
                options[key] = value
        return self._track(Session(self, self._store.new_session(json.dumps(options))))

    def attach(self, session_id: str) -> Session:
        """A Session object for an open session (started by this client, or
        in the runtime by another process: its mode, policy, rules and auth
        fixtures are copied into a new mirror, its loaded case is not).
        Raises UnknownSessionError."""
        return self._track(Session(self, self._store.get_session(session_id)))

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
