"""The local basket API: HTTP on 127.0.0.1 only, for tills that push their basket.

``POST /v1/basket`` with ``Authorization: Bearer TOKEN`` and JSON
``{"register": "...", "sale_id": "...", "items": [{"sku": "...", "qty": 1}]}`` answers 200 with
the suggestions; ``GET /v1/suggestions?register=R`` reads what the register's panel shows;
``POST /v1/suggestions/{sku}/accept`` and ``.../dismiss`` act on a card from a key on the till;
``POST /v1/sale/{id}/closed`` ends the sale. ``GET /v1/health`` and ``GET /v1/openapi.json``
(the document for all of them, see :mod:`possuggest.serving.api_spec`) need no token (health
answers 503 while possuggest's database is unusable). Every error is JSON ``{"error": "..."}``:
400 bad JSON, wrong types or a field over its limit (the message names the field), 401 a wrong
or missing token, 404, 405, 409, 411 no Content-Length, 413 a body over 64 KB, 500.

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
from urllib.parse import parse_qsl, unquote_to_bytes, urlsplit

from waitress.adjustments import Adjustments  # type: ignore[import-untyped]
from waitress.channel import HTTPChannel  # type: ignore[import-untyped]
from waitress.server import TcpWSGIServer  # type: ignore[import-untyped]
from waitress.task import ErrorTask  # type: ignore[import-untyped]
from waitress.utilities import RequestEntityTooLarge  # type: ignore[import-untyped]

from possuggest import __version__
from possuggest.serving.api_spec import openapi_document
from possuggest.serving.sale_session import (
    BasketUpdate,
    NotInSale,
    SaleMismatch,
    SessionHub,
    SessionView,
    counted_skus,
)

log = logging.getLogger(__name__)

HOST = "127.0.0.1"          # loopback only: not configurable on purpose
MAX_BODY = 64 * 1024
MAX_HEADERS = 8 * 1024       # request line and headers
MAX_REGISTER = 64            # characters
MAX_SALE_ID = 128
MAX_SKU = 64
MAX_ITEMS = 500              # basket lines
MAX_QTY = 1_000_000.0        # a line's quantity, either way (a return is negative)
IDLE_TIMEOUT = 15.0          # s: a connection with no request in progress is closed after this
REQUEST_TIMEOUT = 10.0       # s: a request must arrive whole (headers and body) within this
CONNECTION_LIMIT = 2000      # open connections (lower if the process may not open that many)
BACKLOG = 1024               # the kernel caps it at net.core.somaxconn

# control characters (C0, DEL, C1) and lone surrogates (a JSON "\ud800" escape decodes to one,
# and it cannot be stored or encoded as UTF-8)
_BAD_TEXT = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")

_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
            405: "Method Not Allowed", 409: "Conflict", 411: "Length Required",
            413: "Payload Too Large", 500: "Internal Server Error", 503: "Service Unavailable"}


@dataclass(frozen=True)
class Route:
    """One endpoint: ``path`` as the OpenAPI document writes it (``{name}`` for a parameter).
    A route with GET answers HEAD too."""

    name: str
    methods: tuple[str, ...]
    path: str
    auth: bool

    @property
    def regex(self) -> re.Pattern[str]:
        parts = re.split(r"\{(\w+)\}", self.path)
        return re.compile("".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>[^/]+)"
                                  for i, p in enumerate(parts)))

    @property
    def allowed(self) -> tuple[str, ...]:
        return (*self.methods, "HEAD") if "GET" in self.methods else self.methods


ROUTES = (
    Route("health", ("GET",), "/v1/health", auth=False),
    Route("openapi", ("GET",), "/v1/openapi.json", auth=False),
    Route("basket", ("POST",), "/v1/basket", auth=True),
    Route("suggestions", ("GET",), "/v1/suggestions", auth=True),
    Route("accept", ("POST",), "/v1/suggestions/{sku}/accept", auth=True),
    Route("dismiss", ("POST",), "/v1/suggestions/{sku}/dismiss", auth=True),
    Route("closed", ("POST",), "/v1/sale/{sale_id}/closed", auth=True),
)
_MATCHERS = tuple((route, route.regex) for route in ROUTES)


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
    """A string field: its type, length and characters checked; the message names it. With
    ``allow_int`` an integer is taken as its decimal text; so is a whole number written with a
    fraction (``370.0``), which JSON Schema counts as an integer too."""
    if allow_int and isinstance(value, float) and value.is_integer():
        value = int(value)
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


def _json_object(body: bytes) -> dict[str, Any]:
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
    return data


def _register_and_sale(data: dict[str, Any]) -> tuple[str, str | None]:
    register = _text(data.get("register", "1"), "register", MAX_REGISTER)
    sale_id = data.get("sale_id")
    if sale_id is not None:
        sale_id = _text(sale_id, "sale_id", MAX_SALE_ID, allow_empty=True)
    return register, sale_id


def parse_basket(body: bytes) -> BasketRequest:
    """Validate a basket body; raises BadRequest with a message naming the problem."""
    data = _json_object(body)
    register, sale_id = _register_and_sale(data)
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
        if not math.isfinite(q) or abs(q) > MAX_QTY:
            raise BadRequest(f"items[{i}].qty is out of range (at most {MAX_QTY:,.0f} either "
                             "way)")
        lines.append((sku, q))
    return BasketRequest(register, sale_id, tuple(lines))


@dataclass(frozen=True)
class ActionRequest:
    """A cashier's action from the till side: ``action`` is "accept", "dismiss" or "closed";
    ``sku`` the card's SKU (None for "closed"); ``sale_id`` the sale it is meant for."""

    action: str
    register: str
    sale_id: str | None
    sku: str | None = None


def parse_action(action: str, body: bytes, sku: str | None = None,
                 sale_id: str | None = None) -> ActionRequest:
    """Validate an action's optional body (``{"register": ..., "sale_id": ...}``); for
    "closed" the sale comes from the path and a ``sale_id`` in the body is ignored."""
    data = _json_object(body) if body.strip() else {}
    register, body_sale = _register_and_sale(data)
    return ActionRequest(action, register, sale_id if action == "closed" else body_sale, sku)


def path_text(raw: str, field: str, limit: int) -> str:
    """A path segment as the client meant it: percent-decoded as UTF-8 (waitress hands the
    URI over as Latin-1 characters), then checked like any text field."""
    try:
        value = unquote_to_bytes(raw.encode("latin-1")).decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        raise BadRequest(f"'{field}' is not valid UTF-8") from None
    return _text(value, field, limit, allow_int=False)


def query_register(query: str) -> str:
    """``register`` from a query string (default "1"); the last one counts."""
    try:
        text = query.encode("latin-1").decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict")
    except (UnicodeEncodeError, UnicodeDecodeError):
        raise BadRequest("the query string is not valid UTF-8") from None
    register = "1"
    for key, value in pairs:
        if key == "register":
            register = value
    return _text(register, "register", MAX_REGISTER, allow_int=False)


BasketHandler = Callable[[BasketRequest], list[dict[str, Any]]]
HealthFn = Callable[[], dict[str, Any]]
_Answer = tuple[int, dict[str, Any] | bytes, list[tuple[str, str]]]


def _json_bytes(payload: Any) -> bytes:
    return json.dumps(payload).encode("utf-8")       # ASCII: any text is escaped


class _App:
    """The WSGI application: routing, token, body, and JSON answers for every outcome."""

    def __init__(self, token: str, handler: BasketHandler | SessionHandler,
                 health: HealthFn) -> None:
        self.token = token.encode("utf-8")
        self.handler = handler
        self.sessions = handler if isinstance(handler, SessionHandler) else None
        self.health = health
        self.document = b"{}"

    def describe(self, server_url: str) -> None:
        """Make the OpenAPI document for the server's real address."""
        self.document = _json_bytes(openapi_document(
            version=__version__, server_url=server_url, max_register=MAX_REGISTER,
            max_sale_id=MAX_SALE_ID, max_sku=MAX_SKU, max_items=MAX_ITEMS, max_qty=MAX_QTY,
            max_body=MAX_BODY))

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            code, payload, extra = self._route(environ)
        except Exception:
            log.exception("basket API request failed")
            code, payload, extra = 500, {"error": "internal error; see the log"}, []
        body = payload if isinstance(payload, bytes) else _json_bytes(payload)
        start_response(f"{code} {_REASONS.get(code, 'Error')}",
                       [("Content-Type", "application/json"),
                        ("Content-Length", str(len(body))),
                        ("Cache-Control", "no-store"), *extra])
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]    # headers only

    def _route(self, environ: dict[str, Any]) -> _Answer:
        method = str(environ.get("REQUEST_METHOD", ""))
        where = _raw_path(environ).rstrip("/")
        for route, regex in _MATCHERS:
            match = regex.fullmatch(where)
            if match is None:
                continue
            if method not in route.allowed:
                return 405, {"error": f"{method[:20]} not allowed here; use "
                                      f"{' or '.join(route.methods)}"}, \
                    [("Allow", ", ".join(route.allowed))]
            if route.auth and not self._authorized(environ):
                return 401, {"error": "missing or wrong token (Authorization: Bearer TOKEN)"}, \
                    [("WWW-Authenticate", "Bearer")]
            try:
                return self._answer(route.name, match.groupdict(), environ)
            except BadRequest as exc:
                return 400, {"error": str(exc)}, []
        path = str(environ.get("PATH_INFO", ""))
        return 404, {"error": f"no such endpoint: {path[:100]}"}, []

    def _authorized(self, environ: dict[str, Any]) -> bool:
        auth = str(environ.get("HTTP_AUTHORIZATION", ""))
        token = auth[7:].encode("utf-8", "replace") if auth.startswith("Bearer ") else b""
        return bool(token) and hmac.compare_digest(token, self.token)

    def _answer(self, name: str, params: dict[str, str], environ: dict[str, Any]) -> _Answer:
        if name == "health":
            return self._health()
        if name == "openapi":
            return 200, self.document, []
        if name == "basket":
            body = _read_body(environ, required=True)
            if isinstance(body, tuple):
                return body
            return self._basket(parse_basket(body))
        sessions = self.sessions
        if sessions is None:                         # a bare basket function (tests)
            return 503, {"error": "this server answers baskets only"}, []
        if name == "suggestions":
            register = query_register(str(environ.get("QUERY_STRING", "")))
            return self._call(lambda: sessions.current(register))
        body = _read_body(environ, required=False)
        if isinstance(body, tuple):
            return body
        if name == "closed":
            req = parse_action(name, body, sale_id=path_text(params["sale_id"], "sale_id",
                                                             MAX_SALE_ID))
        else:
            req = parse_action(name, body, sku=path_text(params["sku"], "sku", MAX_SKU))
        return self._call(lambda: sessions.act(req))

    def _health(self) -> _Answer:
        info: dict[str, Any] = {"status": "ok", "version": __version__, **self.health()}
        store = info.get("store")
        if store is not None and store != "ok":
            info["status"] = "error"
            return 503, info, []
        return 200, info, []

    def _basket(self, req: BasketRequest) -> _Answer:
        sessions = self.sessions
        if sessions is not None:
            return self._call(lambda: sessions.basket(req))
        handler = self.handler
        return self._call(lambda: {"register": req.register, "sale_id": req.sale_id,
                                   "basket": req.skus, "suggestions": handler(req),
                                   "accepted": []})

    @staticmethod
    def _call(answer: Callable[[], dict[str, Any]]) -> _Answer:
        try:
            return 200, answer(), []
        except SaleMismatch as exc:
            return 409, {"error": str(exc)}, []
        except NotInSale as exc:
            return 404, {"error": str(exc)}, []
        except Exception:
            log.exception("basket handler failed")
            return 500, {"error": "suggestions failed; see the log"}, []


def _raw_path(environ: dict[str, Any]) -> str:
    """The request's path as sent (still percent-encoded, so an encoded "/" inside a SKU
    stays inside it); PATH_INFO when the server gives no REQUEST_URI."""
    uri = str(environ.get("REQUEST_URI") or "")
    if not uri:
        return str(environ.get("PATH_INFO", ""))
    if not uri.startswith("/"):                       # absolute form: http://host/path
        try:
            uri = urlsplit(uri).path
        except ValueError:
            return ""
    return uri.split("?", 1)[0].split("#", 1)[0]


def _read_body(environ: dict[str, Any], required: bool) -> bytes | _Answer:
    """The request body, or the error answer. Without Content-Length: 411 when a body is
    ``required``, else an empty body."""
    # waitress has already read the whole body within MAX_BODY (a chunked one too, its
    # length filled in) and refused a Content-Length that is not plain digits
    length = environ.get("CONTENT_LENGTH")
    if length is None or length == "":
        if required:
            return 411, {"error": "Content-Length required"}, []
        return b""
    try:
        n = int(length)
    except ValueError:
        return 400, {"error": "Content-Length is invalid"}, []
    if n < 0:
        return 400, {"error": "Content-Length is invalid"}, []
    if n > MAX_BODY:
        return 413, {"error": f"body over {MAX_BODY // 1024} KB"}, []
    body: bytes = environ["wsgi.input"].read(n)
    if len(body) > MAX_BODY:
        return 413, {"error": f"body over {MAX_BODY // 1024} KB"}, []
    return body


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

    def __init__(self, port: int, token: str, handler: BasketHandler | SessionHandler,
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
        host, bound = self.address
        self._app.describe(f"http://{host}:{bound}")
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


class SessionHandler:
    """The API's answers over a SessionHub: a basket becomes the same BasketUpdate every other
    source delivers; actions go to the register's session with source "api". ``on_update`` is
    told afterwards with the request (the panel redraws when it is its register). Called as a
    function it is a plain basket handler (the suggestions only)."""

    SOURCE = "api"

    def __init__(self, hub: SessionHub,
                 on_update: Callable[[BasketRequest | ActionRequest], None] | None = None
                 ) -> None:
        self.hub = hub
        self.on_update = on_update
        self._barcodes: dict[str, str] = {}
        self._barcodes_of: object = None

    def __call__(self, req: BasketRequest) -> list[dict[str, Any]]:
        suggestions: list[dict[str, Any]] = self.basket(req)["suggestions"]
        return suggestions

    def _told(self, req: BasketRequest | ActionRequest) -> None:
        if self.on_update is not None:
            self.on_update(req)

    def _by_sku(self, lines: tuple[tuple[str, float], ...]) -> tuple[tuple[str, float], ...]:
        """A till may send the scanned barcode rather than the SKU: a code that is not a SKU
        but is a product's barcode becomes that product's SKU."""
        engine = self.hub.engine
        if engine is None or not lines:
            return lines
        products = engine.products
        if self._barcodes_of is not products:        # rebuilt when the catalogue changes
            self._barcodes = {p.barcode: sku for sku, p in products.items()
                              if p.barcode and p.barcode not in products}
            self._barcodes_of = products
        if not self._barcodes:
            return lines
        return tuple((self._barcodes.get(code, code) if code not in products else code, qty)
                     for code, qty in lines)

    def basket(self, req: BasketRequest) -> dict[str, Any]:
        view = self.hub.apply(BasketUpdate(req.register, req.sale_id, self._by_sku(req.lines),
                                           self.SOURCE))
        self._told(req)
        return view_json(view)

    def current(self, register: str) -> dict[str, Any]:
        """What the register shows now; an empty sale when possuggest has none for it."""
        session = self.hub.find(register)
        if session is None:
            return {"register": register, "sale_id": None, "basket": [], "suggestions": [],
                    "accepted": []}
        return view_json(session.view)

    def act(self, req: ActionRequest) -> dict[str, Any]:
        """Accept or dismiss a card, or close the sale. Raises NotInSale (404) when the SKU
        was not suggested in the register's sale or the sale is not open there, SaleMismatch
        (409) when ``req.sale_id`` is not the current sale."""
        session = self.hub.find(req.register)
        if session is None:
            raise NotInSale(f"register {req.register} has no sale")
        if req.action == "closed":
            assert req.sale_id is not None
            view = session.close_sale(req.sale_id, self.SOURCE)
            self._told(req)
            return {**view_json(view), "closed": req.sale_id}
        assert req.sku is not None
        if req.action == "accept":
            view = session.accept_shown(req.sku, self.SOURCE, req.sale_id)
            done = "accepted"
        else:
            view = session.dismiss_shown(req.sku, self.SOURCE, req.sale_id)
            done = "dismissed"
        self._told(req)
        return {**view_json(view), "action": done, "sku": req.sku}


def basket_handler(hub: SessionHub,
                   on_update: Callable[[BasketRequest | ActionRequest], None] | None = None
                   ) -> SessionHandler:
    """The API's handler over a SessionHub (see SessionHandler)."""
    return SessionHandler(hub, on_update)


def view_json(view: SessionView) -> dict[str, Any]:
    """A register's sale as the API answers it; ``accepted``: cards accepted at the counter
    that the basket does not hold yet (the cashier still has to ring them up)."""
    return {"register": view.register, "sale_id": view.sale_id, "basket": list(view.basket),
            "suggestions": [suggestion_json(s) for s in view.suggestions],
            "accepted": [suggestion_json(s) for s in view.to_ring]}


def suggestion_json(s: Any) -> dict[str, Any]:
    return {"kind": s.kind, "sku": s.sku, "name": s.name, "price": round(s.price, 2),
            "reason": s.reason}
