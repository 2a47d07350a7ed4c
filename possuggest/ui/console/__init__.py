"""The manager console: rules, what-if preview, earnings, settings and refresh, behind the
manager PIN. Opened from the panel's menu; nothing here is imported at the panel's start-up.

:func:`open_console` asks for the PIN (or has the manager choose one on first use) and then
shows :class:`~possuggest.ui.console.window.ManagerConsole`; a console already open is brought
to the front instead.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

log = logging.getLogger(__name__)

_kept: set[Any] = set()      # consoles opened without a parent window (tests, scripts)


def find_console(parent: QWidget | None) -> Any:
    """The console open over ``parent`` (the panel), or None."""
    from possuggest.ui.console.window import ManagerConsole

    if parent is None:
        return None
    for child in parent.findChildren(ManagerConsole):
        if not child.closed:
            return child
    return None


def open_console(controller: Any, parent: QWidget | None = None, guard: Any = None) -> Any:
    """Ask for the PIN, then open the console over ``parent``. Returns the PIN dialog (its
    ``console`` is set once unlocked), or the console already open."""
    from possuggest.services.pin import PinGuard
    from possuggest.ui.console.pin_dialog import PinDialog
    from possuggest.ui.console.style import console_qss
    from possuggest.ui.console.window import ManagerConsole
    from possuggest.ui.theme import palette_for

    existing = find_console(parent)
    if existing is not None:
        existing.showNormal()
        existing.raise_()
        existing.activateWindow()
        return existing
    guard = guard or PinGuard(controller.ctx.state)
    dialog = PinDialog(guard, parent)
    dialog.setStyleSheet(console_qss(palette_for(controller.look().theme)))
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def unlocked() -> None:
        console = ManagerConsole(controller, parent, guard)
        dialog.console = console
        if parent is None:
            _kept.add(console)
            console.destroyed.connect(lambda *_: _kept.discard(console))
        console.show()
        console.raise_()
        console.activateWindow()

    dialog.unlocked.connect(unlocked)
    dialog.open()
    return dialog


__all__ = ["find_console", "open_console"]
