"""Settings: one typed, validated model, saved as TOML; bad values are reported by key."""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import stat
import sys
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from possuggest.core.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

log = logging.getLogger(__name__)


def _f(default: Any = dataclasses.MISSING, *, factory: Any = dataclasses.MISSING,
       lo: float | None = None, hi: float | None = None,
       choices: tuple[str, ...] | None = None, help: str = "") -> Any:
    meta = {"lo": lo, "hi": hi, "choices": choices, "help": help}
    if factory is not dataclasses.MISSING:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


#: The till presets (possuggest/till/presets; a test keeps the two lists the same).
TILL_PRESETS = ("", "unicenta", "ospos", "odoo", "dolibarr", "erpnext")


@dataclass
class TillMapping:
    """Three read-only SQL queries that map a non-standard till schema.

    ``sale_lines`` returns sale_id, sku, qty, closed_at (closed, non-void sales, non-void lines);
    ``products`` returns sku, name, category, family, price, cost, stock, active;
    ``open_sale`` returns sale_id, sku, qty for the open sale of register ``:register``.
    ``products`` may also return ``barcode`` (a scanned code that differs from the SKU).
    The queries may use ``:register``, ``:store`` (``till.store``) and ``:lang``
    (``till.language``). Empty strings mean the reference schema, or with ``till.preset`` the
    preset's query (a query given here replaces the preset's; see ``possuggest till
    show-preset``).
    """

    sale_lines: str = _f("")
    products: str = _f("")
    open_sale: str = _f("", help="'none' = the till keeps no open sale in its database (the "
                                 "basket comes through the basket API)")
    change_token: str = _f("", help="a one-row query whose result changes when the till "
                                    "commits a sale (server tills; see till/change_token.py)")
    times: str = _f("", choices=("", "local", "utc"),
                    help="how the till stores sale times without a zone: local (the "
                         "default) or utc; empty = the preset's")


@dataclass
class TillSettings:
    path: str = _f("", help="till database file; empty = the demo store in the data folder")
    url: str = _f("", help="a till on a database server instead of a file (read-only), e.g. "
                           "postgresql+psycopg://possuggest@host/shop or "
                           "mysql+pymysql://possuggest@host/shop; never a password in it")
    password_env: str = _f("POSSUGGEST_TILL_PASSWORD",
                           help="environment variable holding the server password; when it is "
                                "unset, the system keyring (service 'possuggest', user = url)")
    register: str = _f("1", help="register whose open sale feeds the panel")
    preset: str = _f("", choices=TILL_PRESETS,
                     help="the till's schema by name: unicenta (also Chromis, Wanda, "
                          "Openbravo POS), ospos, odoo, dolibarr or erpnext; empty = the "
                          "reference schema or [till.mapping]. 'possuggest till presets'")
    store: str = _f("", help="only this store's sales and stock, for a till database that "
                             "serves several stores (bound as :store; empty = all)")
    timezone: str = _f("", help="the store's time zone (IANA name, e.g. Europe/Berlin): sale "
                                "times kept in UTC are converted to it for the time of day; "
                                "empty = this computer's")
    language: str = _f("en_US", help="the language of product names for tills that keep "
                                     "several (Odoo 16+); names fall back to en_US")
    busy_timeout_ms: int = _f(2000, lo=0, hi=60_000)
    query_timeout_s: float = _f(60.0, lo=0.1, hi=3600.0,
                                help="longest one query against the till may run (mapped SQL "
                                     "included); a longer one is stopped and reported")
    mapping: TillMapping = field(default_factory=TillMapping)


@dataclass
class MiningSettings:
    window_days: int = _f(365, lo=1, hi=36_500)
    half_life_days: float = _f(0.0, lo=0.0, hi=36_500.0, help="recency half-life; 0 = off")
    min_count: int = _f(2, lo=1, hi=1_000_000, help="pair rules need this many baskets")
    multi_min_support: float = _f(0.001, lo=0.0, hi=1.0, help="support floor for 2-3 item antecedents")
    max_antecedent: int = _f(3, lo=1, hi=3)
    multi_min_confidence: float = _f(0.05, lo=0.0, hi=1.0)
    ease_lambda: float = _f(100.0, lo=0.0, hi=1e9, help="EASE regularisation λ; 0 = off")
    ease_max_items: int = _f(3000, lo=0, hi=20_000, help="EASE covers this many top sellers")
    tune: bool = _f(True, help="at each refresh, choose EASE λ, the popularity prior's weight "
                               "and the shrinkage on the latest 15% of the sales (the defaults "
                               "stay unless another choice clearly wins); false = the defaults")
    context: bool = _f(True, help="learn time-of-day / weekend popularity when sales have times")
    upgrade_min_ratio: float = _f(1.25, lo=1.0, hi=100.0)
    upgrade_max_ratio: float = _f(3.0, lo=1.0, hi=100.0)
    upgrade_min_diff: float = _f(5.0, lo=0.0, hi=1e9,
                                 help="an upgrade costs at least this much more (sizes are not upgrades)")
    upgrade_max_together: float = _f(0.08, lo=0.0, hi=1.0,
                                     help="at most this share of either item's baskets hold both")
    upgrade_by_category: bool = _f(False, help="also look for upgrades among family-less items of "
                                               "the same category and product type")
    upgrade_min_count: int = _f(5, lo=1, hi=1_000_000)
    keep_rule_sets: int = _f(5, lo=1, hi=1000)


@dataclass
class ManualRule:
    with_sku: str = _f("")
    suggest: str = _f("")
    reason: str = _f("")


@dataclass
class UpgradePath:
    from_sku: str = _f("")
    to_sku: str = _f("")


@dataclass
class PolicySettings:
    max_suggestions: int = _f(3, lo=1, hi=10)
    min_confidence: float = _f(0.02, lo=0.0, hi=1.0)
    min_lift: float = _f(0.0, lo=0.0, hi=1e9, help="0 = any; 1 = only positively associated")
    min_count: int = _f(2, lo=1, hi=1_000_000)
    min_upgrade_share: float = _f(0.05, lo=0.0, hi=1.0)
    margin_weight: float = _f(0.0, lo=0.0, hi=10.0, help="0 = ignore margin; 1 = full margin weighting")
    stock_weight: float = _f(0.0, lo=0.0, hi=10.0, help="down-weight items with little stock")
    min_stock: int = _f(1, lo=0, hi=1_000_000)
    # what a card needs before a cashier reads it out (the ranking itself is not changed)
    min_card_lift: float = _f(2.5, lo=0.0, hi=1e9,
                              help="an accessory card needs a rule from the basket at least this "
                                   "many times more likely than usual (0 = any evidence)")
    card_evidence_shrink: float = _f(2.0, lo=0.0, hi=1e6,
                                     help="thin evidence counts less: the card's lift is "
                                          "(both + s) / (expected + s); 0 = plain lift")
    hub_min_lift: float = _f(2.0, lo=0.0, hi=1e9,
                             help="an item that goes weakly with very many products (batteries, "
                                  "tape) needs at least this lift to be shown")
    hub_share: float = _f(0.15, lo=0.0, hi=1.0,
                          help="'very many': weak rules from more than this share of products")
    accessory_max_price_ratio: float = _f(
        2.0, lo=0.0, hi=1000.0,
        help="an accessory costs at most this x the dearest basket item (plus the allowance "
             "below); 0 = no limit. Stops 'a $229 mower as the accessory of a grass bag'")
    accessory_price_allowance: float = _f(5.0, lo=0.0, hi=1e9,
                                          help="money an accessory may cost above that ratio "
                                               "(cheap baskets: a $3 item, a $12 accessory)")
    lines_are_main_items: bool = _f(True, help="a dearer item from a tiered product line (one "
                                              "with a family) is a main purchase: never the "
                                              "accessory of a cheaper item outside its line")
    bestseller_cards: int = _f(0, lo=0, hi=1,
                               help="at most this many best-seller cards, labelled as such, "
                                    "when the basket's own evidence gives fewer cards")
    excluded_categories: list[str] = _f(factory=list)
    pinned: list[list[str]] = _f(factory=list, help="[[with_sku, suggest_sku], ...] always first")
    blocked: list[list[str]] = _f(factory=list, help="[[with_sku, never_sku], ...]; '*' = any")
    manual: list[ManualRule] = _f(factory=list)
    upgrade_paths: list[UpgradePath] = _f(factory=list)


@dataclass
class WatcherSettings:
    enabled: bool = _f(True)
    poll_ms: int = _f(250, lo=20, hi=60_000)


@dataclass
class ApiSettings:
    enabled: bool = _f(True)
    port: int = _f(8765, lo=0, hi=65535)
    token: str = _f("", help="fixed API token; empty = one is generated into state.json "
                             "in the data folder")


@dataclass
class UiSettings:
    theme: str = _f("light", choices=("light", "dark"),
                    help="the look's defaults; a cashier's own choices are kept in state.json")
    always_on_top: bool = _f(False)
    compact: bool = _f(False)
    large_font: bool = _f(False)


@dataclass
class HoldoutSettings:
    share: float = _f(0.10, lo=0.0, hi=0.9,
                      help="share of sales shown no suggestions: the control group that "
                           "'possuggest report' measures the uplift against (chosen per sale "
                           "from the register and sale id; 0 = off, nothing measured)")


@dataclass
class FeedbackSettings:
    """Learning from the counter: shown / accepted / dismissed cards change the order of cards
    and whether a card is shown at all (never its reason). See serving/feedback.py."""

    enabled: bool = _f(True, help="learn from what cashiers accept and dismiss")
    window_days: float = _f(28.0, lo=1.0, hi=3650.0,
                            help="only events of the last this many days count")
    half_life_days: float = _f(0.0, lo=0.0, hi=3650.0,
                               help="within the window, an event this many days old counts "
                                    "half; 0 = every event in the window counts fully")
    start_after_shows: int = _f(100, lo=0, hi=1_000_000,
                                help="feedback starts once the window holds this many shown "
                                     "cards (the store's acceptance rate needs them)")
    prior_strength: float = _f(10.0, lo=0.5, hi=10_000.0,
                               help="the prior, centred on the store's acceptance rate, weighs "
                                    "as much as this many shown cards: smaller learns faster "
                                    "and explores more")
    exploration: str = _f("thompson", choices=("thompson", "mean"),
                          help="thompson: each refresh ranks by a draw from each card's "
                               "posterior (uncertain cards get their chance); mean: by the "
                               "posterior mean")
    min_multiplier: float = _f(0.2, lo=0.01, hi=1.0,
                               help="a card's score is multiplied by its estimated acceptance "
                                    "over the store's, at least this")
    max_multiplier: float = _f(3.0, lo=1.0, hi=100.0,
                               help="the largest multiplier a well-accepted card gets")
    hide_after_shows: int = _f(20, lo=1, hi=1_000_000,
                               help="a card is hidden only after this many shows of its "
                                    "(basket item, suggested item) pair in the window")
    hide_below: float = _f(0.25, lo=0.0, hi=1.0,
                           help="hide a card whose acceptance, even at its upper bound, is "
                                "under this share of the store's rate; 0 = never hide")
    hide_confidence: float = _f(0.9, lo=0.5, hi=0.999,
                                help="the upper bound's level (0.9 = 90% upper bound)")
    refresh_minutes: float = _f(5.0, lo=0.1, hi=1440.0,
                                help="a running panel or serve re-reads the events this often")


@dataclass
class RefreshSettings:
    """When a running panel mines new rules on its own (the CLI's ``possuggest refresh`` is
    for the operating system's scheduler)."""

    nightly_at: str = _f("", help="refresh every day at this local time, \"HH:MM\" (24-hour), "
                                  "while the panel runs; empty = off")


@dataclass
class Settings:
    till: TillSettings = field(default_factory=TillSettings)
    mining: MiningSettings = field(default_factory=MiningSettings)
    policy: PolicySettings = field(default_factory=PolicySettings)
    watcher: WatcherSettings = field(default_factory=WatcherSettings)
    api: ApiSettings = field(default_factory=ApiSettings)
    ui: UiSettings = field(default_factory=UiSettings)
    holdout: HoldoutSettings = field(default_factory=HoldoutSettings)
    feedback: FeedbackSettings = field(default_factory=FeedbackSettings)
    refresh: RefreshSettings = field(default_factory=RefreshSettings)


# TOML spells a few keys differently from the Python field names.
_ALIASES = {"with_sku": "with", "from_sku": "from", "to_sku": "to"}


def _toml_key(name: str) -> str:
    return _ALIASES.get(name, name)


def _convert(value: Any, tp: Any, key: str, meta: dict[str, Any]) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"config key '{key}': expected a table, got {value!r}")
        return _build(tp, value, key)
    if origin is list:
        (inner,) = typing.get_args(tp)
        if not isinstance(value, list):
            raise ConfigError(f"config key '{key}': expected a list, got {value!r}")
        return [_convert(v, inner, f"{key}[{i}]", {}) for i, v in enumerate(value)]
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"config key '{key}': expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"config key '{key}': expected a whole number, got {value!r}")
    elif tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"config key '{key}': expected a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(f"config key '{key}': expected a finite number, got {value!r}")
    elif tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"config key '{key}': expected text, got {value!r}")
    if meta.get("lo") is not None and value < meta["lo"]:
        raise ConfigError(f"config key '{key}': {value!r} is below the minimum {meta['lo']}")
    if meta.get("hi") is not None and value > meta["hi"]:
        raise ConfigError(f"config key '{key}': {value!r} is above the maximum {meta['hi']}")
    if meta.get("choices") and value not in meta["choices"]:
        named = ", ".join(c for c in meta["choices"] if c)
        empty = " (or empty)" if "" in meta["choices"] else ""
        raise ConfigError(f"config key '{key}': {value!r} is not one of {named}{empty}")
    return value


def _build(cls: Any, data: dict[str, Any], prefix: str = "") -> Any:
    hints = typing.get_type_hints(cls)
    fields = {_toml_key(f.name): f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        full = f"{prefix}.{key}" if prefix else key
        if key not in fields:
            raise ConfigError(f"config key '{full}' is not a known setting")
        f = fields[key]
        kwargs[f.name] = _convert(value, hints[f.name], full, dict(f.metadata))
    obj = cls(**kwargs)
    _check_pairs(obj, prefix)
    return obj


def _check_pairs(obj: Any, prefix: str) -> None:
    if isinstance(obj, RefreshSettings) and obj.nightly_at:
        parse_hhmm(obj.nightly_at, f"{prefix}.nightly_at")
    if isinstance(obj, PolicySettings):
        for name in ("pinned", "blocked"):
            for i, pair in enumerate(getattr(obj, name)):
                if len(pair) != 2:
                    raise ConfigError(f"config key '{prefix}.{name}[{i}]': expected [with_sku, sku]")
    if isinstance(obj, MiningSettings) and obj.upgrade_min_ratio > obj.upgrade_max_ratio:
        raise ConfigError(f"config key '{prefix}.upgrade_min_ratio': larger than upgrade_max_ratio")
    if isinstance(obj, ApiSettings) and obj.token:
        _check_token(obj.token, f"{prefix}.token")
    if isinstance(obj, TillSettings) and obj.url:
        _check_till_url(obj, prefix)
    if isinstance(obj, TillSettings) and obj.timezone:
        _check_timezone(obj.timezone, f"{prefix}.timezone")


def _check_timezone(name: str, key: str) -> None:
    """``till.timezone``: an IANA time zone this computer knows."""
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"config key '{key}': unknown time zone {name!r} (use an IANA name "
                          "such as Europe/Berlin or America/New_York)") from None


def _check_till_url(till: TillSettings, prefix: str) -> None:
    """``till.url``: a database URL with no password in it (the message never repeats it)."""
    from urllib.parse import parse_qs, urlsplit

    key = f"{prefix}.url"
    if till.path:
        raise ConfigError(f"config key '{key}': till.path is set too; a till is a file "
                          "(path) or a server (url), not both")
    try:
        parts = urlsplit(till.url)
        password = parts.password
        query = parse_qs(parts.query)
    except ValueError:
        raise ConfigError(f"config key '{key}': not a database URL") from None
    if "://" not in till.url or not parts.scheme:
        raise ConfigError(f"config key '{key}': not a database URL (expected "
                          "dialect+driver://user@host/database)")
    if password is not None or any(k.lower() in ("password", "passwd") for k in query):
        raise ConfigError(f"config key '{key}': holds a password; remove it and set the "
                          f"environment variable named by till.password_env "
                          f"({till.password_env or 'POSSUGGEST_TILL_PASSWORD'}) or the "
                          "system keyring instead")


def parse_hhmm(text: str, key: str = "refresh.nightly_at") -> tuple[int, int]:
    """(hour, minute) of a 24-hour "HH:MM" time, or ConfigError naming ``key``."""
    hh, sep, mm = text.strip().partition(":")
    if sep and hh.isdigit() and mm.isdigit() and len(mm) == 2 and len(hh) <= 2:
        hour, minute = int(hh), int(mm)
        if hour < 24 and minute < 60:
            return hour, minute
    raise ConfigError(f"config key '{key}': {text!r} is not a time of day; use \"HH:MM\" "
                      "(24-hour, e.g. \"02:30\"), or \"\" for no nightly refresh")


#: The shortest ``api.token`` accepted (the generated one has 32 characters).
MIN_TOKEN_LENGTH = 16


def _check_token(token: str, key: str) -> None:
    """A fixed API token must be hard to guess and sendable in an HTTP header (the message
    never repeats the token: it is a secret)."""
    if len(token) < MIN_TOKEN_LENGTH:
        n = len(token)
        raise ConfigError(f"config key '{key}': too short ({n} character{'s' * (n != 1)}); use at "
                          f"least {MIN_TOKEN_LENGTH} random characters, or leave it empty for a "
                          "generated one")
    if not all("!" <= ch <= "~" for ch in token):
        raise ConfigError(f"config key '{key}': use only visible ASCII characters (letters, "
                          "digits, punctuation; no spaces), as it is sent in an HTTP header")


def settings_from_dict(data: dict[str, Any]) -> Settings:
    """Validate a plain dict (as parsed from TOML) into Settings, or raise ConfigError."""
    return _build(Settings, data)


def settings_to_dict(settings: Settings) -> dict[str, Any]:
    def conv(obj: Any) -> Any:
        if dataclasses.is_dataclass(obj):
            return {_toml_key(f.name): conv(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        if isinstance(obj, list):
            return [conv(v) for v in obj]
        return obj
    return conv(settings)


def example_config_text() -> str:
    """Every setting with its default and help, as a commented TOML file for installers."""
    lines = ["# possuggest configuration: every setting with its default.",
             "# Copy what you change into config.toml (see README.md, 'Pointing it at a till').", ""]

    def section(obj: Any, prefix: str) -> None:
        scalars = [f for f in dataclasses.fields(obj)
                   if not dataclasses.is_dataclass(getattr(obj, f.name))]
        if prefix and scalars:
            lines.append(f"[{prefix}]")
        for f in scalars:
            help_text = f.metadata.get("help", "")
            if help_text:
                lines.append(f"# {help_text}")
            key = _toml_key(f.name)
            value = settings_to_dict(obj)[key]      # obj is a settings section: a dataclass
            lines.append(tomli_w.dumps({key: value}).strip() if value != [] else f"{key} = []")
        if prefix and scalars:
            lines.append("")
        for f in dataclasses.fields(obj):
            sub = getattr(obj, f.name)
            if dataclasses.is_dataclass(sub):
                section(sub, f"{prefix}.{f.name}" if prefix else f.name)

    section(Settings(), "")
    return "\n".join(lines).rstrip() + "\n"


def _private_group(st: os.stat_result) -> bool:
    """The file's group is its owner's own (named after the owner, with no other members)."""
    import grp
    import pwd

    try:
        owner = pwd.getpwuid(st.st_uid)
        group = grp.getgrgid(st.st_gid)
    except KeyError:
        return False
    return (st.st_gid == owner.pw_gid and group.gr_name == owner.pw_name
            and set(group.gr_mem) <= {owner.pw_name})


def check_config_permissions(path: Path, st: os.stat_result) -> None:
    """On POSIX, refuse a config file that other users can change: whoever can write it can
    point possuggest at another till or change its API token. Writable by every user, or by
    a group other than the owner's own, is refused with the ``chmod`` that fixes it."""
    if os.name != "posix" or not stat.S_ISREG(st.st_mode):
        return
    why = "whoever can change it can point possuggest at another till or set its API token"
    if st.st_mode & stat.S_IWOTH:
        raise ConfigError(f"config file {path} can be changed by every user of this computer "
                          f"({why}): run 'chmod o-w {path}'")
    if st.st_mode & stat.S_IWGRP and not _private_group(st):
        import grp

        try:
            group = f"group '{grp.getgrgid(st.st_gid).gr_name}'"
        except KeyError:
            group = f"group {st.st_gid}"
        raise ConfigError(f"config file {path} can be changed by the {group} ({why}): run "
                          f"'chmod g-w {path}'")


def read_config_file(path: Path) -> dict[str, Any]:
    """One TOML file as a dict; a missing file is empty. Raises ConfigError naming the file,
    also when other users could change it (see :func:`check_config_permissions`)."""
    try:
        with open(path, "rb") as f:
            check_config_permissions(path, os.fstat(f.fileno()))
            text = f.read().decode("utf-8")
        text = text.replace("\r\n", "\n").replace("\r", "\n")    # as text mode reads it
    except FileNotFoundError:
        return {}
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a folder, not a file") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"config file {path} is nested too deeply") from None


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; any other value in ``over`` replaces the one in ``base``."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def load_settings_files(paths: Sequence[Path]) -> Settings:
    """Settings from several files read in order (machine-wide, the user's, ``--config``):
    later files override earlier ones key by key. Absent files are skipped. A bad value raises
    ConfigError naming the key and the file it came from."""
    merged: dict[str, Any] = {}
    for path in paths:
        data = read_config_file(path)
        if not data:
            continue
        try:
            settings_from_dict(data)
        except ConfigError as exc:
            raise ConfigError(f"{exc} (in {path})") from None
        merged = _merge(merged, data)
    return settings_from_dict(merged)


def load_settings(path: Path) -> Settings:
    """Read and validate one config file; a missing file gives the defaults. Raises ConfigError."""
    return load_settings_files([path])


__all__ = [
    "Settings", "TillSettings", "TillMapping", "MiningSettings", "PolicySettings", "ManualRule",
    "UpgradePath", "WatcherSettings", "ApiSettings", "UiSettings", "HoldoutSettings",
    "FeedbackSettings", "RefreshSettings", "parse_hhmm",
    "load_settings", "load_settings_files", "read_config_file", "settings_from_dict",
    "settings_to_dict",
]
