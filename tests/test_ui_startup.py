"""Start-up as a new user meets it: no till configured → the demo store is built, rules are
mined (progress shown, panel usable) and the till simulator rings up sales that bring cards;
``--demo`` forces the demo beside a configured till; ``--exit-after`` and Ctrl+C close
cleanly, and the panel's start-up path does not import pandas or mlxtend."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from panel_harness import WAIT_MS, make_context, read_events

from conftest import make_till
from possuggest.cli.main import build_parser
from possuggest.ui.controller import PanelOptions

ROOT = Path(__file__).resolve().parents[1]
def fast_demo(**kw) -> PanelOptions:
    return PanelOptions(demo_sales=3000, api_port=0, sim_line_interval=(0.05, 0.15),
                        sim_pause=(0.05, 0.2), sim_seed=3, **kw)


def test_demo_from_nothing(harness, qtbot, tmp_path: Path) -> None:
    ctx = make_context(tmp_path / "data")
    assert ctx.uses_demo and not ctx.paths.demo_till_db.exists()
    controller, window = harness.open(ctx, fast_demo(sim_take_suggestion_p=0.9), start=False)
    phases: list[str] = []
    titles: list[str] = []
    controller.progressChanged.connect(lambda ph, f, m: phases.append(ph))
    controller.progressChanged.connect(lambda *a: titles.append(window.empty.title.text()))
    assert window.isVisible()                       # the panel is up before any work starts
    assert window.empty.title.text() == "Getting suggestions ready…"
    controller.start()
    assert controller.busy
    qtbot.waitUntil(lambda: len(window.cards.visible_cards()) > 0, timeout=WAIT_MS)
    assert ctx.paths.demo_till_db.exists()
    assert "demo" in phases and "refresh" in phases
    assert any(t.startswith("Setting up the demo store") for t in titles)
    assert any(t.startswith("Getting suggestions ready — ") for t in titles)
    assert controller.sources["till"].state == "ok"
    assert window.subtitle.text() == "Register 1 · Demo store"
    assert controller.simulator is not None and controller.simulator.running

    def took_a_suggestion() -> bool:
        controller.writer.flush(1.0)
        return any(e["action"] == "accepted" and e["source"] == "basket"
                   for e in read_events(controller.plan.rules_db))

    qtbot.waitUntil(took_a_suggestion, timeout=WAIT_MS)
    assert controller.simulator.lines_added > 0
    events = read_events(controller.plan.rules_db)
    assert any(e["action"] == "shown" and e["source"] == "till" for e in events)


def test_forced_demo_keeps_the_store_rules_apart(harness, qtbot, tmp_path: Path) -> None:
    from possuggest.demo.generator import build_demo_store

    till = make_till(tmp_path / "till.db")
    ctx = make_context(tmp_path / "data", till)
    ctx.settings.till.path = str(till)
    demo = ctx.paths.data_dir / "demo"
    demo.mkdir()
    build_demo_store(demo / "demo-till.db", sales=3000)
    controller, window = harness.open(ctx, fast_demo(force_demo=True, simulate=False))
    assert controller.plan.demo and controller.plan.till_path == demo / "demo-till.db"
    assert controller.plan.rules_db == demo / "possuggest.db"
    qtbot.waitUntil(lambda: controller.rules_state == "ready", timeout=WAIT_MS)
    assert not ctx.paths.rules_db.exists()          # the store's own rule database untouched
    assert not ctx.paths.demo_till_db.exists()
    assert controller.simulator is None


def _env(data: Path) -> dict[str, str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    env.pop("POSSUGGEST_DATA_DIR", None)
    data.mkdir(parents=True, exist_ok=True)
    (data / "config.toml").write_text("[api]\nport = 0\n", encoding="utf-8")
    return env


@pytest.mark.slow          # the panel runs for its fixed --exit-after 4 s
def test_gui_demo_exit_after_closes_cleanly(tmp_path: Path) -> None:
    from possuggest.demo.generator import build_demo_store

    data = tmp_path / "data"
    env = _env(data)
    build_demo_store(data / "demo-till.db", sales=3000)
    proc = subprocess.run([sys.executable, "-m", "possuggest", "--data-dir", str(data), "gui",
                           "--demo", "--exit-after", "4"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    log = (data / "logs" / "possuggest.log").read_text(encoding="utf-8")
    assert "panel shown" in log and "panel stopping" in log
    assert "threads still running" not in log
    assert "till simulator ringing up sales" in log


def test_no_command_opens_the_panel_and_ctrl_c_closes_it(qtbot, tmp_path: Path) -> None:
    args = build_parser().parse_args([])
    assert args.command is None                     # main() then runs "gui"
    data = tmp_path / "data"
    env = _env(data)
    proc = subprocess.Popen([sys.executable, "-m", "possuggest", "--data-dir", str(data)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log = data / "logs" / "possuggest.log"
    try:
        qtbot.waitUntil(lambda: log.exists() and "panel starting" in log.read_text(), timeout=WAIT_MS)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "panel stopping" in log.read_text()


def test_panel_start_path_skips_pandas_and_mlxtend() -> None:
    code = ("import sys\n"
            "from possuggest.ui.app import ensure_app, open_panel\n"
            "from possuggest.ui import controller, panel, workers\n"
            "from possuggest.services import app, context, live, serve\n"
            "bad = [m for m in ('pandas', 'mlxtend', 'sqlite_utils') if m in sys.modules]\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT,
                   env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
