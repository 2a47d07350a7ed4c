"""``possuggest --self-test`` from a pip install: every step passes in a temporary folder that
is removed afterwards, the store's own data and config are never read or touched, a failing
step names itself and exits 1 keeping its folder; ``--debug`` adds the traceback to an error;
a data folder's first start logs where everything lives."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from possuggest.cli import selftest
from possuggest.cli.main import main
from possuggest.services import app
from possuggest.services.context import AppContext


@pytest.fixture
def own_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The self-test's temporary folders go here, so the test can see what is left."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.mark.slow
def test_self_test_passes_and_leaves_the_store_alone(
        qapp: object, own_tmp: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # a store's machine-wide config points at its till, and its data folder is set: the
    # self-test must use neither
    site = tmp_path / "site.toml"
    site.write_text(f'[till]\npath = "{tmp_path / "the-stores-till.db"}"\n', encoding="utf-8")
    monkeypatch.setenv("POSSUGGEST_SITE_CONFIG", str(site))
    monkeypatch.setenv("POSSUGGEST_DATA_DIR", str(tmp_path / "store-data"))

    assert main(["--self-test"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("possuggest ") and "self-test" in out[0]
    steps = [line.split()[1:3] for line in out[1:-1]]
    assert [" ".join(s) for s in steps] == ["libraries numpy", "demo store", "refresh rule",
                                            "suggestions MOW-STD", "basket API", "panel Qt"]
    assert all(line.startswith("  ok  ") for line in out[1:-1])
    assert "MOW-STD -> " in out[4] and "1 accepted" in out[5] and "panel loaded rule set" in out[6]
    assert out[-1].startswith("self-test passed in ")
    assert list(own_tmp.iterdir()) == []                # its folder is removed
    assert not (tmp_path / "store-data").exists()
    assert not (tmp_path / "the-stores-till.db").exists()


def test_a_failing_step_names_itself_and_keeps_its_folder(
        own_tmp: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    def broken_refresh(ctx: AppContext, verbose: bool) -> str:
        app.start_logging(ctx, verbose)
        raise RuntimeError("the miner\nfell over")

    steps = dict(selftest.STEPS)
    monkeypatch.setattr(selftest, "STEPS", (("libraries", steps["libraries"]),
                                            ("refresh", broken_refresh),
                                            ("panel", steps["panel"])))
    assert main(["--self-test"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith("  ok  libraries")
    assert out[2] == "  FAILED refresh: RuntimeError: the miner fell over"
    assert out[3].startswith("self-test FAILED at 'refresh' after ")
    assert len(out) == 4                                # the panel step never ran
    kept = list(own_tmp.iterdir())
    assert len(kept) == 1 and str(kept[0]) in out[3]
    assert "the miner" in (kept[0] / "logs" / "possuggest.log").read_text(encoding="utf-8")


def test_a_wrong_card_fails_the_check() -> None:
    with pytest.raises(selftest.SelfTestError, match="no suggestions"):
        selftest._check_cards([], ["MOW-STD"])
    with pytest.raises(selftest.SelfTestError, match="wrong card"):
        selftest._check_cards([{"sku": "MOW-STD", "reason": "itself"}], ["MOW-STD"])
    with pytest.raises(selftest.SelfTestError, match="include none"):
        selftest._check_cards([{"sku": "PNT-EMUL-STD", "reason": "paint?"}], ["MOW-STD"])
    assert selftest._check_cards([{"sku": "MOW-DLX", "reason": "bigger"}],
                                 ["MOW-STD"]) == ["MOW-DLX"]


def test_debug_prints_the_traceback_of_an_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[policy]\nmax_suggestions = 'many'\n", encoding="utf-8")
    assert main(["--config", str(bad), "--data-dir", str(tmp_path), "rule-sets"]) == 2
    plain = capsys.readouterr().err
    assert plain.count("\n") == 1 and "max_suggestions" in plain
    # --debug after the command too
    assert main(["--config", str(bad), "--data-dir", str(tmp_path), "rule-sets", "--debug"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(plain) and "Traceback (most recent call last)" in err


def test_the_first_start_logs_where_everything_lives(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    extra = tmp_path / "extra.toml"
    extra.write_text("[policy]\nmax_suggestions = 2\n", encoding="utf-8")
    assert main(["--data-dir", str(data), "--config", str(extra), "rule-sets"]) == 0
    capsys.readouterr()
    log = (data / "logs" / "possuggest.log").read_text(encoding="utf-8").splitlines()
    lines = [line.split("] ", 1)[1] for line in log if "possuggest.core.logsetup" in line]
    assert lines[0].startswith("first start with this data folder: possuggest ")
    assert lines[1:] == [
        f"data folder: {data}",
        f"config file 1 (machine-wide): {AppContext.create(str(data)).paths.site_config_file}"
        " (absent)",
        f"config file 2 (user): {data / 'config.toml'} (absent)",
        f"config file 3 (--config): {extra}",
        f"log file: {data / 'logs' / 'possuggest.log'} (rotates at 2 MB, keeps 5)",
        f"state file: {data / 'state.json'}",
        f"rule database: {data / 'possuggest.db'}",
        f"backups: {data / 'backups'} (taken before database upgrades)",
    ]
    # later starts do not repeat it
    main(["--data-dir", str(data), "rule-sets"])
    again = (data / "logs" / "possuggest.log").read_text(encoding="utf-8")
    assert again.count("] data folder: ") == 1
