"""Small building blocks of the panel: an elided one-line label, a vector icon widget and the
banner that reports a problem (or good news) above the suggestions."""

from __future__ import annotations

import logging

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QToolButton,
    QToolTip,
    QWidget,
)

from possuggest.ui.icons import icon, paint_icon
from possuggest.ui.theme import Palette, repolish

log = logging.getLogger(__name__)


class ElidedLabel(QLabel):
    """A one-line label that shortens its text with an ellipsis to fit its width."""

    def __init__(self, text: str = "", mode: Qt.TextElideMode = Qt.TextElideMode.ElideRight,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = text
        self._mode = mode
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(20)
        self._apply()

    def setText(self, text: str) -> None:  # noqa: N802 - Qt naming
        if text != self._full:
            self._full = text
            self._apply()

    def fullText(self) -> str:  # noqa: N802
        return self._full

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._apply()

    def changeEvent(self, event: object) -> None:  # noqa: N802
        super().changeEvent(event)  # type: ignore[arg-type]
        self._apply()

    def _apply(self) -> None:
        width = self.width() if self.width() > 30 else 10_000
        shown = self.fontMetrics().elidedText(self._full, self._mode, width)
        if shown != super().text():
            super().setText(shown)
        self.setToolTip(self._full if shown != self._full else "")

    def sizeHint(self) -> QSize:  # noqa: N802
        hint = super().sizeHint()
        return QSize(min(hint.width(), 200), hint.height())


class IconWidget(QWidget):
    """A vector icon at a fixed size, in a given colour."""

    def __init__(self, name: str, size: int, color: QColor | str = "#888",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.color = QColor(color)
        self.setFixedSize(size, size)
        self.setAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)

    def set_icon(self, name: str, color: QColor | str) -> None:
        self.name = name
        self.color = QColor(color)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        paint_icon(painter, self.name, QRectF(self.rect()), self.color)
        painter.end()


class Banner(QFrame):
    """One message above the suggestions: info, warn, error or ok; closable when ``closable``.
    A folded banner (``set_folded``) keeps to one line, the whole text in its tooltip, when the
    panel needs the room for its cards."""

    closed = Signal(str)

    ICON = {"info": "info", "ok": "check", "warn": "alert", "error": "alert"}

    def __init__(self, key: str, level: str, text: str, palette: Palette, closable: bool = True,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.key = key
        self.setObjectName("banner")
        self.setProperty("level", level)
        self._palette = palette
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 8, 6, 8)
        row.setSpacing(8)
        self.icon = IconWidget(self.ICON.get(level, "info"), 18, self._icon_color(level))
        row.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        self.label = QLabel(text)
        self.label.setObjectName("bannerText")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row.addWidget(self.label, 1)
        self.line = ElidedLabel(text.replace("\n", " "))
        self.line.setObjectName("bannerText")
        self.line.hide()
        row.addWidget(self.line, 1)
        self.folded = False
        self.close_button: QToolButton | None = None
        if closable:
            btn = QToolButton()
            btn.setObjectName("bannerClose")
            btn.setIcon(icon("close", palette.text_muted))
            btn.setIconSize(QSize(16, 16))
            btn.setCursor(Qt.CursorShape.PointingHandCursor)
            btn.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            btn.setToolTip("Hide this message")
            btn.clicked.connect(lambda: self.closed.emit(self.key))
            row.addWidget(btn, 0, Qt.AlignmentFlag.AlignTop)
            self.close_button = btn

    def _icon_color(self, level: str) -> str:
        p = self._palette
        return {"info": p.info, "ok": p.ok, "warn": p.warn, "error": p.error}.get(level, p.info)

    @property
    def level(self) -> str:
        return str(self.property("level"))

    @property
    def text(self) -> str:
        return self.label.text()

    def set_folded(self, folded: bool) -> None:
        """One line (elided, the whole text as tooltip) or the whole message."""
        if folded != self.folded:
            self.folded = folded
            self.label.setVisible(not folded)
            self.line.setVisible(folded)
            self.line.setToolTip(self.label.text() if folded else "")

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        """A tap on a folded banner shows its whole text (a touch screen has no hover)."""
        if self.folded:
            QToolTip.showText(event.globalPosition().toPoint(), self.label.text(), self)
        super().mousePressEvent(event)

    def update_message(self, level: str, text: str) -> None:
        if text != self.label.text():
            self.label.setText(text)
            self.line.setText(text.replace("\n", " "))
        if level != self.level:
            self.setProperty("level", level)
            self.icon.set_icon(self.ICON.get(level, "info"), self._icon_color(level))
            repolish(self)

    def set_palette(self, palette: Palette) -> None:
        self._palette = palette
        self.icon.set_icon(self.icon.name, self._icon_color(self.level))
        if self.close_button is not None:
            self.close_button.setIcon(icon("close", palette.text_muted))
