"""services/refresh.py and store/refresh_runs.py: one refresh at a time across processes, each
recorded with who started it and how it ended; rule sets made active again; the nightly
schedule's clock."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from possuggest.cli.main import main
from possuggest.core.errors import Cancelled, TillError
from possuggest.services.app import make_plan
from possuggest.services.context import AppContext
from possuggest.services.refresh import (
    NightlySchedule,
    RefreshBusy,
    RefreshLock,
    make_active,
    refresh_busy,
    refresh_history,
    release_pin,
    rule_sets,
    run_recorded_refresh,
)
from possuggest.store import refresh_runs as runs
from possuggest.store.rule_store import RuleStore


@pytest.fixture
def ctx(tmp_path: Path, till: Path) -> AppContext:
    return AppContext.create(data_dir=str(tmp_path / "data"), till_db=str(till))


def test_runs_are_recorded_with_who_and_what(ctx: AppContext) -> None:
    plan = make_plan(ctx)
    lock_dir = ctx.paths.lock_dir
    first = run_recorded_refresh(plan, lock_dir, "manager")
    run_recorded_refresh(plan, lock_dir, "nightly")
    history = refresh_history(plan, lock_dir)
    assert [(r.started_by, r.outcome) for r in history] == [("nightly", "ok"), ("manager", "ok")]
    last = history[1]
    assert last.rule_set_id == first.summary.rule_set_id
    assert last.n_baskets == first.n_baskets > 0
    assert last.n_rules == first.n_cross + first.n_upgrade > 0
    assert last.seconds is not None and last.seconds > 0 and last.finished_at
    assert "tuning" in last.params and "window_days" in last.params
    datetime.fromisoformat(last.started_at)


def test_a_failed_and_a_cancelled_run_are_recorded(ctx: AppContext, tmp_path: Path) -> None:
    plan = make_plan(ctx)
    with pytest.raises(Cancelled):
        run_recorded_refresh(plan, ctx.paths.lock_dir, "manager", cancelled=lambda: True)
    gone = make_plan(AppContext.create(data_dir=str(tmp_path / "data"),
                                       till_db=str(tmp_path / "missing.db")))
    with pytest.raises(TillError) as err:
        run_recorded_refresh(gone, ctx.paths.lock_dir, "nightly")
    history = refresh_history(plan, ctx.paths.lock_dir)
    assert [(r.started_by, r.outcome) for r in history] == [("nightly", "failed"),
                                                             ("manager", "cancelled")]
    assert history[0].message == str(err.value) and history[0].rule_set_id is None
    assert not RefreshLock(ctx.paths.lock_dir, plan.rules_db).held     # released each time
    assert refresh_busy(plan, ctx.paths.lock_dir) is None


def test_a_second_refresh_is_refused_while_one_runs(ctx: AppContext) -> None:
    plan = make_plan(ctx)
    held = RefreshLock(ctx.paths.lock_dir, plan.rules_db)
    held.acquire("manager")
    try:
        busy = refresh_busy(plan, ctx.paths.lock_dir)
        assert busy is not None and "started by the manager at" in busy
        with pytest.raises(RefreshBusy, match="already running .started by the manager"):
            run_recorded_refresh(plan, ctx.paths.lock_dir, "nightly")
    finally:
        held.release()
    assert refresh_history(plan, ctx.paths.lock_dir) == []      # the refused one is no run


def test_the_cli_refuses_a_second_refresh_and_records_its_own(
        ctx: AppContext, tmp_path: Path, till: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Another process holds the refresh lock: ``possuggest refresh`` says so and exits 2."""
    plan = make_plan(ctx)
    g = ["--data-dir", str(tmp_path / "data"), "--till-db", str(till)]
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys
            from pathlib import Path
            from possuggest.services.refresh import RefreshLock
            lock = RefreshLock(Path({str(ctx.paths.lock_dir)!r}), Path({str(plan.rules_db)!r}))
            lock.acquire("nightly")
            print("held", flush=True)
            sys.stdin.readline()
        """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        code = main(["refresh", "-q", *g])
        err = capsys.readouterr().err
        assert code == 2
        assert "A refresh is already running (started by the nightly schedule at" in err
        assert err.count("\n") == 1
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(10)
    assert main(["refresh", "-q", *g]) == 0
    assert main(["refresh", "-q", "--started-by", "nightly", *g]) == 0
    history = refresh_history(plan, ctx.paths.lock_dir)
    assert [(r.started_by, r.outcome) for r in history] == [("nightly", "ok"), ("cli", "ok")]


def test_a_run_left_running_by_a_dead_process_shows_as_interrupted(ctx: AppContext) -> None:
    plan = make_plan(ctx)
    with RuleStore(plan.rules_db) as store:
        runs.start_run(store, "cli")
    assert [r.outcome for r in refresh_history(plan, ctx.paths.lock_dir)] == ["interrupted"]
    held = RefreshLock(ctx.paths.lock_dir, plan.rules_db)
    held.acquire("cli")                 # while a refresh holds the lock it may be running
    try:
        assert [r.outcome for r in refresh_history(plan, ctx.paths.lock_dir)] == ["running"]
    finally:
        held.release()
    run_recorded_refresh(plan, ctx.paths.lock_dir, "manager")    # closes it for good
    with RuleStore(plan.rules_db) as store:
        assert [r.outcome for r in runs.list_runs(store)] == ["ok", "interrupted"]


def test_make_active_pins_and_release_unpins(ctx: AppContext) -> None:
    plan = make_plan(ctx)
    a = run_recorded_refresh(plan, ctx.paths.lock_dir, "cli").summary.rule_set_id
    b = run_recorded_refresh(plan, ctx.paths.lock_dir, "cli").summary.rule_set_id
    make_active(plan, a)
    sets, pinned = rule_sets(plan)
    assert pinned == a and [s.id for s in sets if s.active] == [a]
    c = run_recorded_refresh(plan, ctx.paths.lock_dir, "nightly")     # pinned: stays
    assert c.pinned == a
    assert "pinned by a rollback" in refresh_history(plan, ctx.paths.lock_dir)[0].message
    assert release_pin(plan) == c.summary.rule_set_id != b
    sets, pinned = rule_sets(plan)
    assert pinned is None and [s.id for s in sets if s.active] == [c.summary.rule_set_id]


def test_the_history_table_survives_an_old_database(tmp_path: Path) -> None:
    """A database from before the table opens and gains it (nothing else changes)."""
    import sqlite3

    from possuggest.store.rule_store import _DDL

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(_DDL.split("CREATE TABLE IF NOT EXISTS refresh_runs")[0])
    conn.close()
    with RuleStore(path) as store:
        assert runs.list_runs(store) == []
        rid = runs.start_run(store, "cli")
        runs.finish_run(store, rid, "failed", 1.5, message="till\n gone")
        (run,) = runs.list_runs(store)
    assert (run.outcome, run.message, run.seconds, run.n_rules) == ("failed", "till gone", 1.5,
                                                                     None)
    with pytest.raises(ValueError):
        with RuleStore(path) as store:
            runs.start_run(store, "somebody")


class Clock:
    def __init__(self, start: datetime) -> None:
        self.t = start

    def __call__(self) -> datetime:
        return self.t


def test_nightly_schedule_fires_once_when_the_time_passes() -> None:
    clock = Clock(datetime(2026, 3, 2, 1, 59, 0))
    sched = NightlySchedule(now=clock)
    assert not sched.due("02:00")                   # the first check only notes the time
    clock.t += timedelta(seconds=30)
    assert not sched.due("02:00")
    clock.t += timedelta(seconds=30)                # 02:00:00
    assert sched.due("02:00")
    clock.t += timedelta(seconds=30)
    assert not sched.due("02:00")                   # once
    assert sched.next_run("02:00") == datetime(2026, 3, 3, 2, 0)
    clock.t = datetime(2026, 3, 3, 2, 0, 20)        # the next night
    assert sched.due("02:00")
    assert not sched.due("")                        # off


def test_nightly_schedule_across_midnight_and_after_sleep() -> None:
    clock = Clock(datetime(2026, 3, 2, 23, 59, 50))
    sched = NightlySchedule(now=clock)
    sched.due("00:00")
    clock.t += timedelta(seconds=20)
    assert sched.due("00:00")
    # asleep from 01:00 until 09:00 the next day: the missed 02:00 is not made up
    clock.t = datetime(2026, 3, 3, 1, 0)
    sched.due("02:00")
    clock.t = datetime(2026, 3, 3, 9, 0)
    assert not sched.due("02:00")
    # a panel opened after the time does not refresh at start-up
    late = NightlySchedule(now=Clock(datetime(2026, 3, 3, 2, 10)))
    assert not late.due("02:00")
    assert not late.due("bad")
    assert late.next_run("") is None


def test_bad_nightly_time_in_config_is_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[refresh]\nnightly_at = "25:61"\n', encoding="utf-8")
    from possuggest.core.config import load_settings
    from possuggest.core.errors import ConfigError

    with pytest.raises(ConfigError, match="refresh.nightly_at.*not a time of day"):
        load_settings(cfg)
    cfg.write_text('[refresh]\nnightly_at = "02:30"\n', encoding="utf-8")
    assert load_settings(cfg).refresh.nightly_at == "02:30"
    assert json.dumps(load_settings(cfg).refresh.nightly_at) == '"02:30"'
