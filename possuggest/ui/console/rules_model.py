"""The rules browser's table model: a window onto one rule view (store/rule_query.py), so
500,000 rules scroll, sort and filter without the GUI thread waiting on SQLite.

A :class:`RuleQueryThread` owns the SQLite connection (one per thread). It reads the active rule
set once, then answers each filter or sort with a new :class:`RuleView` (tens of ms); only the
latest request waiting is run, so typing in a filter never queues work. The view is immutable:
the model reads the rows it shows straight from it in the GUI thread, a page at a time, into a
small cache. Notes are saved by the same thread.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QThread,
    Signal,
)

from possuggest.core.errors import PossuggestError
from possuggest.store.rule_query import (
    RuleFilter,
    RuleQuery,
    RuleRow,
    RuleSort,
    RuleTable,
    RuleView,
    select,
)

log = logging.getLogger(__name__)

Pairs = tuple[tuple[str, str], ...]
Index = QModelIndex | QPersistentModelIndex

#: (sort key in store/rule_query.py, header) per column, in the order shown
COLUMNS: tuple[tuple[str, str], ...] = (
    ("with", "With (in the basket)"),
    ("suggest", "Suggest"),
    ("status", "Status"),
    ("kind", "Kind"),
    ("category", "Category"),
    ("count", "Sales"),
    ("support", "Support"),
    ("confidence", "Confidence"),
    ("lift", "Lift"),
    ("note", "Note"),
)
COLUMN_KEYS = tuple(k for k, _ in COLUMNS)
NOTE_COLUMN = COLUMN_KEYS.index("note")
PAGE = 128
MAX_PAGES = 64
RuleRole = Qt.ItemDataRole.UserRole + 1            # the row's RuleRow
SortRole = Qt.ItemDataRole.UserRole + 2

_ROLES = frozenset({Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole,
                    Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.TextAlignmentRole, RuleRole})
_ALIGN = tuple(int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
               if k in ("count", "support", "confidence", "lift")
               else int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
               for k in COLUMN_KEYS)

_HELP = {
    "with": "What is in the basket (the rule's 'if' side)",
    "suggest": "What the rule suggests",
    "category": "The suggested product's category",
    "kind": "Cross-sell (goes with the basket) or upgrade (a better version of a basket item)",
    "count": "Sales holding both sides",
    "support": "Share of all sales holding both sides",
    "confidence": "Share of the sales with the basket side that also hold the suggestion "
                  "(for upgrades: the share of buyers who choose the better version)",
    "lift": "How many times more likely the suggestion is with the basket side than in any "
            "sale (1 = no link)",
    "status": "Pinned (always suggested first) or blocked (never suggested) in the manager's "
              "settings",
    "note": "The manager's note (double-click to edit); it stays through refreshes",
}


@dataclass(frozen=True)
class _Query:
    generation: int
    filter: RuleFilter
    sort: RuleSort
    pinned: Pairs
    blocked: Pairs


class RuleQueryThread(QThread):
    """Runs rule queries and note edits off the GUI thread, on its own connection."""

    viewReady = Signal(object, int)          # RuleView, generation
    failed = Signal(str, int)                # one-line message, generation
    loading = Signal(int)                    # the generation now waiting for a rule set read
    noteSaved = Signal(str, str, str)        # with_key, suggest_sku, text
    noteFailed = Signal(str)

    def __init__(self, db_path: Path, tables: dict[int, RuleTable] | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.db_path = Path(db_path)
        self.tables: dict[int, RuleTable] = tables if tables is not None else {}
        self._cond = threading.Condition()
        self._query: _Query | None = None
        self._notes: deque[tuple[str, str, str]] = deque()
        self._stop = False
        self._rq: RuleQuery | None = None
        self.setObjectName("rule-query")

    def submit(self, query: _Query) -> None:
        with self._cond:
            self._query = query            # a query still waiting is replaced, not queued
            self._cond.notify()

    def submit_note(self, with_key: str, suggest_sku: str, text: str) -> None:
        with self._cond:
            self._notes.append((with_key, suggest_sku, text))
            self._cond.notify()

    def stop(self, timeout_ms: int = 10_000) -> bool:
        with self._cond:
            self._stop = True
            self._cond.notify()
        rq = self._rq
        if rq is not None:
            try:
                rq.interrupt()
            except Exception:  # the connection may be closing already
                pass
        return self.wait(timeout_ms) if self.isRunning() else True

    def run(self) -> None:
        threading.current_thread().name = "rule-query"
        try:
            self._rq = RuleQuery(self.db_path, self.tables)
        except PossuggestError as exc:
            self.failed.emit(str(exc), -1)
            return
        try:
            while True:
                with self._cond:
                    while not self._stop and self._query is None and not self._notes:
                        self._cond.wait()
                    if self._stop:
                        return
                    note = self._notes.popleft() if self._notes else None
                    query = None if note is not None else self._query
                    if note is None:
                        self._query = None
                if note is not None:
                    self._save_note(*note)
                elif query is not None:
                    self._run_query(query)
        finally:
            self._rq.close()
            self._rq = None

    def _save_note(self, with_key: str, sku: str, text: str) -> None:
        assert self._rq is not None
        try:
            self._rq.set_note(with_key, sku, text)
        except PossuggestError as exc:
            self.noteFailed.emit(str(exc))
        else:
            self.noteSaved.emit(with_key, sku, text)

    def _run_query(self, q: _Query) -> None:
        rq = self._rq
        assert rq is not None
        try:
            info = rq.active_rule_set()
            if info is not None and info.id not in rq.tables:
                self.loading.emit(q.generation)
            table = rq.table()
            view = select(table, rq.marks(table, q.pinned, q.blocked), q.filter, q.sort)
        except PossuggestError as exc:
            self.failed.emit(str(exc), q.generation)
        except Exception as exc:  # a worker must never take the console down
            if self._stop:
                return
            log.exception("rule query failed")
            self.failed.emit(f"{type(exc).__name__}: {exc}", q.generation)
        else:
            self.viewReady.emit(view, q.generation)


def _fmt_count(v: float) -> str:
    if math.isnan(v):
        return "—"
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.1f}"


def _fmt_pct(v: float, digits: int = 1) -> str:
    if math.isnan(v):
        return "—"
    pct = v * 100.0
    if 0 < pct < 0.1:
        return f"{pct:.2g}%"
    return f"{pct:.{digits}f}%"


def _fmt_lift(v: float) -> str:
    return "—" if math.isnan(v) else f"{v:,.2f}×"


def product_label(name: str, sku: str) -> str:
    """A product as the browser names it: its name and its code."""
    return sku if not name or name == sku else f"{name} · {sku}"


def cell_text(rule: RuleRow, key: str) -> str:
    """What a column shows for a rule."""
    if key == "with":
        return " + ".join(product_label(n, s) for n, s in zip(rule.with_names, rule.with_skus))
    if key == "suggest":
        return product_label(rule.suggest_name, rule.suggest_sku)
    if key == "category":
        return rule.category
    if key == "kind":
        return "Upgrade" if rule.kind == "upgrade" else "Cross-sell"
    if key == "count":
        return _fmt_count(rule.count)
    if key == "support":
        return _fmt_pct(rule.support, 2)
    if key == "confidence":
        return _fmt_pct(rule.confidence)
    if key == "lift":
        return _fmt_lift(rule.lift)
    if key == "status":
        return rule.status.capitalize()
    return rule.note


class RulesModel(QAbstractTableModel):
    """The rules of the active rule set that the filter keeps, in the sort's order."""

    viewChanged = Signal()                   # a new view is in (see ``view``)
    queryFailed = Signal(str)
    loadingRules = Signal()                  # the rule set is being read (the first time)
    busyChanged = Signal(bool)
    noteSaved = Signal(str, str, str)        # with_key, suggest_sku, text
    noteFailed = Signal(str)

    def __init__(self, db_path: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.db_path = Path(db_path)
        self.view: RuleView | None = None
        self.filter = RuleFilter()
        self.sort_spec = RuleSort("lift", True)
        self.pinned: Pairs = ()
        self.blocked: Pairs = ()
        self.tables: dict[int, RuleTable] = {}        # kept across worker restarts
        self.generation = 0
        self.busy = False
        self.error: str | None = None
        self.last_latency_ms = 0.0               # request → view in the model, the last one
        self._asked_at = 0.0
        self._pages: OrderedDict[int, list[tuple[RuleRow, tuple[str, ...]]]] = \
            OrderedDict()
        self._thread: RuleQueryThread | None = None

    # -- the worker ---------------------------------------------------------------------------
    def start(self) -> None:
        """Start the query thread (again, after ``shutdown``) and ask for the current view."""
        if self._thread is not None and self._thread.isRunning():
            return
        t = RuleQueryThread(self.db_path, self.tables)
        t.viewReady.connect(self._on_view)
        t.failed.connect(self._on_failed)
        t.loading.connect(self._on_loading)
        t.noteSaved.connect(self._on_note_saved)
        t.noteFailed.connect(self.noteFailed)
        self._thread = t
        t.start()
        self.refresh()

    def shutdown(self) -> None:
        """Stop the query thread (idempotent)."""
        t, self._thread = self._thread, None
        if t is not None:
            if not t.stop():  # pragma: no cover - a stuck SQLite call
                log.error("rule query thread did not stop")
            t.deleteLater()
        self._set_busy(False)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    # -- what to show -------------------------------------------------------------------------
    def refresh(self) -> None:
        """Ask again with the current filter, sort and marks (a new rule set, a new note)."""
        if self._thread is None:
            return
        self.generation += 1
        self._asked_at = time.perf_counter()
        self._set_busy(True)
        self._thread.submit(_Query(self.generation, self.filter, self.sort_spec, self.pinned,
                                   self.blocked))

    def set_filter(self, flt: RuleFilter) -> None:
        flt.check()
        if flt != self.filter:
            self.filter = flt
            self.refresh()

    def set_sort(self, sort: RuleSort) -> None:
        sort.check()
        if sort != self.sort_spec:
            self.sort_spec = sort
            self.refresh()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if 0 <= column < len(COLUMNS):
            self.set_sort(RuleSort(COLUMN_KEYS[column],
                                   order == Qt.SortOrder.DescendingOrder))

    def set_pairs(self, pinned: Sequence[Sequence[str]], blocked: Sequence[Sequence[str]]) -> None:
        """The config's pinned and blocked pairs (the Status column)."""
        p = tuple((str(a), str(b)) for a, b in pinned)
        b_ = tuple((str(a), str(b)) for a, b in blocked)
        if (p, b_) != (self.pinned, self.blocked):
            self.pinned, self.blocked = p, b_
            self.refresh()

    def set_note(self, row: int, text: str) -> bool:
        rule = self.rule_at(row)
        if rule is None or self._thread is None:
            return False
        self._thread.submit_note(rule.with_key, rule.suggest_sku, text)
        return True

    # -- reading ------------------------------------------------------------------------------
    def rule_at(self, row: int) -> RuleRow | None:
        got = self._row(row)
        return None if got is None else got[0]

    def _row(self, row: int) -> tuple[RuleRow, tuple[str, ...]] | None:
        """A row's rule and the texts of its cells, read a page at a time."""
        view = self.view
        if view is None or not 0 <= row < len(view):
            return None
        page = row // PAGE
        rows = self._pages.get(page)
        if rows is None:
            rows = [(r, tuple(cell_text(r, k) for k in COLUMN_KEYS))
                    for r in view.page(page * PAGE, PAGE)]
            self._pages[page] = rows
            while len(self._pages) > MAX_PAGES:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(page)
        return rows[row - page * PAGE]

    def row_of(self, rule_id: int) -> int | None:
        """The row showing this rule, None when the filter leaves it out."""
        return None if self.view is None else self.view.position_of(rule_id)

    @property
    def total(self) -> int:
        """Rules in the rule set (all of them, whatever the filter)."""
        return 0 if self.view is None else len(self.view.table)

    # -- Qt's model interface -----------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() or self.view is None else len(self.view)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role not in _ROLES or not index.isValid():
            return None                 # the view asks for a dozen roles per cell
        col = index.column()
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _ALIGN[col]
        got = self._row(index.row())
        if got is None:
            return None
        rule, cells = got
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return cells[col]
        if role == RuleRole:
            return rule
        key = COLUMN_KEYS[col]          # the tooltip
        if key == "with":
            return "\n".join(f"{n} (code {s})" for n, s in zip(rule.with_names, rule.with_skus))
        if key == "suggest":
            return f"{rule.suggest_name} (code {rule.suggest_sku})"
        if key == "note" and rule.note:
            return rule.note
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][1]
        if role == Qt.ItemDataRole.ToolTipRole:
            return _HELP[COLUMN_KEYS[section]]
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        f = super().flags(index)
        if index.isValid() and index.column() == NOTE_COLUMN:
            f |= Qt.ItemFlag.ItemIsEditable
        return f

    def setData(self, index: Index, value: Any,  # noqa: N802
                role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or index.column() != NOTE_COLUMN or \
                role != Qt.ItemDataRole.EditRole:
            return False
        rule = self.rule_at(index.row())
        if rule is None or str(value or "").strip() == rule.note:
            return False
        return self.set_note(index.row(), str(value or ""))

    # -- results from the worker ----------------------------------------------------------------
    def _on_view(self, view: RuleView, generation: int) -> None:
        if generation != self.generation or self._thread is None:
            return              # an answer to a question no longer asked
        self.last_latency_ms = (time.perf_counter() - self._asked_at) * 1000.0
        old = self.view
        self.error = None
        same_rows = (old is not None and len(old) == len(view) and old.table is view.table
                     and old.filter == view.filter and old.sort == view.sort)
        if same_rows and old is not None and view.order.tobytes() == old.order.tobytes():
            # the same rows in the same order (new marks or notes): keep scroll and selection
            self.view = view
            self._pages.clear()
            if len(view):
                self.dataChanged.emit(self.index(0, 0),
                                      self.index(len(view) - 1, len(COLUMNS) - 1))
        else:
            self.beginResetModel()
            self.view = view
            self._pages.clear()
            self.endResetModel()
        self._set_busy(False)
        log.debug("rules view: %d of %d rules in %.0f ms (worker %.0f ms)", len(view),
                  len(view.table), self.last_latency_ms, view.seconds * 1000)
        self.viewChanged.emit()

    def _on_failed(self, message: str, generation: int) -> None:
        if generation not in (-1, self.generation):
            return
        self.error = message
        self._set_busy(False)
        self.queryFailed.emit(message)

    def _on_loading(self, generation: int) -> None:
        if generation == self.generation:
            self.loadingRules.emit()

    def _on_note_saved(self, with_key: str, sku: str, text: str) -> None:
        self.noteSaved.emit(with_key, sku, text)
        self.refresh()

    def _set_busy(self, busy: bool) -> None:
        if busy != self.busy:
            self.busy = busy
            self.busyChanged.emit(busy)


__all__ = ["COLUMNS", "COLUMN_KEYS", "NOTE_COLUMN", "RuleQueryThread", "RuleRole", "RulesModel",
           "cell_text", "product_label"]
