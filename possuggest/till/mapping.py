"""Which SQL reads the till, and how its rows become values: for every SQL dialect.

A till is read through three queries (sale lines, products, the open sale) and, on a server,
an optional change-token query. They come from the reference schema, from a preset
(``[till] preset``, possuggest/till/presets) or from ``[till.mapping]``; a query given in
``[till.mapping]`` replaces the preset's. :func:`resolve_mapping` settles that once, for one
dialect (``sqlite``, ``postgresql`` or ``mysql``), so the SQLite reader (reader.py) and the
server reader read the same way:

* **Checks that work on every dialect**: a mapped query's columns are read from
  ``SELECT * FROM (query) AS possuggest_probe WHERE 1=0`` (PostgreSQL and MariaDB want the
  alias; nothing is read). A trailing ``;`` (and trailing comments) are dropped first.
* **Parameters**: ``:register`` (``till.register``), ``:store`` (``till.store``) and
  ``:lang`` (``till.language``) are bound when a query uses them. A store set for a mapping
  that never uses ``:store`` is refused: it would silently read every store.
* **Driver values**: servers return ``Decimal``, ``datetime``, ``date`` and ``time`` where
  SQLite returns numbers and text; :func:`normalise_rows` makes them the SQLite kinds.
* **Time zones**: :func:`wall_clock_seconds` turns sale times into the wall-clock seconds the
  time-of-day context uses (core/context_time.py): times kept in UTC (Odoo), or carrying an
  offset, are converted to ``till.timezone`` (or this computer's zone); local times are kept.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from possuggest.core.config import TillSettings
from possuggest.core.errors import TillError
from possuggest.till.schema import (
    REFERENCE_OPEN_SALE,
    REFERENCE_PRODUCTS,
    REFERENCE_SALE_LINES,
)

log = logging.getLogger(__name__)

DIALECTS = ("sqlite", "postgresql", "mysql")
PARAMETERS = ("register", "store", "lang")
#: ``[till.mapping] open_sale`` spelled this way: the till keeps no open sale in its database
NO_OPEN_SALE = "none"

_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
_AWARE = re.compile(r"(?:Z|[+-]\d\d(?::?\d\d)?)$")


@dataclass(frozen=True)
class ResolvedMapping:
    """The queries one till is read with, for one dialect (see the module docstring)."""

    sale_lines: str
    products: str
    open_sale: str | None        # None: the till keeps no open sale in its database
    change_token: str            # "": none
    times: str                   # "local" | "utc": how naive sale times are kept
    reference: bool              # the reference schema: sliced reads by integer sale id
    label: str                   # for messages: "the reference schema", "preset 'odoo' ..."

    @property
    def custom(self) -> bool:
        return not self.reference


def dialect_of(name: str) -> str:
    """A SQLAlchemy dialect name (or ours) as one of :data:`DIALECTS`."""
    key = name.lower().split("+", 1)[0]
    if key in ("mariadb", "mysql"):
        return "mysql"
    if key in ("postgres", "postgresql"):
        return "postgresql"
    if key == "sqlite":
        return "sqlite"
    raise TillError(f"no till presets for the SQL dialect {name!r} (known: "
                    f"{', '.join(DIALECTS)}); map the till in [till.mapping]")


def clean_sql(query: str, what: str) -> str:
    """A mapped query without the trailing ``;``, blanks and comments a pasted query brings;
    a second statement after a ``;`` is refused (a mapping is one SELECT)."""
    text = query.strip()
    while True:
        masked = _mask(text)
        text = text[:len(masked.rstrip())]
        if not text.endswith(";"):
            break
        text = text[:-1]
    if ";" in _mask(text):
        raise TillError(f"till query '{what}' holds more than one statement; a mapping is "
                        "one SELECT")
    return text


def _mask(text: str) -> str:
    """``text`` with comments blanked and quoted text replaced by ``x`` (same length): what
    is left is the query's own punctuation."""
    out = list(text)
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in ("'", '"', "`"):
            j = i + 1
            while j < n:
                if text[j] == ch:
                    if j + 1 < n and text[j + 1] == ch:      # a doubled quote
                        j += 2
                        continue
                    break
                j += 1
            for k in range(i + 1, min(j, n)):
                out[k] = "x"
            i = j + 1
        elif text.startswith("--", i) or text.startswith("/*", i):
            close = text.find("\n", i) if ch == "-" else text.find("*/", i + 2)
            stop = n if close == -1 else close + (0 if ch == "-" else 2)
            for k in range(i, stop):
                out[k] = " "
            i = stop
        else:
            i += 1
    return "".join(out)


def probe_sql(query: str) -> str:
    """The column check that works on every dialect (no rows are read)."""
    return f"SELECT * FROM (\n{query}\n) AS possuggest_probe WHERE 1=0"


def wrap(query: str, columns: Sequence[str], where: str = "", order: str = "") -> str:
    """``SELECT columns FROM (query) AS m [WHERE …] [ORDER BY …]``, valid on every dialect.
    The query goes on lines of its own, so a comment at its end cannot swallow the rest.
    A column with a ``(`` or ``.`` (``MAX(m.closed_at)``) is taken as written."""
    cols = ", ".join(c if ("(" in c or "." in c) else f"m.{c}" for c in columns)
    sql = f"SELECT {cols} FROM (\n{query}\n) AS m"
    if where:
        sql += f" WHERE {where}"
    if order:
        sql += f" ORDER BY {order}"
    return sql


def parameters_used(query: str) -> set[str]:
    """The ``:name`` parameters a query uses (``::type`` casts are not parameters)."""
    return set(_PARAM.findall(_strip_literals(query)))


def _strip_literals(query: str) -> str:
    return re.sub(r"'(?:[^']|'')*'", "''", query)


def query_params(query: str, settings: TillSettings) -> dict[str, str]:
    """The values of the parameters ``query`` uses."""
    values = {"register": settings.register, "store": settings.store,
              "lang": settings.language or "en_US"}
    used = parameters_used(query)
    unknown = sorted(used - set(values))
    if unknown:
        raise TillError(f"till query uses unknown parameter(s) :{', :'.join(unknown)} "
                        f"(known: :{', :'.join(PARAMETERS)})")
    return {k: v for k, v in values.items() if k in used}


def resolve_mapping(settings: TillSettings, dialect: str = "sqlite") -> ResolvedMapping:
    """The queries to read this till with (see the module docstring); TillError when a preset
    has no queries for the dialect or a query is malformed."""
    from possuggest.till.presets import get_preset

    m = settings.mapping
    preset = get_preset(settings.preset) if settings.preset else None
    if preset is not None:
        dialect = dialect_of(dialect)           # a preset has texts for known dialects only
        q = preset.queries(dialect)
        base_lines, base_products = q.sale_lines, q.products
        base_open: str | None = q.open_sale
        base_token, base_times = q.change_token, preset.times
        reference = False
        label = f"preset '{preset.name}' ({dialect})"
    else:
        base_lines, base_products, base_open = (REFERENCE_SALE_LINES, REFERENCE_PRODUCTS,
                                                REFERENCE_OPEN_SALE)
        base_token, base_times = "", "local"
        reference = not (m.sale_lines or m.products or m.open_sale)
        label = "the reference schema" if reference else "[till.mapping]"
    if preset is not None and (m.sale_lines or m.products or m.open_sale):
        label += " with [till.mapping]"
    open_sale: str | None
    if m.open_sale.strip().lower() == NO_OPEN_SALE:
        open_sale = None
    elif m.open_sale:
        open_sale = clean_sql(m.open_sale, "open_sale")
    else:
        open_sale = None if base_open is None else clean_sql(base_open, "open_sale")
    resolved = ResolvedMapping(
        sale_lines=clean_sql(m.sale_lines or base_lines, "sale_lines"),
        products=clean_sql(m.products or base_products, "products"),
        open_sale=open_sale,
        change_token=clean_sql(m.change_token or base_token, "change_token")
        if (m.change_token or base_token) else "",
        times=m.times or base_times,
        reference=reference,
        label=label)
    for what, query in (("sale_lines", resolved.sale_lines), ("products", resolved.products),
                        ("open_sale", resolved.open_sale or ""),
                        ("change_token", resolved.change_token)):
        try:
            query_params(query, settings)
        except TillError as exc:
            raise TillError(f"till query '{what}': {exc}") from None
    if settings.store and not any(
            "store" in parameters_used(q) for q in (resolved.sale_lines, resolved.products,
                                                    resolved.open_sale or "")):
        raise TillError(f"till.store is set ({settings.store!r}) but {label} has no store "
                        "filter (:store); leave till.store empty or map the store in "
                        "[till.mapping]")
    return resolved


# -- values -----------------------------------------------------------------------------------
_SPECIAL = (Decimal, dt.datetime, dt.date, dt.time, dt.timedelta, bytes, bytearray, memoryview)


def normalise_value(value: Any) -> Any:
    """A driver's value as SQLite would give it: ``Decimal`` → int or float, ``datetime`` →
    ISO text (with its offset when it has one), ``date``/``time`` → ISO text, a MySQL
    ``TIME`` (timedelta) → ``HH:MM:SS``, bytes → text (a MySQL ``BIT(1)`` → 0/1)."""
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return int(value)
        return float(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        secs = int(value.total_seconds())
        return f"{secs // 3600:02d}:{secs % 3600 // 60:02d}:{secs % 60:02d}"
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        if len(raw) == 1 and raw in (b"\x00", b"\x01"):
            return raw[0]
        return raw.decode("utf-8", "replace")
    return value


def normalise_rows(rows: Iterable[Sequence[Any]]) -> list[tuple[Any, ...]]:
    """Rows with every driver value normalised (:func:`normalise_value`); rows of plain
    SQLite values are returned as they are (checked, not copied)."""
    out = rows if isinstance(rows, list) else list(rows)
    if not any(isinstance(v, _SPECIAL) for row in out for v in row):
        return out          # type: ignore[return-value]
    return [tuple(normalise_value(v) for v in row) for row in out]


# -- time zones -------------------------------------------------------------------------------
def store_zone(name: str) -> dt.tzinfo:
    """``till.timezone`` as a zone; empty = this computer's zone (by name when it can be
    found, so daylight saving is right for every date)."""
    if name:
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise TillError(f"unknown time zone {name!r} (till.timezone)") from None
    env = os.environ.get("TZ", "").lstrip(":")
    for candidate in (env, _zone_of_localtime()):
        if candidate:
            try:
                return zoneinfo.ZoneInfo(candidate)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                continue
    local = dt.datetime.now().astimezone().tzinfo
    return local if local is not None else dt.timezone.utc


def _zone_of_localtime() -> str:
    try:
        target = os.path.realpath("/etc/localtime")
    except OSError:
        return ""
    marker = "zoneinfo/"
    return target.split(marker, 1)[1] if marker in target else ""


def _is_aware(value: Any) -> bool:
    if isinstance(value, dt.datetime):
        return value.tzinfo is not None
    return isinstance(value, str) and len(value) > 10 and bool(_AWARE.search(value.strip()))


def wall_clock_seconds(values: Sequence[Any] | np.ndarray, times: str = "local",
                       timezone: str = "") -> np.ndarray:
    """Sale times (text, ``datetime`` or numbers; one per basket) as wall-clock seconds in
    the store's zone (core/context_time.py); NaN where unreadable.

    Naive times are the store's own unless ``times == "utc"``; times with an offset (or a
    ``datetime`` with a zone) are converted. Numbers are taken as wall-clock seconds."""
    import pandas as pd

    arr = np.asarray(values, dtype=object)
    out = np.full(len(arr), np.nan)
    if not len(arr):
        return out
    numeric = np.array([isinstance(v, (int, float)) and not isinstance(v, bool)
                        for v in arr], dtype=bool)
    if numeric.any():
        out[numeric] = arr[numeric].astype(np.float64)
    rest = ~numeric
    if not rest.any():
        return out
    texts = np.array([normalise_value(v) if isinstance(v, _SPECIAL) else v
                      for v in arr[rest]], dtype=object)
    sample = next((v for v in texts if v is not None), None)
    aware = sample is not None and _is_aware(sample)
    if aware or times == "utc":
        parsed = pd.to_datetime(pd.Series(texts), errors="coerce", format="ISO8601", utc=True)
        zone = store_zone(timezone)
        local = parsed.dt.tz_convert(zone).dt.tz_localize(None)
    else:
        local = pd.to_datetime(pd.Series(texts), errors="coerce", format="ISO8601")
    secs = local.to_numpy(dtype="datetime64[ns]").astype(np.int64) / 1e9
    secs[local.isna().to_numpy()] = np.nan
    out[rest] = secs
    return out


__all__ = ["DIALECTS", "NO_OPEN_SALE", "PARAMETERS", "ResolvedMapping", "clean_sql",
           "dialect_of", "normalise_rows", "normalise_value", "parameters_used", "probe_sql",
           "query_params", "resolve_mapping", "store_zone", "wall_clock_seconds", "wrap"]
