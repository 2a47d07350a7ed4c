"""A real basket API on 127.0.0.1 over rules mined from a generated till, for the API tests
(test_api_openapi, test_api_accept, test_integrations)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conftest import PRODUCTS, make_till
from possuggest.core.config import MiningSettings, PolicySettings, Settings
from possuggest.core.products import Product
from possuggest.mining.refresh import refresh
from possuggest.serving.basket_api import ActionRequest, BasketApi, BasketRequest, basket_handler
from possuggest.serving.engine import SuggestionEngine
from possuggest.serving.sale_session import SessionHub
from possuggest.store.rule_store import RuleStore

TOKEN = "api-test-token-0123456789"
CATALOG = {p[0]: Product(p[0], p[1], p[2], p[3], p[4], p[5], p[6], bool(p[7])) for p in PRODUCTS}


def make_engine(folder: Path) -> SuggestionEngine:
    """Rules mined from conftest's pattern store: a mower suggests the grass catcher, a drill
    the bit set."""
    till = make_till(folder / "till.db")
    refresh(till, folder / "p.db", Settings(mining=MiningSettings(upgrade_min_count=3)))
    with RuleStore(folder / "p.db") as store:
        rules = store.load_active()
    return SuggestionEngine(rules, CATALOG, PolicySettings())


@dataclass
class LiveApi:
    """A started server: ``base`` URL, its ``hub``, the events its sessions logged, and the
    requests the panel would have been told about."""

    api: BasketApi
    hub: SessionHub
    events: list[dict[str, Any]] = field(default_factory=list)
    told: list[BasketRequest | ActionRequest] = field(default_factory=list)

    @property
    def base(self) -> str:
        host, port = self.api.address
        return f"http://{host}:{port}"

    @property
    def port(self) -> int:
        return self.api.address[1]


@contextmanager
def live_api(engine: SuggestionEngine | None) -> Iterator[LiveApi]:
    events: list[dict[str, Any]] = []
    hub = SessionHub(engine, 0.0, events.extend)
    told: list[BasketRequest | ActionRequest] = []
    api = BasketApi(0, TOKEN, basket_handler(hub, told.append),
                    lambda: {"rule_set": None if engine is None else engine.rule_set_id,
                             "rules": 0 if engine is None else engine.n_rules,
                             "store": "ok"}).start()
    try:
        yield LiveApi(api, hub, events, told)
    finally:
        api.stop()


def call(base: str, method: str, path: str, body: Any = None, token: str | None = TOKEN,
         raw: bytes | None = None) -> tuple[int, dict[str, str], Any]:
    """One request with urllib: (status, headers in lower case, the decoded JSON answer)."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            status, headers, payload = resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        status, headers, payload = exc.code, dict(exc.headers), exc.read()
    headers = {k.lower(): v for k, v in headers.items()}
    return status, headers, json.loads(payload) if payload else None
