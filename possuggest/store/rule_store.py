"""possuggest's own database: rule sets (one active, earlier ones kept for rollback), rules,
item counts, a product snapshot per set, and the feedback events.

It never touches the till. A new rule set is written and activated in one transaction, so a
crash or kill mid-refresh leaves the previous active set exactly as it was.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from possuggest.core.errors import RuleStoreError
from possuggest.core.products import Product

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
SEP = "\t"

_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS rule_sets (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 0,
    source TEXT,
    n_baskets INTEGER,
    n_items INTEGER,
    n_cross INTEGER,
    n_upgrade INTEGER,
    window_start TEXT,
    window_end TEXT,
    seconds REAL,
    params TEXT,
    notes TEXT
);
CREATE TABLE IF NOT EXISTS rules (
    rule_set_id INTEGER NOT NULL,
    rule_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    antecedent TEXT NOT NULL,
    antecedent_size INTEGER NOT NULL,
    consequent TEXT NOT NULL,
    count INTEGER,
    support REAL,
    confidence REAL,
    lift REAL,
    leverage REAL,
    conviction REAL,
    antecedent_count INTEGER,
    consequent_count INTEGER,
    weight REAL,
    PRIMARY KEY (rule_set_id, rule_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS context_counts (
    rule_set_id INTEGER NOT NULL,
    bucket INTEGER NOT NULL,
    sku TEXT NOT NULL,
    count REAL,
    PRIMARY KEY (rule_set_id, bucket, sku)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS item_counts (
    rule_set_id INTEGER NOT NULL,
    sku TEXT NOT NULL,
    count REAL,
    support REAL,
    PRIMARY KEY (rule_set_id, sku)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS products (
    rule_set_id INTEGER NOT NULL,
    sku TEXT NOT NULL,
    name TEXT, category TEXT, family TEXT,
    price REAL, cost REAL, stock INTEGER, active INTEGER,
    PRIMARY KEY (rule_set_id, sku)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    register TEXT,
    sale_id TEXT,
    sku TEXT NOT NULL,
    kind TEXT,
    rule_id INTEGER,
    rule_set_id INTEGER,
    action TEXT NOT NULL CHECK (action IN ('shown', 'accepted', 'dismissed', 'declined')),
    source TEXT,
    holdout INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS events_sale ON events(register, sale_id);
CREATE INDEX IF NOT EXISTS events_ts ON events(ts);
"""


@dataclass(frozen=True)
class RuleSetInfo:
    """One rule set's record (a row of ``rule_sets``). Refresh fills in what it mined and hands
    it to :meth:`RuleStore.write_rule_set`, which assigns ``id``, ``created_at`` and ``active``
    (the values given for those three are ignored); reads return it complete."""

    id: int = 0                         # 0 until the store has written it
    created_at: str = ""
    active: bool = False
    source: str = ""                    # the till (or file) the sales came from
    n_baskets: int = 0
    n_items: int = 0
    n_cross: int = 0
    n_upgrade: int = 0
    window_start: str | None = None     # the first and last sale mined (till's ISO text)
    window_end: str | None = None
    seconds: float = 0.0                # how long the refresh took
    params: dict[str, Any] = field(default_factory=dict)   # the mining settings used
    notes: list[str] = field(default_factory=list)


@dataclass
class RuleArrays:
    """One rule set, column-wise, ready for the engine's in-memory index."""

    rule_set: RuleSetInfo
    rule_id: np.ndarray
    kind: np.ndarray            # object: 'cross' | 'upgrade'
    antecedent: list[tuple[str, ...]]
    consequent: np.ndarray      # object
    count: np.ndarray
    confidence: np.ndarray
    lift: np.ndarray
    support: np.ndarray
    item_counts: dict[str, float]
    products: dict[str, Product]              # the catalogue as it was when the set was mined
    weight: np.ndarray | None = None          # EASE weight per rule (NaN = none)
    context: dict[int, dict[str, float]] | None = None   # bucket -> sku -> count ('*' = all)


def _num(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isnan(f):
            return None
        if math.isinf(f):
            return 1e308 if f > 0 else -1e308
        return f
    if isinstance(v, (np.integer,)):
        return int(v)
    return v


class RuleStore:
    """possuggest's own SQLite database (WAL). One RuleStore per thread."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), timeout=10.0, isolation_level=None)
            self.conn = conn
            for attempt in range(20):
                try:
                    self._init_schema()
                    break
                except sqlite3.OperationalError as exc:
                    # two connections creating a fresh database at once: one waits its turn
                    if "locked" not in str(exc) or attempt == 19:
                        raise
                    time.sleep(0.05 * (attempt + 1))
        except sqlite3.DatabaseError as exc:
            raise RuleStoreError(f"possuggest database {self.path} is unusable: {exc}") from None
        except OSError as exc:
            raise RuleStoreError(f"possuggest database {self.path} cannot be created: "
                                 f"{exc.strerror}") from None

    def _init_schema(self) -> None:
        conn = self.conn
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.executescript(_DDL)
        cols = {r[1] for r in conn.execute("PRAGMA table_info(rules)")}
        if "weight" not in cols:       # a schema 1 database: add the column in place
            conn.execute("ALTER TABLE rules ADD COLUMN weight REAL")
        conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                     (str(SCHEMA_VERSION),))
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'",
                     (str(SCHEMA_VERSION),))

    @property
    def db(self) -> Any:
        """The same connection as a ``sqlite_utils.Database`` (imported on first use: it pulls
        in pandas, which the panel's start-up path must not pay for)."""
        import sqlite_utils

        return sqlite_utils.Database(self.conn)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> RuleStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- rule sets ------------------------------------------------------------------------
    def write_rule_set(self, rules: Any, item_counts: Any, products: Iterable[Product],
                       info: RuleSetInfo, keep: int = 5, context_counts: Any = None) -> int:
        """Write a complete rule set and make it active (unless a rollback pinned another
        set: then it is only added), all in one transaction.

        ``rules`` is a DataFrame with mining.RULE_COLUMNS; ``item_counts`` has sku, count,
        support; ``products`` is the catalogue snapshot kept with the set. Older sets beyond
        ``keep`` are pruned in the same transaction. Returns the new set's id.
        """
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            cur = c.execute(
                "INSERT INTO rule_sets (created_at, active, source, n_baskets, n_items, n_cross,"
                " n_upgrade, window_start, window_end, seconds, params, notes)"
                " VALUES (?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (time.strftime("%Y-%m-%dT%H:%M:%S"), info.source,
                 int(info.n_baskets), int(info.n_items), int(info.n_cross), int(info.n_upgrade),
                 info.window_start, info.window_end, float(info.seconds),
                 json.dumps(info.params), json.dumps(info.notes)))
            rs_id = int(cur.lastrowid or 0)
            n = len(rules)
            if n:
                ante = [SEP.join(a) for a in rules["antecedent"]]
                sizes = [len(a) for a in rules["antecedent"]]
                if "weight" not in rules:
                    rules = rules.assign(weight=np.nan)
                cols = [rules[k].to_numpy() for k in
                        ("kind", "consequent", "count", "support", "confidence", "lift",
                         "leverage", "conviction", "antecedent_count", "consequent_count",
                         "weight")]
                rows = ((rs_id, i, cols[0][i], ante[i], sizes[i], cols[1][i],
                         _num(cols[2][i]), _num(cols[3][i]), _num(cols[4][i]), _num(cols[5][i]),
                         _num(cols[6][i]), _num(cols[7][i]), _num(cols[8][i]), _num(cols[9][i]),
                         _num(cols[10][i]))
                        for i in range(n))
                c.executemany("INSERT INTO rules (rule_set_id, rule_id, kind, antecedent,"
                              " antecedent_size, consequent, count, support, confidence, lift,"
                              " leverage, conviction, antecedent_count, consequent_count, weight)"
                              " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
            if context_counts is not None and len(context_counts):
                c.executemany("INSERT INTO context_counts VALUES (?,?,?,?)",
                              ((rs_id, int(b), str(k), float(v)) for b, k, v in
                               zip(context_counts["bucket"], context_counts["sku"],
                                   context_counts["count"])))
            db = self.db
            db["item_counts"].insert_all(
                ({"rule_set_id": rs_id, "sku": str(s), "count": float(k), "support": float(p)}
                 for s, k, p in zip(item_counts["sku"], item_counts["count"],
                                    item_counts["support"])), batch_size=5000)
            c.executemany("INSERT INTO products (rule_set_id, sku, name, category, family, price,"
                          " cost, stock, active) VALUES (?,?,?,?,?,?,?,?,?)",
                          ((rs_id, *p.to_row()) for p in products))
            pinned = self.pinned_rule_set()
            if pinned is None:          # a rollback pins its set: a refresh then only adds
                c.execute("UPDATE rule_sets SET active = (id = ?)", (rs_id,))
            self._prune(keep)
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise
        log.info("rule set %d written (%d rules)%s", rs_id, len(rules),
                 "" if pinned is None else f"; rule set {pinned} stays active (pinned)")
        return rs_id

    def _prune(self, keep: int) -> None:
        old = [r[0] for r in self.conn.execute(
            "SELECT id FROM rule_sets WHERE active = 0 ORDER BY id DESC LIMIT -1 OFFSET ?",
            (max(keep - 1, 0),))]
        for rs in old:
            for table in ("rules", "item_counts", "products", "context_counts"):
                self.conn.execute(f"DELETE FROM {table} WHERE rule_set_id = ?", (rs,))
            self.conn.execute("DELETE FROM rule_sets WHERE id = ?", (rs,))

    def _info(self, row: sqlite3.Row | tuple[Any, ...]) -> RuleSetInfo:
        (rid, created, active, source, nb, ni, nc, nu, ws, we, secs, params, notes) = row
        return RuleSetInfo(id=int(rid), created_at=created, active=bool(active),
                           source=source or "", n_baskets=nb or 0, n_items=ni or 0,
                           n_cross=nc or 0, n_upgrade=nu or 0, window_start=ws, window_end=we,
                           seconds=secs or 0.0, params=json.loads(params or "{}"),
                           notes=json.loads(notes or "[]"))

    def rule_sets(self) -> list[RuleSetInfo]:
        return [self._info(r) for r in self.conn.execute(
            "SELECT id, created_at, active, source, n_baskets, n_items, n_cross, n_upgrade,"
            " window_start, window_end, seconds, params, notes FROM rule_sets ORDER BY id DESC")]

    def active_rule_set(self) -> RuleSetInfo | None:
        for info in self.rule_sets():
            if info.active:
                return info
        return None

    def pinned_rule_set(self) -> int | None:
        """The rule set a rollback pinned (refreshes then add sets without activating them)."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'pinned_rule_set'").fetchone()
        return int(row[0]) if row and row[0] else None

    def activate(self, rule_set_id: int, pin: bool = False) -> None:
        """Roll back (or forward) to a kept rule set, in one transaction. ``pin`` keeps it
        active through later refreshes until :meth:`unpin`; without it any pin is cleared."""
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            if not c.execute("SELECT 1 FROM rule_sets WHERE id = ?", (rule_set_id,)).fetchone():
                raise RuleStoreError(f"no rule set {rule_set_id} (see 'possuggest rule-sets')")
            c.execute("UPDATE rule_sets SET active = (id = ?)", (rule_set_id,))
            c.execute("INSERT OR REPLACE INTO meta VALUES ('pinned_rule_set', ?)",
                      (str(rule_set_id) if pin else "",))
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise

    def load_active(self) -> RuleArrays | None:
        """The active rule set, column-wise; None when there is none yet."""
        info = self.active_rule_set()
        if info is None:
            return None
        return self.load(info)

    def load(self, info: RuleSetInfo) -> RuleArrays:
        rows = self.conn.execute(
            "SELECT rule_id, kind, antecedent, consequent, count, confidence, lift, support,"
            " weight FROM rules WHERE rule_set_id = ? ORDER BY rule_id", (info.id,)).fetchall()
        if rows:
            rid, kind, ante, cons, cnt, conf, lift, sup, weight = zip(*rows)
        else:
            rid = kind = ante = cons = cnt = conf = lift = sup = weight = ()
        context: dict[int, dict[str, float]] = {}
        for b, sku, cnt_ in self.conn.execute(
                "SELECT bucket, sku, count FROM context_counts WHERE rule_set_id = ?", (info.id,)):
            context.setdefault(int(b), {})[sku] = float(cnt_)
        items = dict(self.conn.execute(
            "SELECT sku, count FROM item_counts WHERE rule_set_id = ?", (info.id,)).fetchall())
        prods = {str(r[0]): Product.from_row(*r) for r in self.conn.execute(
            "SELECT sku, name, category, family, price, cost, stock, active"
            " FROM products WHERE rule_set_id = ?", (info.id,))}
        return RuleArrays(
            rule_set=info,
            rule_id=np.array(rid, dtype=np.int64),
            kind=np.array(kind, dtype=object),
            antecedent=[tuple(a.split(SEP)) for a in ante],
            consequent=np.array(cons, dtype=object),
            count=np.array(cnt, dtype=np.float64),
            confidence=np.array(conf, dtype=np.float64),
            lift=np.array([np.nan if v is None else v for v in lift], dtype=np.float64),
            support=np.array(sup, dtype=np.float64),
            item_counts={str(k): float(v) for k, v in items.items()},
            products=prods,
            weight=np.array([np.nan if v is None else v for v in weight], dtype=np.float64),
            context=context or None)

    def iter_rules(self, rule_set_id: int, sku: str | None = None, kind: str | None = None,
                   limit: int | None = None) -> Iterator[dict[str, Any]]:
        """Rules of a set, strongest first (by lift for cross, share for upgrades)."""
        where = ["rule_set_id = ?"]
        params: list[Any] = [rule_set_id]
        if kind:
            where.append("kind = ?")
            params.append(kind)
        if sku:
            where.append("(consequent = ? OR (SEP || antecedent || SEP) LIKE ?)".replace(
                "SEP", "char(9)"))
            params += [sku, f"%\t{sku}\t%"]
        q = ("SELECT rule_id, kind, antecedent, consequent, count, support, confidence, lift,"
             " leverage, conviction FROM rules WHERE " + " AND ".join(where) +
             " ORDER BY confidence * COALESCE(MIN(lift, 50), 1) DESC, count DESC")
        if limit:
            q += f" LIMIT {int(limit)}"
        for r in self.conn.execute(q, params):
            yield {"rule_id": r[0], "kind": r[1], "antecedent": r[2].split(SEP),
                   "consequent": r[3], "count": r[4], "support": r[5], "confidence": r[6],
                   "lift": r[7], "leverage": r[8], "conviction": r[9]}

    # -- events ---------------------------------------------------------------------------
    def log_events(self, events: Iterable[dict[str, Any]]) -> int:
        """Append feedback events (shown / accepted / dismissed) in one transaction."""
        rows = [(e.get("ts") or time.strftime("%Y-%m-%dT%H:%M:%S"), e.get("register"),
                 None if e.get("sale_id") is None else str(e.get("sale_id")), e["sku"],
                 e.get("kind"), e.get("rule_id"), e.get("rule_set_id"), e["action"],
                 e.get("source"), int(bool(e.get("holdout", False)))) for e in events]
        if not rows:
            return 0
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            c.executemany("INSERT INTO events (ts, register, sale_id, sku, kind, rule_id,"
                          " rule_set_id, action, source, holdout) VALUES (?,?,?,?,?,?,?,?,?,?)",
                          rows)
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise
        return len(rows)

    def events(self, sale_id: str | None = None) -> list[dict[str, Any]]:
        q = ("SELECT id, ts, register, sale_id, sku, kind, rule_id, rule_set_id, action, source,"
             " holdout FROM events")
        params: tuple[Any, ...] = ()
        if sale_id is not None:
            q += " WHERE sale_id = ?"
            params = (str(sale_id),)
        cols = ["id", "ts", "register", "sale_id", "sku", "kind", "rule_id", "rule_set_id",
                "action", "source", "holdout"]
        return [dict(zip(cols, r)) for r in self.conn.execute(q + " ORDER BY id", params)]


def arrays_from_mining(rules: Any, item_counts: Any, n_baskets: int,
                       products: dict[str, Product] | None = None,
                       rule_set_id: int = 0, context_counts: Any = None) -> RuleArrays:
    """A mined rule set straight into the engine's form, without a database (evaluation)."""
    info = RuleSetInfo(id=rule_set_id, active=True, source="memory", n_baskets=int(n_baskets),
                       n_items=len(item_counts), n_cross=int((rules["kind"] == "cross").sum()),
                       n_upgrade=int((rules["kind"] == "upgrade").sum()))
    return RuleArrays(
        rule_set=info,
        rule_id=np.arange(len(rules), dtype=np.int64),
        kind=rules["kind"].to_numpy(dtype=object),
        antecedent=[tuple(a) for a in rules["antecedent"]],
        consequent=rules["consequent"].to_numpy(dtype=object),
        count=rules["count"].to_numpy(dtype=np.float64),
        confidence=rules["confidence"].to_numpy(dtype=np.float64),
        lift=rules["lift"].to_numpy(dtype=np.float64),
        support=rules["support"].to_numpy(dtype=np.float64),
        item_counts={str(s): float(c) for s, c in zip(item_counts["sku"], item_counts["count"])},
        products=products or {},
        weight=(rules["weight"].to_numpy(dtype=np.float64) if "weight" in rules
                else np.full(len(rules), np.nan)),
        context=_context_dict(context_counts))


def _context_dict(df: Any) -> dict[int, dict[str, float]] | None:
    if df is None or not len(df):
        return None
    out: dict[int, dict[str, float]] = {}
    for b, sku, cnt in zip(df["bucket"], df["sku"], df["count"]):
        out.setdefault(int(b), {})[str(sku)] = float(cnt)
    return out
