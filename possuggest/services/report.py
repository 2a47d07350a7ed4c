"""What suggestions earn, over a chosen period: the figures behind ``possuggest report`` and
the manager console's Earnings tab.

Everything comes from possuggest's own database, never the till: the **sales** table (one
record per ended sale, holdout sales included: serving/sale_session.py) and the **events**
table (each card shown / accepted / dismissed / declined). Both are read through the daily
summaries the database keeps in step with them by triggers (``sales_daily``, ``event_daily``
in store/rule_store.py), so a report over a million sales and their events is a few small
GROUP BYs, not a pass over millions of rows.

The figures (a period is whole days, ``date_from`` to ``date_to`` inclusive, by the day a
sale ended or an event was logged):

- **sales**, **holdout_sales** (the control group: shown no suggestions), **treated_sales**;
- **shown**, **accepted** (accepted at the counter, less those never rung up: the 'declined'
  events), **acceptance_rate** = accepted / shown; the same by kind, by the suggested item's
  category, by card (rule), and per register ("cashier", from the sale records);
- **attach_rate** = treated sales in which a suggested item was accepted / treated sales in
  which at least one card was shown (sales that saw no card cannot attach one);
- **basket_value** and **items_per_basket** (units), treated sales against holdout sales;
- **uplift_per_1000_sales**: 1,000 x (mean basket value of treated sales - mean of holdout
  sales), i.e. what 1,000 sales with suggestions take over 1,000 without, with a 95%
  **Welch's t interval** (unequal variances, Welch-Satterthwaite degrees of freedom) on the
  per-sale difference; **uplift_pct**: the same as a percentage of the holdout mean, its
  interval by the delta method with the same t quantile;
- **sales_needed**: how many more sales (at the present holdout share, spread and effect)
  before that interval excludes zero; 0 when it already does, None when it cannot be said
  (no effect measured, or no holdout sales);
- **trend**: the above per day; **by_rule**: the best cards by accepted revenue, and the
  worst among those shown at least ``MIN_RULE_SHOWS`` times (lowest accepted revenue per
  card shown). Accepted revenue counts each accepted card at its price (an upgrade at its
  price difference to the item it upgrades) in the product snapshot of the rule set that
  showed it.

Bad input: a damaged database or one whose tables are not possuggest's raises
:class:`ReportError` with one line; a period with no sales gives a report of zero sales whose
``message`` says so. Qt-free; the console runs :func:`build_report` in a worker thread.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import sqlite3
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from possuggest.core.errors import Cancelled, PossuggestError
from possuggest.core.progress import CancelledFn, ProgressFn, check_cancelled

log = logging.getLogger(__name__)

METHOD = ("Welch's t interval (unequal variances, Welch-Satterthwaite degrees of freedom) on "
          "the difference in mean basket value per sale, sales with suggestions against "
          "holdout sales; the percentage's interval by the delta method")
CONFIDENCE = 0.95
MIN_RULE_SHOWS = 20         # a card must be shown this often to count among the worst
TOP_RULES = 10
_GLOB_MONTH = "[0-9][0-9][0-9][0-9]-[0-9][0-9]"
_GLOB_DAY = _GLOB_MONTH + "-[0-9][0-9]"


class ReportError(PossuggestError):
    """The report cannot be made (no database, a damaged one, a bad period); one line."""


@dataclass
class _Sums:
    """Sums over sales (a day, a register, treated or holdout): enough for means, variances
    and rates."""

    n: int = 0
    value: float = 0.0
    value_sq: float = 0.0
    items: float = 0.0
    with_shown: int = 0
    with_accepted: int = 0
    shown: int = 0
    accepted: int = 0
    accepted_value: float = 0.0

    def add(self, row: tuple[Any, ...]) -> None:
        n, value, value_sq, items, ws, wa, shown, acc, av = row
        self.n += _int(n)
        self.value += _float(value)
        self.value_sq += _float(value_sq)
        self.items += _float(items)
        self.with_shown += _int(ws)
        self.with_accepted += _int(wa)
        self.shown += _int(shown)
        self.accepted += _int(acc)
        self.accepted_value += _float(av)

    def mean(self) -> float | None:
        return self.value / self.n if self.n else None

    def items_mean(self) -> float | None:
        return self.items / self.n if self.n else None

    def var(self) -> float | None:
        """Sample variance of the basket value (None below two sales)."""
        if self.n < 2:
            return None
        m = self.value / self.n
        return max((self.value_sq - self.n * m * m) / (self.n - 1), 0.0)


@dataclass
class Report:
    """What suggestions earned over a period (see the module docstring for each figure).
    Money is in the till's currency; rates are fractions (0..1); None = cannot be said."""

    period_from: date | None
    period_to: date | None
    first_day: str | None = None            # the first and last day with sales in the period
    last_day: str | None = None
    sales: int = 0
    holdout_sales: int = 0
    treated_sales: int = 0
    shown: int = 0
    accepted: int = 0
    dismissed: int = 0
    acceptance_rate: float | None = None
    attach_rate: float | None = None
    sales_with_cards: int = 0               # treated sales that saw at least one card
    sales_with_accepted: int = 0            # ... in which one was accepted
    accepted_revenue: float = 0.0           # accepted cards x card price (attributed)
    basket_value: dict[str, float | None] = field(
        default_factory=lambda: {"treated": None, "holdout": None})
    items_per_basket: dict[str, float | None] = field(
        default_factory=lambda: {"treated": None, "holdout": None})
    uplift_per_1000_sales: dict[str, Any] = field(
        default_factory=lambda: {"estimate": None, "ci95": None})
    uplift_pct: dict[str, Any] = field(default_factory=lambda: {"estimate": None, "ci95": None})
    method: str = METHOD
    sales_needed: int | None = None
    holdout_share: float | None = None      # observed: holdout sales / sales
    by_kind: list[dict[str, Any]] = field(default_factory=list)
    by_category: list[dict[str, Any]] = field(default_factory=list)
    by_cashier: list[dict[str, Any]] = field(default_factory=list)
    by_rule: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {"best": [], "worst": []})
    trend: list[dict[str, Any]] = field(default_factory=list)
    message: str = ""                       # one line for the manager when a figure is missing
    notes: list[str] = field(default_factory=list)

    @property
    def significant(self) -> bool:
        """The uplift's 95% interval excludes zero."""
        ci = self.uplift_per_1000_sales.get("ci95")
        return bool(ci) and (ci[0] > 0 or ci[1] < 0)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (dates as ISO text)."""
        return {
            "period": {"from": _iso(self.period_from), "to": _iso(self.period_to),
                       "first_day": self.first_day, "last_day": self.last_day},
            "sales": self.sales, "holdout_sales": self.holdout_sales,
            "treated_sales": self.treated_sales, "holdout_share": _round(self.holdout_share, 4),
            "shown": self.shown, "accepted": self.accepted, "dismissed": self.dismissed,
            "acceptance_rate": _round(self.acceptance_rate, 4),
            "attach_rate": _round(self.attach_rate, 4),
            "sales_with_cards": self.sales_with_cards,
            "sales_with_accepted": self.sales_with_accepted,
            "accepted_revenue": round(self.accepted_revenue, 2),
            "basket_value": {k: _round(v, 2) for k, v in self.basket_value.items()},
            "items_per_basket": {k: _round(v, 3) for k, v in self.items_per_basket.items()},
            "uplift_per_1000_sales": _interval(self.uplift_per_1000_sales, 2),
            "uplift_pct": _interval(self.uplift_pct, 3),
            "method": self.method, "sales_needed": self.sales_needed,
            "by_kind": self.by_kind, "by_category": self.by_category,
            "by_cashier": self.by_cashier, "by_rule": self.by_rule, "trend": self.trend,
            "message": self.message, "notes": list(self.notes),
        }


# -- numbers ------------------------------------------------------------------------------
def _int(v: Any) -> int:
    try:
        return int(v or 0)
    except (TypeError, ValueError):
        return 0


def _float(v: Any) -> float:
    try:
        f = float(v or 0.0)
    except (TypeError, ValueError):
        return 0.0
    return f if math.isfinite(f) else 0.0


def _rate(num: float, den: float) -> float | None:
    return num / den if den else None


def _round(v: float | None, nd: int) -> float | None:
    return None if v is None else round(v, nd)


def _iso(d: date | None) -> str | None:
    return None if d is None else d.isoformat()


def _interval(d: dict[str, Any], nd: int) -> dict[str, Any]:
    out = dict(d)
    out["estimate"] = _round(d.get("estimate"), nd)
    ci = d.get("ci95")
    out["ci95"] = None if ci is None else [round(ci[0], nd), round(ci[1], nd)]
    return out


def _t_quantile(df: float) -> float:
    """The two-sided 95% t quantile for ``df`` degrees of freedom. From 30 degrees of freedom
    on, the Cornish-Fisher expansion around the normal quantile (error below 1e-7 there, and
    no scipy to import: it takes most of a second); below, scipy's ``stdtrit``."""
    from statistics import NormalDist

    p = 0.5 + CONFIDENCE / 2
    z = NormalDist().inv_cdf(p)
    if not math.isfinite(df):
        return z
    if df >= 30:
        z2 = z * z
        g1 = (z2 + 1) * z / 4
        g2 = ((5 * z2 + 16) * z2 + 3) * z / 96
        g3 = (((3 * z2 + 19) * z2 + 17) * z2 - 15) * z / 384
        g4 = ((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945) * z / 92160
        return z + g1 / df + g2 / df ** 2 + g3 / df ** 3 + g4 / df ** 4
    from scipy.special import stdtrit

    return float(stdtrit(max(df, 1.0), p))


@dataclass(frozen=True)
class Uplift:
    """Welch's comparison of mean basket value, treated minus holdout."""

    diff: float                     # per sale
    se: float
    df: float
    t: float
    pct: float | None               # diff / holdout mean
    pct_se: float | None
    needed_total: float | None      # sales in all at which the interval would exclude zero

    @property
    def ci(self) -> tuple[float, float]:
        return (self.diff - self.t * self.se, self.diff + self.t * self.se)

    @property
    def pct_ci(self) -> tuple[float, float] | None:
        if self.pct is None or self.pct_se is None:
            return None
        return (self.pct - self.t * self.pct_se, self.pct + self.t * self.pct_se)


def welch_uplift(treated: _Sums, holdout: _Sums) -> Uplift | None:
    """Welch's t interval on mean(treated) - mean(holdout) from sums; None below two sales
    in either group. ``needed_total``: the sales (in all, at the observed holdout share)
    at which the same effect and spreads give an interval clear of zero."""
    vt, vh = treated.var(), holdout.var()
    mt, mh = treated.mean(), holdout.mean()
    if vt is None or vh is None or mt is None or mh is None:
        return None
    at, ah = vt / treated.n, vh / holdout.n            # squared standard errors of the means
    se = math.sqrt(at + ah)
    diff = mt - mh
    if se > 0:
        denom = (at * at / (treated.n - 1) if at else 0.0) + \
                (ah * ah / (holdout.n - 1) if ah else 0.0)
        df = (at + ah) ** 2 / denom if denom > 0 else math.inf
    else:
        df = math.inf
    t = _t_quantile(df)
    pct = pct_se = None
    if mh > 0:
        pct = mt / mh - 1.0
        pct_se = math.sqrt(at / (mh * mh) + (mt * mt) * ah / mh ** 4)
    needed: float | None = None
    if diff != 0:
        total = treated.n + holdout.n
        h = holdout.n / total
        needed = (t / diff) ** 2 * (vt / (1 - h) + vh / h)
    return Uplift(diff, se, df, t, pct, pct_se, needed)


# -- reading ------------------------------------------------------------------------------
def _day_filter(col: str, date_from: date | None, date_to: date | None
                ) -> tuple[str, list[str]]:
    where = [f"{col} GLOB '{_GLOB_DAY}'"]
    params: list[str] = []
    if date_from is not None:
        where.append(f"{col} >= ?")
        params.append(date_from.isoformat())
    if date_to is not None:
        where.append(f"{col} <= ?")
        params.append(date_to.isoformat())
    return " AND ".join(where), params


def _month(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def _month_end(d: date) -> date:
    nxt = date(d.year + d.month // 12, d.month % 12 + 1, 1)
    return date.fromordinal(nxt.toordinal() - 1)


def _shift_month(d: date, by: int) -> date:
    k = d.year * 12 + d.month - 1 + by
    return date(k // 12, k % 12 + 1, 1)


def _card_sources(date_from: date | None, date_to: date | None
                  ) -> list[tuple[str, str, list[str]]]:
    """Where the period's card counts are: (table, WHERE, params) for the whole months in
    ``event_monthly`` and for the days at either end that do not fill a month in
    ``event_daily``."""
    lo = None if date_from is None else (
        _month(date_from) if date_from.day == 1 else _month(_shift_month(date_from, 1)))
    hi = None if date_to is None else (
        _month(date_to) if date_to == _month_end(date_to) else _month(_shift_month(date_to, -1)))
    out: list[tuple[str, str, list[str]]] = []
    days: list[tuple[date, date]] = []
    if lo is None or hi is None or lo <= hi:
        where = [f"month GLOB '{_GLOB_MONTH}'"]
        params: list[str] = []
        for op, m in ((">=", lo), ("<=", hi)):
            if m is not None:
                where.append(f"month {op} ?")
                params.append(m)
        out.append(("event_monthly", " AND ".join(where), params))
        if date_from is not None and date_from.day != 1:
            days.append((date_from, _month_end(date_from)))
        if date_to is not None and date_to != _month_end(date_to):
            days.append((date_to.replace(day=1), date_to))
    else:                                   # within a month, or two months' partial ends
        assert date_from is not None and date_to is not None
        days.append((date_from, date_to))
    for a, b in days:
        out.append(("event_daily", "day >= ? AND day <= ?", [a.isoformat(), b.isoformat()]))
    return out


def _open(store_path: Path) -> Any:
    """possuggest's database for reading (its summaries made on first use), or ReportError."""
    from possuggest.core.errors import RuleStoreError
    from possuggest.store.rule_store import RuleStore, StoreDamaged

    path = Path(store_path)
    if not path.is_file():
        raise ReportError(f"no possuggest database at {path}: nothing has been logged yet "
                          "(run the panel, or 'possuggest simulate --sales 3000')")
    try:
        return RuleStore(path)
    except StoreDamaged as exc:
        raise ReportError(f"possuggest database {path} is damaged ({exc.reason}): no report "
                          "can be made from it") from None
    except RuleStoreError as exc:
        raise ReportError(f"cannot read {path}: {exc}") from None


def build_report(store_path: Path, date_from: date | None = None, date_to: date | None = None,
                 progress: ProgressFn | None = None,
                 cancelled: CancelledFn | None = None) -> Report:
    """The report over ``date_from``..``date_to`` (whole days, inclusive; None = open) from
    possuggest's database at ``store_path``. Raises ReportError (one line) when it cannot
    be made, Cancelled when ``cancelled()`` turns true."""
    if date_from is not None and date_to is not None and date_from > date_to:
        raise ReportError(f"the period starts ({date_from}) after it ends ({date_to})")
    report: ProgressFn = progress or (lambda f, m: None)
    report(0.0, "opening possuggest's database")
    store = _open(store_path)
    conn: sqlite3.Connection = store.conn
    if cancelled is not None:
        conn.set_progress_handler(lambda: 1 if cancelled() else 0, 20_000)
    try:
        return _build(conn, date_from, date_to, report, cancelled)
    except sqlite3.OperationalError as exc:
        if cancelled is not None and cancelled() and "interrupt" in str(exc):
            raise Cancelled("the report was cancelled") from None
        raise ReportError(_sql_problem(store_path, exc)) from None
    except sqlite3.Error as exc:
        raise ReportError(_sql_problem(store_path, exc)) from None
    finally:
        conn.set_progress_handler(None, 0)
        store.close()


def _sql_problem(path: Path, exc: sqlite3.Error) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if "malformed" in text or "not a database" in text:
        return f"possuggest database {path} is damaged ({text}): no report can be made from it"
    return f"possuggest database {path} cannot be read for the report: {text}"


def _build(conn: sqlite3.Connection, date_from: date | None, date_to: date | None,
           report: ProgressFn, cancelled: CancelledFn | None) -> Report:
    out = Report(date_from, date_to)
    where, params = _day_filter("day", date_from, date_to)
    report(0.1, "adding up the sales")
    days = conn.execute(
        "SELECT day, register, holdout, n, value, value_sq, items, with_shown, with_accepted,"
        " shown, accepted, accepted_value FROM sales_daily WHERE n != 0 AND " + where
        + " ORDER BY day", params).fetchall()
    check_cancelled(cancelled, "the report was cancelled")
    report(0.3, "adding up the cards shown and accepted")
    catalog = _Catalog(conn)
    cards: list[tuple[Any, ...]] = []
    for table, where, params in _card_sources(date_from, date_to):
        cards += conn.execute(_CARDS.format(table=table, where=where),
                              [*params, catalog.fallback, catalog.fallback]).fetchall()
        check_cancelled(cancelled, "the report was cancelled")
    check_cancelled(cancelled, "the report was cancelled")
    report(0.8, "naming products and rules")
    _sales_figures(out, days)
    _card_figures(out, cards, catalog)
    check_cancelled(cancelled, "the report was cancelled")
    if out.sales == 0:
        span = ("in this period" if date_from is not None or date_to is not None
                else "logged yet")
        out.message = (f"no sales {span}: sales are recorded as they end at a till that "
                       "possuggest serves")
    elif out.holdout_sales < 2 or out.treated_sales < 2:
        out.message = (f"the uplift needs at least 2 holdout sales and 2 sales with "
                       f"suggestions; this period has {out.holdout_sales} and "
                       f"{out.treated_sales} (holdout.share in the config sets the control "
                       "group's share)")
    report(1.0, "done")
    return out


def _sales_figures(out: Report, days: list[tuple[Any, ...]]) -> None:
    treated, holdout = _Sums(), _Sums()
    per_day: dict[str, tuple[_Sums, _Sums]] = {}
    per_reg: dict[str, tuple[_Sums, _Sums]] = {}
    for row in days:
        day, reg, hold = str(row[0]), str(row[1]), bool(row[2])
        k = 1 if hold else 0
        for bucket in ((treated, holdout)[k],
                       per_day.setdefault(day, (_Sums(), _Sums()))[k],
                       per_reg.setdefault(reg, (_Sums(), _Sums()))[k]):
            bucket.add(row[3:])
    out.treated_sales, out.holdout_sales = treated.n, holdout.n
    out.sales = treated.n + holdout.n
    out.holdout_share = _rate(holdout.n, out.sales)
    out.sales_with_cards, out.sales_with_accepted = treated.with_shown, treated.with_accepted
    out.attach_rate = _rate(treated.with_accepted, treated.with_shown)
    out.basket_value = {"treated": treated.mean(), "holdout": holdout.mean()}
    out.items_per_basket = {"treated": treated.items_mean(), "holdout": holdout.items_mean()}
    up = welch_uplift(treated, holdout)
    if up is not None:
        lo, hi = up.ci
        out.uplift_per_1000_sales = {"estimate": 1000 * up.diff, "ci95": [1000 * lo, 1000 * hi],
                                     "se": round(1000 * up.se, 4),
                                     "df": None if not math.isfinite(up.df) else round(up.df, 1)}
        pci = up.pct_ci
        out.uplift_pct = {"estimate": None if up.pct is None else 100 * up.pct,
                          "ci95": None if pci is None else [100 * pci[0], 100 * pci[1]]}
        if lo > 0 or hi < 0:
            out.sales_needed = 0
        elif up.needed_total is not None:
            out.sales_needed = max(0, math.ceil(up.needed_total - out.sales))
    if per_day:
        out.first_day, out.last_day = min(per_day), max(per_day)
    for day in sorted(per_day):
        t, h = per_day[day]
        d_up = 1000 * (t.value / t.n - h.value / h.n) if t.n and h.n else None
        out.trend.append({"day": day, "sales": t.n + h.n, "holdout_sales": h.n,
                          "shown": t.shown, "accepted": t.accepted,
                          "acceptance_rate": _round(_rate(t.accepted, t.shown), 4),
                          "attach_rate": _round(_rate(t.with_accepted, t.with_shown), 4),
                          "basket_value": {"treated": _round(t.mean(), 2),
                                           "holdout": _round(h.mean(), 2)},
                          "uplift_per_1000_sales": _round(d_up, 2),
                          "accepted_value": round(t.accepted_value, 2)})
    for reg in sorted(per_reg, key=lambda r: (-(per_reg[r][0].n + per_reg[r][1].n), r)):
        t, h = per_reg[reg]
        out.by_cashier.append({"register": reg, "sales": t.n + h.n, "holdout_sales": h.n,
                               "shown": t.shown, "accepted": t.accepted,
                               "acceptance_rate": _round(_rate(t.accepted, t.shown), 4),
                               "attach_rate": _round(_rate(t.with_accepted, t.with_shown), 4),
                               "basket_value": {"treated": _round(t.mean(), 2),
                                                "holdout": _round(h.mean(), 2)},
                               "accepted_value": round(t.accepted_value, 2)})


# One row per card (rule set, rule, item, kind) in one summary table over part of the period:
# shown, accepted, declined (accepted but never rung up), dismissed, and the card's price
# (an upgrade's: its price difference to the item it upgrades) and category in the rule
# set's product snapshot, or in the newest set's for a set since pruned. The monthly table's
# key starts with the card, so its GROUP BY streams without a sort.
_CARDS = """
WITH g AS (
    SELECT rule_set_id AS rs, rule_id AS rid, sku, kind, SUM(shown) AS shown,
           SUM(accepted) AS acc, SUM(declined) AS dec, SUM(dismissed) AS dis
    FROM {table} WHERE {where} GROUP BY 1, 2, 3, 4)
SELECT CAST(g.rs AS INTEGER), CAST(g.rid AS INTEGER), CAST(g.sku AS TEXT),
       CAST(g.kind AS TEXT), CAST(g.shown AS INTEGER), CAST(g.acc AS INTEGER),
       CAST(g.dec AS INTEGER), CAST(g.dis AS INTEGER),
       CAST(COALESCE(p.price, f.price, 0) AS REAL) - CASE WHEN g.kind = 'upgrade'
           THEN CAST(COALESCE(pb.price, fb.price, 0) AS REAL) ELSE 0 END,
       CAST(COALESCE(p.category, f.category, '') AS TEXT)
FROM g
LEFT JOIN products p ON p.rule_set_id = g.rs AND p.sku = g.sku
LEFT JOIN products f ON f.rule_set_id = ? AND f.sku = g.sku
LEFT JOIN rules r ON g.kind = 'upgrade' AND r.rule_set_id = g.rs AND r.rule_id = g.rid
    AND r.kind = 'upgrade'
LEFT JOIN products pb ON pb.rule_set_id = g.rs AND pb.sku = r.antecedent
LEFT JOIN products fb ON fb.rule_set_id = ? AND fb.sku = r.antecedent
"""


class _Catalog:
    """Names of items and rules' 'with' items for the cards listed (a rule set since pruned
    falls back to the newest kept one)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        row = conn.execute("SELECT MAX(id) FROM rule_sets").fetchone()
        self.fallback: int = _int(row[0]) if row else 0

    def name(self, rule_set: int, sku: str) -> str:
        for rs in (rule_set, self.fallback):
            row = self.conn.execute("SELECT name FROM products WHERE rule_set_id = ? AND"
                                    " sku = ?", (rs, sku)).fetchone()
            if row is not None and row[0] is not None:
                return str(row[0])
        return sku

    def antecedent(self, rule_set: int, rule_id: int) -> list[str]:
        row = self.conn.execute("SELECT antecedent FROM rules WHERE rule_set_id = ? AND"
                                " rule_id = ?", (rule_set, rule_id)).fetchone()
        return [] if row is None or row[0] is None else str(row[0]).split("\t")


def _card_figures(out: Report, rows: list[tuple[Any, ...]], catalog: _Catalog) -> None:
    """Totals, by kind, by category and the best and worst cards, from the rows of _CARDS
    (a card may have a row from the monthly and from the daily summary: added up first)."""
    cards: dict[tuple[int, int, str, str], list[Any]] = {}
    for rs, rid, sku, kind, shown, acc, dec, dis, price, cat in rows:
        key = (rs, rid, sku, kind) if rid >= 0 else (-1, -1, sku, kind)  # no rule: per item
        v = cards.get(key)
        if v is None:
            cards[key] = [shown, acc, dec, dis, price, cat]
        else:
            v[0] += shown
            v[1] += acc
            v[2] += dec
            v[3] += dis
    kinds: dict[str, list[float]] = {}
    cats: dict[str, list[float]] = {}
    figures: dict[tuple[int, int, str, str], list[float]] = {}
    for key, (shown, acc, dec, dis, price, cat) in cards.items():
        net = max(acc - dec, 0)                      # accepted, less never rung up
        f = figures[key] = [shown, net, dis, net * price]
        for d, k in ((kinds, key[3] or "other"), (cats, cat or "(none)")):
            v = d.get(k)
            if v is None:
                d[k] = list(f)
            else:
                for i in range(4):
                    v[i] += f[i]
    total = [sum(v[i] for v in kinds.values()) for i in range(4)]
    out.shown, out.accepted, out.dismissed = int(total[0]), int(total[1]), int(total[2])
    out.acceptance_rate = _rate(total[1], total[0])
    out.accepted_revenue = round(total[3], 2)

    def row(v: list[float]) -> dict[str, Any]:
        return {"shown": int(v[0]), "accepted": int(v[1]), "acceptance_rate": _rate(v[1], v[0]),
                "accepted_revenue": round(v[3], 2)}

    out.by_kind = [{"kind": k, **row(kinds[k])}
                   for k in sorted(kinds, key=lambda k: (-kinds[k][0], k))]
    out.by_category = [{"category": k, **row(cats[k])}
                       for k in sorted(cats, key=lambda k: (-cats[k][3], -cats[k][0], k))]
    taken = [kv for kv in figures.items() if kv[1][1] > 0]
    best = sorted(taken, key=lambda kv: (-kv[1][3], -kv[1][1], kv[0]))[:TOP_RULES]
    often = [kv for kv in figures.items() if kv[1][0] >= MIN_RULE_SHOWS]
    worst = sorted(often, key=lambda kv: (kv[1][3] / kv[1][0], -kv[1][0], kv[0]))
    out.by_rule = {"best": [_rule_row(k, row(v), catalog) for k, v in best],
                   "worst": [_rule_row(k, row(v), catalog) for k, v in worst[:TOP_RULES]]}
    if figures and not often:
        out.notes.append(f"no card was shown {MIN_RULE_SHOWS} times in this period: no worst "
                         "cards listed")


def _rule_row(key: tuple[int, int, str, str], figures: dict[str, Any],
              catalog: _Catalog) -> dict[str, Any]:
    rs, rid, sku, kind = key
    ante = catalog.antecedent(rs, rid) if rid >= 0 else []
    shown = figures["shown"]
    return {"rule_set_id": rs if rs >= 0 else None, "rule_id": rid if rid >= 0 else None,
            "kind": kind or "other", "with": ante,
            "with_names": [catalog.name(rs, s) for s in ante],
            "sku": sku, "name": catalog.name(rs, sku), **figures,
            "revenue_per_card": round(figures["accepted_revenue"] / shown, 4) if shown
            else None}


# -- CSV ------------------------------------------------------------------------------------
def report_csv(report: Report) -> str:
    """The report as one CSV table in long form (section, key, figure, value): the summary,
    then each breakdown, then the trend, ready for a spreadsheet's pivot table."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["section", "key", "figure", "value"])
    data = report.to_json()
    w.writerow(["summary", "", "period_from", data["period"]["from"] or ""])
    w.writerow(["summary", "", "period_to", data["period"]["to"] or ""])
    for name in ("sales", "holdout_sales", "treated_sales", "holdout_share", "shown",
                 "accepted", "dismissed", "acceptance_rate", "attach_rate", "sales_with_cards",
                 "sales_with_accepted", "accepted_revenue", "sales_needed"):
        w.writerow(["summary", "", name, _cell(data[name])])
    for group in ("basket_value", "items_per_basket"):
        for k, v in data[group].items():
            w.writerow(["summary", "", f"{group}_{k}", _cell(v)])
    for group in ("uplift_per_1000_sales", "uplift_pct"):
        ci = data[group].get("ci95")
        w.writerow(["summary", "", f"{group}", _cell(data[group].get("estimate"))])
        w.writerow(["summary", "", f"{group}_ci95_low", _cell(ci[0] if ci else None)])
        w.writerow(["summary", "", f"{group}_ci95_high", _cell(ci[1] if ci else None)])
    w.writerow(["summary", "", "method", data["method"]])
    if data["message"]:
        w.writerow(["summary", "", "message", data["message"]])
    for section, key in (("by_kind", "kind"), ("by_category", "category"),
                         ("by_cashier", "register"), ("trend", "day")):
        for row in data[section]:
            for name, v in _flat(row):
                if name != key:
                    w.writerow([section, row[key], name, _cell(v)])
    for which in ("best", "worst"):
        for row in data["by_rule"][which]:
            label = f"{' + '.join(row['with']) or '-'} -> {row['sku']}"
            for name, v in _flat(row):
                w.writerow([f"rules_{which}", label, name, _cell(v)])
    return buf.getvalue()


def _flat(row: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for k, v in row.items():
        if isinstance(v, dict):
            out += _flat(v, f"{prefix}{k}_")
        elif isinstance(v, list):
            out.append((f"{prefix}{k}", " + ".join(map(str, v))))
        else:
            out.append((f"{prefix}{k}", v))
    return out


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.6g}" if abs(v) < 1e6 else f"{v:.2f}"
    return str(v)


__all__ = ["Report", "ReportError", "Uplift", "build_report", "report_csv", "welch_uplift",
           "METHOD", "MIN_RULE_SHOWS"]
