"""Live changes for a running panel or ``serve``: the manager's config files and rule sets
made by other processes (a CLI ``refresh`` or ``rollback``, a nightly job).

A background thread polls, every ``interval`` seconds, the config files' size and mtime and the
rule database's active rule set. A config change is validated first: a bad file is reported
(``on_problem``) and the last good settings stay in effect; good settings are handed over
(``on_settings``) and, when the policy changed, a new engine is built under it. A different
active rule set is loaded into a new engine. Engines are built in this thread and handed over
whole (``on_engine``), so a ``suggest()`` never sees a half-updated one. Every
``feedback.refresh_minutes`` the engine is also rebuilt with fresh feedback from the counter's
events (serving/feedback.py), when they say something new.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from possuggest.core.config import Settings, load_settings_files
from possuggest.core.errors import ConfigError

log = logging.getLogger(__name__)

Snapshot = tuple[tuple[str, int, int], ...]


def config_snapshot(paths: Sequence[Path]) -> Snapshot:
    """What tells a changed file: (path, size, mtime in ns); -1 for an absent file."""
    out = []
    for p in paths:
        try:
            st = p.stat()
            out.append((str(p), st.st_size, st.st_mtime_ns))
        except OSError:
            out.append((str(p), -1, -1))
    return tuple(out)


def active_rule_set_id(rules_db: Path) -> int | None:
    """The active rule set's id, read on a short-lived read-only connection (None if none)."""
    if not rules_db.exists():
        return None
    try:
        conn = sqlite3.connect(f"file:{rules_db}?mode=ro", uri=True, timeout=2.0)
    except sqlite3.Error:
        return None
    try:
        row = conn.execute("SELECT id FROM rule_sets WHERE active = 1").fetchone()
        return int(row[0]) if row else None
    except sqlite3.Error:
        return None
    finally:
        conn.close()


class LiveReloader:
    """Follows config files and the active rule set from one background thread."""

    def __init__(self, config_files: Sequence[Path], rules_db: Path, settings: Settings, *,
                 build_engine: Callable[[Settings], Any],
                 rebuild_engine: Callable[[Any, Settings], Any],
                 on_settings: Callable[[Settings], None],
                 on_engine: Callable[[Any], None],
                 on_problem: Callable[[str | None], None],
                 interval: float = 0.5, name: str = "live-reload",
                 refresh_feedback: Callable[[Any, Settings], Any] | None = None,
                 feedback_interval: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config_files = tuple(config_files)
        self.rules_db = rules_db
        self.settings = settings
        self._build_engine = build_engine        # settings → engine over the active set
        self._rebuild_engine = rebuild_engine    # (engine, settings) → same set, new policy
        self._on_settings = on_settings
        self._on_engine = on_engine
        self._on_problem = on_problem
        self.interval = interval
        # (engine, settings) → same set with fresh feedback, or None when nothing is new
        self._refresh_feedback = refresh_feedback or self._fresh_feedback
        self.feedback_interval = feedback_interval   # None: settings.feedback.refresh_minutes
        self._clock = clock
        self._feedback_at = clock()                  # the engine's feedback was read then
        self._snapshot = config_snapshot(self.config_files)
        self._problem: str | None = None
        self._engine: Any = None
        self._rule_set: int | None = None
        self._engine_known = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    # -- life cycle -----------------------------------------------------------------------
    def start(self) -> LiveReloader:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.ident is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def poke(self) -> None:
        """Check now rather than at the next tick."""
        self._wake.set()

    def note_engine(self, engine: Any) -> None:
        """The owner loaded an engine itself (start-up, its own refresh): start from it."""
        with self._lock:
            self._engine = engine
            self._rule_set = None if engine is None else engine.rule_set_id
            self._engine_known = engine is not None
            self._feedback_at = self._clock()

    def set_problem(self, problem: str | None) -> None:
        """The problem already reported at start-up (so it is not reported twice)."""
        self._problem = problem

    # -- the loop ---------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.check()
            except Exception:  # never let a bad tick end live reloading
                log.exception("live reload check failed")
            self._wake.wait(self.interval)
            self._wake.clear()

    def check(self) -> None:
        """One round: config files, then the active rule set."""
        rebuild = False
        snap = config_snapshot(self.config_files)
        if snap != self._snapshot:
            self._snapshot = snap
            rebuild = self._reload_settings()
        with self._lock:
            known, engine, current = self._engine_known, self._engine, self._rule_set
        if not known:
            return
        active = active_rule_set_id(self.rules_db)
        if self._stop.is_set():
            return
        if active != current and active is not None:
            log.info("active rule set changed: %s → %s", current, active)
            self._feedback_at = self._clock()     # a new engine reads the events itself
            self._hand_over(self._build_engine(self.settings))
        elif rebuild and engine is not None:
            self._hand_over(self._rebuild_engine(engine, self.settings))
        elif engine is not None and self._feedback_due():
            self._feedback_at = self._clock()
            fresh = self._refresh_feedback(engine, self.settings)
            with self._lock:
                stale = self._engine is not engine   # the owner loaded another meanwhile
            if fresh is not None and not stale:
                log.info("feedback from the counter refreshed")
                self._hand_over(fresh)

    def _feedback_due(self) -> bool:
        interval = (self.feedback_interval if self.feedback_interval is not None
                    else self.settings.feedback.refresh_minutes * 60.0)
        return self._clock() - self._feedback_at >= interval

    def _fresh_feedback(self, engine: Any, settings: Settings) -> Any:
        from possuggest.services.app import engine_with_feedback

        return engine_with_feedback(engine, self.rules_db, settings.feedback)

    def _reload_settings(self) -> bool:
        """Validate the changed files; True when the policy changed (the engine must follow)."""
        try:
            settings = load_settings_files(self.config_files)
        except ConfigError as exc:
            problem = f"{exc} — the last good settings stay in effect"
            if problem != self._problem:
                self._problem = problem
                log.warning("%s", problem)
                self._on_problem(problem)
            return False
        if self._problem is not None:
            self._problem = None
            self._on_problem(None)
        if settings == self.settings:
            return False
        old, self.settings = self.settings, settings
        log.info("settings changed in %s", ", ".join(str(p) for p in self.config_files))
        if settings.feedback != old.feedback:
            self._feedback_at = -math.inf         # read the events again under them now
        self._on_settings(settings)
        return settings.policy != old.policy

    def _hand_over(self, engine: Any) -> None:
        if self._stop.is_set() or engine is None:
            return
        with self._lock:
            self._engine = engine
            self._rule_set = engine.rule_set_id
        self._on_engine(engine)


def changed_sections(old: Settings, new: Settings) -> list[str]:
    """Names of the top-level settings sections that differ."""
    import dataclasses

    return [f.name for f in dataclasses.fields(Settings)
            if getattr(old, f.name) != getattr(new, f.name)]


__all__ = ["LiveReloader", "active_rule_set_id", "changed_sections", "config_snapshot"]
