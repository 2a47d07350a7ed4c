"""Benchmark: the manager console's Earnings tab (ui/console/dashboard.py) over 1,000,000 sales
and their events: how long it takes to open, i.e. from creating the tab to the figures and
the charts on screen (services/report.py ``build_report`` in the tab's worker thread, drawing,
first paint).

    python benchmarks/bench_dashboard.py                      # 1,000,000 sales, 5 cold opens
    python benchmarks/bench_dashboard.py --sales 100000 --runs 3

The data: ``bench_report.py``'s database, made by its builder and shared with it (cached under
/tmp/possuggest-bench/): a rule set mined from a 20,000-sale demo store and a year of sales at
three registers (10% holdout, drawn per sale as the panel draws it) with their card events,
written through ``RuleStore.log_events`` as the panel's event writer writes them, so the
database's summaries are kept by its own triggers.

Each cold open runs in a fresh process (offscreen Qt; PySide6 already imported, as in the
running panel, and numpy and scipy.special, which its engine and feedback load; pyqtgraph not
yet, as when the console opens its first chart): create the tab,
show it at the console's size, and wait for (a) the report to arrive, (b) the first paint of
the figures after it and (c) the first paint of the charts after it. Then a warm open in the
same process (a second tab: pyqtgraph loaded). Also ``build_report`` alone, in-process.

Bar (issue 9): the dashboard over 1,000,000 sales and their events opens under 2 s (median of
the cold opens, charts painted). Exit status 0 when met.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from bench_common import code_version, load_avg  # noqa: E402

CACHE = Path("/tmp/possuggest-bench")
BAR_S = 2.0


def data_path(n_sales: int) -> Path:
    """The database of ``bench_report.py`` (its builder, its cache: one database for both
    benchmarks), built now if it is not there yet."""
    import bench_report

    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"report-{n_sales}.db"
    if not path.exists():
        print(f"building {path} with bench_report.build (once; cached) ...", flush=True)
        bench_report.build(path, n_sales)
    return path


# -- one open, in a child process -------------------------------------------------------------------
def child(db: Path, warm: bool) -> dict[str, float]:
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QApplication, QWidget

    from possuggest.core.config import UiSettings

    app = QApplication.instance() or QApplication([])

    class Plan:
        rules_db = db

    class Controller:           # what the tab uses of the panel's controller
        plan = Plan()

        def look(self) -> UiSettings:
            return UiSettings()

    def open_once() -> dict[str, float]:
        marks: dict[str, float] = {}

        class Watch(QObject):
            def eventFilter(self, obj: QObject, ev: QEvent) -> bool:  # noqa: N802
                if ev.type() == QEvent.Type.Paint and "report" in marks and \
                        isinstance(obj, QWidget):
                    now = time.perf_counter()
                    if "figures" not in marks and obj is tab.tiles["sales"].value:
                        marks["figures"] = now
                    chart = tab.charts.get("cards")
                    if "charts" not in marks and chart is not None and \
                            (obj is chart or obj is chart.viewport()):
                        marks["charts"] = now
                return False

        watch = Watch()
        app.installEventFilter(watch)
        t0 = time.perf_counter()
        from possuggest.ui.console.dashboard import DashboardTab

        marks["import"] = time.perf_counter()
        tab = DashboardTab(Controller())
        marks["built"] = time.perf_counter()
        tab.reported.connect(lambda *_: marks.setdefault("report", time.perf_counter()))
        tab.failed.connect(lambda m: marks.setdefault("failed", time.perf_counter()))
        tab.resize(1100, 760)
        tab.show()
        deadline = time.perf_counter() + 60
        while ("charts" not in marks or "figures" not in marks) and "failed" not in marks \
                and time.perf_counter() < deadline:
            app.processEvents()
            time.sleep(0.001)
        app.removeEventFilter(watch)
        out = {k: v - t0 for k, v in marks.items()}
        out["sales"] = float(tab.report.sales) if tab.report is not None else -1.0
        tab.shutdown()
        tab.close()
        tab.deleteLater()
        app.processEvents()
        return out

    first = open_once()
    result = {f"cold_{k}": v for k, v in first.items()}
    if warm:
        result.update({f"warm_{k}": v for k, v in open_once().items()})
    return result


def child_env() -> dict[str, str]:
    """Offscreen Qt, and Python's bytecode cached under the benchmark folder: an installed
    app has its .pyc files (pip compiles them, PyInstaller ships them), while this machine
    sets PYTHONDONTWRITEBYTECODE and its venv holds no bytecode for pyqtgraph, which would
    make every cold open compile pyqtgraph's sources again (~0.7 s)."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen",
               PYTHONPYCACHEPREFIX=str(CACHE / "pycache"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run_child(db: Path, warm: bool, env: dict[str, str] | None = None) -> dict[str, float]:
    code = ("import sys, json; sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[2]);"
            "import PySide6.QtWidgets, numpy, scipy.special;"   # loaded in a running panel
            "from bench_dashboard import child;"
            "from pathlib import Path;"
            "print('RESULT', json.dumps(child(Path(sys.argv[3]), sys.argv[4] == '1')))")
    out = subprocess.run([sys.executable, "-c", code, str(ROOT), str(HERE), str(db),
                          "1" if warm else "0"], capture_output=True, text=True,
                         env=env or child_env(), timeout=600)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return dict(json.loads(line[7:]))
    raise RuntimeError(f"child failed: {out.stderr[-2000:]}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sales", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=5, help="cold opens (fresh processes)")
    args = ap.parse_args(argv)
    print(f"date            : {time.strftime('%Y-%m-%dT%H:%M:%S')}  ({os.cpu_count()} CPUs, "
          f"{load_avg()} before)")
    print(f"code            : {code_version()}")
    db = data_path(args.sales)
    print(f"database        : {db} ({db.stat().st_size / 2**20:,.0f} MiB)")

    from possuggest.services.report import build_report

    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        rep = build_report(db, None, None)
        times.append(time.perf_counter() - t0)
    print(f"build_report    : {rep.sales:,} sales ({rep.holdout_sales:,} holdout), "
          f"{rep.shown:,} cards shown, {rep.accepted:,} accepted, {len(rep.trend)} days; "
          f"in-process {', '.join(f'{t * 1e3:.0f}' for t in times)} ms")
    t0 = time.perf_counter()
    rep30 = build_report(db, *_last_days(30))
    print(f"build_report 30d: {rep30.sales:,} sales in {(time.perf_counter() - t0) * 1e3:.0f} ms")

    nocache = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONDONTWRITEBYTECODE="1")
    r = run_child(db, warm=False, env=nocache)
    print(f"no bytecode     : charts painted {r.get('cold_charts', float('nan')) * 1e3:5.0f} ms "
          "(a cold open compiling the sources of whatever has no .pyc here; not counted)")
    run_child(db, warm=False)       # fills the bytecode cache; not counted
    runs = [run_child(db, warm=(k == 0)) for k in range(args.runs)]
    for k, r in enumerate(runs):
        line = (f"cold open {k + 1}     : import tab {r['cold_import'] * 1e3:5.0f} ms, built "
                f"{r['cold_built'] * 1e3:5.0f} ms, report {r['cold_report'] * 1e3:5.0f} ms, "
                f"figures painted {r.get('cold_figures', float('nan')) * 1e3:5.0f} ms, charts "
                f"painted {r.get('cold_charts', float('nan')) * 1e3:5.0f} ms")
        print(line)
        if "warm_report" in r:
            print(f"warm open       : report {r['warm_report'] * 1e3:5.0f} ms, figures painted "
                  f"{r.get('warm_figures', float('nan')) * 1e3:5.0f} ms, charts painted "
                  f"{r.get('warm_charts', float('nan')) * 1e3:5.0f} ms (pyqtgraph loaded)")
    ok_runs = [r for r in runs if "cold_charts" in r and r.get("cold_sales") == args.sales]
    if len(ok_runs) != len(runs):
        print("FAIL: an open did not show the whole report")
        return 1
    med = statistics.median(r["cold_charts"] for r in runs)
    med_fig = statistics.median(r["cold_figures"] for r in runs)
    ok = med < BAR_S
    print(f"median cold open: figures {med_fig:.2f} s, charts {med:.2f} s -- bar < {BAR_S:g} s: "
          f"{'PASS' if ok else 'FAIL'}")
    print(f"load after      : {load_avg()}")
    return 0 if ok else 1


def _last_days(n: int) -> tuple[object, object]:
    from datetime import timedelta

    from bench_report import END

    return END - timedelta(days=n - 1), END


if __name__ == "__main__":
    sys.exit(main())
