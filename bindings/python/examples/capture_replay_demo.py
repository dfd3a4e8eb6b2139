"""The main job in Python, end to end (the same story as examples/capture_replay_demo.cc):

1. start a real HTTP server on 127.0.0.1 (the "pricing" dependency);
2. run a small checkout app (plain ``requests``) against it inside a capture session;
3. close the session: the exchanges land in a case file (the token is redacted);
4. stop the server;
5. replay the app offline in strict mode from the case file (find_in_case picks
   each recorded response, mock_outbound serves it);
6. make one call nobody recorded: it gets the 599 strict-miss response and the
   core explains which rule came closest.

Usage: python capture_replay_demo.py [OUTPUT_DIR]   (exit status 0 when every step behaved)
"""

from __future__ import annotations

import http.server
import json
import os
import sys
import threading
from typing import Any, Dict

import requests

import softprobe


class Pricing(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802
        self._send(200, {"sku": "book-42", "unitPrice": 12.5})

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self._send(201, {"id": "res-7", "sku": "book-42", "qty": 2})

    def _send(self, status: int, doc: Dict[str, Any]) -> None:
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def checkout(pricing: str) -> Dict[str, Any]:
    """The application under test: prices a cart by calling its dependency."""
    auth = {"authorization": "Bearer live-secret-token"}
    price = requests.get(f"{pricing}/v1/prices", params={"sku": "book-42"}, headers=auth)
    stock = requests.post(f"{pricing}/v1/reservations", json={"sku": "book-42", "qty": 2}, headers=auth)
    if price.status_code != 200 or stock.status_code != 201:
        return {"ok": False, "priceStatus": price.status_code, "stockStatus": stock.status_code}
    return {"ok": True, "total": price.json()["unitPrice"] * 2, "reservation": stock.json()["id"]}


def step(text: str) -> None:
    print(f"\n== {text}", flush=True)


def main() -> int:
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "demo-out"
    os.makedirs(out_dir, exist_ok=True)
    case_path = os.path.join(out_dir, "checkout-python.case.json")
    sp = softprobe.Softprobe(base_url="")  # embedded core

    step("1. start the pricing server on 127.0.0.1")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Pricing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    pricing = f"http://127.0.0.1:{server.server_address[1]}"
    print(pricing)

    step("2. capture: run the app against the real server")
    session = sp.start_session("capture", case_id="checkout-python", suite="demo",
                               redaction={"enabled": True, "headers": ["authorization"]})
    with session.activate():
        live = checkout(pricing)
    print(json.dumps(live))

    step("3. close the capture session: write the case file")
    print(session.close(case_path))
    assert "live-secret-token" not in open(case_path).read(), "the token must be redacted"

    step("4. stop the server")
    server.shutdown()
    server.server_close()

    step("5. replay offline, strict: answers come from the case")
    with sp.start_session("replay", policy={"externalHttp": "strict"}) as replay:
        replay.load_case_from_file(case_path)
        for method, path in (("GET", "/v1/prices"), ("POST", "/v1/reservations")):
            recorded = replay.find_in_case(method=method, path=path)
            replay.mock_outbound(method=method, path=path, response=recorded.response)
        replayed = checkout(pricing)
        print(json.dumps(replayed))

        step("6. a call nobody recorded fails loudly")
        miss = requests.get(f"{pricing}/v1/discounts")
        print(miss.status_code, miss.headers.get("x-softprobe-strict-miss"), miss.text)
        print(replay.strict_misses()[0]["explanation"])

    ok = live["ok"] and replayed == live and miss.status_code == 599
    print("\nOK: the replay matched the capture" if ok else "\nFAILED", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
