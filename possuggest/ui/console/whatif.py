"""The manager console's What-if tab: scan or type a basket (and, if wanted, a time of day) and
see exactly the cards a cashier would see, the evidence behind each, and for the products the
basket's rules point at that are not shown, why not.

The answer comes from serving/explain.py, which runs the running panel's own engine with its
tracer, so the preview is the counter's answer, not a copy of its rules. It is worked out in a
worker thread (a large rule set's first question reads its columns once) and again whenever
the panel's engine changes: a setting saved, a pair pinned or blocked, a new rule set.
"""

from __future__ import annotations

import html
import logging
from typing import Any

from PySide6.QtCore import QStringListModel, Qt, QTime, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QCompleter,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from possuggest.ui.theme import Palette, build_qss, palette_for, repolish
from possuggest.ui.workers import TaskHandle, TaskThread

log = logging.getLogger(__name__)

MAX_ROWS = 300          # "not shown" rows drawn (the strongest first); the rest are counted
CARD_WIDTH = 340        # a card as wide as on a narrow panel


def _extra_qss(p: Palette) -> str:
    return f"""
QLabel#evidence {{ background: {p.surface}; border: 1px solid {p.border}; border-radius: 8px;
    padding: 8px 10px; font-size: 12px; color: {p.text_muted}; }}
QListWidget#basketItems {{ background: {p.surface}; border: 1px solid {p.border};
    border-radius: 6px; padding: 4px; }}
QListWidget#basketItems::item {{ background: {p.surface_alt}; border: 1px solid {p.border_strong};
    border-radius: 10px; padding: 3px 10px; margin: 2px 4px; color: {p.text}; }}
QListWidget#basketItems::item:selected {{ background: {p.accessory_bg}; color: {p.text}; }}
"""


def product_label(name: str, sku: str) -> str:
    """How a product is offered in the completers: "Name · SKU" (the controller resolves it)."""
    return f"{name} · {sku}" if name and name != sku else sku


class WhatIfTab(QWidget):
    """See the module docstring. ``explained`` is emitted after each answer is drawn."""

    explained = Signal(object)          # serving.explain.Explanation
    failed = Signal(str)

    def __init__(self, controller: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("whatIfTab")
        self.setStyleSheet(_extra_qss(palette_for(controller.look().theme)))
        self.controller = controller
        self.basket: list[str] = []
        self.explanation: Any = None
        self._worker: TaskThread | None = None
        self._pending = False
        self._closed = False
        self._build()
        controller.engineChanged.connect(self._on_engine)
        controller.productsChanged.connect(self._fill_completers)
        self._fill_completers()
        self.recompute()

    # -- layout ---------------------------------------------------------------------------------
    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(16, 12, 16, 12)
        root.setSpacing(10)
        intro = QLabel("Scan or type a basket to see exactly what a cashier would see for it, "
                       "the evidence behind each card, and why other products are not shown. "
                       "A holdout sale (the control group) shows no cards at all.")
        intro.setObjectName("help")
        intro.setWordWrap(True)
        root.addWidget(intro)

        # the basket: scan box, items, time of day
        row = QHBoxLayout()
        self.scan = QLineEdit()
        self.scan.setPlaceholderText("Scan a barcode or type a product name or code, then Enter")
        self.scan.setAccessibleName("Add to the what-if basket")
        self.scan.returnPressed.connect(self._add_typed)
        row.addWidget(self.scan, 1)
        self.add_button = QPushButton("Add")
        self.add_button.clicked.connect(self._add_typed)
        row.addWidget(self.add_button)
        self.counter_button = QPushButton("Counter's basket")
        self.counter_button.setToolTip("Copy the basket now open at this register")
        self.counter_button.clicked.connect(self.use_counter_basket)
        row.addWidget(self.counter_button)
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(lambda: self.set_basket([]))
        row.addWidget(self.clear_button)
        root.addLayout(row)

        row = QHBoxLayout()
        self.items = QListWidget()
        self.items.setObjectName("basketItems")
        self.items.setFlow(QListWidget.Flow.LeftToRight)
        self.items.setWrapping(True)
        self.items.setMaximumHeight(64)
        self.items.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.items.setToolTip("Select and press Delete to take items out")
        delete = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.items)
        delete.activated.connect(self._remove_selected)
        row.addWidget(self.items, 1)
        when = QVBoxLayout()
        self.at_time = QCheckBox("At a time of day")
        self.at_time.setToolTip("Unticked: now (the cards depend a little on the time of day)")
        self.at_time.toggled.connect(self._time_changed)
        when.addWidget(self.at_time)
        trow = QHBoxLayout()
        self.time_edit = QTimeEdit(QTime(10, 0))
        self.time_edit.setDisplayFormat("HH:mm")
        self.time_edit.timeChanged.connect(self._time_changed)
        trow.addWidget(self.time_edit)
        self.day_kind = QComboBox()
        self.day_kind.addItems(["Weekday", "Weekend"])
        self.day_kind.currentIndexChanged.connect(self._time_changed)
        trow.addWidget(self.day_kind)
        when.addLayout(trow)
        row.addLayout(when)
        root.addLayout(row)

        self.status = QLabel("")
        self.status.setObjectName("status")
        self.status.setWordWrap(True)
        self.status.hide()
        root.addWidget(self.status)
        self.summary = QLabel("")
        self.summary.setObjectName("help")
        root.addWidget(self.summary)

        split = QSplitter(Qt.Orientation.Horizontal)
        # left: the cashier's cards, each with its evidence beside it
        left = QWidget()
        lay = QVBoxLayout(left)
        lay.setContentsMargins(0, 0, 0, 0)
        title = QLabel("What the cashier sees")
        title.setObjectName("sectionTitle")
        lay.addWidget(title)
        self.cards_area = QScrollArea()
        self.cards_area.setWidgetResizable(True)
        self.cards_host = QWidget()
        self.cards_host.setObjectName("panel")
        palette = palette_for(self.controller.look().theme)
        self.cards_host.setStyleSheet(build_qss(palette, 0.85))
        self.cards_layout = QVBoxLayout(self.cards_host)
        self.cards_layout.setContentsMargins(8, 8, 8, 8)
        self.cards_layout.setSpacing(10)
        self.cards_layout.addStretch(1)
        self.cards_area.setWidget(self.cards_host)
        lay.addWidget(self.cards_area, 1)
        self._card_rows: list[QWidget] = []
        self._palette = palette
        split.addWidget(left)

        # right: not shown, and why not
        right = QWidget()
        lay = QVBoxLayout(right)
        lay.setContentsMargins(0, 0, 0, 0)
        title = QLabel("Not shown")
        title.setObjectName("sectionTitle")
        lay.addWidget(title)
        self.not_shown = QTableWidget(0, 3)
        self.not_shown.setHorizontalHeaderLabels(["Product", "Why not", "Details"])
        self.not_shown.verticalHeader().setVisible(False)
        self.not_shown.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.not_shown.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.not_shown.setAlternatingRowColors(True)
        self.not_shown.setWordWrap(True)
        head = self.not_shown.horizontalHeader()
        head.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        head.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.not_shown.setColumnWidth(0, 200)
        lay.addWidget(self.not_shown, 1)
        self.not_shown_more = QLabel("")
        self.not_shown_more.setObjectName("help")
        lay.addWidget(self.not_shown_more)

        box = QFrame()
        blay = QVBoxLayout(box)
        blay.setContentsMargins(0, 6, 0, 0)
        wrow = QHBoxLayout()
        wrow.addWidget(QLabel("Why not…"))
        self.why_edit = QLineEdit()
        self.why_edit.setPlaceholderText("a product's name or code")
        self.why_edit.returnPressed.connect(self._why_typed)
        wrow.addWidget(self.why_edit, 1)
        self.why_button = QPushButton("Ask")
        self.why_button.clicked.connect(self._why_typed)
        wrow.addWidget(self.why_button)
        blay.addLayout(wrow)
        self.why_answer = QLabel("")
        self.why_answer.setObjectName("status")
        self.why_answer.setWordWrap(True)
        self.why_answer.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.why_answer.hide()
        blay.addWidget(self.why_answer)
        lay.addWidget(box)
        split.addWidget(right)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        split.setSizes([640, 560])
        root.addWidget(split, 1)

        self._model = QStringListModel(self)
        for edit in (self.scan, self.why_edit):
            comp = QCompleter(self._model, edit)
            comp.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
            comp.setFilterMode(Qt.MatchFlag.MatchContains)
            comp.setMaxVisibleItems(12)
            edit.setCompleter(comp)

    def _fill_completers(self, *_: object) -> None:
        products = getattr(self.controller, "products", {}) or {}
        labels = sorted(product_label(p.name, sku) for sku, p in products.items())
        self._model.setStringList(labels)

    # -- the basket -----------------------------------------------------------------------------
    def add_item(self, text: str) -> bool:
        """Add a scanned code, a product code or name ("Name · SKU" from the completer)."""
        sku = self.controller.resolve(text)
        if sku is None:
            self.set_status(f"No product matches “{text.strip()}”: check the code or pick a "
                            "name from the list.", "warn")
            return False
        if sku not in self.basket:
            self.basket.append(sku)
            self._show_basket()
            self.recompute()
        return True

    def set_basket(self, skus: list[str]) -> None:
        self.basket = list(dict.fromkeys(skus))
        self._show_basket()
        self.recompute()

    def use_counter_basket(self) -> None:
        view = self.controller.session.view
        self.set_basket(list(view.basket))

    def set_time(self, hour: int | None, minute: int = 0, weekend: bool = False) -> None:
        """Ask about hh:mm on a weekday or weekend day; None = now."""
        self.at_time.blockSignals(True)
        self.time_edit.blockSignals(True)
        self.day_kind.blockSignals(True)
        self.at_time.setChecked(hour is not None)
        if hour is not None:
            self.time_edit.setTime(QTime(hour, minute))
            self.day_kind.setCurrentIndex(1 if weekend else 0)
        self.at_time.blockSignals(False)
        self.time_edit.blockSignals(False)
        self.day_kind.blockSignals(False)
        self._time_changed()

    def when(self) -> float | None:
        from possuggest.serving.explain import when_at

        if not self.at_time.isChecked():
            return None
        t = self.time_edit.time()
        return when_at(t.hour(), t.minute(), weekend=self.day_kind.currentIndex() == 1)

    def _add_typed(self) -> None:
        text = self.scan.text()
        if not text.strip():
            return
        if self.add_item(text):
            self.scan.clear()

    def _remove_selected(self) -> None:
        gone = {it.data(Qt.ItemDataRole.UserRole) for it in self.items.selectedItems()}
        if gone:
            self.set_basket([s for s in self.basket if s not in gone])

    def _show_basket(self) -> None:
        self.items.clear()
        for sku in self.basket:
            it = QListWidgetItem(product_label(self.controller.name_of(sku), sku))
            it.setData(Qt.ItemDataRole.UserRole, sku)
            self.items.addItem(it)

    def _time_changed(self, *_: object) -> None:
        self.time_edit.setEnabled(self.at_time.isChecked())
        self.day_kind.setEnabled(self.at_time.isChecked())
        self.recompute()

    # -- working it out ---------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._worker is not None and self._worker.isRunning()

    def _on_engine(self, *_: object) -> None:
        self.recompute()

    def recompute(self) -> None:
        """Ask the engine again (in a worker; a second request while one runs waits for it)."""
        if self._closed:
            return
        if self._worker is not None:
            self._pending = True
            return
        engine = self.controller.engine
        if engine is None:
            self._draw(None)
            self.set_status("No rules are loaded yet: the preview appears once the panel's "
                            "rules are ready.", "info")
            return
        basket = tuple(self.basket)
        when = self.when()

        def job(h: TaskHandle) -> Any:
            from possuggest.serving.explain import explain

            return explain(engine, basket, when=when)

        worker = TaskThread("whatif", job)
        worker.succeeded.connect(self._on_done)
        worker.failed.connect(self._on_failed)
        worker.was_cancelled.connect(lambda *_: self._after_worker())
        self._worker = worker
        worker.start()

    def _after_worker(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.wait()
            worker.deleteLater()
        if self._pending and not self._closed:
            self._pending = False
            self.recompute()

    def _on_done(self, _task: str, result: Any) -> None:
        stale = self._pending
        self._after_worker()
        if self._closed or stale:
            return                  # a newer question is on its way
        self._draw(result)
        self.explained.emit(result)

    def _on_failed(self, _task: str, message: str) -> None:
        self._after_worker()
        if self._closed:
            return
        self.set_status(f"The preview could not be worked out: {message}", "error")
        self.failed.emit(message)

    # -- drawing --------------------------------------------------------------------------------
    def set_status(self, text: str | None, level: str = "info") -> None:
        self.status.setText(text or "")
        self.status.setProperty("level", level)
        self.status.setVisible(bool(text))
        repolish(self.status)

    def _clear_cards(self) -> None:
        for w in self._card_rows:
            self.cards_layout.removeWidget(w)
            w.deleteLater()
        self._card_rows = []

    def _draw(self, ex: Any) -> None:
        self.explanation = ex
        self._clear_cards()
        self.not_shown.setRowCount(0)
        self.not_shown_more.setText("")
        self.why_answer.hide()
        if ex is None:
            self.summary.setText("")
            return
        eng = ex.engine
        problems = []
        if ex.unknown:
            names = ", ".join(ex.unknown[:3]) + (" …" if len(ex.unknown) > 3 else "")
            problems.append(f"not in the rules, ignored as the counter ignores them: {names}")
        if eng.rules is None:
            problems.append("no rule set is active yet (refresh the rules)")
        if problems:
            self.set_status("; ".join(problems).capitalize() + ".", "warn")
        else:
            self.set_status(None)
        if not ex.basket:
            self.summary.setText("Add items to the basket to see the cashier's cards.")
        else:
            rs = f"rule set #{eng.rule_set_id}" if eng.rule_set_id is not None else "no rule set"
            when = "now" if ex.when is None else "the chosen time"
            self.summary.setText(
                f"{len(ex.cards)} card{'s' * (len(ex.cards) != 1)} · "
                f"{len(ex.not_shown)} product{'s' * (len(ex.not_shown) != 1)} not shown · "
                f"{rs} · time of day: {when} ({ex.context_text})")
        for card in ex.cards:
            row = self._card_row(card)
            self.cards_layout.insertWidget(self.cards_layout.count() - 1, row)
            self._card_rows.append(row)
        if ex.basket and not ex.cards:
            note = QLabel("No card: a cashier sees nothing for this basket. "
                          "“Not shown” says why.")
            note.setObjectName("help")
            note.setWordWrap(True)
            self.cards_layout.insertWidget(0, note)
            self._card_rows.append(note)
        rows = ex.not_shown[:MAX_ROWS]
        self.not_shown.setRowCount(len(rows))
        for r, ns in enumerate(rows):
            name = QTableWidgetItem(product_label(ns.name, ns.sku))
            name.setData(Qt.ItemDataRole.UserRole, ns.sku)
            reason = QTableWidgetItem(ns.label)
            detail = QTableWidgetItem(ns.text)
            tip = ns.text
            if ns.also:
                tip += "\nAlso: " + "\n".join(ns.also)
            if ns.evidence is not None:
                tip += "\nRule: " + ns.evidence.text
            for it in (name, reason, detail):
                it.setToolTip(tip)
            self.not_shown.setItem(r, 0, name)
            self.not_shown.setItem(r, 1, reason)
            self.not_shown.setItem(r, 2, detail)
        self.not_shown.resizeRowsToContents()
        if len(ex.not_shown) > MAX_ROWS:
            self.not_shown_more.setText(f"and {len(ex.not_shown) - MAX_ROWS:,} more with "
                                        "weaker rules (ask about one below)")

    def _card_row(self, card: Any) -> QWidget:
        from possuggest.ui.cards import SuggestionCard

        row = QFrame()
        row.setObjectName("whatIfCard")
        lay = QHBoxLayout(row)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(12)
        widget = SuggestionCard(card.position, self._palette)
        widget.set_suggestion(card.suggestion)
        widget.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        widget.setFixedWidth(CARD_WIDTH)
        lay.addWidget(widget, 0, Qt.AlignmentFlag.AlignTop)
        evidence = QLabel(self._evidence_html(card))
        evidence.setObjectName("evidence")
        evidence.setWordWrap(True)
        evidence.setTextFormat(Qt.TextFormat.RichText)
        evidence.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        evidence.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        evidence.setMinimumWidth(220)
        lay.addWidget(evidence, 1, Qt.AlignmentFlag.AlignTop)
        row.setProperty("sku", card.suggestion.sku)
        return row

    @staticmethod
    def _evidence_html(card: Any) -> str:
        """The evidence beside a card: the rule and its numbers, what the cashier says when
        asked, and what cashiers' customers made of it so far."""
        esc = html.escape
        ev = card.evidence
        head = card.source_text
        if ev is not None and ev.rule_id is not None:
            head += f" #{ev.rule_id}"
        lines = [f"<b>{esc(head)}</b>"]
        if ev is not None:
            who = " + ".join(ev.names or ev.antecedent)
            if ev.kind == "upgrade":
                lines.append(f"Instead of: {esc(who)}")
                if ev.confidence is not None:
                    lines.append(f"{ev.confidence:.0%} of shoppers choosing between the two "
                                 f"take this one" + ("" if ev.count is None
                                                     else f" ({ev.count:,.0f} buyers)"))
            else:
                lines.append(f"With: {esc(who)}")
                nums = []
                if ev.count is not None:
                    both = f"{ev.count:,.0f} sales with both"
                    if ev.antecedent_count:
                        both += f" of {ev.antecedent_count:,.0f}"
                    nums.append(both)
                if ev.confidence is not None:
                    nums.append(f"confidence {ev.confidence:.0%}")
                if ev.lift is not None:
                    nums.append(f"lift {ev.lift:.2f}")
                if ev.card_lift is not None:
                    nums.append(f"card lift {ev.card_lift:.2f}")
                lines.append(esc(" · ".join(nums)))
        elif card.source in ("pinned", "manual"):
            lines.append("The manager's choice: no mined rule behind it")
        detail = getattr(card.suggestion, "detail", "")
        if detail:
            lines.append(f"Said when asked: <i>{esc(detail)}</i>")
        if card.acceptance is not None:
            lines.append("Learned: " + esc(card.acceptance.text))
        elif card.source == "mined":
            lines.append("Learned: nothing yet for this card")
        return "<br>".join(lines)

    # -- why not ----------------------------------------------------------------------------------
    def _why_typed(self) -> None:
        self.ask_why_not(self.why_edit.text())

    def ask_why_not(self, text: str) -> str:
        """Answer "why not this product?" for the current basket; returns the answer shown."""
        ex = self.explanation
        sku = self.controller.resolve(text) if text.strip() else None
        if not text.strip():
            answer, level = "Type a product's name or code.", "info"
        elif ex is None or not ex.basket:
            answer, level = "Add items to the basket first.", "info"
        elif sku is None:
            answer, level = f"No product matches “{text.strip()}”.", "warn"
        else:
            ns = ex.why_not(sku)
            answer = f"{product_label(ns.name, ns.sku)} — {ns.text}"
            if ns.also:
                answer += " Also: " + "; ".join(ns.also)
            if ns.evidence is not None and ns.reason != "shown":
                answer += f" (Rule: {ns.evidence.text})"
            level = "ok" if ns.reason == "shown" else "info"
        self.why_answer.setText(answer)
        self.why_answer.setProperty("level", level)
        self.why_answer.show()
        repolish(self.why_answer)
        return answer

    # -- for tests and the console ------------------------------------------------------------------
    def shown_skus(self) -> list[str]:
        return [str(w.property("sku")) for w in self._card_rows if w.property("sku")]

    def not_shown_rows(self) -> list[tuple[str, str, str]]:
        out = []
        for r in range(self.not_shown.rowCount()):
            cells = [self.not_shown.item(r, c) for c in range(3)]
            if all(c is not None for c in cells):
                name, reason, detail = cells
                assert name is not None and reason is not None and detail is not None
                out.append((str(name.data(Qt.ItemDataRole.UserRole)), reason.text(),
                            detail.text()))
        return out

    def shutdown(self) -> None:
        """Stop (wait for) the worker; called when the console closes."""
        self._closed = True
        self._pending = False
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.wait()
            worker.deleteLater()


__all__ = ["WhatIfTab", "product_label"]
