"""The one logging setup: a rotating file in the data folder, plus warnings on stderr."""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"


def setup_logging(log_file: Path | None, verbose: bool = False) -> None:
    """Configure the root logger once; safe to call again (handlers are replaced)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_possuggest", False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    if log_file is not None:
        try:
            log_file.parent.mkdir(parents=True, exist_ok=True)
            fh = logging.handlers.RotatingFileHandler(
                log_file, maxBytes=2_000_000, backupCount=5, encoding="utf-8")
            fh.setFormatter(logging.Formatter(_FORMAT))
            fh._possuggest = True  # type: ignore[attr-defined]
            root.addHandler(fh)
        except OSError:
            pass  # a read-only data folder must not stop the till-side app
    sh = logging.StreamHandler(sys.stderr)
    sh.setLevel(logging.DEBUG if verbose else logging.WARNING)
    sh.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    sh._possuggest = True  # type: ignore[attr-defined]
    root.addHandler(sh)
