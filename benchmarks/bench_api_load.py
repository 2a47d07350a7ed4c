"""Basket API under load, on loopback, against a real ``possuggest serve`` in its own process
(the client is this process, asyncio, so it never shares the server's GIL).

    python benchmarks/bench_api_load.py [--seconds 30] [--clients 200] [--interval-ms 200]

1. Steady load: ``--clients`` tills, each on its own keep-alive connection, posting its
   growing basket every ``--interval-ms`` (200 × 200 ms = 1,000 requests/s offered) for
   ``--seconds``. Latency is counted from when a request was due, not when it was sent, so a
   slow answer also delays the requests queued behind it. Bar: 0 connection resets or
   drops, 0 errors (anything but 200), p99 < 50 ms. Then the same with a new connection
   per request (as urllib does), same bar.
2. Ramp: the same clients at rising offered rates (6 s a step) until p99 reaches 100 ms or
   requests fail; reports the highest rate sustained with p99 < 100 ms.
3. 1,000 idle connections held open (half of them half-open: headers begun, never finished;
   any the server closes are opened again at once) while a till posts 50 baskets/s, each on
   a new connection, for 10 s. Bar: p99 < 100 ms, none failed.

Exit status 0 when every bar holds, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_api_common import (  # noqa: E402
    Dropped,
    Server,
    header,
    load_avg,
    pct,
    products,
    read_response,
)


@dataclass
class Stats:
    lat_ms: list[float] = field(default_factory=list)
    errors: Counter[int] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)   # resets, drops, refused, timeouts
    sent: int = 0

    def line(self, seconds: float) -> str:
        done = len(self.lat_ms)
        return (f"n={self.sent:,} answered {done:,} ({done / seconds:,.0f}/s)  "
                f"p50 {pct(self.lat_ms, 50):.1f}  p95 {pct(self.lat_ms, 95):.1f}  "
                f"p99 {pct(self.lat_ms, 99):.1f}  max {max(self.lat_ms, default=float('nan')):.1f}"
                f" ms  errors {dict(self.errors) or 0}  resets/drops {dict(self.failures) or 0}")


class Till:
    """One register's baskets: a sale grows an item per post, then a new sale starts."""

    def __init__(self, lane: int, skus: list[str], rng: random.Random) -> None:
        self.lane, self.skus, self.rng = lane, skus, rng
        self.sale = 0
        self.items: list[dict[str, object]] = []
        self.size = 0

    def next_body(self) -> bytes:
        if len(self.items) >= self.size:
            self.sale += 1
            self.items = []
            self.size = self.rng.randint(1, 8)
        self.items.append({"sku": self.rng.choice(self.skus), "qty": 1})
        return json.dumps({"register": f"lane-{self.lane}", "sale_id": f"{self.lane}-{self.sale}",
                           "items": self.items}).encode()


def request(body: bytes, token: str, close: bool) -> bytes:
    return (b"POST /v1/basket HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer " + token.encode() + b"\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\n" + (b"Connection: close\r\n" if close else b"")
            + b"\r\n" + body)


async def till_loop(till: Till, port: int, token: str, interval: float, start: float,
                    end: float, stats: Stats, keepalive: bool) -> None:
    loop = asyncio.get_running_loop()
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    offset = till.rng.random() * interval
    k = 0
    while True:
        due = start + offset + k * interval
        if due >= end:
            break
        k += 1
        wait = due - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        stats.sent += 1
        try:
            if writer is None:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection("127.0.0.1", port), 10)
            assert reader is not None
            writer.write(request(till.next_body(), token, not keepalive))
            await writer.drain()
            status, headers, _ = await asyncio.wait_for(read_response(reader), 10)
            stats.lat_ms.append((loop.time() - due) * 1000)
            if status != 200:
                stats.errors[status] += 1
            if not keepalive or headers.get("connection", "").lower() == "close":
                writer.close()
                writer = None
        except (Dropped, OSError, asyncio.TimeoutError) as exc:
            stats.failures[type(exc).__name__] += 1
            if writer is not None:
                writer.close()
            writer = None
    if writer is not None:
        writer.close()


async def run_load(port: int, token: str, skus: list[str], clients: int, interval: float,
                   seconds: float, keepalive: bool, seed: int) -> Stats:
    stats = Stats()
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.2
    tills = [Till(i, skus, random.Random(seed * 1000 + i)) for i in range(clients)]
    await asyncio.gather(*(till_loop(t, port, token, interval, start, start + seconds, stats,
                                     keepalive) for t in tills))
    return stats


async def hold_idle(port: int, n: int, stop: asyncio.Event, counts: Counter[str]) -> None:
    """Keep ``n`` idle connections open (half with unfinished headers) until ``stop``."""
    async def one(i: int) -> None:
        while not stop.is_set():
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                counts["open failed"] += 1
                await asyncio.sleep(0.1)
                continue
            counts["opened"] += 1
            if i % 2:
                writer.write(b"POST /v1/basket HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            closed = asyncio.ensure_future(reader.read(1))
            stopped = asyncio.ensure_future(stop.wait())
            await asyncio.wait({closed, stopped}, return_when=asyncio.FIRST_COMPLETED)
            for f in (closed, stopped):
                f.cancel()
            if not stop.is_set():
                counts["closed by server"] += 1
            writer.close()
    await asyncio.gather(*(one(i) for i in range(n)))


async def idle_phase(server: Server, skus: list[str], n_idle: int, seconds: float
                     ) -> tuple[Stats, Counter[str], float]:
    stop = asyncio.Event()
    counts: Counter[str] = Counter()
    holder = asyncio.ensure_future(hold_idle(server.port, n_idle, stop, counts))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while counts["opened"] < n_idle and loop.time() < deadline:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    fds = server.fds()
    stats = await run_load(server.port, server.token, skus, 1, 0.02, seconds, False, 99)
    stop.set()
    await holder
    return stats, counts, fds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--interval-ms", type=float, default=200.0)
    ap.add_argument("--sales", type=int, default=20_000, help="demo store size")
    ap.add_argument("--ramp", default="250,500,750,1000,1250,1500,1750,2000,2500,3000",
                    help="offered rates (requests/s) for the ramp")
    ap.add_argument("--idle", type=int, default=1000)
    args = ap.parse_args(argv)
    header()
    server = Server(args.sales)
    skus = products(server.till)
    ok = True
    try:
        print(f"server pid {server.pid} on 127.0.0.1:{server.port}; RSS {server.rss_mib():.0f} "
              f"MiB, {server.threads()} threads", flush=True)
        asyncio.run(run_load(server.port, server.token, skus, 20, 0.05, 3, True, 0))  # warm-up
        interval = args.interval_ms / 1000
        offered = args.clients / interval
        for keepalive in (True, False):
            what = "keep-alive" if keepalive else "new connection per request"
            stats = asyncio.run(run_load(server.port, server.token, skus, args.clients,
                                         interval, args.seconds, keepalive, 1))
            good = (not stats.failures and not stats.errors and pct(stats.lat_ms, 99) < 50
                    and len(stats.lat_ms) == stats.sent)
            ok &= good
            print(f"steady {args.clients} clients × every {args.interval_ms:.0f} ms "
                  f"({offered:,.0f}/s offered), {what}, {args.seconds:.0f} s: "
                  f"{stats.line(args.seconds)}  [{'PASS' if good else 'FAIL'}: 0 resets, "
                  f"0 errors, p99 < 50 ms]  ({load_avg()})", flush=True)
        best = 0.0
        for rate in (float(r) for r in args.ramp.split(",")):
            step = 6.0
            stats = asyncio.run(run_load(server.port, server.token, skus, args.clients,
                                         args.clients / rate, step, True, int(rate)))
            achieved = len(stats.lat_ms) / step
            good = (not stats.failures and not stats.errors and pct(stats.lat_ms, 99) < 100
                    and achieved >= 0.95 * rate)
            print(f"ramp {rate:,.0f}/s offered: {stats.line(step)}  "
                  f"{'ok' if good else 'over the limit'}", flush=True)
            if not good:
                break
            best = max(best, achieved)
        print(f"most requests/s sustained with p99 < 100 ms: {best:,.0f} "
              f"(steps of 6 s, {args.clients} keep-alive clients)", flush=True)
        stats, counts, fds = asyncio.run(idle_phase(server, skus, args.idle, 10.0))
        good = (not stats.failures and not stats.errors and pct(stats.lat_ms, 99) < 100
                and len(stats.lat_ms) == stats.sent)
        ok &= good
        print(f"{args.idle:,} idle connections held ({fds:,} server fds; opened "
              f"{counts['opened']:,}, closed by the server {counts['closed by server']:,}): "
              f"50 baskets/s on new connections for 10 s: {stats.line(10)}  "
              f"[{'PASS' if good else 'FAIL'}: p99 < 100 ms, none failed]", flush=True)
        print(f"server after: RSS {server.rss_mib():.0f} MiB, {server.threads()} threads, "
              f"{server.fds()} fds; events saved {server.events_saved():,}", flush=True)
        errors = server.log_errors()
        if errors:
            ok = False
            print(f"server log: {len(errors)} error lines, first: {errors[0][:200]}")
    finally:
        code = server.stop()
    print(f"server exit status {code} (SIGTERM)")
    ok &= code == 0
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
