"""Shared by bench_api_fuzz.py and bench_api_load.py (not a benchmark itself): the server
under test is a real ``possuggest serve`` in its own process on a cached demo store, so the
client (this process) never shares its GIL; a raw asyncio HTTP/1.1 reader; percentiles."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_common import code_version, load_avg  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path("/tmp/possuggest-bench")
DEFAULT_END = "2026-06-30"          # fixed, so the cached store is reused across days


class Dropped(Exception):
    """The server closed or reset the connection without a whole answer."""


def demo_store(sales: int, seed: int = 7, end_date: str = DEFAULT_END) -> Path:
    """The cached demo till database; built with the CLI if absent."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"demo_{sales}_s{seed}_{end_date}.db"
    if not path.exists():
        print(f"building demo store {path} ({sales:,} sales, seed {seed}) ...", flush=True)
        subprocess.run([sys.executable, "-m", "possuggest", "demo-db", str(path), "--sales",
                        str(sales), "--seed", str(seed), "--end-date", end_date, "-q"],
                       cwd=ROOT, check=True)
    return path


def products(till: Path, n: int = 400) -> list[str]:
    import sqlite3

    conn = sqlite3.connect(f"file:{till}?mode=ro", uri=True)
    try:
        return [r[0] for r in conn.execute("SELECT sku FROM products ORDER BY sku LIMIT ?", (n,))]
    finally:
        conn.close()


class Server:
    """``python -m possuggest serve --port 0`` on the demo store, in a fresh data folder."""

    def __init__(self, sales: int = 20_000) -> None:
        self.till = demo_store(sales)
        self._tmp = tempfile.TemporaryDirectory(prefix="possuggest-api-bench-")
        self.data = Path(self._tmp.name)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "possuggest", "serve", "--port", "0", "--data-dir",
             str(self.data), "--till-db", str(self.till)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()          # prints its address once it listens
        match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        if match is None:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            self.proc.kill()
            raise SystemExit(f"serve did not start: {line!r} {err[-2000:]}")
        self.port = int(match.group(1))
        self.token = json.loads((self.data / "state.json").read_text())["api_token"]
        self.pid = self.proc.pid

    def rss_mib(self) -> float:
        with open(f"/proc/{self.pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def threads(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/task"))

    def fds(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def events_saved(self) -> int:
        import sqlite3

        conn = sqlite3.connect(self.data / "possuggest.db", timeout=10)
        try:
            return int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])
        finally:
            conn.close()

    def log_errors(self) -> list[str]:
        """ERROR / CRITICAL lines and tracebacks in the server's log."""
        out: list[str] = []
        for log in (self.data / "logs").glob("*.log*"):
            for line in log.read_text(errors="replace").splitlines():
                if " ERROR " in line or " CRITICAL " in line or line.startswith("Traceback"):
                    out.append(line)
        return out

    def stop(self) -> int:
        """SIGTERM, wait; the exit status (0 = clean)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        code = self.proc.returncode
        self._tmp.cleanup()
        return code


async def read_response(reader: asyncio.StreamReader,
                        head: bool = False) -> tuple[int, dict[str, str], bytes]:
    """One answer: (status, headers in lower case, body). Raises Dropped."""
    while True:
        try:
            top = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            raise Dropped(f"closed without an answer ({len(exc.partial)} bytes)") from None
        except (ConnectionError, asyncio.LimitOverrunError) as exc:
            raise Dropped(f"no answer: {exc!r}") from None
        lines = top.decode("latin-1").split("\r\n")
        match = re.match(r"HTTP/1\.[01] (\d{3})", lines[0])
        if match is None:
            raise Dropped(f"not an HTTP answer: {lines[0][:80]!r}")
        status = int(match.group(1))
        headers = {k.strip().lower(): v.strip()
                   for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        if status != 100:
            break
    length = 0 if head else int(headers.get("content-length", "0"))
    try:
        body = await reader.readexactly(length)
    except (asyncio.IncompleteReadError, ConnectionError) as exc:
        raise Dropped(f"answer cut short: {exc!r}") from None
    return status, headers, body


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))]




def header() -> None:
    import platform

    import waitress

    print(f"code {code_version()}; Python {platform.python_version()}, waitress "
          f"{getattr(waitress, '__version__', '') or _dist_version('waitress')}; {os.cpu_count()}"
          f" CPUs; {load_avg()}; {time.strftime('%Y-%m-%d %H:%M:%S')}", flush=True)


def _dist_version(name: str) -> str:
    from importlib.metadata import version

    try:
        return version(name)
    except Exception:
        return "?"
