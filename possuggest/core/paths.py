"""Where possuggest keeps its own files: data folder, config files (machine-wide, the user's,
``--config``), state file, logs, rule database."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "possuggest"
DATA_DIR_ENV = "POSSUGGEST_DATA_DIR"
SITE_CONFIG_ENV = "POSSUGGEST_SITE_CONFIG"     # overrides the machine-wide file (tests, installers)


@dataclass(frozen=True)
class AppPaths:
    """All file locations for one possuggest installation."""

    data_dir: Path
    config_file: Path                   # the user's file (or data folder's with --data-dir)
    site_config_file: Path | None = None    # machine-wide, read first
    extra_config_file: Path | None = None   # --config, read last

    @property
    def config_files(self) -> tuple[Path, ...]:
        """The config files in the order they are read; later ones override earlier ones."""
        return tuple(p for p in (self.site_config_file, self.config_file, self.extra_config_file)
                     if p is not None)

    @property
    def state_file(self) -> Path:
        return self.data_dir / "state.json"

    @property
    def lock_dir(self) -> Path:
        return self.data_dir / "locks"

    @property
    def rules_db(self) -> Path:
        return self.data_dir / "possuggest.db"

    @property
    def demo_till_db(self) -> Path:
        return self.data_dir / "demo-till.db"

    @property
    def backups_dir(self) -> Path:
        """Copies of the rule database taken before upgrades (store/migrations.py)."""
        return self.data_dir / "backups"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "possuggest.log"

    def ensure(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)


def site_config_file() -> Path:
    """The machine-wide config file an installer writes for every cashier account."""
    env = os.environ.get(SITE_CONFIG_ENV)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.site_config_dir(APP_NAME, appauthor=False)) / "config.toml"


def resolve_paths(data_dir: str | os.PathLike[str] | None = None,
                  config_file: str | os.PathLike[str] | None = None) -> AppPaths:
    """Work out the folders: ``--data-dir`` (or $POSSUGGEST_DATA_DIR) keeps data and the user's
    config together, otherwise the platform's data and config folders are used. The
    machine-wide file is read first, then the user's, then ``--config`` if given."""
    explicit = data_dir or os.environ.get(DATA_DIR_ENV)
    extra = Path(config_file).expanduser().resolve() if config_file else None
    if explicit:
        ddir = Path(explicit).expanduser().resolve()
        cfg = ddir / "config.toml"
    else:
        ddir = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
        cfg = Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "config.toml"
    if extra == cfg:
        extra = None
    return AppPaths(data_dir=ddir, config_file=cfg, site_config_file=site_config_file(),
                    extra_config_file=extra)
