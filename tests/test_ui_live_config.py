"""The manager's config is theirs and applied live; rule sets made by other processes reach the
running panel; a bad value never changes which store is served; one panel per register."""

from __future__ import annotations

import time
from pathlib import Path

from panel_harness import WAIT_MS, TillWriter, card_skus, make_context
from PySide6.QtCore import Qt

from conftest import make_till
from possuggest.cli.main import main as cli_main
from possuggest.services.context import AppContext
from possuggest.ui.controller import PanelOptions

LIVE_MS = 2000       # the bar: a config edit reaches the running panel within 2 s


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.write(text)


def _open_with_mower(harness, qtbot, tmp_path: Path, **kw):
    till = make_till(tmp_path / "till.db")
    ctx = make_context(tmp_path / "data", till)
    controller, window = harness.open(ctx, PanelOptions(api_enabled=False, **kw))
    qtbot.waitUntil(lambda: controller.rules_state == "ready"
                    and controller.sources["till"].state == "ok", timeout=WAIT_MS)
    sale = TillWriter(till).open_sale()
    TillWriter(till).add_line(sale, "MOW-STD")
    qtbot.waitUntil(lambda: "GRASS-CATCH" in card_skus(window), timeout=WAIT_MS)
    return controller, window, till, ctx


def test_a_block_added_to_the_config_reaches_the_panel_within_2s(harness, qtbot, tmp_path) -> None:
    controller, window, _, ctx = _open_with_mower(harness, qtbot, tmp_path)
    cfg = ctx.paths.config_file
    _append(cfg, "\n# the manager blocks the catcher\n[policy]\nblocked = [['*', 'GRASS-CATCH']]\n")
    edited = cfg.read_bytes()
    t0 = time.monotonic()
    qtbot.waitUntil(lambda: "GRASS-CATCH" not in card_skus(window), timeout=LIVE_MS)
    assert time.monotonic() - t0 < LIVE_MS / 1000
    assert cfg.read_bytes() == edited                 # comments and layout kept: never rewritten
    # and any other policy value comes through the same way
    assert len(card_skus(window)) > 1
    _append(cfg, "max_suggestions = 1\n")
    qtbot.waitUntil(lambda: len(card_skus(window)) == 1, timeout=LIVE_MS)


def test_theme_toggle_leaves_the_config_bytes_alone(harness, qtbot, tmp_path) -> None:
    till = make_till(tmp_path / "till.db")
    ctx = make_context(tmp_path / "data", till, extra_config="# keep me\n")
    before = ctx.paths.config_file.read_bytes()
    controller, window = harness.open(ctx, PanelOptions(api_enabled=False))
    qtbot.waitUntil(lambda: controller.rules_state == "ready", timeout=WAIT_MS)
    window.set_theme("dark")
    window.set_theme("light")
    window.act_large.trigger()
    assert window.palette_.name == "light"
    assert ctx.paths.config_file.read_bytes() == before
    assert ctx.settings.api.token == "" and ctx.paths.state_file.exists()


def test_a_bad_edit_shows_a_banner_and_keeps_serving_the_till(harness, qtbot, tmp_path) -> None:
    controller, window, till, ctx = _open_with_mower(harness, qtbot, tmp_path)
    cfg = ctx.paths.config_file
    _append(cfg, "\n[policy]\nmax_suggestions = -1\n")
    qtbot.waitUntil(lambda: "config" in window.banners, timeout=LIVE_MS)
    text = window.banners["config"].text
    assert "policy.max_suggestions" in text and "-1" in text and "last good" in text
    assert not controller.plan.demo and controller.plan.till_path == till
    assert controller.simulator is None and not ctx.paths.demo_till_db.exists()
    assert "GRASS-CATCH" in card_skus(window)          # the last good settings still serve
    # the manager fixes it: the banner goes, the new value applies
    cfg.write_text(cfg.read_text().replace("max_suggestions = -1", "max_suggestions = 1"))
    qtbot.waitUntil(lambda: "config" not in window.banners and len(card_skus(window)) == 1,
                    timeout=LIVE_MS)


def test_no_last_good_settings_shows_the_problem_not_the_demo(harness, qtbot, tmp_path) -> None:
    till = make_till(tmp_path / "till.db")
    data = tmp_path / "data"
    data.mkdir()
    cfg = data / "config.toml"
    cfg.write_text(f"[till]\npath = '{till}'\n[policy]\nmax_suggestions = 0\n")
    ctx = AppContext.create(str(data), None, None, strict=False)
    controller, window = harness.open(ctx, PanelOptions(api_enabled=False))
    qtbot.waitUntil(lambda: "config" in window.banners, timeout=WAIT_MS)
    assert "policy.max_suggestions" in window.banners["config"].text
    assert controller.simulator is None and controller.watcher is None
    assert not ctx.paths.demo_till_db.exists() and not ctx.paths.rules_db.exists()
    # fixed while it runs: the panel starts serving the configured till by itself
    cfg.write_text(cfg.read_text().replace("max_suggestions = 0", "max_suggestions = 2"))
    qtbot.waitUntil(lambda: controller.rules_state == "ready"
                    and controller.sources["till"].state == "ok", timeout=WAIT_MS)
    assert not controller.plan.demo and controller.plan.till_path == till
    assert "config" not in window.banners


def test_cli_refresh_and_rollback_reach_the_panel(harness, qtbot, tmp_path, capsys) -> None:
    controller, window, till, ctx = _open_with_mower(harness, qtbot, tmp_path)
    first = controller.engine.rule_set_id
    g = ["--data-dir", str(ctx.paths.data_dir), "--till-db", str(till)]
    assert cli_main(["refresh", "-q", *g]) == 0
    qtbot.waitUntil(lambda: controller.engine.rule_set_id == first + 1, timeout=LIVE_MS * 2)
    assert cli_main(["rollback", *g]) == 0
    qtbot.waitUntil(lambda: controller.engine.rule_set_id == first, timeout=LIVE_MS * 2)
    # a later refresh (nightly, or the panel's own) does not undo the rollback
    assert cli_main(["refresh", "-q", *g]) == 0
    assert "pinned" in capsys.readouterr().out
    assert controller.refresh_rules()
    qtbot.waitUntil(lambda: not controller.busy, timeout=WAIT_MS)
    assert controller.engine.rule_set_id == first
    assert controller.refresh_summary.pinned == first    # the console's Refresh tab says so
    assert "refresh" not in window.banners                 # the cashier is not told
    assert cli_main(["rollback", "--release", *g]) == 0
    qtbot.waitUntil(lambda: controller.engine.rule_set_id > first + 1, timeout=LIVE_MS * 2)


def test_second_panel_on_the_same_register_is_refused(harness, qtbot, tmp_path) -> None:
    till = make_till(tmp_path / "till.db")
    ctx = make_context(tmp_path / "data", till)
    c1, w1 = harness.open(ctx, PanelOptions(api_enabled=False))
    qtbot.waitUntil(lambda: c1.rules_state == "ready", timeout=WAIT_MS)
    c2, w2 = harness.open(make_context(tmp_path / "data", till), PanelOptions(api_enabled=False))
    qtbot.waitUntil(lambda: "register" in w2.banners, timeout=WAIT_MS)
    assert "already open for register 1" in w2.banners["register"].text
    assert c2.watcher is None and c2.engine is None
    qtbot.keyClick(w2, Qt.Key.Key_F1)                 # a refused panel ignores keys quietly
    w2.close()
    c2.shutdown()
    assert c2.running_threads() == []
    assert harness.close(c1, w1) == []
    # the first one closed: a new panel may take the register
    c3, w3 = harness.open(make_context(tmp_path / "data", till), PanelOptions(api_enabled=False))
    qtbot.waitUntil(lambda: c3.rules_state == "ready", timeout=WAIT_MS)
    assert "register" not in w3.banners


def test_unknown_skus_in_the_policy_are_named(harness, qtbot, tmp_path) -> None:
    till = make_till(tmp_path / "till.db")
    ctx = make_context(tmp_path / "data", till, extra_config=(
        "[policy]\npinned = [['MOW-STD', 'NO-SUCH']]\nexcluded_categories = ['Pets']\n"))
    controller, window = harness.open(ctx, PanelOptions(api_enabled=False))
    qtbot.waitUntil(lambda: "policy" in window.banners, timeout=WAIT_MS)
    text = window.banners["policy"].text
    assert "NO-SUCH" in text and "policy.pinned[0]" in text and "Pets" in text
