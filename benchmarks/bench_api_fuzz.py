"""A long fuzz campaign against the basket API: generated requests (bodies, headers, lengths,
encodings) sent to a real ``possuggest serve`` in its own process, over loopback.

    python benchmarks/bench_api_fuzz.py [--requests 100000] [--concurrency 32] [--seed 1]

Each request is complete as sent (a hostile one too: its framing always ends), so each must
get a whole HTTP answer with a JSON body. Kinds, mixed: valid baskets from the store's
catalogue; baskets with wrong types, long or empty fields, bad text (lone surrogates,
control characters), many lines, deep nesting, 5,000-digit numbers, NaN; random JSON and
random bytes; invalid UTF-8; Content-Length absent, negative, garbage, too large, shorter
than the body; chunked bodies (good, bad chunk sizes, over 64 KB); unknown
Transfer-Encoding; bodies over 64 KB; random methods, paths, versions, headers, tokens;
header blocks over 8 KB; garbage request lines; ``Expect: 100-continue``. Connections are
kept alive between requests whenever the server allows.

Bars: every request answered (0 dropped or reset connections, 0 timeouts), 0 answers 5xx,
every answer JSON, and the server's memory flat: RSS at the end within 10 % of RSS after
the first 10 % of the requests (warm-up); the server exits cleanly on SIGTERM and logs no
error. Exit status 0 when every bar holds, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_api_common import Dropped, Server, header, products, read_response  # noqa: E402

MAX_BODY = 64 * 1024
METHODS = ["POST"] * 6 + ["GET", "PUT", "DELETE", "OPTIONS", "PATCH", "HEAD", "post", "X-Y"]
PATHS = ["/v1/basket"] * 6 + ["/v1/health", "/v1/basket/", "/", "/v1", "/v1/basket?x=1",
                              "//v1/basket", "/%00", "/v1/%E2%82%AC", "/" + "a" * 3000, "*"]


class Gen:
    """Random requests: (bytes to send, method) — each ends its own framing."""

    def __init__(self, seed: int, skus: list[str], token: str) -> None:
        self.r = random.Random(seed)
        self.skus = skus
        self.token = token
        self.kinds: Counter[str] = Counter()

    # -- pieces ---------------------------------------------------------------------------
    def text(self, n: int | None = None) -> str:
        r = self.r
        n = r.choice([0, 1, 5, 20, 64, 65, 200, 5000]) if n is None else n
        pick = r.random()
        if pick < 0.5:
            return "".join(r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") for _ in range(n))
        if pick < 0.7:                      # any code point, lone surrogates included
            return "".join(chr(r.randrange(0x110000)) for _ in range(min(n, 300)))
        if pick < 0.85:
            return "".join(chr(r.randrange(0, 0x20)) for _ in range(min(n, 50)))
        return r.choice(["\ud800", "a\udfffb", "\x00", "é€😀", "\u202e", "\ufeff", " "])

    def value(self, depth: int = 0) -> object:
        r = self.r
        pick = r.random()
        if depth > 3 or pick < 0.5:
            return r.choice([None, True, False, 0, -1, 2**63, 1.5, 1e308, float("inf"),
                             float("nan"), self.text(), r.randint(-10**6, 10**6)])
        if pick < 0.75:
            return [self.value(depth + 1) for _ in range(r.randint(0, 4))]
        return {self.text(r.randint(0, 8)): self.value(depth + 1) for _ in range(r.randint(0, 4))}

    def basket(self) -> dict[str, object]:
        r = self.r
        n = r.choice([0, 1, 2, 5, 8, 20])
        return {"register": f"lane-{r.randint(1, 30)}", "sale_id": f"s{r.randint(1, 10**6)}",
                "items": [{"sku": r.choice(self.skus), "qty": r.choice([1, 1, 2, -1, 0, 0.5])}
                          for _ in range(n)]}

    def body(self) -> bytes:
        r = self.r
        pick = r.random()
        if pick < 0.30:
            self.kinds["body: valid basket"] += 1
            return json.dumps(self.basket()).encode()
        if pick < 0.55:
            self.kinds["body: basket, a field wrong"] += 1
            b = self.basket()
            field = r.choice(["register", "sale_id", "items", "sku", "qty", "extra"])
            if field == "sku" and b["items"]:
                b["items"][0]["sku"] = r.choice([self.text(), self.value(), 5])  # type: ignore[index]
            elif field == "qty" and b["items"]:
                b["items"][0]["qty"] = self.value()                              # type: ignore[index]
            elif field == "items":
                b["items"] = r.choice([self.value(), [{"sku": "A"}] * r.choice([500, 501, 3000])])
            else:
                b[field] = r.choice([self.text(), self.value()])
            return json.dumps(b).encode()
        if pick < 0.65:
            self.kinds["body: random JSON"] += 1
            return json.dumps(self.value()).encode()
        if pick < 0.72:
            self.kinds["body: deep nesting"] += 1
            n = r.choice([100, 999, 1000, 5000, 30000])
            return r.choice([b"[" * n + b"]" * n, b'{"items":' + b"[" * n, b'{"a":' * n])
        if pick < 0.77:
            self.kinds["body: huge number"] += 1
            digits = b"9" * r.choice([4300, 4301, 5000, 60000])
            return r.choice([digits, b'{"items": [{"sku": "A", "qty": ' + digits + b"}]}",
                             b'{"register": ' + digits + b', "items": []}'])
        if pick < 0.85:
            self.kinds["body: random bytes"] += 1
            return r.randbytes(r.choice([0, 1, 10, 300, 3000]))
        if pick < 0.92:
            self.kinds["body: bad encoding"] += 1
            b = json.dumps(self.basket()).encode()
            return r.choice([b"\xff\xfe" + b, b"\xef\xbb\xbf" + b, b.replace(b"lane", b"l\xc3"),
                             b.decode().encode("utf-16"), b + b"\x80"])
        self.kinds["body: over 64 KB"] += 1
        return b'{"items": [], "pad": "' + b"x" * r.choice([MAX_BODY, 100_000, 300_000]) + b'"}'

    def request(self) -> tuple[bytes, str, bool]:
        """(bytes, method, whether the connection may carry the next request)."""
        r = self.r
        if r.random() < 0.04:
            self.kinds["raw request head"] += 1
            junk = r.randbytes(r.randint(1, 200)).replace(b"\r", b"").replace(b"\n", b"")
            return b"x" + junk + b"\r\n\r\n", "?", False
        method = r.choice(METHODS)
        path = r.choice(PATHS)
        version = r.choice(["HTTP/1.1"] * 8 + ["HTTP/1.0", "HTTP/1.2", "HTTP/2.0", "HTTP/x"])
        body = self.body() if method.upper() != "HEAD" else b""
        head = [f"{method} {path} {version}".encode("latin-1"), b"Host: 127.0.0.1"]
        auth = r.random()
        if auth < 0.85:
            head.append(b"Authorization: Bearer " + self.token.encode())
        elif auth < 0.93:
            head.append(b"Authorization: Bearer " + self.text(30).encode("latin-1", "replace"))
        for _ in range(r.choice([0, 0, 1, 3])):
            name = r.choice(["X-Fuzz", "Accept", "Content-Type", "Connection", "Cookie",
                             "X-Forwarded-For", "User-Agent", "Bad Name", "Ünï"])
            value = self.text(r.choice([0, 10, 100])).encode("latin-1", "replace")
            head.append(name.encode("latin-1") + b": " + value.replace(b"\r", b"").replace(b"\n", b""))
        if r.random() < 0.02:
            self.kinds["headers over 8 KB"] += 1
            head.append(b"X-Big: " + b"a" * 10_000)
        expect = r.random() < 0.05
        if expect:
            head.append(b"Expect: 100-continue")
        framing = r.random()
        exact = framing < 0.70
        if exact:
            payload = body
            head.append(b"Content-Length: %d" % len(body))
        elif framing < 0.76:
            self.kinds["Content-Length absent"] += 1
            payload = body
        elif framing < 0.84:
            self.kinds["Content-Length bad"] += 1
            cl = r.choice(["-1", "-2", "-99999999999", "abc", "1e3", "0x10", "+5", "5, 5", "",
                           " ", "٣", str(MAX_BODY + 1), "9" * 30])
            head.append(b"Content-Length: " + cl.encode())
            payload = body
        elif framing < 0.88:
            self.kinds["Content-Length short"] += 1
            head.append(b"Content-Length: %d" % r.randint(0, len(body)))
            payload = body
        elif framing < 0.97:
            self.kinds["chunked"] += 1
            head.append(b"Transfer-Encoding: chunked")
            payload = self.chunked(body)
        else:
            self.kinds["Transfer-Encoding unknown"] += 1
            head.append(b"Transfer-Encoding: " + r.choice([b"gzip", b"identity", b"chunked, gzip",
                                                           b"x"]))
            payload = body
        reusable = exact and not expect and version == "HTTP/1.1"
        return b"\r\n".join(head) + b"\r\n\r\n" + payload, method.upper(), reusable

    def chunked(self, body: bytes) -> bytes:
        r = self.r
        out = b""
        i = 0
        while i < len(body):
            piece = body[i:i + r.randint(1, max(1, len(body) // 3 + 1))]
            out += b"%x\r\n%s\r\n" % (len(piece), piece)
            i += len(piece)
        if r.random() < 0.1:
            self.kinds["chunked: bad size"] += 1
            out += b"zz\r\n"
        return out + b"0\r\n\r\n"


def _parse(buf: bytes, head: bool) -> tuple[int, dict[str, str], bytes] | None:
    """A whole answer at the start of ``buf`` (interim 100s skipped), or None."""
    while True:
        top, sep, rest = buf.partition(b"\r\n\r\n")
        if not sep:
            return None
        lines = top.decode("latin-1").split("\r\n")
        parts = lines[0].split()
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else -1
        if status == 100:
            buf = rest
            continue
        headers = {k.strip().lower(): v.strip()
                   for k, _, v in (line.partition(":") for line in lines[1:])}
        length = 0 if head else int(headers.get("content-length", "0"))
        return (status, headers, rest[:length]) if len(rest) >= length else None


def blocking_exchange(port: int, raw: bytes, head: bool) -> tuple[int, dict[str, str], bytes]:
    """A request the server may refuse before reading it all (a body over 64 KB): a plain
    socket still reads the answer that came before the server closed; asyncio would drop it
    on the failed write."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        try:
            sock.sendall(raw)
        except OSError:
            pass
        buf = b""
        while True:
            answer = _parse(buf, head)
            if answer is not None:
                return answer
            try:
                data = sock.recv(65536)
            except OSError as exc:
                raise Dropped(f"no answer: {exc!r}") from None
            if not data:
                raise Dropped(f"closed without an answer ({len(buf)} bytes)")
            buf += data


SLOWEST: list[tuple[float, bytes]] = []


async def worker(gen: Gen, port: int, todo: list[int], stats: Counter[str],
                 statuses: Counter[int], progress: list[int]) -> None:
    loop = asyncio.get_running_loop()
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    while todo:
        todo.pop()
        raw, method, reusable = gen.request()
        head = method == "HEAD"
        t0 = loop.time()
        try:
            if len(raw) > 60_000:
                if writer is not None:
                    writer.close()
                    writer = None
                status, headers, body = await loop.run_in_executor(
                    None, blocking_exchange, port, raw, head)
                reusable = False
            else:
                if writer is None:
                    reader, writer = await asyncio.wait_for(
                        asyncio.open_connection("127.0.0.1", port, limit=2**20), 10)
                assert reader is not None
                writer.write(raw)
                try:
                    await writer.drain()
                except ConnectionError:
                    pass                  # answered and closed before reading it all
                status, headers, body = await asyncio.wait_for(read_response(reader, head), 15)
        except (Dropped, OSError, asyncio.TimeoutError) as exc:
            stats[f"dropped: {type(exc).__name__} {str(exc)[:60]}"] += 1
            if writer is not None:
                writer.close()
            writer = None
            continue
        progress[0] += 1
        statuses[status] += 1
        took = loop.time() - t0
        if took > 1.0:
            SLOWEST.append((took, raw[:300]))
        if not head:
            try:
                answer = json.loads(body)
                assert isinstance(answer, dict) and ("error" in answer) == (status >= 400)
            except (ValueError, AssertionError):
                stats["answer not JSON"] += 1
            if headers.get("content-type") != "application/json":
                stats["content-type not JSON"] += 1
        if writer is not None and (not reusable or status >= 400
                                   or headers.get("connection", "").lower() == "close"):
            writer.close()
            writer = None
    if writer is not None:
        writer.close()


async def campaign(server: Server, gen: Gen, n: int, concurrency: int) -> tuple[
        Counter[str], Counter[int], list[tuple[int, float]], float]:
    stats: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    progress = [0]
    rss: list[tuple[int, float]] = [(0, server.rss_mib())]
    todo = list(range(n))
    t0 = time.perf_counter()
    tasks = [asyncio.ensure_future(worker(gen, server.port, todo, stats, statuses, progress))
             for _ in range(concurrency)]
    marks = [n // 10 * k for k in range(1, 11)]
    while not all(t.done() for t in tasks):
        await asyncio.sleep(0.2)
        while marks and progress[0] >= marks[0]:
            rss.append((marks.pop(0), server.rss_mib()))
            print(f"  {progress[0]:,} answered, {time.perf_counter() - t0:.0f} s, server RSS "
                  f"{rss[-1][1]:.1f} MiB", flush=True)
    for t in tasks:
        t.result()
    rss.append((progress[0], server.rss_mib()))
    return stats, statuses, rss, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=100_000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sales", type=int, default=20_000, help="demo store size")
    args = ap.parse_args(argv)
    header()
    server = Server(args.sales)
    ok = True
    try:
        gen = Gen(args.seed, products(server.till), server.token)
        print(f"server pid {server.pid} on 127.0.0.1:{server.port}; {args.requests:,} requests, "
              f"{args.concurrency} connections at a time, seed {args.seed}", flush=True)
        stats, statuses, rss, secs = asyncio.run(
            campaign(server, gen, args.requests, args.concurrency))
        answered = sum(statuses.values())
        dropped = sum(v for k, v in stats.items() if k.startswith("dropped"))
        fives = sum(v for k, v in statuses.items() if k >= 500)
        warm = rss[1][1] if len(rss) > 2 else rss[0][1]
        end = rss[-1][1]
        print(f"answered {answered:,} of {args.requests:,} in {secs:.0f} s "
              f"({answered / secs:,.0f}/s); statuses {dict(sorted(statuses.items()))}")
        print(f"kinds: {dict(gen.kinds.most_common())}")
        print(f"client notes: {dict(stats) or 'none'}")
        for took, raw in sorted(SLOWEST, reverse=True)[:5]:
            print(f"  slow answer: {took:.1f} s for {raw!r}")
        print(f"server RSS MiB: start {rss[0][1]:.1f}, after warm-up {warm:.1f}, end {end:.1f} "
              f"({(end - warm) / warm * 100:+.1f} %); threads {server.threads()}, fds "
              f"{server.fds()}")
        bars = {
            "every request answered": answered == args.requests and dropped == 0,
            "0 × 5xx": fives == 0,
            "every answer JSON": not stats["answer not JSON"]
            and not stats["content-type not JSON"],
            "RSS flat (end within 10 % of after warm-up)": end <= warm * 1.10,
        }
        errors = server.log_errors()
        bars["no error in the server log"] = not errors
        if errors:
            print(f"server log: {len(errors)} error lines, first: {errors[0][:300]}")
        for name, good in bars.items():
            print(f"  {'PASS' if good else 'FAIL'}: {name}")
            ok &= good
    finally:
        code = server.stop()
    print(f"server exit status {code} (SIGTERM)")
    ok &= code == 0
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
