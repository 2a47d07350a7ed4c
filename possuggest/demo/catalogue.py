"""The demo store's data: its catalogue and shopping missions, read from package data files.

Two files in ``possuggest/resources/demo/`` (shipped as package data) describe the demo store;
:mod:`possuggest.demo.generator` builds the till database from them:

* ``catalogue.csv`` -- the products, one per row, with the header
  ``sku,name,category,family,price,multi_p,max_qty``. ``family`` groups tiers and variants
  (empty for none); ``multi_p`` is the chance that a line sells 2..``max_qty`` units (both empty
  for single units). Row order matters: it is the products' order in the till and feeds the
  seeded stock levels.
* ``shopping.toml`` -- the shopping model: season curves, everyday items, the missions that
  bring customers in (core items, tiers, accessories with their chances), discontinued products
  and the accessories kept in stock for the demo. Its opening comment explains every key.

:func:`load_demo_data` reads and checks both files once, on first use, and returns immutable
:class:`DemoData`; a malformed file raises :class:`DemoDataError` naming the file and entry.
"""

from __future__ import annotations

import csv
import functools
import io
import math
import sys
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from possuggest.core.errors import PossuggestError

DATA_PACKAGE = "possuggest"
DATA_DIR = ("resources", "demo")
CATALOGUE_FILE = "catalogue.csv"
SHOPPING_FILE = "shopping.toml"
CATALOGUE_COLUMNS = ("sku", "name", "category", "family", "price", "multi_p", "max_qty")
EVERYDAY_CORE = "everyday"   # a mission with ``core = "everyday"`` draws from the everyday list

_TOP_KEYS = {"everyday", "showcase", "discontinued", "seasons", "mission"}
_MISSION_KEYS = {"name", "weight", "season", "core", "core_weights", "extra_picks", "second_p",
                 "accessories"}
_ACCESSORY_KEYS = {"sku", "one_of", "weights", "p"}
_DISCONTINUED_KEYS = {"sku", "successor", "days_before_end"}


class DemoDataError(PossuggestError):
    """A demo data file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class CatalogueRow:
    """One catalogue row. ``qty_p``: chance a line sells 2..``qty_max`` units."""

    sku: str
    name: str
    category: str
    family: str | None
    price: float
    qty_p: float
    qty_max: int


@dataclass(frozen=True)
class Accessory:
    """With chance ``prob[i]`` when core item ``i`` is the primary pick, add one of ``alts``
    (chosen by ``alt_p``; equally when ``None``)."""

    alts: tuple[str, ...]
    prob: tuple[float, ...]            # one per core item of the mission
    alt_p: tuple[float, ...] | None = None


@dataclass(frozen=True)
class Mission:
    """A reason to come in. ``core`` gives the primary item (and extras); ``accs`` follow.

    A tiered family sets ``second_p`` (chance of also taking a different tier); a multi-pick
    mission (seeds, fasteners, cleaning) sets ``extra_lam`` (Poisson extra picks from core).
    """

    name: str
    weight: float
    season: str
    core: tuple[str, ...]
    core_p: tuple[float, ...] | None = None    # None: Zipf-like by listing order
    extra_lam: float = 0.0
    second_p: float = 0.0
    accs: tuple[Accessory, ...] = ()


@dataclass(frozen=True)
class Discontinued:
    """``sku`` sold until ``days_before_end`` days before the history ends, ``successor`` after."""

    sku: str
    successor: str
    days_before_end: int


@dataclass(frozen=True)
class DemoData:
    """Everything the demo store is generated from, in file order."""

    products: tuple[CatalogueRow, ...]
    seasons: Mapping[str, tuple[float, ...]]     # Jan..Dec multipliers by season name
    everyday: tuple[str, ...]                    # most popular first
    missions: tuple[Mission, ...]
    discontinued: tuple[Discontinued, ...]
    showcase: tuple[str, ...]                    # always kept in stock


@functools.cache
def load_demo_data() -> DemoData:
    """The demo store's data from the package data files (read and checked once, then cached)."""
    return parse_demo_data(_read_text(CATALOGUE_FILE), _read_text(SHOPPING_FILE))


def _read_text(name: str) -> str:
    ref = resources.files(DATA_PACKAGE)
    for part in (*DATA_DIR, name):
        ref = ref / part
    try:
        return ref.read_text(encoding="utf-8")
    except OSError as exc:
        raise DemoDataError(f"cannot read the demo data file {'/'.join((*DATA_DIR, name))}: "
                            f"{exc.strerror or exc}") from None


def parse_demo_data(catalogue_csv: str, shopping_toml: str) -> DemoData:
    """Parse and check the text of ``catalogue.csv`` and ``shopping.toml``."""
    products = parse_catalogue(catalogue_csv)
    known = {p.sku for p in products}
    try:
        doc = tomllib.loads(shopping_toml)
    except tomllib.TOMLDecodeError as exc:
        raise DemoDataError(f"{SHOPPING_FILE}: {exc}") from None
    _check_keys(doc, _TOP_KEYS, SHOPPING_FILE)

    seasons_doc = _table(doc.get("seasons"), f"{SHOPPING_FILE} [seasons]")
    seasons: dict[str, tuple[float, ...]] = {}
    for name, values in seasons_doc.items():
        where = f"{SHOPPING_FILE} season {name!r}"
        curve = tuple(_number(v, where) for v in _array(values, where))
        if len(curve) != 12:
            raise DemoDataError(f"{where}: needs 12 monthly values, not {len(curve)}")
        seasons[name] = curve
    if not seasons:
        raise DemoDataError(f"{SHOPPING_FILE}: [seasons] is missing or empty")

    everyday = _skus(doc.get("everyday"), f"{SHOPPING_FILE} everyday", known)
    if not everyday:
        raise DemoDataError(f"{SHOPPING_FILE}: the everyday list is missing or empty")
    showcase = _skus(doc.get("showcase", []), f"{SHOPPING_FILE} showcase", known)

    discontinued: list[Discontinued] = []
    for i, entry in enumerate(_array(doc.get("discontinued", []), f"{SHOPPING_FILE} discontinued")):
        where = f"{SHOPPING_FILE} discontinued entry {i + 1}"
        entry = _table(entry, where)
        _check_keys(entry, _DISCONTINUED_KEYS, where, required=_DISCONTINUED_KEYS)
        old, new = (_sku(entry[k], f"{where} {k}", known) for k in ("sku", "successor"))
        if old == new:
            raise DemoDataError(f"{where}: {old} cannot succeed itself")
        days = entry["days_before_end"]
        if not isinstance(days, int) or isinstance(days, bool) or days < 0:
            raise DemoDataError(f"{where}: days_before_end must be a whole number >= 0")
        discontinued.append(Discontinued(old, new, days))

    missions = tuple(_mission(m, i, seasons, everyday, known)
                     for i, m in enumerate(_array(doc.get("mission"), f"{SHOPPING_FILE} mission")))
    if not missions:
        raise DemoDataError(f"{SHOPPING_FILE}: no [[mission]] entries")
    names = [m.name for m in missions]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise DemoDataError(f"{SHOPPING_FILE}: two missions are named {dup!r}")
    return DemoData(products=products, seasons=MappingProxyType(seasons), everyday=everyday,
                    missions=missions, discontinued=tuple(discontinued), showcase=showcase)


def parse_catalogue(text: str) -> tuple[CatalogueRow, ...]:
    """Parse the text of ``catalogue.csv`` (a leading byte-order mark is ignored)."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in next(reader, [])]
    if tuple(header) != CATALOGUE_COLUMNS:
        raise DemoDataError(f"{CATALOGUE_FILE}: the header must be {','.join(CATALOGUE_COLUMNS)}, "
                            f"not {','.join(header)}")
    products: list[CatalogueRow] = []
    seen: set[str] = set()
    for row in reader:
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        where = f"{CATALOGUE_FILE} line {reader.line_num}"
        if len(cells) != len(CATALOGUE_COLUMNS):
            raise DemoDataError(f"{where}: {len(cells)} columns, not {len(CATALOGUE_COLUMNS)}")
        sku, name, category, family, price_text, multi_text, max_text = cells
        if not sku or not name or not category:
            raise DemoDataError(f"{where}: sku, name and category must not be empty")
        if sku in seen:
            raise DemoDataError(f"{where}: sku {sku} is listed twice")
        seen.add(sku)
        price = _float_cell(price_text, f"{where} price")
        if price <= 0:
            raise DemoDataError(f"{where}: price must be above 0, not {price_text}")
        qty_p, qty_max = 0.0, 1
        if multi_text or max_text:
            qty_p = _float_cell(multi_text, f"{where} multi_p")
            try:
                qty_max = int(max_text)
            except ValueError:
                raise DemoDataError(f"{where}: max_qty must be a whole number, "
                                    f"not {max_text!r}") from None
            if not 0 <= qty_p <= 1 or qty_max < 2:
                raise DemoDataError(f"{where}: multi_p must be in 0..1 and max_qty at least 2")
        products.append(CatalogueRow(sku=sku, name=name, category=category, family=family or None,
                                price=price, qty_p=qty_p, qty_max=qty_max))
    if not products:
        raise DemoDataError(f"{CATALOGUE_FILE}: no products")
    return tuple(products)


def _mission(doc: Any, i: int, seasons: Mapping[str, tuple[float, ...]],
             everyday: tuple[str, ...], known: set[str]) -> Mission:
    doc = _table(doc, f"{SHOPPING_FILE} mission {i + 1}")
    name = doc.get("name")
    where = f"{SHOPPING_FILE} mission {name!r}" if isinstance(name, str) else \
        f"{SHOPPING_FILE} mission {i + 1}"
    _check_keys(doc, _MISSION_KEYS, where, required={"name", "weight", "season", "core"})
    if not isinstance(name, str) or not name:
        raise DemoDataError(f"{where}: name must be a non-empty string")
    season = doc["season"]
    if season not in seasons:
        raise DemoDataError(f"{where}: unknown season {season!r} (not in [seasons])")
    core = everyday if doc["core"] == EVERYDAY_CORE else _skus(doc["core"], f"{where} core", known)
    if not core:
        raise DemoDataError(f"{where}: core is empty")
    k = len(core)
    core_p = None
    if "core_weights" in doc:
        core_p = _weights(doc["core_weights"], f"{where} core_weights")
        if len(core_p) != k:
            raise DemoDataError(f"{where}: core_weights has {len(core_p)} values for {k} core "
                                f"items")
    accs: list[Accessory] = []
    for j, acc in enumerate(_array(doc.get("accessories", []), f"{where} accessories")):
        accs.append(_accessory(acc, f"{where} accessory {j + 1}", core, known))
    return Mission(name=name, weight=_number(doc["weight"], f"{where} weight"), season=season,
                   core=core, core_p=core_p,
                   extra_lam=_number(doc.get("extra_picks", 0.0), f"{where} extra_picks"),
                   second_p=_number(doc.get("second_p", 0.0), f"{where} second_p", hi=1.0),
                   accs=tuple(accs))


def _accessory(doc: Any, where: str, core: tuple[str, ...], known: set[str]) -> Accessory:
    doc = _table(doc, where)
    _check_keys(doc, _ACCESSORY_KEYS, where, required={"p"})
    if ("sku" in doc) == ("one_of" in doc):
        raise DemoDataError(f"{where}: give either sku or one_of")
    if "sku" in doc:
        alts: tuple[str, ...] = (_sku(doc["sku"], f"{where} sku", known),)
    else:
        alts = _skus(doc["one_of"], f"{where} one_of", known)
        if not alts:
            raise DemoDataError(f"{where}: one_of is empty")
    alt_p = None
    if "weights" in doc:
        alt_p = _weights(doc["weights"], f"{where} weights")
        if len(alt_p) != len(alts):
            raise DemoDataError(f"{where}: weights has {len(alt_p)} values for {len(alts)} "
                                f"alternatives")
    p = doc["p"]
    if isinstance(p, dict):           # { CORE-SKU = chance, ... }: zero with other core items
        unknown = sorted(set(p) - set(core))
        if unknown:
            raise DemoDataError(f"{where}: p names {', '.join(unknown)}, not core items")
        prob = tuple(_number(p[c], f"{where} p", hi=1.0) if c in p else 0.0 for c in core)
    elif isinstance(p, list):         # one chance per core item
        prob = tuple(_number(v, f"{where} p", hi=1.0) for v in p)
        if len(prob) != len(core):
            raise DemoDataError(f"{where}: p has {len(prob)} values for {len(core)} core items")
    else:                             # the same chance whatever the primary pick
        prob = (_number(p, f"{where} p", hi=1.0),) * len(core)
    return Accessory(alts=alts, prob=prob, alt_p=alt_p)


def _check_keys(doc: Mapping[str, Any], allowed: set[str], where: str,
                required: AbstractSet[str] = frozenset()) -> None:
    unknown = sorted(set(doc) - allowed)
    if unknown:
        raise DemoDataError(f"{where}: unknown key {unknown[0]!r} "
                            f"(known: {', '.join(sorted(allowed))})")
    missing = sorted(required - set(doc))
    if missing:
        raise DemoDataError(f"{where}: {missing[0]} is missing")


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DemoDataError(f"{where}: expected a table")
    return value


def _array(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise DemoDataError(f"{where}: expected an array")
    return value


def _number(value: Any, where: str, hi: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or not 0 <= value <= hi:
        limit = f"0..{hi:g}" if hi < math.inf else ">= 0"
        raise DemoDataError(f"{where}: {value!r} is not a number {limit}")
    return float(value)


def _weights(value: Any, where: str) -> tuple[float, ...]:
    weights = tuple(_number(v, where) for v in _array(value, where))
    if not sum(weights) > 0:
        raise DemoDataError(f"{where}: the weights must not all be 0")
    return weights


def _float_cell(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise DemoDataError(f"{where}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise DemoDataError(f"{where}: {text!r} is not a finite number")
    return value


def _sku(value: Any, where: str, known: set[str]) -> str:
    if not isinstance(value, str):
        raise DemoDataError(f"{where}: {value!r} is not a sku")
    if value not in known:
        raise DemoDataError(f"{where}: {value} is not in {CATALOGUE_FILE}")
    return value


def _skus(value: Any, where: str, known: set[str]) -> tuple[str, ...]:
    return tuple(_sku(v, where, known) for v in _array(value, where))
