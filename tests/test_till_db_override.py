"""`--till-db FILE` reads that file even when the config points at a server till."""

from __future__ import annotations

from pathlib import Path

from conftest import make_till
from possuggest.services import app
from possuggest.services.context import AppContext


def test_till_db_option_wins_over_a_configured_server(tmp_path: Path) -> None:
    till = make_till(tmp_path / "till.db")
    config = tmp_path / "config.toml"
    config.write_text('[till]\nurl = "postgresql+psycopg://reader@db.invalid/shop"\n',
                      encoding="utf-8")
    ctx = AppContext.create(str(tmp_path / "data"), str(config), str(till))
    plan = app.make_plan(ctx)
    assert not plan.demo
    assert plan.till_path == till and plan.till_settings.url == ""
    app.check_till(plan)            # reads the file (a server read would fail: db.invalid)
    # without the option the server is what the plan names
    plain = app.make_plan(AppContext.create(str(tmp_path / "data2"), str(config)))
    assert plain.till_settings.url.startswith("postgresql+psycopg://")
