"""Helpers for the panel's tests and benchmark (Qt-free): a context in a temporary folder, a
stand-in till that rings up lines into a till database with plain sqlite3, and the events
table read back."""

from __future__ import annotations

import logging
import sqlite3
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from possuggest.services.context import AppContext

log = logging.getLogger(__name__)

UI_THREAD_NAMES = {"event-writer", "basket-api", "till-simulator", "live-reload"}


WAIT_MS = 60_000     # generous: a loaded 2-core CI machine can be slow; tests never sleep


def card_skus(window: Any) -> list[str]:
    """The SKUs of the suggestion cards the cashier can accept, top first (F1 first)."""
    return [c.sku for c in window.cards.suggestion_cards()]


def ring_skus(window: Any) -> list[str]:
    """The SKUs of the accepted cards waiting to be rung up, top first."""
    return [c.sku for c in window.cards.visible_cards() if c.mode == "ring"]


def make_context(data_dir: Path, till: Path | None = None, poll_ms: int = 50,
                 api_enabled: bool = True, busy_timeout_ms: int = 200,
                 extra_config: str = "") -> AppContext:
    """A GUI context in ``data_dir`` (created) whose config file (written once, as a manager
    would) asks for fast polling; ``till`` is given as ``--till-db``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    config = data_dir / "config.toml"
    if not config.exists():
        config.write_text(f"[watcher]\npoll_ms = {poll_ms}\n\n[api]\n"
                          f"enabled = {str(api_enabled).lower()}\n\n[till]\n"
                          f"busy_timeout_ms = {busy_timeout_ms}\n{extra_config}",
                          encoding="utf-8")
    # The small conftest till has mild lifts (2-2.5: every fourth basket holds a mower); the
    # panel's tests are about the panel, so their cards may rest on milder evidence than a
    # store's default. Given as --config, read after the manager's file.
    relaxed = data_dir / "panel-tests.toml"
    # no holdout: a scanned sale must show its cards in every test
    relaxed.write_text("[policy]\nmin_card_lift = 1.5\n\n[holdout]\nshare = 0.0\n",
                       encoding="utf-8")
    ctx = AppContext.create(str(data_dir), str(relaxed), str(till) if till else None,
                            strict=False)
    ctx.paths.ensure()
    return ctx


class TillWriter:
    """Writes like a till: each call is one short transaction on its own connection."""

    def __init__(self, path: Path, register: str = "1") -> None:
        self.path = Path(path)
        self.register = register

    def _run(self, sql: str, params: tuple[Any, ...]) -> int:
        conn = sqlite3.connect(self.path, timeout=5.0)
        try:
            cur = conn.execute(sql, params)
            conn.commit()
            return int(cur.lastrowid or 0)
        finally:
            conn.close()

    def open_sale(self) -> int:
        now = datetime.now().isoformat(timespec="seconds")
        return self._run("INSERT INTO sales (register_id, cashier_id, customer_id, opened_at, "
                         "status) VALUES (?, 'C01', NULL, ?, 'open')", (self.register, now))

    def add_line(self, sale_id: int, sku: str, qty: float = 1.0, price: float = 1.0) -> int:
        return self._run("INSERT INTO sale_lines (sale_id, sku, qty, unit_price, voided) "
                         "VALUES (?, ?, ?, ?, 0)", (sale_id, sku, qty, price))

    def close_sale(self, sale_id: int) -> None:
        now = datetime.now().isoformat(timespec="seconds")
        self._run("UPDATE sales SET status = 'closed', closed_at = ? WHERE sale_id = ?",
                  (now, sale_id))


def read_events(store_path: Path) -> list[dict[str, Any]]:
    """The events table of possuggest's database, oldest first."""
    conn = sqlite3.connect(store_path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM events ORDER BY id")]
    finally:
        conn.close()


def stray_threads() -> list[str]:
    """Real (non-dummy) Python threads of the panel that are still alive."""
    return [t.name for t in threading.enumerate()
            if t.name in UI_THREAD_NAMES and not isinstance(t, threading._DummyThread)
            and t.is_alive()]


class PanelHarness:
    """Opens real panels for tests and closes them all at the end, checking that every
    thread they started has stopped. (Imports Qt lazily: the rest of this module is Qt-free.)"""

    def __init__(self) -> None:
        self.opened: list[tuple[Any, Any]] = []

    def open(self, ctx: AppContext, options: Any = None, start: bool = True) -> tuple[Any, Any]:
        from possuggest.ui.app import ensure_app, open_panel
        from possuggest.ui.controller import PanelOptions

        ensure_app()
        if options is None:
            options = PanelOptions(api_port=0)
        controller, window = open_panel(ctx, options, start=start)
        self.opened.append((controller, window))
        return controller, window

    def close(self, controller: Any, window: Any) -> list[str]:
        """Close one panel; returns the names of threads still running (should be none)."""
        window.close()
        controller.shutdown()
        return controller.running_threads() + stray_threads()

    def close_all(self) -> list[str]:
        left: list[str] = []
        for controller, window in self.opened:
            window.close()
            controller.shutdown()
        for controller, _ in self.opened:
            left += controller.running_threads()
        self.opened.clear()
        return left + stray_threads()
