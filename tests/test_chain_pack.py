"""Rule packs without Spark: the format's round trip and checks (a bad pack loads nothing),
the blend of a store's thin evidence with the chain's, ``rules import`` and rollback, and the
``chain mine`` command's bad-input paths (all refused before Spark starts)."""

from __future__ import annotations

import json
import math
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import PRODUCTS, make_till, pattern_baskets
from possuggest.chain.importer import BlendSettings, blend, import_pack
from possuggest.cli.main import main
from possuggest.core.config import MiningSettings
from possuggest.core.products import Product
from possuggest.core.transactions import Transactions
from possuggest.mining.miner import mine_rules
from possuggest.store.rule_pack import PackError, read_pack, verify_pack, write_pack
from possuggest.store.rule_store import RuleStore

CATALOGUE = {p[0]: Product.from_row(*p) for p in PRODUCTS}
MINING = MiningSettings(tune=False, ease_lambda=0.0, context=False)


def _scope(res, scope: str):
    return res.rules.assign(scope=scope), res.item_counts.assign(scope=scope)


def make_pack(path: Path, store_baskets: list[list[str]], chain_baskets: list[list[str]],
              **manifest) -> Path:
    """A pack as the chain miner writes it: the store's rules and the chain's, mined with the
    single-machine miner (the Spark miner's equal, see tests/test_chain.py)."""
    own = mine_rules(Transactions.from_baskets(store_baskets), MINING, CATALOGUE)
    chain = mine_rules(Transactions.from_baskets(chain_baskets), MINING, CATALOGUE)
    chain_rules = chain.rules[chain.rules["antecedent"].map(len) == 1]
    chain_rules = chain_rules[chain_rules["kind"] == "cross"]
    rules = pd.concat([own.rules.assign(scope="store"), chain_rules.assign(scope="chain")],
                      ignore_index=True)
    items = pd.concat([own.item_counts.assign(scope="store"),
                       chain.item_counts.assign(scope="chain")], ignore_index=True)
    man = {"store": "north-1", "region": None,
           "scopes": {"store": {"n_baskets": len(store_baskets), "n_items": own.item_counts.shape[0],
                                "params": {"min_count": 2}, "notes": []},
                      "chain": {"n_baskets": len(chain_baskets)}}, **manifest}
    write_pack(path, man, rules, items, None, CATALOGUE.values())
    return path


def thin_store() -> list[list[str]]:
    """Plenty of gloves and tape; the drill barely sold (new to this store)."""
    return [["GLOVES", "TAPE"]] * 60 + [["TAPE"]] * 30 + [["DRILL-18V"]] * 2 + \
        [["DRILL-18V", "GLOVES"]] * 2


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    return make_pack(tmp_path / "north-1.pack", thin_store(), pattern_baskets(2000))


@pytest.mark.parametrize("writer", ["arrow", "pandas"])
def test_round_trip_keeps_every_value(tmp_path: Path, writer: str,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from possuggest.store import rule_pack

    if writer == "arrow":
        pytest.importorskip("pyarrow")
    else:          # a head office without pyarrow writes with pandas
        monkeypatch.setattr(rule_pack, "_arrow_csv", lambda: False)
    rules = pd.DataFrame({
        "scope": ["store", "store", "chain"], "kind": ["cross", "upgrade", "cross"],
        "antecedent": [("NA", "1e5"), ("MOW-STD",), ("",)], "consequent": ["null", "MOW-DLX", "x"],
        "count": [3, 7, 2], "support": [0.1, 1 / 3, 2e-300], "confidence": [1.0, 0.25, 0.5],
        "lift": [math.pi, np.nan, 1.0], "leverage": [0.01, np.nan, -1e-9],
        "conviction": [math.inf, np.nan, 2.0], "antecedent_count": [3, 9, 4],
        "consequent_count": [5, 7, 2], "weight": [np.nan, np.nan, 0.123456789012345678]})
    items = pd.DataFrame({"scope": ["store", "chain"], "sku": ["NA", "x"], "count": [3.5, 2.0],
                          "support": [0.1, 0.2]})
    ctx = pd.DataFrame({"scope": ["store"], "bucket": [3], "sku": ["*"], "count": [4.25]})
    prods = [Product("NA", "Null Bar", "", "", 1.5, None, None, True),
             Product("1e5", "Thing", "Cat", "fam", 2.0, 1.0, 7, False)]
    checksum = write_pack(tmp_path / "a.pack", {"store": "s1", "region": "r"}, rules, items, ctx,
                          prods)
    p = read_pack(tmp_path / "a.pack")
    assert p.checksum == checksum and p.store == "s1" and p.region == "r"
    assert p.manifest["format"] == "possuggest-rule-pack" and p.manifest["version"] == 1
    assert list(p.rules["antecedent"]) == [("NA", "1e5"), ("MOW-STD",), ("",)]
    assert list(p.rules["consequent"]) == ["null", "MOW-DLX", "x"]
    for col in ("support", "confidence", "lift", "leverage", "conviction", "weight"):
        np.testing.assert_array_equal(p.rules[col].to_numpy(float), rules[col].to_numpy(float))
    assert list(p.item_counts["sku"]) == ["NA", "x"] and p.context_counts["count"][0] == 4.25
    assert p.products == {q.sku: q for q in prods}
    assert verify_pack(tmp_path / "a.pack")[1] == checksum


def _rewrite(src: Path, dst: Path, change) -> Path:
    """Copy a pack member by member, ``change(name, bytes) -> bytes``."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, change(info.filename, zin.read(info.filename)))
    return dst


def _sets(db: Path) -> int:
    if not db.exists():
        return 0
    with RuleStore(db) as s:
        return len(s.rule_sets())


@pytest.mark.parametrize("damage, message", [
    ("rule", "checksum mismatch"),
    ("checksum", "checksum mismatch"),
    ("newer", "made by a newer possuggest (pack format version 2"),
    ("format", "is not a possuggest rule pack"),
    ("truncated", "not a rule pack (not a zip file"),
    ("text", "not a rule pack (not a zip file"),
    ("member", "not a complete rule pack (products.csv is missing)"),
    ("missing", "no rule pack at"),
])
def test_bad_pack_is_refused_and_nothing_written(pack: Path, tmp_path: Path, damage: str,
                                                 message: str) -> None:
    db = tmp_path / "possuggest.db"
    import_pack(pack, db)                     # a first, good set
    bad = tmp_path / "bad.pack"
    if damage == "rule":
        _rewrite(pack, bad, lambda n, b: b.replace(b"GLOVES", b"GL0VES", 1)
                 if n == "rules.csv" else b)
    elif damage == "checksum":
        _rewrite(pack, bad, lambda n, b: b"0" * 64 + b"\n" if n == "SHA256" else b)
    elif damage in ("newer", "format"):
        def bump(n: str, b: bytes) -> bytes:
            if n != "manifest.json":
                return b
            m = json.loads(b)
            m.update({"version": 2} if damage == "newer" else {"format": "something-else"})
            return json.dumps(m).encode()
        _rewrite(pack, bad, bump)
    elif damage == "truncated":
        bad.write_bytes(pack.read_bytes()[:len(pack.read_bytes()) // 2])
    elif damage == "text":
        bad.write_text("store,sku\n1,2\n")
    elif damage == "member":
        with zipfile.ZipFile(pack) as zin, zipfile.ZipFile(bad, "w") as zout:
            for info in zin.infolist():
                if info.filename != "products.csv":
                    zout.writestr(info.filename, zin.read(info.filename))
    before = _sets(db)
    with pytest.raises(PackError) as err:
        import_pack(bad if damage != "missing" else tmp_path / "nope.pack", db)
    assert message in str(err.value) and "\n" not in str(err.value)
    assert _sets(db) == before
    # a truncated zip may still open (its directory is at the end): then the checksum says so
    with pytest.raises(PackError):
        verify_pack(bad if damage != "missing" else tmp_path / "nope.pack")


def test_blend_fills_thin_products_from_the_chain(pack: Path) -> None:
    p = read_pack(pack)
    own, own_items, _ = p.scope("store")
    chain, chain_items, _ = p.scope("chain")
    bs = BlendSettings(min_count=10, strength=20.0, popularity_strength=0.0)
    rules, items, stats = blend(p, bs)
    key = lambda df: {(a, c): r for a, c, r in zip(df["antecedent"], df["consequent"],  # noqa: E731
                                                   df.to_dict("records"))}
    got, mine, theirs = key(rules), key(own), key(chain)
    # gloves and tape sold 60+ times here: their rules are the store's own, untouched
    untouched = [k for k in mine if k[0][0] in ("GLOVES", "TAPE")]
    assert untouched
    for k in untouched:
        assert got[k].keys() == mine[k].keys()
        assert all(got[k][c] == mine[k][c] or (isinstance(mine[k][c], float)
                                               and math.isnan(mine[k][c]) and math.isnan(got[k][c]))
                   for c in mine[k])
    # the drill sold 4 times: DRILL-18V → BITS never happened here, the chain says 0.75
    n_drill = float(own_items.set_index("sku")["count"]["DRILL-18V"])
    assert n_drill == 4
    r = got[(("DRILL-18V",), "BITS")]
    prior = theirs[(("DRILL-18V",), "BITS")]["confidence"]
    assert prior > 0.5
    assert r["confidence"] == pytest.approx(20 * prior / (4 + 20))
    assert r["count"] == pytest.approx(20 * prior) and math.isnan(r["weight"])
    # DRILL-18V → GLOVES happened twice here, the chain never saw it: 2 / (4 + 20)
    assert mine[(("DRILL-18V",), "GLOVES")]["confidence"] == 0.5
    assert got[(("DRILL-18V",), "GLOVES")]["confidence"] == pytest.approx(2 / 24)
    assert stats["thin"] >= 1 and stats["borrowed"] >= 2
    # the popularity is the store's own with popularity_strength 0
    pd.testing.assert_frame_equal(items.reset_index(drop=True), own_items.reset_index(drop=True))
    # with it, a product the store never sold gets the chain's share, shrunk
    _, items2, _ = blend(p, BlendSettings(min_count=10, popularity_strength=100.0))
    share = items2.set_index("sku")["support"]
    chain_share = chain_items.set_index("sku")["support"]
    assert share["MOW-STD"] == pytest.approx(100 * chain_share["MOW-STD"] / (len(thin_store()) + 100))
    # --no-blend: exactly the store's own rules
    plain, plain_items, st = blend(p, BlendSettings(enabled=False))
    pd.testing.assert_frame_equal(plain.reset_index(drop=True), own.reset_index(drop=True))
    assert st == {"thin": 0, "borrowed": 0}


def test_import_keeps_history_and_rollback_works(pack: Path, tmp_path: Path) -> None:
    db = tmp_path / "possuggest.db"
    first = import_pack(pack, db, settings=BlendSettings(enabled=False))
    second = import_pack(pack, db)
    assert first.active and second.active and second.rule_set_id == first.rule_set_id + 1
    with RuleStore(db) as s:
        sets = s.rule_sets()
        assert [x.id for x in sets] == [second.rule_set_id, first.rule_set_id]
        assert sets[0].params["blend"]["enabled"] and not sets[1].params["blend"]["enabled"]
        assert sets[0].params["pack"]["checksum"] == read_pack(pack).checksum
        assert sets[0].source.startswith("rule pack north-1.pack")
        s.activate(first.rule_set_id, pin=True)          # what 'possuggest rollback' does
        assert s.active_rule_set().id == first.rule_set_id
        arrays = s.load_active()
    assert arrays is not None and set(arrays.products) == set(CATALOGUE)
    third = import_pack(pack, db)                        # pinned: added, not activated
    assert not third.active and "kept" in third.text()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_rules_import(pack: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = ["--data-dir", str(tmp_path / "d")]
    code, out, err = run(capsys, "rules", "import", str(pack), "--json", *d)
    assert code == 0, err
    res = json.loads(out)
    assert res["store"] == "north-1" and res["active"] and res["blended_products"] >= 1
    code, out, _ = run(capsys, "rules", "import", str(pack), "--no-blend", *d)
    assert code == 0 and out.startswith("rule set 2 active: pack for store north-1")
    code, out, _ = run(capsys, "rules", "--sku", "DRILL-18V", "--json", *d)   # still lists
    assert code == 0 and isinstance(json.loads(out), list)
    code, out, _ = run(capsys, "rule-sets", "--json", *d)
    assert [s["id"] for s in json.loads(out)] == [2, 1]
    code, out, _ = run(capsys, "rollback", *d)
    assert code == 0 and "rule set 1 is now active" in out
    bad = tmp_path / "bad.pack"
    bad.write_bytes(pack.read_bytes()[:100])
    code, out, err = run(capsys, "rules", "import", str(bad), *d)
    assert code == 2 and out == "" and err.count("\n") == 1 and "not a rule pack" in err
    for opt, val in (("--blend-min-count", "-1"), ("--blend-strength", "-2")):
        code, _, err = run(capsys, "rules", "import", str(pack), opt, val, *d)
        assert code == 2 and opt in err


@pytest.mark.parametrize("argv, message", [
    ([], "nothing to mine"),
    (["--store", "north"], "--store takes NAME=VALUE"),
    (["--store", "north=/no/such/till.db"], "no till database at /no/such/till.db"),
    (["--store", "a/b=TILL"], "cannot name a pack file"),
    (["--store", "x=TILL", "--sales-files", "s.csv"], "not both"),
    (["--sales-files", "s.csv"], "--sales-files needs --store-col"),
    (["--store", "x=TILL", "--region", "y=north"], "--region names a store not given"),
    (["--store", "x=TILL", "--catalogue", "c.csv"], "--catalogue goes with --sales-files"),
])
def test_chain_mine_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                              argv: list[str], message: str) -> None:
    till = make_till(tmp_path / "till.db")
    argv = [a.replace("TILL", str(till)) for a in argv]
    code, out, err = run(capsys, "chain", "mine", *argv, "--out", str(tmp_path / "packs"),
                         "--data-dir", str(tmp_path / "d"))
    assert code == 2 and out == "" and err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "packs").exists() or not any((tmp_path / "packs").iterdir())


def test_missing_pyspark_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from possuggest.chain.session import SparkUnavailable, require_pyspark

    monkeypatch.setitem(sys.modules, "pyspark", None)      # as if not installed
    with pytest.raises(SparkUnavailable, match=r"pip install 'possuggest\[spark\]'"):
        require_pyspark()


def test_missing_java_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from possuggest.chain.session import SparkUnavailable, require_pyspark

    pytest.importorskip("pyspark")
    monkeypatch.setenv("JAVA_HOME", "/no/such/jdk")
    with pytest.raises(SparkUnavailable, match="Java 17 or newer"):
        require_pyspark()
