"""Suggestion cards: kind badge, name, price (an upgrade shows +difference), stock and the
one-line reason the cashier can say aloud, with a large Accept button and a dismiss (×).

``CardList`` keeps a fixed set of card widgets and only updates their text, so a basket
change repaints in a few milliseconds.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFocusEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayout,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from possuggest.serving.engine import Suggestion
from possuggest.ui.icons import icon
from possuggest.ui.theme import LIGHT, Palette, repolish
from possuggest.ui.widgets import ElidedLabel

log = logging.getLogger(__name__)

LOW_STOCK = 3


def stock_text(stock: int | None) -> tuple[str, bool]:
    """("12 in stock", False) or ("Only 2 left", True); empty when the till has no stock."""
    if stock is None:
        return "", False
    if stock <= 0:
        return "Out of stock", True
    if stock <= LOW_STOCK:
        return f"Only {stock} left", True
    return f"{stock:,} in stock", False


def _invalidate(layout: QLayout | None) -> None:
    if layout is None:
        return
    for i in range(layout.count()):
        item = layout.itemAt(i)
        child = item.layout() if item is not None else None
        if child is not None:
            _invalidate(child)
    layout.invalidate()


class SuggestionCard(QFrame):
    """One suggestion. Emits ``accepted(sku)`` / ``dismissed(sku)`` with the action's source."""

    accepted = Signal(str, str)     # sku, source ('tap')
    dismissed = Signal(str, str)

    def __init__(self, index: int, palette: Palette = LIGHT, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.index = index
        self.suggestion: Suggestion | None = None
        self._palette = palette
        self._compact = False
        self._hover = False
        self.setObjectName("card")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_Hover, True)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

        outer = QVBoxLayout(self)
        outer.setSpacing(0)
        self._outer = outer

        # row 1: badge · key hint · (compact accept) · dismiss, the × in the card's corner
        top = QHBoxLayout()
        top.setSpacing(6)
        self.badge = QLabel()
        self.badge.setObjectName("badge")
        font = self.badge.font()
        font.setLetterSpacing(font.SpacingType.AbsoluteSpacing, 0.6)
        self.badge.setFont(font)
        top.addWidget(self.badge, 0, Qt.AlignmentFlag.AlignVCenter)
        top.addStretch(1)
        self.keycap = QLabel(f"F{index + 1}")
        self.keycap.setObjectName("keycap")
        self.keycap.setToolTip(f"Press F{index + 1} to mark accepted")
        top.addWidget(self.keycap, 0, Qt.AlignmentFlag.AlignVCenter)
        self.quick_accept = QToolButton()
        self.quick_accept.setObjectName("dismiss")
        self.quick_accept.setToolTip(f"Customer takes it (F{index + 1})")
        self.quick_accept.setAccessibleName("Accept")
        self.quick_accept.setCursor(Qt.CursorShape.PointingHandCursor)
        self.quick_accept.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.quick_accept.clicked.connect(self._accept_clicked)
        top.addWidget(self.quick_accept, 0, Qt.AlignmentFlag.AlignVCenter)
        self.dismiss_button = QToolButton()
        self.dismiss_button.setObjectName("dismiss")
        self.dismiss_button.setToolTip("Not for this customer (Esc)")
        self.dismiss_button.setAccessibleName("Dismiss")
        self.dismiss_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.dismiss_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.dismiss_button.clicked.connect(self._dismiss_clicked)
        top.addWidget(self.dismiss_button, 0, Qt.AlignmentFlag.AlignVCenter)
        outer.addLayout(top)

        content = QVBoxLayout()
        content.setSpacing(4)
        self._content = content
        # row 2: name and price (the name wraps; one elided line when compact)
        mid = QHBoxLayout()
        mid.setSpacing(12)
        self.name = QLabel()
        self.name.setObjectName("cardName")
        self.name.setWordWrap(True)
        self.name.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        mid.addWidget(self.name, 1, Qt.AlignmentFlag.AlignTop)
        self.name_line = ElidedLabel()
        self.name_line.setObjectName("cardName")
        mid.addWidget(self.name_line, 1, Qt.AlignmentFlag.AlignVCenter)
        self.price = QLabel()
        self.price.setObjectName("cardPrice")
        self.price.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        mid.addWidget(self.price, 0, Qt.AlignmentFlag.AlignTop)
        content.addLayout(mid)

        # row 3: the reason (wrapped; one elided line when compact)
        self.reason = QLabel()
        self.reason.setObjectName("cardReason")
        self.reason.setWordWrap(True)
        self.reason.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        content.addWidget(self.reason)
        self.reason_line = ElidedLabel()
        self.reason_line.setObjectName("cardReason")
        content.addWidget(self.reason_line)

        # row 4: stock and the big Accept button
        self.bottom = QWidget()
        bottom = QHBoxLayout(self.bottom)
        bottom.setContentsMargins(0, 6, 0, 0)
        bottom.setSpacing(8)
        self.stock = QLabel()
        self.stock.setObjectName("cardStock")
        bottom.addWidget(self.stock, 1, Qt.AlignmentFlag.AlignVCenter)
        self.accept_button = QPushButton("Accept")
        self.accept_button.setObjectName("accept")
        self.accept_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.accept_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.accept_button.setToolTip(f"Customer takes it (F{index + 1})")
        self.accept_button.setFixedHeight(42)
        self.accept_button.setProperty("primary", index == 0)   # the top card leads
        self.accept_button.clicked.connect(self._accept_clicked)
        bottom.addWidget(self.accept_button, 0, Qt.AlignmentFlag.AlignVCenter)
        content.addWidget(self.bottom)
        outer.addLayout(content)
        self.set_palette(palette)
        self.set_compact(False)

    # -- content --------------------------------------------------------------------------
    def set_suggestion(self, sug: Suggestion) -> None:
        same = self.suggestion == sug
        self.suggestion = sug
        if same:
            return
        kind = "upgrade" if sug.kind == "upgrade" else "cross"
        self.badge.setText(sug.badge.upper())
        if self.badge.property("kind") != kind:
            self.badge.setProperty("kind", kind)
            self.price.setProperty("kind", kind)
            repolish(self.badge)
            repolish(self.price)
        self.name.setText(sug.name)
        self.name_line.setText(sug.name)
        self.price.setText(sug.price_text)
        self.price.setToolTip(f"{sug.price_text} on top of the current item" if kind == "upgrade"
                              else "")
        self.reason.setText(sug.reason)
        self.reason_line.setText(sug.reason)
        detail = getattr(sug, "detail", "") or ""
        self.reason.setToolTip(detail)
        self.reason_line.setToolTip(detail)
        text, low = stock_text(sug.stock)
        self.stock.setText(text)
        if bool(self.stock.property("low")) != low:
            self.stock.setProperty("low", low)
            repolish(self.stock)
        self.setAccessibleName(f"{sug.badge}: {sug.name}, {sug.price_text}. {sug.reason}")
        self.update()

    @property
    def sku(self) -> str | None:
        return None if self.suggestion is None else self.suggestion.sku

    # -- look -----------------------------------------------------------------------------
    def set_palette(self, palette: Palette) -> None:
        self._palette = palette
        self.dismiss_button.setIcon(icon("close", palette.text_faint))
        self.quick_accept.setIcon(icon("check", palette.accent))
        self.accept_button.setIcon(icon("check", palette.accent_text if self.index == 0
                                        else palette.accent))
        self.update()

    def set_compact(self, compact: bool) -> None:
        self._compact = compact
        if compact:
            self._outer.setContentsMargins(16, 4, 4, 10)
            self._content.setContentsMargins(0, 0, 10, 0)
            self._content.setSpacing(2)
        else:
            self._outer.setContentsMargins(18, 4, 4, 12)
            self._content.setContentsMargins(0, 0, 10, 0)
            self._content.setSpacing(4)
        self.bottom.setVisible(not compact)
        self.quick_accept.setVisible(compact)
        self.reason.setVisible(not compact)
        self.reason_line.setVisible(compact)
        self.name.setVisible(not compact)
        self.name_line.setVisible(compact)
        side = 36 if compact else 40
        for b in (self.dismiss_button, self.quick_accept):
            b.setFixedSize(side, side)
        self.dismiss_button.setIconSize(QSize(18, 18))
        self.quick_accept.setIconSize(QSize(20, 20))
        self.accept_button.setIconSize(QSize(18, 18))
        self.updateGeometry()

    def needed_height(self, width: int) -> int:
        """The height this card needs at ``width`` (wrapped name and reason included)."""
        _invalidate(self.layout())      # nested layouts cache height-for-width until activated
        h = self.heightForWidth(width)
        return h if h > 0 else self.sizeHint().height()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        p = self._palette
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        radius = 10.0
        path = QPainterPath()
        path.addRoundedRect(rect, radius, radius)
        painter.fillPath(path, QColor(p.surface))
        # the kind's accent stripe along the left edge, clipped to the rounded card
        kind = self.suggestion.kind if self.suggestion is not None else "cross"
        stripe = QColor(p.upgrade if kind == "upgrade" else p.accessory)
        painter.save()
        painter.setClipPath(path)
        painter.fillRect(QRectF(rect.left(), rect.top(), 5, rect.height()), stripe)
        painter.restore()
        if self.hasFocus():
            pen = QPen(QColor(p.accent), 2)
            painter.setPen(pen)
            painter.drawRoundedRect(rect.adjusted(1, 1, -1, -1), radius - 1, radius - 1)
        else:
            pen = QPen(QColor(p.border_strong if self.underMouse() else p.border), 1)
            painter.setPen(pen)
            painter.drawPath(path)
        painter.end()

    def focusInEvent(self, event: QFocusEvent) -> None:  # noqa: N802
        super().focusInEvent(event)
        self.update()

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802
        super().focusOutEvent(event)
        self.update()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        super().mousePressEvent(event)

    # -- actions --------------------------------------------------------------------------
    def _accept_clicked(self) -> None:
        if self.sku is not None:
            self.accepted.emit(self.sku, "tap")

    def _dismiss_clicked(self) -> None:
        if self.sku is not None:
            self.dismissed.emit(self.sku, "tap")


class CardList(QWidget):
    """Up to ``max_cards`` cards, top to bottom; emits ``painted(seq)`` after each repaint
    that shows a new set of suggestions (the benchmark waits for it)."""

    accepted = Signal(str, str)
    dismissed = Signal(str, str)
    painted = Signal(int)

    def __init__(self, max_cards: int = 3, palette: Palette = LIGHT,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("cardList")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(10)
        self.cards: list[SuggestionCard] = []
        self._palette = palette
        self._compact = False
        self._pending_seq: int | None = None
        self.shown_seq = -1
        self.ensure_cards(max_cards)

    def ensure_cards(self, n: int) -> None:
        while len(self.cards) < n:
            card = SuggestionCard(len(self.cards), self._palette)
            card.set_compact(self._compact)
            card.accepted.connect(self.accepted)
            card.dismissed.connect(self.dismissed)
            card.hide()
            self._layout.addWidget(card)
            self.cards.append(card)

    def show_suggestions(self, suggestions: tuple[Suggestion, ...] | list[Suggestion],
                         seq: int) -> None:
        seen: set[str] = set()
        suggestions = [s for s in suggestions if not (s.sku in seen or seen.add(s.sku))]
        self.ensure_cards(len(suggestions))
        for k, card in enumerate(self.cards):
            if k < len(suggestions):
                card.set_suggestion(suggestions[k])
                card.show()
            else:
                if card.hasFocus():
                    card.clearFocus()
                card.suggestion = None
                card.hide()
        self._pending_seq = seq
        self.relayout()
        self.update()

    def relayout(self) -> None:
        """Give each visible card exactly the height its wrapped text needs at this width, so
        a card is never squeezed (the panel scrolls instead)."""
        width = self.width()
        if width < 50:
            return
        for card in self.cards:
            if card.suggestion is not None:
                h = card.needed_height(width)
                if card.height() != h or card.minimumHeight() != h:
                    card.setFixedHeight(h)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self.relayout()

    def visible_cards(self) -> list[SuggestionCard]:
        return [c for c in self.cards if c.suggestion is not None and not c.isHidden()]

    def set_palette(self, palette: Palette) -> None:
        self._palette = palette
        for c in self.cards:
            c.set_palette(palette)

    def set_compact(self, compact: bool) -> None:
        self._compact = compact
        self._layout.setSpacing(6 if compact else 10)
        for c in self.cards:
            c.set_compact(compact)
        self.relayout()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        super().paintEvent(event)
        if self._pending_seq is not None:
            seq, self._pending_seq = self._pending_seq, None
            self.shown_seq = seq
            self.painted.emit(seq)
