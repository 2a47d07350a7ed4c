"""``possuggest --self-test``: is this installation whole? For installers, after copying the
bundle onto a till PC (or a pip install), before pointing it at the till.

Headless and in a temporary data folder of its own (the machine's and the user's config files,
data and till are never read or touched), through the same services the app uses:

1. libraries: numpy, scipy, pandas, SQLite, mlxtend's frequent patterns (``evaluate``);
2. demo store: a small demo till database;
3. refresh: mines it into an active rule set, recorded in the history of runs;
4. suggestions: the cards for a mower are real products, not in the basket, with reasons,
   and among them the demo store's known mower accessories or upgrades;
5. basket API on 127.0.0.1 (any free port): health, a basket and its cards, accepting one,
   ringing it up and closing the sale, a missing token refused, and the report counting
   that sale and its accepted card;
6. panel: the Qt platform plugins are installed, the cashier panel opens offscreen and loads
   the rules, every thread stops when it closes, and the console's chart library draws.

Each step prints one line; the first failure prints the reason and the command exits 1
(the temporary folder, with its log, is then kept and named). All passed: exit 0, the folder
is removed.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import platform
import shutil
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from possuggest import __version__
from possuggest.core.config import Settings
from possuggest.core.logsetup import setup_logging
from possuggest.core.paths import AppPaths
from possuggest.services.context import AppContext
from possuggest.services.state import AppState

log = logging.getLogger(__name__)

DEMO_SALES = 3000
BASKET = "MOW-STD"


class SelfTestError(Exception):
    """A check that did not pass; the message says what was expected and what was found."""


def _context(folder: Path) -> AppContext:
    """The app's context on a temporary folder: default settings (no config file is read),
    no holdout (every sale may be shown cards)."""
    paths = AppPaths(data_dir=folder, config_file=folder / "config.toml")
    settings = Settings()
    settings = dataclasses.replace(settings,
                                   holdout=dataclasses.replace(settings.holdout, share=0.0))
    return AppContext(paths, settings, AppState(paths.state_file))


# -- the steps ------------------------------------------------------------------------------
def _libraries(ctx: AppContext, verbose: bool) -> str:
    import sqlite3

    import numpy as np
    import pandas as pd
    import scipy
    import scipy.sparse as sp
    from mlxtend.frequent_patterns import fpgrowth
    from scipy.special import betaincinv

    m = sp.csr_matrix(np.eye(3))
    if float((m @ m).sum()) != 3.0:
        raise SelfTestError("scipy.sparse multiplies wrongly")
    if abs(float(betaincinv(2.0, 3.0, 0.5)) - 0.3857275681323) > 1e-6:
        raise SelfTestError("scipy.special.betaincinv gives a wrong value")
    baskets = pd.DataFrame({"a": [True, True, False], "b": [True, True, True]})
    if len(fpgrowth(baskets, min_support=0.5)) != 3:
        raise SelfTestError("mlxtend's fpgrowth found the wrong itemsets")
    return (f"numpy {np.__version__}, scipy {scipy.__version__}, pandas {pd.__version__}, "
            f"SQLite {sqlite3.sqlite_version}, mlxtend fpgrowth")


def _demo_store(ctx: AppContext, verbose: bool) -> str:
    from possuggest.demo.generator import build_demo_store

    ctx.paths.ensure()
    summary = build_demo_store(ctx.paths.demo_till_db, sales=DEMO_SALES, seed=7)
    if summary.sales != DEMO_SALES or summary.products < 100:
        raise SelfTestError(f"demo store has {summary.sales} sales and {summary.products} "
                            f"products, expected {DEMO_SALES} sales and 100+ products")
    return f"{summary.products:,} products, {summary.sales:,} sales, {summary.lines:,} lines"


def _refresh(ctx: AppContext, verbose: bool) -> str:
    from possuggest.services import app
    from possuggest.services.refresh import refresh_history, run_recorded_refresh

    plan = app.prepare(ctx, verbose)
    outcome = run_recorded_refresh(plan, ctx.paths.lock_dir, "cli")
    if outcome.n_cross < 100 or outcome.n_upgrade < 1:
        raise SelfTestError(f"refresh mined {outcome.n_cross} cross-sell and "
                            f"{outcome.n_upgrade} upgrade rules; expected 100+ and 1+")
    runs = refresh_history(plan, ctx.paths.lock_dir)
    if [getattr(r, "outcome", None) for r in runs] != ["ok"]:
        raise SelfTestError(f"history of refreshes: {runs!r}, expected one 'ok' run")
    return outcome.text()


def _related(sku: str) -> set[str]:
    """What the demo store's shopping model sells with ``sku``: the other tiers of its
    missions and their accessories."""
    from possuggest.demo.catalogue import load_demo_data

    out: set[str] = set()
    for mission in load_demo_data().missions:
        if sku in mission.core:
            out.update(mission.core)
            for acc in mission.accs:
                out.update(acc.alts)
    out.discard(sku)
    return out


def _check_cards(cards: list[dict[str, Any]], basket: list[str]) -> list[str]:
    from possuggest.demo.catalogue import load_demo_data

    known = {p.sku for p in load_demo_data().products}
    if not cards:
        raise SelfTestError(f"no suggestions for {basket}")
    for card in cards:
        if card["sku"] not in known or card["sku"] in basket or not card["reason"]:
            raise SelfTestError(f"a wrong card for {basket}: {card}")
    skus = [str(c["sku"]) for c in cards]
    if not set(skus) & _related(basket[0]):
        raise SelfTestError(f"cards for {basket[0]} ({', '.join(skus)}) include none of the "
                            "demo store's accessories or upgrades for it")
    return skus


def _suggestions(ctx: AppContext, verbose: bool) -> str:
    from possuggest.services import app

    cards = [{"sku": s.sku, "reason": s.reason, "kind": s.kind}
             for s in app.suggest(ctx, [BASKET], verbose=verbose)]
    skus = _check_cards(cards, [BASKET])
    return f"{BASKET} -> {', '.join(skus)}"


def _call(url: str, token: str | None, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode("utf-8")
    req = urllib.request.Request(url, data=data, method="GET" if body is None else "POST")
    req.add_header("Content-Type", "application/json")
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:   # loopback only
            return resp.status, json.loads(resp.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read().decode("utf-8") or "null")


def _expect(what: str, got: tuple[int, Any], status: int = 200) -> Any:
    if got[0] != status:
        raise SelfTestError(f"{what}: HTTP {got[0]} ({got[1]}), expected {status}")
    return got[1]


def _basket_api(ctx: AppContext, verbose: bool) -> str:
    from possuggest.services.report import build_report
    from possuggest.services.serve import run_serve

    stop = threading.Event()
    ready = threading.Event()
    found: dict[str, Any] = {}

    def announce(text: str) -> None:
        found["url"] = next(w for w in text.split() if w.startswith("http://"))
        ready.set()

    def serve() -> None:
        try:
            run_serve(ctx, port=0, verbose=verbose, stop=stop, announce=announce)
        except BaseException as exc:        # reported by the main thread
            found["error"] = exc
            ready.set()

    thread = threading.Thread(target=serve, name="self-test-api", daemon=True)
    thread.start()
    try:
        if not ready.wait(120) or "error" in found:
            raise SelfTestError(f"the basket API did not start: {found.get('error')}")
        url, token = found["url"], ctx.api_token()
        sale = {"register": "1", "sale_id": "self-test-1"}
        health = _expect("GET /v1/health", _call(f"{url}/v1/health", None))
        _expect("POST /v1/basket without a token", _call(
            f"{url}/v1/basket", None, {**sale, "items": [{"sku": BASKET, "qty": 1}]}), 401)
        view = _expect("POST /v1/basket", _call(
            f"{url}/v1/basket", token, {**sale, "items": [{"sku": BASKET, "qty": 1}]}))
        skus = _check_cards(view["suggestions"], [BASKET])
        _expect(f"POST /v1/suggestions/{skus[0]}/accept", _call(
            f"{url}/v1/suggestions/{skus[0]}/accept", token, sale))
        _expect("POST /v1/basket (the accepted card rung up)", _call(
            f"{url}/v1/basket", token, {**sale, "items": [{"sku": BASKET, "qty": 1},
                                                          {"sku": skus[0], "qty": 1}]}))
        _expect("POST /v1/sale/self-test-1/closed", _call(
            f"{url}/v1/sale/self-test-1/closed", token, {"register": "1"}))
    finally:
        stop.set()
        thread.join(60)
    if thread.is_alive():
        raise SelfTestError("the basket API did not stop within 60 s")
    report = build_report(ctx.paths.rules_db)
    if report.sales != 1 or report.accepted != 1 or report.shown < 1:
        raise SelfTestError(f"the report counts {report.sales} sale(s), {report.shown} cards "
                            f"shown, {report.accepted} accepted; expected 1, 1+ and 1")
    return (f"{url}: health (rule set {health.get('rule_set')}), token refused, basket "
            f"({len(skus)} cards), accept, ring-up, close; report: 1 sale, "
            f"{report.shown} shown, 1 accepted")


def _panel(ctx: AppContext, verbose: bool) -> str:
    from possuggest.ui.selfcheck import check_panel

    return check_panel(ctx)


STEPS: tuple[tuple[str, Callable[[AppContext, bool], str]], ...] = (
    ("libraries", _libraries),
    ("demo store", _demo_store),
    ("refresh", _refresh),
    ("suggestions", _suggestions),
    ("basket API", _basket_api),
    ("panel", _panel),
)


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if isinstance(exc, SelfTestError) or not text else \
        f"{type(exc).__name__}: {text}"


def run_self_test(out: Callable[[str], None], verbose: bool = False) -> int:
    """Run every step, printing one line each through ``out``; 0 when all pass, else 1.
    ``verbose``: debug logging on the console (``--debug``)."""
    started = time.monotonic()
    frozen = getattr(sys, "frozen", False)
    out(f"possuggest {__version__} self-test: Python {platform.python_version()} on "
        f"{platform.platform(terse=True)}"
        + (f", bundle {Path(sys.executable).parent}" if frozen else f", {sys.executable}"))
    folder = Path(tempfile.mkdtemp(prefix="possuggest-selftest-"))
    ctx = _context(folder)
    passed = False
    try:
        for name, step in STEPS:
            t0 = time.monotonic()
            try:
                detail = step(ctx, verbose)
            except Exception as exc:
                log.exception("self-test step %s failed", name)
                out(f"  FAILED {name}: {_reason(exc)}")
                out(f"self-test FAILED at '{name}' after {time.monotonic() - started:.1f} s; "
                    f"its data folder and log are kept in {folder}")
                return 1
            out(f"  ok  {name:<12} {detail} ({time.monotonic() - t0:.1f} s)")
        passed = True
        out(f"self-test passed in {time.monotonic() - started:.1f} s")
        return 0
    finally:
        if passed:
            setup_logging(None, verbose)    # the log file in the folder is closed first
            shutil.rmtree(folder, ignore_errors=True)


__all__ = ["STEPS", "SelfTestError", "run_self_test"]
