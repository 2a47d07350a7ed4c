"""``possuggest serve``: the local basket API headless, without the panel."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from typing import Any

from possuggest.core.config import ensure_api_token
from possuggest.core.errors import PossuggestError
from possuggest.services.context import AppContext
from possuggest.serving.basket_api import BasketApi, BasketRequest, suggestion_json
from possuggest.serving.events import EventWriter
from possuggest.serving.sale_session import SessionHub

log = logging.getLogger(__name__)


def basket_handler(hub: SessionHub) -> Any:
    def handle(req: BasketRequest) -> list[dict[str, Any]]:
        view = hub.session(req.register).update(req.sale_id, req.skus, source="api")
        return [suggestion_json(s) for s in view.suggestions]
    return handle


def run_serve(args: argparse.Namespace, ctx: AppContext,
              stop: threading.Event | None = None) -> int:
    from possuggest.cli.main import load_engine, prepare

    prepare(args, ctx)
    engine = load_engine(ctx)
    token = ensure_api_token(ctx.settings, ctx.paths.config_file)
    writer = EventWriter(ctx.paths.rules_db).start()
    hub = SessionHub(engine, ctx.settings.holdout.share, writer.put)
    port = args.port if getattr(args, "port", None) is not None else ctx.settings.api.port
    try:
        api = BasketApi(port, token, basket_handler(hub),
                        lambda: {"rule_set": engine.rule_set_id, "rules": engine.n_rules})
    except OSError as exc:
        writer.close()
        raise PossuggestError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None
    api.start()
    host, real_port = api.address
    sys.stdout.write(f"basket API on http://{host}:{real_port} (token in {ctx.paths.config_file})\n")
    sys.stdout.flush()
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    try:
        stop.wait()
    finally:
        api.stop()
        writer.close()
    return 0
