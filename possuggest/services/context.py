"""The application context every command and the GUI share: folders, settings, till path."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from possuggest.core.config import Settings, load_settings, load_settings_or_default
from possuggest.core.paths import AppPaths, resolve_paths

log = logging.getLogger(__name__)


@dataclass
class AppContext:
    paths: AppPaths
    settings: Settings
    till_override: Path | None = None
    config_note: str | None = None      # set when a bad config was backed up (GUI only)

    @classmethod
    def create(cls, data_dir: str | None = None, config: str | None = None,
               till_db: str | None = None, strict: bool = True) -> AppContext:
        """Resolve folders and load settings. ``strict`` raises ConfigError on a bad file
        (commands); otherwise the file is backed up and defaults are used (the GUI)."""
        paths = resolve_paths(data_dir, config)
        if strict:
            settings, note = load_settings(paths.config_file), None
        else:
            settings, note = load_settings_or_default(paths.config_file)
        return cls(paths=paths, settings=settings,
                   till_override=Path(till_db).expanduser() if till_db else None,
                   config_note=note)

    @property
    def uses_demo(self) -> bool:
        """True when no till is configured: the demo store in the data folder stands in."""
        return self.till_override is None and not self.settings.till.path

    @property
    def till_path(self) -> Path:
        if self.till_override is not None:
            return self.till_override
        if self.settings.till.path:
            return Path(self.settings.till.path).expanduser()
        return self.paths.demo_till_db
