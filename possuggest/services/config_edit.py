"""The manager console's edits to the manager's config file, comments and layout preserved.

The config file is the manager's: the app never rewrites it on its own. The manager console's
explicit edits (a setting, a pin or block, a manual rule, an upgrade path) go through
:class:`ConfigEditor`, which edits the file with tomlkit so every comment, blank line and key
order stays as the manager left it and only the edited values change. Each edit

1. re-reads the file (another tab or the manager's text editor may have changed it),
2. applies the change to the parsed document,
3. validates the result with core.config's own validation (the same that loads the file, so
   what is saved is what loads), together with the files read before it when given,
4. writes it atomically (a temporary file beside it, then ``os.replace``) with the file's
   permissions kept.

A bad value, an unknown product, a duplicate entry, an upgrade path to itself or in a loop
raise :class:`ConfigEditError` naming the field, and nothing is written. A running panel
picks a saved change up through services/live.py, which polls the config files.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import tomlkit
from tomlkit.container import OutOfOrderTableProxy
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import AoT, Array, Table

from possuggest.core.config import (
    _merge,
    check_config_permissions,
    read_config_file,
    settings_from_dict,
)
from possuggest.core.errors import ConfigError, PossuggestError
from possuggest.core.products import Product

if TYPE_CHECKING:
    from possuggest.services.context import AppContext

log = logging.getLogger(__name__)

#: A new config file is private to its owner (it may hold the API token).
NEW_FILE_MODE = 0o600
#: Longest reason a manual rule may carry (it is printed on a card).
MAX_REASON = 120

_edit_lock = threading.Lock()          # one edit at a time within this process
_KEY = re.compile(r"config key '([^']*)':?\s*(.*)")


class ConfigEditError(PossuggestError):
    """An edit was refused; nothing was written. ``field`` is the dotted setting it concerns
    (``policy.min_lift``, ``policy.pinned``) or "" for the file as a whole."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = " ".join(message.split())          # one line
        super().__init__(f"{field}: {self.message}" if field else self.message)


def manager_config_file(ctx: AppContext) -> Path:
    """The file the console edits: ``--config`` when given, else the user's config file."""
    return ctx.paths.extra_config_file or ctx.paths.config_file


def _earlier_files(ctx: AppContext, path: Path) -> tuple[Path, ...]:
    files = ctx.paths.config_files
    return files[:files.index(path)] if path in files else ()


class ConfigEditor:
    """Edits one TOML config file. ``products`` (sku → Product), when given, is the catalogue
    that pins, blocks, manual rules and upgrade paths must name. ``earlier`` are the config
    files read before this one (machine-wide, the user's): the merged result must validate
    too, so a saved edit never leaves the running panel with a config problem."""

    def __init__(self, path: Path, products: Mapping[str, Product] | None = None, *,
                 earlier: Sequence[Path] = ()) -> None:
        self.path = Path(path)
        self.products = products
        self.earlier = tuple(earlier)

    @classmethod
    def for_context(cls, ctx: AppContext,
                    products: Mapping[str, Product] | None = None) -> ConfigEditor:
        """The editor of the manager's file (:func:`manager_config_file`) of this context."""
        path = manager_config_file(ctx)
        return cls(path, products, earlier=_earlier_files(ctx, path))

    # -- settings -------------------------------------------------------------------------
    def set_values(self, changes: Mapping[str, Any]) -> None:
        """Set dotted settings (``{"policy.min_lift": 1.5}``); None removes a key so its
        default applies. Validated as a whole: one bad value and none is saved."""
        def apply(doc: tomlkit.TOMLDocument) -> None:
            for dotted, value in changes.items():
                parts = dotted.split(".")
                if len(parts) < 2 or not all(parts):
                    raise ConfigEditError(dotted, "not a setting (expected section.key)")
                table = _table(doc, parts[:-1], create=value is not None)
                if table is None:
                    continue
                if value is None:
                    if parts[-1] in table:
                        del table[parts[-1]]
                else:
                    _set_key(table, parts[-1], _plain(value, dotted))
        self._edit(apply)

    # -- pinned / blocked pairs -------------------------------------------------------------
    def add_pair(self, kind: Literal["pinned", "blocked"], with_sku: str, sku: str) -> None:
        """Pin ``sku`` first with ``with_sku``, or block it. A block's ``with_sku`` "*" means
        with anything, its ``sku`` "*" means nothing at all with ``with_sku``."""
        field = _pair_field(kind)
        self._check_sku(field, with_sku, wildcard=kind == "blocked")
        self._check_sku(field, sku, wildcard=kind == "blocked")
        if with_sku == sku:
            raise ConfigEditError(field, f"{sku} cannot be paired with itself")

        def apply(doc: tomlkit.TOMLDocument) -> None:
            arr = _array(doc, "policy", kind)
            if any(_pair(p) == (with_sku, sku) for p in arr):
                raise ConfigEditError(field, f"{with_sku} → {sku} is already {kind}")
            arr.append([with_sku, sku])
        self._edit(apply)

    def remove_pair(self, kind: Literal["pinned", "blocked"], with_sku: str, sku: str) -> None:
        field = _pair_field(kind)

        def apply(doc: tomlkit.TOMLDocument) -> None:
            arr = _array(doc, "policy", kind)
            for i, p in enumerate(arr):
                if _pair(p) == (with_sku, sku):
                    del arr[i]
                    return
            raise ConfigEditError(field, f"{with_sku} → {sku} is not {kind}")
        self._edit(apply)

    # -- manual rules -----------------------------------------------------------------------
    def add_manual_rule(self, with_sku: str, suggest: str, reason: str) -> None:
        """"With X suggest Y", shown with the manager's own ``reason``."""
        field = "policy.manual"
        self._check_sku(field, with_sku)
        self._check_sku(field, suggest)
        if with_sku == suggest:
            raise ConfigEditError(field, f"{with_sku} cannot be suggested with itself")
        reason = " ".join(reason.split())
        if not reason:
            raise ConfigEditError(field, "give the reason the cashier reads out")
        if len(reason) > MAX_REASON:
            raise ConfigEditError(field, f"the reason is {len(reason)} characters long; "
                                         f"keep it under {MAX_REASON + 1}")

        def apply(doc: tomlkit.TOMLDocument) -> None:
            rules = _entries(doc, "manual")
            if any(_get(r, "with") == with_sku and _get(r, "suggest") == suggest for r in rules):
                raise ConfigEditError(field, f"with {with_sku} suggest {suggest} is already a "
                                             "manual rule")
            _append_entry(doc, "manual", {"with": with_sku, "suggest": suggest,
                                          "reason": reason})
        self._edit(apply)

    def remove_manual_rule(self, with_sku: str, suggest: str) -> None:
        def apply(doc: tomlkit.TOMLDocument) -> None:
            if not _remove_entry(doc, "manual", lambda r: _get(r, "with") == with_sku
                                 and _get(r, "suggest") == suggest):
                raise ConfigEditError("policy.manual", f"with {with_sku} suggest {suggest} is "
                                                       "not a manual rule")
        self._edit(apply)

    # -- upgrade paths ----------------------------------------------------------------------
    def add_upgrade_path(self, from_sku: str, to_sku: str) -> None:
        """"From X → Y": refuses a path to itself, one already there, one closing a loop."""
        field = "policy.upgrade_paths"
        self._check_sku(field, from_sku)
        self._check_sku(field, to_sku)
        if from_sku == to_sku:
            raise ConfigEditError(field, f"{from_sku} cannot be an upgrade of itself")

        def apply(doc: tomlkit.TOMLDocument) -> None:
            edges = [(_get(p, "from"), _get(p, "to")) for p in _entries(doc, "upgrade_paths")]
            if (from_sku, to_sku) in edges:
                raise ConfigEditError(field, f"{from_sku} → {to_sku} is already an upgrade path")
            loop = _path_between(edges, to_sku, from_sku)
            if loop is not None:
                chain = " → ".join([from_sku, *loop])
                raise ConfigEditError(field, f"{from_sku} → {to_sku} would make a loop ({chain})")
            _append_entry(doc, "upgrade_paths", {"from": from_sku, "to": to_sku})
        self._edit(apply)

    def remove_upgrade_path(self, from_sku: str, to_sku: str) -> None:
        def apply(doc: tomlkit.TOMLDocument) -> None:
            if not _remove_entry(doc, "upgrade_paths", lambda p: _get(p, "from") == from_sku
                                 and _get(p, "to") == to_sku):
                raise ConfigEditError("policy.upgrade_paths",
                                      f"{from_sku} → {to_sku} is not an upgrade path")
        self._edit(apply)

    # -- reading ----------------------------------------------------------------------------
    def read_text(self) -> str:
        """The file's text as it is now ("" when it does not exist yet)."""
        return self._read()[0]

    # -- the edit cycle ---------------------------------------------------------------------
    def _check_sku(self, field: str, sku: str, wildcard: bool = False) -> None:
        if not isinstance(sku, str) or not sku.strip():
            raise ConfigEditError(field, "pick a product")
        if wildcard and sku == "*":
            return
        if self.products is not None and sku not in self.products:
            raise ConfigEditError(field, f"unknown product {sku!r}: it is not in the till's "
                                         "catalogue")

    def _read(self) -> tuple[str, int | None]:
        """The text and permission bits of the file (None when it does not exist)."""
        try:
            with open(self.path, "rb") as fh:
                st = os.fstat(fh.fileno())
                try:
                    check_config_permissions(self.path, st)
                except ConfigError as exc:
                    raise ConfigEditError("", str(exc)) from None
                raw = fh.read()
        except FileNotFoundError:
            return "", None
        except IsADirectoryError:
            raise ConfigEditError("", f"config file {self.path} is a folder, not a file") from None
        except OSError as exc:
            raise ConfigEditError("", f"config file {self.path} cannot be read: "
                                      f"{exc.strerror}") from None
        try:
            return raw.decode("utf-8"), stat.S_IMODE(st.st_mode)
        except UnicodeDecodeError as exc:
            raise ConfigEditError("", f"config file {self.path} is not valid UTF-8: "
                                      f"{exc}") from None

    def _edit(self, apply: Callable[[tomlkit.TOMLDocument], None]) -> None:
        with _edit_lock:
            text, mode = self._read()
            try:
                doc = tomlkit.parse(text)
            except (TOMLKitError, ValueError) as exc:
                raise ConfigEditError("", f"config file {self.path} is not valid TOML "
                                          f"({exc}); fix it in a text editor first") from None
            apply(doc)
            new_text = doc.as_string()
            if new_text == text:
                return
            self._validate(doc)
            self._write(new_text, mode)
        log.info("config file %s edited", self.path)

    def _validate(self, doc: tomlkit.TOMLDocument) -> None:
        data = doc.unwrap()
        try:
            settings_from_dict(data)
        except ConfigError as exc:
            raise edit_error(exc) from None
        merged: dict[str, Any] = {}
        for path in self.earlier:
            try:
                merged = _merge(merged, read_config_file(path))
            except ConfigError as exc:
                raise ConfigEditError("", str(exc)) from None
        if not merged:
            return
        try:
            settings_from_dict(_merge(merged, data))
        except ConfigError as exc:
            err = edit_error(exc)
            raise ConfigEditError(err.field, f"{err.message} (with the settings of "
                                             f"{', '.join(str(p) for p in self.earlier)})") from None

    def _write(self, text: str, mode: int | None) -> None:
        target = self.path.resolve()          # a symlinked config file stays a symlink
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                       suffix=".tmp")
        except OSError as exc:
            raise ConfigEditError("", f"config file {self.path} cannot be written: "
                                      f"{exc.strerror}") from None
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(text.encode("utf-8"))
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, NEW_FILE_MODE if mode is None else mode)
            os.replace(tmp, target)
        except OSError as exc:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise ConfigEditError("", f"config file {self.path} cannot be written: "
                                      f"{exc.strerror}") from None


# -- helpers on the tomlkit document ----------------------------------------------------------
def edit_error(exc: ConfigError) -> ConfigEditError:
    """core.config's error as a ConfigEditError naming the setting ("" when it names none)."""
    m = _KEY.match(str(exc))
    if m:
        return ConfigEditError(m.group(1), m.group(2) or str(exc))
    return ConfigEditError("", str(exc))


def _pair_field(kind: str) -> str:
    if kind not in ("pinned", "blocked"):
        raise ConfigEditError("policy", f"{kind!r} is neither pinned nor blocked")
    return f"policy.{kind}"


def _plain(value: Any, dotted: str) -> Any:
    """Only TOML's own value types are written."""
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v, dotted) for v in value]
    raise ConfigEditError(dotted, f"{value!r} cannot be written to a config file")


def _table(doc: tomlkit.TOMLDocument, parts: Sequence[str], create: bool) -> Any:
    """The (possibly nested) table at ``parts``, made when ``create``; None when absent."""
    node: Any = doc
    for i, part in enumerate(parts):
        if part not in node:
            if not create:
                return None
            new = tomlkit.table()
            if i:                              # a sub-table is followed by a blank line
                new.add(tomlkit.nl())
            node[part] = new
        child = node[part]
        if not isinstance(child, (dict, Table)):
            raise ConfigEditError(".".join(parts[:i + 1]), "expected a table in the config file")
        node = child
    return node


def _set_key(table: Any, key: str, value: Any) -> None:
    """Set ``key``; a new key goes right after the table's last value, so it lands before
    the blank lines and comments that introduce the next table, not after them. (tomlkit
    itself appends at the very end of the table.)"""
    if key in table:
        table[key] = value
        return
    if isinstance(table, OutOfOrderTableProxy):   # [policy] ... [[policy.upgrade_paths]]
        parts = [t for t in getattr(table, "_tables", []) if isinstance(t, Table)]
        plain = [t for t in parts if any(not isinstance(v, (Table, AoT)) for v in t.values())]
        if not plain:
            table[key] = value
            return
        table = plain[0]
    if not isinstance(table, Table):
        table[key] = value
        return
    body = table.value.body
    last = [k for k, item in body if k is not None and not isinstance(item, (Table, AoT))]
    try:
        if last:
            table.value._insert_after(last[-1], key, value)
        else:                                  # keys come before blank lines and sub-tables
            table.value._insert_at(0, key, value)
    except Exception:                          # tomlkit's layout helpers refused: append
        log.debug("config edit: %s appended at the end of its table", key, exc_info=True)
        table[key] = value


def _array(doc: tomlkit.TOMLDocument, section: str, key: str) -> Any:
    table = _table(doc, [section], create=True)
    if key not in table:
        _set_key(table, key, tomlkit.array())
    arr = table[key]
    if not isinstance(arr, (list, Array)) or isinstance(arr, AoT):
        raise ConfigEditError(f"{section}.{key}", "expected a list in the config file")
    return arr


def _pair(value: Any) -> tuple[str, str] | None:
    if isinstance(value, (list, Array)) and len(value) == 2:
        return str(value[0]), str(value[1])
    return None


def _get(entry: Any, key: str) -> Any:
    return entry.get(key) if isinstance(entry, (dict, Table)) else None


def _entries(doc: tomlkit.TOMLDocument, key: str) -> Iterator[Any]:
    table = _table(doc, ["policy"], create=False)
    if table is None or key not in table:
        return iter(())
    value = table[key]
    if not isinstance(value, (list, Array, AoT)):
        raise ConfigEditError(f"policy.{key}", "expected a list in the config file")
    return iter(list(value))


def _append_entry(doc: tomlkit.TOMLDocument, key: str, entry: dict[str, str]) -> None:
    """Append to ``policy.<key>``, as the file writes it: an array of inline tables, or
    ``[[policy.<key>]]`` tables."""
    table = _table(doc, ["policy"], create=True)
    if key in table and isinstance(table[key], AoT):
        t = tomlkit.table()
        t.update(entry)
        table[key].append(t)
        return
    if key not in table:
        _set_key(table, key, tomlkit.array())
    arr = table[key]
    if not isinstance(arr, (list, Array)):
        raise ConfigEditError(f"policy.{key}", "expected a list in the config file")
    it = tomlkit.inline_table()
    it.update(entry)
    arr.append(it)


def _remove_entry(doc: tomlkit.TOMLDocument, key: str, match: Callable[[Any], bool]) -> bool:
    table = _table(doc, ["policy"], create=False)
    if table is None or key not in table:
        return False
    value = table[key]
    for i, entry in enumerate(list(value)):
        if match(entry):
            del value[i]
            return True
    return False


def _path_between(edges: Sequence[tuple[Any, Any]], start: str, goal: str) -> list[str] | None:
    """The chain of SKUs from ``start`` to ``goal`` along ``edges`` (None if there is none)."""
    nxt: dict[str, list[str]] = {}
    for a, b in edges:
        nxt.setdefault(str(a), []).append(str(b))
    stack: list[list[str]] = [[start]]
    seen = {start}
    while stack:
        chain = stack.pop()
        if chain[-1] == goal:
            return chain
        for b in nxt.get(chain[-1], []):
            if b not in seen:
                seen.add(b)
                stack.append([*chain, b])
    return None


__all__ = ["ConfigEditError", "ConfigEditor", "edit_error", "manager_config_file"]
