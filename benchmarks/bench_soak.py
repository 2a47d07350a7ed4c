"""Soak: the real panel (offscreen) on the demo store with its till simulator at about ten
times a real till's pace, and the basket API under steady load from another process, for a
long time. Prints memory over time, API answers, events put vs saved; exits 1 when a bar fails.

Bars: memory within ±10% of the post-warm-up median, no errors (API answers all 200, no
banner for events or the simulator, no dropped events), every event put is saved.

    python benchmarks/bench_soak.py                  # 1 hour
    python benchmarks/bench_soak.py --seconds 120    # the CI version (tests/test_soak.py)
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))          # panel_harness: the test helpers

CLIENT = r"""
import json, sys, time, random, urllib.request, urllib.error
port, token, seconds, rate, skus = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), json.loads(sys.argv[5])
rng = random.Random(7)
codes = {}
end = time.monotonic() + seconds
k = 0
while time.monotonic() < end:
    k += 1
    body = json.dumps({"register": str(2 + k % 20), "sale_id": f"soak-{k // 4}",
                       "items": [{"sku": s} for s in rng.sample(skus, 1 + k % 4)]}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/basket", data=body,
                                 headers={"Authorization": f"Bearer {token}",
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            code = r.status
            r.read()
    except urllib.error.HTTPError as e:
        code = e.code
    except Exception as e:
        code = type(e).__name__
    codes[str(code)] = codes.get(str(code), 0) + 1
    time.sleep(max(0.0, 1.0 / rate))
print(json.dumps(codes))
"""


def rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def run_soak(seconds: float, rate: float = 20.0, sample_s: float = 5.0,
             folder: Path | None = None) -> dict[str, Any]:
    """Run the soak; returns the figures and whether each bar passed."""
    from panel_harness import make_context
    from PySide6.QtCore import QEventLoop, QTimer

    from possuggest.ui.app import ensure_app, open_panel
    from possuggest.ui.controller import PanelOptions

    app = ensure_app()
    tmp = Path(folder or tempfile.mkdtemp(prefix="possuggest-soak-"))
    ctx = make_context(tmp / "data")
    options = PanelOptions(demo_sales=3000, api_port=0, sim_line_interval=(0.1, 0.3),
                           sim_pause=(0.2, 0.5), sim_seed=11)
    controller, window = open_panel(ctx, options, start=False)
    put = {"events": 0}
    real_put = controller.writer.put

    def counting_put(events: list[dict[str, Any]]) -> None:
        put["events"] += len(events)
        real_put(events)

    controller.hub.sink = counting_put
    controller.session.sink = counting_put
    controller.start()

    def wait(cond: Any, timeout_s: float) -> bool:
        loop = QEventLoop()
        timer = QTimer()
        timer.timeout.connect(lambda: loop.quit() if cond() else None)
        timer.start(50)
        QTimer.singleShot(int(timeout_s * 1000), loop.quit)
        if not cond():
            loop.exec()
        timer.stop()
        return bool(cond())

    ready = wait(lambda: controller.rules_state == "ready" and controller.simulator is not None
                 and controller.api_port is not None, 300)
    if not ready:
        raise RuntimeError("the panel did not get ready")
    skus = sorted(controller.products)[:200]
    client = subprocess.Popen([sys.executable, "-c", CLIENT, str(controller.api_port),
                               ctx.api_token(), str(seconds), str(rate), json.dumps(skus)],
                              stdout=subprocess.PIPE, text=True)
    samples: list[tuple[float, float]] = []
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        wait(lambda: False, min(sample_s, max(0.1, seconds - (time.monotonic() - t0))))
        samples.append((time.monotonic() - t0, rss_mib()))
    out, _ = client.communicate(timeout=60)
    codes = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
    banners = {k: v[1] for k, v in controller.banners.items() if k in ("events", "simulator")}
    lines = controller.simulator.lines_added if controller.simulator else 0
    sim_error = controller.simulator.error if controller.simulator else None
    window.close()
    controller.shutdown()
    threads = controller.running_threads()
    conn = sqlite3.connect(controller.plan.rules_db)
    saved = conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    conn.close()
    warm = [m for t, m in samples if t >= 0.2 * seconds] or [m for _, m in samples]
    median = sorted(warm)[len(warm) // 2]
    spread = (min(warm) / median - 1.0, max(warm) / median - 1.0)
    api_total = sum(codes.values())
    result = {
        "seconds": seconds, "rss_samples_mib": [round(m, 1) for _, m in samples],
        "rss_after_warmup_mib": {"median": round(median, 1), "min": round(min(warm), 1),
                                 "max": round(max(warm), 1)},
        "rss_spread": [round(spread[0], 4), round(spread[1], 4)],
        "api_answers": codes, "till_lines_rung": lines, "events_put": put["events"],
        "events_saved": saved, "events_dropped": controller.writer.dropped,
        "writer_error": controller.writer.error, "simulator_error": sim_error,
        "banners": banners, "threads_left": threads,
    }
    result["bars"] = {
        "memory within ±10%": abs(spread[0]) <= 0.10 and abs(spread[1]) <= 0.10,
        "API: every answer 200": api_total > 0 and codes.get("200", 0) == api_total,
        "no errors": not banners and controller.writer.error is None and sim_error is None
        and controller.writer.dropped == 0 and not threads,
        "every event saved": put["events"] > 0 and saved == put["events"],
    }
    app.processEvents()
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3600.0)
    ap.add_argument("--rate", type=float, default=20.0, help="API requests per second")
    args = ap.parse_args()
    res = run_soak(args.seconds, args.rate, sample_s=max(1.0, args.seconds / 120))
    for key, value in res.items():
        if key not in ("rss_samples_mib", "bars"):
            print(f"{key:<22}: {value}")
    print(f"{'rss samples (MiB)':<22}: {res['rss_samples_mib']}")
    for bar, ok in res["bars"].items():
        print(f"bar {bar:<26}: {'PASS' if ok else 'FAIL'}")
    return 0 if all(res["bars"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
