"""The command line, end to end on real files: output formats and every bad-input path."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import pytest

from conftest import file_hash, make_till
from possuggest.cli.main import main

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_refresh_suggest_rules_json(tmp_path: Path, till: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = file_hash(till)
    g = ["--data-dir", str(tmp_path / "d"), "--till-db", str(till)]
    code, out, _ = run(capsys, "refresh", "-q", *g)
    assert code == 0 and "rule set 1 active" in out
    code, out, _ = run(capsys, "suggest", "DRILL-18V", "--json", *g)
    assert code == 0
    sugs = json.loads(out)
    assert sugs[0]["sku"] == "BITS" and sugs[0]["kind"] == "cross"
    assert set(sugs[0]) == {"kind", "sku", "name", "price", "reason", "score"}
    code, out, _ = run(capsys, "suggest", "MOW-STD", "-n", "5", "--json", *g)
    assert "upgrade" in {s["kind"] for s in json.loads(out)}
    code, out, _ = run(capsys, "rules", "--sku", "DRILL-18V", "--kind", "cross", "--json", *g)
    rules = json.loads(out)
    assert rules and all(set(r) == {"antecedent", "consequent", "kind", "count", "support",
                                    "confidence", "lift"} for r in rules)
    assert all("DRILL-18V" in r["antecedent"] or r["consequent"] == "DRILL-18V" for r in rules)
    code, out, _ = run(capsys, "rules", "--kind", "upgrade", "--json", *g)
    assert json.loads(out)[0]["lift"] is None
    assert file_hash(till) == before


def test_text_output_and_unknown_sku(tmp_path: Path, till: Path, capsys: pytest.CaptureFixture[str]) -> None:
    g = ["--data-dir", str(tmp_path / "d"), "--till-db", str(till)]
    code, out, err = run(capsys, "suggest", "drill-18v", *g)   # refreshes on first use
    assert code == 0                                            # SKUs match case-insensitively
    assert "1. [Accessory] Drill Bit Set (BITS) $19.00" in out
    code, out, err = run(capsys, "suggest", "DRILL-18V", "DRIL-18V", *g)
    assert code == 2 and out == ""
    assert err.strip() == ("possuggest: error: unknown SKU 'DRIL-18V'; did you mean "
                           "DRILL-18V (Cordless Drill 18V)?")
    for n in ("0", "-2"):
        code, out, err = run(capsys, "suggest", "DRILL-18V", "-n", n, *g)
        assert code == 2 and "-n must be at least 1" in err and out == ""


def test_rule_sets_and_rollback(tmp_path: Path, till: Path, capsys: pytest.CaptureFixture[str]) -> None:
    g = ["--data-dir", str(tmp_path / "d"), "--till-db", str(till)]
    assert run(capsys, "rollback", *g)[0] == 2             # nothing to roll back to
    run(capsys, "refresh", "-q", *g)
    run(capsys, "refresh", "-q", *g)
    code, out, _ = run(capsys, "rollback", *g)
    assert code == 0 and "rule set 1 is now active" in out
    code, out, _ = run(capsys, "rule-sets", "--json", *g)
    assert [(s["id"], s["active"]) for s in json.loads(out)] == [(2, False), (1, True)]


def _bad_tills(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not sqlite " * 500)
    other = tmp_path / "other.db"
    c = sqlite3.connect(other)
    c.execute("CREATE TABLE x (a)")
    c.commit()
    c.close()
    return {"missing": (tmp_path / "missing.db", "not found"),
            "junk": (junk, "not a usable SQLite database"),
            "schema": (other, "no such table")}


@pytest.mark.parametrize("case", ["missing", "junk", "schema"])
@pytest.mark.parametrize("command", [["refresh"], ["suggest", "A"]])
def test_bad_till_one_line_nonzero_nothing_written(tmp_path: Path, case: str, command: list[str],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    path, msg = _bad_tills(tmp_path)[case]
    before = file_hash(path) if path.exists() else None
    data = tmp_path / "d"
    code, out, err = run(capsys, *command, "--data-dir", str(data), "--till-db", str(path))
    assert code != 0
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and msg in lines[0] and lines[0].startswith("possuggest: error:")
    assert not data.exists()
    assert (file_hash(path) if path.exists() else None) == before


def test_locked_till(tmp_path: Path, till: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[till]\nbusy_timeout_ms = 50\n")
    writer = sqlite3.connect(till, isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    try:
        code, _, err = run(capsys, "refresh", "--data-dir", str(tmp_path / "d"),
                           "--till-db", str(till), "--config", str(cfg))
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert code != 0 and "locked by another program" in err
    assert not (tmp_path / "d").exists()


def test_missing_mapped_column(tmp_path: Path, till: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[till.mapping]\nproducts = "SELECT sku, name FROM products"\n')
    code, _, err = run(capsys, "refresh", "--data-dir", str(tmp_path / "d"),
                       "--till-db", str(till), "--config", str(cfg))
    assert code != 0
    assert "'products' lacks column(s): category, family, price, cost, stock, active" in err


def test_bad_config_names_key(tmp_path: Path, till: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[policy]\nmax_suggestions = -1\n")
    before = cfg.read_bytes()
    code, _, err = run(capsys, "suggest", "A", "--till-db", str(till), "--config", str(cfg),
                       "--data-dir", str(tmp_path / "d"))
    assert code == 2 and "policy.max_suggestions" in err and len(err.strip().splitlines()) == 1
    assert cfg.read_bytes() == before and not (tmp_path / "d").exists()


@pytest.mark.parametrize("wal", [False, True])
def test_till_bytes_identical_after_every_command(tmp_path: Path, wal: bool,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    till = make_till(tmp_path / "till.db", wal=wal, open_sale=["MOW-STD"])
    before = file_hash(till)
    g = ["--data-dir", str(tmp_path / "d"), "--till-db", str(till)]
    for argv in (["refresh", "-q"], ["suggest", "MOW-STD", "--json"], ["rules", "--json"],
                 ["rule-sets"], ["rollback"], ["evaluate", "-q", "--json"]):
        run(capsys, *argv, *g)
        assert file_hash(till) == before, argv


def test_help_for_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    for cmd in ("demo-db", "refresh", "suggest", "rules", "rule-sets", "rollback", "evaluate",
                "info", "gui", "serve"):
        with pytest.raises(SystemExit) as exc:
            main([cmd, "--help"])
        assert exc.value.code == 0
        assert "--data-dir" in capsys.readouterr().out


def test_gui_without_a_screen_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    if not sys.platform.startswith("linux"):
        pytest.skip("X11 only")
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    code, _, err = run(capsys, "gui", "--data-dir", str(tmp_path / "d"))
    assert code == 2 and "no screen found" in err
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr("ctypes.util.find_library", lambda name: None)
    code, _, err = run(capsys, "gui", "--data-dir", str(tmp_path / "d"))
    assert code == 2 and "apt install libxcb-cursor0 libxcb-icccm4" in err


def test_info_and_example_config(tmp_path: Path, till: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from possuggest.core.config import Settings, example_config_text, settings_from_dict

    g = ["--data-dir", str(tmp_path / "d"), "--till-db", str(till)]
    code, out, _ = run(capsys, "info", *g)
    assert code == 0 and "till status:     readable" in out and "none yet" in out
    run(capsys, "refresh", "-q", *g)
    assert "active rule set: 1, made" in run(capsys, "info", *g)[1]
    code, out, _ = run(capsys, "info", "--example-config", *g)
    assert settings_from_dict(tomllib.loads(out)) == Settings()
    shipped = Path(__file__).parents[1] / "resources" / "config.example.toml"
    assert shipped.read_text(encoding="utf-8") == example_config_text()


def test_info_on_a_fresh_install(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "etc" / "config.toml"
    site.parent.mkdir()
    site.write_text("[policy]\nmax_suggestions = 2\n")
    monkeypatch.setenv("POSSUGGEST_SITE_CONFIG", str(site))
    code, out, err = run(capsys, "info", "--data-dir", str(tmp_path / "d"))
    assert code == 0 and err == ""
    assert "the demo store is created on first use" in out and "not found" not in out
    lines = out.splitlines()
    assert lines.index(f"config file 1:   {site}") < lines.index(
        f"config file 2:   {tmp_path / 'd' / 'config.toml'} (absent)")
    assert not (tmp_path / "d").exists()               # info writes nothing


def test_info_names_unknown_skus_in_the_policy(tmp_path: Path, till: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "d"
    data.mkdir()
    (data / "config.toml").write_text(
        "[policy]\nblocked = [['*', 'NOPE']]\nexcluded_categories = ['Pets']\n")
    code, out, _ = run(capsys, "info", "--data-dir", str(data), "--till-db", str(till))
    assert code == 0
    assert "warning:         unknown SKU 'NOPE' in policy.blocked[0]" in out
    assert "warning:         unknown category 'Pets' in policy.excluded_categories" in out


def test_rollback_pins_until_released(tmp_path: Path, till: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    g = ["--data-dir", str(tmp_path / "d"), "--till-db", str(till)]
    run(capsys, "refresh", "-q", *g)
    run(capsys, "refresh", "-q", *g)
    code, out, _ = run(capsys, "rollback", "1", *g)
    assert code == 0 and "pinned" in out
    code, out, _ = run(capsys, "refresh", "-q", *g)             # the nightly refresh
    assert code == 0 and "rule set 3 saved but not active: rule set 1 is pinned" in out
    sets = json.loads(run(capsys, "rule-sets", "--json", *g)[1])
    assert [(s["id"], s["active"], s["pinned"]) for s in sets] == [
        (3, False, False), (2, False, False), (1, True, True)]
    code, out, _ = run(capsys, "rollback", "--release", *g)
    assert code == 0 and "rule set 3 (the newest) is now active" in out
    code, out, _ = run(capsys, "refresh", "-q", *g)
    assert "rule set 4 active" in out


def test_demo_never_runs_in_a_folder_that_served_a_till(tmp_path: Path, till: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "d"
    assert run(capsys, "refresh", "-q", "--data-dir", str(data), "--till-db", str(till))[0] == 0
    code, out, err = run(capsys, "suggest", "MOW-STD", "--data-dir", str(data))   # no till now
    assert code == 2 and "belongs to the till" in err and str(till) in err
    assert not (data / "demo-till.db").exists()
