"""What the app itself remembers, kept apart from the manager's config file.

The config file is the manager's: possuggest reads it and never writes it. Everything the app
must persist lives here instead, in ``state.json`` in the data folder (owner-only, written
atomically): the cashier's look (theme, large text, compact, always on top), the generated API
token, the last settings that validated (so a bad edit never changes which store is served),
which till this data folder serves (so the demo never writes into a real store's folder), and
the manager's PIN as a salted hash with its wrong-try lockout (services/pin.py).
Window geometry is Qt's and lives beside it in ``panel.ini``.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

LOOK_KEYS = ("theme", "large_font", "compact", "always_on_top")

_lock = threading.Lock()


class AppState:
    """The state file. Every change re-reads the file first, so the panel, ``serve`` and the
    CLI sharing a data folder do not undo each other's changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, Any] = self._read()

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, RecursionError) as exc:
            aside = self.path.with_name(f"{self.path.name}.bad-{time.strftime('%Y%m%d-%H%M%S')}")
            log.warning("state file %s unreadable (%s); starting afresh, old copy kept as %s",
                        self.path, exc, aside.name)
            try:
                os.replace(self.path, aside)
            except OSError:
                pass
            return {}
        return data if isinstance(data, dict) else {}

    def reload(self) -> None:
        self.data = self._read()

    def update(self, **changes: Any) -> None:
        """Set top-level keys (None removes one) and write the file atomically, owner-only."""
        with _lock:
            data = self._read()
            for key, value in changes.items():
                if value is None:
                    data.pop(key, None)
                else:
                    data[key] = value
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=1, sort_keys=True)
            os.replace(tmp, self.path)
            self.data = data

    # -- the cashier's look ---------------------------------------------------------------
    def look(self) -> dict[str, Any]:
        saved = self.data.get("look")
        return {k: v for k, v in saved.items() if k in LOOK_KEYS} if isinstance(saved, dict) else {}

    def set_look(self, key: str, value: Any) -> None:
        if key not in LOOK_KEYS:
            raise KeyError(key)
        look = self.look()
        look[key] = value
        self.update(look=look)

    # -- the API token --------------------------------------------------------------------
    def api_token(self) -> str:
        """The generated token (made and saved on first use)."""
        token = self.data.get("api_token")
        if isinstance(token, str) and len(token) >= 20:
            return token
        token = secrets.token_urlsafe(24)
        self.update(api_token=token)
        return token

    # -- last good settings, and whose folder this is --------------------------------------
    @property
    def last_good(self) -> dict[str, Any] | None:
        value = self.data.get("last_good_settings")
        return value if isinstance(value, dict) else None

    @property
    def served_till(self) -> str | None:
        value = self.data.get("served_till")
        return value if isinstance(value, str) and value else None

    # -- the manager's PIN (services/pin.py: only a salted hash is ever stored) -------------
    @property
    def manager_pin(self) -> dict[str, Any] | None:
        value = self.data.get("manager_pin")
        return value if isinstance(value, dict) else None

    @property
    def pin_lockout(self) -> dict[str, Any]:
        value = self.data.get("manager_pin_lockout")
        return value if isinstance(value, dict) else {}


__all__ = ["AppState", "LOOK_KEYS"]
