"""A guard against a reference-count bug in some PySide6 builds on Python < 3.12.

PySide6 6.12.0 (abi3 wheels) returns ``None`` from void methods and ``True``/``False`` from
``Signal.emit()`` without a new reference. On Python 3.12+ those objects are immortal, so it
does not matter; on 3.11 every such call lowers their reference count by one, and after a few
hundred ``emit()`` or a few thousand ``setText()`` calls the interpreter aborts with
"Fatal Python error: bool_dealloc / none_dealloc". A cashier panel runs all day, so this
would crash it within minutes.

``install()`` measures the leak once; only when it is present does it raise the three
objects' reference counts far out of reach (2**50: decades of calls), which is what
immortality means on 3.12. Nothing is done on Python 3.12+ or on a fixed PySide6.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)

MARGIN = 1 << 50
_state = {"checked": False, "leaks": False}


def leak_detected() -> bool:
    """True when a void Qt call steals a reference to None (the bug is present)."""
    if sys.version_info >= (3, 12):
        return False
    from PySide6.QtCore import QObject

    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(64):
        probe.setObjectName("probe")      # void: returns None
    return sys.getrefcount(None) <= before - 32


def _raise_refcount(obj: object) -> None:
    # ob_refcnt is the first field of every CPython object (id() is its address)
    cell = ctypes.c_ssize_t.from_address(id(obj))
    if cell.value < MARGIN // 2:
        cell.value += MARGIN


def install() -> bool:
    """Apply the guard if this PySide6 leaks; returns whether it is active. Idempotent."""
    if not _state["checked"]:
        _state["checked"] = True
        _state["leaks"] = leak_detected()
        if _state["leaks"]:
            import PySide6

            log.info("PySide6 %s leaks references to None/True/False on Python %d.%d; "
                        "guarding against the crash it would cause", PySide6.__version__,
                        *sys.version_info[:2])
    if _state["leaks"]:
        for obj in (None, True, False):
            _raise_refcount(obj)
    return bool(_state["leaks"])
