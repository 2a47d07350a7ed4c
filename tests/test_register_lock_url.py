"""One panel per register also for a server till: the lock is keyed on the URL as written,
whatever folder each panel was started from."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from possuggest.services.locks import RegisterInUse, RegisterLock

URL = "postgresql+psycopg://reader@db.shop.lan/till"


def test_a_server_till_register_is_locked_by_its_url(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    here = os.getcwd()
    try:
        os.chdir(tmp_path / "a")
        first = RegisterLock(tmp_path / "locks", URL, "1")
        first.acquire()
        os.chdir(tmp_path / "b")
        with pytest.raises(RegisterInUse):
            RegisterLock(tmp_path / "locks", URL, "1").acquire()
        other = RegisterLock(tmp_path / "locks", URL, "2")     # another register is free
        other.acquire()
        other.release()
        first.release()
    finally:
        os.chdir(here)
