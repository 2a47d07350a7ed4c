"""The demo store: a realistic hardware-and-garden general store till database.

``build_demo_store`` writes a new SQLite file in the reference till schema
(:data:`possuggest.till.schema.REFERENCE_DDL`) holding about two years of sales, generated
from one shopping model (:class:`DemoStoreModel`):

* a catalogue of about 500 products in 14 categories, with good/better/best tiers in many
  families (mowers, drills, grills, paint, trimmers, pressure washers, ladders, heaters, ...);
* every sale is built from one or two shopping *missions* (buy a mower, paint a room, top up
  on screws and batteries, ...). A mission picks its core item(s) -- for a tiered family ONE
  tier, rarely two -- and then each of its accessories with its own probability, which may
  depend on the tier chosen (only pro mowers get the mulching kit). Everyday filler items with
  a Zipf-like long tail and uniform noise items are added on top;
* missions are seasonal (mowers in spring and summer, grills in summer, heaters and snow
  shovels in winter), weekends are busier, the store opens 8:00-20:00;
* a real till's mess: voided lines, returns (mostly in their own sale), voided sales, qty > 1
  on fasteners and paint, discounted lines, out-of-stock and discontinued products.

The catalogue and the missions (with their seasons, everyday items, discontinued products and
showcase accessories) are data, not code: ``possuggest/resources/demo/catalogue.csv`` and
``shopping.toml``, read once by :func:`possuggest.demo.catalogue.load_demo_data`. This module
holds the generator and the store's traffic, till and mess constants.

The bulk history is generated with numpy, one pass per mission rather than per sale, so a
million sales take seconds. :meth:`DemoStoreModel.sample_sale` runs the very same generator
for a single sale, so the till simulator rings up live sales from the same model.

Everything is deterministic by seed: the same ``(sales, seed, end_date)`` gives identical
table contents.

Beside the reference schema the file holds one more table, ``demo_relations(a, b, kind)``:
the model's real relations (:meth:`DemoStoreModel.relations`), the ground truth that
``possuggest evaluate`` measures the cards against. The till reader never reads it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import sqlite3
import tempfile
import time
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from possuggest.core.errors import PossuggestError
from possuggest.core.progress import CancelledFn, ProgressFn, check_cancelled, sub_range
from possuggest.demo.catalogue import Mission, load_demo_data
from possuggest.till.schema import REFERENCE_DDL

log = logging.getLogger(__name__)


HISTORY_DAYS = 730
OPEN_HOUR = 8
CLOSE_HOUR = 20
REGISTERS = ("1", "2", "3", "4")
CASHIERS = tuple(f"C{i:02d}" for i in range(1, 11))
LOYALTY_SHARE = 0.25
LOYALTY_POOL = 4000

# Shopping model constants (shared by the bulk builder and sample_sale).
SECOND_MISSION_P = 0.20      # a sale holds a second, independent mission
FILLER_LAMBDA = 0.75         # everyday items added to any sale (Poisson mean)
NOISE_P = 0.10               # one uniformly random product ("impulse")
QTY_SCALE = 0.6              # scales each product's chance of a qty > 1 line
DISCOUNT_P = 0.03            # share of lines sold below list price
DISCOUNTS = (0.90, 0.85, 0.80, 0.50)
DISCOUNT_WEIGHTS = (0.50, 0.25, 0.20, 0.05)

# Till mess (bulk history only).
RETURN_SALE_P = 0.011        # sales that are a return desk refund
EXCHANGE_P = 0.001           # ordinary sales that also refund one earlier item
VOID_SALE_P = 0.005          # sales cancelled at the till (status 'void')
VOID_LINE_P = 0.010          # lines scanned by mistake and voided

_INSERT_CHUNK = 200_000

# Time of day: relative weight of each opening hour (8..19), weekday and weekend.
_HOURS_WEEKDAY = (0.7, 1.0, 1.1, 1.1, 1.2, 1.0, 0.9, 0.9, 1.0, 1.1, 1.0, 0.6)
_HOURS_WEEKEND = (0.5, 1.0, 1.4, 1.5, 1.4, 1.3, 1.2, 1.0, 0.8, 0.6, 0.5, 0.3)
_WEEKDAY_TRAFFIC = (0.90, 0.85, 0.90, 1.00, 1.15, 1.70, 1.35)      # Mon..Sun
_REGISTER_P = ((0.42, 0.33, 0.17, 0.08), (0.30, 0.28, 0.24, 0.18))  # weekday, weekend


@dataclass(frozen=True)
class DemoSummary:
    """What ``build_demo_store`` wrote."""

    path: Path
    products: int
    sales: int
    lines: int
    seconds: float


#: The demo till's ground truth: the table ``build_demo_store`` writes beside the reference
#: schema (the till reader never looks at it; ``possuggest evaluate`` reads it).
DEMO_RELATIONS_TABLE = "demo_relations"
RELATION_KINDS = ("accessory", "together", "upgrade")


@dataclass(frozen=True)
class DemoRelations:
    """The relations the demo store's sales are generated from, as directed SKU pairs (a, b):
    "with a in the basket, b is a sensible card". Any other pair is noise.

    * ``accessory``: a mission's core item c -> an accessory it adds with a chance above 0
      when c is the primary pick (mower -> grass bag; never the other way round);
    * ``together``: two core items of one shopping-list mission (``extra_picks`` > 0), both
      ways: several seed packets, fixings, the everyday top-up -- complements of one line;
    * ``upgrade``: a cheaper tier -> a pricier tier of one family within a tiered mission's
      core (one primary pick, ``extra_picks`` = 0).

    A discontinued product stands in for its successor before the switch-over, so its pairs
    are listed too.
    """

    accessory: frozenset[tuple[str, str]]
    together: frozenset[tuple[str, str]]
    upgrade: frozenset[tuple[str, str]]

    def rows(self) -> list[tuple[str, str, str]]:
        """``(a, b, kind)`` rows, sorted: the ``demo_relations`` table's content."""
        return sorted((a, b, kind) for kind in RELATION_KINDS for a, b in getattr(self, kind))


@dataclass
class _Lines:
    """Generated sale lines, one entry per line (``sale`` indexes the sales passed in)."""

    sale: np.ndarray       # int64
    prod: np.ndarray       # int64 product index
    qty: np.ndarray        # float64
    price: np.ndarray      # float64 unit price
    key: np.ndarray        # float64 ring-up order within the sale


def _cdf_rows(weights: np.ndarray) -> np.ndarray:
    """Row-normalised cumulative weights, last column exactly 1."""
    w = np.asarray(weights, dtype=np.float64)
    cdf = np.cumsum(w, axis=-1)
    cdf /= cdf[..., -1:]
    cdf[..., -1] = 1.0
    return cdf


def _draw_rows(cdf: np.ndarray, row: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF draw for each element from its own row of ``cdf`` (vectorised).

    Rows are laid end to end with row ``r`` shifted by ``r``, so the flattened array is
    monotone and one ``searchsorted`` answers every draw.
    """
    n_rows, k = cdf.shape
    flat = (cdf + np.arange(n_rows, dtype=np.float64)[:, None]).ravel()
    pos = np.searchsorted(flat, row.astype(np.float64) + u, side="right")
    return np.minimum(pos - row.astype(np.int64) * k, k - 1)


def _ring_up_order(sale: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Indices sorting lines by sale, then by ``key`` (one integer sort; lexsort is slower).

    ``key`` lies in [-1, 31); it is quantised to 1e-6, far finer than any gap that matters.
    """
    q = np.clip(np.rint((key + 1.0) * 1e6), 0, (1 << 25) - 1).astype(np.int64)
    return np.argsort((sale.astype(np.int64) << 25) | q, kind="stable")


def _zipf(n: int, s: float = 1.0, q: float = 0.5) -> np.ndarray:
    w = 1.0 / (np.arange(n, dtype=np.float64) + 1.0 + q) ** s
    return w / w.sum()


def _season_table(seasons: Mapping[str, Sequence[float]]) -> tuple[list[str], np.ndarray]:
    """Season multiplier per season name and day of year (0..365), interpolated monthly."""
    names = list(seasons)
    mids = np.array([15.0 + 30.44 * m for m in range(12)])
    doy = np.arange(366, dtype=np.float64)
    table = np.array([np.interp(doy, mids, np.asarray(seasons[s], dtype=np.float64),
                                period=365.25) for s in names])
    return names, table


def _margin(sku: str, price: float) -> float:
    """A stable per-product margin: 20-32% on big tickets, up to 60% on small consumables."""
    h = (zlib.crc32(sku.encode()) % 10_000) / 10_000.0
    lo, hi = (0.20, 0.32) if price >= 100 else (0.28, 0.45) if price >= 20 else (0.38, 0.60)
    return lo + (hi - lo) * h


class DemoStoreModel:
    """The demo store's catalogue and shopping model, shared by the builder and the simulator.

    Built from the demo data files (:func:`~possuggest.demo.catalogue.load_demo_data`).
    ``products`` holds the catalogue rows (sku, name, category, family, price, cost, stock,
    active); stock depends on ``seed``. ``end_date`` anchors when discontinued products were
    replaced by their successors (default: today).
    """

    def __init__(self, seed: int = 7, end_date: dt.date | None = None) -> None:
        self.seed = int(seed)
        self.end_date = end_date or dt.date.today()
        data = load_demo_data()
        cat = data.products
        self.skus: list[str] = [r.sku for r in cat]
        if len(set(self.skus)) != len(self.skus):
            raise AssertionError("duplicate sku in the demo catalogue")
        self.index: dict[str, int] = {s: i for i, s in enumerate(self.skus)}
        n = len(cat)
        self._sku_arr = np.array(self.skus, dtype=object)
        self._price = np.array([r.price for r in cat], dtype=np.float64)
        self._qty_p = QTY_SCALE * np.array([r.qty_p for r in cat], dtype=np.float64)
        self._qty_max = np.array([r.qty_max for r in cat], dtype=np.int64)

        # discontinued -> successor, with the switch-over day (proleptic ordinal)
        disc = data.discontinued
        self._disc_old = np.array([self.index[d.sku] for d in disc], dtype=np.int64)
        self._disc_new = np.array([self.index[d.successor] for d in disc], dtype=np.int64)
        self._disc_day = np.array([self.end_date.toordinal() - d.days_before_end for d in disc],
                                  dtype=np.int64)
        inactive = set(self._disc_old.tolist())

        # stock: seed-dependent; ~3% random out of stock plus a few popular accessories
        rng = np.random.default_rng([self.seed, 101])
        price = self._price
        stock = np.where(price >= 100, rng.integers(1, 16, n),
                         np.where(price >= 20, rng.integers(2, 61, n), rng.integers(5, 201, n)))
        active = np.ones(n, dtype=np.int64)
        active[list(inactive)] = 0
        stock[list(inactive)] = 0
        candidates = np.array([i for i in range(n) if i not in inactive
                               and self.skus[i] not in data.showcase], dtype=np.int64)
        out = rng.choice(candidates, size=max(1, round(0.03 * n)), replace=False)
        popular_accs = sorted({self.index[a] for m in data.missions for acc in m.accs
                               if max(acc.prob) >= 0.2 for a in acc.alts} - inactive
                              - {self.index[s] for s in data.showcase})
        out = np.union1d(out, rng.choice(np.array(popular_accs), size=3, replace=False))
        stock[out] = 0
        self._stock = stock.astype(np.int64)
        self._active = active
        self.products: list[dict[str, Any]] = [
            {"sku": r.sku, "name": r.name, "category": r.category,
             "family": r.family, "price": r.price,
             "cost": round(r.price * (1.0 - _margin(r.sku, r.price)), 2),
             "stock": int(self._stock[i]), "active": int(self._active[i])}
            for i, r in enumerate(cat)]

        # missions: per-day-of-year probabilities, core/accessory index arrays
        season_names, season_table = _season_table(data.seasons)
        weights = np.array([m.weight for m in data.missions], dtype=np.float64)
        rows = np.array([season_names.index(m.season) for m in data.missions])
        mission_by_day = weights[:, None] * season_table[rows]            # (M, 366)
        self._traffic = mission_by_day.sum(axis=0)                        # store traffic by doy
        self._mission_cdf = _cdf_rows(mission_by_day.T)                   # (366, M)
        self._missions = [self._compile(m) for m in data.missions]
        self._everyday = np.array([self.index[s] for s in data.everyday], dtype=np.int64)
        self._everyday_cdf = np.cumsum(_zipf(len(data.everyday), 1.0, 2.0))
        self._everyday_cdf[-1] = 1.0

    # -- model --------------------------------------------------------------------------------
    def _compile(self, m: Mission) -> dict[str, Any]:
        k = len(m.core)
        core_p = np.asarray(m.core_p if m.core_p is not None else _zipf(k, 1.0, 1.0),
                            dtype=np.float64)
        if len(core_p) != k:
            raise AssertionError(f"mission {m.name}: core_p length")
        accs = []
        for acc in m.accs:
            prob = np.asarray(acc.prob, dtype=np.float64)
            if len(prob) != k:
                raise AssertionError(f"mission {m.name}: accessory {acc.alts} prob length")
            alt_p = np.asarray(acc.alt_p if acc.alt_p else [1.0] * len(acc.alts), np.float64)
            accs.append((np.array([self.index[a] for a in acc.alts], dtype=np.int64),
                         alt_p / alt_p.sum(), prob))
        return {"name": m.name, "core": np.array([self.index[c] for c in m.core], np.int64),
                "core_p": core_p / core_p.sum(), "extra_lam": m.extra_lam,
                "second_p": m.second_p, "accs": accs}

    def relations(self) -> DemoRelations:
        """The real relations of the shopping model (see :class:`DemoRelations`): the ground
        truth offline measures compare suggestions with. Draws no random numbers."""
        data = load_demo_data()
        family = {r.sku: r.family for r in data.products}
        price = {r.sku: r.price for r in data.products}
        kinds: dict[str, set[tuple[str, str]]] = {k: set() for k in RELATION_KINDS}
        for m in data.missions:
            for acc in m.accs:
                for c, p in zip(m.core, acc.prob, strict=True):
                    if p > 0:
                        kinds["accessory"].update((c, a) for a in acc.alts if a != c)
            for a in m.core:
                for b in m.core:
                    if a == b:
                        continue
                    if m.extra_lam > 0:
                        kinds["together"].add((a, b))
                    elif family[a] and family[a] == family[b] and price[a] < price[b]:
                        kinds["upgrade"].add((a, b))
        for d in data.discontinued:
            for pairs in kinds.values():
                pairs.update([(d.sku if a == d.successor else a, d.sku if b == d.successor else b)
                              for a, b in pairs if d.successor in (a, b)])
        return DemoRelations(**{k: frozenset(v) for k, v in kinds.items()})

    def traffic(self, doy: np.ndarray) -> np.ndarray:
        """Relative store traffic on each day of year (0..365) from the mission seasons."""
        return self._traffic[np.asarray(doy, dtype=np.int64)]

    def generate_lines(self, rng: np.random.Generator, doy: np.ndarray,
                       day: np.ndarray) -> _Lines:
        """Lines of ``len(doy)`` sales: ``doy`` day of year (0..365), ``day`` date ordinal.

        One pass per mission present, never per sale. Lines come back sorted by sale, then
        ring-up order, with duplicate products in a sale collapsed to the first.
        """
        n = len(doy)
        doy = np.asarray(doy, dtype=np.int64)
        parts_sale: list[np.ndarray] = []
        parts_prod: list[np.ndarray] = []
        parts_key: list[np.ndarray] = []

        def add(sale: np.ndarray, prod: np.ndarray, key: np.ndarray) -> None:
            if len(sale):
                parts_sale.append(sale)
                parts_prod.append(prod)
                parts_key.append(key)

        # one or two missions per sale ("slots"), drawn from the day's seasonal mix
        second = np.flatnonzero(rng.random(n) < SECOND_MISSION_P)
        slot_sale = np.concatenate([np.arange(n, dtype=np.int64), second])
        slot_rank = np.concatenate([np.zeros(n), np.ones(len(second))])
        mission = _draw_rows(self._mission_cdf, doy[slot_sale], rng.random(len(slot_sale)))
        order = np.argsort(mission, kind="stable")
        bounds = np.searchsorted(mission[order], np.arange(len(self._missions) + 1))
        for mi, mdef in enumerate(self._missions):
            sel = order[bounds[mi]:bounds[mi + 1]]
            k = len(sel)
            if k == 0:
                continue
            sale = slot_sale[sel]
            base = slot_rank[sel] * 10.0
            core, core_p = mdef["core"], mdef["core_p"]
            primary = rng.choice(len(core), size=k, p=core_p)
            add(sale, core[primary], base)
            if mdef["extra_lam"] > 0:
                ne = np.minimum(rng.poisson(mdef["extra_lam"], k), 5)
                tot = int(ne.sum())
                if tot:
                    rep = np.repeat(np.arange(k), ne)
                    add(sale[rep], core[rng.choice(len(core), size=tot, p=core_p)],
                        base[rep] + 0.1 + 0.8 * rng.random(tot))
            if mdef["second_p"] > 0 and len(core) > 1:
                two = np.flatnonzero(rng.random(k) < mdef["second_p"])
                if len(two):
                    other = (primary[two] + rng.integers(1, len(core), len(two))) % len(core)
                    add(sale[two], core[other], base[two] + 0.5)
            for alts, alt_p, prob in mdef["accs"]:
                hit = np.flatnonzero(rng.random(k) < prob[primary])
                if len(hit):
                    pick = alts[rng.choice(len(alts), size=len(hit), p=alt_p)] \
                        if len(alts) > 1 else np.full(len(hit), alts[0])
                    add(sale[hit], pick, base[hit] + 1.0 + 5.0 * rng.random(len(hit)))

        # everyday filler (long tail) and uniform noise, anywhere in the ring-up
        nf = rng.poisson(FILLER_LAMBDA, n)
        tot = int(nf.sum())
        fill_sale = np.repeat(np.arange(n, dtype=np.int64), nf)
        fill = self._everyday[np.searchsorted(self._everyday_cdf, rng.random(tot), side="right")]
        add(fill_sale, fill, 20.0 * rng.random(tot))
        noise_sale = np.flatnonzero(rng.random(n) < NOISE_P)
        add(noise_sale, rng.integers(0, len(self.skus), len(noise_sale)),
            20.0 * rng.random(len(noise_sale)))

        sale = np.concatenate(parts_sale) if parts_sale else np.zeros(0, np.int64)
        prod = np.concatenate(parts_prod).astype(np.int64) if parts_prod else np.zeros(0, np.int64)
        key = np.concatenate(parts_key) if parts_key else np.zeros(0)

        # discontinued products: the old one before its switch-over day, the successor after
        day_line = np.asarray(day, dtype=np.int64)[sale]
        for old, new, cut in zip(self._disc_old, self._disc_new, self._disc_day, strict=True):
            before = day_line < cut
            prod[(prod == new) & before] = old
            prod[(prod == old) & ~before] = new

        # ring-up order; a product appears once per sale
        o = _ring_up_order(sale, key)
        sale, prod, key = sale[o], prod[o], key[o]
        _, first = np.unique(sale * len(self.skus) + prod, return_index=True)
        first.sort()
        sale, prod, key = sale[first], prod[first], key[first]

        m = len(sale)
        qty = np.ones(m, dtype=np.float64)
        multi = np.flatnonzero(rng.random(m) < self._qty_p[prod])
        if len(multi):
            qty[multi] = rng.integers(2, self._qty_max[prod[multi]] + 1).astype(np.float64)
        price = self._price[prod].copy()
        disc = np.flatnonzero(rng.random(m) < DISCOUNT_P)
        if len(disc):
            factor = np.asarray(DISCOUNTS)[rng.choice(len(DISCOUNTS), size=len(disc),
                                                      p=np.asarray(DISCOUNT_WEIGHTS))]
            price[disc] = np.round(price[disc] * factor, 2)
        return _Lines(sale=sale, prod=prod, qty=qty, price=price, key=key)

    def sample_sale(self, rng: np.random.Generator, when: dt.datetime, *,
                    in_stock_only: bool = True) -> list[tuple[str, float, float]]:
        """One live sale at ``when``: ``(sku, qty, unit_price)`` lines in ring-up order.

        Drawn by the same generator as the bulk history (same missions, seasons, accessory
        probabilities). With ``in_stock_only`` (default) lines for out-of-stock or inactive
        products are left out, as a live till could not sell them; a sale left empty is
        drawn again.
        """
        doy = np.array([when.timetuple().tm_yday - 1], dtype=np.int64)
        day = np.array([when.toordinal()], dtype=np.int64)
        for _ in range(50):
            lines = self.generate_lines(rng, doy, day)
            keep = np.ones(len(lines.prod), dtype=bool)
            if in_stock_only:
                keep = (self._stock[lines.prod] > 0) & (self._active[lines.prod] == 1)
            if keep.any():
                return [(self.skus[p], float(q), float(u)) for p, q, u in
                        zip(lines.prod[keep], lines.qty[keep], lines.price[keep], strict=True)]
        raise AssertionError("the demo model gave no sellable sale in 50 draws")


# --------------------------------------------------------------------------------------------
# The bulk builder
# --------------------------------------------------------------------------------------------
@dataclass
class _History:
    sale_id: np.ndarray
    register: np.ndarray      # object
    cashier: np.ndarray       # object
    customer: np.ndarray      # object (None for no loyalty card)
    opened: np.ndarray        # object (str)
    closed: np.ndarray        # object (str)
    status: np.ndarray        # object
    line_sale_id: np.ndarray
    line_sku: np.ndarray      # object
    line_qty: np.ndarray
    line_price: np.ndarray
    line_voided: np.ndarray


def _generate_history(model: DemoStoreModel, n: int, seed: int,
                      end_date: dt.date) -> _History:
    """Sales and lines for ``n`` sales over the HISTORY_DAYS days ending at ``end_date``."""
    ss = np.random.SeedSequence([int(seed), 202])
    rng_time, rng_lines, rng_mess = (np.random.default_rng(s) for s in ss.spawn(3))

    # -- days: weekday x seasonal traffic x slight growth; closed Christmas and New Year ----------
    start = end_date - dt.timedelta(days=HISTORY_DAYS - 1)
    days = np.arange(HISTORY_DAYS, dtype=np.int64)
    dates = np.datetime64(start.isoformat(), "D") + days.astype("timedelta64[D]")
    weekday = (dates.astype(np.int64) + 3) % 7                     # 1970-01-01 was a Thursday
    doy_of_day = (dates - dates.astype("datetime64[Y]")).astype(np.int64)
    month_day = np.array([d[5:] for d in np.datetime_as_string(dates)])
    closed_day = (month_day == "12-25") | (month_day == "01-01")
    w = np.asarray(_WEEKDAY_TRAFFIC)[weekday] * model.traffic(doy_of_day) * (1 + 0.08 * days / 730)
    w[closed_day] = 0.0
    per_day = rng_time.multinomial(n, w / w.sum())
    sale_day = np.repeat(days, per_day)
    weekend = weekday[sale_day] >= 5

    # -- time of day, register, cashier, loyalty card --------------------------------------------
    hour_cdf = _cdf_rows(np.array([_HOURS_WEEKDAY, _HOURS_WEEKEND]))
    hour = _draw_rows(hour_cdf, weekend.astype(np.int64), rng_time.random(n))
    opened_sec = (OPEN_HOUR + hour) * 3600 + rng_time.integers(0, 3600, n)
    o = np.argsort(sale_day * 86_400 + opened_sec, kind="stable")   # sale_id follows the clock
    sale_day, opened_sec, weekend = sale_day[o], opened_sec[o], weekend[o]

    reg = _draw_rows(_cdf_rows(np.array(_REGISTER_P)), weekend.astype(np.int64),
                     rng_time.random(n))
    roster = np.argsort(rng_time.random((HISTORY_DAYS, len(CASHIERS))), axis=1)[:, :8]
    roster = roster.reshape(HISTORY_DAYS, len(REGISTERS), 2)
    shift = (opened_sec >= 14 * 3600).astype(np.int64)

    pool_ids = rng_time.choice(np.arange(1, 100_000), size=LOYALTY_POOL, replace=False)
    pool = np.array([f"L{i:06d}" for i in pool_ids], dtype=object)
    member = rng_time.random(n) < LOYALTY_SHARE
    who = np.searchsorted(np.cumsum(_zipf(LOYALTY_POOL, 0.9, 20.0)),
                          rng_time.random(int(member.sum())), side="right")
    customer = np.full(n, None, dtype=object)
    customer[member] = pool[np.minimum(who, LOYALTY_POOL - 1)]

    # -- which sales are returns, which are voided --------------------------------------------------
    is_return = rng_mess.random(n) < RETURN_SALE_P
    normal = np.flatnonzero(~is_return)
    status = np.full(n, "closed", dtype=object)
    status[normal[rng_mess.random(len(normal)) < VOID_SALE_P]] = "void"
    reg[is_return & (rng_mess.random(n) < 0.6)] = 0          # the service desk is register 1

    # -- baskets for ordinary sales ---------------------------------------------------------------
    ordinal = start.toordinal() + sale_day
    doy = doy_of_day[sale_day]
    lines = model.generate_lines(rng_lines, doy[normal], ordinal[normal])
    l_sale = normal[lines.sale]
    l_prod, l_qty, l_price, l_key = lines.prod, lines.qty, lines.price, lines.key
    l_void = np.zeros(len(l_sale), dtype=np.int64)

    # -- returns: refund an item sold earlier (own sale, or an exchange within a sale) -------------
    exch = normal[(rng_mess.random(len(normal)) < EXCHANGE_P)]
    ret_sales = np.flatnonzero(is_return)
    n_ret = 1 + (rng_mess.random(len(ret_sales)) < 0.2)
    r_sale = np.concatenate([np.repeat(ret_sales, n_ret), exch])
    r_key = np.concatenate([np.arange(len(r_sale) - len(exch)) % 2, np.full(len(exch), -1.0)])
    if len(l_sale):
        # a line of an earlier sale (lines are sorted by sale, so "earlier" is an index bound)
        bound = np.searchsorted(l_sale, r_sale)
        src = np.floor(rng_mess.random(len(r_sale)) * bound).astype(np.int64)
        ok = bound > 0
        src = np.where(ok, src, 0)
        r_prod = np.where(ok, l_prod[src], rng_mess.integers(0, len(model.skus), len(r_sale)))
        r_qty = -np.where(ok, l_qty[src], 1.0)
        r_price = np.where(ok, l_price[src], model._price[r_prod])
    else:
        r_prod = np.zeros(0, np.int64)
        r_qty = r_price = np.zeros(0)
        r_sale = r_key = np.zeros(0)

    # -- voided lines: a double scan or a mis-scan, voided straight after ----------------------
    vsel = np.flatnonzero(rng_mess.random(len(l_sale)) < VOID_LINE_P)
    mis = rng_mess.random(len(vsel)) < 0.4
    sellable = np.flatnonzero(model._active == 1)
    v_prod = np.where(mis, sellable[rng_mess.integers(0, len(sellable), len(vsel))],
                      l_prod[vsel])
    v_prod = v_prod.astype(np.int64)
    v_price = model._price[v_prod]

    sale_all = np.concatenate([l_sale, r_sale.astype(np.int64), l_sale[vsel]])
    prod_all = np.concatenate([l_prod, r_prod.astype(np.int64), v_prod])
    qty_all = np.concatenate([l_qty, r_qty, np.ones(len(vsel))])
    price_all = np.concatenate([l_price, r_price, v_price])
    key_all = np.concatenate([l_key, r_key.astype(np.float64), l_key[vsel] + 1e-3])
    void_all = np.concatenate([l_void, np.zeros(len(r_sale), np.int64),
                               np.ones(len(vsel), np.int64)])
    o = _ring_up_order(sale_all, key_all)
    sale_all, prod_all, qty_all = sale_all[o], prod_all[o], qty_all[o]
    price_all, void_all = price_all[o], void_all[o]

    # -- open/close times from the number of lines ----------------------------------------------
    n_lines = np.bincount(sale_all, minlength=n)
    duration = 25 + 18 * n_lines + rng_time.exponential(50.0, n).astype(np.int64)
    closed_sec = np.minimum(opened_sec + duration, CLOSE_HOUR * 3600)
    # ISO 8601 text: "YYYY-MM-DDT" of the day + "HH:MM:SS" of the second (object arrays)
    day_text = np.datetime_as_string(dates).astype(object) + "T"
    sec_text = np.array([f"{h:02d}:{m:02d}:{x:02d}" for h in range(24) for m in range(60)
                         for x in range(60)], dtype=object)
    opened = day_text[sale_day] + sec_text[opened_sec]
    closed = day_text[sale_day] + sec_text[closed_sec]

    registers = np.array(REGISTERS, dtype=object)
    cashiers = np.array(CASHIERS, dtype=object)
    return _History(
        sale_id=np.arange(1, n + 1, dtype=np.int64),
        register=registers[reg],
        cashier=cashiers[roster[sale_day, reg, shift]],
        customer=customer, opened=opened, closed=closed, status=status,
        line_sale_id=sale_all + 1, line_sku=model._sku_arr[prod_all],
        line_qty=qty_all, line_price=price_all, line_voided=void_all)


def _chunks(total: int, size: int) -> Iterator[tuple[int, int]]:
    for lo in range(0, total, size):
        yield lo, min(total, lo + size)


def _table_statements() -> tuple[list[str], list[str]]:
    """REFERENCE_DDL split into its CREATE TABLE and CREATE INDEX statements (verbatim)."""
    stmts = [s.strip() for s in REFERENCE_DDL.split(";") if s.strip()]
    tables = [s for s in stmts if s.upper().startswith("CREATE TABLE")]
    indexes = [s for s in stmts if s not in tables]
    return tables, indexes


#: ``PRAGMA application_id`` of every demo store ``build_demo_store`` writes ("PSDM"): how
#: ``possuggest demo-db`` tells a demo store it may replace from anything else.
DEMO_APPLICATION_ID = 0x5053444D


def is_demo_store(path: Path) -> bool:
    """True when ``path`` is a regular file (not a link) holding a demo store written by
    :func:`build_demo_store` (read from the file header; SQLite is not opened)."""
    path = Path(path)
    if path.is_symlink() or not path.is_file():
        return False
    try:
        with open(path, "rb") as fh:
            head = fh.read(100)
    except OSError:
        return False
    return head[:16] == b"SQLite format 3\x00" and \
        int.from_bytes(head[68:72], "big") == DEMO_APPLICATION_ID


def _check_replace(path: Path, replace: str) -> None:
    """``replace`` = "nothing": ``path`` must not exist; "demo": it may be a demo store;
    "anything": no check. Raises PossuggestError (nothing touched) when refused."""
    if replace == "anything":
        return
    if os.path.lexists(path):
        if path.is_symlink() or not path.is_file():
            raise PossuggestError(f"{path} is not a regular file: demo-db replaces only a demo "
                                  "store it wrote; nothing was changed")
        if not is_demo_store(path):
            raise PossuggestError(f"{path} exists and is not a demo store written by "
                                  "'possuggest demo-db'; nothing was changed")
        if replace != "demo":
            raise PossuggestError(f"{path} already holds a demo store; --force replaces it")
        return
    for suffix in ("-journal", "-wal", "-shm"):
        if os.path.lexists(f"{path}{suffix}"):
            raise PossuggestError(f"{path}{suffix} exists, but {path} does not: not a demo "
                                  "store's file; nothing was changed")


def build_demo_store(path: Path, sales: int = 20_000, seed: int = 7,
                     end_date: dt.date | None = None,
                     progress: ProgressFn | None = None,
                     cancelled: CancelledFn | None = None,
                     replace: str = "anything") -> DemoSummary:
    """Write a new demo till database at ``path`` (overwritten atomically).

    The file is built under a temporary name in the same folder and moved onto ``path`` only
    when complete, so a crash or cancel never leaves a half-written database. ``progress``
    gets ``(fraction, message)``; when ``cancelled()`` turns true the build stops, the
    temporary file is removed and :class:`~possuggest.core.errors.Cancelled` is raised.
    ``replace`` says what may be at ``path``: "anything" (the data folder's own demo store),
    "demo" (nothing, or a demo store: ``demo-db --force``) or "nothing" (``demo-db``); it is
    checked before anything is written and again just before the move.
    """
    t0 = time.perf_counter()
    path = Path(path)
    if sales < 0:
        raise PossuggestError(f"the number of demo sales must be 0 or more, not {sales}")
    _check_replace(path, replace)
    end = end_date or dt.date.today()

    report = sub_range(progress, 0.0, 1.0)

    def check() -> None:
        check_cancelled(cancelled, "building the demo store was cancelled")

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise PossuggestError(f"cannot create the demo store in {path.parent}: "
                              f"{exc.strerror or exc}") from None
    os.close(fd)
    tmp = Path(tmp_name)
    conn: sqlite3.Connection | None = None
    try:
        check()
        report(0.0, "generating sales")
        model = DemoStoreModel(seed, end)
        hist = _generate_history(model, int(sales), seed, end)
        n_lines = len(hist.line_sale_id)
        log.info("generated %d sales with %d lines in %.1f s", sales, n_lines,
                 time.perf_counter() - t0)
        check()
        report(0.25, "writing sales")

        conn = sqlite3.connect(tmp, isolation_level=None)
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-65536")
        tables, indexes = _table_statements()
        conn.execute("BEGIN")
        for stmt in tables:
            conn.execute(stmt)
        conn.executemany(
            "INSERT INTO products (sku, name, category, family, price, cost, stock, active) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(p["sku"], p["name"], p["category"], p["family"], p["price"], p["cost"],
              p["stock"], p["active"]) for p in model.products])
        conn.execute(f"CREATE TABLE {DEMO_RELATIONS_TABLE} (a TEXT NOT NULL, b TEXT NOT NULL, "
                     "kind TEXT NOT NULL, PRIMARY KEY (kind, a, b)) WITHOUT ROWID")
        conn.executemany(f"INSERT INTO {DEMO_RELATIONS_TABLE} (a, b, kind) VALUES (?, ?, ?)",
                         model.relations().rows())

        total_rows = max(1, sales + n_lines)
        done = 0
        for lo, hi in _chunks(sales, _INSERT_CHUNK):
            check()
            conn.executemany(
                "INSERT INTO sales (sale_id, register_id, cashier_id, customer_id, opened_at, "
                "closed_at, status) VALUES (?, ?, ?, ?, ?, ?, ?)",
                zip(hist.sale_id[lo:hi].tolist(), hist.register[lo:hi].tolist(),
                    hist.cashier[lo:hi].tolist(), hist.customer[lo:hi].tolist(),
                    hist.opened[lo:hi].tolist(), hist.closed[lo:hi].tolist(),
                    hist.status[lo:hi].tolist(), strict=True))
            done += hi - lo
            report(0.25 + 0.65 * done / total_rows, "writing sales")
        for lo, hi in _chunks(n_lines, _INSERT_CHUNK):
            check()
            conn.executemany(
                "INSERT INTO sale_lines (line_id, sale_id, sku, qty, unit_price, voided) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                zip(range(lo + 1, hi + 1), hist.line_sale_id[lo:hi].tolist(),
                    hist.line_sku[lo:hi].tolist(), hist.line_qty[lo:hi].tolist(),
                    hist.line_price[lo:hi].tolist(), hist.line_voided[lo:hi].tolist(),
                    strict=True))
            done += hi - lo
            report(0.25 + 0.65 * done / total_rows, "writing sale lines")
        del hist
        check()
        report(0.9, "creating indexes")
        for stmt in indexes:
            conn.execute(stmt)
        conn.execute(f"PRAGMA application_id = {DEMO_APPLICATION_ID}")
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.close()
        conn = None
        check()
        _check_replace(path, replace)
        # stale sidecar files of an earlier database at ``path`` must not meet the new one
        for suffix in ("-journal", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(f"{path}{suffix}")
        os.replace(tmp, path)
    except BaseException:
        if conn is not None:
            conn.close()
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    seconds = time.perf_counter() - t0
    log.info("demo store %s: %d products, %d sales, %d lines in %.1f s", path,
             len(model.products), sales, n_lines, seconds)
    report(1.0, "done")
    return DemoSummary(path=path, products=len(model.products), sales=int(sales),
                       lines=n_lines, seconds=seconds)
