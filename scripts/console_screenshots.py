"""Screenshots of the manager console for the README (docs/screenshots/console-*.png), at 100%
scale, on the demo store after 3,000 simulated sales: the rules browser with its chart, the
what-if preview with a "why not", and the earnings dashboard.

    QT_QPA_PLATFORM=offscreen python scripts/console_screenshots.py [OUT_DIR]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_SCALE_FACTOR", "1")

from PySide6.QtWidgets import QApplication  # noqa: E402

from possuggest.services.context import AppContext  # noqa: E402
from possuggest.services.simulate import simulate_sales  # noqa: E402
from possuggest.ui.app import ensure_app, open_panel  # noqa: E402
from possuggest.ui.console.window import ManagerConsole  # noqa: E402
from possuggest.ui.controller import PanelOptions  # noqa: E402


def spin(app: QApplication, cond: Callable[[], bool], timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise SystemExit("timed out waiting for the console")
        app.processEvents()
        time.sleep(0.01)


def settle(app: QApplication, n: int = 40) -> None:
    for _ in range(n):
        app.processEvents()
        time.sleep(0.01)


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")
    out.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="possuggest-shots-"))
    config = root / "config.toml"
    config.write_text("[api]\nenabled = false\n", encoding="utf-8")
    ctx = AppContext.create(str(root / "data"), str(config), strict=True)
    simulate_sales(ctx, 3000, seed=7)
    ctx = AppContext.create(str(root / "data"), str(config), strict=False)
    app = ensure_app()
    controller, window = open_panel(ctx, PanelOptions(api_enabled=False))
    spin(app, lambda: controller.rules_state == "ready")
    console = ManagerConsole(controller, window)
    console.resize(1400, 820)
    console.show()

    rules = console.show_tab("Rules")
    spin(app, lambda: rules.model.view is not None and not rules.model.busy)
    rules.product.setText("mower")
    rules.apply_filter()
    spin(app, lambda: rules.model.view is not None and not rules.model.busy
         and rules.model.rowCount() > 0)
    settle(app, 80)
    rules.select_rule(rules.model.rule_at(0).rule_id)
    settle(app, 60)
    console.grab().save(str(out / "console-rules.png"))

    whatif = console.show_tab("What-if")
    got: list[object] = []
    whatif.explained.connect(got.append)
    whatif.set_basket(["MOW-STD"])
    spin(app, lambda: bool(got))
    print(whatif.ask_why_not("MOW-PRO"))
    settle(app)
    console.grab().save(str(out / "console-whatif.png"))

    dash = console.show_tab("Earnings")
    done: list[object] = []
    dash.reported.connect(done.append)
    dash.failed.connect(done.append)
    dash.refresh()
    spin(app, lambda: bool(done))
    console.resize(1400, 1300)
    settle(app, 60)
    console.grab().save(str(out / "console-earnings.png"))

    console.close()
    window.close()
    controller.shutdown()
    for name in ("console-rules.png", "console-whatif.png", "console-earnings.png"):
        print(out / name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
