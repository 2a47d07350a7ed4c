"""Time-of-day and week context: which of eight buckets (four dayparts × weekday/weekend) a
sale falls in. Used by mining (popularity per bucket) and the engine (the prior for now)."""

from __future__ import annotations

import time
from datetime import datetime

DAYPART_HOURS = (11, 13, 15)          # before 11, 11–13, 13–15, from 15
DAYPARTS = ("mornings", "lunchtimes", "early afternoons", "afternoons and evenings")
N_CONTEXT = 2 * (len(DAYPART_HOURS) + 1)


def bucket_of_datetime(moment: datetime) -> int:
    part = sum(moment.hour >= h for h in DAYPART_HOURS)
    return part * 2 + (1 if moment.weekday() >= 5 else 0)


def bucket_of(when: float | None = None) -> int:
    """Bucket of an epoch time (local time, as the till records it); None = now."""
    return bucket_of_datetime(datetime.fromtimestamp(time.time() if when is None else when))


def bucket_label(bucket: int) -> str:
    """"weekday mornings", "weekend lunchtimes", ..."""
    day = "weekend" if bucket % 2 else "weekday"
    return f"{day} {DAYPARTS[bucket // 2]}"
