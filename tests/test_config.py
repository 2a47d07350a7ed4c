"""Settings: defaults, round trip, and bad values reported by key."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from possuggest.core.config import (
    Settings,
    load_settings,
    load_settings_or_default,
    save_settings,
    settings_from_dict,
)
from possuggest.core.errors import ConfigError


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    s = load_settings(tmp_path / "nope.toml")
    assert s == Settings()
    assert s.policy.max_suggestions == 3


def test_round_trip_and_owner_only(tmp_path: Path) -> None:
    s = Settings()
    s.policy.pinned = [["MOW-STD", "GRASS-CATCH"]]
    s.policy.max_suggestions = 2
    s.api.token = "secret"
    path = tmp_path / "c" / "config.toml"
    save_settings(s, path)
    assert load_settings(path) == s
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


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


def test_gui_mode_backs_up_bad_file_and_uses_defaults(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[policy]\nmax_suggestions = 99\n")
    s, note = load_settings_or_default(path)
    assert s == Settings()
    assert note and "policy.max_suggestions" in note
    backups = list(tmp_path.glob("config.toml.bad-*"))
    assert len(backups) == 1
    assert backups[0].read_text() == path.read_text()   # nothing lost
