"""The console's Refresh tab on the real panel: refresh now with progress and cancel, a second
refresh refused (in the panel and across processes), the history of runs, making an earlier
rule set active again (the running panel follows), and the nightly refresh (injected clock)."""

from __future__ import annotations

from datetime import datetime, timedelta

from PySide6.QtCore import Qt, QTime

from possuggest.services.refresh import NightlySchedule, RefreshLock
from possuggest.ui.console.refresh_tab import RefreshTab
from possuggest.ui.console.window import ManagerConsole

WAIT_MS = 60_000


def _tab(panel) -> tuple[ManagerConsole, RefreshTab]:
    controller, window, _, _ = panel
    console = ManagerConsole(controller, window)
    console.show()
    tab = console.show_tab("Refresh")
    assert isinstance(tab, RefreshTab)
    return console, tab


def _loaded(qtbot, tab: RefreshTab, n: int) -> None:
    qtbot.waitUntil(lambda: tab.loads >= n and not tab.controller.busy, timeout=WAIT_MS)


def test_refresh_now_with_progress_and_history(panel, qtbot) -> None:
    controller, window, _, _ = panel
    console, tab = _tab(panel)
    _loaded(qtbot, tab, 1)
    first = controller.engine.rule_set_id
    fractions: list[float] = []
    controller.progressChanged.connect(lambda ph, f, m: fractions.append(f) if ph == "refresh"
                                       else None)
    told: list[str] = []
    controller.toastShown.connect(lambda key, level, text: told.append(text))
    loads = tab.loads
    qtbot.mouseClick(tab.run_button, Qt.MouseButton.LeftButton)
    assert not tab.run_button.isEnabled() and tab.cancel_button.isEnabled()
    assert tab.progress.isVisible()
    qtbot.waitUntil(lambda: controller.engine.rule_set_id == first + 1, timeout=WAIT_MS)
    _loaded(qtbot, tab, loads + 1)
    qtbot.waitUntil(lambda: bool(tab.history) and tab.history[0].outcome == "ok", timeout=WAIT_MS)
    assert any(0 < f < 1 for f in fractions)
    assert not tab.progress.isVisible() and tab.run_button.isEnabled()
    run = tab.history[0]
    assert (run.started_by, run.rule_set_id) == ("manager", first + 1)
    row = [tab.history_table.item(0, j).text() for j in range(tab.history_table.columnCount())]
    assert row[2] == "Manager" and row[3] == "Done" and row[4] == f"{run.n_baskets:,}"
    assert row[5] == f"{run.n_rules:,}" and row[6] == str(first + 1) and "λ" in row[7]
    assert tab.status.text().startswith("Refresh done in ")
    assert [s.id for s in tab.sets if s.active] == [first + 1]
    # the cashier hears that suggestions follow the latest sales, and no rule counts
    assert told == ["Suggestions updated from the latest sales."]
    assert "refresh" not in window.banners
    console.close()


def test_a_second_refresh_is_refused(panel, qtbot) -> None:
    controller, _, _, ctx = panel
    console, tab = _tab(panel)
    _loaded(qtbot, tab, 1)
    assert tab.refresh_now()
    assert not tab.refresh_now()                   # the first one still runs
    assert tab.status.text().startswith("Not started: A refresh is already running")
    assert tab.status.property("level") == "warn"
    assert not controller.refresh_rules("nightly")
    qtbot.waitUntil(lambda: not controller.busy, timeout=WAIT_MS)
    # another process (a 'possuggest refresh' from the OS scheduler) holds the refresh lock
    other = RefreshLock(ctx.paths.lock_dir, controller.plan.rules_db)
    other.acquire("cli")
    try:
        assert not tab.refresh_now()
        assert "already running (started by the command line at" in tab.status.text()
        assert not controller.busy
    finally:
        other.release()
    _loaded(qtbot, tab, tab.loads + 1)
    assert [r.started_by for r in tab.history] == ["manager"]     # one run, not two
    console.close()


def test_cancel_keeps_the_rules_in_use(panel, qtbot) -> None:
    controller, _, _, _ = panel
    console, tab = _tab(panel)
    _loaded(qtbot, tab, 1)
    first = controller.engine.rule_set_id
    assert tab.refresh_now()
    qtbot.mouseClick(tab.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(tab.history) and tab.history[0].outcome == "cancelled",
                    timeout=WAIT_MS)
    assert controller.engine.rule_set_id == first
    assert tab.status.text() == "Refresh cancelled: the rules in use did not change."
    assert tab.history_table.item(0, 3).text() == "Cancelled"
    console.close()


def test_rollback_makes_the_previous_rule_set_active(panel, qtbot) -> None:
    controller, _, _, _ = panel
    console, tab = _tab(panel)
    _loaded(qtbot, tab, 1)
    first = controller.engine.rule_set_id
    assert tab.refresh_now()
    qtbot.waitUntil(lambda: controller.engine.rule_set_id == first + 1, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: [s.id for s in tab.sets] == [first + 1, first], timeout=WAIT_MS)
    assert not tab.release_button.isEnabled()
    tab.select_set(first + 1)
    assert not tab.activate_button.isEnabled()     # already in use
    tab.select_set(first)
    assert tab.activate_button.isEnabled()
    qtbot.mouseClick(tab.activate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: controller.engine.rule_set_id == first, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: tab.pinned == first, timeout=WAIT_MS)
    assert tab.sets_table.item(1, 6).text() == "In use, kept by you"
    assert tab.status.text().startswith(f"Rule set {first} is in use now")
    # a refresh now adds a set without using it
    assert tab.refresh_now()
    qtbot.waitUntil(lambda: bool(tab.history) and tab.history[0].outcome == "ok"
                    and len(tab.history) == 2 and not controller.busy, timeout=WAIT_MS)
    assert controller.engine.rule_set_id == first
    assert tab.history_table.item(0, 3).text() == "Saved, not in use"
    # and "Use the newest again" undoes the pin
    qtbot.waitUntil(tab.release_button.isEnabled, timeout=WAIT_MS)
    qtbot.mouseClick(tab.release_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: controller.engine.rule_set_id == first + 2, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: tab.pinned is None, timeout=WAIT_MS)
    console.close()


class Clock:
    def __init__(self, t: datetime) -> None:
        self.t = t

    def __call__(self) -> datetime:
        return self.t


def test_nightly_refresh_at_the_set_time(panel, qtbot) -> None:
    controller, window, _, ctx = panel
    console, tab = _tab(panel)
    _loaded(qtbot, tab, 1)
    first = controller.engine.rule_set_id
    tab.nightly_on.setChecked(True)
    tab.nightly_time.setTime(QTime(2, 0))
    assert tab.save_nightly()
    qtbot.waitUntil(lambda: ctx.settings.refresh.nightly_at == "02:00", timeout=WAIT_MS)
    assert tab.nightly_note.text().startswith("Next: ")
    told: list[str] = []
    controller.toastShown.connect(lambda key, level, text: told.append(key))
    clock = Clock(datetime(2026, 5, 4, 1, 59, 30))
    controller.nightly = NightlySchedule(now=clock)
    assert not controller.check_nightly()            # notes the time
    clock.t += timedelta(seconds=20)
    assert not controller.check_nightly()            # 01:59:50
    clock.t += timedelta(seconds=20)                 # 02:00:10: the panel's timer starts it
    controller._nightly_timer.setInterval(20)
    qtbot.waitUntil(lambda: controller.engine.rule_set_id == first + 1, timeout=WAIT_MS)
    controller._nightly_timer.setInterval(30_000)
    qtbot.waitUntil(lambda: bool(tab.history) and tab.history[0].outcome == "ok", timeout=WAIT_MS)
    assert [r.started_by for r in tab.history] == ["nightly"]
    assert "refresh" not in window.banners and "refresh" not in told   # the cashier: nothing
    clock.t += timedelta(minutes=5)
    assert not controller.check_nightly()            # once a night
    # turned off: the time passing the next night starts nothing
    tab.nightly_on.setChecked(False)
    assert tab.save_nightly()
    qtbot.waitUntil(lambda: ctx.settings.refresh.nightly_at == "", timeout=WAIT_MS)
    clock.t = datetime(2026, 5, 5, 2, 0, 5)
    assert not controller.check_nightly()
    assert tab.nightly_note.text().startswith("Off")
    console.close()
