"""The manager console behind its PIN, on the real panel: the cashier's menu has no manager
actions; Ctrl+M asks for the PIN (set on first use); a wrong PIN is refused; five lock it for
60 s, also across a reopened dialog (an injected clock stands in for the wait)."""

from __future__ import annotations

from PySide6.QtCore import Qt

from possuggest.services.pin import MAX_TRIES, PinGuard
from possuggest.ui.console import find_console
from possuggest.ui.console.pin_dialog import PinDialog
from possuggest.ui.console.window import ManagerConsole

WAIT_MS = 60_000


class Clocks:
    def __init__(self) -> None:
        self.mono, self.wall = 500.0, 1_800_000_000.0

    def advance(self, s: float) -> None:
        self.mono += s
        self.wall += s


def _guard(ctx, clocks: Clocks) -> PinGuard:
    return PinGuard(ctx.state, clock=lambda: clocks.mono, wall=lambda: clocks.wall)


def _open(window, controller, guard) -> PinDialog:
    from possuggest.ui.console import open_console

    dialog = open_console(controller, window, guard)
    assert isinstance(dialog, PinDialog) and dialog.isVisible()
    return dialog


def _type(qtbot, dialog: PinDialog, pin: str, confirm: str | None = None) -> None:
    dialog.pin.clear()
    qtbot.keyClicks(dialog.pin, pin)
    if confirm is not None:
        dialog.confirm.clear()
        qtbot.keyClicks(dialog.confirm, confirm)
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)


def test_cashier_menu_has_no_manager_actions(panel) -> None:
    controller, window, _, _ = panel
    texts = [a.text() for a in window.menu_button.menu().actions() if a.text()]
    assert "Manager console…" in texts
    assert not [t for t in texts if "efresh" in t or "ollback" in t or "ule" in t]
    assert window.act_console.shortcut().toString() == "Ctrl+M"
    assert window.act_console in window.actions()       # works with the menu closed


def test_ctrl_m_first_use_sets_the_pin_then_opens_the_console(panel, qtbot) -> None:
    controller, window, _, ctx = panel
    assert ctx.state.manager_pin is None
    window.focus.borrow()                  # as a tap on the scan box does
    qtbot.waitUntil(window.isActiveWindow, timeout=WAIT_MS)
    qtbot.keyClick(window.scan, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.findChild(PinDialog) is not None
                    and window.findChild(PinDialog).isVisible(), timeout=WAIT_MS)
    dialog = window.findChild(PinDialog)
    assert dialog.mode == "set" and dialog.confirm.isVisible()
    _type(qtbot, dialog, "2580", "2581")
    assert "differ" in dialog.message.text() and dialog.console is None
    _type(qtbot, dialog, "25", "25")
    assert "4 to 12 digits" in dialog.message.text()
    _type(qtbot, dialog, "2580", "2580")
    qtbot.waitUntil(lambda: dialog.console is not None, timeout=WAIT_MS)
    console = dialog.console
    assert isinstance(console, ManagerConsole) and console.isVisible()
    assert console.isWindow()                      # its own top-level window
    assert {"Settings", "Refresh"} <= set(console.titles())
    assert "2580" not in ctx.paths.state_file.read_text(encoding="utf-8")
    # while it is open, Ctrl+M brings it forward instead of asking again
    assert window.open_console() is console
    # Lock closes it; the next opening asks for the PIN
    qtbot.mouseClick(console.lock_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: find_console(window) is None, timeout=WAIT_MS)
    again = window.open_console()
    assert isinstance(again, PinDialog) and again.mode == "enter"
    assert not again.confirm.isVisible()
    again.reject()


def test_right_and_wrong_pin(panel, qtbot) -> None:
    controller, window, _, ctx = panel
    clocks = Clocks()
    _guard(ctx, clocks).set_pin("4711")
    dialog = _open(window, controller, _guard(ctx, clocks))
    _type(qtbot, dialog, "4712")
    assert dialog.message.text() == "Wrong PIN — 4 tries left"
    assert dialog.console is None and dialog.pin.text() == ""
    _type(qtbot, dialog, "4711")
    qtbot.waitUntil(lambda: dialog.console is not None, timeout=WAIT_MS)
    assert dialog.console.isVisible()
    assert ctx.state.pin_lockout == {}               # a right PIN forgets the wrong one
    dialog.console.close()


def test_five_wrong_pins_lock_it_for_sixty_seconds(panel, qtbot) -> None:
    controller, window, _, ctx = panel
    clocks = Clocks()
    _guard(ctx, clocks).set_pin("4711")
    dialog = _open(window, controller, _guard(ctx, clocks))
    for _ in range(MAX_TRIES):
        _type(qtbot, dialog, "0000")
    assert dialog.message.text() == "Too many wrong PINs: try again in 60 s"
    assert not dialog.ok_button.isEnabled() and not dialog.pin.isEnabled()
    dialog.reject()
    # reopening the dialog does not lift the lock
    clocks.advance(20)
    dialog = _open(window, controller, _guard(ctx, clocks))
    assert dialog.message.text() == "Too many wrong PINs: try again in 40 s"
    assert not dialog.ok_button.isEnabled()
    dialog.submit()                                  # even the right PIN is not checked now
    assert dialog.console is None
    clocks.advance(40)
    qtbot.waitUntil(lambda: dialog.ok_button.isEnabled(), timeout=WAIT_MS)   # its 1 s tick
    assert dialog.message.text() == ""
    _type(qtbot, dialog, "4711")
    qtbot.waitUntil(lambda: dialog.console is not None, timeout=WAIT_MS)
    dialog.console.close()


def test_change_pin_from_the_console(panel, qtbot) -> None:
    from possuggest.ui.console.pin_dialog import ChangePinDialog

    controller, window, _, ctx = panel
    clocks = Clocks()
    guard = _guard(ctx, clocks)
    guard.set_pin("4711")
    console = ManagerConsole(controller, window, guard)
    console.show()
    console.change_pin()
    dialog = console.findChild(ChangePinDialog)
    qtbot.keyClicks(dialog.current, "1111")
    qtbot.keyClicks(dialog.new, "98765")
    qtbot.keyClicks(dialog.again, "98765")
    dialog.submit()
    assert dialog.message.text() == "The current PIN is wrong (4 tries left)"
    qtbot.keyClicks(dialog.current, "4711")
    dialog.submit()
    assert dialog.result() == dialog.DialogCode.Accepted
    assert guard.verify("98765")
    console.close()


def test_the_console_closes_with_the_panel(panel, qtbot, harness) -> None:
    controller, window, _, ctx = panel
    console = ManagerConsole(controller, window)
    console.show()
    qtbot.waitExposed(console)
    window.close()
    assert console.closed


def test_a_missing_tab_module_is_left_out(panel, monkeypatch, caplog) -> None:
    from possuggest.ui.console import window as console_window

    controller, window, _, _ = panel
    monkeypatch.setattr(console_window, "TABS", (
        ("no_such_tab", "NoSuchTab", "Missing"), ("tuning", "TuningTab", "Settings")))
    console = ManagerConsole(controller, window)
    assert console.titles() == ["Settings"]
    assert "console tab 'Missing' left out" in caplog.text
    console.close()
