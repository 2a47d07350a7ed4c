"""``possuggest gui`` (and ``possuggest`` with no command): open the cashier panel.

The window is shown first; the demo store, refresh and engine load then run in workers
while the panel already paints. ``--exit-after SECONDS`` closes cleanly (every thread
stopped) for smoke tests.
"""

from __future__ import annotations

import logging
import signal
import sys
import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from possuggest.services.app import start_logging
from possuggest.services.context import AppContext
from possuggest.ui import refcount_guard
from possuggest.ui.controller import AppController, PanelOptions
from possuggest.ui.panel import PanelWindow

log = logging.getLogger(__name__)


def ensure_app() -> QApplication:
    refcount_guard.install()
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("possuggest")
    app.setApplicationDisplayName("possuggest")
    app.setOrganizationName("possuggest")
    app.setDesktopFileName("possuggest")
    return app


def open_panel(ctx: AppContext, options: PanelOptions | None = None,
               start: bool = True) -> tuple[AppController, PanelWindow]:
    """Build the controller and the window, show it, and start the sources on the next turn
    of the event loop (so the first paint is not held up)."""
    controller = AppController(ctx, options)
    window = PanelWindow(controller)
    window.show()
    if start:
        QTimer.singleShot(0, controller.start)
    return controller, window


def run_gui(ctx: AppContext, demo: bool = False, exit_after: float | None = None,
            verbose: bool = False) -> int:
    started = time.perf_counter()
    start_logging(ctx, verbose)
    app = ensure_app()
    options = PanelOptions(force_demo=demo)
    controller, window = open_panel(ctx, options)
    log.info("panel shown in %.0f ms", (time.perf_counter() - started) * 1000)

    if exit_after is not None:
        QTimer.singleShot(max(0, int(float(exit_after) * 1000)), window.close)

    # Ctrl+C in a terminal closes the panel cleanly (Python only sees signals between Qt events)
    previous = signal.signal(signal.SIGINT, lambda *_: QTimer.singleShot(0, window.close))
    heartbeat = QTimer()
    heartbeat.timeout.connect(lambda: None)
    heartbeat.start(250)
    try:
        code = app.exec()
    finally:
        heartbeat.stop()
        signal.signal(signal.SIGINT, previous)
        controller.shutdown()
    alive = controller.running_threads()
    if alive:  # pragma: no cover - should never happen
        log.error("threads still running at exit: %s", ", ".join(alive))
    return int(code)
