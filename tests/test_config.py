"""Settings: defaults, files read in order (machine-wide, the user's, --config), bad values
reported by key and file, and the app's own state kept out of the manager's file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import tomli_w

from possuggest.core.config import (
    Settings,
    load_settings,
    load_settings_files,
    settings_from_dict,
    settings_to_dict,
)
from possuggest.core.errors import ConfigError
from possuggest.services.context import AppContext
from possuggest.services.state import AppState


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    s = load_settings(tmp_path / "nope.toml")
    assert s == Settings()
    assert s.policy.max_suggestions == 3


def test_round_trip(tmp_path: Path) -> None:
    s = Settings()
    s.policy.pinned = [["MOW-STD", "GRASS-CATCH"]]
    s.policy.max_suggestions = 2
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(settings_to_dict(s)))
    assert load_settings(path) == s


@pytest.mark.parametrize("data, key", [
    ({"policy": {"max_suggestions": "three"}}, "policy.max_suggestions"),
    ({"policy": {"max_suggestions": 0}}, "policy.max_suggestions"),
    ({"policy": {"min_confidence": 1.5}}, "policy.min_confidence"),
    ({"mining": {"window_days": True}}, "mining.window_days"),
    ({"ui": {"theme": "purple"}}, "ui.theme"),
    ({"policy": {"pinned": [["A"]]}}, "policy.pinned[0]"),
    ({"policy": {"manual": [{"with": "A", "sugest": "B"}]}}, "policy.manual[0].sugest"),
    ({"till": {"mapping": {"products": 5}}}, "till.mapping.products"),
    ({"nonsense": {}}, "nonsense"),
    ({"policy": {"min_confidence": float("nan")}}, "policy.min_confidence"),
    ({"policy": {"margin_weight": float("inf")}}, "policy.margin_weight"),
])
def test_bad_values_name_the_key(data: dict, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        settings_from_dict(data)
    assert f"'{key}'" in str(err.value)
    assert "\n" not in str(err.value)


def test_bad_toml_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[policy\nmax = 1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(path)


def test_files_are_read_in_order_and_merge_by_key(tmp_path: Path) -> None:
    site, user, extra = tmp_path / "site.toml", tmp_path / "user.toml", tmp_path / "extra.toml"
    site.write_text("[till]\npath = '/srv/till.db'\nregister = '4'\n[policy]\nmax_suggestions = 2\n")
    user.write_text("[till]\nregister = '2'\n")
    extra.write_text("[policy]\nblocked = [['*', 'X']]\n")
    s = load_settings_files([site, user, tmp_path / "absent.toml", extra])
    assert (s.till.path, s.till.register) == ("/srv/till.db", "2")    # user over machine-wide
    assert s.policy.max_suggestions == 2 and s.policy.blocked == [["*", "X"]]


def test_a_bad_value_names_key_and_file(tmp_path: Path) -> None:
    site, user = tmp_path / "site.toml", tmp_path / "user.toml"
    site.write_text("[policy]\nmax_suggestions = 2\n")
    user.write_text("[policy]\nmax_suggestions = -1\n")
    with pytest.raises(ConfigError) as err:
        load_settings_files([site, user])
    msg = str(err.value)
    assert "'policy.max_suggestions'" in msg and str(user) in msg and "\n" not in msg


def test_deeply_nested_or_folder_config_is_one_line(tmp_path: Path) -> None:
    deep = tmp_path / "deep.toml"
    deep.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ConfigError) as err:
        load_settings(deep)
    assert str(deep) in str(err.value)
    with pytest.raises(ConfigError, match="is a folder"):
        load_settings(tmp_path)


def _ctx(data: Path, strict: bool) -> AppContext:
    return AppContext.create(str(data), None, None, strict=strict)


def test_machine_wide_file_comes_first(tmp_path: Path, monkeypatch) -> None:
    site = tmp_path / "etc" / "config.toml"
    site.parent.mkdir()
    site.write_text("[till]\nregister = '7'\n[policy]\nmax_suggestions = 2\n")
    monkeypatch.setenv("POSSUGGEST_SITE_CONFIG", str(site))
    data = tmp_path / "data"
    data.mkdir()
    (data / "config.toml").write_text("[policy]\nmax_suggestions = 1\n")
    ctx = _ctx(data, strict=True)
    assert ctx.paths.config_files == (site, data / "config.toml")
    assert ctx.settings.till.register == "7" and ctx.settings.policy.max_suggestions == 1


def test_bad_config_keeps_last_good_settings_and_never_rewrites_the_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    cfg = data / "config.toml"
    good = "# the manager's comment\n[till]\npath = '/srv/till.db'\n"
    cfg.write_text(good)
    ctx = _ctx(data, strict=False)
    ctx.remember_good_settings()
    bad = good + "[policy]\nmax_suggestions = -1\n"
    cfg.write_text(bad)
    with pytest.raises(ConfigError, match="policy.max_suggestions"):
        _ctx(data, strict=True)                      # commands stop with the message
    ctx2 = _ctx(data, strict=False)                  # the panel keeps the last good settings
    assert ctx2.settings.till.path == "/srv/till.db" and ctx2.settings_valid
    assert "policy.max_suggestions" in (ctx2.config_problem or "")
    assert cfg.read_text() == bad                    # the manager's file is untouched
    assert not list(data.glob("config.toml.*"))      # and nothing is written beside it


def test_bad_config_without_last_good_serves_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "config.toml").write_text("[policy]\nmax_suggestions = -1\n")
    ctx = _ctx(data, strict=False)
    assert not ctx.settings_valid and "policy.max_suggestions" in (ctx.config_problem or "")


def test_state_file_is_owner_only_and_survives_garbage(tmp_path: Path) -> None:
    state = AppState(tmp_path / "state.json")
    token = state.api_token()
    assert len(token) >= 20 and AppState(tmp_path / "state.json").api_token() == token
    if os.name == "posix":
        assert stat.S_IMODE((tmp_path / "state.json").stat().st_mode) == 0o600
    state.set_look("theme", "dark")
    assert AppState(tmp_path / "state.json").look() == {"theme": "dark"}
    (tmp_path / "state.json").write_text("{not json")
    assert AppState(tmp_path / "state.json").look() == {}          # a clear start, not a crash
    assert list(tmp_path.glob("state.json.bad-*"))                # the old copy is kept
