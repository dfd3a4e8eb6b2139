"""Installs the HTTP interceptors while at least one session is active, or
a closed one that can still be reached.

Each interceptor patches one client library at its documented or most
stable seam and restores it on uninstall. The patches only act in a context
where a session is active (``softprobe._context.active_session``), so other
threads and tasks keep talking to the network untouched, and the package's
own runtime calls run bypassed.

A thread or task that runs in a copy of a session's context can outlive the
session. While such a closed session object is alive and its policy can
refuse a request, the patches stay installed (``hold``), so that context's
requests still get the policy's answer (the strict miss) instead of the
network. The hold ends when the session object is garbage.

Libraries that are installed but not imported yet are imported on first
install, so code that imports them lazily later is intercepted too.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any, Callable, List, Set

_lock = threading.Lock()
_active = 0
_installed = False
_uninstallers: List[Callable[[], None]] = []
# One token per held closed session (set.add/discard are atomic, so the
# garbage collector's callback may change it without the lock).
_holds: Set[object] = set()
_recheck = False


def _install_all() -> None:
    from . import aiohttp_client, http_client, httpx_transport, requests_adapter, urllib3_connection

    for module in (http_client, urllib3_connection, requests_adapter, httpx_transport, aiohttp_client):
        undo = module.install()
        if undo is not None:
            _uninstallers.append(undo)


def acquire() -> None:
    """One more active session; installs the interceptors on the first."""
    global _active, _installed
    with _lock:
        if _active == 0:
            # Also when a held session kept them installed: installing is
            # idempotent (patched seams are skipped) and patches what was
            # imported, or re-imported, since.
            try:
                _install_all()
            except BaseException:
                if not _holds:
                    _uninstall_all()
                    _installed = False
                raise
            _installed = True
        _active += 1
    _settle()


def release() -> None:
    """One active session less; uninstalls everything after the last, unless
    a closed session is held."""
    global _active
    with _lock:
        _active -= 1
        _uninstall_if_unused()
    _settle()


def hold(session: Any) -> None:
    """Keeps the interceptors installed while ``session`` (closed, with a
    policy that can refuse requests) is alive."""
    global _installed
    token = object()
    with _lock:
        if not _installed:  # the session's last activation ended before it closed
            try:
                _install_all()
            except BaseException:
                _uninstall_all()
                raise
            _installed = True
        _holds.add(token)
    weakref.finalize(session, _unhold, token)


def _unhold(token: object) -> None:
    # May run from the garbage collector anywhere, even while this thread
    # holds _lock: never block; the lock's holder re-checks (_settle).
    global _recheck
    _holds.discard(token)
    if _lock.acquire(blocking=False):
        try:
            _uninstall_if_unused()
        finally:
            _lock.release()
    else:
        _recheck = True


def _settle() -> None:
    global _recheck
    if _recheck:
        _recheck = False
        with _lock:
            _uninstall_if_unused()


def _uninstall_if_unused() -> None:
    global _installed
    if _installed and _active == 0 and not _holds:
        _uninstall_all()
        _installed = False


def _uninstall_all() -> None:
    while _uninstallers:
        _uninstallers.pop()()


def installed() -> bool:
    """True while the interceptors are in place."""
    with _lock:
        return _installed
