"""The basket API as a service: started inside the panel or headless by ``possuggest serve``.

The UI asks for the API here and never imports the HTTP server module itself. ``run_serve``
follows the config and the rule database live, like the panel does.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from typing import Any

from possuggest.core.errors import PossuggestError
from possuggest.services import app
from possuggest.services.context import AppContext
from possuggest.services.live import LiveReloader

log = logging.getLogger(__name__)


def start_basket_api(port: int, token: str, hub: Any,
                     health: Callable[[], dict[str, Any]],
                     on_update: Callable[[Any], None] | None = None) -> Any:
    """Listen on 127.0.0.1:``port`` (0 = any free port) in a background thread; the returned
    object has ``address`` and ``stop()``. Raises OSError when the port cannot be had.
    ``health()`` may report ``"store"``: anything but "ok" makes /v1/health answer 503.
    ``on_update(req)`` is called in the API's thread after every basket, accept, dismiss and
    closed sale that changed a register's session; ``req.register`` says whose."""
    from possuggest.serving.basket_api import BasketApi, basket_handler

    return BasketApi(port, token, basket_handler(hub, on_update), health).start()


def run_serve(ctx: AppContext, port: int | None = None, verbose: bool = False,
              stop: threading.Event | None = None,
              announce: Callable[[str], None] | None = None) -> int:
    """Serve the basket API until ``stop`` is set (or SIGINT/SIGTERM in the main thread)."""
    from possuggest.serving.events import EventWriter
    from possuggest.serving.sale_session import SessionHub

    if port is not None and not 0 <= port <= 65535:
        raise PossuggestError(f"--port must be between 0 and 65535, got {port}")
    plan = app.prepare(ctx, verbose)
    engine = app.load_engine_for(ctx, plan)
    token = ctx.api_token()
    writer = EventWriter(plan.rules_db).start()
    hub = SessionHub(engine, ctx.settings.holdout.share, writer.put, sale_sink=writer.put)
    current = {"engine": engine}
    port = port if port is not None else ctx.settings.api.port

    def health() -> dict[str, Any]:
        eng = current["engine"]
        # "store": "error: …" (the API answers 503) while events cannot be saved
        return {"rule_set": eng.rule_set_id, "rules": eng.n_rules, "store": writer.state}

    def on_engine(new: Any) -> None:
        current["engine"] = new
        hub.set_engine(new)
        log.info("serving rule set %s", new.rule_set_id)

    def on_settings(settings: Any) -> None:
        nonlocal plan
        plan = plan.with_settings(settings)
        ctx.settings = settings
        ctx.remember_good_settings()
        hub.set_holdout_share(settings.holdout.share)

    reloader = LiveReloader(
        ctx.paths.config_files, plan.rules_db, ctx.settings,
        build_engine=lambda s: app.load_engine(plan.with_settings(s)),
        rebuild_engine=lambda eng, s: app.engine_with_policy(eng, s.policy),
        on_settings=on_settings, on_engine=on_engine,
        on_problem=lambda problem: problem and log.warning("%s", problem))
    reloader.note_engine(engine)
    try:
        api = start_basket_api(port, token, hub, health)
    except OSError as exc:
        writer.close()
        raise PossuggestError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None
    reloader.start()
    host, real_port = api.address
    if announce is not None:
        announce(f"basket API on http://{host}:{real_port} (token in {ctx.paths.state_file}"
                 + (" — set in the config file" if ctx.settings.api.token else "") + ")")
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    try:
        stop.wait()
    finally:
        reloader.stop()
        api.stop()
        hub.end_sales()             # the open sales' records, before the writer closes
        writer.close()
    return 0


__all__ = ["run_serve", "start_basket_api"]
