"""The application context every command, ``serve`` and the panel share: folders, settings
(from the config files in order, or the last good ones), the app's own state, the till.

A bad config file never changes which store is served: commands stop with the message
(``strict``); the panel keeps the last settings that validated and shows the problem, and with
no last good settings it shows the problem and serves nothing rather than the demo.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from possuggest.core.config import Settings, load_settings_files, settings_from_dict
from possuggest.core.errors import ConfigError, PossuggestError
from possuggest.core.paths import AppPaths, resolve_paths
from possuggest.services.state import AppState

log = logging.getLogger(__name__)


class DataFolderInUse(PossuggestError):
    """The demo was asked for in a data folder that belongs to a configured till."""


@dataclass
class AppContext:
    paths: AppPaths
    settings: Settings
    state: AppState
    till_override: Path | None = None
    config_problem: str | None = None   # the config files do not validate (GUI only)
    settings_valid: bool = True         # False: nothing validated yet, nothing may be served
    notes: list[str] = field(default_factory=list)

    @classmethod
    def create(cls, data_dir: str | None = None, config: str | None = None,
               till_db: str | None = None, strict: bool = True) -> AppContext:
        """Resolve folders and load settings. ``strict`` raises ConfigError on a bad file
        (commands); otherwise the last good settings are used and the problem is kept in
        ``config_problem`` (the panel shows it)."""
        paths = resolve_paths(data_dir, config)
        state = AppState(paths.state_file)
        till_override = Path(till_db).expanduser() if till_db else None
        try:
            settings = load_settings_files(paths.config_files)
        except ConfigError as exc:
            if strict:
                raise
            problem = str(exc)
            last = last_good_settings(state)
            log.warning("%s", problem)
            if last is None:
                return cls(paths, Settings(), state, till_override, problem, settings_valid=False)
            return cls(paths, last, state, till_override, problem)
        return cls(paths, settings, state, till_override)

    @property
    def uses_demo(self) -> bool:
        """True when no till is configured: the demo store in the data folder stands in."""
        return (self.till_override is None and not self.settings.till.path
                and not self.settings.till.url)

    @property
    def till_path(self) -> Path:
        if self.till_override is not None:
            return self.till_override
        if self.settings.till.path:
            return Path(self.settings.till.path).expanduser()
        if self.settings.till.url:      # a server till: read through till.url, no file
            return Path(self.settings.till.url)
        return self.paths.demo_till_db

    def api_token(self) -> str:
        """The manager's token from the config, else the one generated into the state file."""
        return self.settings.api.token or self.state.api_token()

    def remember_good_settings(self) -> None:
        """Keep these settings as the last good ones (only when they came from valid files)."""
        if self.config_problem is not None or not self.settings_valid:
            return
        from possuggest.core.config import settings_to_dict

        data = settings_to_dict(self.settings)
        if self.state.last_good != data:
            try:
                self.state.update(last_good_settings=data)
            except OSError as exc:
                log.warning("last good settings not saved: %s", exc)

    def claim_for_till(self) -> None:
        """Mark the data folder as serving the configured till (the demo then stays out)."""
        if self.uses_demo:
            return
        till = self.settings.till.url if self.till_override is None and self.settings.till.url \
            else str(self.till_path.resolve())
        if self.state.served_till != till:
            try:
                self.state.update(served_till=till)
            except OSError as exc:
                log.warning("data folder owner not saved: %s", exc)

    def check_demo_allowed(self) -> None:
        """The demo never writes into a data folder that has served a configured till."""
        owner = self.state.served_till
        if owner:
            raise DataFolderInUse(
                f"this data folder ({self.paths.data_dir}) belongs to the till {owner}, but no "
                "till is configured now: set till.path again, or use another --data-dir for "
                "the demo")


def last_good_settings(state: AppState) -> Settings | None:
    data = state.last_good
    if data is None:
        return None
    try:
        return settings_from_dict(data)
    except ConfigError as exc:  # saved by an older release with other keys
        log.warning("last good settings unusable: %s", exc)
        return None


__all__ = ["AppContext", "DataFolderInUse", "last_good_settings"]
