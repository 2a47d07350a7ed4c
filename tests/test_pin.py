"""services/pin.py: the manager PIN is kept only as a salted hash in state.json and locks for
60 s after five wrong tries; the lock survives a new guard (a reopened dialog) and a restart."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from possuggest.services.pin import (
    ITERATIONS,
    LOCK_SECONDS,
    MAX_TRIES,
    PinError,
    PinGuard,
    PinLocked,
)
from possuggest.services.state import AppState


class Clocks:
    """A monotonic and a wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.mono = 1000.0
        self.wall = 1_700_000_000.0

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.wall += seconds

    def guard(self, path: Path) -> PinGuard:
        return PinGuard(AppState(path), clock=lambda: self.mono, wall=lambda: self.wall)


@pytest.fixture
def clocks() -> Clocks:
    return Clocks()


@pytest.fixture
def state_file(tmp_path: Path) -> Path:
    return tmp_path / "data" / "state.json"


def test_first_use_sets_the_pin_as_a_salted_hash_only(clocks: Clocks, state_file: Path) -> None:
    guard = clocks.guard(state_file)
    assert not guard.is_set()
    with pytest.raises(PinError, match="No manager PIN"):
        guard.verify("1234")
    guard.set_pin("482916", "482916")
    assert guard.is_set()
    text = state_file.read_text(encoding="utf-8")
    assert "482916" not in text
    rec = json.loads(text)["manager_pin"]
    assert rec["scheme"] == "pbkdf2_sha256" and rec["iterations"] == ITERATIONS >= 200_000
    assert len(base64.b64decode(rec["salt"])) == 16 and len(base64.b64decode(rec["hash"])) == 32
    if os.name == "posix":
        assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
    assert guard.verify("482916")
    assert not guard.verify("482917")
    with pytest.raises(PinError, match="already set"):
        guard.set_pin("1111", "1111")


def test_the_same_pin_hashes_differently_each_time(tmp_path: Path, clocks: Clocks) -> None:
    a, b = clocks.guard(tmp_path / "a.json"), clocks.guard(tmp_path / "b.json")
    a.set_pin("1234")
    b.set_pin("1234")
    ra, rb = a.state.manager_pin, b.state.manager_pin
    assert ra is not None and rb is not None
    assert ra["salt"] != rb["salt"] and ra["hash"] != rb["hash"]


@pytest.mark.parametrize(("pin", "confirm", "words"), [
    ("", None, "Enter a PIN"), ("12a4", None, "digits only"), ("123", None, "4 to 12 digits"),
    ("1" * 13, None, "4 to 12 digits"), ("1234", "1243", "differ"), ("１２３４", None, "digits only"),
])
def test_bad_new_pins_are_refused(clocks: Clocks, state_file: Path, pin: str,
                                  confirm: str | None, words: str) -> None:
    guard = clocks.guard(state_file)
    with pytest.raises(PinError, match=words):
        guard.set_pin(pin, confirm)
    assert not guard.is_set() and not state_file.exists()


def test_five_wrong_tries_lock_for_sixty_seconds(clocks: Clocks, state_file: Path) -> None:
    clocks.guard(state_file).set_pin("2468")
    guard = clocks.guard(state_file)
    for n in range(MAX_TRIES - 1):
        assert not guard.verify("0000")
        assert guard.tries_left() == MAX_TRIES - 1 - n
    assert guard.wrong_message() == "Wrong PIN — 1 try left"
    assert not guard.verify("0000")
    assert guard.locked_for() == LOCK_SECONDS
    assert guard.wrong_message() == "Wrong PIN — Too many wrong PINs: try again in 60 s"
    with pytest.raises(PinLocked) as err:
        guard.verify("2468")                          # even the right PIN waits
    assert err.value.seconds == 60
    # a new guard over the same state file (the dialog reopened) is locked too
    clocks.advance(45)
    reopened = clocks.guard(state_file)
    assert reopened.locked_for() == pytest.approx(15)
    with pytest.raises(PinLocked, match="try again in 15 s"):
        reopened.verify("2468")
    clocks.advance(15)
    assert reopened.locked_for() == 0
    assert reopened.tries_left() == MAX_TRIES
    assert reopened.verify("2468")


def test_a_right_pin_forgets_wrong_tries(clocks: Clocks, state_file: Path) -> None:
    guard = clocks.guard(state_file)
    guard.set_pin("2468")
    for _ in range(MAX_TRIES - 1):
        assert not guard.verify("1111")
    assert guard.verify("2468")
    assert guard.tries_left() == MAX_TRIES
    for _ in range(MAX_TRIES - 1):
        assert not guard.verify("1111")
    assert guard.locked_for() == 0


def test_wall_clock_changes_do_not_change_the_lock(clocks: Clocks, state_file: Path) -> None:
    guard = clocks.guard(state_file)
    guard.set_pin("2468")
    for _ in range(MAX_TRIES):
        guard.verify("1111")
    clocks.wall += 3600                # someone sets the clock an hour ahead
    clocks.mono += 1
    assert guard.locked_for() == pytest.approx(59)
    clocks.wall -= 7200                # or two hours back
    assert guard.locked_for() == pytest.approx(59)
    with pytest.raises(PinLocked):
        guard.verify("2468")


def test_after_a_restart_the_wall_clock_times_the_lock(clocks: Clocks, state_file: Path) -> None:
    guard = clocks.guard(state_file)
    guard.set_pin("2468")
    for _ in range(MAX_TRIES):
        guard.verify("1111")
    clocks.mono = 5.0                  # rebooted: the monotonic clock started again
    clocks.wall += 20
    assert clocks.guard(state_file).locked_for() == pytest.approx(40)
    clocks.wall -= 7200                # and the wall clock went back two hours: capped at 60 s
    assert clocks.guard(state_file).locked_for() == LOCK_SECONDS


def test_change_pin(clocks: Clocks, state_file: Path) -> None:
    guard = clocks.guard(state_file)
    guard.set_pin("2468")
    with pytest.raises(PinError, match="current PIN is wrong .4 tries left"):
        guard.change_pin("0000", "13579", "13579")
    with pytest.raises(PinError, match="differ"):
        guard.change_pin("2468", "13579", "13578")
    guard.change_pin("2468", "13579", "13579")
    assert guard.verify("13579") and not guard.verify("2468")


def test_an_unreadable_record_refuses_every_pin(clocks: Clocks, state_file: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    guard = clocks.guard(state_file)
    guard.state.update(manager_pin={"scheme": "rot13", "hash": "x"})
    assert guard.is_set()
    assert not guard.verify("1234")
    assert "remove 'manager_pin'" in caplog.text


def test_too_few_iterations_are_refused(state_file: Path) -> None:
    with pytest.raises(ValueError):
        PinGuard(AppState(state_file), iterations=1000)
