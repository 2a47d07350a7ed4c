"""The panel's application controller: owns the session, the event writer, the basket
sources (till watcher, local API, scan box), the demo till simulator and the worker tasks.

It lives in the GUI thread and never touches SQLite itself. Sources update the thread-safe
``SaleSession`` in their own threads and notify the GUI through queued signals; the window
then draws ``session.view``. ``shutdown()`` stops every thread it started.
"""

from __future__ import annotations

import errno
import gc
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from possuggest.services.context import AppContext
from possuggest.services.startup import DEMO_SALES, Plan, make_plan
from possuggest.ui.workers import TaskHandle, TaskThread, WatcherThread

log = logging.getLogger(__name__)

SOURCES = ("till", "api", "scanner")


@dataclass
class PanelOptions:
    """How this panel runs; the defaults are the product's, tests and benchmarks tune them."""

    force_demo: bool = False
    demo_sales: int = DEMO_SALES
    simulate: bool = True                       # run the till simulator in demo mode
    sim_line_interval: tuple[float, float] = (1.0, 3.0)
    sim_pause: tuple[float, float] = (2.0, 5.0)
    sim_seed: int | None = None
    sim_take_suggestion_p: float = 0.35
    auto_refresh: bool = True                   # refresh when there is no active rule set
    api_enabled: bool | None = None             # None: from the config
    api_port: int | None = None                 # None: from the config (0 = any free port)
    watcher_enabled: bool | None = None         # None: from the config
    poll_ms: int | None = None                  # None: from the config
    watch_files: bool = True                    # poll at once when the till file changes
    products_every_s: float = 30.0


@dataclass(frozen=True)
class SourceState:
    state: str          # 'ok' | 'off' | 'starting' | 'missing' | 'locked' | 'error' | 'waiting'
    text: str


def describe_age(created_at: str | None, now: datetime | None = None) -> tuple[str, bool]:
    """("rules 3 h old", stale?) from a rule set's ISO creation time."""
    if not created_at:
        return "no rules yet", True
    try:
        made = datetime.fromisoformat(created_at)
    except ValueError:
        return "rules of unknown age", False
    secs = max(0.0, ((now or datetime.now()) - made).total_seconds())
    if secs < 90:
        text = "rules: just now"
    elif secs < 3600:
        text = f"rules: {secs / 60:.0f} min old"
    elif secs < 48 * 3600:
        text = f"rules: {secs / 3600:.0f} h old"
    else:
        text = f"rules: {secs / 86400:.0f} days old"
    return text, secs > 8 * 86400


class AppController(QObject):
    viewChanged = Signal()                       # draw session.view
    engineChanged = Signal(object)               # SuggestionEngine
    productsChanged = Signal(object)             # dict[sku, Product] (scan box search)
    sourceChanged = Signal(str, str, str)        # source, state, text
    progressChanged = Signal(str, float, str)    # phase ('demo'|'refresh'|'engine'|''), 0..1, msg
    busyChanged = Signal(bool)                   # a cancellable task is running
    bannerShown = Signal(str, str, str)          # key, level, text
    bannerCleared = Signal(str)
    scanResult = Signal(bool, str)               # ok, message
    _apiTouched = Signal()

    def __init__(self, ctx: AppContext, options: PanelOptions | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        from possuggest.serving.events import EventWriter
        from possuggest.serving.sale_session import SessionHub

        self.ctx = ctx
        self.options = options or PanelOptions()
        self.plan: Plan = make_plan(ctx, self.options.force_demo, self.options.demo_sales)
        self.register = self.plan.register
        self.writer = EventWriter(self.plan.rules_db)
        self.hub = SessionHub(None, ctx.settings.holdout.share, self.writer.put)
        self.session = self.hub.session(self.register)
        self.engine: Any = None
        self.products: dict[str, Any] = {}
        self._sku_lookup: dict[str, str] = {}
        self.api: Any = None
        self.api_port: int | None = None
        self.simulator: Any = None
        self.watcher: WatcherThread | None = None
        self.tasks: list[TaskThread] = []
        self.phase = "engine"                    # what the start-up task is doing
        self.progress: tuple[float, str] = (0.0, "")
        self.rules_state = "loading"             # loading|building|refreshing|ready|none|failed
        self.sources: dict[str, SourceState] = {s: SourceState("starting", "") for s in SOURCES}
        self.banners: dict[str, tuple[str, str]] = {}
        self.refresh_summary: Any = None
        self.started = False
        self.closed = False
        self._apiTouched.connect(self._on_view, Qt.ConnectionType.QueuedConnection)
        self._health = QTimer(self)
        self._health.setInterval(5000)
        self._health.timeout.connect(self._check_health)

    # -- life cycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Start every source and the start-up task; returns at once."""
        if self.started or self.closed:
            return
        self.started = True
        log.info("panel starting: till %s (%s), rules %s", self.plan.till_path,
                 "demo" if self.plan.demo else "configured", self.plan.rules_db)
        if self.ctx.config_note:
            self.show_banner("config", "warn", f"Settings file problem: {self.ctx.config_note}")
        self._set_source("scanner", "ok", "scan box ready")
        self._health.start()
        self._start_api()
        if self.plan.demo and not self.plan.till_path.exists():
            self._set_source("till", "waiting", "creating the demo store")
            self.rules_state = "building"
        else:
            self._start_watcher()
        self._run_task("startup", self._startup_job)

    def shutdown(self) -> None:
        """Stop every thread this controller started (idempotent)."""
        if self.closed:
            return
        self.closed = True
        log.info("panel stopping")
        for task in self.tasks:
            task.cancel()
        if self.simulator is not None:
            self.simulator.stop()
        if self.api is not None:
            try:
                self.api.stop()
            except Exception:  # pragma: no cover - best effort at shutdown
                log.exception("stopping the basket API failed")
        if self.watcher is not None:
            self.watcher.stop()
        for task in list(self.tasks):
            if not task.wait(30_000):  # pragma: no cover - a stuck SQLite call
                log.error("task %s did not stop", task.task)
        self._health.stop()
        if self.writer._thread.is_alive():
            self.writer.flush(2.0)
        self.writer.close()

    def running_threads(self) -> list[str]:
        """Names of threads started by this controller that are still running."""
        alive: list[str] = []
        if self.writer._thread.is_alive():
            alive.append("event-writer")
        if self.api is not None and self.api._thread.is_alive():
            alive.append("basket-api")
        if self.simulator is not None and self.simulator.running:
            alive.append("till-simulator")
        if self.watcher is not None and self.watcher.isRunning():
            alive.append("till-watcher")
        alive += [f"task-{t.task}" for t in self.tasks if t.isRunning()]
        return alive

    # -- banners and sources ------------------------------------------------------------------
    def show_banner(self, key: str, level: str, text: str, clear_after_ms: int = 0) -> None:
        self.banners[key] = (level, text)
        self.bannerShown.emit(key, level, text)
        if clear_after_ms:
            QTimer.singleShot(clear_after_ms, self, lambda: self._clear_if(key, text))

    def _clear_if(self, key: str, text: str) -> None:
        if self.banners.get(key, ("", ""))[1] == text:
            self.clear_banner(key)

    def clear_banner(self, key: str) -> None:
        if self.banners.pop(key, None) is not None:
            self.bannerCleared.emit(key)

    def _set_source(self, source: str, state: str, text: str) -> None:
        new = SourceState(state, text)
        if self.sources.get(source) != new:
            self.sources[source] = new
            self.sourceChanged.emit(source, state, text)

    # -- the local basket API -----------------------------------------------------------------
    def _start_api(self) -> None:
        from possuggest.core.config import ensure_api_token
        from possuggest.services.serve import basket_handler
        from possuggest.serving.basket_api import BasketApi

        enabled = self.options.api_enabled
        if enabled is None:
            enabled = self.ctx.settings.api.enabled
        if not enabled:
            self._set_source("api", "off", "basket API off")
            return
        port = self.options.api_port if self.options.api_port is not None else \
            self.ctx.settings.api.port
        try:
            token = ensure_api_token(self.ctx.settings, self.ctx.paths.config_file)
        except OSError as exc:
            self._set_source("api", "error", "basket API off")
            self.show_banner("api", "warn", f"Basket API is off: the token cannot be saved "
                                            f"({exc.strerror}).")
            return
        inner = basket_handler(self.hub)
        register = self.register

        def handle(req: Any) -> list[dict[str, Any]]:
            out = inner(req)           # runs in the API's thread; the session is thread-safe
            if req.register == register:
                self._apiTouched.emit()
            return out

        def health() -> dict[str, Any]:
            eng = self.engine
            return {"rule_set": None if eng is None else eng.rule_set_id,
                    "rules": 0 if eng is None else eng.n_rules, "register": register}

        try:
            self.api = BasketApi(port, token, handle, health).start()
        except OSError as exc:
            in_use = exc.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1))
            why = f"port {port} is in use" if in_use else (exc.strerror or str(exc))
            self._set_source("api", "error", f"API: {why}")
            self.show_banner("api", "warn", f"Basket API could not start: {why}. Suggestions "
                                            "continue from the till and the scan box.")
            log.warning("basket API not started: %s", why)
            return
        self.api_port = self.api.address[1]
        self._set_source("api", "ok", f"API on port {self.api_port}")

    # -- the till watcher ---------------------------------------------------------------------
    def _start_watcher(self) -> None:
        if self.watcher is not None or self.closed:
            return
        enabled = self.options.watcher_enabled
        if enabled is None:
            enabled = self.ctx.settings.watcher.enabled
        if not enabled:
            self._set_source("till", "off", "till watcher off")
            return
        poll_ms = self.options.poll_ms or self.ctx.settings.watcher.poll_ms
        self.watcher = WatcherThread(self.plan.till_path, self.plan.till_settings, poll_ms,
                                     self._on_sale, self.options.products_every_s,
                                     self.options.watch_files)
        self.watcher.stateChanged.connect(self._on_till_state)
        self.watcher.productsRead.connect(self._on_products)
        self.watcher.saleSeen.connect(self._on_view)
        self._set_source("till", "starting", "connecting to the till")
        self.watcher.start()

    def _on_sale(self, sale: Any) -> None:
        """In the watcher thread: the register's open sale changed."""
        skus = [sku for sku, qty in sale.lines if qty > 0]
        self.session.update(sale.sale_id, skus, source="till")

    def _on_till_state(self, state: str, message: str) -> None:
        if self.closed:
            return
        name = self.plan.till_path.name
        if state == "ok":
            self._set_source("till", "ok", "till connected")
            if "till" in self.banners:
                self.show_banner("till", "ok", f"Till database {name} is back — connected again.",
                                 clear_after_ms=5000)
            return
        label = {"missing": "till not found", "locked": "till locked"}.get(state, "till unreadable")
        self._set_source("till", state, label)
        what = {"missing": f"Till database {name} not found",
                "locked": f"Till database {name} is locked by another program"}.get(
                    state, f"Till database {name} cannot be read")
        self.show_banner("till", "error" if state == "error" else "warn",
                         f"{what}. Reconnecting by itself; the basket API and scan box "
                         f"keep working." + (f"\n{message}" if state == "error" and message else ""))

    def _on_products(self, products: dict[str, Any]) -> None:
        if self.closed:
            return
        self._set_products(products)
        eng = self.engine
        if eng is not None and eng.rules is not None and products != eng.products:
            from possuggest.services.startup import engine_with_products

            plan = self.plan
            self._run_task("products", lambda h: engine_with_products(eng, products, plan))

    def _set_products(self, products: dict[str, Any]) -> None:
        if not products or products == self.products:
            return
        self.products = dict(products)
        lookup: dict[str, str] = {}
        for sku, prod in self.products.items():
            lookup.setdefault(sku.casefold(), sku)
            lookup.setdefault(prod.name.casefold(), sku)
        self._sku_lookup = lookup
        self.productsChanged.emit(self.products)

    # -- tasks --------------------------------------------------------------------------------
    def _run_task(self, name: str, fn: Any) -> TaskThread | None:
        if self.closed:
            return None
        task = TaskThread(name, fn)
        task.progress.connect(self._on_progress)
        task.posted.connect(self._on_posted)
        task.succeeded.connect(self._on_task_done)
        task.failed.connect(self._on_task_failed)
        task.was_cancelled.connect(self._on_task_cancelled)
        task.finished.connect(self._on_task_finished)
        self.tasks.append(task)
        task.start()
        if name in ("startup", "refresh"):
            self.busyChanged.emit(True)
        return task

    def _on_task_finished(self) -> None:
        task = self.sender()
        if isinstance(task, TaskThread) and task in self.tasks and not self.closed:
            task.wait()
            self.tasks.remove(task)
            task.deleteLater()
        if not self.busy:
            self.busyChanged.emit(False)

    @property
    def busy(self) -> bool:
        return any(t.task in ("startup", "refresh") and t.isRunning() for t in self.tasks)

    def _startup_job(self, h: TaskHandle) -> Any:
        from possuggest.services import startup

        plan = self.plan
        startup.ensure_store(plan)
        h.post("store_ready", True)
        if plan.demo and not plan.till_path.exists():
            h.post("phase", "demo")
            startup.build_demo(plan, h.stage(0.0, 1.0), h.cancelled)
        h.post("till_ready", True)
        if plan.demo and self.options.simulate:
            h.post("model", startup.demo_model(plan))
        if not startup.has_active_rules(plan) and self.options.auto_refresh:
            h.post("phase", "refresh")
            h.post("refreshed", startup.run_refresh(plan, h.stage(0.0, 1.0), h.cancelled))
        h.post("phase", "engine")
        return startup.load_engine(plan)

    def _refresh_job(self, h: TaskHandle) -> Any:
        from possuggest.services import startup

        h.post("phase", "refresh")
        summary = startup.run_refresh(self.plan, h.stage(0.0, 1.0), h.cancelled)
        h.post("refreshed", summary)
        h.post("phase", "engine")
        return startup.load_engine(self.plan)

    def refresh_rules(self) -> bool:
        """Mine a new rule set in a worker (the "Refresh rules" action)."""
        if self.busy or self.closed:
            return False
        self.clear_banner("refresh")
        self._run_task("refresh", self._refresh_job)
        return True

    def cancel_task(self) -> None:
        for t in self.tasks:
            if t.task in ("startup", "refresh"):
                t.cancel()

    def _on_progress(self, task: str, fraction: float, message: str) -> None:
        if self.closed:
            return
        self.progress = (fraction, message)
        self.progressChanged.emit(self.phase, fraction, message)

    def _on_posted(self, task: str, key: str, value: Any) -> None:
        if self.closed:
            return
        if key == "phase":
            self.phase = value
            self.progress = (0.0, "")
            if value == "demo":
                self.rules_state = "building"
            elif value == "refresh" and self.engine is None:
                self.rules_state = "refreshing"
            self.progressChanged.emit(self.phase, 0.0, "")
            self.viewChanged.emit()
        elif key == "store_ready":
            self._start_writer()
        elif key == "till_ready":
            self._start_watcher()
        elif key == "model":
            self._start_simulator(value)
        elif key == "refreshed":
            self.refresh_summary = value

    def _on_task_done(self, task: str, result: Any) -> None:
        if self.closed:
            return
        if task in ("startup", "refresh", "products"):
            self.set_engine(result)
        if task in ("startup", "refresh"):
            self.phase = ""
            self.progressChanged.emit("", 1.0, "")
            if task == "refresh" and self.refresh_summary is not None:
                s = self.refresh_summary
                self.show_banner("refresh", "ok",
                                 f"Rules updated: {s.n_cross:,} cross-sell and {s.n_upgrade:,} "
                                 f"upgrade rules from {s.n_baskets:,} sales.",
                                 clear_after_ms=8000)

    def _check_health(self) -> None:
        """Surface background problems that have no signal of their own."""
        if self.closed:
            return
        err = self.writer.error
        if err:
            self.show_banner("events", "warn", f"Feedback is not being saved: {err}")
        elif "events" in self.banners:
            self.clear_banner("events")
        sim = self.simulator
        if sim is not None and not sim.running and sim.error and "simulator" not in self.banners:
            self.show_banner("simulator", "info", f"The demo till simulator stopped: {sim.error}")

    def _start_writer(self) -> None:
        """Start writing events (queued ones too) once the database exists."""
        if not self.writer._thread.is_alive() and not self.closed and \
                self.writer._thread.ident is None:
            self.writer.start()

    def _on_task_failed(self, task: str, message: str) -> None:
        if self.closed:
            return
        self._start_writer()        # it reports its own error if the database is unusable
        if task in ("startup", "refresh"):
            self.phase = ""
            self.progressChanged.emit("", 0.0, "")
            if self.engine is None:
                self.rules_state = "failed"
            what = "Rules could not be loaded" if task == "startup" else "Refresh failed"
            self.show_banner("refresh", "error", f"{what}: {message}")
            self.viewChanged.emit()
        else:
            log.warning("%s: %s", task, message)

    def _on_task_cancelled(self, task: str) -> None:
        if self.closed:
            return
        self._start_writer()
        self.phase = ""
        self.progressChanged.emit("", 0.0, "")
        if self.engine is None:
            self.rules_state = "none"
        keep = "the previous rules stay active" if self.engine is not None and \
            self.engine.rules is not None else "no rules yet"
        self.show_banner("refresh", "info", f"Refresh cancelled — {keep}.", clear_after_ms=8000)
        self.viewChanged.emit()

    # -- the engine ---------------------------------------------------------------------------
    def set_engine(self, engine: Any) -> None:
        """Hand a freshly loaded engine to every session (GUI thread)."""
        self.engine = engine
        self.rules_state = "ready" if engine is not None and engine.rules is not None else "none"
        self.hub.set_engine(engine)
        if engine is not None:
            # the rule index is long-lived: keep it out of the collector's full passes, which
            # would otherwise cost tens of ms inside a scan with a large rule set in memory
            gc.collect()
            gc.freeze()
        if engine is not None and engine.products:
            self._set_products(engine.products)
        self.engineChanged.emit(engine)
        self._on_view()

    def rules_age(self) -> tuple[str, bool]:
        eng = self.engine
        if eng is None or eng.rules is None:
            return describe_age(None)
        return describe_age(eng.rules.rule_set.created_at)

    # -- the demo till simulator --------------------------------------------------------------
    def _start_simulator(self, model: Any) -> None:
        from possuggest.demo.simulator import TillSimulator

        if self.simulator is not None or self.closed or not self.plan.demo:
            return
        o = self.options
        prices = {p["sku"]: float(p["price"]) for p in model.products}
        session = self.session
        self.simulator = TillSimulator(
            self.plan.till_path, model.sample_sale, register=self.register, seed=o.sim_seed,
            line_interval=o.sim_line_interval, pause=o.sim_pause,
            take_suggestion_p=o.sim_take_suggestion_p,
            suggestions=lambda: [s.sku for s in session.view.suggestions], prices=prices)
        self.simulator.start()
        log.info("till simulator ringing up sales at register %s", self.register)

    # -- the cashier's actions ----------------------------------------------------------------
    def _on_view(self) -> None:
        if not self.closed:
            self.viewChanged.emit()

    def accept(self, sku: str, source: str = "key") -> None:
        self.session.accept(sku, source)
        self._on_view()

    def dismiss(self, sku: str, source: str = "key") -> None:
        self.session.dismiss(sku, source)
        self._on_view()

    def resolve(self, text: str) -> str | None:
        """A scanned code or typed product name (or "Name · SKU" from the completer) → SKU."""
        t = text.strip()
        if not t:
            return None
        if t in self.products:
            return t
        hit = self._sku_lookup.get(t.casefold())
        if hit is not None:
            return hit
        if " · " in t:
            return self.resolve(t.rsplit(" · ", 1)[1])
        eng = self.engine
        if eng is not None and eng.known(t):
            return t
        return None

    def scan(self, text: str) -> bool:
        """The scan box: add the item to the current basket (returns False if unknown)."""
        sku = self.resolve(text)
        if sku is None:
            self._set_source("scanner", "ok", "scan box ready")
            self.scanResult.emit(False, f"No product matches “{text.strip()}”")
            return False
        self.session.add_item(sku, source="scan")
        name = self.products[sku].name if sku in self.products else sku
        self._set_source("scanner", "ok", f"scanned {sku}")
        self.scanResult.emit(True, f"Added {name}")
        self._on_view()
        return True

    def name_of(self, sku: str) -> str:
        prod = self.products.get(sku)
        if prod is not None:
            return str(prod.name)
        eng = self.engine
        return eng.name_of(sku) if eng is not None else sku


__all__ = ["AppController", "PanelOptions", "SourceState", "describe_age"]
