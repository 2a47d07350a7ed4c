"""`possuggest evaluate`: formats, JSON shape, messy input reported, engine vs baselines."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import make_till
from possuggest.cli.main import main

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _baskets_file(path: Path, n: int = 600) -> Path:
    lines = []
    for i in range(n):
        k = i % 6
        lines.append({0: "bread,butter,jam", 1: "bread,butter", 2: "beer,crisps",
                      3: "beer,crisps,salsa", 4: "milk", 5: "milk,bread"}[k])
    path.write_text("\n".join(lines) + "\n")
    return path


def test_evaluate_baskets_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = _baskets_file(tmp_path / "b.csv")
    code = main(["evaluate", str(f), "--format", "baskets", "--json", "-q",
                 "--data-dir", str(tmp_path / "d")])
    out = capsys.readouterr().out
    assert code == 0
    data = json.loads(out)
    assert data["cases"] > 50
    assert set(data["methods"]) == {"engine", "popularity", "mlxtend_rules", "item_knn"}
    for m in data["methods"].values():
        assert set(m) == {"hr@1", "hr@3", "hr@5", "mrr@10", "coverage"}
    assert data["methods"]["engine"]["hr@3"] >= data["methods"]["popularity"]["hr@3"]


def test_evaluate_long_messy_reports_skips(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = ["Date,Time,Transaction,Item"]
    for t in range(400):
        day = f"2017-0{1 + t % 3}-1{t % 10}"
        items = ["Coffee", "Bread"] if t % 2 else ["Tea", "Cake", "NONE", "Cake"]
        rows += [f"{day},1{t % 10}:00:00,{t},{it}" for it in items]
    f = tmp_path / "long.csv"
    f.write_bytes(("\r\n".join(rows) + "\r\n").replace("Tea", "T\x00ea", 1).encode())
    code = main(["evaluate", str(f), "--format", "long", "--ticket-col", "Transaction",
                 "--item-col", "Item", "--time-col", "Date,Time", "-q",
                 "--data-dir", str(tmp_path / "d")])
    out, err = capsys.readouterr()
    assert code == 0
    assert "placeholder_item=" in err and "NUL" in err
    assert re.search(r"engine\s+\d\.\d{4}", out)


def test_evaluate_till_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    till = make_till(tmp_path / "till.db")
    code = main(["evaluate", "--json", "-q", "--till-db", str(till),
                 "--data-dir", str(tmp_path / "d")])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["cases"] > 0


def test_evaluate_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["evaluate", str(tmp_path / "nope.csv"), "--data-dir", str(tmp_path / "d")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and err[0].startswith("possuggest: error:")
    f = tmp_path / "x.csv"
    f.write_text("a,b\n1,2\n")
    code = main(["evaluate", str(f), "--format", "long", "--ticket-col", "Transaction",
                 "--item-col", "Item", "--data-dir", str(tmp_path / "d")])
    assert code != 0 and "Transaction" in capsys.readouterr().err


def test_readme_config_examples_are_valid() -> None:
    from possuggest.core.config import settings_from_dict

    text = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", text, re.S)
    assert blocks
    for block in blocks:
        settings_from_dict(tomllib.loads(block))


@pytest.mark.shared_data
@pytest.mark.parametrize("name, args", [
    pytest.param("groceries.csv", ["--format", "baskets"], marks=pytest.mark.slow),
    ("BreadBasket_DMS.csv", ["--format", "long", "--ticket-col", "Transaction",
                             "--item-col", "Item", "--time-col", "Date,Time"]),
])
def test_engine_beats_every_baseline_on_public_data(tmp_path: Path, name: str, args: list[str],
                                                    capsys: pytest.CaptureFixture[str],
                                                    shared_data: Callable[[str], Path]) -> None:
    path = shared_data(name)
    assert main(["evaluate", str(path), *args, "--json", "-q",
                 "--data-dir", str(tmp_path / "d")]) == 0
    methods = json.loads(capsys.readouterr().out)["methods"]
    best = max(v["hr@3"] for k, v in methods.items() if k != "engine")
    assert methods["engine"]["hr@3"] > best
