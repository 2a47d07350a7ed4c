"""The basket API under hostile and heavy use (issue 12, defects 3–7, 10b and 11): field
limits, Content-Length and chunked bodies, idle connections, malformed bodies, JSON for every
error, bad text that must not poison the event writer, the database deleted while serving,
sessions per register bounded; and a bounded hypothesis fuzz over bodies, headers, lengths and
encodings. Everything talks to a real server on 127.0.0.1 through raw sockets."""

from __future__ import annotations

import gc
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import make_till
from possuggest.serving import basket_api
from possuggest.serving.basket_api import MAX_BODY, BasketApi, basket_handler
from possuggest.serving.events import EventWriter, in_holdout
from possuggest.serving.sale_session import BasketUpdate, SaleSession, SessionHub
from possuggest.store.rule_store import RuleStore

TOKEN = "test-token-0123456789"
AUTH = f"Authorization: Bearer {TOKEN}\r\n".encode()


class Dropped(AssertionError):
    """The server closed the connection (or went silent) without a whole answer."""


def read_answer(sock: socket.socket, head: bool = False) -> tuple[int, dict[str, str], bytes]:
    """One HTTP response from ``sock``: (status, headers in lower case, body)."""
    buf = b""
    while True:
        while b"\r\n\r\n" not in buf:
            try:
                data = sock.recv(65536)
            except (TimeoutError, ConnectionResetError) as exc:
                raise Dropped(f"no answer ({exc!r}); got {buf[:200]!r}") from None
            if not data:
                raise Dropped(f"closed without an answer; got {buf[:200]!r}")
            buf += data
        top, _, buf = buf.partition(b"\r\n\r\n")
        lines = top.decode("latin-1").split("\r\n")
        match = re.match(r"HTTP/1\.[01] (\d{3})", lines[0])
        if match is None:
            raise Dropped(f"not an HTTP answer: {lines[0]!r}")
        status = int(match.group(1))
        headers = {k.strip().lower(): v.strip()
                   for k, _, v in (line.partition(":") for line in lines[1:])}
        if status != 100:
            break
    length = 0 if head else int(headers.get("content-length", "0"))
    while len(buf) < length:
        try:
            data = sock.recv(65536)
        except (TimeoutError, ConnectionResetError) as exc:
            raise Dropped(f"answer cut short ({exc!r})") from None
        if not data:
            raise Dropped("answer cut short")
        buf += data
    return status, headers, buf[:length]


def exchange(port: int, data: bytes, timeout: float = 5.0,
             head: bool = False) -> tuple[int, dict[str, str], Any]:
    """Send raw bytes, read one answer; the body decoded as JSON (None for HEAD)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except OSError:            # answered and closed before reading it all: read the answer
            pass
        status, headers, body = read_answer(sock, head)
    if head:
        return status, headers, None
    assert headers.get("content-type") == "application/json", (status, headers, body[:200])
    return status, headers, json.loads(body)


def post(port: int, body: bytes, extra: bytes = b"", auth: bytes = AUTH,
         timeout: float = 5.0) -> tuple[int, dict[str, str], Any]:
    return exchange(port, b"POST /v1/basket HTTP/1.1\r\nHost: t\r\n" + auth
                    + b"Content-Length: %d\r\n" % len(body) + extra + b"\r\n" + body, timeout)


def basket(**fields: Any) -> bytes:
    data: dict[str, Any] = {"register": "1", "sale_id": "s1", "items": [{"sku": "A"}]}
    data.update(fields)
    return json.dumps(data).encode()


def api_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("basket-api")]


@pytest.fixture
def hub() -> SessionHub:
    return SessionHub(None)


@pytest.fixture
def server(hub: SessionHub) -> Iterator[BasketApi]:
    api = BasketApi(0, TOKEN, basket_handler(hub), lambda: {"rule_set": None}).start()
    yield api
    api.stop()
    assert api_threads() == []


@pytest.fixture
def port(server: BasketApi) -> int:
    return server.address[1]


# -- the server itself ------------------------------------------------------------------------
def test_start_stop_repeatedly_any_free_port_joins_every_thread() -> None:
    ports = set()
    for _ in range(5):
        api = BasketApi(0, TOKEN, basket_handler(SessionHub(None))).start()
        host, p = api.address
        assert host == "127.0.0.1" and p > 0
        ports.add(p)
        assert exchange(p, b"GET /v1/health HTTP/1.1\r\n\r\n")[0] == 200
        api.stop()
        api.stop()                                         # twice is fine
        assert api_threads() == []
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", p), timeout=1).close()
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    try:                                                   # a taken port: OSError, no thread
        with pytest.raises(OSError):
            BasketApi(blocker.getsockname()[1], TOKEN, basket_handler(SessionHub(None)))
        assert api_threads() == []
    finally:
        blocker.close()


def test_health_and_store_state(hub: SessionHub) -> None:
    state = {"store": "ok"}
    api = BasketApi(0, TOKEN, basket_handler(hub), lambda: dict(state)).start()
    try:
        p = api.address[1]
        code, _, data = exchange(p, b"GET /v1/health HTTP/1.1\r\n\r\n")
        assert code == 200 and data["status"] == "ok" and data["store"] == "ok"
        assert exchange(p, b"HEAD /v1/health HTTP/1.1\r\n\r\n", head=True)[0] == 200
        state["store"] = "error: events not saved: disk I/O error"
        code, _, data = exchange(p, b"GET /v1/health HTTP/1.1\r\n\r\n")
        assert code == 503 and data["status"] == "error" and data["store"].startswith("error")
    finally:
        api.stop()


# -- defect 3: field limits ---------------------------------------------------------------------
@pytest.mark.parametrize("fields, named", [
    ({"register": "R" * 30_000}, "'register'"),
    ({"register": "R" * 65}, "'register'"),
    ({"register": ""}, "'register'"),
    ({"register": int("9" * 65)}, "'register'"),
    ({"sale_id": "S" * 30_000}, "'sale_id'"),
    ({"sale_id": "S" * 129}, "'sale_id'"),
    ({"items": [{"sku": "K" * 65}]}, "'items[0].sku'"),
    ({"items": [{"sku": "A"}, {"sku": "K" * 1000}]}, "'items[1].sku'"),
    ({"items": [{"sku": "A"}] * 501}, "'items'"),
])
def test_defect_3_field_lengths_are_limited_and_named(port: int, hub: SessionHub,
                                                      fields: dict[str, Any], named: str) -> None:
    code, _, data = post(port, basket(**fields))
    assert code == 400 and named in data["error"], data
    assert hub.n_sessions == 0                             # nothing reached a session


def test_fields_at_their_limits_are_accepted(port: int, hub: SessionHub) -> None:
    body = basket(register="R" * 64, sale_id="S" * 128,
                  items=[{"sku": "K" * 64, "qty": 1}] * 500)
    code, _, data = post(port, body)
    assert code == 200 and data["register"] == "R" * 64
    assert hub.session("R" * 64).view.basket == ("K" * 64,)
    assert post(port, basket(register=7, sale_id=12))[2]["sale_id"] == "12"


# -- defect 4: Content-Length and chunked bodies --------------------------------------------------
@pytest.mark.parametrize("length", ["-1", "-2", "-99999999999", "abc", "1e3", "0x10", "+5",
                                    "5, 5", "99999999999999999999999", str(MAX_BODY + 1)])
def test_defect_4_negative_content_length_is_refused(port: int, length: str) -> None:
    body = basket()
    code, _, data = exchange(port, b"POST /v1/basket HTTP/1.1\r\nHost: t\r\n" + AUTH
                             + f"Content-Length: {length}\r\n\r\n".encode() + body, timeout=5)
    assert code in (400, 413) and data["error"], (length, code, data)


def test_defect_4_a_huge_body_behind_minus_one_is_not_buffered(port: int) -> None:
    """The issue's 300 MB body behind "Content-Length: -1": refused at once, not read."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"POST /v1/basket HTTP/1.1\r\n" + AUTH + b"Content-Length: -1\r\n\r\n")
        chunk = b"x" * 65536
        try:
            for _ in range(20 * 16):                       # at most 20 MB, stops when refused
                sock.sendall(chunk)
        except OSError:
            pass
        code, headers, body = read_answer(sock)
    assert code == 400 and "Content-Length" in json.loads(body)["error"]


def test_missing_content_length_gets_411(port: int) -> None:
    code, _, data = exchange(port, b"POST /v1/basket HTTP/1.1\r\nHost: t\r\n" + AUTH + b"\r\n")
    assert code == 411 and "Content-Length" in data["error"]


@pytest.mark.parametrize("length, expected", [(None, 411), ("-5", 400), ("abc", 400),
                                              ("70000", 413)])
def test_expect_continue_with_a_refused_length_is_answered(
        port: int, length: str | None, expected: int) -> None:
    """waitress 3.0.2 sends "100 Continue" for these and then never answers (worked around)."""
    head = b"POST /v1/basket HTTP/1.1\r\nHost: t\r\n" + AUTH + b"Expect: 100-continue\r\n"
    if length is not None:
        head += f"Content-Length: {length}\r\n".encode()
    code, _, data = exchange(port, head + b"\r\n", timeout=5)
    assert code == expected and data["error"]


def test_head_gets_headers_only(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"HEAD /v1/health HTTP/1.1\r\n\r\nGET /v1/health HTTP/1.1\r\n\r\n")
        buf = b""
        while buf.count(b"\r\n\r\n") < 2 or not buf.endswith(b"}"):
            data = sock.recv(65536)
            assert data, buf
            buf += data
    head, _, rest = buf.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"Content-Length: " in head
    assert rest.startswith(b"HTTP/1.1 200")              # no body between the two answers
    assert json.loads(rest.partition(b"\r\n\r\n")[2])["status"] == "ok"


def test_defect_4_chunked_bodies_count_against_the_limit(port: int, hub: SessionHub) -> None:
    head = b"POST /v1/basket HTTP/1.1\r\nHost: t\r\n" + AUTH + b"Transfer-Encoding: chunked\r\n\r\n"
    body = basket(register="9")
    code, _, data = exchange(port, head + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
    assert code == 200 and data["register"] == "9"
    chunk = b"%x\r\n%s\r\n" % (32768, b" " * 32768)        # JSON whitespace: valid if it got in
    code, _, data = exchange(port, head + chunk * 3 + b"0\r\n\r\n")
    assert code == 413 and "64 KB" in data["error"]
    code, _, data = exchange(port, head + b"zz\r\nxx\r\n0\r\n\r\n")          # bad chunk size
    assert code == 400


# -- defect 5: idle connections, timeouts, backlog ------------------------------------------------
def test_defect_5_idle_connections_are_closed_and_do_not_starve_requests(
        monkeypatch: pytest.MonkeyPatch, hub: SessionHub) -> None:
    monkeypatch.setattr(basket_api, "IDLE_TIMEOUT", 1.0)
    monkeypatch.setattr(basket_api, "REQUEST_TIMEOUT", 1.0)
    api = BasketApi(0, TOKEN, basket_handler(hub)).start()
    idle: list[socket.socket] = []
    try:
        p = api.address[1]
        for i in range(1000):
            s = socket.create_connection(("127.0.0.1", p), timeout=10)
            if i % 2:                                      # half-open: headers never finished
                s.sendall(b"POST /v1/basket HTTP/1.1\r\nHost: t\r\n")
            idle.append(s)
        for _ in range(10):
            t0 = time.perf_counter()
            assert post(p, basket())[0] == 200
            assert time.perf_counter() - t0 < 1.0
        # a slow drip of header bytes does not keep a connection either
        drip = socket.create_connection(("127.0.0.1", p), timeout=10)
        drip.sendall(b"GET /v1/health HTTP/1.1\r\n")
        deadline = time.monotonic() + 15
        closed = 0
        for s in idle:                                     # the server closes every one of them
            s.settimeout(max(0.0, deadline - time.monotonic()))
            try:
                closed += s.recv(1) == b""
            except ConnectionResetError:
                closed += 1
            except OSError:                                # timed out
                pass
        assert closed == 1000
        drip_closed = False
        while time.monotonic() < deadline:
            try:
                drip.sendall(b"X-Drip: 1\r\n")
                drip.settimeout(0.2)
                if drip.recv(1) == b"":
                    drip_closed = True
                    break
            except TimeoutError:
                continue
            except OSError:
                drip_closed = True
                break
        drip.close()
        assert drip_closed
    finally:
        for s in idle:
            s.close()
        api.stop()


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss (iproute2) to read the backlog")
def test_defect_5_listen_backlog_is_at_least_128(port: int) -> None:
    out = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True,
                         timeout=10).stdout.split()
    assert out and out[0] == "LISTEN"
    assert int(out[2]) >= 128                              # Send-Q of a listener: its backlog


# -- defect 6: malformed bodies and every error as JSON ------------------------------------------
@pytest.mark.parametrize("body", [
    b"[" * 60_000,
    b'{"items": ' + b"[" * 5_000 + b"]" * 5_000 + b"}",
    b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
    b"1" * 5_000,
    b'{"register": ' + b"7" * 4_400 + b', "items": []}',
    b'{"items": [{"sku": "A", "qty": ' + b"1" * 4_400 + b"}]}",
    b'{"items": [{"sku": "A", "qty": 1e999}]}',
    b'{"items": [{"sku": "A", "qty": NaN}]}',
    b"\xff\xfe{}", b"\xef\xbb\xbf{}", b"", b"null", b'"x"',
])
def test_defect_6_malformed_bodies_get_a_json_400(port: int, body: bytes) -> None:
    code, _, data = post(port, body)
    assert code == 400 and data["error"]


def test_defect_6_every_error_is_json(hub: SessionHub) -> None:
    def broken(req: Any) -> list[dict[str, Any]]:
        raise RuntimeError("boom")

    api = BasketApi(0, TOKEN, broken).start()
    try:
        p = api.address[1]
        cases = {
            404: b"GET /nope HTTP/1.1\r\n\r\n",
            405: b"PUT /v1/basket HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
            411: b"POST /v1/basket HTTP/1.1\r\n" + AUTH + b"\r\n",
            413: b"POST /v1/basket HTTP/1.1\r\nContent-Length: 70000\r\n\r\n",
            401: b"POST /v1/basket HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
            500: b"POST /v1/basket HTTP/1.1\r\n" + AUTH + b"Content-Length: 13\r\n\r\n"
                 b'{"items": []}',
            400: b"GARBAGE\r\n\r\n",
        }
        for expected, request in cases.items():
            code, headers, data = exchange(p, request)
            assert code == expected and isinstance(data["error"], str), (expected, data)
            assert "Traceback" not in data["error"] and "boom" not in data["error"]
        for request in (b"GET /v1/health HTTP/1.1\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n",
                        b"POST /v1/basket HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
                        b"GET /v1/health HTTP/1.1\r\nBad Header\r\n\r\n",
                        b"\x00\x01\x02\r\n\r\n"):
            code, _, data = exchange(p, request)
            assert 400 <= code < 500 and data["error"], (request[:40], code)
    finally:
        api.stop()


# -- defect 7: bad text never reaches the event writer ---------------------------------------------
@pytest.mark.parametrize("fields, named", [
    ({"register": "\ud800"}, "'register'"),
    ({"sale_id": "a\udfffb"}, "'sale_id'"),
    ({"items": [{"sku": "\ud83d"}]}, "'items[0].sku'"),
    ({"register": "a\x00b"}, "'register'"),
    ({"items": [{"sku": "A\nB"}]}, "'items[0].sku'"),
])
def test_defect_7_bad_text_is_refused(port: int, hub: SessionHub, fields: dict[str, Any],
                                      named: str) -> None:
    code, _, data = post(port, basket(**fields))             # json.dumps escapes a surrogate
    assert code == 400 and named in data["error"] and "text" in data["error"]
    assert hub.n_sessions == 0


def test_defect_7_one_bad_event_does_not_lose_the_others(tmp_path: Path) -> None:
    good = [{"sku": f"S{i}", "action": "shown", "sale_id": "1", "register": "1"}
            for i in range(60)]
    bad = [{"sku": "X", "action": "shown", "sale_id": "\ud800", "register": "1"},
           {"sku": "Y", "action": "nonsense", "sale_id": "1"},        # the CHECK refuses it
           {"action": "shown", "sale_id": "1"}]                      # no sku
    w = EventWriter(tmp_path / "p.db")
    w.put(good[:20] + bad[:1])                   # queued before start: one batch
    w.put(good[20:40] + bad[1:2])
    w.put(good[40:] + bad[2:])
    w.start()
    try:
        assert w.flush()
    finally:
        w.close()
    with RuleStore(tmp_path / "p.db") as store:
        assert sorted(e["sku"] for e in store.events("1")) == sorted(e["sku"] for e in good)
    assert w.written == 60 and w.dropped == 3 and w.error is None and w.state == "ok"
    assert in_holdout("\ud800", "x", 0.5) in (True, False)         # no UnicodeEncodeError


# -- defect 10b: the database deleted (or replaced) while serving -----------------------------
def test_defect_10b_deleted_store_is_noticed_and_recreated(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    w = EventWriter(path).start()
    try:
        w.put([{"sku": "BEFORE", "action": "shown", "sale_id": "1"}])
        assert w.flush()
        for side in ("", "-wal", "-shm"):
            if os.path.exists(f"{path}{side}"):
                os.remove(f"{path}{side}") if side else os.remove(path)
        w.put([{"sku": "AFTER", "action": "shown", "sale_id": "1"}])
        assert w.flush()
        assert w.reopened == 1 and w.state == "ok"
        with RuleStore(path) as store:
            assert [e["sku"] for e in store.events("1")] == ["AFTER"]
        # replaced by another file: written there from then on
        os.replace(path, tmp_path / "old.db")
        for side in ("-wal", "-shm"):
            if os.path.exists(f"{path}{side}"):
                os.replace(f"{path}{side}", tmp_path / f"old.db{side}")
        RuleStore(path).close()
        w.put([{"sku": "REPLACED", "action": "shown", "sale_id": "1"}])
        assert w.flush()
        assert w.reopened == 2
        with RuleStore(path) as store:
            assert [e["sku"] for e in store.events("1")] == ["REPLACED"]
    finally:
        w.close()


@pytest.mark.slow
def test_defect_10b_health_reports_an_unusable_store_with_503(tmp_path: Path) -> None:
    """``possuggest serve``: health says "store": "ok"; with a folder where possuggest.db was
    it answers 503 and names the problem; once the folder is gone the store is back."""
    from possuggest.services.context import AppContext
    from possuggest.services.serve import run_serve

    till = make_till(tmp_path / "till.db")
    data = tmp_path / "d"
    data.mkdir()
    (data / "config.toml").write_text("[api]\nport = 0\n")
    ctx = AppContext.create(str(data), None, str(till))
    stop = threading.Event()
    lines: list[str] = []
    th = threading.Thread(target=run_serve, args=(ctx,),
                          kwargs={"stop": stop, "announce": lines.append}, daemon=True)
    th.start()

    def within(seconds: float, check: Any) -> Any:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            result = check()
            if result:
                return result
            stop.wait(0.05)
        return check()

    try:
        assert within(60, lambda: lines or not th.is_alive()) and lines, "serve did not start"
        p = int(lines[0].split()[3].rsplit(":", 1)[1])

        def health() -> tuple[int, dict[str, Any]]:
            code, _, body = exchange(p, b"GET /v1/health HTTP/1.1\r\n\r\n")
            return code, body

        assert within(5, lambda: health() == (200, {**health()[1], "store": "ok"}))
        db = data / "possuggest.db"
        for side in ("", "-wal", "-shm"):
            Path(f"{db}{side}").unlink(missing_ok=True)
        db.mkdir()                                        # nothing can be opened there
        assert within(10, lambda: health()[0] == 503)
        code, body = health()
        assert body["status"] == "error" and body["store"].startswith("error: ")
        db.rmdir()
        assert within(10, lambda: health()[0] == 200)
        assert health()[1]["store"] == "ok"
        code, _, answer = post(p, basket(sale_id="after"),
                               auth=f"Authorization: Bearer {ctx.api_token()}\r\n".encode())
        assert code == 200
    finally:
        stop.set()
        th.join(20)
    assert not th.is_alive()


# -- defect 11: one session per register, forever --------------------------------------------
def test_defect_11_sessions_per_register_are_bounded(port: int, hub: SessionHub) -> None:
    held = hub.session("1")                               # the panel holds its own register's
    held.update("s1", ["A"])
    for i in range(20_000):
        hub.apply(BasketUpdate(f"reg-{i}", "s", (("A", 1.0),), "api"))
    gc.collect()
    live = sum(1 for o in gc.get_objects()
               if type(o) is SaleSession and o.register.startswith("reg-"))
    assert hub.n_sessions <= hub.max_sessions and live <= hub.max_sessions, live
    assert hub.session("1") is held and held.view.basket == ("A",)
    assert post(port, basket(register="reg-19999"))[0] == 200        # recent ones still there
    assert hub.session("reg-19999").view.sale_id == "s1"


# -- a bounded fuzz over the API -------------------------------------------------------------------
FUZZ = settings(max_examples=1000, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                      st.text(max_size=80))
json_value = st.recursive(json_leaf, lambda c: st.one_of(
    st.lists(c, max_size=5), st.dictionaries(st.text(max_size=10), c, max_size=5)),
    max_leaves=30)
any_text = st.text(alphabet=st.characters(exclude_categories=()), max_size=100)  # surrogates too
sane_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FFF,
                                           exclude_categories=("Cs", "Cc")),
                    min_size=1, max_size=70)                    # now and then over a limit
basket_body = st.fixed_dictionaries({}, optional={
    "register": st.one_of(sane_text, any_text, st.integers(), json_value),
    "sale_id": st.one_of(sane_text, any_text, st.integers(), st.none(), json_value),
    "items": st.one_of(
        st.lists(st.fixed_dictionaries({"sku": st.one_of(sane_text, any_text, json_value)},
                                       optional={"qty": st.one_of(st.integers(), st.floats(),
                                                                  json_value)}),
                 max_size=8),
        json_value)})
good_basket = st.fixed_dictionaries({"register": sane_text, "items": st.lists(
    st.fixed_dictionaries({"sku": sane_text, "qty": st.integers(-3, 5)}), max_size=8)},
    optional={"sale_id": st.one_of(sane_text, st.integers(0, 10**9))})
bodies = st.one_of(good_basket, basket_body, json_value).map(lambda d: json.dumps(d).encode())


def check_answer(code: int, data: Any) -> None:
    assert code < 500, (code, data)
    assert isinstance(data, dict)
    if code == 200:
        assert isinstance(data.get("suggestions"), list) or data.get("status") == "ok"
    else:
        assert isinstance(data["error"], str) and data["error"]


@FUZZ
@given(body=st.one_of(bodies, st.binary(max_size=300)))
def test_fuzz_bodies(port: int, body: bytes) -> None:
    code, _, data = post(port, body)
    check_answer(code, data)
    assert code in (200, 400)


def _content_length(body_len: int) -> st.SearchStrategy[str | None]:
    garbage = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255),
                      max_size=12).filter(lambda s: not s.strip().isdigit())
    return st.one_of(st.none(), st.just(str(body_len)),
                     st.integers(0, body_len).map(str),
                     st.integers(MAX_BODY + 1, 10**30).map(str),
                     st.integers(-(10**20), -1).map(str), garbage)


header_name = st.one_of(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-",
            min_size=1, max_size=20),
    st.sampled_from(["Host", "Connection", "Content-Type", "Accept", "Authorization"]),
    st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=":"),
            min_size=1, max_size=20))
header_value = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=60)


@FUZZ
@given(data=st.data(), method=st.sampled_from(["POST", "GET", "PUT", "DELETE", "OPTIONS",
                                               "PATCH", "X-CUSTOM", "post"]),
       path=st.sampled_from(["/v1/basket", "/v1/basket/", "/v1/health", "/", "/v1/basket?x=1",
                             "//v1/basket", "/%00", "/v1/%E2%82%AC", "*"]),
       version=st.sampled_from(["HTTP/1.1", "HTTP/1.0", "HTTP/1.2", "HTTP/2.0"]),
       auth=st.one_of(st.just(f"Bearer {TOKEN}"), header_value, st.none()),
       chunked=st.booleans(),
       extra=st.lists(st.tuples(header_name, header_value), max_size=4))
def test_fuzz_headers_and_lengths(port: int, data: st.DataObject, method: str, path: str,
                                  version: str, auth: str | None, chunked: bool,
                                  extra: list[tuple[str, str]]) -> None:
    body = data.draw(st.one_of(bodies, st.binary(max_size=200)))
    head = [f"{method} {path} {version}"]
    if auth is not None:
        head.append(f"Authorization: {auth}")
    for name, value in extra:
        if name.lower() in ("content-length", "transfer-encoding", "expect"):
            continue                                     # framing is drawn below
        head.append(f"{name}: {value}")
    if chunked:
        head.append("Transfer-Encoding: chunked")
        payload = (b"%x\r\n%s\r\n" % (len(body), body) if body else b"") + b"0\r\n\r\n"
    else:
        length = data.draw(_content_length(len(body)))
        if length is not None:
            head.append(f"Content-Length: {length}")
        payload = body
    raw = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload
    code, headers, answer = exchange(port, raw, head=False)
    check_answer(code, answer)


@FUZZ
@given(line=st.binary(min_size=1, max_size=200).filter(
    lambda b: b.strip() and b"\r\n\r\n" not in b and b"\n\n" not in b
    and b"content-length" not in b.lower() and b"transfer-encoding" not in b.lower()
    and not b.lstrip().upper().startswith(b"HEAD")))
def test_fuzz_raw_request_heads(port: int, line: bytes) -> None:
    """Any bytes as the request line and headers: a JSON answer, never silence or a 5xx."""
    code, headers, answer = exchange(port, line + b"\r\n\r\n")
    check_answer(code, answer)
