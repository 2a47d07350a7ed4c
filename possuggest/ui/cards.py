"""Suggestion cards: kind badge, name, price (an upgrade shows +difference), stock and the
one-line reason the cashier can say aloud, with a large Accept button and a dismiss (×).

A card the cashier accepted turns into a ring-up card: the item's code, large, and as a Code 128
barcode to scan off the screen, until the sale holds the item; then it confirms ("Rung up ✓").

Cards shrink to fit the panel (``set_density``): FULL wraps name and reason and shows stock and
the big Accept button; SIDE moves Accept beside the card as a ✓ button and hides stock; SNUG
keeps the reason to one line; TIGHT keeps the name to one line too; BARE also drops the barcode
(the item code stays, large). Compact cards start at SNUG.

``CardList`` keeps a fixed set of card widgets and only updates their text, so a basket
change repaints in a few milliseconds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFocusEvent, QPainter, QPainterPath, QPaintEvent, QPen
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
from possuggest.ui.barcode import BarcodeWidget
from possuggest.ui.icons import icon
from possuggest.ui.theme import LIGHT, Palette, repolish
from possuggest.ui.widgets import ElidedLabel

log = logging.getLogger(__name__)

LOW_STOCK = 3
FULL, SIDE, SNUG, TIGHT, BARE = range(5)
DENSITIES = (FULL, SIDE, SNUG, TIGHT, BARE)
TOUCH = 44                  # px: the smallest tap target on a card
KEYS = 3                    # F1-F3


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


@dataclass(frozen=True)
class CardEntry:
    """What one card shows: a suggestion to offer, one accepted and waiting to be rung up
    ("ring"), or one just rung up ("done")."""

    suggestion: Suggestion
    mode: str = "suggest"       # 'suggest' | 'ring' | 'done'
    key: int | None = None      # 0..2 for F1-F3 (suggestion cards only)


class SuggestionCard(QFrame):
    """One card. Emits ``accepted`` / ``dismissed`` (sku, source) for a suggestion and
    ``withdrawn(sku)`` when the × of an accepted card says the customer changed their mind."""

    accepted = Signal(str, str)     # sku, source ('tap')
    dismissed = Signal(str, str)
    withdrawn = Signal(str)

    def __init__(self, index: int, palette: Palette = LIGHT, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.index = index
        self.suggestion: Suggestion | None = None
        self.mode = "suggest"
        self.key: int | None = None
        self.density = FULL
        self.keys_shown = False         # key caps only while the panel has the keyboard
        self._width = 0                 # the width arrange() last fitted the card to
        self._heights: dict[tuple[object, ...], int] = {}
        self._palette = palette
        self.setObjectName("card")
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)     # a tap never takes keyboard focus
        self.setAttribute(Qt.WidgetAttribute.WA_Hover, True)
        # the list's width, never wider: arrange() fits the parts to it
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

        outer = QHBoxLayout(self)
        outer.setContentsMargins(18, 8, 6, 10)
        outer.setSpacing(6)
        left = QVBoxLayout()
        left.setSpacing(4)
        self._left = left

        # badge and key cap
        top = QHBoxLayout()
        top.setSpacing(8)
        self.badge = QLabel()
        self.badge.setObjectName("badge")
        font = self.badge.font()
        font.setLetterSpacing(font.SpacingType.AbsoluteSpacing, 0.6)
        self.badge.setFont(font)
        top.addWidget(self.badge, 0, Qt.AlignmentFlag.AlignVCenter)
        self.keycap = QLabel()
        self.keycap.setObjectName("keycap")
        top.addWidget(self.keycap, 0, Qt.AlignmentFlag.AlignVCenter)
        top.addStretch(1)
        self.price_top = QLabel()                  # the price, here from SIDE on
        self.price_top.setObjectName("cardPrice")
        self.price_top.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        top.addWidget(self.price_top, 0, Qt.AlignmentFlag.AlignVCenter)
        left.addLayout(top)

        # name and price (the name wraps; one elided line when tight)
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
        left.addLayout(mid)

        # the reason (wrapped; one elided line from SNUG on)
        self.reason = QLabel()
        self.reason.setObjectName("cardReason")
        self.reason.setWordWrap(True)
        self.reason.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        left.addWidget(self.reason)
        self.reason_line = ElidedLabel()
        self.reason_line.setObjectName("cardReason")
        left.addWidget(self.reason_line)

        # ring-up: the code large, and as a barcode; then the confirmation
        self.code = QLabel()
        self.code.setObjectName("cardCode")
        self.code.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        left.addWidget(self.code)
        self.barcode = BarcodeWidget(56)
        left.addWidget(self.barcode)
        self.done = QLabel("Rung up ✓")
        self.done.setObjectName("cardDone")
        left.addWidget(self.done)

        # stock and the big Accept button
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
        self.accept_button.clicked.connect(self._accept_clicked)
        bottom.addWidget(self.accept_button, 0, Qt.AlignmentFlag.AlignVCenter)
        left.addWidget(self.bottom)
        outer.addLayout(left, 1)

        # the actions column: × at the top, ✓ below it from SIDE on
        right = QVBoxLayout()
        right.setSpacing(4)
        self.dismiss_button = QToolButton()
        self.dismiss_button.setObjectName("dismiss")
        self.dismiss_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.dismiss_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.dismiss_button.setFixedSize(TOUCH, TOUCH)
        self.dismiss_button.setIconSize(QSize(20, 20))
        self.dismiss_button.clicked.connect(self._dismiss_clicked)
        right.addWidget(self.dismiss_button, 0, Qt.AlignmentFlag.AlignTop)
        right.addStretch(1)
        self.quick_accept = QToolButton()
        self.quick_accept.setObjectName("quickAccept")
        self.quick_accept.setAccessibleName("Accept")
        self.quick_accept.setCursor(Qt.CursorShape.PointingHandCursor)
        self.quick_accept.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.quick_accept.setFixedSize(TOUCH, TOUCH)
        self.quick_accept.setIconSize(QSize(24, 24))
        self.quick_accept.clicked.connect(self._accept_clicked)
        right.addWidget(self.quick_accept, 0, Qt.AlignmentFlag.AlignBottom)
        outer.addLayout(right, 0)
        self._apply_mode()
        self.set_palette(palette)

    # -- content --------------------------------------------------------------------------
    def set_entry(self, entry: CardEntry) -> None:
        sug = entry.suggestion
        changed = (sug != self.suggestion or entry.mode != self.mode or entry.key != self.key)
        self.suggestion = sug
        if not changed:
            return
        self.mode, self.key = entry.mode, entry.key
        cross = "upgrade" if sug.kind == "upgrade" else "cross"
        kind = {"ring": "ring", "done": "done"}.get(entry.mode, cross)
        self.badge.setText({"ring": "RING UP", "done": "RUNG UP"}.get(entry.mode,
                                                                      sug.badge.upper()))
        if self.badge.property("kind") != kind:
            self.badge.setProperty("kind", kind)
            repolish(self.badge)
        for label in (self.price, self.price_top):
            if label.property("kind") != cross:
                label.setProperty("kind", cross)
                repolish(label)
            label.setText(sug.price_text)
            label.setToolTip(f"{sug.price_text} on top of the current item"
                             if cross == "upgrade" else "")
        self.name.setText(sug.name)
        self.name_line.setText(sug.name)
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
        self.code.setText(sug.sku)
        self.barcode.set_text(sug.sku)
        key = f"F{entry.key + 1}" if entry.key is not None else ""
        self.keycap.setText(key)
        self.keycap.setToolTip(f"Press {key} to mark accepted" if key else "")
        self.accept_button.setToolTip(f"Customer takes it ({key})" if key else "Customer takes it")
        self.quick_accept.setToolTip(self.accept_button.toolTip())
        primary = entry.key == 0
        if self.accept_button.property("primary") != primary:
            for b in (self.accept_button, self.quick_accept):
                b.setProperty("primary", primary)
                repolish(b)
            self._set_icons()
        if entry.mode == "ring":
            self.dismiss_button.setToolTip("Customer changed their mind")
            self.dismiss_button.setAccessibleName("Not taken after all")
            self.setAccessibleName(f"Ring up {sug.name}: item code {sug.sku}")
        elif entry.mode == "done":
            self.dismiss_button.setToolTip("Hide")
            self.dismiss_button.setAccessibleName("Hide")
            self.setAccessibleName(f"{sug.name} rung up")
        else:
            self.dismiss_button.setToolTip("Not for this customer (Esc)")
            self.dismiss_button.setAccessibleName("Dismiss")
            self.setAccessibleName(f"{sug.badge}: {sug.name}, {sug.price_text}. {sug.reason}")
        self._apply_mode()
        self.update()

    def set_suggestion(self, sug: Suggestion) -> None:
        """Show ``sug`` as a suggestion card keyed by its position."""
        self.set_entry(CardEntry(sug, "suggest", self.index if self.index < KEYS else None))

    def clear(self) -> None:
        self.suggestion = None
        self.key = None

    @property
    def sku(self) -> str | None:
        return None if self.suggestion is None else self.suggestion.sku

    # -- look -----------------------------------------------------------------------------
    def set_palette(self, palette: Palette) -> None:
        self._palette = palette
        self._set_icons()
        self.update()

    def _set_icons(self) -> None:
        palette = self._palette
        self.dismiss_button.setIcon(icon("close", palette.text_muted))
        color = palette.accent_text if self.key == 0 else palette.accent
        self.quick_accept.setIcon(icon("check", color))
        self.accept_button.setIcon(icon("check", color))
        self.accept_button.setIconSize(QSize(20, 20))

    def set_density(self, density: int) -> None:
        """FULL … BARE (see the module docstring)."""
        density = max(FULL, min(BARE, density))
        if density != self.density:
            self.density = density
            self._apply_mode()

    def set_compact(self, compact: bool) -> None:
        """Compact cards: SNUG at most (the panel may shrink them further)."""
        self.set_density(SNUG if compact else FULL)

    def _apply_mode(self) -> None:
        self.arrange(self._width)

    def set_keys_shown(self, shown: bool) -> None:
        if shown != self.keys_shown:
            self.keys_shown = shown
            self._apply_mode()

    def arrange(self, width: int) -> None:
        """Show the parts the mode and density call for, fitted to a card ``width`` px wide
        (0: not known yet): the price beside the badge only when both fit there, the item
        code's type small enough for one line, the barcode only when each module gets a whole
        pixel (the code stays, large). Only what changes is shown or hidden (that is what
        costs)."""
        self._width = width
        d, mode = self.density, self.mode
        suggest, ring = mode == "suggest", mode == "ring"
        m = self.layout().contentsMargins() if self.layout() is not None else None
        inner = width - (m.left() + m.right() if m is not None else 24) - 6 - TOUCH
        keycap = suggest and self.key is not None and self.keys_shown
        on_top = suggest and d >= SIDE
        if on_top and width:
            need = self.badge.sizeHint().width() + 8 + self.price_top.sizeHint().width()
            if keycap:
                need += self.keycap.sizeHint().width() + 8
            on_top = need <= inner
        one_line_name = d >= TIGHT or not suggest
        barcode = ring and d < BARE and (not width or self.barcode.module_px(inner) >= 1)
        for widget, on in (
                (self.name, not one_line_name), (self.name_line, one_line_name),
                (self.price, suggest and not on_top), (self.price_top, on_top),
                (self.reason, suggest and d <= SIDE), (self.reason_line, suggest and d >= SNUG),
                (self.keycap, keycap), (self.bottom, suggest and d == FULL),
                (self.stock, suggest and d == FULL and bool(self.stock.text())),
                (self.quick_accept, suggest and d >= SIDE), (self.code, ring),
                (self.barcode, barcode), (self.done, mode == "done"),
                (self.dismiss_button, mode != "done")):     # a confirmation goes by itself
            if widget.isHidden() == on:
                widget.setVisible(on)
        bar_h = 56 if d == FULL else 44
        if self.barcode.height() != bar_h:
            self.barcode.setFixedHeight(bar_h)
        spacing = 4 if d <= SIDE else 2
        if self._left.spacing() != spacing:
            self._left.setSpacing(spacing)
        if ring and width:
            size = 0
            self.code.setStyleSheet("")
            natural = self.code.sizeHint().width()
            if natural > inner > 0:           # a long code: smaller type, never cut short
                size = max(10, int(self.code.fontInfo().pixelSize() * inner / natural))
                self.code.setStyleSheet(f"font-size: {size}px;")

    def needed_height(self, width: int) -> int:
        """The height this card needs at ``width`` (wrapped name and reason included);
        remembered per content, density and width until the look changes."""
        key = (self.suggestion, self.mode, self.key, self.density, self.keys_shown, width)
        if width != self._width:
            self.arrange(width)
        h = self._heights.get(key)
        if h is None:
            _invalidate(self.layout())  # nested layouts cache height-for-width until activated
            h = self.heightForWidth(width)
            h = h if h > 0 else self.sizeHint().height()
            if len(self._heights) > 64:
                self._heights.clear()
            self._heights[key] = h
        return h

    def forget_heights(self) -> None:
        """The type or theme changed: measure afresh."""
        self._heights.clear()

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
        stripe = QColor(p.accent if self.mode == "ring" else p.ok if self.mode == "done"
                        else p.upgrade if kind == "upgrade" else p.accessory)
        painter.save()
        painter.setClipPath(path)
        painter.fillRect(QRectF(rect.left(), rect.top(), 6 if self.mode == "ring" else 5,
                                rect.height()), stripe)
        painter.restore()
        if self.hasFocus():
            pen = QPen(QColor(p.accent), 2)
            painter.setPen(pen)
            painter.drawRoundedRect(rect.adjusted(1, 1, -1, -1), radius - 1, radius - 1)
        else:
            ring = self.mode == "ring"
            pen = QPen(QColor(p.accent if ring else p.border_strong if self.underMouse()
                              else p.border), 2 if ring else 1)
            painter.setPen(pen)
            painter.drawPath(path)
        painter.end()

    def focusInEvent(self, event: QFocusEvent) -> None:  # noqa: N802
        super().focusInEvent(event)
        self.update()

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802
        super().focusOutEvent(event)
        self.update()

    # -- actions --------------------------------------------------------------------------
    def _accept_clicked(self) -> None:
        if self.sku is not None and self.mode == "suggest":
            self.accepted.emit(self.sku, "tap")

    def _dismiss_clicked(self) -> None:
        if self.sku is None:
            return
        if self.mode == "suggest":
            self.dismissed.emit(self.sku, "tap")
        elif self.mode == "ring":
            self.withdrawn.emit(self.sku)


class CardList(QWidget):
    """The cards, top to bottom: accepted items still to ring up, those just rung up, then the
    suggestions; emits ``painted(seq)`` after each repaint that shows a new set (the benchmark
    waits for it)."""

    accepted = Signal(str, str)
    dismissed = Signal(str, str)
    withdrawn = Signal(str)
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
        self.density = FULL
        self._pending_seq: int | None = None
        self.shown_seq = -1
        self._heights: dict[tuple[object, ...], int] = {}
        self._probe = self._new_probe()
        self.ensure_cards(max_cards)

    def _new_probe(self) -> SuggestionCard:
        """A card never shown, that takes each card's content and density in turn to be
        measured: showing and hiding parts of a card on screen costs far more."""
        probe = SuggestionCard(-1, self._palette, self)
        probe.hide()
        return probe

    def ensure_cards(self, n: int) -> None:
        while len(self.cards) < n:
            card = SuggestionCard(len(self.cards), self._palette)
            card.set_density(self.density)
            card.set_keys_shown(bool(self.cards) and self.cards[0].keys_shown)
            card.accepted.connect(self.accepted)
            card.dismissed.connect(self.dismissed)
            card.withdrawn.connect(self.withdrawn)
            card.hide()
            self._layout.addWidget(card)
            self.cards.append(card)

    def show_entries(self, entries: list[CardEntry], seq: int) -> None:
        """Show exactly these cards, in order (an SKU appears once)."""
        seen: set[str] = set()
        entries = [e for e in entries
                   if not (e.suggestion.sku in seen or seen.add(e.suggestion.sku))]
        self.ensure_cards(len(entries))
        for k, card in enumerate(self.cards):
            if k < len(entries):
                card.set_entry(entries[k])
                card.show()
            else:
                if card.hasFocus():
                    card.clearFocus()
                card.clear()
                card.hide()
        self._pending_seq = seq
        self.update()

    def show_suggestions(self, suggestions: tuple[Suggestion, ...] | list[Suggestion],
                         seq: int) -> None:
        """Suggestions only, keyed F1-F3 from the top."""
        self.show_entries([CardEntry(s, "suggest", k if k < KEYS else None)
                           for k, s in enumerate(suggestions)], seq)

    def height_of(self, card: SuggestionCard, density: int, width: int) -> int:
        """The height ``card`` needs at ``density`` and ``width`` (measured on the probe)."""
        key = (card.suggestion, card.mode, card.key, card.keys_shown, density, width)
        h = self._heights.get(key)
        if h is None:
            probe = self._probe
            probe.ensurePolished()
            probe.keys_shown = card.keys_shown
            if card.suggestion is not None:
                probe.set_entry(CardEntry(card.suggestion, card.mode, card.key))
            probe.set_density(density)
            h = probe.needed_height(width)
            if len(self._heights) > 256:
                self._heights.clear()
            self._heights[key] = h
        return h

    @staticmethod
    def spacing_for(density: int) -> int:
        return 10 if density <= SIDE else 8

    def measure(self, width: int, densities: list[int], spacing_density: int) -> int:
        """The height the shown cards need at ``width`` with these densities, top first."""
        cards = self.visible_cards()
        if not cards:
            return 0
        return (sum(self.height_of(c, d, width) for c, d in zip(cards, densities))
                + self.spacing_for(spacing_density) * (len(cards) - 1))

    def needed_height(self, width: int) -> int:
        """The height the shown cards need at ``width`` at their present densities."""
        return self.measure(width, [c.density for c in self.visible_cards()], self.density)

    def apply_densities(self, spacing_density: int, densities: list[int]) -> None:
        """Set the list's density (its spacing) and each shown card's, top first."""
        self.density = spacing_density
        spacing = self.spacing_for(spacing_density)
        if self._layout.spacing() != spacing:
            self._layout.setSpacing(spacing)
        for card, density in zip(self.visible_cards(), densities):
            card.set_density(density)

    def relayout(self, width: int | None = None) -> None:
        """Give each shown card exactly the height its text needs at ``width`` (default: the
        list's own)."""
        width = self.width() if width is None else width
        if width < 50:
            return
        for card in self.visible_cards():
            card.arrange(width)
            h = self.height_of(card, card.density, width)
            if card.height() != h or card.minimumHeight() != h:
                card.setFixedHeight(h)
        # place the cards now, not on a later turn of the event loop: a tap arriving in
        # between would land on the cards' old places
        self._layout.activate()
        holder = self.parentWidget()
        if holder is not None and holder.layout() is not None:
            holder.layout().activate()

    def set_density(self, density: int) -> None:
        self.density = density
        self._layout.setSpacing(self.spacing_for(density))
        for c in self.cards:
            c.set_density(density)

    def set_keys_shown(self, shown: bool) -> None:
        """Show the F1-F3 key caps (only while the panel has the keyboard: see focus.py)."""
        for c in self.cards:
            c.set_keys_shown(shown)

    def visible_cards(self) -> list[SuggestionCard]:
        """Every card shown, top first (ring-up and rung-up cards included)."""
        return [c for c in self.cards if c.suggestion is not None and not c.isHidden()]

    def suggestion_cards(self) -> list[SuggestionCard]:
        """The cards the cashier can accept, top first (F1 is the first)."""
        return [c for c in self.visible_cards() if c.mode == "suggest"]

    def set_palette(self, palette: Palette) -> None:
        """A new look (theme, type size): also measure the cards afresh."""
        self._palette = palette
        for c in self.cards:
            c.set_palette(palette)
            c.forget_heights()
        self._heights.clear()
        self._probe.deleteLater()
        self._probe = self._new_probe()         # polished afresh with the new look

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        super().paintEvent(event)
        if self._pending_seq is not None:
            seq, self._pending_seq = self._pending_seq, None
            self.shown_seq = seq
            self.painted.emit(seq)
