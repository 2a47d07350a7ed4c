"""One panel per register: an OS file lock in the data folder's ``locks`` folder.

The lock is held for as long as the panel runs and released by the OS if the process dies, so
a crash never leaves a stale lock behind. Two panels on the same register would log every
sale twice and fight over the cashier's attention; the second is refused with a message
naming the first one's process.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
from pathlib import Path
from typing import IO

from possuggest.core.errors import PossuggestError

log = logging.getLogger(__name__)


class RegisterInUse(PossuggestError):
    """Another panel already serves this register of this till."""


class HeldFileLock:
    """An OS lock on a file in the ``locks`` folder that says who holds it: taken without
    waiting, released by :meth:`release` or by the OS when the process dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[str] | None = None

    def _take(self, note: str) -> str | None:
        """Take the lock and write ``note`` into the file; when another process holds it,
        return what that one wrote (None = taken). OSError when the file cannot be opened."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release()
        try:
            _lock(fh)
        except OSError:
            try:
                fh.seek(0)
                other = fh.read().strip()
            except OSError:
                other = ""
            fh.close()
            return other
        fh.seek(0)
        fh.truncate()
        fh.write(note)
        fh.flush()
        self._fh = fh
        return None

    def release(self) -> None:
        if self._fh is not None:
            try:
                _unlock(self._fh)
            finally:
                self._fh.close()
                self._fh = None

    @property
    def held(self) -> bool:
        return self._fh is not None


class RegisterLock(HeldFileLock):
    def __init__(self, lock_dir: Path, till: Path | str, register: str) -> None:
        # a file till by its resolved path; a server till (a str: its URL) as written
        ident = till if isinstance(till, str) else str(Path(till).resolve())
        key = hashlib.sha256(f"{ident}\0{register}".encode()).hexdigest()[:16]
        super().__init__(lock_dir / f"register-{key}.lock")
        self.register = register

    def acquire(self) -> None:
        """Take the lock or raise RegisterInUse (never waits)."""
        other = self._take(str(os.getpid()))
        if other is not None:
            raise RegisterInUse(f"another possuggest panel is already open for register "
                                f"{self.register} (process {other or 'unknown'}); close it "
                                "first")


if sys.platform == "win32":  # pragma: no cover - exercised on Windows installs
    import msvcrt

    def _lock(fh: IO[str]) -> None:
        fh.seek(0)
        msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)

    def _unlock(fh: IO[str]) -> None:
        fh.seek(0)
        msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _lock(fh: IO[str]) -> None:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fh: IO[str]) -> None:
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


__all__ = ["RegisterInUse", "RegisterLock"]
