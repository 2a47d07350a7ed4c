"""The scan box: keyboard-wedge scanners type a code and Enter; cashiers can also type part of
a product name and pick it from the completer. Either adds the item to the current basket.

The panel never takes keyboard focus by itself (see focus.py): a tap on the scan box asks for
it (``tapped``), each key keeps it a little longer (``keyed``)."""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QSize, QStringListModel, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeyEvent, QMouseEvent
from PySide6.QtWidgets import QCompleter, QLineEdit, QWidget

from possuggest.ui.icons import icon
from possuggest.ui.theme import LIGHT, Palette

log = logging.getLogger(__name__)


def completion_text(name: str, sku: str) -> str:
    return f"{name} · {sku}"


class ScanBox(QLineEdit):
    """Emits ``submitted(text)`` on Enter or when a completion is picked, then clears."""

    submitted = Signal(str)
    escapePressed = Signal()
    tapped = Signal()               # the cashier tapped the box: lend it keyboard focus
    keyed = Signal()                # a key while it has focus

    def __init__(self, palette: Palette = LIGHT, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("scanBox")
        self.setPlaceholderText("Scan or type an item")
        self.setClearButtonEnabled(False)
        self.setAccessibleName("Scan or search")
        self._model = QStringListModel(self)
        self.completer_ = QCompleter(self._model, self)
        self.completer_.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer_.setFilterMode(Qt.MatchFlag.MatchContains)
        self.completer_.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.completer_.setMaxVisibleItems(8)
        self.completer_.popup().setObjectName("completerPopup")
        self.setCompleter(self.completer_)
        self.completer_.activated[str].connect(self._picked)
        self._icon_action = QAction(self)
        self.addAction(self._icon_action, QLineEdit.ActionPosition.LeadingPosition)
        self.returnPressed.connect(self._enter)
        self._last_submit = ""
        self.set_palette(palette)

    def set_products(self, products: dict[str, Any]) -> None:
        items = sorted((completion_text(p.name, sku) for sku, p in products.items()
                        if getattr(p, "active", True)), key=str.casefold)
        self._model.setStringList(items)

    def set_palette(self, palette: Palette) -> None:
        self._icon_action.setIcon(icon("barcode", palette.text_faint))

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(300, super().sizeHint().height())

    def _picked(self, text: str) -> None:
        """A completion was chosen (click, or Enter on a highlighted row). Enter has already
        fired returnPressed with the same text: submit it only once."""
        if text == self._last_submit:
            self._last_submit = ""
        else:
            self.submitted.emit(text)
        # the line edit writes the completion text in around this signal: clear now and on
        # the next turn of the event loop (only after a pick, never while a scanner types)
        self.clear()
        QTimer.singleShot(0, self, self.clear)

    def _enter(self) -> None:
        text = self.text().strip()
        self.clear()
        if text:
            self._last_submit = text
            self.submitted.emit(text)
            QTimer.singleShot(0, self, self._forget_submit)

    def _forget_submit(self) -> None:
        self._last_submit = ""

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self.tapped.emit()
        super().mousePressEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        self.keyed.emit()
        if event.key() == Qt.Key.Key_Escape and not self.completer_.popup().isVisible():
            if self.text():
                self.clear()
            else:
                self.escapePressed.emit()
            event.accept()
            return
        super().keyPressEvent(event)
