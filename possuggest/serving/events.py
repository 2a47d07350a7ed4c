"""Feedback events (shown / accepted / dismissed) written off the caller's thread, and the
holdout draw that keeps a share of sales free of suggestions as a control group."""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
from pathlib import Path
from typing import Any

from possuggest.store.rule_store import RuleStore

log = logging.getLogger(__name__)


def in_holdout(register: str, sale_id: str | None, share: float) -> bool:
    """Deterministic per sale: the same sale is always in (or out of) the holdout."""
    if share <= 0 or sale_id is None:
        return False
    digest = hashlib.sha256(f"{register}:{sale_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


class EventWriter:
    """A background thread with its own connection to possuggest's database.

    ``put()`` never blocks the caller (the GUI thread); ``close()`` writes what is queued and
    joins the thread.
    """

    def __init__(self, store_path: Path) -> None:
        self.store_path = Path(store_path)
        self._queue: queue.Queue[list[dict[str, Any]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="event-writer", daemon=True)
        self.written = 0
        self.error: str | None = None
        self._idle = threading.Event()
        self._idle.set()

    def start(self) -> EventWriter:
        self._thread.start()
        return self

    def put(self, events: list[dict[str, Any]]) -> None:
        if events:
            self._idle.clear()
            self._queue.put(events)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything queued so far is written (for tests and shutdown)."""
        return self._idle.wait(timeout)

    def close(self, timeout: float = 5.0) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout)

    def _run(self) -> None:
        store: RuleStore | None = None
        try:
            store = RuleStore(self.store_path)
            while True:
                batch = self._queue.get()
                if batch is None:
                    break
                # coalesce whatever else is waiting into one transaction
                stop = False
                while True:
                    try:
                        more = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if more is None:
                        stop = True
                        break
                    batch.extend(more)
                try:
                    self.written += store.log_events(batch)
                    self.error = None
                except Exception as exc:  # keep the till-side app running; report it
                    self.error = f"events not saved: {exc}"
                    log.exception("writing %d events failed", len(batch))
                if self._queue.empty():
                    self._idle.set()
                if stop:
                    break
        except Exception as exc:
            self.error = f"events not saved: {exc}"
            log.exception("event writer stopped")
        finally:
            self._idle.set()
            if store is not None:
                store.close()
