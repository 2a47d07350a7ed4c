"""Feedback events (shown / accepted / dismissed) written off the caller's thread, and the
holdout draw that keeps a share of sales free of suggestions as a control group."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import queue
import sqlite3
import threading
from pathlib import Path
from typing import Any

from possuggest.store.rule_store import RuleStore

log = logging.getLogger(__name__)

CHECK_INTERVAL = 1.0      # s: how often an idle writer checks that its database file is there
COALESCE = 0.05           # s: events arriving this soon after the first go in one transaction
# what one bad event (not a broken database) raises: text that cannot be stored (a lone
# surrogate), a missing or odd field, a value a constraint refuses
_ROW_ERRORS = (UnicodeError, ValueError, TypeError, KeyError, OverflowError,
               sqlite3.IntegrityError, sqlite3.InterfaceError)


def in_holdout(register: str, sale_id: str | None, share: float) -> bool:
    """Deterministic per sale: the same sale is always in (or out of) the holdout."""
    if share <= 0 or sale_id is None:
        return False
    digest = hashlib.sha256(f"{register}:{sale_id}".encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _bad_row(exc: BaseException) -> bool:
    return isinstance(exc, _ROW_ERRORS) or isinstance(exc.__cause__, _ROW_ERRORS)


class EventWriter:
    """A background thread with its own connection to possuggest's database.

    ``put()`` never blocks the caller (the GUI thread); ``close()`` writes what is queued and
    joins the thread. One bad event is logged and dropped without losing the rest of its
    batch. Before each batch (and every second when idle) the writer checks that the database
    file is still the one it opened: one deleted or replaced while running is opened anew
    (created if missing). ``state`` is "ok" or "error: …" for the health check.
    """

    def __init__(self, store_path: Path) -> None:
        self.store_path = Path(store_path)
        self._queue: queue.Queue[list[dict[str, Any]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="event-writer", daemon=True)
        self.written = 0
        self.dropped = 0                      # bad events logged and left out
        self.reopened = 0                     # times the file was found deleted or replaced
        self.error: str | None = None
        self._idle = threading.Event()
        self._idle.set()
        self._closing = threading.Event()
        self._store: RuleStore | None = None
        self._identity: tuple[int, int] | None = None     # the file opened last
        self._open_failed = False

    @property
    def state(self) -> str:
        """"ok", or "error: …" while events cannot be saved."""
        err = self.error
        return "ok" if err is None else f"error: {err}"

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
            self._closing.set()
            self._queue.put(None)
            self._thread.join(timeout)

    # -- the writer thread ----------------------------------------------------------------
    def _open(self) -> RuleStore:
        """The store, opened (again) when the file is not the one opened last: deleted or
        replaced while running."""
        now = _identity(self.store_path)
        if self._identity is not None and now != self._identity:
            what = "deleted" if now is None else "replaced"
            log.warning("possuggest database %s was %s while running; opening it anew",
                        self.store_path, what)
            self._drop_store()
            self._identity = None
            self.reopened += 1
            if now is None:
                # the old file's -wal/-shm belong to a database that is gone: a new file of
                # the same name must not pick them up
                for side in ("-wal", "-shm"):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(f"{self.store_path}{side}")
        store = self._store
        if store is None:
            try:
                store = RuleStore(self.store_path)
            except Exception:
                self._open_failed = True
                raise
            self._store = store
            self._identity = _identity(self.store_path)
            if self._open_failed:
                self._open_failed = False
                self.error = None
        return store

    def _drop_store(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            with contextlib.suppress(Exception):
                store.close()

    def _write(self, batch: list[dict[str, Any]]) -> None:
        try:
            store = self._open()
        except Exception as exc:
            self.error = f"events not saved: {exc}"
            log.error("%d events not saved: %s", len(batch), exc)
            return
        try:
            self.written += store.log_events(batch)
            self.error = None
            return
        except Exception as exc:
            if len(batch) == 1 and not _bad_row(exc):
                self._failed(exc, 1)
                return
            first = exc
        # one row at a time: the bad ones are logged and dropped, the good ones saved
        saved = bad = 0
        for event in batch:
            try:
                saved += store.log_events([event])
            except Exception as exc:
                if not _bad_row(exc):
                    self.written += saved
                    self._failed(exc, len(batch) - saved - bad)
                    return
                bad += 1
                log.warning("event dropped (%s): %.300r", exc, event)
        self.written += saved
        self.dropped += bad
        if saved or _bad_row(first):
            self.error = None
        else:                                                      # pragma: no cover
            self._failed(first, len(batch))

    def _failed(self, exc: BaseException, n: int) -> None:
        self.error = f"events not saved: {exc}"
        log.error("%d events not saved: %s", n, exc)
        self._drop_store()                    # open it again for the next batch

    def _run(self) -> None:
        try:
            while True:
                try:
                    batch = self._queue.get(timeout=CHECK_INTERVAL)
                except queue.Empty:
                    self._check_idle()
                    continue
                if batch is None:
                    break
                # coalesce what arrives in the next moment into one transaction (under a
                # busy API this is one commit, and one wake-up of this thread, per 50 ms
                # instead of per request)
                self._closing.wait(COALESCE)
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
                    self._write(batch)
                except Exception as exc:                           # pragma: no cover
                    self.error = f"events not saved: {exc}"
                    log.exception("writing %d events failed", len(batch))
                if self._queue.empty():
                    self._idle.set()
                if stop:
                    break
        except Exception as exc:                                   # pragma: no cover
            self.error = f"events not saved: {exc}"
            log.exception("event writer stopped")
        finally:
            self._idle.set()
            self._drop_store()

    def _check_idle(self) -> None:
        """No events for a while: notice a deleted or replaced file (health reports it)."""
        try:
            self._open()
        except Exception as exc:
            self.error = f"events not saved: {exc}"
