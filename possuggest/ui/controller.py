"""The panel's application controller: owns the session, the event writer, the basket
sources (till watcher, local API, scan box), the demo till simulator and the worker tasks.

It lives in the GUI thread and never touches SQLite itself. Sources update the thread-safe
``SaleSession`` in their own threads and notify the GUI through queued signals; the window
then draws ``session.view``. ``shutdown()`` stops every thread it started.
"""

from __future__ import annotations

import dataclasses
import errno
import gc
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from possuggest.core.config import Settings, UiSettings
from possuggest.core.errors import PossuggestError
from possuggest.core.products import product_lookup
from possuggest.services import app as services
from possuggest.services.app import DEMO_SALES, Plan, make_plan
from possuggest.services.context import AppContext
from possuggest.services.locks import RegisterLock
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
    live_reload: bool = True                    # follow config files and other processes' rule sets
    live_interval_s: float = 0.5


@dataclass(frozen=True)
class SourceState:
    state: str          # 'ok' | 'off' | 'starting' | 'missing' | 'locked' | 'error' | 'waiting'
    text: str


def describe_age(created_at: str | None, now: datetime | None = None) -> tuple[str, bool]:
    """("updated 3 h ago", stale?) from the suggestions' (rule set's) ISO creation time, in
    the cashier's words."""
    if not created_at:
        return "not set up yet", True
    try:
        made = datetime.fromisoformat(created_at)
    except ValueError:
        return "updated: unknown", False
    secs = max(0.0, ((now or datetime.now()) - made).total_seconds())
    if secs < 90:
        text = "updated just now"
    elif secs < 3600:
        text = f"updated {secs / 60:.0f} min ago"
    elif secs < 48 * 3600:
        text = f"updated {secs / 3600:.0f} h ago"
    else:
        text = f"updated {secs / 86400:.0f} days ago"
    return text, secs > 8 * 86400


class AppController(QObject):
    viewChanged = Signal()                       # draw session.view
    engineChanged = Signal(object)               # SuggestionEngine
    productsChanged = Signal(object)             # dict[sku, Product] (scan box search)
    sourceChanged = Signal(str, str, str)        # source, state, text
    progressChanged = Signal(str, float, str)    # phase ('demo'|'refresh'|'engine'|''), 0..1, msg
    busyChanged = Signal(bool)                   # a cancellable task is running
    bannerShown = Signal(str, str, str)          # key, level, text: a lasting message
    toastShown = Signal(str, str, str)           # key, level, text: one that clears by itself
    bannerCleared = Signal(str)
    scanResult = Signal(bool, str)               # ok, message
    lookChanged = Signal()                       # the cashier's look (theme, text size…)
    settingsChanged = Signal()                   # the manager's settings changed (live)
    _apiTouched = Signal()
    _liveEngine = Signal(object)                 # from the live reloader's thread
    _liveSettings = Signal(object)
    _liveProblem = Signal(object)

    def __init__(self, ctx: AppContext, options: PanelOptions | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        from possuggest.serving.events import EventWriter
        from possuggest.serving.sale_session import SessionHub

        self.ctx = ctx
        self.options = options or PanelOptions()
        self.blocked: str | None = None          # why nothing may be served (shown as a banner)
        try:
            self.plan: Plan = make_plan(ctx, self.options.force_demo, self.options.demo_sales)
        except PossuggestError as exc:
            self.blocked = str(exc)
            self.plan = self._placeholder_plan()
        if not ctx.settings_valid:
            self.blocked = (f"Settings problem: {ctx.config_problem}. Nothing is served until "
                            f"the config file is fixed; it is read again as soon as it changes.")
        self.register = self.plan.register
        self.writer = EventWriter(self.plan.rules_db)
        self.hub = SessionHub(None, ctx.settings.holdout.share, self.writer.put,
                              sale_sink=self.writer.put)
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
        self.toasts: set[str] = set()            # keys of banners shown as toasts
        self.refresh_summary: Any = None
        self.reloader: Any = None
        self.lock: RegisterLock | None = None
        self.policy_warnings: list[str] = []
        self.started = False
        self.serving = False
        self.closed = False
        self._apiTouched.connect(self._on_view, Qt.ConnectionType.QueuedConnection)
        self._liveEngine.connect(self._on_live_engine, Qt.ConnectionType.QueuedConnection)
        self._liveSettings.connect(self._on_live_settings, Qt.ConnectionType.QueuedConnection)
        self._liveProblem.connect(self._on_live_problem, Qt.ConnectionType.QueuedConnection)
        self._health = QTimer(self)
        self._health.setInterval(5000)
        self._health.timeout.connect(self._check_health)
        # refreshes: the manager's (console), the nightly one ([refresh] nightly_at)
        from possuggest.services.refresh import NightlySchedule

        self.refresh_started_by = "manager"
        self.nightly = NightlySchedule()                  # tests give it their own clock
        self.nightly.due(ctx.settings.refresh.nightly_at)  # notes the start: no catch-up
        self._nightly_timer = QTimer(self)
        self._nightly_timer.setInterval(30_000)
        self._nightly_timer.timeout.connect(self.check_nightly)
        self._nightly_timer.start()

    def _placeholder_plan(self) -> Plan:
        """A plan that serves nothing, for a panel that must only show why."""
        s = self.ctx.settings
        return Plan(False, self.ctx.till_path, s.till, self.ctx.paths.rules_db, s)

    # -- the cashier's look: the config's [ui] defaults, the cashier's choices from state ------
    def look(self) -> UiSettings:
        chosen = self.ctx.state.look()
        return dataclasses.replace(self.ctx.settings.ui, **chosen)

    def set_look(self, key: str, value: Any) -> None:
        """Remember a look choice in the state file (the manager's config is never written)."""
        if getattr(self.look(), key) == value:
            return
        try:
            self.ctx.state.set_look(key, value)
        except OSError as exc:
            log.warning("look not saved: %s", exc)
            self.show_banner("settings", "warn", f"Display choice could not be saved: "
                                                 f"{exc.strerror}")
        self.lookChanged.emit()

    # -- life cycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Start every source and the start-up task; returns at once."""
        if self.started or self.closed:
            return
        self.started = True
        self._health.start()
        self._start_live_reload()
        if self.blocked is not None:
            log.warning("panel not serving: %s", self.blocked)
            self.rules_state = "failed"
            self.show_banner("config", "error", self.blocked)
            for source in SOURCES:
                self._set_source(source, "off", "not serving")
            self.viewChanged.emit()
            return
        self._begin_serving()

    def _begin_serving(self) -> None:
        if self.serving or self.closed:
            return
        till = self.plan.till_settings.url or self.plan.till_path   # a server till: its URL
        self.lock = RegisterLock(self.ctx.paths.lock_dir, till, self.register)
        try:
            self.lock.acquire()
        except PossuggestError as exc:
            self.lock = None
            self.blocked = str(exc)
            self.rules_state = "failed"
            self.show_banner("register", "error", str(exc))
            for source in SOURCES:
                self._set_source(source, "off", "not serving")
            self.viewChanged.emit()
            return
        self.serving = True
        self.clear_banner("config")
        log.info("panel starting: till %s (%s), rules %s", self.plan.till_path,
                 "demo" if self.plan.demo else "configured", self.plan.rules_db)
        if self.ctx.config_problem:
            self.show_banner("config", "warn", f"Settings problem: {self.ctx.config_problem}. "
                                               "The last good settings stay in effect.")
        if not self.plan.demo:
            self.ctx.claim_for_till()
            self.ctx.remember_good_settings()
        self._set_source("scanner", "ok", "scan box ready")
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
        if self.reloader is not None:
            self.reloader.stop()
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
        self.hub.end_sales()        # the open sales' records, before the writer closes
        if self.writer._thread.is_alive():
            self.writer.flush(2.0)
        self.writer.close()
        if self.lock is not None:
            self.lock.release()

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
        if self.reloader is not None and self.reloader.running:
            alive.append("live-reload")
        alive += [f"task-{t.task}" for t in self.tasks if t.isRunning()]
        return alive

    # -- banners and sources ------------------------------------------------------------------
    def show_banner(self, key: str, level: str, text: str, clear_after_ms: int = 0) -> None:
        """A message above the cards; with ``clear_after_ms`` a toast, on one line in the
        cards' heading (it takes no room from the cards), gone after that long."""
        self.banners[key] = (level, text)
        if clear_after_ms:
            self.toasts.add(key)
            self.toastShown.emit(key, level, text)
            QTimer.singleShot(clear_after_ms, self, lambda: self._clear_if(key, text))
        else:
            self.toasts.discard(key)
            self.bannerShown.emit(key, level, text)

    def _clear_if(self, key: str, text: str) -> None:
        if self.banners.get(key, ("", ""))[1] == text:
            self.clear_banner(key)

    def clear_banner(self, key: str) -> None:
        if self.banners.pop(key, None) is not None:
            self.toasts.discard(key)
            self.bannerCleared.emit(key)

    def _set_source(self, source: str, state: str, text: str) -> None:
        new = SourceState(state, text)
        if self.sources.get(source) != new:
            self.sources[source] = new
            self.sourceChanged.emit(source, state, text)

    # -- the local basket API -----------------------------------------------------------------
    def _start_api(self) -> None:
        from possuggest.services.serve import start_basket_api

        enabled = self.options.api_enabled
        if enabled is None:
            enabled = self.ctx.settings.api.enabled
        if not enabled:
            self._set_source("api", "off", "basket API off")
            return
        port = self.options.api_port if self.options.api_port is not None else \
            self.ctx.settings.api.port
        try:
            token = self.ctx.api_token()
        except OSError as exc:
            self._set_source("api", "error", "basket API off")
            self.show_banner("api", "warn", f"Basket API is off: the token cannot be saved "
                                            f"({exc.strerror}).")
            return
        register = self.register

        def touched(req: Any) -> None:     # in the API's thread; the session is thread-safe
            if req.register == register:
                self._apiTouched.emit()

        def health() -> dict[str, Any]:
            eng = self.engine
            return {"rule_set": None if eng is None else eng.rule_set_id,
                    "rules": 0 if eng is None else eng.n_rules, "register": register,
                    "store": self.writer.state}      # 503 while events cannot be saved

        try:
            self.api = start_basket_api(port, token, self.hub, health, touched)
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
        from possuggest.serving.sale_session import BasketUpdate

        self.hub.apply(BasketUpdate(self.register, sale.sale_id, tuple(sale.lines), "till"))

    def _stop_watcher(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None

    def _on_till_state(self, state: str, message: str) -> None:
        if self.closed:
            return
        name = self.plan.till_path.name
        if state == "ok":
            self._set_source("till", "ok", "till connected")
            if "till" in self.banners:
                self.show_banner("till", "ok", "Till connected again.", clear_after_ms=5000)
            return
        label = {"missing": "till not found", "locked": "till locked"}.get(state, "till unreadable")
        self._set_source("till", state, label)
        what = {"missing": f"Till not found ({name})",
                "locked": f"Till busy ({name} is locked by another program)"}.get(
                    state, f"Till cannot be read ({name})")
        self.show_banner("till", "error" if state == "error" else "warn",
                         f"{what} — reconnecting. The scan box still works."
                         + (f"\n{message}" if state == "error" and message else ""))

    def _on_products(self, products: dict[str, Any]) -> None:
        if self.closed:
            return
        self._set_products(products)
        eng = self.engine
        self._check_policy_names()
        if eng is not None and eng.rules is not None and products != eng.products:
            self._run_task("products", lambda h: services.engine_with_products(eng, products))

    def _set_products(self, products: dict[str, Any]) -> None:
        if not products or products == self.products:
            return
        self.products = dict(products)
        self._sku_lookup = product_lookup(self.products)     # SKUs, barcodes, names
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
        plan = self.plan
        recovered = services.ensure_store(plan)
        if recovered:
            h.post("store_recovered", recovered)
        h.post("store_ready", True)
        if plan.demo and not plan.till_path.exists():
            h.post("phase", "demo")
            services.build_demo(plan, h.stage(0.0, 1.0), h.cancelled)
        h.post("till_ready", True)
        if plan.demo and self.options.simulate:
            h.post("model", services.demo_model(plan))
        if not services.has_active_rules(plan) and self.options.auto_refresh:
            h.post("phase", "refresh")
            h.post("refreshed", services.run_refresh(plan, h.stage(0.0, 1.0), h.cancelled))
        h.post("phase", "engine")
        return services.load_engine(plan)

    def _refresh_job(self, h: TaskHandle) -> Any:
        from possuggest.services.refresh import run_recorded_refresh

        plan = self.plan
        h.post("phase", "refresh")
        # under the refresh lock and recorded in the history of runs (services/refresh.py)
        outcome = run_recorded_refresh(plan, self.ctx.paths.lock_dir, self.refresh_started_by,
                                       h.stage(0.0, 1.0), h.cancelled)
        h.post("refreshed", outcome)
        h.post("phase", "engine")
        return services.load_engine(plan, self.products or None)

    def refresh_refusal(self) -> str | None:
        """Why a refresh cannot start now (the manager console shows it), else None."""
        from possuggest.services.refresh import refresh_busy

        if self.closed:
            return "The panel is closing"
        if not self.serving:
            return self.blocked or "The panel is not serving a till yet"
        if any(t.task == "refresh" and t.isRunning() for t in self.tasks):
            return "A refresh is already running: wait for it to finish, or cancel it"
        if self.busy:
            return "The rules are still loading: try again in a moment"
        return refresh_busy(self.plan, self.ctx.paths.lock_dir)

    def refresh_rules(self, started_by: str = "manager") -> bool:
        """Mine a new rule set in a worker (the console's "Refresh now", the nightly
        timer). False, and nothing started, when :meth:`refresh_refusal` gives a reason."""
        why = self.refresh_refusal()
        if why is not None:
            log.info("refresh by %s refused: %s", started_by, why)
            return False
        self.refresh_started_by = started_by
        self.clear_banner("refresh")
        self._run_task("refresh", self._refresh_job)
        return True

    def check_nightly(self) -> bool:
        """The nightly timer's tick: start the nightly refresh when its time has come."""
        if self.closed or not self.nightly.due(self.ctx.settings.refresh.nightly_at):
            return False
        if not self.refresh_rules("nightly"):
            log.warning("nightly refresh skipped: %s", self.refresh_refusal())
            return False
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
        elif key == "store_recovered":
            then = ("Rules are being rebuilt from the till." if self.options.auto_refresh
                    else "Refresh the rules to rebuild them.")
            self.show_banner("store", "warn", f"{value}. {then}")
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
                # the figures are the manager's (console, Refresh tab); the cashier only
                # learns that suggestions now follow the latest sales
                if s.pinned is None and self.refresh_started_by != "nightly":
                    self.show_banner("refresh", "ok", "Suggestions updated from the latest "
                                                      "sales.", clear_after_ms=8000)

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
            what = ("Suggestions could not be loaded" if task == "startup"
                    else "Suggestions could not be updated")
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
        keep = "suggestions stay as they were" if self.engine is not None and \
            self.engine.rules is not None else "no suggestions yet"
        self.show_banner("refresh", "info", f"Update cancelled — {keep}.", clear_after_ms=8000)
        self.viewChanged.emit()

    # -- the engine ---------------------------------------------------------------------------
    def set_engine(self, engine: Any) -> None:
        """Hand a freshly loaded engine to every session (GUI thread)."""
        self.engine = engine
        self.rules_state = "ready" if engine is not None and engine.rules is not None else "none"
        self.hub.set_engine(engine)
        if self.reloader is not None:
            self.reloader.note_engine(engine)
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

    def withdraw(self, sku: str) -> None:
        """The customer changed their mind about an accepted item (logged as not rung up)."""
        self.session.withdraw(sku, "tap")
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

    # -- live configuration and rule sets from other processes ------------------------------
    def _start_live_reload(self) -> None:
        from possuggest.services.live import LiveReloader

        if not self.options.live_reload or self.reloader is not None:
            return

        def build(settings: Settings) -> Any:
            return services.load_engine(self.plan.with_settings(settings), self.products or None)

        self.reloader = LiveReloader(
            self.ctx.paths.config_files, self.plan.rules_db, self.ctx.settings,
            build_engine=build,
            rebuild_engine=lambda eng, s: services.engine_with_policy(eng, s.policy),
            on_settings=self._liveSettings.emit, on_engine=self._liveEngine.emit,
            on_problem=self._liveProblem.emit, interval=self.options.live_interval_s)
        self.reloader.set_problem(self.ctx.config_problem)
        self.reloader.start()

    def _on_live_engine(self, engine: Any) -> None:
        if self.closed or not self.serving or self.busy:
            return          # a running start-up or refresh hands over its own engine
        log.info("live reload: rule set %s", engine.rule_set_id)
        self.set_engine(engine)

    def _on_live_settings(self, settings: Settings) -> None:
        if self.closed:
            return
        old = self.ctx.settings
        self.ctx.settings = settings
        self.ctx.config_problem = None
        self.ctx.settings_valid = True
        if not self.serving:
            # the panel was waiting for valid settings: decide afresh what to serve
            try:
                self.plan = make_plan(self.ctx, self.options.force_demo, self.options.demo_sales)
            except PossuggestError as exc:
                self.blocked = str(exc)
                self.show_banner("config", "error", self.blocked)
                return
            self.blocked = None
            self.register = self.plan.register
            self.writer.store_path = self.plan.rules_db      # not started yet: nothing written
            self.session = self.hub.session(self.register)
            self.settingsChanged.emit()
            self._begin_serving()
            return
        self.plan = self.plan.with_settings(settings)
        if not self.plan.demo:
            self.ctx.remember_good_settings()
        self.hub.set_holdout_share(settings.holdout.share)
        self.clear_banner("config")
        till_changed = (old.till != settings.till or old.watcher != settings.watcher)
        if till_changed and not self.plan.demo:
            log.info("till settings changed: reconnecting to %s", self.plan.till_path)
            self._stop_watcher()
            self._start_watcher()
        if old.ui != settings.ui:
            self.lookChanged.emit()
        self._check_policy_names()
        self.settingsChanged.emit()

    def _on_live_problem(self, problem: str | None) -> None:
        if self.closed:
            return
        if problem is None:
            if self.serving:
                self.clear_banner("config")
            return
        self.ctx.config_problem = problem
        if self.serving:
            self.show_banner("config", "warn", f"Settings problem: {problem}")
        else:
            self.show_banner("config", "error", f"Settings problem: {problem}. Nothing is "
                                                "served until the config file is fixed.")

    def _check_policy_names(self) -> None:
        """Warn once per change when the manager's pairs name products the till lacks."""
        warnings = services.policy_warnings(self.ctx.settings.policy, self.products)
        if warnings == self.policy_warnings:
            return
        self.policy_warnings = warnings
        for w in warnings:
            log.warning("settings: %s", w)
        if warnings:
            more = f" (+{len(warnings) - 2} more, see the log)" if len(warnings) > 2 else ""
            self.show_banner("policy", "warn", "Settings name products the till does not have: "
                             + "; ".join(warnings[:2]) + more)
        else:
            self.clear_banner("policy")

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
