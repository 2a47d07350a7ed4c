"""The basket API's OpenAPI document (``GET /v1/openapi.json``) against the real server on
127.0.0.1: every route of the server is in the document and every documented operation is
served (both ways), the limits in it are the server's, and schemathesis drives every operation
with a bounded number of generated requests, checking each answer against the document."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from api_fixtures import TOKEN, LiveApi, call, live_api, make_engine

from possuggest import __version__
from possuggest.serving import basket_api
from possuggest.serving.api_spec import openapi_document
from possuggest.serving.basket_api import ROUTES
from possuggest.serving.engine import SuggestionEngine

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> SuggestionEngine:
    return make_engine(tmp_path_factory.mktemp("openapi"))


@pytest.fixture(scope="module")
def live(engine: SuggestionEngine) -> Iterator[LiveApi]:
    with live_api(engine) as server:
        yield server


@pytest.fixture(scope="module")
def document(live: LiveApi) -> dict[str, Any]:
    code, headers, doc = call(live.base, "GET", "/v1/openapi.json", token=None)
    assert code == 200 and headers["content-type"] == "application/json"
    return doc


def concrete(path: str) -> str:
    return re.sub(r"\{\w+\}", "X", path)


def test_every_route_is_documented_and_every_operation_served(
        live: LiveApi, document: dict[str, Any]) -> None:
    served = {(m.lower(), r.path) for r in ROUTES for m in r.methods}
    documented = {(m, path) for path, item in document["paths"].items() for m in item}
    assert served == documented
    for route in ROUTES:
        for method in route.methods:
            op = document["paths"][route.path][method.lower()]
            # the document says which need the token, as the server does, and names the
            # path's parameters
            assert (op["security"] != []) == route.auth, route
            in_path = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert in_path == set(re.findall(r"\{(\w+)\}", route.path)), route
        for method in HTTP_METHODS:                  # walk the live server with every method
            body = b"{}" if method in ("POST", "PUT", "PATCH") else None
            code, headers, answer = call(live.base, method, concrete(route.path), raw=body)
            if method in route.allowed:              # served (a 404 may name a missing card)
                assert code != 405, (method, route)
                assert code != 404 or "no such endpoint" not in answer["error"], (method, route)
            else:
                assert code == 405, (method, route, code)
                assert headers["allow"] == ", ".join(route.allowed)
    code, _, answer = call(live.base, "GET", "/v1/nothing-here")
    assert code == 404 and "no such endpoint" in answer["error"]


def test_the_document_holds_the_servers_limits_and_address(live: LiveApi,
                                                           document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    assert document["servers"] == [{"url": live.base}]
    schemas = document["components"]["schemas"]
    basket = schemas["BasketRequest"]["properties"]
    assert basket["items"]["maxItems"] == basket_api.MAX_ITEMS
    assert schemas["BasketItem"]["properties"]["sku"]["maxLength"] == basket_api.MAX_SKU
    assert basket["register"]["oneOf"][0]["maxLength"] == basket_api.MAX_REGISTER
    assert basket["sale_id"]["oneOf"][0]["maxLength"] == basket_api.MAX_SALE_ID
    accept = document["paths"]["/v1/suggestions/{sku}/accept"]["post"]
    assert accept["parameters"][0]["schema"]["maxLength"] == basket_api.MAX_SKU
    assert f"{basket_api.MAX_BODY // 1024} KB" in accept["responses"]["413"]["description"]
    # the same document on every request, HEAD answers headers only
    code, headers, again = call(live.base, "GET", "/v1/openapi.json", token=None)
    assert again == document
    code, headers, nothing = call(live.base, "HEAD", "/v1/openapi.json", token=None)
    assert code == 200 and nothing is None
    assert int(headers["content-length"]) == len(json.dumps(document).encode())


# -- schemathesis: every operation, bounded --------------------------------------------------

MAX_EXAMPLES = 60          # per operation and phase; the whole file takes 15-40 s on 2 cores
MAX_STATEFUL = 40          # sequences of up to 6 calls along the links


def _document_for(base: str) -> dict[str, Any]:
    return openapi_document(
        version=__version__, server_url=base, max_register=basket_api.MAX_REGISTER,
        max_sale_id=basket_api.MAX_SALE_ID, max_sku=basket_api.MAX_SKU,
        max_items=basket_api.MAX_ITEMS, max_qty=basket_api.MAX_QTY, max_body=basket_api.MAX_BODY)


# schemathesis's lazy loader (from_fixture) does not run under pytest 9, so the schema is
# built when the module loads, exactly as the server builds it; the test below checks that
# the server serves this very document, and the cases are sent to the live server's address
schema = schemathesis.openapi.from_dict(_document_for("http://127.0.0.1:1"))
schema.config.generation.update(max_examples=MAX_EXAMPLES)
schema.config.update(headers={"Authorization": f"Bearer {TOKEN}"})
# a body over 64 KB is refused with 413 whether or not it is schema-valid: the limit is in
# bytes, which JSON Schema cannot say (the document gives it in every 413 description)
for check in (schema.config.checks.negative_data_rejection,
              schema.config.checks.positive_data_acceptance):
    check.expected_statuses = [*check.expected_statuses, "413"]


# Now and then a generated (valid) basket is one a till would send, so that cards are shown
# and the links to accept, dismiss and close have something real to act on.
TILL_BASKETS = [["MOW-STD"], ["DRILL-18V"], ["MOW-STD", "OIL-4T"], ["GLOVES"]]


@schema.hook("flatmap_case").apply_to(method="POST", path="/v1/basket")
def till_like_baskets(ctx: Any, case: Any) -> Any:
    from hypothesis import strategies as st

    if case.meta is None or case.meta.generation.mode != schemathesis.GenerationMode.POSITIVE \
            or not isinstance(case.body, dict):
        return st.just(case)

    def with_items(skus: list[str]) -> Any:
        till_case = case.derive(keep_auth=True)
        till_case.body = {**case.body, "items": [{"sku": sku, "qty": 1} for sku in skus]}
        return till_case

    return st.one_of(st.just(case), st.sampled_from(TILL_BASKETS).map(with_items))


def test_schemathesis_runs_on_the_served_document(live: LiveApi,
                                                  document: dict[str, Any]) -> None:
    assert document == _document_for(live.base)


@pytest.fixture(scope="module")
def seeded(live: LiveApi) -> LiveApi:
    """A sale at register 1 whose card the generated accepts and dismisses can find."""
    code, _, view = call(live.base, "POST", "/v1/basket", {
        "register": "1", "sale_id": "S-1", "items": [{"sku": "MOW-STD"}]})
    assert code == 200 and view["suggestions"]
    return live


@schema.parametrize()
def test_schemathesis_every_operation(case: Any, seeded: LiveApi) -> None:
    case.call_and_validate(base_url=seeded.base)


def test_schemathesis_stateful_flows(seeded: LiveApi) -> None:
    """Sequences along the document's links: a basket, then accept / dismiss its first card
    or close its sale, as a till script does. Each scenario starts with a fresh sale at
    register 1. A check that fails fails the test; Hypothesis's complaint that a replay drew
    differently (the answers depend on the server's state) is not a failure: schemathesis's
    own runner treats it the same way."""
    from hypothesis import HealthCheck, Phase, settings
    from hypothesis.errors import Flaky

    base = seeded.base
    failures: list[BaseException] = []

    class Flows(schema.as_state_machine()):
        def setup(self) -> None:
            code, _, _ = call(base, "POST", "/v1/basket", {
                "register": "1", "sale_id": f"S-{id(self)}", "items": [{"sku": "MOW-STD"}]})
            assert code == 200

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": base}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            try:
                super().validate_response(response, case, **kwargs)
            except BaseException as exc:
                failures.append(exc)
                raise

    try:
        Flows.run(settings=settings(max_examples=MAX_STATEFUL, stateful_step_count=6,
                                    deadline=None, database=None, phases=[Phase.generate],
                                    suppress_health_check=list(HealthCheck)))
    except Flaky:
        if failures:
            raise failures[0] from None
    assert not failures
    # the flows reached cards that were really shown (a few in every run; none at all would
    # mean the links or the baskets no longer lead anywhere)
    acted = [e for e in seeded.events if e["source"] == "api"
             and e["action"] in ("accepted", "dismissed")]
    assert acted, "no generated flow accepted or dismissed a shown card"
