"""Paged, sorted and filtered views of one rule set for the manager's rules browser, and the
manager's notes on rules (the ``rule_notes`` table).

A rule set is read from possuggest's database once (:class:`RuleTable`: the columns a filter or
a sort needs, column-wise in numpy, with product names and categories from the set's
``products`` snapshot) and a filter or sort is then a few vector operations: a
:class:`RuleView` is the filtered rows in their order, and any page of it is read straight
from the table. With 500,000 rules a filter or sort takes tens of milliseconds and a page well
under one (benchmarks/bench_rules_browser.py), where SQL ``ORDER BY … LIMIT … OFFSET`` needs
about 0.2 s for a first page and 2 s for a deep one without indexes, and indexes that would
help double the database and still leave sorts by product name and filtered deep pages slow.
Rule sets never change once written, so a loaded table stays valid until it is pruned.

Notes are keyed by the rule's products, ``(with_sku, suggest_sku)`` (``with_sku`` being the
antecedent as stored: its SKUs sorted and joined by a tab), not by rule id, so a note stays
with the pair through later refreshes.

Like :class:`~possuggest.store.rule_store.RuleStore`, one :class:`RuleQuery` per thread.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from possuggest.core.errors import RuleStoreError
from possuggest.store.rule_store import SEP, RuleSetInfo, RuleStore

log = logging.getLogger(__name__)

KINDS = ("cross", "upgrade")
SIDES = ("any", "with", "suggest")
STATUSES = ("", "pinned", "blocked", "noted", "plain")
#: the columns a view can be sorted by
SORT_COLUMNS = ("rule_id", "with", "suggest", "category", "kind", "count", "support",
                "confidence", "lift", "status", "note")

PLAIN, PINNED, BLOCKED = 0, 1, 2
STATUS_TEXT = {PLAIN: "", PINNED: "pinned", BLOCKED: "blocked"}

IntArray = np.ndarray[Any, np.dtype[np.int64]]
FloatArray = np.ndarray[Any, np.dtype[np.float64]]
BoolArray = np.ndarray[Any, np.dtype[np.bool_]]


@dataclass(frozen=True)
class RuleFilter:
    """Which rules a view holds. ``product``: part of a product's name or code (any case),
    found on the side ``side`` names ('any', 'with' = the basket side, 'suggest'); the same
    side applies to ``category`` (a category name, any case). ``status``: '' (all),
    'pinned', 'blocked', 'noted' (has a note) or 'plain' (neither pinned nor blocked)."""

    product: str = ""
    side: str = "any"
    category: str = ""
    kind: str = ""                 # '' (both), 'cross' or 'upgrade'
    min_count: float = 0.0
    min_confidence: float = 0.0
    min_lift: float = 0.0
    status: str = ""

    def check(self) -> None:
        """Raise ValueError naming a bad field (the tab's fields cannot produce one)."""
        if self.side not in SIDES:
            raise ValueError(f"side must be one of {', '.join(SIDES)}, not {self.side!r}")
        if self.kind not in ("", *KINDS):
            raise ValueError(f"kind must be cross or upgrade, not {self.kind!r}")
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES[1:])}, "
                             f"not {self.status!r}")
        for name in ("min_count", "min_confidence", "min_lift"):
            v = getattr(self, name)
            if not math.isfinite(v) or v < 0:
                raise ValueError(f"{name} must be a number of at least 0, not {v!r}")


@dataclass(frozen=True)
class RuleSort:
    column: str = "lift"
    descending: bool = True

    def check(self) -> None:
        if self.column not in SORT_COLUMNS:
            raise ValueError(f"cannot sort by {self.column!r}: one of {', '.join(SORT_COLUMNS)}")


@dataclass(frozen=True)
class RuleRow:
    """One rule as the browser shows it."""

    rule_id: int
    kind: str
    with_skus: tuple[str, ...]
    with_names: tuple[str, ...]
    suggest_sku: str
    suggest_name: str
    category: str                  # the suggested product's
    count: float
    support: float
    confidence: float
    lift: float                    # NaN when the set has none
    status: str                    # '', 'pinned' or 'blocked'
    note: str

    @property
    def with_key(self) -> str:
        """The rule's basket side as ``rule_notes`` keys it."""
        return SEP.join(self.with_skus)

    @property
    def pairs(self) -> list[tuple[str, str]]:
        """The (with_sku, suggest_sku) pairs pin and block act on: one per basket-side item."""
        return [(a, self.suggest_sku) for a in self.with_skus]


@dataclass(frozen=True, eq=False)
class RuleTable:
    """One rule set, read once: rows in rule-id order, products by index."""

    rule_set: RuleSetInfo
    rule_id: IntArray
    upgrade: BoolArray
    count: FloatArray
    support: FloatArray
    confidence: FloatArray
    lift: FloatArray               # NaN when none
    cons: IntArray                 # product index of the suggested item
    ante: IntArray                 # product index of the first basket-side item
    # every (row, basket-side item) pair, for rules with several basket-side items too
    item_row: IntArray
    item: IntArray
    skus: tuple[str, ...]          # product index -> SKU / name / category
    names: tuple[str, ...]
    categories: tuple[str, ...]
    name_rank: IntArray            # product index -> position in name order
    category_rank: IntArray
    sku_index: Mapping[str, int]
    load_seconds: float = 0.0
    # full-table orders by column and direction, made on first use (the query thread's)
    _orders: dict[tuple[str, bool], IntArray] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.rule_id)

    def order(self, column: str, descending: bool) -> IntArray:
        """Every row sorted by one of the table's own columns (not status or note), ties in
        rule-id order in both directions. Made once per column and direction: a sort is
        then a gather through it (a stable sort of 500,000 floats takes ~0.1 s)."""
        got = self._orders.get((column, descending))
        if got is not None:
            return got
        if column == "rule_id":
            rows = np.arange(len(self), dtype=np.int64)
            got = rows[::-1].copy() if descending else rows
        elif column in ("count", "support", "confidence", "lift"):
            up = self._orders.get((column, False))
            if up is None:
                key = np.nan_to_num(np.asarray(getattr(self, column), dtype=np.float64),
                                    nan=-np.inf)          # no value sorts lowest
                up = np.argsort(key, kind="stable")
                self._orders[(column, False)] = up
            got = _reverse_keeping_ties(up, getattr(self, column)) if descending else up
        else:
            rank = {"kind": self.upgrade.astype(np.int64),
                    "suggest": self.name_rank[self.cons], "with": self.name_rank[self.ante],
                    "category": self.category_rank[self.cons]}[column]
            top = int(rank.max()) if len(rank) else 0
            if descending:
                rank = top - rank
            if top < 1 << 16:           # small whole numbers: numpy's radix sort
                rank = rank.astype(np.uint16)
            got = np.argsort(rank, kind="stable")
        got = np.asarray(got, dtype=np.int64)
        self._orders[(column, descending)] = got
        return got

    @property
    def n_products(self) -> int:
        return len(self.skus)

    def category_names(self) -> list[str]:
        """The categories of the set's products, sorted, without the empty one."""
        return sorted({c for c in self.categories if c}, key=str.casefold)

    def products_matching(self, text: str) -> BoolArray:
        """Per product: its name or code holds ``text`` (any case)."""
        t = text.strip().casefold()
        out = np.zeros(self.n_products, dtype=bool)
        if not t:
            out[:] = True
            return out
        for i, (sku, name) in enumerate(zip(self.skus, self.names)):
            if t in name.casefold() or t in sku.casefold():
                out[i] = True
        return out

    def products_in_category(self, category: str) -> BoolArray:
        c = category.strip().casefold()
        return np.fromiter((x.casefold() == c for x in self.categories), dtype=bool,
                           count=self.n_products)

    def rows_touching(self, products: BoolArray, side: str) -> BoolArray:
        """Per rule: one of ``products`` is on ``side`` ('any', 'with', 'suggest')."""
        out = np.zeros(len(self), dtype=bool)
        if side in ("any", "suggest"):
            out |= products[self.cons]
        if side in ("any", "with"):
            out[self.item_row[products[self.item]]] = True
        return out

    def pair_rows(self, pairs: Iterable[Sequence[str]]) -> BoolArray:
        """Per rule: one of its (basket item, suggested item) pairs is among ``pairs``;
        '*' on either side of a pair stands for any product (as ``policy.blocked`` has it)."""
        out = np.zeros(len(self), dtype=bool)
        keys: list[int] = []
        any_with: list[int] = []
        any_suggest: list[int] = []
        n = self.n_products
        for pair in pairs:
            if len(pair) != 2:
                continue
            a, b = str(pair[0]), str(pair[1])
            ia, ib = self.sku_index.get(a), self.sku_index.get(b)
            if a == "*" and ib is not None:
                any_suggest.append(ib)
            elif b == "*" and ia is not None:
                any_with.append(ia)
            elif ia is not None and ib is not None:
                keys.append(ia * n + ib)
        if keys:
            pair_key = self.item * n + self.cons[self.item_row]
            out[self.item_row[np.isin(pair_key, np.array(keys, dtype=np.int64))]] = True
        if any_suggest:
            out |= np.isin(self.cons, np.array(any_suggest, dtype=np.int64))
        if any_with:
            hit = np.isin(self.item, np.array(any_with, dtype=np.int64))
            out[self.item_row[hit]] = True
        return out

    def with_skus(self, row: int) -> tuple[str, ...]:
        lo, hi = np.searchsorted(self.item_row, [row, row + 1])
        return tuple(self.skus[int(i)] for i in self.item[lo:hi])

    def rows_of_pair(self, with_key: str, suggest_sku: str) -> IntArray:
        """The rows of the rule(s) with exactly this basket side and suggested item."""
        items = with_key.split(SEP)
        idx = [self.sku_index.get(s) for s in items]
        j = self.sku_index.get(suggest_sku)
        if j is None or any(i is None for i in idx):
            return np.zeros(0, dtype=np.int64)
        first = idx[0]
        rows = np.flatnonzero((self.cons == j) & (self.ante == first))
        return np.array([r for r in rows if self.with_skus(int(r)) == tuple(items)],
                        dtype=np.int64)


def _reverse_keeping_ties(order: IntArray, values: FloatArray) -> IntArray:
    """An ascending stable order turned descending in O(n): equal values keep their
    ascending (rule-id) order instead of being reversed with the rest."""
    rev = order[::-1]
    n = len(rev)
    if n == 0:
        return rev.copy()
    v = np.nan_to_num(values[rev], nan=-np.inf)
    new_run = np.empty(n, dtype=bool)
    new_run[0] = True
    new_run[1:] = v[1:] != v[:-1]
    starts = np.flatnonzero(new_run)
    ends = np.append(starts[1:], n) - 1
    run = np.cumsum(new_run) - 1
    pos = starts[run] + ends[run] - np.arange(n)       # each run read backwards
    return np.asarray(rev[pos], dtype=np.int64)


@dataclass(frozen=True, eq=False)
class RuleMarks:
    """The manager's marks on one table's rules: pinned / blocked (from the config's pairs)
    and notes (from ``rule_notes``)."""

    status: np.ndarray[Any, np.dtype[np.int8]]     # PLAIN / PINNED / BLOCKED per row
    notes: Mapping[int, str]                        # row -> note

    @classmethod
    def build(cls, table: RuleTable, pinned: Iterable[Sequence[str]],
              blocked: Iterable[Sequence[str]], notes: Mapping[tuple[str, str], str]
              ) -> RuleMarks:
        """A blocked pair wins over a pinned one, as in the engine."""
        status = np.zeros(len(table), dtype=np.int8)
        status[table.pair_rows(pinned)] = PINNED
        status[table.pair_rows(blocked)] = BLOCKED
        by_row: dict[int, str] = {}
        for (with_key, sku), text in notes.items():
            for r in table.rows_of_pair(with_key, sku):
                by_row[int(r)] = text
        return cls(status, by_row)


@dataclass(frozen=True, eq=False)
class RuleView:
    """The rules a filter keeps, in the sort's order (positions index ``order``)."""

    table: RuleTable
    marks: RuleMarks
    filter: RuleFilter
    sort: RuleSort
    order: IntArray                # table rows
    seconds: float = 0.0           # how long the filter and sort took

    def __len__(self) -> int:
        return len(self.order)

    @property
    def rule_set_id(self) -> int:
        return self.table.rule_set.id

    def row(self, position: int) -> RuleRow:
        t, r = self.table, int(self.order[position])
        with_skus = t.with_skus(r)
        cons = int(t.cons[r])
        return RuleRow(
            rule_id=int(t.rule_id[r]), kind="upgrade" if t.upgrade[r] else "cross",
            with_skus=with_skus,
            with_names=tuple(t.names[t.sku_index[s]] for s in with_skus),
            suggest_sku=t.skus[cons], suggest_name=t.names[cons], category=t.categories[cons],
            count=float(t.count[r]), support=float(t.support[r]),
            confidence=float(t.confidence[r]), lift=float(t.lift[r]),
            status=STATUS_TEXT[int(self.marks.status[r])], note=self.marks.notes.get(r, ""))

    def page(self, offset: int, limit: int) -> list[RuleRow]:
        lo = max(0, offset)
        hi = min(len(self.order), lo + max(0, limit))
        return [self.row(p) for p in range(lo, hi)]

    def position_of(self, rule_id: int) -> int | None:
        """Where a rule is in this view; None when the filter leaves it out."""
        t = self.table
        r = int(np.searchsorted(t.rule_id, rule_id))
        if r >= len(t) or int(t.rule_id[r]) != rule_id:
            return None
        hit = np.flatnonzero(self.order == r)
        return int(hit[0]) if len(hit) else None

    def sample(self, limit: int, keep: Iterable[int] = ()) -> dict[str, np.ndarray[Any, Any]]:
        """At most ``limit`` of the view's rules for a chart: those of highest lift, plus the
        rules ``keep`` names (e.g. the one selected) when the view holds them. Columns
        rule_id, support, confidence, lift (NaN lift counts as 0 here)."""
        t = self.table
        rows = self.order
        if len(rows) > limit:
            lift = np.nan_to_num(t.lift[rows], nan=0.0)
            top = rows[np.argpartition(-lift, limit - 1)[:limit]] if limit > 0 else rows[:0]
            extra = [int(self.order[p]) for p in (self.position_of(k) for k in keep)
                     if p is not None]
            rows = np.union1d(top, np.array(extra, dtype=np.int64))
        return {"rule_id": t.rule_id[rows], "support": t.support[rows],
                "confidence": t.confidence[rows],
                "lift": np.nan_to_num(t.lift[rows], nan=0.0)}


def select(table: RuleTable, marks: RuleMarks, flt: RuleFilter, sort: RuleSort) -> RuleView:
    """Filter and sort ``table``: the view's rows (ties keep rule-id order)."""
    flt.check()
    sort.check()
    t0 = time.perf_counter()
    mask = np.ones(len(table), dtype=bool)
    if flt.kind:
        mask &= table.upgrade if flt.kind == "upgrade" else ~table.upgrade
    if flt.min_count > 0:
        mask &= table.count >= flt.min_count
    if flt.min_confidence > 0:
        mask &= table.confidence >= flt.min_confidence
    if flt.min_lift > 0:
        mask &= np.nan_to_num(table.lift, nan=0.0) >= flt.min_lift
    if flt.product.strip():
        mask &= table.rows_touching(table.products_matching(flt.product), flt.side)
    if flt.category.strip():
        mask &= table.rows_touching(table.products_in_category(flt.category), flt.side)
    if flt.status in ("pinned", "blocked"):
        mask &= marks.status == (PINNED if flt.status == "pinned" else BLOCKED)
    elif flt.status == "plain":
        mask &= marks.status == PLAIN
    elif flt.status == "noted":
        noted = np.zeros(len(table), dtype=bool)
        noted[list(marks.notes)] = True
        mask &= noted
    if sort.column in ("status", "note"):
        rows = np.flatnonzero(mask)
        key = _mark_key(marks, sort.column, rows)
        rows = rows[np.argsort(-key if sort.descending else key, kind="stable")]
    else:
        order = table.order(sort.column, sort.descending)
        rows = order if mask.all() else order[mask[order]]
    return RuleView(table, marks, flt, sort, rows, time.perf_counter() - t0)


def _mark_key(marks: RuleMarks, column: str, rows: IntArray) -> np.ndarray[Any, Any]:
    """The manager's marks ``rows`` are sorted on: status, or notes by their text."""
    if column == "status":
        return marks.status[rows].astype(np.int16)
    texts = sorted(set(marks.notes.values()), key=str.casefold)
    rank = {t: i + 1 for i, t in enumerate(texts)}
    key = np.zeros(len(rows), dtype=np.int64)
    if marks.notes:
        noted = np.array(sorted(marks.notes), dtype=np.int64)
        where = np.flatnonzero(np.isin(rows, noted))
        key[where] = [rank[marks.notes[int(rows[i])]] for i in where]
    return key


class RuleQuery:
    """Rule views and notes over possuggest's database (its own connection: one per thread).
    Loaded tables are kept in ``tables`` (by rule set id), which the caller may share with
    a later RuleQuery to skip loading again."""

    def __init__(self, path: str | Path, tables: dict[int, RuleTable] | None = None) -> None:
        self.path = Path(path)
        self.store = RuleStore(self.path)
        self.tables: dict[int, RuleTable] = tables if tables is not None else {}
        self._marks: tuple[Any, ...] | None = None

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> RuleQuery:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def interrupt(self) -> None:
        """Stop a query running in another thread (it raises there); safe from any thread."""
        self.store.conn.interrupt()

    # -- rule sets ----------------------------------------------------------------------------
    def active_rule_set(self) -> RuleSetInfo | None:
        return self.store.active_rule_set()

    def table(self, rule_set_id: int | None = None) -> RuleTable:
        """The rule set's table (the active set when None), loaded on first use. Raises
        RuleStoreError when there is no such set."""
        info = self._info(rule_set_id)
        table = self.tables.get(info.id)
        if table is None:
            table = self._load(info)
            for old in [k for k in self.tables if k != info.id]:
                del self.tables[old]          # one set at a time: the browser shows one
            self.tables[info.id] = table
        return table

    def _info(self, rule_set_id: int | None) -> RuleSetInfo:
        sets = self.store.rule_sets()
        for info in sets:
            if (info.active if rule_set_id is None else info.id == rule_set_id):
                return info
        if rule_set_id is None:
            raise RuleStoreError("no rules yet: refresh the rules first")
        raise RuleStoreError(f"no rule set {rule_set_id} (it may have been pruned)")

    def _load(self, info: RuleSetInfo) -> RuleTable:
        t0 = time.perf_counter()
        conn = self.store.conn
        with self.store._sql():
            prows = conn.execute("SELECT sku, name, category FROM products WHERE rule_set_id = ?"
                                 " ORDER BY sku", (info.id,)).fetchall()
            rows = conn.execute(
                "SELECT rule_id, kind = 'upgrade', antecedent, consequent, count, support,"
                " confidence, lift FROM rules WHERE rule_set_id = ? ORDER BY rule_id",
                (info.id,)).fetchall()
        skus = [str(r[0]) for r in prows]
        names = [str(r[1]) if r[1] is not None else str(r[0]) for r in prows]
        cats = [str(r[2] or "") for r in prows]
        index = {s: i for i, s in enumerate(skus)}

        def idx(sku: str) -> int:         # a rule's SKU missing from the snapshot
            i = index.get(sku)
            if i is None:
                i = index[sku] = len(skus)
                skus.append(sku)
                names.append(sku)
                cats.append("")
            return i

        n = len(rows)
        # one object array, then a column at a time (faster than zip(*rows) at 500,000 rules)
        grid = np.array(rows, dtype=object).reshape(n, 8)
        cons_idx = np.array([index[c] if c in index else idx(c) for c in grid[:, 3]],
                            dtype=np.int64)
        first = np.empty(n, dtype=np.int64)
        extra_rows: list[int] = []
        extra_items: list[int] = []
        for r, a in enumerate(grid[:, 2]):
            if SEP in a:
                parts = a.split(SEP)
                first[r] = idx(parts[0])
                extra_rows += [r] * (len(parts) - 1)
                extra_items += [idx(p) for p in parts[1:]]
            else:
                first[r] = index[a] if a in index else idx(a)
        item_row = np.arange(n, dtype=np.int64)
        item = first
        if extra_rows:
            item_row = np.concatenate([item_row, np.array(extra_rows, dtype=np.int64)])
            item = np.concatenate([first, np.array(extra_items, dtype=np.int64)])
            o = np.argsort(item_row, kind="stable")
            item_row, item = item_row[o], item[o]
        name_order = sorted(range(len(skus)), key=lambda i: (names[i].casefold(), skus[i]))
        name_rank = np.empty(len(skus), dtype=np.int64)
        name_rank[name_order] = np.arange(len(skus))
        cat_order = sorted(range(len(skus)),
                           key=lambda i: (cats[i].casefold(), names[i].casefold(), skus[i]))
        cat_rank = np.empty(len(skus), dtype=np.int64)
        cat_rank[cat_order] = np.arange(len(skus))

        def floats(col: np.ndarray[Any, Any]) -> FloatArray:
            return col.astype(np.float64)          # NULL (no lift) becomes NaN

        table = RuleTable(
            rule_set=info, rule_id=grid[:, 0].astype(np.int64),
            upgrade=grid[:, 1].astype(bool), count=floats(grid[:, 4]),
            support=floats(grid[:, 5]), confidence=floats(grid[:, 6]),
            lift=floats(grid[:, 7]), cons=cons_idx, ante=first.copy(),
            item_row=item_row, item=item, skus=tuple(skus), names=tuple(names),
            categories=tuple(cats), name_rank=name_rank, category_rank=cat_rank,
            sku_index=dict(index), load_seconds=time.perf_counter() - t0)
        for column in ("lift", "confidence", "count", "support"):
            table.order(column, column == "lift")   # a first sort by any number is instant
        log.info("rule set %d read for browsing: %d rules in %.2f s", info.id, n,
                 table.load_seconds)
        return table

    # -- views ------------------------------------------------------------------------------
    def marks(self, table: RuleTable, pinned: Iterable[Sequence[str]] = (),
              blocked: Iterable[Sequence[str]] = ()) -> RuleMarks:
        """The marks on ``table``'s rules (the last ones again while nothing changed)."""
        pins = tuple(tuple(str(x) for x in p) for p in pinned)
        blocks = tuple(tuple(str(x) for x in p) for p in blocked)
        notes = self.notes()
        last = self._marks
        if last is not None and last[0] is table and last[1:4] == (pins, blocks, notes):
            return last[4]
        marks = RuleMarks.build(table, pins, blocks, notes)
        self._marks = (table, pins, blocks, notes, marks)
        return marks

    def query(self, flt: RuleFilter | None = None, sort: RuleSort | None = None, *,
              pinned: Iterable[Sequence[str]] = (), blocked: Iterable[Sequence[str]] = (),
              rule_set_id: int | None = None) -> RuleView:
        """The rules of a set (the active one when None) that ``flt`` keeps, sorted."""
        table = self.table(rule_set_id)
        return select(table, self.marks(table, pinned, blocked), flt or RuleFilter(),
                      sort or RuleSort())

    # -- notes ------------------------------------------------------------------------------
    def notes(self) -> dict[tuple[str, str], str]:
        """Every note: (with_sku, suggest_sku) -> text."""
        with self.store._sql():
            return {(str(a), str(b)): str(n) for a, b, n in self.store.conn.execute(
                "SELECT with_sku, suggest_sku, note FROM rule_notes")}

    def note(self, with_sku: str, suggest_sku: str) -> str:
        with self.store._sql():
            row = self.store.conn.execute(
                "SELECT note FROM rule_notes WHERE with_sku = ? AND suggest_sku = ?",
                (with_sku, suggest_sku)).fetchone()
        return str(row[0]) if row else ""

    def set_note(self, with_sku: str, suggest_sku: str, text: str) -> None:
        """Keep a note on the pair; empty text removes it. Raises RuleStoreError (one line)
        when it cannot be saved."""
        if not with_sku or not suggest_sku:
            raise RuleStoreError("a note needs the rule's products on both sides")
        text = text.strip()
        with self.store._sql("the note was not saved"):
            if text:
                self.store.conn.execute(
                    "INSERT INTO rule_notes (with_sku, suggest_sku, note, updated_at)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (with_sku, suggest_sku) DO UPDATE SET"
                    " note = excluded.note, updated_at = excluded.updated_at",
                    (with_sku, suggest_sku, text, time.strftime("%Y-%m-%dT%H:%M:%S")))
            else:
                self.store.conn.execute(
                    "DELETE FROM rule_notes WHERE with_sku = ? AND suggest_sku = ?",
                    (with_sku, suggest_sku))


__all__ = ["KINDS", "SIDES", "SORT_COLUMNS", "STATUSES", "RuleFilter", "RuleMarks", "RuleQuery",
           "RuleRow", "RuleSort", "RuleTable", "RuleView", "select"]
