"""services/config_edit.py: the console's edits keep the manager's comments and layout, are
validated by core.config's own validation, and write nothing when refused."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

from possuggest.core.config import load_settings
from possuggest.core.products import Product
from possuggest.services.config_edit import ConfigEditError, ConfigEditor, manager_config_file
from possuggest.services.context import AppContext

CONFIG = """\
# The shop's settings — edited by hand, kept by the console.
[till]
register = "2"            # the front till

[policy]
max_suggestions = 3       # no more than three cards
min_lift = 0.0            # 0 = any evidence
pinned = [
    ["MOW-STD", "MOW-CATCH"],   # the catcher sells itself
]
blocked = [["GRL-GAS2", "CHAR-5KG"]]
manual = [{ with = "PNT-EMUL", suggest = "ROL-SET", reason = "Rollers save hours" }]

# mining: leave alone unless the sales are thin
[mining]
window_days = 365
half_life_days = 0        # off

[[policy.upgrade_paths]]
from = "HAM-16"
to = "HAM-20"
"""

SKUS = ["MOW-STD", "MOW-CATCH", "GRL-GAS2", "CHAR-5KG", "PNT-EMUL", "ROL-SET", "HAM-16",
        "HAM-20", "HAM-24", "GLV-M"]


@pytest.fixture
def products() -> dict[str, Product]:
    return {s: Product(s, s.title(), price=10.0) for s in SKUS}


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG, encoding="utf-8")
    path.chmod(0o640)
    return path


def _unchanged(path: Path) -> None:
    assert path.read_text(encoding="utf-8") == CONFIG
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_set_values_changes_only_the_edited_values(cfg: Path) -> None:
    ConfigEditor(cfg).set_values({"policy.min_lift": 1.5, "mining.window_days": 90})
    expected = (CONFIG.replace("min_lift = 0.0            #", "min_lift = 1.5            #")
                .replace("window_days = 365", "window_days = 90"))
    assert cfg.read_text(encoding="utf-8") == expected
    settings = load_settings(cfg)
    assert settings.policy.min_lift == 1.5 and settings.mining.window_days == 90


def test_new_keys_and_sections_are_added_and_the_rest_kept(cfg: Path) -> None:
    ConfigEditor(cfg).set_values({"policy.margin_weight": 0.5, "holdout.share": 0.1,
                                  "policy.excluded_categories": ["Pets", "Gift cards"]})
    text = cfg.read_text(encoding="utf-8")
    for line in CONFIG.splitlines():          # every original line is still there
        assert line in text.splitlines()
    settings = load_settings(cfg)
    assert settings.policy.margin_weight == 0.5
    assert settings.holdout.share == 0.1
    assert settings.policy.excluded_categories == ["Pets", "Gift cards"]
    assert settings.policy.pinned == [["MOW-STD", "MOW-CATCH"]]     # untouched
    # the new key goes with its table's values, before the comment introducing [mining]
    assert ('reason = "Rollers save hours" }]\nmargin_weight = 0.5\n'
            'excluded_categories = ["Pets", "Gift cards"]\n\n# mining: leave alone') in text
    assert text.endswith('to = "HAM-20"\n\n[holdout]\nshare = 0.1\n')


def test_a_new_sub_table_is_set_apart(cfg: Path) -> None:
    ConfigEditor(cfg).set_values({"till.mapping.products": "SELECT sku, name FROM items"})
    text = cfg.read_text(encoding="utf-8")
    assert ('register = "2"            # the front till\n\n[till.mapping]\n'
            'products = "SELECT sku, name FROM items"\n\n[policy]\n') in text
    assert load_settings(cfg).till.mapping.products == "SELECT sku, name FROM items"


def test_none_removes_a_key_so_the_default_applies(cfg: Path) -> None:
    ConfigEditor(cfg).set_values({"mining.half_life_days": None})
    assert "half_life_days" not in cfg.read_text(encoding="utf-8")
    assert "# mining: leave alone unless the sales are thin" in cfg.read_text(encoding="utf-8")


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"policy.max_suggestions": 0}, "policy.max_suggestions", "below the minimum 1"),
    ({"policy.min_confidence": 1.5}, "policy.min_confidence", "above the maximum 1.0"),
    ({"policy.min_lift": "high"}, "policy.min_lift", "expected a number"),
    ({"ui.theme": "pink"}, "ui.theme", "not one of light, dark"),
    ({"policy.no_such_thing": 1}, "policy.no_such_thing", "not a known setting"),
    ({"mining.upgrade_min_ratio": 5.0}, "mining.upgrade_min_ratio", "larger than"),
    ({"policy.min_lift": float("nan")}, "policy.min_lift", "finite"),
    ({"policy.min_lift": 2.0, "policy.max_suggestions": 99}, "policy.max_suggestions", "maximum"),
    ({"min_lift": 1.0}, "min_lift", "section.key"),
])
def test_bad_values_are_refused_with_the_field_named_and_nothing_written(
        cfg: Path, changes: dict[str, object], field: str, words: str) -> None:
    with pytest.raises(ConfigEditError) as err:
        ConfigEditor(cfg).set_values(changes)
    assert err.value.field == field
    assert words in err.value.message
    assert "\n" not in str(err.value) and field in str(err.value)
    _unchanged(cfg)


def test_pairs_are_added_and_removed_keeping_comments(cfg: Path, products: dict) -> None:
    ed = ConfigEditor(cfg, products)
    ed.add_pair("pinned", "HAM-16", "GLV-M")
    ed.add_pair("blocked", "*", "GLV-M")
    text = cfg.read_text(encoding="utf-8")
    assert '["MOW-STD", "MOW-CATCH"],   # the catcher sells itself' in text
    policy = load_settings(cfg).policy
    assert policy.pinned == [["MOW-STD", "MOW-CATCH"], ["HAM-16", "GLV-M"]]
    assert policy.blocked == [["GRL-GAS2", "CHAR-5KG"], ["*", "GLV-M"]]
    ed.remove_pair("pinned", "HAM-16", "GLV-M")
    ed.remove_pair("blocked", "*", "GLV-M")
    policy = load_settings(cfg).policy
    assert policy.pinned == [["MOW-STD", "MOW-CATCH"]]
    assert policy.blocked == [["GRL-GAS2", "CHAR-5KG"]]
    assert "# the catcher sells itself" in cfg.read_text(encoding="utf-8")


def test_pair_refusals_write_nothing(cfg: Path, products: dict) -> None:
    ed = ConfigEditor(cfg, products)
    cases = [
        (lambda: ed.add_pair("pinned", "MOW-STD", "MOW-CATCH"), "already pinned"),
        (lambda: ed.add_pair("pinned", "MOW-STD", "NOPE-1"), "unknown product 'NOPE-1'"),
        (lambda: ed.add_pair("blocked", "NOPE-2", "GLV-M"), "unknown product 'NOPE-2'"),
        (lambda: ed.add_pair("pinned", "*", "GLV-M"), "unknown product '*'"),
        (lambda: ed.add_pair("pinned", "GLV-M", "GLV-M"), "with itself"),
        (lambda: ed.remove_pair("blocked", "GLV-M", "HAM-16"), "is not blocked"),
        (lambda: ed.add_pair("pinned", "", "GLV-M"), "pick a product"),
    ]
    for call, words in cases:
        with pytest.raises(ConfigEditError, match=re.escape(words)) as err:
            call()
        assert err.value.field.startswith("policy.")
        _unchanged(cfg)


def test_manual_rules(cfg: Path, products: dict) -> None:
    ed = ConfigEditor(cfg, products)
    ed.add_manual_rule("HAM-16", "GLV-M", "  Gloves save   thumbs ")
    manual = load_settings(cfg).policy.manual
    assert [(m.with_sku, m.suggest, m.reason) for m in manual] == [
        ("PNT-EMUL", "ROL-SET", "Rollers save hours"), ("HAM-16", "GLV-M", "Gloves save thumbs")]
    for call, words in [
        (lambda: ed.add_manual_rule("HAM-16", "GLV-M", "again"), "already a manual rule"),
        (lambda: ed.add_manual_rule("HAM-16", "XYZ", "why"), "unknown product 'XYZ'"),
        (lambda: ed.add_manual_rule("HAM-16", "HAM-20", "   "), "give the reason"),
        (lambda: ed.add_manual_rule("HAM-16", "HAM-20", "x" * 200), "keep it under"),
        (lambda: ed.remove_manual_rule("GLV-M", "HAM-16"), "not a manual rule"),
    ]:
        before = cfg.read_bytes()
        with pytest.raises(ConfigEditError, match=re.escape(words)) as err:
            call()
        assert err.value.field == "policy.manual"
        assert cfg.read_bytes() == before
    ed.remove_manual_rule("PNT-EMUL", "ROL-SET")
    ed.remove_manual_rule("HAM-16", "GLV-M")
    assert load_settings(cfg).policy.manual == []
    assert "# mining: leave alone unless the sales are thin" in cfg.read_text(encoding="utf-8")


def test_upgrade_paths_in_a_table_array(cfg: Path, products: dict) -> None:
    ed = ConfigEditor(cfg, products)
    ed.add_upgrade_path("HAM-20", "HAM-24")
    paths = load_settings(cfg).policy.upgrade_paths
    assert [(p.from_sku, p.to_sku) for p in paths] == [("HAM-16", "HAM-20"), ("HAM-20", "HAM-24")]
    cases = [
        (lambda: ed.add_upgrade_path("HAM-24", "HAM-16"), "loop (HAM-24 → HAM-16 → HAM-20 → HAM-24)"),
        (lambda: ed.add_upgrade_path("HAM-20", "HAM-16"), "loop"),
        (lambda: ed.add_upgrade_path("HAM-16", "HAM-16"), "upgrade of itself"),
        (lambda: ed.add_upgrade_path("HAM-16", "HAM-20"), "already an upgrade path"),
        (lambda: ed.add_upgrade_path("HAM-16", "HAM-99"), "unknown product 'HAM-99'"),
        (lambda: ed.remove_upgrade_path("HAM-24", "HAM-20"), "not an upgrade path"),
    ]
    for call, words in cases:
        before = cfg.read_bytes()
        with pytest.raises(ConfigEditError, match=re.escape(words)) as err:
            call()
        assert err.value.field == "policy.upgrade_paths"
        assert cfg.read_bytes() == before
    ed.remove_upgrade_path("HAM-16", "HAM-20")
    paths = load_settings(cfg).policy.upgrade_paths
    assert [(p.from_sku, p.to_sku) for p in paths] == [("HAM-20", "HAM-24")]


def test_upgrade_paths_and_rules_in_a_new_file(tmp_path: Path, products: dict) -> None:
    path = tmp_path / "sub" / "config.toml"
    ed = ConfigEditor(path, products)
    ed.add_upgrade_path("HAM-16", "HAM-20")
    ed.add_manual_rule("HAM-16", "GLV-M", "Gloves")
    ed.add_pair("pinned", "MOW-STD", "MOW-CATCH")
    policy = load_settings(path).policy
    assert [(p.from_sku, p.to_sku) for p in policy.upgrade_paths] == [("HAM-16", "HAM-20")]
    assert policy.manual[0].reason == "Gloves"
    assert policy.pinned == [["MOW-STD", "MOW-CATCH"]]
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_without_a_catalogue_any_sku_is_accepted(cfg: Path) -> None:
    ConfigEditor(cfg).add_pair("pinned", "ANY-1", "ANY-2")
    assert ["ANY-1", "ANY-2"] in load_settings(cfg).policy.pinned


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_permissions_kept_and_symlink_followed(tmp_path: Path, cfg: Path) -> None:
    link = tmp_path / "link.toml"
    link.symlink_to(cfg)
    ConfigEditor(link).set_values({"policy.min_lift": 2.0})
    assert link.is_symlink()
    assert load_settings(cfg).policy.min_lift == 2.0
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o640


def test_crlf_file_keeps_its_line_endings(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(CONFIG.replace("\n", "\r\n").encode())
    ConfigEditor(path).set_values({"policy.min_lift": 1.0})
    raw = path.read_bytes()
    assert raw.count(b"\r\n") == CONFIG.count("\n")
    assert b"min_lift = 1.0            # 0 = any evidence\r\n" in raw


def test_a_file_that_is_not_toml_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[policy\nmin_lift = 1\n", encoding="utf-8")
    with pytest.raises(ConfigEditError, match="not valid TOML") as err:
        ConfigEditor(path).set_values({"policy.min_lift": 2.0})
    assert err.value.field == ""
    assert path.read_text(encoding="utf-8") == "[policy\nmin_lift = 1\n"


def test_an_earlier_bad_value_elsewhere_in_the_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[policy]\nmax_suggestions = 0\n", encoding="utf-8")
    with pytest.raises(ConfigEditError) as err:
        ConfigEditor(path).set_values({"policy.min_lift": 2.0})
    assert err.value.field == "policy.max_suggestions"
    assert path.read_text(encoding="utf-8") == "[policy]\nmax_suggestions = 0\n"


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_a_file_others_can_change_is_refused(cfg: Path) -> None:
    cfg.chmod(0o666)
    with pytest.raises(ConfigEditError, match="chmod o-w"):
        ConfigEditor(cfg).set_values({"policy.min_lift": 2.0})
    assert cfg.read_text(encoding="utf-8") == CONFIG


def test_the_merged_result_with_earlier_files_must_validate(tmp_path: Path, cfg: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text("[mining]\nupgrade_max_ratio = 2.0\n", encoding="utf-8")
    with pytest.raises(ConfigEditError, match="larger than upgrade_max_ratio") as err:
        ConfigEditor(cfg, earlier=[site]).set_values({"mining.upgrade_min_ratio": 2.5})
    assert err.value.field == "mining.upgrade_min_ratio"
    assert str(site) in err.value.message
    _unchanged(cfg)
    ConfigEditor(cfg, earlier=[site]).set_values({"mining.upgrade_min_ratio": 1.5})
    assert load_settings(cfg).mining.upgrade_min_ratio == 1.5


def test_a_failed_write_leaves_the_file_and_no_temporary(cfg: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(ConfigEditError, match="cannot be written: No space left"):
        ConfigEditor(cfg).set_values({"policy.min_lift": 2.0})
    monkeypatch.undo()
    _unchanged(cfg)


def test_manager_config_file(tmp_path: Path) -> None:
    ctx = AppContext.create(data_dir=str(tmp_path / "data"))
    assert manager_config_file(ctx) == tmp_path / "data" / "config.toml"
    extra = tmp_path / "extra.toml"
    ctx = AppContext.create(data_dir=str(tmp_path / "data"), config=str(extra))
    assert manager_config_file(ctx) == extra.resolve()
    ed = ConfigEditor.for_context(ctx)
    assert ed.path == extra.resolve()
    assert ed.earlier[-1] == tmp_path / "data" / "config.toml"
