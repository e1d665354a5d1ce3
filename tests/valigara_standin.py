"""A local stand-in for Valigara's action API (integrations.md §1, "Stand-in spec").

Documented semantics; field names secondary. `GET|POST /client/V1/` reads `auth`, `action`
and `data` from the query or the form and answers HTTP 200 with the code in the body:
non-HTTPS (when required) → 101, a wrong key → 102, an unknown action → 200, missing data →
300, data that is not JSON → 301, data of the wrong shape → 303, else 100. A leaky bucket
(capacity and drain rate set by the test) guards the limited actions and answers 105 with a
`Retry-After`; every answer carries an `X-DEBUG-UID`. Products live in memory by id:
`product_sold` takes the quantity sold off, `remove` delists the piece, `revise` keeps it
listed with the new quantity, `no_action` changes the listing not at all.

`hold_next(action)`: the next call of that action is acted on (the stock goes down), then its
answer waits until the test sets `release`, as an answer lost on the way or a worker killed
before it heard it; `held` is set once such a call has arrived.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.standin import Loopback

DATA_NEEDED = {"product_sold", "product_update", "product_import", "product_get"}
KNOWN = DATA_NEEDED | {"product_search", "product_update_listings"}


@dataclass
class Call:
    action: str
    data: Any
    status: int
    at: float
    wait: float | None = None  # the Retry-After a 105 gave


@dataclass
class Bucket:
    capacity: int
    drain_per_s: float
    level: float = 0.0
    at: float = field(default_factory=time.monotonic)

    def fill(self) -> None:
        """Full now: the next call meets a 105 unless it comes after a unit has drained."""
        self.level, self.at = float(self.capacity), time.monotonic()

    def empty(self) -> None:
        """As if the wait a 105 advised had passed."""
        self.level, self.at = 0.0, time.monotonic()

    def take(self) -> float | None:
        """None when there is room (and it is taken); else seconds until there is."""
        now = time.monotonic()
        self.level = max(0.0, self.level - (now - self.at) * self.drain_per_s)
        self.at = now
        if self.level + 1 > self.capacity:
            return (self.level + 1 - self.capacity) / self.drain_per_s
        self.level += 1
        return None


class ValigaraStandIn(Loopback):
    def __init__(
        self,
        key: str = "valigara-test-key",
        *,
        limited: set[str] | None = None,
        capacity: int = 2,
        drain_per_s: float = 10.0,
    ) -> None:
        self.key = key
        self.limited = limited if limited is not None else {"product_update_listings"}
        self.bucket = Bucket(capacity, drain_per_s)
        self.products: dict[int, dict[str, Any]] = {}
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._hold: str | None = None
        self.held = threading.Event()
        self.release = threading.Event()
        super().__init__()

    @property
    def url(self) -> str:
        return f"{super().url}/client/V1/"

    def add(self, product: dict[str, Any]) -> None:
        self.products[int(product["product_id"])] = {"listed": True, **product}

    def hold_next(self, action: str) -> None:
        self._hold = action
        self.held.clear()
        self.release.clear()

    def answered(self, action: str, status: int = 100) -> list[Call]:
        return [c for c in self.calls if c.action == action and c.status == status]

    def answer(self, form: dict[str, str]) -> tuple[int, Any, float | None]:
        action, raw = form.get("action", ""), form.get("data")
        if form.get("auth") != self.key:
            return 102, None, None
        if action not in KNOWN:
            return 200, None, None
        if action in DATA_NEEDED and not raw:
            return 300, None, None
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            return 301, None, None
        if action in self.limited:
            wait = self.bucket.take()
            if wait is not None:
                return 105, None, wait
        return self._act(action, data)

    def _act(self, action: str, data: Any) -> tuple[int, Any, float | None]:
        if not isinstance(data, dict):
            return 303, None, None
        if action == "product_search":
            sku = data.get("sku")
            return (
                100,
                [
                    {"product_id": pid}
                    for pid, product in sorted(self.products.items())
                    if product["listed"] and (sku is None or product.get("sku") == sku)
                ],
                None,
            )
        product = self.products.get(int(data.get("product_id") or 0))
        if product is None:
            return 303, None, None
        if action == "product_get":
            return 100, {k: v for k, v in product.items() if k != "listed"}, None
        if action == "product_sold":
            quantity, sold_action = data.get("quantity"), data.get("sold_action", "no_action")
            if (
                not isinstance(quantity, int)
                or quantity < 1
                or sold_action
                not in (
                    "remove",
                    "revise",
                    "no_action",
                )
            ):
                return 303, None, None
            product["quantity"] = max(0, int(product.get("quantity", 0)) - quantity)
            if sold_action == "remove":
                product["listed"] = False
            return 100, {"product_id": product["product_id"]}, None
        return 100, None, None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def _serve(self, body: bytes) -> None:
                query = parse_qs(urlsplit(self.path).query)
                posted = parse_qs(body.decode())
                form = {k: v[0] for k, v in {**query, **posted}.items()}
                with standin._lock:
                    status, data, wait = standin.answer(form)
                    standin.calls.append(
                        Call(
                            form.get("action", ""), form.get("data"), status, time.monotonic(), wait
                        )
                    )
                    hold = standin._hold is not None and standin._hold == form.get("action")
                    if hold:
                        standin._hold = None
                if hold:
                    standin.held.set()
                    standin.release.wait(timeout=120)
                payload = json.dumps({"status": status, "data": data}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("X-DEBUG-UID", uuid.uuid4().hex)
                if wait is not None:
                    self.send_header("Retry-After", f"{wait:.3f}")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                self._serve(b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self._serve(self.rfile.read(length))

        return Handler
