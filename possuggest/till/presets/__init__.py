"""Presets: the read-only queries for known tills' own databases, one set per SQL dialect.

``[till] preset = "odoo"`` reads Odoo's tables with no SQL to write; a query given in
``[till.mapping]`` replaces the preset's (see possuggest/till/mapping.py). Each preset says
what the till does and does not expose (``notes``), how it marks returns and voids (left out
of mining), what ``:register`` and ``:store`` match, and which public sources its table and
column names were checked against. ``possuggest till presets`` lists them and ``possuggest
till show-preset NAME`` prints one as TOML to adapt.

Every query returns the columns of the reference contract (till/schema.py): sale lines
``sale_id, sku, qty, closed_at`` (and ``price``), products ``sku, name, category, family,
price, cost, stock, active, barcode``, the open sale ``sale_id, sku, qty, line``. The SQL is
portable where it can be; where the dialects differ (casts, quoting, JSON, string
aggregation) each dialect has its own text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from possuggest.core.config import TILL_PRESETS
from possuggest.core.errors import TillError


@dataclass(frozen=True)
class PresetQueries:
    """One dialect's queries. ``open_sale`` None: the till keeps no open sale in its
    database (the basket comes through the basket API); ``change_token`` "": none."""

    sale_lines: str
    products: str
    open_sale: str | None
    change_token: str = ""


@dataclass(frozen=True)
class Preset:
    name: str
    title: str                      # "uniCenta oPOS (also Chromis, Wanda, Openbravo POS)"
    times: str                      # "local" | "utc": how the till keeps sale times
    runs_on: tuple[str, ...]        # the dialects the till itself uses
    dialects: Mapping[str, PresetQueries]   # runs_on, plus sqlite (copies and tests)
    sku: str                        # what the SKU is in this till
    register: str                   # what :register matches ("" = not used)
    store: str                      # what :store matches ("" = no store filter)
    excluded: str                   # how returns, voids and the like are left out
    notes: tuple[str, ...]          # what the till does and does not expose
    checked: tuple[str, ...] = field(default=())    # the public sources the names come from

    def queries(self, dialect: str) -> PresetQueries:
        try:
            return self.dialects[dialect]
        except KeyError:
            raise TillError(f"preset '{self.name}' has no queries for {dialect} ("
                            f"{self.title} runs on {', '.join(self.runs_on)}); map the "
                            "till in [till.mapping] (possuggest till show-preset "
                            f"{self.name} --dialect {self.first_dialect})") from None

    @property
    def first_dialect(self) -> str:
        return self.runs_on[0]

    @property
    def has_open_sale(self) -> bool:
        return any(q.open_sale is not None for q in self.dialects.values())


def _registry() -> dict[str, Preset]:
    from possuggest.till.presets import dolibarr, erpnext, odoo, ospos, unicenta

    found = [unicenta.PRESET, ospos.PRESET, odoo.PRESET, dolibarr.PRESET, erpnext.PRESET]
    return {p.name: p for p in found}


_PRESETS: dict[str, Preset] | None = None


def presets() -> dict[str, Preset]:
    """Every preset by name, in the order they are listed."""
    global _PRESETS
    if _PRESETS is None:
        _PRESETS = _registry()
    return _PRESETS


def preset_names() -> list[str]:
    return list(presets())


def get_preset(name: str) -> Preset:
    """A preset by name (case-insensitive); TillError naming the known ones."""
    found = presets().get(name.strip().lower())
    if found is None:
        raise TillError(f"unknown till preset {name!r} (known: {', '.join(preset_names())})")
    return found


def _check_names() -> None:
    """The config's list of preset names (core/config.py) and this registry agree."""
    if tuple(n for n in TILL_PRESETS if n) != tuple(preset_names()):
        raise AssertionError("core.config.TILL_PRESETS and till.presets disagree")


__all__ = ["Preset", "PresetQueries", "get_preset", "preset_names", "presets"]
