"""Refreshes the manager starts, the nightly schedule starts and the command line starts: one at
a time, each recorded in the history of runs; and the rule sets an earlier one can be made
active again from.

* :class:`RefreshLock` is an OS file lock in the data folder's ``locks`` folder, one per rule
  database. A refresh holds it while it runs; a second one (the console, the nightly timer, a
  ``possuggest refresh`` from the OS scheduler, another panel) is refused with
  :class:`RefreshBusy` naming who started the first and when. The OS releases it if the
  process dies, so a crash never leaves a stale lock.
* :func:`run_recorded_refresh` takes the lock, records the run (store/refresh_runs.py), runs
  :func:`possuggest.services.app.run_refresh` and records how it ended: ok, failed (with the
  message), cancelled.
* :class:`NightlySchedule` says when a running panel's nightly refresh is due
  (``[refresh] nightly_at = "HH:MM"``); its clock is injectable.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

from possuggest.core.config import parse_hhmm
from possuggest.core.errors import Cancelled, ConfigError, PossuggestError, RuleStoreError
from possuggest.core.progress import CancelledFn, ProgressFn
from possuggest.services import app
from possuggest.services.app import Plan, RefreshOutcome
from possuggest.services.locks import HeldFileLock

log = logging.getLogger(__name__)

WHO = {"manager": "the manager", "nightly": "the nightly schedule", "cli": "the command line"}


class RefreshBusy(PossuggestError):
    """A refresh is already running for this rule database."""


class RefreshLock(HeldFileLock):
    """One refresh at a time per rule database, across processes."""

    def __init__(self, lock_dir: Path, rules_db: Path) -> None:
        key = hashlib.sha256(str(Path(rules_db).resolve()).encode()).hexdigest()[:16]
        super().__init__(Path(lock_dir) / f"refresh-{key}.lock")

    def acquire(self, started_by: str) -> None:
        """Take the lock or raise RefreshBusy (never waits)."""
        other = self._take(json.dumps({"pid": os.getpid(), "by": started_by,
                                       "at": datetime.now().strftime("%H:%M")}))
        if other is not None:
            raise RefreshBusy(f"A refresh is already running{_holder(other)}: wait for it to "
                              "finish (or cancel it where it was started)")

    def busy(self) -> str | None:
        """Why a refresh cannot start now (another holds the lock), else None."""
        if self._fh is not None:
            return "A refresh is already running"
        try:
            self.acquire("check")
        except RefreshBusy as exc:
            return str(exc)
        except OSError as exc:
            return f"The refresh lock {self.path} cannot be opened: {exc.strerror}"
        self.release()
        return None


def _holder(note: str) -> str:
    """ " (started by the manager at 14:02, process 123)" from the lock file's note, if
    readable."""
    try:
        info = json.loads(note or "{}")
        who = WHO.get(str(info.get("by")), "another process")
        return f" (started by {who} at {info['at']}, process {int(info['pid'])})"
    except (ValueError, KeyError, TypeError, AttributeError):
        return ""


# -- the recorded refresh -------------------------------------------------------------------
def _record(plan: Plan, write: Callable[[Any], Any]) -> Any:
    """Write to the history; a problem there is logged, never fails the refresh itself."""
    from possuggest.store.rule_store import RuleStore

    try:
        with RuleStore(plan.rules_db) as store:
            return write(store)
    except (RuleStoreError, OSError) as exc:
        log.warning("refresh history not updated: %s", exc)
        return None


def run_recorded_refresh(plan: Plan, lock_dir: Path, started_by: str,
                         progress: ProgressFn | None = None,
                         cancelled: CancelledFn | None = None) -> RefreshOutcome:
    """:func:`~possuggest.services.app.run_refresh` under the refresh lock, recorded in the
    history of runs. Raises RefreshBusy when another refresh runs; Cancelled, or the
    refresh's own error, after recording it."""
    from possuggest.store import refresh_runs as runs

    lock = RefreshLock(lock_dir, plan.rules_db)
    lock.acquire(started_by)
    try:
        def begin(store: Any) -> int:
            stale = runs.close_interrupted(store)      # we hold the lock: none can be running
            if stale:
                log.info("%d earlier refresh(es) marked interrupted", stale)
            return runs.start_run(store, started_by)

        run_id = _record(plan, begin)
        t0 = time.monotonic()
        log.info("refresh started by %s", WHO.get(started_by, started_by))

        def end(outcome: str, **fields: Any) -> None:
            if run_id is not None:
                _record(plan, lambda store: runs.finish_run(
                    store, run_id, outcome, time.monotonic() - t0, **fields))

        try:
            result = app.run_refresh(plan, progress, cancelled)
        except Cancelled:
            end("cancelled")
            raise
        except KeyboardInterrupt:
            end("cancelled", message="interrupted (Ctrl-C)")
            raise
        except BaseException as exc:
            msg = str(exc) if isinstance(exc, PossuggestError) else f"{type(exc).__name__}: {exc}"
            end("failed", message=msg)
            raise
        s = result.summary
        params = _record(plan, lambda store: next(
            (rs.params for rs in store.rule_sets() if rs.id == s.rule_set_id), {}))
        note = "" if result.pinned is None else (
            f"saved, not active: rule set {result.pinned} is pinned by a rollback")
        end("ok", rule_set_id=int(s.rule_set_id), n_baskets=int(s.n_baskets),
            n_cross=int(s.n_cross), n_upgrade=int(s.n_upgrade), params=params or {},
            message=note)
        return result
    finally:
        lock.release()


def refresh_busy(plan: Plan, lock_dir: Path) -> str | None:
    """Why a refresh cannot start now (one is running somewhere), else None."""
    return RefreshLock(lock_dir, plan.rules_db).busy()


def refresh_history(plan: Plan, lock_dir: Path, limit: int = 100) -> list[Any]:
    """The latest runs, newest first (store.refresh_runs.RefreshRun). A run still marked
    running while no refresh holds the lock is shown as interrupted."""
    import dataclasses

    from possuggest.store import refresh_runs as runs

    history: list[Any] = app._read_store(plan.rules_db, lambda s: runs.list_runs(s, limit))
    if any(r.outcome == "running" for r in history) and refresh_busy(plan, lock_dir) is None:
        history = [dataclasses.replace(r, outcome="interrupted",
                                       message="the process stopped before the refresh ended")
                   if r.outcome == "running" else r for r in history]
    return history


# -- rule sets ----------------------------------------------------------------------------------
def rule_sets(plan: Plan) -> tuple[list[Any], int | None]:
    """Kept rule sets (RuleSetInfo, newest first) and the one a rollback pinned, if any."""
    result: tuple[list[Any], int | None] = app._read_store(
        plan.rules_db, lambda s: (s.rule_sets(), s.pinned_rule_set()))
    return result


def make_active(plan: Plan, rule_set_id: int) -> None:
    """Make a kept rule set active and pin it, as ``possuggest rollback N`` does: refreshes
    keep adding sets without activating them until :func:`release_pin`."""
    from possuggest.store.rule_store import RuleStore

    with RuleStore(plan.rules_db) as store:
        store.activate(int(rule_set_id), pin=True)
    log.info("rule set %d made active and pinned from the manager console", rule_set_id)


def release_pin(plan: Plan) -> int:
    """Undo the pin: the newest rule set becomes active again (returns its id)."""
    from possuggest.store.rule_store import RuleStore

    with RuleStore(plan.rules_db) as store:
        sets = store.rule_sets()
        if not sets:
            raise RuleStoreError("no rule sets yet: refresh first")
        store.activate(sets[0].id, pin=False)
    log.info("pin released from the manager console: rule set %d active", sets[0].id)
    return int(sets[0].id)


# -- the nightly schedule -------------------------------------------------------------------------
class NightlySchedule:
    """Whether the nightly refresh is due: once a day, when the clock passes ``nightly_at``
    while the app runs (checked every half minute or so). A time passed while the app was
    closed (or the computer asleep for more than :attr:`grace`) is not made up at start-up:
    a refresh in opening hours would slow the counter."""

    grace = timedelta(hours=1)

    def __init__(self, now: Callable[[], datetime] = datetime.now) -> None:
        self.now = now
        self._last: datetime | None = None

    def due(self, nightly_at: str) -> bool:
        """True once per passing of ``nightly_at`` since the previous call ("" = off)."""
        now = self.now()
        last, self._last = self._last, now
        target = self._latest_target(nightly_at, now)
        return (target is not None and last is not None and last < target <= now
                and now - target <= self.grace)

    @staticmethod
    def _latest_target(nightly_at: str, now: datetime) -> datetime | None:
        if not nightly_at:
            return None
        try:
            hour, minute = parse_hhmm(nightly_at)
        except ConfigError:
            return None
        today = datetime.combine(now.date(), dtime(hour, minute))
        return today if today <= now else today - timedelta(days=1)

    def next_run(self, nightly_at: str) -> datetime | None:
        """When it will next run (None when off)."""
        now = self.now()
        target = self._latest_target(nightly_at, now)
        return None if target is None else target + timedelta(days=1)


__all__ = ["NightlySchedule", "RefreshBusy", "RefreshLock", "make_active", "refresh_busy",
           "refresh_history", "release_pin", "rule_sets", "run_recorded_refresh", "WHO"]
