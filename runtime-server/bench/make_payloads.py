#!/usr/bin/env python3
"""Writes the inputs of inject_load.sh into DIR for session SESSION_ID:

  rules.json               a rules document with 100 mock rules (svcN.example.com /api/N)
  inject-hit.json / .pb    an OTLP TracesData whose inject span matches rule 57
  inject-miss.json / .pb   the same request to a host no rule matches (allow policy: 404)

The protobuf is encoded by hand (no generated code, no protobuf package):
TracesData{1: ResourceSpans{1: Resource{1: KeyValue}, 2: ScopeSpans{1: scope, 2: Span}}},
Span{1: trace_id, 2: span_id, 5: name, 6: kind, 7/8: fixed64 times, 9: KeyValue},
KeyValue{1: key, 2: AnyValue{1: string_value, 3: int_value}}.

usage: make_payloads.py DIR SESSION_ID
"""
import json
import os
import struct
import sys

RULES = 100
HIT = 57


def rules_document():
    rules = []
    for i in range(RULES):
        rules.append({
            "name": f"svc{i}",
            "priority": i % 3,
            "when": {"direction": "outbound", "method": "GET" if i % 2 else "POST",
                     "host": f"svc{i}.example.com", "path": f"/api/{i}"},
            "then": {"action": "mock", "response": {
                "status": 200,
                "headers": {"content-type": "application/json", "x-rule": str(i)},
                "body": json.dumps({"rule": i, "items": [1, 2, 3], "ok": True})}},
        })
    return {"version": 1, "rules": rules}


def inject_attributes(session, host, path, method):
    return [
        ("sp.session.id", session), ("sp.span.type", "inject"), ("sp.traffic.direction", "outbound"),
        ("sp.service.name", "checkout"), ("url.scheme", "http"), ("url.host", host), ("url.path", path),
        ("http.request.method", method), ("http.request.header.accept", "application/json"),
        ("http.request.header.user-agent", "bench/1.0"), ("http.request.body", ""),
    ]


TRACE_ID = "5b8efff798038103d269b633813fc60c"
SPAN_ID = "051581bf3cb55c13"
START, END = 1700000000000000000, 1700000000001000000


def to_json(attrs, method):
    span = {"traceId": TRACE_ID, "spanId": SPAN_ID, "name": f"HTTP {method}", "kind": 3,
            "startTimeUnixNano": str(START), "endTimeUnixNano": str(END),
            "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in attrs]}
    return json.dumps({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "checkout"}}]},
        "scopeSpans": [{"scope": {"name": "softprobe-proxy"}, "spans": [span]}]}]}).encode()


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_ld(tag, data):
    return varint(tag << 3 | 2) + varint(len(data)) + data


def field_varint(tag, n):
    return varint(tag << 3) + varint(n)


def field_fixed64(tag, n):
    return varint(tag << 3 | 1) + struct.pack("<Q", n)


def key_value(key, value):
    return field_ld(1, key.encode()) + field_ld(2, field_ld(1, value.encode()))


def to_protobuf(attrs, method):
    span = (field_ld(1, bytes.fromhex(TRACE_ID)) + field_ld(2, bytes.fromhex(SPAN_ID)) +
            field_ld(5, f"HTTP {method}".encode()) + field_varint(6, 3) +
            field_fixed64(7, START) + field_fixed64(8, END) +
            b"".join(field_ld(9, key_value(k, v)) for k, v in attrs))
    scope_spans = field_ld(1, field_ld(1, b"softprobe-proxy")) + field_ld(2, span)
    resource = field_ld(1, key_value("service.name", "checkout"))
    return field_ld(1, field_ld(1, resource) + field_ld(2, scope_spans))


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    out, session = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "rules.json"), "w") as f:
        json.dump(rules_document(), f)
    method = "GET" if HIT % 2 else "POST"
    cases = {"hit": (f"svc{HIT}.example.com", f"/api/{HIT}"), "miss": ("unknown.example.com", f"/api/{HIT}")}
    for name, (host, path) in cases.items():
        attrs = inject_attributes(session, host, path, method)
        with open(os.path.join(out, f"inject-{name}.json"), "wb") as f:
            f.write(to_json(attrs, method))
        with open(os.path.join(out, f"inject-{name}.pb"), "wb") as f:
            f.write(to_protobuf(attrs, method))


if __name__ == "__main__":
    main()
