"""A plain-text progress bar for the command line (redraws on a terminal, one line per stage
otherwise)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    def __init__(self, stream: TextIO | None = None, width: int = 30) -> None:
        self.stream = stream or sys.stderr
        self.width = width
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_msg = ""
        self._last_draw = 0.0

    def __call__(self, fraction: float, message: str) -> None:
        fraction = max(0.0, min(1.0, fraction))
        if self.tty:
            now = time.monotonic()
            if now - self._last_draw < 0.05 and fraction < 1.0:
                return
            self._last_draw = now
            filled = int(round(self.width * fraction))
            bar = "█" * filled + "░" * (self.width - filled)
            self.stream.write(f"\r{bar} {fraction * 100:5.1f}%  {message[:50]:<50}")
            self.stream.flush()
        elif message != self._last_msg:
            self.stream.write(f"{fraction * 100:5.1f}%  {message}\n")
            self.stream.flush()
        self._last_msg = message

    def done(self) -> None:
        if self.tty:
            self.stream.write("\r" + " " * (self.width + 60) + "\r")
            self.stream.flush()
