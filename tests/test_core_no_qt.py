"""The core never imports PySide6: it must run headless, in the CLI and in benchmarks."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import possuggest


def test_core_modules_import_no_qt() -> None:
    core = [m.name for m in pkgutil.walk_packages(possuggest.__path__, "possuggest.")
            if not m.name.startswith("possuggest.ui") and m.name != "possuggest.__main__"]
    assert {"possuggest.serving.engine", "possuggest.mining.miner", "possuggest.till.reader",
            "possuggest.store.rule_store", "possuggest.cli.main",
            "possuggest.services.context"} <= set(core)
    code = ("import sys\n"
            + "".join(f"import {name}\n" for name in core)
            + "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6')]\n"
            + "assert not bad, bad\n"
            + "assert 'possuggest.ui' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1])


def test_source_has_no_qt_imports_outside_ui() -> None:
    root = Path(possuggest.__file__).parent
    for path in root.rglob("*.py"):
        if "ui" in path.relative_to(root).parts:
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            s = line.strip()
            assert not (s.startswith(("import PySide6", "from PySide6"))), f"{path}: {s}"


def test_suggest_path_does_not_import_mlxtend() -> None:
    """Heavy imports stay off the start-up path of the engine."""
    code = ("import sys\nimport possuggest.serving.engine, possuggest.store.rule_store, possuggest.till.reader\n"
            "assert 'mlxtend' not in sys.modules and 'pandas' not in sys.modules, "
            "[m for m in sys.modules if m.startswith(('mlxtend', 'pandas'))][:3]\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1])
