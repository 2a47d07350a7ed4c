"""Read sales files (outside the till) into :class:`~possuggest.core.transactions.Transactions`.

Three layouts are understood:

``baskets``
    one basket per line, items separated by a delimiter (comma, semicolon or tab; sniffed),
    e.g. R's ``groceries.csv``. There is no time: line order is the only order.
``long``
    one line per (ticket, item) with a header row, e.g. ``Date,Time,Transaction,Item``. The
    ticket key may be several columns joined (customer + date); the time may be several
    columns joined with a space (date + time) and parsed.
``fimi``
    the FIMI repository's ``.dat``: space-separated integer item ids, one basket per line.

Messy rows never stop a read: each skipped row (or entry) is counted under a reason in
``LoadedSales.skipped`` (see :data:`SKIP_REASONS`). Problems with the file as a whole
(missing, empty, binary, no usable column) raise :class:`~possuggest.core.errors.InputFileError`
with a one-line message.

Only regular files are read, and at most :data:`MAX_FILE_BYTES` (1 GiB) of them: a device,
pipe or socket (``/dev/zero``, a FIFO) is refused up front, as reading it may never end, and a
larger file is refused with a hint to sample it (parsing takes several times its size in
memory). A quoted field longer than Python's CSV limit (128 KiB, usually an unclosed quote) is
an error naming the line.

Text handling common to every layout: UTF-16 files with a byte-order mark are decoded as such;
otherwise UTF-8 (a BOM is dropped), falling back to Windows-1252/Latin-1 with a note. NUL
bytes are removed (with a note) and CRLF/CR line ends are accepted. Item and ticket text is
stripped of surrounding blanks. Items that are placeholders rather than products (``NONE``,
``NULL``, ``N/A``, ``#N/A``, ``NAN``, compared case-insensitively) are skipped and counted.
"""

from __future__ import annotations

import contextlib
import csv
import gc
import io
import itertools
import logging
import os
import re
import stat
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from possuggest.core.errors import InputFileError
from possuggest.core.transactions import Transactions

log = logging.getLogger(__name__)

FORMATS = ("baskets", "long", "fimi")

#: The largest sales file read (bytes); larger ones are refused with a hint to sample them.
MAX_FILE_BYTES = 1 << 30

#: Placeholder item values that are not products (compared after strip + upper-case).
PLACEHOLDER_ITEMS: frozenset[str] = frozenset({"NONE", "NULL", "N/A", "#N/A", "NAN"})

#: What each key of ``LoadedSales.skipped`` counts.
SKIP_REASONS: dict[str, str] = {
    "blank_line": "blank lines",
    "malformed_line": "lines with more fields than the header (long format)",
    "missing_ticket": "lines with an empty ticket column (long format)",
    "empty_item": "empty item entries",
    "placeholder_item": "item entries that are a placeholder such as NONE, not a product",
    "bad_time": "lines whose time could not be parsed (long format)",
    "bad_item_id": "entries that are not integer item ids (fimi format)",
    "duplicate_item": "repeats of an item already in the same basket (collapsed into one)",
    "return_line": "lines with a quantity of zero or less: returns and voids (long format)",
}

# Quantity columns recognised without being named (compared case-insensitively).
_QTY_GUESSES = ("quantity", "qty", "units", "menge", "anzahl")

# Date layouts tried, in this order, when a time column is not ISO 8601 and no format is given.
# Day-first and month-first layouts that both read every value are reported as ambiguous.
_DATE_LAYOUTS = ("%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%m-%d-%Y", "%Y/%m/%d",
                 "%m/%d/%y", "%d/%m/%y", "%d.%m.%y", "%Y%m%d")
_TIME_LAYOUTS = (" %H:%M:%S", " %H:%M", " %I:%M:%S %p", " %I:%M %p", "")

# Guesses used when a long file's columns are not named by the caller (first match wins,
# compared case-insensitively).
_TICKET_GUESSES = ("transaction", "transaction_id", "ticket", "ticket_id", "receipt",
                   "receipt_id", "sale_id", "basket", "basket_id", "order_id", "invoiceno",
                   "invoice", "invoice_no", "bill", "bill_no")
_ITEM_GUESSES = ("item", "items", "sku", "product", "product_id", "stockcode", "article",
                 "item_id", "description", "product_name")
_TIME_GUESSES: tuple[tuple[str, ...], ...] = (
    ("date", "time"), ("datetime",), ("timestamp",), ("closed_at",), ("invoicedate",),
    ("date",))

_SKIPPING_RE = re.compile(r"Skipping line (\d+)")
_SNIFF_DELIMITERS = (",", ";", "\t")
_TICKET_JOIN = " | "


@dataclass
class LoadedSales:
    """A sales file read into baskets, with what was left out and why.

    ``rows_read`` is the number of data lines read (header excluded, blank lines included).
    ``skipped`` maps a reason (a key of :data:`SKIP_REASONS`) to how many lines or entries
    were left out for it; only reasons that occurred appear. ``notes`` are one-line remarks
    about the file as a whole (encoding fallback, NUL bytes removed, columns guessed).
    ``tx.basket_ids`` are the ticket keys for the long layout (several ticket columns joined
    with ``" | "``) and 1-based line numbers for the baskets and fimi layouts.
    """

    tx: Transactions
    skipped: dict[str, int]
    rows_read: int
    source: str
    fmt: str = ""
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for logs and the CLI."""
        parts = [f"{self.source}: {self.fmt} format, {self.rows_read:,} lines read, "
                 f"{self.tx.n_baskets:,} baskets, {self.tx.n_items:,} items"]
        if self.skipped:
            parts.append("skipped " + ", ".join(f"{k}={v:,}" for k, v in self.skipped.items()))
        return "; ".join(parts)


# --------------------------------------------------------------------------- text loading

@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building millions of small lists (they hold
    only strings, so no cycles): otherwise its repeated passes cost several times the work."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _load_text(path: str | Path) -> tuple[str, list[str]]:
    """The file's text with NULs removed, and notes; InputFileError when not a text file."""
    p = Path(path)
    if not p.exists():
        raise InputFileError(f"sales file not found: {p}")
    if p.is_dir():
        raise InputFileError(f"sales file {p} is a folder, not a file")
    data = _read_capped(p)
    notes: list[str] = []
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as err:
            raise InputFileError(f"sales file {p} has a UTF-16 mark but cannot be decoded"
                                 ) from err
        data = text.encode("utf-8")
        notes.append("decoded as UTF-16")
    if not data.strip(b" \t\r\n\x00"):
        raise InputFileError(f"sales file {p} is empty")
    if data.startswith(b"SQLite format 3\x00"):
        raise InputFileError(f"{p} is an SQLite database, not a sales file "
                             "(point the till setting at it instead)")
    if data.startswith((b"\x1f\x8b", b"PK\x03\x04", b"BZh", b"\xfd7zXZ")):
        raise InputFileError(f"sales file {p} is compressed: unpack it first")
    sample = data[:65536]
    ctrl = sum(sample.count(bytes([c])) for c in (*range(0, 9), 11, *range(14, 32), 127))
    if ctrl > max(2, len(sample) // 100):
        raise InputFileError(f"sales file {p} does not look like text (binary data)")
    n_nul = data.count(b"\x00")
    if n_nul:
        data = data.replace(b"\x00", b"")
        notes.append(f"removed {n_nul} NUL byte{'s' if n_nul > 1 else ''}")
        log.info("%s: removed %d NUL byte(s)", p.name, n_nul)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
            notes.append("not valid UTF-8: read as Windows-1252")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
            notes.append("not valid UTF-8: read as Latin-1")
        log.info("%s: %s", p.name, notes[-1])
    return text, notes


def _size_text(n: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):,.1f} {unit}".replace(".0 ", " ")
    return f"{n:,} bytes"


def _too_large(p: Path, size: int | None = None) -> InputFileError:
    what = f"{_size_text(size)}, more" if size is not None else "more"
    return InputFileError(f"sales file {p} is {what} than the {_size_text(MAX_FILE_BYTES)} a "
                          "sales file may have: evaluate on a sample of it")


def _read_capped(p: Path) -> bytes:
    """The bytes of a regular file of at most MAX_FILE_BYTES. Opened without blocking and
    checked on the open file, so a pipe or device put in its place is refused, not read."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(p, flags)
    except OSError as err:
        raise InputFileError(f"cannot read sales file {p}: {err.strerror or err}") from err
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputFileError(f"sales file {p} is not a regular file (a device, pipe or "
                                 "socket): save the sales into a file and give that")
        if st.st_size > MAX_FILE_BYTES:
            raise _too_large(p, st.st_size)
        try:
            data = f.read(MAX_FILE_BYTES + 1)
        except OSError as err:
            raise InputFileError(f"cannot read sales file {p}: {err.strerror or err}") from err
    if len(data) > MAX_FILE_BYTES:            # it grew while being read
        raise _too_large(p)
    return data


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line
    return ""


def _sniff_delimiter(line: str, wanted: Sequence[str] = ()) -> str:
    """The delimiter of a header/first line: the one under which all ``wanted`` columns
    appear, else the most frequent of comma, semicolon and tab (comma when none)."""
    if wanted:
        want = {w.strip().casefold() for w in wanted}
        for d in _SNIFF_DELIMITERS:
            cols = {c.strip().strip('"').casefold() for c in line.split(d)}
            if want <= cols:
                return d
    counts = {d: line.count(d) for d in _SNIFF_DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


# --------------------------------------------------------------------------- building

def _add(skipped: dict[str, int], reason: str, n: int) -> None:
    if n > 0:
        skipped[reason] = skipped.get(reason, 0) + int(n)


def _clean_item_uniques(uniques: Sequence[object]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Strip each distinct raw item value; return (cleaned values, is_empty, is_placeholder)."""
    cleaned = np.array([str(u).strip() for u in uniques], dtype=object)
    empty = np.array([c == "" for c in cleaned], dtype=bool)
    placeholder = np.array([c.upper() in PLACEHOLDER_ITEMS for c in cleaned], dtype=bool)
    return cleaned, empty, placeholder


def _build(basket_key: np.ndarray, item_code: np.ndarray, items: np.ndarray,
           times: np.ndarray | None, skipped: dict[str, int],
           items_sorted: bool = False) -> Transactions:
    """Transactions from kept entries: ``basket_key`` any hashable per entry (baskets numbered
    in order of first appearance), ``item_code`` indices into ``items`` (which may hold values
    no entry uses: they are dropped and the rest renumbered in sorted text order, or kept in
    the given order when ``items_sorted``)."""
    bcodes, bids = pd.factorize(basket_key, sort=False)
    used = np.unique(item_code)
    sub_items = items[used]
    if items_sorted or not len(sub_items):
        order = np.arange(len(used))
    else:
        order = np.argsort(sub_items.astype(str), kind="stable")
    remap = np.full(len(items), -1, dtype=np.int64)
    remap[used[order]] = np.arange(len(used))
    basket = bcodes.astype(np.int64)
    item = remap[item_code]
    n_items = max(len(used), 1)
    key = basket * n_items + item
    _, first = np.unique(key, return_index=True)
    first.sort()
    _add(skipped, "duplicate_item", len(key) - len(first))
    btime = None
    if times is not None:
        btime = np.full(len(bids), np.nan)
        rev = np.arange(len(basket))[::-1]
        btime[basket[rev]] = times[rev]          # the first line of each basket wins
    return Transactions(basket=basket[first], item=item[first],
                        items=np.asarray(sub_items[order], dtype=object),
                        n_baskets=len(bids), basket_time=btime,
                        basket_ids=np.asarray(bids, dtype=object))


def _empty_tx() -> Transactions:
    return Transactions(basket=np.zeros(0, np.int64), item=np.zeros(0, np.int64),
                        items=np.zeros(0, dtype=object), n_baskets=0)


# --------------------------------------------------------------------------- readers

def read_baskets(path: str | Path, delimiter: str | None = None) -> LoadedSales:
    """One basket per line, items separated by ``delimiter`` (sniffed when None).

    Quoted fields are honoured. No header is expected and there is no time: the basket order
    is the line order, and ``tx.basket_time`` is None. Blank lines, empty and placeholder items
    are skipped and counted; a repeated item in a line collapses into one.
    """
    text, notes = _load_text(path)
    return _parse_baskets(text, notes, Path(path), delimiter)


def _parse_baskets(text: str, notes: list[str], p: Path, delimiter: str | None) -> LoadedSales:
    d = _check_delimiter(delimiter) or _sniff_delimiter(_first_line(text))
    with _no_gc():
        if '"' in text:
            reader = csv.reader(io.StringIO(text, newline=""), delimiter=d)
            try:
                rows = list(reader)
            except csv.Error as err:
                raise InputFileError(_csv_problem(p, reader.line_num, err)) from None
        else:                                        # no quoting: plain splits are faster
            rows = [ln.split(d) if ln else [] for ln in text.splitlines()]
    while rows and not rows[-1]:
        rows.pop()                                   # trailing blank lines are not data
    skipped: dict[str, int] = {}
    lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    blank = (lengths == 0) | np.array([len(r) == 1 and not r[0].strip() for r in rows],
                                      dtype=bool)
    _add(skipped, "blank_line", int(blank.sum()))
    lengths[blank] = 0
    flat = list(itertools.chain.from_iterable(r for r, b in zip(rows, blank, strict=True) if not b))
    line_no = np.repeat(np.arange(len(rows), dtype=np.int64), lengths)
    tx = _from_raw_items(line_no + 1, np.asarray(flat, dtype=object), None, skipped)
    log.info("%s: %d baskets read as 'baskets' (delimiter %r)", p.name, tx.n_baskets, d)
    return LoadedSales(tx=tx, skipped=skipped, rows_read=len(rows), source=str(p),
                       fmt="baskets", notes=notes)


def _csv_problem(p: Path, line: int, err: csv.Error) -> str:
    if "field limit" in str(err):
        return (f"sales file {p.name}, line {line}: a field is longer than "
                f"{csv.field_size_limit():,} characters (an unclosed quote?)")
    return f"sales file {p.name} cannot be parsed: line {line}: {err}"


def _check_delimiter(delimiter: str | None) -> str | None:
    """A given delimiter must be one character other than a quote or a line end (``\\t``
    and ``tab`` mean a tab)."""
    if delimiter is None or delimiter == "":
        return None
    if delimiter in ("\\t", "tab", "TAB"):
        return "\t"
    if len(delimiter) != 1 or delimiter in ('"', "\r", "\n"):
        raise InputFileError(f"delimiter {delimiter!r}: give one character such as , ; or "
                             "\\t (not a quote or a line end)")
    return delimiter


def _check_time_format(time_format: str | None) -> None:
    """A strptime pattern that pandas cannot use is an error naming it, before any reading."""
    if time_format is None or time_format in ("epoch", "unix", "ISO8601", "mixed"):
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pd.to_datetime(pd.Series(["2000-01-01"]), format=time_format, errors="coerce",
                           utc=True)
    except (ValueError, re.error) as err:
        msg = " ".join(str(err).split()) or type(err).__name__
        raise InputFileError(f"time format {time_format!r} is not a valid strptime pattern "
                             f"({msg}); e.g. '%d/%m/%Y %H:%M'") from None


def _from_raw_items(basket_key: np.ndarray, raw_items: np.ndarray, times: np.ndarray | None,
                    skipped: dict[str, int]) -> Transactions:
    """Clean raw item text (per distinct value, so it is fast), count and drop bad entries."""
    if len(raw_items) == 0:
        return _empty_tx()
    codes, uniques = pd.factorize(raw_items, sort=False)
    cleaned, empty, placeholder = _clean_item_uniques(uniques)
    # values that differ only by blanks become one item
    c2, u2 = pd.factorize(cleaned, sort=False)
    codes = c2[codes]
    empty2 = np.zeros(len(u2), dtype=bool)
    ph2 = np.zeros(len(u2), dtype=bool)
    empty2[c2] = empty
    ph2[c2] = placeholder
    bad_empty = empty2[codes]
    bad_ph = ph2[codes]
    _add(skipped, "empty_item", int(bad_empty.sum()))
    _add(skipped, "placeholder_item", int(bad_ph.sum()))
    keep = ~(bad_empty | bad_ph)
    if not keep.any():
        return _empty_tx()
    return _build(basket_key[keep], codes[keep].astype(np.int64),
                  np.asarray(u2, dtype=object), None if times is None else times[keep], skipped)


def read_fimi(path: str | Path) -> LoadedSales:
    """The FIMI ``.dat`` layout: space-separated integer item ids, one basket per line.

    Item codes become the ids' decimal text (``"25"``), items sorted by numeric id. Tokens
    that are not integers are skipped (``bad_item_id``); blank lines are counted. No time.
    """
    text, notes = _load_text(path)
    return _parse_fimi(text, notes, Path(path))


def _parse_fimi(text: str, notes: list[str], p: Path) -> LoadedSales:
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    skipped: dict[str, int] = {}
    with _no_gc():
        tokens = [ln.split() for ln in lines]
    lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
    _add(skipped, "blank_line", int((lengths == 0).sum()))
    flat = list(itertools.chain.from_iterable(tokens))
    line_no = np.repeat(np.arange(len(lines), dtype=np.int64), lengths)
    try:
        ids = np.array(flat, dtype=np.int64)
        ok = np.ones(len(ids), dtype=bool)
    except (ValueError, OverflowError):
        num = pd.to_numeric(pd.Series(flat, dtype=object), errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan)
        # whole numbers a float holds exactly (beyond 2**53 two ids could become one)
        ok = np.isfinite(num) & (num == np.round(num)) & (np.abs(num) <= 2.0**53)
        ids = np.where(ok, num, 0).astype(np.int64)
        _add(skipped, "bad_item_id", int((~ok).sum()))
    if not ok.any():
        if flat:
            raise InputFileError(f"sales file {p} has no integer item ids: not a FIMI .dat file")
        tx = _empty_tx()
    else:
        codes, uniq = pd.factorize(ids[ok], sort=True)
        tx = _build(line_no[ok] + 1, codes.astype(np.int64),
                    np.array([str(int(u)) for u in uniq], dtype=object), None, skipped,
                    items_sorted=True)
    log.info("%s: %d baskets read as 'fimi'", p.name, tx.n_baskets)
    return LoadedSales(tx=tx, skipped=skipped, rows_read=len(lines), source=str(p), fmt="fimi",
                       notes=notes)


def _match_columns(found: Sequence[str], wanted: Sequence[str], p: Path) -> list[str]:
    """The header names for ``wanted`` (exact, else stripped case-insensitive match)."""
    out = []
    folded = {c.strip().casefold(): c for c in reversed(list(found))}
    for w in wanted:
        if w in found:
            out.append(w)
        elif w.strip().casefold() in folded:
            out.append(folded[w.strip().casefold()])
        else:
            raise InputFileError(f"sales file {p.name} has no column {w!r} "
                                 f"(columns found: {', '.join(map(str, found))})")
    return out


def _guess(found: Sequence[str], guesses: Sequence[str]) -> str | None:
    folded = {str(c).strip().casefold(): c for c in reversed(list(found))}
    for g in guesses:
        if g in folded:
            return folded[g]
    return None


def _guess_long_columns(found: Sequence[str]) -> tuple[str | None, str | None, list[str] | None]:
    ticket = _guess(found, _TICKET_GUESSES)
    item = _guess(found, _ITEM_GUESSES)
    times: list[str] | None = None
    for combo in _TIME_GUESSES:
        got = [_guess(found, (c,)) for c in combo]
        if all(g is not None for g in got):
            times = [str(g) for g in got]
            break
    return ticket, item, times


def _to_seconds(values: pd.Series, fmt: str) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ts = pd.to_datetime(values, format=fmt, errors="coerce", utc=True)
    secs = (ts - pd.Timestamp("1970-01-01", tz="UTC")) / pd.Timedelta(seconds=1)
    return np.asarray(secs.to_numpy(dtype=np.float64, na_value=np.nan))


def _infer_time_format(values: pd.Series, p: Path, column: str) -> str | None:
    """The one date/time layout that reads (nearly) every value; None when none does.
    Raises InputFileError when a day-first and a month-first layout both read them all."""
    sample = pd.Series(values[values != ""].unique()[:5000])
    if sample.empty:
        return None
    scores: dict[str, float] = {}
    for d in _DATE_LAYOUTS:
        for t in _TIME_LAYOUTS:
            fmt = d + t
            scores[fmt] = float(np.isfinite(_to_seconds(sample, fmt)).mean())
    best = max(scores.values())
    if best < 0.95:
        return None
    winners = [f for f, v in scores.items() if v >= best - 1e-9]
    first = winners[0]
    swapped = (first.replace("%m", "%M_").replace("%d", "%m").replace("%M_", "%d"))
    if swapped != first and swapped in winners:
        raise InputFileError(
            f"sales file {p.name}: dates in {column} such as {sample.iloc[0]!r} could be "
            f"day-first or month-first; give --time-format (e.g. '{first}' or '{swapped}')")
    return first


def _parse_times(joined: pd.Series, time_format: str | None, p: Path | None = None,
                 column: str = "", notes: list[str] | None = None) -> np.ndarray:
    """Wall-clock seconds (float, NaN when unparseable): naive times are read as if UTC, so
    the hour of day is the one written in the file. ``time_format`` 'epoch' means numbers of
    seconds. Without a format ISO 8601 is tried, then common day/month layouts (a note names
    the one used; day-first vs month-first that both fit is an error asking for a format)."""
    if time_format in ("epoch", "unix"):
        return pd.to_numeric(joined, errors="coerce").to_numpy(dtype=np.float64,
                                                               na_value=np.nan)
    secs = _to_seconds(joined, time_format or "ISO8601")
    if time_format is None and len(secs) and np.isfinite(secs).mean() < 0.5:
        fmt = _infer_time_format(joined, p or Path("?"), column)
        if fmt is not None:
            if notes is not None:
                notes.append(f"time format of {column} inferred as {fmt!r}")
            secs = _to_seconds(joined, fmt)
    return secs


def read_long(path: str | Path, ticket_cols: Sequence[str] | str | None = None,
              item_col: str | None = None, time_cols: Sequence[str] | str | None = None,
              time_format: str | None = None, delimiter: str | None = None,
              qty_col: str | None = None) -> LoadedSales:
    """Long layout with a header: one line per (ticket, item).

    ``ticket_cols``: one or more columns whose values, joined, key a ticket (customer + date,
    say). ``item_col``: the product column. ``time_cols``: None for no time, else one or more
    columns joined with a space and parsed with ``time_format`` (a ``strptime`` pattern such as
    ``"%d-%m-%Y %H:%M"`` for ambiguous dates, or ``"epoch"`` for seconds); without a format
    ISO 8601 is expected. Column names match exactly, else ignoring case and blanks; when
    ``ticket_cols``/``item_col`` are None common names are tried (Transaction, Item, sku, ...)
    and, when ``time_cols`` is None as well, Date + Time, timestamp, ... (noted in ``notes``).
    ``delimiter`` is sniffed (comma, semicolon, tab) when None. ``qty_col`` (or a column
    named Quantity/Qty) leaves out lines whose quantity is 0 or less: returns and voids.

    Skipped and counted: lines with too many fields, blank lines, empty ticket, empty or
    placeholder item (``NONE``), unparseable time; an item repeated in a ticket collapses.
    A ticket's time is that of its first line. Raises InputFileError when a named column is
    missing (the message lists the columns found) or when no time at all could be parsed.
    """
    text, notes = _load_text(path)
    return _parse_long(text, notes, Path(path), ticket_cols, item_col, time_cols, time_format,
                       delimiter, qty_col)


def _as_list(cols: Sequence[str] | str | None) -> list[str] | None:
    if cols is None:
        return None
    if isinstance(cols, str):
        return [c.strip() for c in cols.split(",") if c.strip()]
    return list(cols)


def _parse_long(text: str, notes: list[str], p: Path, ticket_cols: Sequence[str] | str | None,
                item_col: str | None, time_cols: Sequence[str] | str | None,
                time_format: str | None, delimiter: str | None,
                qty_col: str | None = None) -> LoadedSales:
    tcols = _as_list(ticket_cols) or None          # empty = not given
    item_col = item_col or None
    timec = _as_list(time_cols)
    _check_time_format(time_format)
    header = _first_line(text)
    d = _check_delimiter(delimiter) or _sniff_delimiter(
        header, [*(tcols or []), *([item_col] if item_col else [])])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            df = pd.read_csv(io.StringIO(text), sep=d, dtype=str, keep_default_na=False,
                             na_filter=False, on_bad_lines="warn", skip_blank_lines=False,
                             engine="c")
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as err:
            msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise InputFileError(f"sales file {p.name} cannot be parsed: {msg}") from err
    n_bad = sum(len(_SKIPPING_RE.findall(str(w.message))) for w in caught
                if issubclass(w.category, pd.errors.ParserWarning))
    found = [str(c) for c in df.columns]
    if tcols is None or item_col is None:
        g_ticket, g_item, g_times = _guess_long_columns(found)
        if tcols is None:
            if g_ticket is None:
                raise InputFileError(f"sales file {p.name}: no ticket column given or found "
                                     f"(columns found: {', '.join(found)})")
            tcols = [g_ticket]
        if item_col is None:
            if g_item is None:
                raise InputFileError(f"sales file {p.name}: no item column given or found "
                                     f"(columns found: {', '.join(found)})")
            item_col = g_item
        if timec is None and g_times is not None:
            timec = g_times
        notes.append(f"columns guessed: ticket={'+'.join(tcols)}, item={item_col}, "
                     f"time={'+'.join(timec) if timec else 'none'}")
    tcols = _match_columns(found, tcols, p)
    (item_name,) = _match_columns(found, [item_col], p)
    timec = _match_columns(found, timec, p) if timec else None

    skipped: dict[str, int] = {}
    _add(skipped, "malformed_line", n_bad)
    rows_read = len(df) + n_bad
    # pandas leaves trailing blank lines as all-empty rows: they are not data
    all_empty = np.ones(len(df), dtype=bool)
    for c in df.columns:
        all_empty &= (df[c].str.strip() == "").to_numpy()
    tail = len(df)
    while tail > 0 and all_empty[tail - 1]:
        tail -= 1
    rows_read -= len(df) - tail
    df = df.iloc[:tail]
    all_empty = all_empty[:tail]
    _add(skipped, "blank_line", int(all_empty.sum()))
    keep = ~all_empty

    parts = [df[c].str.strip() for c in tcols]
    ticket_ok = np.ones(len(df), dtype=bool)
    for s in parts:
        ticket_ok &= (s != "").to_numpy()
    key = parts[0] if len(parts) == 1 else parts[0].str.cat(parts[1:], sep=_TICKET_JOIN)
    bad_ticket = keep & ~ticket_ok
    _add(skipped, "missing_ticket", int(bad_ticket.sum()))
    keep &= ticket_ok

    times = None
    if timec:
        tparts = [df[c].str.strip() for c in timec]
        joined = tparts[0] if len(tparts) == 1 else tparts[0].str.cat(tparts[1:], sep=" ")
        times = _parse_times(joined, time_format, p, "+".join(timec), notes)
        bad_time = keep & ~np.isfinite(times)
        if keep.any() and bad_time.sum() == keep.sum():
            example = joined[keep].iloc[0]
            raise InputFileError(
                f"sales file {p.name}: no time in {'+'.join(timec)} could be read "
                f"(first value {example!r}); give a time format such as '%d/%m/%Y %H:%M'")
        _add(skipped, "bad_time", int(bad_time.sum()))
        keep &= np.isfinite(times)

    qty_name = (_match_columns(found, [qty_col], p)[0] if qty_col
                else _guess(found, _QTY_GUESSES))
    if qty_name is not None:
        qty = pd.to_numeric(df[qty_name].str.strip().str.replace(",", ".", regex=False),
                            errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        returns = keep & (qty <= 0)
        _add(skipped, "return_line", int(returns.sum()))
        keep &= ~(qty <= 0)
        if not qty_col:
            notes.append(f"quantity column {qty_name} used: lines of 0 or less left out")

    raw_items = df[item_name].to_numpy(dtype=object)
    tx = _from_raw_items(key.to_numpy(dtype=object)[keep], raw_items[keep],
                         None if times is None else times[keep], skipped)
    if times is not None and tx.basket_time is None and tx.n_baskets:
        tx.basket_time = np.full(tx.n_baskets, np.nan)
    log.info("%s: %d baskets read as 'long' (delimiter %r)", p.name, tx.n_baskets, d)
    return LoadedSales(tx=tx, skipped=skipped, rows_read=rows_read, source=str(p), fmt="long",
                       notes=notes)


def detect_format(path: str | Path, text: str | None = None,
                  ticket_cols: Sequence[str] | str | None = None,
                  item_col: str | None = None) -> str:
    """Guess the layout: ``.dat`` or lines of integers only → fimi; a first line that names
    the ticket and item columns (given, or common names such as Transaction/Item) → long;
    anything else → baskets."""
    p = Path(path)
    if p.suffix.lower() == ".dat":
        return "fimi"
    if text is None:
        text, _ = _load_text(p)
    head = [ln for ln in itertools.islice(text.splitlines(), 50) if ln.strip()]
    if head and all(re.fullmatch(r"\s*\d+(\s+\d+)*\s*", ln) for ln in head):
        return "fimi"
    first = head[0] if head else ""
    tcols = _as_list(ticket_cols)
    wanted = [*(tcols or []), *([item_col] if item_col else [])]
    d = _sniff_delimiter(first, wanted)
    cols = [c.strip().strip('"') for c in first.split(d)]
    if tcols and item_col:
        folded = {c.casefold() for c in cols}
        if all(w.strip().casefold() in folded for w in wanted):
            return "long"
        return "baskets"
    g_ticket, g_item, _ = _guess_long_columns(cols)
    if (tcols or g_ticket) and (item_col or g_item):
        return "long"
    return "baskets"


def read_sales_file(path: str | Path, fmt: str | None = None, *,
                    ticket_cols: Sequence[str] | str | None = None, item_col: str | None = None,
                    time_cols: Sequence[str] | str | None = None, time_format: str | None = None,
                    delimiter: str | None = None, qty_col: str | None = None) -> LoadedSales:
    """Read a sales file in ``fmt`` (``"baskets"``, ``"long"``, ``"fimi"``; detected by
    :func:`detect_format` when None). The column arguments apply to the long layout and
    ``delimiter`` to baskets and long. Column lists may also be given as ``"Date,Time"``."""
    if fmt is not None and fmt not in FORMATS:
        raise InputFileError(f"unknown sales file format {fmt!r} (use {', '.join(FORMATS)})")
    delimiter = _check_delimiter(delimiter)
    _check_time_format(time_format)
    p = Path(path)
    if fmt == "fimi" or (fmt is None and p.suffix.lower() == ".dat"):
        return read_fimi(p)
    text, notes = _load_text(p)
    if fmt is None:
        fmt = detect_format(p, text, ticket_cols, item_col)
        log.info("%s: format detected as %s", p.name, fmt)
    if fmt == "fimi":
        return _parse_fimi(text, notes, p)
    if fmt == "long":
        return _parse_long(text, notes, p, ticket_cols, item_col, time_cols, time_format,
                           delimiter, qty_col)
    return _parse_baskets(text, notes, p, delimiter)
