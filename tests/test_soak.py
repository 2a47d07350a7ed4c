"""The 2-minute soak CI runs (the hour-long one is ``python benchmarks/bench_soak.py``): the
real panel on the demo store with its till simulator at about ten times a till's pace and the
basket API under steady load from another process; memory flat, no errors, every event saved."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


@pytest.mark.slow
def test_two_minute_soak(qapp, tmp_path: Path) -> None:
    from bench_soak import run_soak

    res = run_soak(120.0, rate=20.0, sample_s=5.0, folder=tmp_path)
    assert res["events_put"] > 0 and res["till_lines_rung"] > 0
    assert res["bars"] == {"memory within ±10%": True, "API: every answer 200": True,
                           "no errors": True, "every event saved": True}, res
