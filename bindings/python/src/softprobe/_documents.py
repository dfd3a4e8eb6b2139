"""Python arguments -> the core's JSON documents (rules, predicates, policy).

Pure translation: snake_case keyword names become the contract's camelCase
keys, Python values become JSON. Every check of what a rule or predicate may
contain is the core's (it names the rule index and field).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Union


def camel(name: str) -> str:
    """host_suffix -> hostSuffix (already camelCase names pass unchanged)."""
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def camel_keys(values: Mapping[str, Any]) -> Dict[str, Any]:
    return {camel(k): v for k, v in values.items()}


@dataclass(frozen=True)
class CaseMatch:
    """One span found by find_in_case: its recorded ``response``
    ({status, headers, body} or bodyBase64) and the whole ``span``."""

    response: Dict[str, Any]
    span: Dict[str, Any] = field(repr=False)

    @property
    def status(self) -> int:
        return int(self.response.get("status", 0))

    @property
    def body(self) -> bytes:
        """The response body as bytes (decoded from bodyBase64 when binary)."""
        if "bodyBase64" in self.response:
            return base64.b64decode(self.response["bodyBase64"])
        body = self.response.get("body", "")
        return body.encode("utf-8") if isinstance(body, str) else json.dumps(body).encode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)


ResponseSpec = Union[CaseMatch, Mapping[str, Any]]


def _response(value: ResponseSpec) -> Dict[str, Any]:
    if isinstance(value, CaseMatch):
        return dict(value.response)
    out = camel_keys(value)
    body = out.get("body")
    if isinstance(body, (bytes, bytearray, memoryview)):
        raw = bytes(body)
        try:
            out["body"] = raw.decode("utf-8")
        except UnicodeDecodeError:
            del out["body"]
            out["bodyBase64"] = base64.b64encode(raw).decode("ascii")
    return out


_RULE_FIELDS = ("name", "id", "priority", "consume", "latency_ms")


def rule_from_spec(spec: Mapping[str, Any]) -> Dict[str, Any]:
    """A rule document from mock_outbound's keywords.

    ``response=`` (a dict or a CaseMatch) makes a mock rule, ``error=`` an error
    rule, ``action="passthrough"``/``"capture_only"`` the others; ``name``,
    ``id``, ``priority``, ``consume``, ``latency_ms`` are rule fields; ``when=``
    (a dict) and every other keyword are ``when`` predicates (``direction``
    defaults to outbound); ``then=`` passes a raw action document.
    """
    spec = dict(spec)
    rule: Dict[str, Any] = {}
    for key in _RULE_FIELDS:
        if key in spec and spec[key] is not None:
            rule[camel(key)] = spec.pop(key)
        else:
            spec.pop(key, None)
    response = spec.pop("response", None)
    error = spec.pop("error", None)
    action = spec.pop("action", None)
    raw_when = spec.pop("when", None) or {}
    raw_then = spec.pop("then", None)
    then: Dict[str, Any]
    if raw_then is not None:
        then = dict(raw_then)  # a raw `then` document, sent as given
    elif action is not None:
        then = {"action": action}
        if response is not None:
            then["response"] = _response(response)
        if error is not None:
            then["error"] = _response(error)
    elif response is not None and error is not None:
        from .errors import InvalidRuleError

        raise InvalidRuleError("mock_outbound takes response= or error=, not both")
    elif response is not None:
        then = {"action": "mock", "response": _response(response)}
    elif error is not None:
        then = {"action": "error", "error": _response(error)}
    else:
        from .errors import InvalidRuleError

        raise InvalidRuleError(
            "mock_outbound needs response= (e.g. session.find_in_case(...).response or "
            "{'status': 200, 'body': '...'}), error=, or action='passthrough'"
        )
    when = {**dict(raw_when), **camel_keys({k: v for k, v in spec.items() if v is not None})}
    when.setdefault("direction", "outbound")
    rule["when"] = when
    rule["then"] = then
    return rule


def rules_document(rules: List[Dict[str, Any]]) -> str:
    return json.dumps({"version": 1, "rules": rules}, separators=(",", ":"))


def predicate_json(predicate: Mapping[str, Any]) -> str:
    return json.dumps(camel_keys({k: v for k, v in predicate.items() if v is not None}), separators=(",", ":"))


def policy_document(policy: Optional[Mapping[str, Any]], fields: Mapping[str, Any]) -> Dict[str, Any]:
    out: Dict[str, Any] = dict(policy or {})
    out.update(camel_keys(fields))
    return out


def describe_predicate(predicate: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in predicate.items())


def describe_matches(matches: List[Dict[str, Any]]) -> str:
    lines = []
    for m in matches[:10]:
        lines.append(
            f"  - span {m.get('spanId', '?')}: {m.get('method', '?')} {m.get('host', '?')}{m.get('path', '')}"
            f" -> {m.get('status', '?')}"
        )
    if len(matches) > 10:
        lines.append(f"  ... and {len(matches) - 10} more")
    return "\n".join(lines)
