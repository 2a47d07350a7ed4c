"""The manager's PIN: set on first use, kept only as a salted hash, locked after wrong tries.

The PIN guards the manager console (rules, settings, refresh, rollback). It is stored in the
app's own state file (``state.json`` in the data folder, owner-only; never the manager's config
file) as PBKDF2-HMAC-SHA256 with a random 16-byte salt and :data:`ITERATIONS` iterations; the
record keeps its iteration count, so a later release can raise it. Comparison is constant-time.

Five wrong tries in a row lock the PIN for 60 seconds. The lock lives in the state file too, so
closing and reopening the dialog (or the panel) does not reset it. It is timed with the
monotonic clock while the computer has not restarted (changing the wall clock neither shortens
nor lengthens it); when the monotonic clock reads less than it did at the lock, the computer
has restarted and the wall clock is used, never for longer than 60 s.

Why the standard library's PBKDF2 rather than argon2: it needs no compiled dependency in the
bundle, and for a PIN of a few digits the hash cannot be what protects it: anyone able to read
the owner-only state file can try every 4–8 digit PIN with any hash. The hash keeps the PIN out
of plain sight (and out of backups as text); the lockout is what stops guessing at the counter.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from possuggest.core.errors import PossuggestError
from possuggest.services.state import AppState

log = logging.getLogger(__name__)

SCHEME = "pbkdf2_sha256"
ITERATIONS = 600_000          # OWASP's 2023 figure for PBKDF2-HMAC-SHA256
MIN_ITERATIONS = 200_000
SALT_BYTES = 16
MAX_TRIES = 5
LOCK_SECONDS = 60.0
MIN_DIGITS, MAX_DIGITS = 4, 12


class PinError(PossuggestError):
    """A PIN that cannot be set or checked (too short, not digits, the two differ, none set)."""


class PinLocked(PossuggestError):
    """Too many wrong tries: ``seconds`` until the PIN may be tried again."""

    def __init__(self, seconds: float) -> None:
        self.seconds = max(1, int(seconds + 0.999))
        super().__init__(f"Too many wrong PINs: try again in {self.seconds} s")


def check_new_pin(pin: str, confirm: str | None = None) -> None:
    """Raise PinError unless ``pin`` is 4–12 digits (and ``confirm`` repeats it)."""
    if not pin:
        raise PinError("Enter a PIN")
    if not pin.isdigit() or not pin.isascii():
        raise PinError("A PIN is digits only")
    if not MIN_DIGITS <= len(pin) <= MAX_DIGITS:
        raise PinError(f"A PIN has {MIN_DIGITS} to {MAX_DIGITS} digits")
    if confirm is not None and confirm != pin:
        raise PinError("The two PINs differ: type the same PIN twice")


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def hash_pin(pin: str, salt: bytes, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", pin.encode("utf-8"), salt, iterations)


class PinGuard:
    """Set, check and change the manager's PIN. ``clock`` (monotonic) and ``wall`` (epoch
    seconds) are injectable so tests need not wait out the lock."""

    def __init__(self, state: AppState, *, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time, iterations: int = ITERATIONS) -> None:
        if iterations < MIN_ITERATIONS:
            raise ValueError(f"at least {MIN_ITERATIONS} PBKDF2 iterations")
        self.state = state
        self.clock = clock
        self.wall = wall
        self.iterations = iterations

    # -- the PIN ----------------------------------------------------------------------------
    def is_set(self) -> bool:
        self.state.reload()
        return self._record() is not None

    def _record(self) -> dict[str, Any] | None:
        rec = self.state.manager_pin
        if rec is None:
            return None
        try:
            if rec["scheme"] != SCHEME or int(rec["iterations"]) < 1:
                raise ValueError(rec.get("scheme"))
            base64.b64decode(rec["salt"], validate=True)
            base64.b64decode(rec["hash"], validate=True)
        except (KeyError, ValueError, TypeError):
            log.warning("manager PIN record in %s unreadable: treated as set and wrong; remove "
                        "'manager_pin' from it to choose a new PIN", self.state.path)
            return {"scheme": "", "iterations": 1, "salt": "", "hash": ""}
        return rec

    def set_pin(self, pin: str, confirm: str | None = None) -> None:
        """Set the first PIN (refused once one is set: use :meth:`change_pin`)."""
        if self.is_set():
            raise PinError("A manager PIN is already set")
        check_new_pin(pin, confirm)
        self._store(pin)
        log.info("manager PIN set")

    def change_pin(self, old: str, new: str, confirm: str | None = None) -> None:
        """Replace the PIN; ``old`` counts as a try like any other."""
        check_new_pin(new, confirm)
        if not self.verify(old):
            raise PinError(f"The current PIN is wrong ({self._tries_text()})")
        self._store(new)
        log.info("manager PIN changed")

    def _store(self, pin: str) -> None:
        salt = os.urandom(SALT_BYTES)
        self.state.update(
            manager_pin={"scheme": SCHEME, "iterations": self.iterations, "salt": _b64(salt),
                         "hash": _b64(hash_pin(pin, salt, self.iterations)),
                         "set_at": datetime.now().isoformat(timespec="seconds")},
            manager_pin_lockout={})

    # -- checking ---------------------------------------------------------------------------
    def verify(self, pin: str) -> bool:
        """True for the right PIN (wrong tries are forgotten). A wrong one counts; the fifth
        in a row locks for 60 s. Raises PinLocked while locked (the PIN is not even checked),
        PinError when no PIN is set."""
        self.state.reload()
        left = self.locked_for()
        if left > 0:
            raise PinLocked(left)
        rec = self._record()
        if rec is None:
            raise PinError("No manager PIN is set yet")
        ok = False
        if rec["scheme"] == SCHEME:
            salt = base64.b64decode(rec["salt"])
            expected = base64.b64decode(rec["hash"])
            ok = hmac.compare_digest(hash_pin(pin, salt, int(rec["iterations"])), expected)
        if ok:
            if self.state.pin_lockout:
                self.state.update(manager_pin_lockout={})
            return True
        failures = int(self.state.pin_lockout.get("failures", 0)) + 1
        if failures >= MAX_TRIES:
            now, wall = self.clock(), self.wall()
            self.state.update(manager_pin_lockout={
                "failures": 0, "at_mono": now, "until_mono": now + LOCK_SECONDS,
                "until_wall": wall + LOCK_SECONDS})
            log.warning("manager PIN: %d wrong tries, locked for %.0f s", MAX_TRIES, LOCK_SECONDS)
        else:
            self.state.update(manager_pin_lockout={"failures": failures})
        return False

    def tries_left(self) -> int:
        """Wrong tries left before the lock."""
        try:
            failures = int(self.state.pin_lockout.get("failures", 0))
        except (TypeError, ValueError):
            failures = 0
        return max(0, MAX_TRIES - failures)

    def _tries_text(self) -> str:
        left = self.locked_for()
        if left > 0:
            return str(PinLocked(left))
        n = self.tries_left()
        return f"{n} {'try' if n == 1 else 'tries'} left"

    def wrong_message(self) -> str:
        """What the dialog says after a wrong PIN."""
        return f"Wrong PIN — {self._tries_text()}"

    def locked_for(self) -> float:
        """Seconds until the PIN may be tried again (0 when it is not locked)."""
        lock = self.state.pin_lockout
        try:
            at_mono = float(lock["at_mono"])
            until_mono = float(lock["until_mono"])
            until_wall = float(lock["until_wall"])
        except (KeyError, TypeError, ValueError):
            return 0.0
        now = self.clock()
        if now >= at_mono:
            left = until_mono - now         # same boot: the monotonic clock decides
        else:
            left = until_wall - self.wall()  # restarted since: the wall clock, capped below
        return max(0.0, min(LOCK_SECONDS, left))


__all__ = ["PinError", "PinGuard", "PinLocked", "check_new_pin", "ITERATIONS", "LOCK_SECONDS",
           "MAX_TRIES"]
