"""The history of refreshes in possuggest's database (table ``refresh_runs``): when each ran,
how long it took, how many sales it read and rules it made, the parameters it chose, who
started it (the manager, the nightly schedule, the command line) and how it ended.

A run is recorded when it starts (outcome ``running``) and completed when it ends, so a run
whose process died shows up too: the reader marks it ``interrupted`` once no refresh holds
the refresh lock (services/refresh.py).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from possuggest.store.rule_store import RuleStore, _rollback

log = logging.getLogger(__name__)

STARTERS = ("manager", "nightly", "cli")
OUTCOMES = ("running", "ok", "failed", "cancelled", "interrupted")
_COLUMNS = ("id, started_at, finished_at, seconds, started_by, outcome, rule_set_id, "
            "n_baskets, n_cross, n_upgrade, params, message")


@dataclass(frozen=True)
class RefreshRun:
    id: int
    started_at: str                     # local ISO time
    started_by: str                     # one of STARTERS
    outcome: str                        # one of OUTCOMES
    finished_at: str | None = None
    seconds: float | None = None
    rule_set_id: int | None = None
    n_baskets: int | None = None        # sales read
    n_cross: int | None = None
    n_upgrade: int | None = None
    params: dict[str, Any] = field(default_factory=dict)   # as kept with the rule set
    message: str = ""                   # why it failed, or that a rollback's pin kept another

    @property
    def n_rules(self) -> int | None:
        if self.n_cross is None and self.n_upgrade is None:
            return None
        return (self.n_cross or 0) + (self.n_upgrade or 0)


def _now() -> str:
    return datetime.now().isoformat(timespec="seconds")


def start_run(store: RuleStore, started_by: str, started_at: str | None = None) -> int:
    """Record a refresh that starts now; returns its id."""
    if started_by not in STARTERS:
        raise ValueError(f"unknown starter {started_by!r}")
    with store._sql("the refresh was not recorded"):
        cur = store.conn.execute(
            "INSERT INTO refresh_runs (started_at, started_by, outcome) VALUES (?, ?, 'running')",
            (started_at or _now(), started_by))
    return int(cur.lastrowid or 0)


def finish_run(store: RuleStore, run_id: int, outcome: str, seconds: float, *,
               rule_set_id: int | None = None, n_baskets: int | None = None,
               n_cross: int | None = None, n_upgrade: int | None = None,
               params: dict[str, Any] | None = None, message: str = "") -> None:
    """Complete a run's record with how it ended."""
    if outcome not in OUTCOMES or outcome == "running":
        raise ValueError(f"unknown outcome {outcome!r}")
    with store._sql("the refresh's end was not recorded"):
        store.conn.execute(
            "UPDATE refresh_runs SET finished_at = ?, seconds = ?, outcome = ?, rule_set_id = ?,"
            " n_baskets = ?, n_cross = ?, n_upgrade = ?, params = ?, message = ? WHERE id = ?",
            (_now(), float(seconds), outcome, rule_set_id, n_baskets, n_cross, n_upgrade,
             json.dumps(params or {}, sort_keys=True), " ".join(message.split()), run_id))


def close_interrupted(store: RuleStore) -> int:
    """Mark runs still ``running`` as ``interrupted`` (call only while holding the refresh
    lock, or when no refresh can be running); returns how many."""
    c = store.conn
    with store._sql("interrupted refreshes were not marked"):
        c.execute("BEGIN IMMEDIATE")
        try:
            n = c.execute("UPDATE refresh_runs SET outcome = 'interrupted', message = "
                          "'the process stopped before the refresh ended' "
                          "WHERE outcome = 'running'").rowcount
            c.execute("COMMIT")
        except BaseException:
            _rollback(c)
            raise
    return int(n)


def _run(row: tuple[Any, ...]) -> RefreshRun:
    (rid, started, finished, secs, by, outcome, rs, nb, nc, nu, params, message) = row
    try:
        loaded = json.loads(params) if params else {}
    except ValueError:
        loaded = {}
    return RefreshRun(id=int(rid), started_at=str(started), started_by=str(by),
                      outcome=str(outcome), finished_at=finished,
                      seconds=None if secs is None else float(secs),
                      rule_set_id=None if rs is None else int(rs),
                      n_baskets=None if nb is None else int(nb),
                      n_cross=None if nc is None else int(nc),
                      n_upgrade=None if nu is None else int(nu),
                      params=loaded if isinstance(loaded, dict) else {},
                      message=str(message or ""))


def list_runs(store: RuleStore, limit: int = 100) -> list[RefreshRun]:
    """The latest runs, newest first."""
    with store._sql():
        rows = store.conn.execute(f"SELECT {_COLUMNS} FROM refresh_runs ORDER BY id DESC "
                                  "LIMIT ?", (int(limit),)).fetchall()
    return [_run(r) for r in rows]


__all__ = ["OUTCOMES", "RefreshRun", "STARTERS", "close_interrupted", "finish_run", "list_runs",
           "start_run"]
