"""Progress and cancel for long work (reading the till, mining, evaluation, the demo store).

Long functions take two optional callables: ``progress(fraction, message)`` with a fraction
in 0..1, and ``cancelled()`` which, once it returns True, makes the work stop by raising
:class:`~possuggest.core.errors.Cancelled`. The CLI passes a progress bar, the panel a
worker thread's handle. A function that runs several steps gives each step its share of
0..1 with :func:`sub_range`.
"""

from __future__ import annotations

from collections.abc import Callable

from possuggest.core.errors import Cancelled

ProgressFn = Callable[[float, str], None]
"""``progress(fraction, message)``: ``fraction`` in 0..1, ``message`` says what is being done."""

CancelledFn = Callable[[], bool]
"""``cancelled()``: True once the user asked to stop."""


def check_cancelled(cancelled: CancelledFn | None, message: str = "cancelled") -> None:
    """Raise ``Cancelled(message)`` when ``cancelled`` is given and returns True."""
    if cancelled is not None and cancelled():
        raise Cancelled(message)


def sub_range(progress: ProgressFn | None, lo: float, hi: float,
              cancelled: CancelledFn | None = None,
              message: str = "cancelled") -> ProgressFn:
    """A progress callable for one step: its 0..1 (clamped) lands on ``lo..hi`` of
    ``progress`` (which may be None: nothing is reported). With ``cancelled``, every call
    first checks it and raises ``Cancelled(message)``."""
    span = hi - lo

    def step(fraction: float, msg: str) -> None:
        check_cancelled(cancelled, message)
        if progress is not None:
            progress(lo + span * max(0.0, min(1.0, fraction)), msg)

    return step


__all__ = ["ProgressFn", "CancelledFn", "check_cancelled", "sub_range"]
