"""Time-of-day and week context: which of eight buckets (four dayparts × weekday/weekend) a
sale falls in. Used by mining (popularity per bucket) and the engine (the prior for now).

Basket times are *wall-clock seconds*: the till's naive local times read as if they were UTC,
so the hour of day is the one on the receipt whatever the machine's time zone. "Now" is the
local wall clock."""

from __future__ import annotations

from datetime import datetime, timezone

DAYPART_HOURS = (11, 13, 15)          # before 11, 11–13, 13–15, from 15
DAYPARTS = ("mornings", "lunchtimes", "early afternoons", "afternoons and evenings")
N_CONTEXT = 2 * (len(DAYPART_HOURS) + 1)


def bucket_of_datetime(moment: datetime) -> int:
    part = sum(moment.hour >= h for h in DAYPART_HOURS)
    return part * 2 + (1 if moment.weekday() >= 5 else 0)


def bucket_of(when: float | None = None) -> int:
    """Bucket of a wall-clock time in seconds (see the module docstring); None = now."""
    if when is None:
        return bucket_of_datetime(datetime.now())
    return bucket_of_datetime(datetime.fromtimestamp(when, tz=timezone.utc))


def bucket_label(bucket: int) -> str:
    """"weekday mornings", "weekend lunchtimes", ..."""
    day = "weekend" if bucket % 2 else "weekday"
    return f"{day} {DAYPARTS[bucket // 2]}"
