"""The manager console: a separate top-level window with one tab per job, opened from the
panel's menu ("Manager console…", Ctrl+M) once the manager PIN is entered.

The tab modules are imported when the console opens (never at the panel's start-up), and each
tab is built the first time it is shown, so the console opens at once and a heavy tab (charts)
costs nothing until it is wanted. A tab module that is missing or fails to import is left out
with a log line; a tab that fails to build shows why in its place.

A tab may define ``shutdown()``: it is called when the console closes (stop its workers).
Closing the console locks it again: the next opening asks for the PIN.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from possuggest.services.pin import PinGuard
from possuggest.ui.console.style import console_qss
from possuggest.ui.theme import palette_for, qt_palette

log = logging.getLogger(__name__)

#: (module in possuggest.ui.console, class, tab title), in the order shown
TABS: tuple[tuple[str, str, str], ...] = (
    ("rules_tab", "RulesTab", "Rules"),
    ("whatif", "WhatIfTab", "What-if"),
    ("dashboard", "DashboardTab", "Earnings"),
    ("tuning", "TuningTab", "Settings"),
    ("refresh_tab", "RefreshTab", "Refresh"),
)


def _tab_classes() -> list[tuple[str, type[QWidget]]]:
    """(title, class) of every tab whose module imports."""
    found: list[tuple[str, type[QWidget]]] = []
    for module, name, title in TABS:
        try:
            mod = importlib.import_module(f"possuggest.ui.console.{module}")
            cls = getattr(mod, name)
        except ModuleNotFoundError as exc:
            log.warning("console tab %r left out: %s", title, exc)
            continue
        except Exception:  # a broken tab must not keep the manager out of the others
            log.exception("console tab %r left out: its module failed to import", title)
            continue
        found.append((title, cls))
    return found


class _Slot(QWidget):
    """A tab's place: empty until the tab is first shown, then the tab itself."""

    def __init__(self, title: str, cls: type[QWidget]) -> None:
        super().__init__()
        self.title = title
        self.cls = cls
        self.widget: QWidget | None = None
        self.failed: str | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)

    def build(self, controller: Any) -> QWidget | None:
        if self.widget is None and self.failed is None:
            try:
                self.widget = self.cls(controller, self)
            except Exception as exc:
                log.exception("console tab %r could not be opened", self.title)
                self.failed = f"{type(exc).__name__}: {exc}"
                note = QLabel(f"The {self.title} tab could not be opened: {self.failed}. "
                              "The log has the details.")
                note.setObjectName("status")
                note.setProperty("level", "error")
                note.setWordWrap(True)
                self.layout().addWidget(note)
                self.layout().addStretch(1)
                return None
            self.layout().addWidget(self.widget)
        return self.widget


class ManagerConsole(QWidget):
    """The console window. ``parent`` is the panel (the console closes with it)."""

    def __init__(self, controller: Any, parent: QWidget | None = None,
                 guard: PinGuard | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.controller = controller
        self.guard = guard or PinGuard(controller.ctx.state)
        self.closed = False
        self.setObjectName("managerConsole")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowTitle("possuggest — Manager console")
        self.resize(1100, 760)
        palette = palette_for(controller.look().theme)
        self.setPalette(qt_palette(palette))
        self.setStyleSheet(console_qss(palette))

        root = QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)
        root.addWidget(self._build_header())
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.slots: dict[str, _Slot] = {}
        for title, cls in _tab_classes():
            slot = _Slot(title, cls)
            self.slots[title] = slot
            self.tabs.addTab(slot, title)
        self.tabs.currentChanged.connect(self._on_tab)
        root.addWidget(self.tabs, 1)
        QShortcut(QKeySequence("Ctrl+W"), self, activated=self.close)
        if parent is not None:
            parent.installEventFilter(self)     # the panel closing closes the console
        if self.tabs.count():
            self._on_tab(self.tabs.currentIndex())
        log.info("manager console opened (%s)", ", ".join(self.slots) or "no tabs")

    def _build_header(self) -> QFrame:
        header = QFrame()
        header.setObjectName("consoleHeader")
        row = QHBoxLayout(header)
        row.setContentsMargins(18, 10, 12, 10)
        titles = QVBoxLayout()
        titles.setSpacing(0)
        title = QLabel("Manager console")
        title.setObjectName("consoleTitle")
        titles.addWidget(title)
        plan = self.controller.plan
        where = "Demo store" if plan.demo else plan.till_path.stem
        subtitle = QLabel(f"{where} · register {plan.register}")
        subtitle.setObjectName("consoleSubtitle")
        titles.addWidget(subtitle)
        row.addLayout(titles, 1)
        self.change_pin_button = QPushButton("Change PIN…")
        self.change_pin_button.clicked.connect(self.change_pin)
        row.addWidget(self.change_pin_button)
        self.lock_button = QPushButton("Lock")
        self.lock_button.setToolTip("Close the console; the PIN is asked again next time "
                                    "(Ctrl+W)")
        self.lock_button.clicked.connect(self.close)
        row.addWidget(self.lock_button)
        return header

    # -- tabs -------------------------------------------------------------------------------
    def _on_tab(self, index: int) -> None:
        slot = self.tabs.widget(index)
        if isinstance(slot, _Slot):
            slot.build(self.controller)

    def titles(self) -> list[str]:
        return [self.tabs.tabText(i) for i in range(self.tabs.count())]

    def tab(self, title: str) -> QWidget | None:
        """The tab titled ``title`` (built now if it was not yet); None when absent."""
        slot = self.slots.get(title)
        return None if slot is None else slot.build(self.controller)

    def show_tab(self, title: str) -> QWidget | None:
        slot = self.slots.get(title)
        if slot is None:
            return None
        self.tabs.setCurrentWidget(slot)
        return slot.build(self.controller)

    def change_pin(self) -> None:
        from possuggest.ui.console.pin_dialog import ChangePinDialog

        dialog = ChangePinDialog(self.guard, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    # -- closing ----------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if watched is self.parent() and event.type() == QEvent.Type.Close and not self.closed:
            self.close()
        return False

    def shutdown(self) -> None:
        """Stop every tab's work (idempotent)."""
        if self.closed:
            return
        self.closed = True
        parent = self.parent()
        if parent is not None:
            parent.removeEventFilter(self)
        for slot in self.slots.values():
            stop = getattr(slot.widget, "shutdown", None)
            if callable(stop):
                try:
                    stop()
                except Exception:
                    log.exception("console tab %r did not stop cleanly", slot.title)
        log.info("manager console locked")

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.shutdown()
        super().closeEvent(event)


__all__ = ["ManagerConsole", "TABS"]
