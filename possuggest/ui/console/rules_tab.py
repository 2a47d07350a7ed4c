"""The manager console's Rules tab: browse the active rule set (500,000 rules scroll, sort and
filter at once), pin, block or annotate a rule, add manual rules and upgrade paths, and see
the rules as a support / confidence scatter coloured by lift.

Filters: a product by name or code (on either side, in the basket, or suggested), category,
kind, least sales together / confidence / lift, and status (pinned, blocked, with a note).
Pin and block write the pair to the manager's config file (services/config_edit.py, comments
kept); the running panel picks it up within a second. A rule with several basket items pins
or blocks each of its pairs, as the config holds pairs. Notes are kept in possuggest's own
database by (basket side, suggestion), so they stay through refreshes.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QModelIndex, QPoint, Qt, QTimer
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from possuggest.services.config_edit import ConfigEditError, ConfigEditor
from possuggest.store.rule_query import RuleFilter, RuleRow
from possuggest.ui.console.rules_model import (
    COLUMN_KEYS,
    COLUMNS,
    NOTE_COLUMN,
    RuleRole,
    RulesModel,
)
from possuggest.ui.theme import palette_for

log = logging.getLogger(__name__)

DEBOUNCE_MS = 150           # typing in a filter: one query when the typing pauses
SIDES = (("on either side", "any"), ("in the basket", "with"), ("suggested", "suggest"))
KINDS = (("Cross-sell and upgrades", ""), ("Cross-sell", "cross"), ("Upgrades", "upgrade"))
STATUSES = (("Any status", ""), ("Pinned", "pinned"), ("Blocked", "blocked"),
            ("With a note", "noted"), ("Neither pinned nor blocked", "plain"))
WIDTHS = {"with": 200, "suggest": 200, "status": 75, "kind": 85, "category": 120,
          "count": 80, "support": 88, "confidence": 112, "lift": 80, "note": 220}


class RulesTab(QWidget):
    """The rules browser (console tab "Rules")."""

    def __init__(self, controller: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.setObjectName("rulesTab")
        self.palette_ = palette_for(controller.look().theme)
        self.model = RulesModel(controller.plan.rules_db, self)
        self.scatter: Any = None
        self.dialog: Any = None
        self._selected: int | None = None
        self._drawn: tuple[Any, Any] | None = None      # (table, filter) the scatter shows
        self._categories: tuple[str, ...] = ()
        self._failed = False
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.apply_filter)

        root = QVBoxLayout(self)
        root.setContentsMargins(16, 12, 16, 12)
        root.setSpacing(8)
        root.addLayout(self._build_filters())
        self.summary = QLabel("Reading the rules…")
        self.summary.setObjectName("help")
        self.status = QLabel("")
        self.status.setObjectName("status")
        self.status.setWordWrap(True)
        self.status.hide()
        root.addWidget(self.status)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.table = self._build_table()
        self.splitter.addWidget(self.table)
        root.addWidget(self.splitter, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.summary, 1)
        root.addLayout(bottom)
        root.addLayout(self._build_actions())

        m = self.model
        m.viewChanged.connect(self._on_view)
        m.modelAboutToBeReset.connect(self._remember_selection)
        m.queryFailed.connect(self._on_failed)
        m.loadingRules.connect(lambda: self.summary.setText(
            "Reading the rule set (once; a large one takes a second or two)…"))
        m.noteSaved.connect(self._on_note_saved)
        m.noteFailed.connect(lambda msg: self.show_status("error", f"Note not saved: {msg}"))
        controller.settingsChanged.connect(self.sync_pairs)
        controller.engineChanged.connect(self._on_engine)
        self.sync_pairs()
        m.start()
        self.chart_button.setChecked(True)          # the chart comes when the tab is shown

    # -- building ---------------------------------------------------------------------------
    def _build_filters(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(6)
        self.product = QLineEdit()
        self.product.setPlaceholderText("Product name or code")
        self.product.setClearButtonEnabled(True)
        self.product.setMinimumWidth(180)
        self.product.textChanged.connect(lambda _t: self._debounce.start())
        self.side = QComboBox()
        for label, _ in SIDES:
            self.side.addItem(label)
        self.category = QComboBox()
        self.category.addItem("All categories")
        self.kind = QComboBox()
        for label, _ in KINDS:
            self.kind.addItem(label)
        self.min_count = QSpinBox()
        self.min_count.setRange(0, 1_000_000_000)
        self.min_count.setPrefix("sales ≥ ")
        self.min_count.setToolTip("Only rules seen in at least this many sales")
        self.min_conf = QDoubleSpinBox()
        self.min_conf.setRange(0.0, 100.0)
        self.min_conf.setDecimals(1)
        self.min_conf.setSuffix(" %")
        self.min_conf.setPrefix("confidence ≥ ")
        self.min_lift = QDoubleSpinBox()
        self.min_lift.setRange(0.0, 1_000_000.0)
        self.min_lift.setDecimals(2)
        self.min_lift.setSingleStep(0.5)
        self.min_lift.setPrefix("lift ≥ ")
        self.status_filter = QComboBox()
        for label, _ in STATUSES:
            self.status_filter.addItem(label)
        for combo in (self.side, self.category, self.kind, self.status_filter):
            combo.currentIndexChanged.connect(lambda _i: self.apply_filter())
        for spin in (self.min_count, self.min_conf, self.min_lift):
            spin.valueChanged.connect(lambda _v: self._debounce.start())
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Show every rule")
        self.clear_button.clicked.connect(self.clear_filters)
        for w in (self.product, self.side, self.category, self.kind, self.min_count,
                  self.min_conf, self.min_lift, self.status_filter, self.clear_button):
            row.addWidget(w)
        row.setStretch(0, 2)
        return row

    def _build_table(self) -> QTableView:
        table = QTableView()
        table.setObjectName("rulesTable")
        table.setModel(self.model)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setAlternatingRowColors(True)
        table.setWordWrap(False)
        table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                              | QAbstractItemView.EditTrigger.EditKeyPressed)
        table.verticalHeader().hide()
        # fixed row heights: the view never measures 500,000 rows
        table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        table.verticalHeader().setDefaultSectionSize(26)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for i, key in enumerate(COLUMN_KEYS):
            table.setColumnWidth(i, WIDTHS[key])
        header.setSortIndicator(COLUMN_KEYS.index("lift"), Qt.SortOrder.DescendingOrder)
        table.setSortingEnabled(True)
        table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        table.customContextMenuRequested.connect(self._context_menu)
        table.selectionModel().currentRowChanged.connect(self._on_current)
        return table

    def _build_actions(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.pin_button = QPushButton("Pin")
        self.pin_button.setToolTip("Always suggest this first when its basket item is there")
        self.pin_button.clicked.connect(self.toggle_pin)
        self.block_button = QPushButton("Block")
        self.block_button.setToolTip("Never suggest this with its basket item")
        self.block_button.clicked.connect(self.toggle_block)
        self.note_button = QPushButton("Note…")
        self.note_button.setToolTip("Write a note on this rule (kept through refreshes)")
        self.note_button.clicked.connect(self.edit_note)
        for b in (self.pin_button, self.block_button, self.note_button):
            b.setEnabled(False)
            row.addWidget(b)
        row.addStretch(1)
        self.chart_button = QPushButton("Chart")
        self.chart_button.setCheckable(True)
        self.chart_button.setToolTip("Show or hide the support / confidence scatter")
        self.chart_button.toggled.connect(self._show_chart)
        self.manual_button = QPushButton("Add manual rule…")
        self.manual_button.clicked.connect(self.add_manual_rule)
        self.upgrade_button = QPushButton("Add upgrade path…")
        self.upgrade_button.clicked.connect(self.add_upgrade_path)
        for b in (self.chart_button, self.manual_button, self.upgrade_button):
            row.addWidget(b)
        return row

    # -- life cycle -------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop the query thread (the console calls this when it closes)."""
        self._debounce.stop()
        self.model.shutdown()

    # -- filters ----------------------------------------------------------------------------
    def current_filter(self) -> RuleFilter:
        cat = self.category.currentText() if self.category.currentIndex() > 0 else ""
        return RuleFilter(product=self.product.text().strip(),
                          side=SIDES[self.side.currentIndex()][1], category=cat,
                          kind=KINDS[self.kind.currentIndex()][1],
                          min_count=float(self.min_count.value()),
                          min_confidence=self.min_conf.value() / 100.0,
                          min_lift=self.min_lift.value(),
                          status=STATUSES[self.status_filter.currentIndex()][1])

    def apply_filter(self) -> None:
        self._debounce.stop()
        self.model.set_filter(self.current_filter())

    def clear_filters(self) -> None:
        widgets = (self.product, self.side, self.category, self.kind, self.min_count,
                   self.min_conf, self.min_lift, self.status_filter)
        for w in widgets:
            w.blockSignals(True)
        self.product.clear()
        for combo in (self.side, self.category, self.kind, self.status_filter):
            combo.setCurrentIndex(0)
        for spin in (self.min_count, self.min_conf, self.min_lift):
            spin.setValue(0)
        for w in widgets:
            w.blockSignals(False)
        self.apply_filter()

    def sync_pairs(self) -> None:
        """The config's pinned and blocked pairs as they are in effect now."""
        policy = self.controller.ctx.settings.policy
        self.model.set_pairs(policy.pinned, policy.blocked)

    # -- the view -----------------------------------------------------------------------------
    def _on_engine(self, _engine: Any) -> None:
        self.model.refresh()            # a new active rule set is read; the same one is kept

    def _remember_selection(self) -> None:
        rule = self.selected_rule()
        if rule is not None:
            self._selected = rule.rule_id

    def _on_failed(self, message: str) -> None:
        self._failed = True
        if message.startswith("no rules yet"):
            self.summary.setText("No rules yet.")
            self.show_status("info", "There are no rules yet: they appear here once the first "
                                     "refresh has made them (Refresh tab).")
        else:
            self.summary.setText("The rules cannot be shown.")
            self.show_status("error", f"The rules cannot be read: {message}")

    def _on_view(self) -> None:
        view = self.model.view
        if view is None:
            return
        if self._failed:            # the problem has passed
            self._failed = False
            self.show_status("", "")
        table = view.table
        cats = tuple(table.category_names())
        if cats != self._categories:
            self._categories = cats
            keep = self.category.currentText() if self.category.currentIndex() > 0 else ""
            self.category.blockSignals(True)
            self.category.clear()
            self.category.addItem("All categories")
            self.category.addItems(list(cats))
            if keep in cats:
                self.category.setCurrentIndex(cats.index(keep) + 1)
            self.category.blockSignals(False)
        info = table.rule_set
        shown = len(view)
        of = f" of {len(table):,}" if shown != len(table) else ""
        self.summary.setText(f"{shown:,}{of} rules · rule set {info.id}, made "
                             f"{info.created_at.replace('T', ' ')[:16]} from "
                             f"{info.n_baskets:,} sales")
        self.summary.setToolTip(f"Filter and sort took {view.seconds * 1000:.0f} ms; the "
                                f"rule set was read in {table.load_seconds:.1f} s")
        if self._selected is not None:
            row = self.model.row_of(self._selected)
            if row is not None:
                self._select_row(row)
        self._update_actions()
        # the chart follows once the table has drawn its first page
        QTimer.singleShot(0, self, self._update_scatter)

    def selected_rule(self) -> RuleRow | None:
        idx = self.table.selectionModel().currentIndex()
        if not idx.isValid() or not self.table.selectionModel().isRowSelected(idx.row(),
                                                                                 QModelIndex()):
            return None
        rule = self.model.data(self.model.index(idx.row(), 0), RuleRole)
        return rule if isinstance(rule, RuleRow) else None

    def select_rule(self, rule_id: int) -> bool:
        """Select and show a rule; False (with a message) when the filter leaves it out."""
        row = self.model.row_of(rule_id)
        if row is None:
            self.show_status("info", "That rule is not in the table: clear the filters to "
                                     "see it.")
            return False
        self._selected = rule_id
        self._select_row(row)
        return True

    def _select_row(self, row: int) -> None:
        idx = self.model.index(row, 0)
        self.table.setCurrentIndex(idx)
        self.table.selectRow(row)
        self.table.scrollTo(idx, QAbstractItemView.ScrollHint.PositionAtCenter)

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        rule = self.model.rule_at(current.row()) if current.isValid() else None
        if rule is not None:
            self._selected = rule.rule_id
        if self.scatter is not None:
            self.scatter.set_selected(None if rule is None else rule.rule_id)
        self._update_actions()

    def _update_actions(self) -> None:
        rule = self.selected_rule()
        for b in (self.pin_button, self.block_button, self.note_button):
            b.setEnabled(rule is not None)
        self.pin_button.setText("Unpin" if rule is not None and rule.status == "pinned"
                                else "Pin")
        self.block_button.setText("Unblock" if rule is not None and rule.status == "blocked"
                                  else "Block")

    def show_status(self, level: str, text: str) -> None:
        self.status.setText(text)
        self.status.setProperty("level", level)
        self.status.style().unpolish(self.status)
        self.status.style().polish(self.status)
        self.status.setVisible(bool(text))

    # -- the scatter ----------------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        if self.scatter is None and self.chart_button.isChecked():
            # the chart (and pyqtgraph's import, ~0.5 s) after the table has drawn
            QTimer.singleShot(0, self, self._chart_wanted)

    def _chart_wanted(self) -> None:
        if self.chart_button.isChecked() and self.isVisible():
            self._show_chart(True)

    def _show_chart(self, on: bool) -> None:
        if on and self.scatter is None and not self.isVisible():
            return                  # built when the tab is shown (showEvent)
        if on and self.scatter is None:
            from possuggest.ui.console.scatter import RuleScatter  # pyqtgraph: only now

            self.scatter = RuleScatter(self.palette_)
            self.scatter.ruleClicked.connect(self.select_rule)
            self.splitter.addWidget(self.scatter)
            self.splitter.setSizes([1000, 400])
            self._drawn = None
            self._update_scatter()
        if self.scatter is not None:
            self.scatter.setVisible(on)
            if on:
                self._update_scatter()
        if self.chart_button.isChecked() != on:
            self.chart_button.setChecked(on)

    def _update_scatter(self) -> None:
        view = self.model.view
        if self.scatter is None or view is None or self.scatter.isHidden():
            return              # a hidden chart is drawn when it is shown again
        from possuggest.ui.console.scatter import SAMPLE

        key = (view.table, view.filter, view.marks if view.filter.status else None)
        if self._drawn is not None and all(a is b or a == b for a, b in zip(self._drawn, key)):
            return              # a new sort of the same rules: the same points
        self._drawn = key
        keep = [self._selected] if self._selected is not None else []
        self.scatter.set_sample(view.sample(SAMPLE, keep), len(view))
        self.scatter.set_selected(self._selected)

    # -- per-rule actions -------------------------------------------------------------------------
    def _editor(self) -> ConfigEditor:
        products = self.controller.products or None
        return ConfigEditor.for_context(self.controller.ctx, products)

    def toggle_pin(self) -> None:
        rule = self.selected_rule()
        if rule is not None:
            self._set_mark(rule, "pinned", rule.status != "pinned")

    def toggle_block(self) -> None:
        rule = self.selected_rule()
        if rule is not None:
            self._set_mark(rule, "blocked", rule.status != "blocked")

    def _set_mark(self, rule: RuleRow, kind: str, on: bool) -> None:
        """Pin or block (``on``) or release a rule's pairs in the manager's config file."""
        pinned = [tuple(p) for p in self.model.pinned]
        blocked = [tuple(p) for p in self.model.blocked]
        pairs = rule.pairs
        other = "blocked" if kind == "pinned" else "pinned"
        if kind == "pinned" and on:
            wild = [p for p in blocked if p[0] == "*" and p[1] == rule.suggest_sku
                    or p[1] == "*" and p[0] in rule.with_skus]
            if wild:
                a, b = wild[0]
                self.show_status("warn", f"Not pinned: blocked for any product "
                                         f"(policy.blocked ['{a}', '{b}']). Change that block "
                                         "in the Settings tab or the config file first.")
                return
        if kind == "blocked" and not on and not any(p in blocked for p in pairs):
            self.show_status("warn", "This rule is blocked for any product by a wider block "
                                     "in the config file: change it there.")
            return
        try:
            editor = self._editor()
            lists = {"pinned": pinned, "blocked": blocked}
            if on:
                for p in pairs:               # a pin lifts a block of the pair and back
                    if p in lists[other]:
                        editor.remove_pair(other, *p)
                        lists[other].remove(p)
                for p in pairs:
                    if p not in lists[kind]:
                        editor.add_pair(kind, *p)
                        lists[kind].append(p)
            else:
                for p in pairs:
                    if p in lists[kind]:
                        editor.remove_pair(kind, *p)
                        lists[kind].remove(p)
        except ConfigEditError as exc:
            self.show_status("error", f"Not saved: {exc}")
            return
        finally:
            self.model.set_pairs(pinned, blocked)
        what = " and ".join(f"{a} → {b}" for a, b in pairs)
        verb = {("pinned", True): "Pinned", ("pinned", False): "Unpinned",
                ("blocked", True): "Blocked", ("blocked", False): "Unblocked"}[(kind, on)]
        self.show_status("ok", f"{verb} {what}. Saved in the settings; the counter uses it "
                               "within a second.")
        log.info("%s %s from the rules browser", verb.lower(), what)

    def edit_note(self) -> None:
        idx = self.table.selectionModel().currentIndex()
        if idx.isValid():
            note = self.model.index(idx.row(), NOTE_COLUMN)
            self.table.setCurrentIndex(note)
            self.table.edit(note)

    def _on_note_saved(self, with_key: str, sku: str, text: str) -> None:
        what = " + ".join(with_key.split("\t")) + f" → {sku}"
        self.show_status("ok", f"Note saved on {what}." if text else f"Note removed from {what}.")

    def _context_menu(self, pos: QPoint) -> None:
        idx = self.table.indexAt(pos)
        if not idx.isValid():
            return
        self.table.selectRow(idx.row())
        rule = self.selected_rule()
        if rule is None:
            return
        menu = QMenu(self)
        menu.addAction("Unpin" if rule.status == "pinned" else "Pin", self.toggle_pin)
        menu.addAction("Unblock" if rule.status == "blocked" else "Block", self.toggle_block)
        menu.addAction("Note…", self.edit_note)
        menu.popup(self.table.viewport().mapToGlobal(pos))

    # -- manual rules and upgrade paths ------------------------------------------------------------
    def add_manual_rule(self) -> Any:
        from possuggest.ui.console.manual_dialogs import ManualRuleDialog

        return self._open_dialog(ManualRuleDialog(self._products(), self._editor, self))

    def add_upgrade_path(self) -> Any:
        from possuggest.ui.console.manual_dialogs import UpgradePathDialog

        return self._open_dialog(UpgradePathDialog(self._products(), self._editor, self))

    def _products(self) -> dict[str, Any]:
        products = dict(self.controller.products or {})
        if not products and self.model.view is not None:    # no till read yet: the rule set's
            from possuggest.core.products import Product

            t = self.model.view.table
            products = {s: Product(s, n, c) for s, n, c in zip(t.skus, t.names, t.categories)}
        return products

    def _open_dialog(self, dialog: Any) -> Any:
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.saved.connect(lambda text: self.show_status("ok", text + " The counter uses it "
                                                                        "within a second."))
        self.dialog = dialog
        dialog.open()
        return dialog


__all__ = ["RulesTab", "COLUMNS"]
