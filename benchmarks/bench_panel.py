"""Cashier panel benchmark (offscreen): how fast a basket change reaches the screen, how fast
the panel starts, and how much memory it holds.

    python benchmarks/bench_panel.py [--sales 50000] [--lines 150]

Figures printed:
* till line → cards painted: a line committed into the till database (as a till would, with
  plain sqlite3) until the suggestion cards have repainted; with the default 250 ms poll plus
  the file-system trigger, and with the poll alone;
* session.update → cards painted (engine + drawing, no till in between);
* API POST → cards painted (loopback HTTP from another thread);
* start → first paint, and start → rules loaded (fresh process, demo store and rules built);
* RSS of the running panel (fresh process, demo simulator running).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))          # panel_harness: the test helpers


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))]


def summary(name: str, ms: list[float], misses: int = 0) -> str:
    if not ms:
        return f"{name}: no samples"
    extra = f", {misses} timed out" if misses else ""
    return (f"{name}: n={len(ms)}  p50 {pct(ms, 50):6.1f} ms  p95 {pct(ms, 95):6.1f} ms  "
            f"max {max(ms):6.1f} ms{extra}")


# -- child process: start-up time and memory -------------------------------------------------
CHILD = r"""
import os, sys, time, json
t0 = time.perf_counter()
sys.path.insert(0, sys.argv[1])
from PySide6.QtCore import QEvent, QObject, QTimer
from possuggest.services.context import AppContext
from possuggest.ui.app import ensure_app, open_panel
from possuggest.ui.controller import PanelOptions
data, simulate = sys.argv[2], sys.argv[3] == "1"
app = ensure_app()
ctx = AppContext.create(data, None, None, strict=False)
ctx.paths.ensure()
marks = {}
class FirstPaint(QObject):
    def eventFilter(self, obj, ev):
        if ev.type() == QEvent.Type.Paint and "first_paint" not in marks:
            marks["first_paint"] = time.perf_counter() - t0
            marks["pandas_loaded_at_paint"] = "pandas" in sys.modules
        return False
f = FirstPaint()
app.installEventFilter(f)
controller, window = open_panel(ctx, PanelOptions(api_port=0, simulate=simulate,
                                                  sim_line_interval=(0.3, 0.8),
                                                  sim_pause=(0.5, 1.0)))
def ready():
    if controller.rules_state == "ready" and "rules_loaded" not in marks:
        marks["rules_loaded"] = time.perf_counter() - t0
        QTimer.singleShot(int(float(sys.argv[4]) * 1000), finish)
controller.engineChanged.connect(lambda *_: ready())
def finish():
    status = open("/proc/self/status").read() if os.path.exists("/proc/self/status") else ""
    for line in status.splitlines():
        if line.startswith(("VmRSS", "VmHWM")):
            marks[line.split(":")[0]] = int(line.split()[1]) // 1024
    marks["lines_rung"] = controller.simulator.lines_added if controller.simulator else 0
    window.close()
QTimer.singleShot(60000, window.close)
app.exec()
marks["threads_left"] = controller.running_threads()
print(json.dumps(marks), flush=True)
"""


def child_run(data: Path, simulate: bool, linger_s: float) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), str(data),
                          "1" if simulate else "0", str(linger_s)],
                         capture_output=True, text=True, timeout=180,
                         env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- in-process latency --------------------------------------------------------------------
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sales", type=int, default=50_000, help="demo sales (default 50000)")
    ap.add_argument("--lines", type=int, default=150, help="lines per latency run")
    args = ap.parse_args()

    from panel_harness import TillWriter, make_context
    from PySide6.QtCore import QEventLoop, QTimer

    from possuggest.demo.generator import build_demo_store
    from possuggest.mining.refresh import refresh
    from possuggest.ui.app import ensure_app, open_panel
    from possuggest.ui.controller import PanelOptions

    app = ensure_app()
    tmp = Path(tempfile.mkdtemp(prefix="possuggest-bench-"))
    data = tmp / "data"
    ctx = make_context(data, poll_ms=250)
    t = time.perf_counter()
    build_demo_store(ctx.paths.demo_till_db, sales=args.sales)
    s = refresh(ctx.paths.demo_till_db, ctx.paths.rules_db, ctx.settings)
    print(f"demo store: {args.sales:,} sales; {s.n_cross + s.n_upgrade:,} rules "
          f"(built in {time.perf_counter() - t:.1f} s)")

    def wait(cond: Callable[[], bool], timeout_s: float = 3.0) -> bool:
        if cond():
            return True
        loop = QEventLoop()
        timer = QTimer()
        timer.setInterval(0)
        deadline = time.perf_counter() + timeout_s

        def check() -> None:
            if cond() or time.perf_counter() > deadline:
                loop.quit()
        timer.timeout.connect(check)
        timer.start()
        loop.exec()
        timer.stop()
        return cond()

    def run_panel(watch_files: bool, label: str) -> None:
        ctx.settings.watcher.poll_ms = 250
        controller, window = open_panel(ctx, PanelOptions(api_port=0, simulate=False,
                                                          watch_files=watch_files))
        wait(lambda: controller.rules_state == "ready"
             and controller.sources["till"].state == "ok", 30)
        engine = controller.engine
        rng = random.Random(7)
        skus = [s for s in sorted(engine.products) if engine.suggest([s])]
        painted: list[int] = []
        window.cards.painted.connect(painted.append)
        writer = TillWriter(ctx.paths.demo_till_db, controller.register)
        till_ms: list[float] = []
        commit_ms: list[float] = []
        misses = 0
        sale = writer.open_sale()
        basket: list[str] = []
        for _ in range(args.lines):
            if len(basket) >= 8:
                writer.close_sale(sale)
                sale = writer.open_sale()
                basket = []
                wait(lambda: controller.session.view.basket == (), 3)
            sku = rng.choice([s for s in skus if s not in basket])
            basket.append(sku)
            want = tuple(basket)
            painted.clear()
            t0 = time.perf_counter()
            writer.add_line(sale, sku)
            commit_ms.append((time.perf_counter() - t0) * 1000)
            ok = wait(lambda w=want: controller.session.view.basket == w and painted
                      and painted[-1] >= controller.session.view.seq, 3)
            if ok:
                till_ms.append((time.perf_counter() - t0) * 1000)
            else:
                misses += 1
        print(summary(f"till line → cards painted ({label})", till_ms, misses))
        print(summary("  of which the till's own insert + commit", commit_ms))

        if watch_files:
            # session.update → paint, on the GUI thread
            upd_ms: list[float] = []
            for k in range(args.lines):
                b = rng.sample(skus, 1 + k % 6)
                painted.clear()
                t0 = time.perf_counter()
                view = controller.session.update(f"bench-{k}", b, source="bench")
                controller.viewChanged.emit()
                if wait(lambda v=view: painted and painted[-1] >= v.seq, 3):
                    upd_ms.append((time.perf_counter() - t0) * 1000)
            print(summary("session.update → cards painted", upd_ms))

            # API POST (another thread) → paint
            token = ctx.api_token()
            port = controller.api_port
            api_ms: list[float] = []
            for k in range(min(args.lines, 100)):
                b = rng.sample(skus, 1 + k % 5)
                body = json.dumps({"register": controller.register, "sale_id": f"api-{k}",
                                   "items": [{"sku": s} for s in b]}).encode()
                req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/basket", data=body,
                                             headers={"Authorization": f"Bearer {token}",
                                                      "Content-Type": "application/json"})
                painted.clear()
                t0 = time.perf_counter()
                th = threading.Thread(target=lambda r=req: urllib.request.urlopen(r, timeout=5).read())
                th.start()
                want_sale = f"api-{k}"
                if wait(lambda s=want_sale: controller.session.view.sale_id == s and painted
                        and painted[-1] >= controller.session.view.seq, 3):
                    api_ms.append((time.perf_counter() - t0) * 1000)
                th.join()
            print(summary("API POST → cards painted", api_ms))
        window.close()
        left = controller.running_threads()
        if left:
            print(f"threads left running: {left}")

    run_panel(True, "250 ms poll + file trigger (default)")
    run_panel(False, "250 ms poll only")

    firsts, loads = [], []
    for _ in range(3):
        m = child_run(data, simulate=False, linger_s=0.1)
        firsts.append(m["first_paint"] * 1000)
        loads.append(m["rules_loaded"] * 1000)
        assert not m["pandas_loaded_at_paint"], "pandas imported before the first paint"
    print(f"start → first paint (process start, demo built): median "
          f"{statistics.median(firsts):.0f} ms  (runs: {', '.join(f'{v:.0f}' for v in firsts)})")
    print(f"start → rules loaded, suggestions ready: median {statistics.median(loads):.0f} ms")
    m = child_run(data, simulate=True, linger_s=8.0)
    print(f"memory of the running panel (demo simulator on, {m['lines_rung']} lines rung "
          f"in 8 s): RSS {m['VmRSS']} MB, peak {m['VmHWM']} MB; threads left at exit: "
          f"{m['threads_left'] or 'none'}")
    app.processEvents()
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
