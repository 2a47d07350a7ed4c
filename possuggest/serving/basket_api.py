"""The local basket API: HTTP on 127.0.0.1 only, for tills that push their basket.

``POST /v1/basket`` with ``Authorization: Bearer TOKEN`` and JSON
``{"register": "...", "sale_id": "...", "items": [{"sku": "...", "qty": 1}]}`` answers 200 with
the suggestions; ``GET /v1/health`` needs no token. Bodies over 64 KB get 413, bad JSON or
wrong types 400, a wrong or missing token 401 — always with a JSON error.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from possuggest import __version__
from possuggest.serving.sale_session import counted_skus

log = logging.getLogger(__name__)

HOST = "127.0.0.1"          # loopback only: not configurable on purpose
MAX_BODY = 64 * 1024


@dataclass(frozen=True)
class BasketRequest:
    register: str
    sale_id: str | None
    lines: tuple[tuple[str, float], ...]      # (sku, qty) as sent; the session counts them

    @property
    def skus(self) -> list[str]:
        return counted_skus(self.lines)


class BadRequest(ValueError):
    pass


def parse_basket(body: bytes) -> BasketRequest:
    """Validate a basket body; raises BadRequest with a message naming the problem."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest("body must be a JSON object")
    register = data.get("register", "1")
    if isinstance(register, bool) or not isinstance(register, (str, int)):
        raise BadRequest("'register' must be a string")
    sale_id = data.get("sale_id")
    if sale_id is not None and (isinstance(sale_id, bool) or not isinstance(sale_id, (str, int))):
        raise BadRequest("'sale_id' must be a string")
    items = data.get("items")
    if not isinstance(items, list):
        raise BadRequest("'items' must be a list")
    lines: list[tuple[str, float]] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("sku"), str) or not item["sku"]:
            raise BadRequest(f"items[{i}] must be an object with a string 'sku'")
        qty = item.get("qty", 1)
        if isinstance(qty, bool) or not isinstance(qty, (int, float)):
            raise BadRequest(f"items[{i}].qty must be a number")
        try:
            lines.append((item["sku"], float(qty)))
        except OverflowError:
            raise BadRequest(f"items[{i}].qty is out of range") from None
    return BasketRequest(str(register), None if sale_id is None else str(sale_id), tuple(lines))


BasketHandler = Callable[[BasketRequest], list[dict[str, Any]]]
HealthFn = Callable[[], dict[str, Any]]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.debug("api %s - %s", self.address_string(), format % args)

    def _send(self, code: int, payload: Any) -> None:
        body = json.dumps(payload).encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _error(self, code: int, message: str) -> None:
        self.close_connection = True
        self._send(code, {"error": message})

    def do_GET(self) -> None:  # noqa: N802
        if self.path.rstrip("/") == "/v1/health":
            self._send(200, {"status": "ok", "version": __version__, **self.server.health()})
        else:
            self._error(404, f"no such endpoint: {self.path}")

    def do_POST(self) -> None:  # noqa: N802
        if self.path.rstrip("/") != "/v1/basket":
            self._error(404, f"no such endpoint: {self.path}")
            return
        auth = self.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else ""
        if not token or not hmac.compare_digest(token.encode(), self.server.token.encode()):
            self._error(401, "missing or wrong token (Authorization: Bearer TOKEN)")
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._error(411, "Content-Length required")
            return
        if length > MAX_BODY:
            self._error(413, f"body over {MAX_BODY // 1024} KB")
            return
        body = self.rfile.read(length)
        try:
            req = parse_basket(body)
        except BadRequest as exc:
            self._error(400, str(exc))
            return
        try:
            suggestions = self.server.handler(req)
        except Exception:
            log.exception("basket handler failed")
            self._error(500, "suggestions failed; see the log")
            return
        self._send(200, {"register": req.register, "sale_id": req.sale_id,
                         "suggestions": suggestions})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, token: str, handler: BasketHandler, health: HealthFn) -> None:
        super().__init__((HOST, port), _Handler)
        self.token = token
        self.handler = handler
        self.health = health


class BasketApi:
    """Run the API in a background thread: ``start()``, ``stop()`` (joins the thread)."""

    def __init__(self, port: int, token: str, handler: BasketHandler,
                 health: HealthFn | None = None) -> None:
        if not token:
            raise ValueError("the basket API needs a token")
        self._server = _Server(port, token, handler, health or (lambda: {}))
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1}, name="basket-api",
                                        daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> BasketApi:
        self._thread.start()
        log.info("basket API on http://%s:%d", *self.address)
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def basket_handler(hub: Any, on_update: Callable[[BasketRequest], None] | None = None
                   ) -> BasketHandler:
    """The API's handler over a SessionHub: the request becomes the same BasketUpdate every
    other source delivers; ``on_update`` is told afterwards (the panel redraws)."""
    from possuggest.serving.sale_session import BasketUpdate

    def handle(req: BasketRequest) -> list[dict[str, Any]]:
        view = hub.apply(BasketUpdate(req.register, req.sale_id, req.lines, "api"))
        if on_update is not None:
            on_update(req)
        return [suggestion_json(s) for s in view.suggestions]
    return handle


def suggestion_json(s: Any) -> dict[str, Any]:
    return {"kind": s.kind, "sku": s.sku, "name": s.name, "price": round(s.price, 2),
            "reason": s.reason}
