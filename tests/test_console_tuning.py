"""The console's Settings tab on the real panel: every policy and mining setting is in the form;
a value out of range is refused next to its field and nothing is saved; a saved value keeps the
manager's comments and reaches the running panel's engine at once; an edit made elsewhere shows
up in the fields the manager has not touched."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QLineEdit

from possuggest.core.config import MiningSettings, PolicySettings
from possuggest.services.config_edit import manager_config_file
from possuggest.ui.console.tuning import TuningTab
from possuggest.ui.console.window import ManagerConsole

WAIT_MS = 60_000

HEADER = "# the shop's own notes — keep them\n"


def _tab(panel) -> tuple[ManagerConsole, TuningTab]:
    controller, window, _, ctx = panel
    path = manager_config_file(ctx)
    path.write_text(HEADER + path.read_text(encoding="utf-8") + "# end of file\n",
                    encoding="utf-8")
    console = ManagerConsole(controller, window)
    console.show()
    tab = console.show_tab("Settings")
    assert isinstance(tab, TuningTab)
    return console, tab


def _set(qtbot, tab: TuningTab, key: str, text: str) -> None:
    edit = tab.fields[key].widget
    assert isinstance(edit, QLineEdit)
    edit.selectAll()
    qtbot.keyClicks(edit, text) if text else edit.clear()


def test_every_policy_and_mining_setting_has_a_field(panel) -> None:
    console, tab = _tab(panel)
    for cls, section in ((PolicySettings, "policy"), (MiningSettings, "mining")):
        names = {f.name for f in dataclasses.fields(cls)}
        names -= {"pinned", "blocked", "manual", "upgrade_paths"}     # the Rules tab's
        assert {k.split(".")[1] for k in tab.fields if k.startswith(section + ".")} == names
    assert "holdout.share" in tab.fields and "refresh.nightly_at" in tab.fields
    assert isinstance(tab.fields["mining.tune"].widget, QCheckBox)
    assert isinstance(tab.fields["feedback.exploration"].widget, QComboBox)
    ctx = panel[3]
    assert tab.fields["policy.min_card_lift"].widget.text() == "1.5"    # the values in effect
    assert tab.fields["mining.window_days"].widget.text() == str(ctx.settings.mining.window_days)
    assert "lift" in tab.fields["policy.min_lift"].widget.toolTip()
    console.close()


def test_out_of_range_is_refused_next_to_the_field_and_nothing_saved(panel, qtbot) -> None:
    controller, _, _, ctx = panel
    console, tab = _tab(panel)
    path = manager_config_file(ctx)
    before = path.read_bytes()
    _set(qtbot, tab, "policy.max_suggestions", "0")
    fld = tab.fields["policy.max_suggestions"]
    assert fld.error.isVisible() or fld.error.isVisibleTo(tab)
    assert fld.error.text() == "0 is below the minimum 1"
    assert fld.widget.property("invalid") is True
    _set(qtbot, tab, "policy.min_confidence", "lots")
    assert tab.fields["policy.min_confidence"].error.text().startswith("'lots' is not a number")
    _set(qtbot, tab, "policy.min_lift", "2.0")                     # a good change beside them
    assert not tab.fields["policy.min_lift"].error.text()
    qtbot.mouseClick(tab.save_button, Qt.MouseButton.LeftButton)
    assert tab.status.text().startswith("Nothing saved: Cards shown at most, Minimum confidence")
    assert tab.status.property("level") == "error"
    assert path.read_bytes() == before
    # a rule between two fields: the ratio range of upgrades
    _set(qtbot, tab, "policy.max_suggestions", "3")
    _set(qtbot, tab, "policy.min_confidence", "0.02")
    _set(qtbot, tab, "mining.upgrade_min_ratio", "5")
    assert "larger than upgrade_max_ratio" in tab.fields["mining.upgrade_min_ratio"].error.text()
    assert not tab.save()
    _set(qtbot, tab, "refresh.nightly_at", "25:00")
    assert "not a time of day" in tab.fields["refresh.nightly_at"].error.text()
    assert not tab.save()
    assert path.read_bytes() == before
    assert controller.ctx.settings.policy.min_lift == 0.0
    # Undo puts the values in effect back and clears the messages
    qtbot.mouseClick(tab.revert_button, Qt.MouseButton.LeftButton)
    assert tab.fields["mining.upgrade_min_ratio"].widget.text() == "1.25"
    assert not any(f.error.text() for f in tab.fields.values())
    console.close()


def test_a_saved_setting_reaches_the_running_panel(panel, qtbot) -> None:
    controller, _, _, ctx = panel
    console, tab = _tab(panel)
    engine = controller.engine
    assert engine.policy.max_suggestions == 3
    _set(qtbot, tab, "policy.max_suggestions", "1")
    _set(qtbot, tab, "policy.excluded_categories", "Pets, Gift cards")
    assert tab.save_button.text() == "Save (2 changes)"
    qtbot.mouseClick(tab.save_button, Qt.MouseButton.LeftButton)
    assert tab.status.property("level") == "ok", tab.status.text()
    text = manager_config_file(ctx).read_text(encoding="utf-8")
    assert text.startswith(HEADER) and text.endswith("# end of file\n")
    assert "min_card_lift = 1.5" in text                             # the rest is as it was
    qtbot.waitUntil(lambda: controller.engine is not engine
                    and controller.engine.policy.max_suggestions == 1, timeout=WAIT_MS)
    assert controller.engine.policy.excluded_categories == ["Pets", "Gift cards"]
    assert ctx.settings.policy.max_suggestions == 1
    assert controller.engine.rule_set_id == engine.rule_set_id     # same rules, new policy
    assert tab.save_button.text() == "Save"
    console.close()


def test_an_edit_made_elsewhere_shows_in_untouched_fields(panel, qtbot) -> None:
    controller, _, _, ctx = panel
    console, tab = _tab(panel)
    _set(qtbot, tab, "policy.min_lift", "1.2")                       # being edited: kept
    path = manager_config_file(ctx)
    path.write_text(path.read_text(encoding="utf-8").replace(
        "[policy]\n", "[policy]\nmin_lift = 3.0\nmin_count = 7\n"), encoding="utf-8")
    qtbot.waitUntil(lambda: tab.fields["policy.min_count"].widget.text() == "7",
                    timeout=WAIT_MS)
    assert tab.fields["policy.min_lift"].widget.text() == "1.2"
    assert tab.changes() == {"policy.min_lift": 1.2}
    assert tab.save()
    qtbot.waitUntil(lambda: ctx.settings.policy.min_lift == 1.2, timeout=WAIT_MS)
    assert ctx.settings.policy.min_count == 7
    console.close()
