"""The panel's part of ``possuggest --self-test``: the Qt libraries and platform plugins, the
cashier panel started on a data folder until it has loaded the rules, and the manager
console's chart library drawing a chart, all offscreen (no window appears)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from possuggest.services.context import AppContext

# the platform plugins the panel needs where it runs (offscreen: self-tests and CI)
REQUIRED_PLATFORMS = {"linux": {"offscreen", "xcb"}, "win32": {"offscreen", "windows"},
                      "darwin": {"offscreen", "cocoa"}}


def platform_plugins() -> set[str]:
    """The Qt platform plugins that are installed (``xcb``, ``windows``, ``offscreen``…)."""
    from PySide6.QtCore import QLibraryInfo

    folder = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms"
    names = set()
    for path in folder.glob("*"):
        if path.suffix.lower() in (".so", ".dll", ".dylib"):
            stem = path.name.split(".")[0].lower()
            names.add(stem.removeprefix("lib").removeprefix("q"))
    return names


def _draw_chart() -> int:
    """A pyqtgraph chart drawn into an image; returns how many colours it has."""
    import pyqtgraph as pg

    plot = pg.PlotWidget()
    try:
        plot.resize(240, 160)
        plot.plot([0, 1, 2, 3], [1, 3, 2, 4], pen=pg.mkPen("r", width=3))
        image = plot.grab().toImage()
        return len({image.pixel(x, y) for x in range(0, image.width(), 3)
                    for y in range(0, image.height(), 3)})
    finally:
        plot.deleteLater()


def check_panel(ctx: AppContext, timeout: float = 60.0) -> str:
    """Open the panel on ``ctx`` (rules already refreshed), wait for it to load them, close it
    with every thread stopped, then draw a chart. Raises RuntimeError naming what failed."""
    from PySide6.QtCore import QEventLoop, QTimer, qVersion
    from PySide6.QtWidgets import QApplication

    if QApplication.instance() is None:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"     # headless, whatever the screen
    from possuggest.ui.app import ensure_app, open_panel
    from possuggest.ui.controller import PanelOptions

    needed = REQUIRED_PLATFORMS.get(sys.platform, {"offscreen"})
    installed = platform_plugins()
    if needed - installed:
        raise RuntimeError("Qt platform plugins missing: " + ", ".join(sorted(needed - installed))
                           + f" (installed: {', '.join(sorted(installed)) or 'none'})")
    app = ensure_app()
    controller, window = open_panel(ctx, PanelOptions(simulate=False, api_enabled=False,
                                                      auto_refresh=False))
    loaded: dict[str, Any] = {}
    loop = QEventLoop()

    def on_engine(engine: Any) -> None:
        loaded["engine"] = engine
        loop.quit()

    controller.engineChanged.connect(on_engine)
    timer = QTimer()
    timer.setSingleShot(True)
    timer.timeout.connect(loop.quit)
    timer.start(int(timeout * 1000))
    try:
        loop.exec()
    finally:
        timer.stop()
        window.close()
        controller.shutdown()
    alive = controller.running_threads()
    if alive:
        raise RuntimeError(f"threads still running after the panel closed: {', '.join(alive)}")
    engine = loaded.get("engine")
    if engine is None:
        raise RuntimeError(f"the panel loaded no rules within {timeout:.0f} s")
    colours = _draw_chart()
    if colours < 3:
        raise RuntimeError(f"the chart library drew an empty chart ({colours} colours)")
    return (f"Qt {qVersion()} on {app.platformName()}, platform plugins "
            f"{', '.join(sorted(installed))}; panel loaded rule set {engine.rule_set_id}; "
            f"chart drawn")


__all__ = ["REQUIRED_PLATFORMS", "check_panel", "platform_plugins"]
