"""The one logging setup: a rotating file in the data folder, plus warnings on stderr. The
first time a data folder is used (its log file does not exist yet), and on every start with
``--verbose``/``--debug``, the log says where everything lives: the data folder, the config
files in the order they are read, the log, state and rule database files, the backups."""

from __future__ import annotations

import logging
import logging.handlers
import platform
import sys
from pathlib import Path

from possuggest.core.paths import AppPaths

MAX_BYTES = 2_000_000       # the log file rotates at this size…
BACKUP_COUNT = 5            # …keeping this many older ones (possuggest.log.1 … .5)
_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"


def setup_logging(log_file: Path | None, verbose: bool = False,
                  paths: AppPaths | None = None) -> None:
    """Configure the root logger once; safe to call again (handlers are replaced). With
    ``paths``, a new log file (the data folder's first start) begins with where everything
    lives; with ``verbose`` every start does."""
    first = log_file is not None and not log_file.exists()
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
                log_file, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8")
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
    if paths is not None and (verbose or (first and log_file is not None and log_file.exists())):
        log_where(paths, first)


def where(paths: AppPaths) -> list[tuple[str, str]]:
    """(what, where) for every file and folder possuggest uses, config files in read order."""
    rows = [("data folder", str(paths.data_dir))]
    for n, path in enumerate(paths.config_files, 1):
        kind = ("machine-wide" if path == paths.site_config_file else
                "--config" if path == paths.extra_config_file else "user")
        rows.append((f"config file {n} ({kind})",
                     f"{path}" + ("" if path.exists() else " (absent)")))
    rows += [("log file", f"{paths.log_file} (rotates at {MAX_BYTES // 1_000_000} MB, keeps "
                          f"{BACKUP_COUNT})"),
             ("state file", str(paths.state_file)),
             ("rule database", str(paths.rules_db)),
             ("backups", f"{paths.backups_dir} (taken before database upgrades)")]
    return rows


def log_where(paths: AppPaths, first: bool = False) -> None:
    """Log where everything lives, one line each."""
    from possuggest import __version__

    log = logging.getLogger(__name__)
    frozen = getattr(sys, "frozen", False)
    log.info("%s: possuggest %s, Python %s, %s%s",
             "first start with this data folder" if first else "start", __version__,
             platform.python_version(), platform.platform(terse=True),
             f", bundle {Path(sys.executable).parent}" if frozen else "")
    for what, value in where(paths):
        log.info("%s: %s", what, value)
