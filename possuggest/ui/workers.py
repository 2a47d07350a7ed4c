"""Worker threads of the panel. The GUI thread never touches SQLite: these do.

* ``TaskThread`` runs one long job (build the demo store, refresh rules, load the engine)
  with progress, intermediate results and cancel, reporting through queued Qt signals.
* ``WatcherThread`` owns a ``TillWatcher`` (and so its read-only connection) and polls it on
  a timer in its own event loop; a file-system watcher on the till's folder triggers an
  immediate poll when the till commits, so a new line shows in milliseconds, not a poll period.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QFileSystemWatcher, QObject, QThread, QTimer, Signal

from possuggest.core.config import TillSettings
from possuggest.core.errors import Cancelled, PossuggestError
from possuggest.core.progress import ProgressFn, check_cancelled, sub_range

log = logging.getLogger(__name__)


class TaskHandle:
    """What a task function gets: report progress, check for cancel, post partial results."""

    def __init__(self, thread: TaskThread) -> None:
        self._thread = thread
        self._last = (-1.0, "", 0.0)

    def progress(self, fraction: float, message: str) -> None:
        check_cancelled(self.cancelled, f"{self._thread.task} cancelled")
        frac, msg, at = self._last
        now = time.monotonic()
        # at most ~25 updates a second, but always the message changes and the end
        if message != msg or fraction >= 1.0 or (fraction - frac >= 0.005 and now - at >= 0.04):
            self._last = (fraction, message, now)
            self._thread.progress.emit(self._thread.task, float(fraction), message)

    def stage(self, lo: float, hi: float) -> ProgressFn:
        """A progress callable mapping 0..1 onto lo..hi of this task."""
        return sub_range(self.progress, lo, hi)

    def cancelled(self) -> bool:
        return self._thread.cancel_event.is_set()

    def post(self, key: str, value: Any) -> None:
        self._thread.posted.emit(self._thread.task, key, value)


TaskFn = Callable[[TaskHandle], Any]


class TaskThread(QThread):
    """Run ``fn(handle)`` once in its own thread; exactly one of succeeded / failed /
    was_cancelled is emitted at the end."""

    progress = Signal(str, float, str)       # task, fraction 0..1, message
    posted = Signal(str, str, object)        # task, key, value
    succeeded = Signal(str, object)          # task, result
    failed = Signal(str, str)                # task, one-line message
    was_cancelled = Signal(str)              # task

    def __init__(self, task: str, fn: TaskFn, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.task = task
        self.fn = fn
        self.cancel_event = threading.Event()
        self.setObjectName(f"task-{task}")

    def cancel(self) -> None:
        self.cancel_event.set()

    def run(self) -> None:
        threading.current_thread().name = f"task-{self.task}"
        handle = TaskHandle(self)
        try:
            result = self.fn(handle)
        except Cancelled:
            log.info("%s cancelled", self.task)
            self.was_cancelled.emit(self.task)
        except PossuggestError as exc:
            log.warning("%s failed: %s", self.task, exc)
            self.failed.emit(self.task, str(exc))
        except Exception as exc:  # a worker must never take the panel down
            log.exception("%s failed", self.task)
            self.failed.emit(self.task, f"{type(exc).__name__}: {exc}")
        else:
            if self.cancel_event.is_set():
                self.was_cancelled.emit(self.task)
            else:
                self.succeeded.emit(self.task, result)


class WatcherThread(QThread):
    """Polls the till database for the register's open sale, off the GUI thread.

    ``on_sale(OpenSale)`` is called in this thread (it updates the thread-safe session);
    ``stateChanged`` and ``productsRead`` reach the GUI through queued signals.
    """

    stateChanged = Signal(str, str)          # state ('ok'|'missing'|'locked'|'error'), message
    productsRead = Signal(object)            # dict[str, Product]
    saleSeen = Signal(object)                # OpenSale, after on_sale ran

    def __init__(self, path: Path, settings: TillSettings, poll_ms: int,
                 on_sale: Callable[[Any], None], products_every_s: float = 30.0,
                 watch_files: bool = True, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path = Path(path)
        self.settings = settings
        self.poll_ms = int(poll_ms)
        self.on_sale = on_sale
        self.products_every_s = products_every_s
        self.watch_files = watch_files
        self.state = "starting"
        self.polls = 0
        self._watcher: Any = None
        self._stop_asked = False
        self.setObjectName("till-watcher")

    def run(self) -> None:
        from possuggest.till.watcher import TillWatcher

        threading.current_thread().name = "till-watcher"
        watcher = TillWatcher(self.path, self.settings, products_every_s=self.products_every_s)
        self._watcher = watcher
        if self._stop_asked:        # stop() came before the watcher existed
            watcher.interrupt()
        pending = {"poll": False}
        timer = QTimer()
        kick = QTimer()
        kick.setSingleShot(True)
        kick.setInterval(0)
        fs: QFileSystemWatcher | None = QFileSystemWatcher() if self.watch_files else None

        def poll() -> None:
            pending["poll"] = False
            self.polls += 1
            try:
                result = watcher.poll()
            except Exception as exc:  # never let one bad read stop the watcher
                log.exception("till watcher poll failed")
                self._set_state("error", f"till database cannot be read: {exc}")
                return
            self._set_state(result.state, result.message)
            if result.products is not None:
                self.productsRead.emit(result.products)
            if result.sale is not None:
                try:
                    self.on_sale(result.sale)
                except Exception:
                    log.exception("updating the basket from the till failed")
                self.saleSeen.emit(result.sale)
            if fs is not None:
                self._watch(fs)

        def soon(*_: object) -> None:
            if not pending["poll"]:
                pending["poll"] = True
                kick.start()

        timer.timeout.connect(poll)
        kick.timeout.connect(poll)
        if fs is not None:
            fs.fileChanged.connect(soon)
            fs.directoryChanged.connect(soon)
        timer.start(self.poll_ms)
        poll()
        try:
            self.exec()
        finally:
            timer.stop()
            kick.stop()
            watcher.close()
            log.debug("till watcher stopped after %d polls", self.polls)

    def _watch(self, fs: QFileSystemWatcher) -> None:
        """Keep watching the till's folder, the file and its WAL (they come and go)."""
        wanted = [self.path.parent, self.path, Path(f"{self.path}-wal")]
        have = set(fs.files()) | set(fs.directories())
        for p in wanted:
            s = str(p)
            if s not in have and p.exists():
                fs.addPath(s)

    def _set_state(self, state: str, message: str) -> None:
        if state != self.state:
            self.state = state
            self.stateChanged.emit(state, message)

    def stop(self, timeout_ms: int = 5000) -> bool:
        """Stop the thread: a till query in progress (mapped SQL that never ends, a long
        read) is interrupted at once, so the thread always ends."""
        self._stop_asked = True
        watcher = self._watcher
        if watcher is not None:
            watcher.interrupt()
        self.quit()
        return self.wait(timeout_ms)
