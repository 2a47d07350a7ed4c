"""Where possuggest keeps its own files: data folder, config file, logs, rule database."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "possuggest"
DATA_DIR_ENV = "POSSUGGEST_DATA_DIR"


@dataclass(frozen=True)
class AppPaths:
    """All file locations for one possuggest installation."""

    data_dir: Path
    config_file: Path

    @property
    def rules_db(self) -> Path:
        return self.data_dir / "possuggest.db"

    @property
    def demo_till_db(self) -> Path:
        return self.data_dir / "demo-till.db"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "possuggest.log"

    def ensure(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)


def resolve_paths(data_dir: str | os.PathLike[str] | None = None,
                  config_file: str | os.PathLike[str] | None = None) -> AppPaths:
    """Work out the folders: ``--data-dir`` (or $POSSUGGEST_DATA_DIR) keeps everything together,
    otherwise the platform's data and config folders are used."""
    explicit = data_dir or os.environ.get(DATA_DIR_ENV)
    if explicit:
        ddir = Path(explicit).expanduser().resolve()
        cfg = Path(config_file).expanduser().resolve() if config_file else ddir / "config.toml"
    else:
        ddir = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
        cfg = (Path(config_file).expanduser().resolve() if config_file
               else Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "config.toml")
    return AppPaths(data_dir=ddir, config_file=cfg)
