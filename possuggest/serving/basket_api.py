"""The local basket API: HTTP on 127.0.0.1 only, for tills that push their basket.

``POST /v1/basket`` with ``Authorization: Bearer TOKEN`` and JSON
``{"register": "...", "sale_id": "...", "items": [{"sku": "...", "qty": 1}]}`` answers 200 with
the suggestions; ``GET /v1/health`` needs no token (503 while possuggest's database is
unusable). Every error is JSON ``{"error": "..."}``: 400 bad JSON, wrong types or a field over
its limit (the message names the field), 401 a wrong or missing token, 404, 405, 411 no
Content-Length, 413 a body over 64 KB, 500.

The HTTP server is waitress (pure Python, no dependencies) serving a small WSGI app: it parses
Content-Length strictly (digits only), counts chunked bodies against the same limit, closes
idle and half-sent connections, and keeps a connection limit and a listen backlog. Its own
error answers (malformed requests) are turned into JSON too. It runs in one thread: waitress's
event loop (asking only the sockets that can have changed each turn), with each request
answered in that thread (see _InlineDispatcher); ``stop()`` joins it.
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import re
import select
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from waitress.adjustments import Adjustments  # type: ignore[import-untyped]
from waitress.channel import HTTPChannel  # type: ignore[import-untyped]
from waitress.server import TcpWSGIServer  # type: ignore[import-untyped]
from waitress.task import ErrorTask  # type: ignore[import-untyped]
from waitress.utilities import RequestEntityTooLarge  # type: ignore[import-untyped]

from possuggest import __version__
from possuggest.serving.sale_session import counted_skus

log = logging.getLogger(__name__)

HOST = "127.0.0.1"          # loopback only: not configurable on purpose
MAX_BODY = 64 * 1024
MAX_HEADERS = 8 * 1024       # request line and headers
MAX_REGISTER = 64            # characters
MAX_SALE_ID = 128
MAX_SKU = 64
MAX_ITEMS = 500              # basket lines
IDLE_TIMEOUT = 15.0          # s: a connection with no request in progress is closed after this
REQUEST_TIMEOUT = 10.0       # s: a request must arrive whole (headers and body) within this
CONNECTION_LIMIT = 2000      # open connections (lower if the process may not open that many)
BACKLOG = 1024               # the kernel caps it at net.core.somaxconn

# control characters (C0, DEL, C1) and lone surrogates (a JSON "\ud800" escape decodes to one,
# and it cannot be stored or encoded as UTF-8)
_BAD_TEXT = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")

_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
            405: "Method Not Allowed", 411: "Length Required", 413: "Payload Too Large",
            500: "Internal Server Error", 503: "Service Unavailable"}


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


def _text(value: Any, field: str, limit: int, allow_int: bool = True,
          allow_empty: bool = False) -> str:
    """A string field: its type, length and characters checked; the message names it."""
    if isinstance(value, bool) or not isinstance(value, (str, int) if allow_int else str):
        raise BadRequest(f"'{field}' must be a string")
    text = str(value)
    if not text and not allow_empty:
        raise BadRequest(f"'{field}' must not be empty")
    if len(text) > limit:
        raise BadRequest(f"'{field}' is longer than {limit} characters")
    if _BAD_TEXT.search(text):
        raise BadRequest(f"'{field}' contains a control character or invalid text")
    return text


def parse_basket(body: bytes) -> BasketRequest:
    """Validate a basket body; raises BadRequest with a message naming the problem."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"body is not valid JSON: not UTF-8 at byte {exc.start}") from None
    try:
        data = json.loads(text)
    except RecursionError:
        raise BadRequest("body is not valid JSON we accept: nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise BadRequest(f"body is not valid JSON: {exc}") from None
    except ValueError:           # an integer over 4,300 digits
        raise BadRequest("body is not valid JSON we accept: a number is too long") from None
    if not isinstance(data, dict):
        raise BadRequest("body must be a JSON object")
    register = _text(data.get("register", "1"), "register", MAX_REGISTER)
    sale_id = data.get("sale_id")
    if sale_id is not None:
        sale_id = _text(sale_id, "sale_id", MAX_SALE_ID, allow_empty=True)
    items = data.get("items")
    if not isinstance(items, list):
        raise BadRequest("'items' must be a list")
    if len(items) > MAX_ITEMS:
        raise BadRequest(f"'items' has more than {MAX_ITEMS} lines")
    lines: list[tuple[str, float]] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("sku"), str) or not item["sku"]:
            raise BadRequest(f"items[{i}] must be an object with a string 'sku'")
        sku = _text(item["sku"], f"items[{i}].sku", MAX_SKU, allow_int=False)
        qty = item.get("qty", 1)
        if isinstance(qty, bool) or not isinstance(qty, (int, float)):
            raise BadRequest(f"items[{i}].qty must be a number")
        try:
            q = float(qty)
        except OverflowError:
            raise BadRequest(f"items[{i}].qty is out of range") from None
        if not math.isfinite(q):
            raise BadRequest(f"items[{i}].qty is out of range")
        lines.append((sku, q))
    return BasketRequest(register, sale_id, tuple(lines))


BasketHandler = Callable[[BasketRequest], list[dict[str, Any]]]
HealthFn = Callable[[], dict[str, Any]]
_Answer = tuple[int, dict[str, Any], list[tuple[str, str]]]


def _json_bytes(payload: Any) -> bytes:
    return json.dumps(payload).encode("utf-8")       # ASCII: any text is escaped


class _App:
    """The WSGI application: routing, token, body, and JSON answers for every outcome."""

    def __init__(self, token: str, handler: BasketHandler, health: HealthFn) -> None:
        self.token = token.encode("utf-8")
        self.handler = handler
        self.health = health

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            code, payload, extra = self._route(environ)
        except Exception:
            log.exception("basket API request failed")
            code, payload, extra = 500, {"error": "internal error; see the log"}, []
        body = _json_bytes(payload)
        start_response(f"{code} {_REASONS.get(code, 'Error')}",
                       [("Content-Type", "application/json"),
                        ("Content-Length", str(len(body))),
                        ("Cache-Control", "no-store"), *extra])
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]    # headers only

    def _route(self, environ: dict[str, Any]) -> _Answer:
        path = str(environ.get("PATH_INFO", ""))
        method = str(environ.get("REQUEST_METHOD", ""))
        where = path.rstrip("/")
        if where == "/v1/health":
            if method not in ("GET", "HEAD"):
                return 405, {"error": f"{method[:20]} not allowed here; use GET"}, \
                    [("Allow", "GET, HEAD")]
            return self._health()
        if where == "/v1/basket":
            if method != "POST":
                return 405, {"error": f"{method[:20]} not allowed here; use POST"}, \
                    [("Allow", "POST")]
            return self._basket(environ)
        return 404, {"error": f"no such endpoint: {path[:100]}"}, []

    def _health(self) -> _Answer:
        info: dict[str, Any] = {"status": "ok", "version": __version__, **self.health()}
        store = info.get("store")
        if store is not None and store != "ok":
            info["status"] = "error"
            return 503, info, []
        return 200, info, []

    def _basket(self, environ: dict[str, Any]) -> _Answer:
        auth = str(environ.get("HTTP_AUTHORIZATION", ""))
        token = auth[7:].encode("utf-8", "replace") if auth.startswith("Bearer ") else b""
        if not token or not hmac.compare_digest(token, self.token):
            return 401, {"error": "missing or wrong token (Authorization: Bearer TOKEN)"}, \
                [("WWW-Authenticate", "Bearer")]
        # waitress has already read the whole body within MAX_BODY (a chunked one too, its
        # length filled in) and refused a Content-Length that is not plain digits
        length = environ.get("CONTENT_LENGTH")
        if length is None or length == "":
            return 411, {"error": "Content-Length required"}, []
        try:
            n = int(length)
        except ValueError:
            return 400, {"error": "Content-Length is invalid"}, []
        if n < 0:
            return 400, {"error": "Content-Length is invalid"}, []
        if n > MAX_BODY:
            return 413, {"error": f"body over {MAX_BODY // 1024} KB"}, []
        body = environ["wsgi.input"].read(n)
        if len(body) > MAX_BODY:
            return 413, {"error": f"body over {MAX_BODY // 1024} KB"}, []
        try:
            req = parse_basket(body)
        except BadRequest as exc:
            return 400, {"error": str(exc)}, []
        try:
            suggestions = self.handler(req)
        except Exception:
            log.exception("basket handler failed")
            return 500, {"error": "suggestions failed; see the log"}, []
        return 200, {"register": req.register, "sale_id": req.sale_id,
                     "suggestions": suggestions}, []


class _JsonErrorTask(ErrorTask):  # type: ignore[misc]
    """waitress's own error answers (malformed request line or headers, bad Content-Length,
    body too large, unsupported Transfer-Encoding, a crash) as JSON instead of text."""

    def execute(self) -> None:
        err = self.request.error
        code, reason = err.code, err.reason
        if isinstance(err, RequestEntityTooLarge):
            message = f"body over {MAX_BODY // 1024} KB"
        elif code == 501:
            # an unknown Transfer-Encoding: the client's mistake, so a 4xx (RFC 9112 allows
            # 501; the API promises that a 5xx is always possuggest's own failure)
            code, reason = 400, "Bad Request"
            message = "Transfer-Encoding not supported (only chunked)"
        elif code >= 500:
            message = "internal error; see the log"
        else:
            message = f"{reason}: {err.body}"
        body = _json_bytes({"error": message})
        self.status = f"{code} {reason}"
        self.response_headers.extend([("Content-Type", "application/json"),
                                      ("Cache-Control", "no-store")])
        self.set_close_on_finish()
        self.content_length = len(body)
        if getattr(self.request, "command", None) != "HEAD":
            self.write(body)


class _Channel(HTTPChannel):  # type: ignore[misc]
    error_task_class = _JsonErrorTask
    request_started = 0.0          # when the first byte of the request in progress came

    def send_continue(self) -> None:
        """waitress 3.0.2 sends "100 Continue" for a request that is already whole (no body,
        or a refused Content-Length) and then marks it incomplete, so it is never answered:
        such a request is answered at once instead."""
        if self.request is not None and self.request.completed:
            self.request.expect_continue = False
            return
        super().send_continue()

    def received(self, data: bytes) -> bool:
        if self.request is None and data:
            self.request_started = time.time()
        return bool(super().received(data))


class _Server(TcpWSGIServer):  # type: ignore[misc]
    channel_class = _Channel
    loop_thread: int | None = None

    def pull_trigger(self) -> None:
        """Wake the event loop: needed from other threads only (``stop()``); a request
        answered in the loop thread is followed by the next turn anyway."""
        if threading.get_ident() != self.loop_thread:
            super().pull_trigger()

    def handle_accept(self) -> None:
        """Accept every waiting connection (up to 64), not one per turn of the event loop,
        which throttled tills that open a connection per basket."""
        for _ in range(64):
            if len(self._map) >= self.adj.connection_limit:
                break
            before = len(self._map)
            super().handle_accept()
            if len(self._map) == before:             # nothing waiting (or a failed accept)
                break

    def maintenance(self, now: float) -> None:
        """waitress closes connections idle for ``channel_timeout``; also close those whose
        request has been arriving for longer than REQUEST_TIMEOUT (a slow drip of headers)."""
        super().maintenance(now)
        cutoff = now - REQUEST_TIMEOUT
        for channel in list(self.active_channels.values()):
            if not channel.requests and channel.request is not None \
                    and channel.request_started < cutoff:
                channel.will_close = True


class _InlineDispatcher:
    """In place of waitress's worker threads: requests read in a turn of the event loop are
    answered in the same thread right after it. Under the GIL, handing each request to a
    worker only added two thread switches and a wake-up pipe per request (a third of the
    server's CPU), and under overload the loop thread starved in a GIL convoy. An answer
    takes well under a millisecond; a slow one holds up the others as it would the GIL."""

    def __init__(self) -> None:
        self.queue: deque[Any] = deque()

    def set_thread_count(self, count: int) -> None:
        pass

    def add_task(self, channel: Any) -> None:
        self.queue.append(channel)         # called under the channel's lock: run it later

    def run_pending(self) -> None:
        while self.queue:
            channel = self.queue.popleft()
            try:
                channel.service()
            except Exception:                                      # pragma: no cover
                log.exception("basket API request failed")

    def shutdown(self, cancel_pending: bool = True, timeout: float = 5.0) -> bool:
        while self.queue:
            self.queue.popleft().cancel()
        return True


def _connection_limit() -> int:
    """CONNECTION_LIMIT, lowered to what the process may open (some desktops allow only 1,024
    files; the soft limit is raised first, as far as the hard limit allows)."""
    try:
        import resource
    except ImportError:                          # Windows: select() handles at most 512
        return 500
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = CONNECTION_LIMIT + 256
    if soft != resource.RLIM_INFINITY and soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(want, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
            soft = new
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        return CONNECTION_LIMIT
    return max(16, min(CONNECTION_LIMIT, int(soft) - 256))


class BasketApi:
    """Run the API in a background thread: ``start()``, ``stop()`` (joins it).

    Binding happens here, so a taken port raises OSError before any thread starts.
    """

    def __init__(self, port: int, token: str, handler: BasketHandler,
                 health: HealthFn | None = None) -> None:
        if not token:
            raise ValueError("the basket API needs a token")
        self._app = _App(token, handler, health or (lambda: {}))
        self._map: dict[int, Any] = {}
        self._dispatcher = _InlineDispatcher()
        self._use_poll = hasattr(select, "poll")
        adj = Adjustments(
            host=HOST, port=port, ipv6=False, threads=1,
            backlog=BACKLOG, connection_limit=_connection_limit(),
            channel_timeout=IDLE_TIMEOUT, cleanup_interval=1,
            max_request_header_size=MAX_HEADERS,
            max_request_body_size=MAX_BODY + 1,       # waitress refuses length >= this
            asyncore_use_poll=self._use_poll, ident="possuggest",
            clear_untrusted_proxy_headers=False, log_socket_errors=False,
            expose_tracebacks=False)
        try:
            self._server = _Server(self._app, map=self._map, dispatcher=self._dispatcher,
                                   adj=adj)
        except BaseException:
            self._close_sockets()                     # the wake-up pipe made before bind
            raise
        self._stopping = threading.Event()
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="basket-api", daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        return str(self._server.effective_host), int(self._server.effective_port)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> BasketApi:
        self._thread.start()
        log.info("basket API on http://%s:%d", *self.address)
        return self

    def _loop(self) -> None:
        from waitress import wasyncore  # type: ignore[import-untyped]

        self._server.loop_thread = threading.get_ident()
        try:
            if self._use_poll:
                self._poll_loop()
            else:                                                  # pragma: no cover
                while not self._stopping.is_set():              # Windows: select()
                    wasyncore.loop(timeout=1.0, map=self._map, use_poll=False, count=1)
                    self._dispatcher.run_pending()
        except Exception:                                          # pragma: no cover
            log.exception("basket API stopped")

    def _poll_loop(self) -> None:
        """waitress's event loop, minus its cost per turn of asking every open connection
        what it waits for (with 200 kept-alive connections that was over half the server's
        time). A connection idle between requests waits for input until something happens
        on its socket, so only sockets that had an event, new ones, busy ones (a request in
        the works or output pending) and the listener are asked each turn; every socket is
        asked again each second (after waitress's idle-connection sweep)."""
        from waitress import wasyncore

        smap = self._map
        pollster = select.poll()
        registered: dict[int, int] = {}
        known: set[int] = set()
        check: set[int] = set()
        listener = self._server.socket.fileno()
        readable, writable = select.POLLIN | select.POLLPRI, select.POLLOUT
        full_scan = 0.0
        while not self._stopping.is_set():
            now = time.monotonic()
            if now >= full_scan:
                full_scan = now + 1.0
                check = set(smap) | known
            else:
                keys = smap.keys()
                check |= keys - known                             # new connections
                check |= known - keys                             # closed ones
            check.add(listener)
            busy: set[int] = set()
            for fd in check:
                obj = smap.get(fd)
                flags = 0
                if obj is not None:
                    known.add(fd)
                    if obj.readable():
                        flags |= readable
                    if obj.writable() and not obj.accepting:
                        flags |= writable
                    if getattr(obj, "requests", None) or getattr(obj, "total_outbufs_len", 0) \
                            or getattr(obj, "will_close", False) \
                            or getattr(obj, "close_when_flushed", False):
                        busy.add(fd)
                else:
                    known.discard(fd)
                old = registered.get(fd)
                if flags == (old or 0):
                    continue
                if flags:
                    registered[fd] = flags
                    if old is None:
                        pollster.register(fd, flags)
                    else:
                        pollster.modify(fd, flags)
                else:
                    del registered[fd]
                    pollster.unregister(fd)
            try:
                events = pollster.poll(1000)
            except InterruptedError:                               # pragma: no cover
                events = []
            check = busy
            for fd, flags in events:
                check.add(fd)
                obj = smap.get(fd)
                if obj is not None:
                    wasyncore.readwrite(obj, flags)
            self._dispatcher.run_pending()

    def _close_sockets(self) -> None:
        for dispatcher in list(self._map.values()):
            try:
                dispatcher.close()
            except OSError:                                        # pragma: no cover
                pass
        self._map.clear()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop listening, finish or cancel requests in progress, close every connection and
        join every thread. Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        self._stopping.set()
        if self._thread.is_alive():
            try:
                self._server.pull_trigger()           # wake the loop now
            except OSError:                                        # pragma: no cover
                pass
            self._thread.join(timeout)
        self._dispatcher.shutdown()
        self._close_sockets()


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
