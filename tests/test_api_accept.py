"""Accept, dismiss and close a sale from the till side (issue 11 item 1, issue 10 item 4):
``POST /v1/suggestions/{sku}/accept|dismiss`` and ``POST /v1/sale/{id}/closed`` on a real
server on 127.0.0.1, over rules mined from a generated till."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_fixtures import LiveApi, call, live_api, make_engine

from possuggest.serving.basket_api import ActionRequest
from possuggest.serving.engine import SuggestionEngine


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> SuggestionEngine:
    return make_engine(tmp_path_factory.mktemp("accept"))


@pytest.fixture
def live(engine: SuggestionEngine) -> Iterator[LiveApi]:
    with live_api(engine) as server:
        yield server


def drill_sale(live: LiveApi, register: str = "2", sale_id: str = "A-17") -> dict:
    code, _, view = call(live.base, "POST", "/v1/basket", {
        "register": register, "sale_id": sale_id, "items": [{"sku": "DRILL-18V", "qty": 1}]})
    assert code == 200 and "BITS" in [s["sku"] for s in view["suggestions"]], view
    return view


def logged(live: LiveApi, action: str) -> list[dict]:
    return [e for e in live.events if e["action"] == action]


def test_accept_marks_the_card_logs_it_and_tells_the_panel(live: LiveApi) -> None:
    drill_sale(live)
    live.told.clear()
    code, _, view = call(live.base, "POST", "/v1/suggestions/BITS/accept", {"register": "2"})
    assert code == 200
    assert view["action"] == "accepted" and view["sku"] == "BITS"
    assert view["register"] == "2" and view["sale_id"] == "A-17"
    assert view["basket"] == ["DRILL-18V"]
    assert "BITS" not in [s["sku"] for s in view["suggestions"]]
    assert [s["sku"] for s in view["accepted"]] == ["BITS"]          # still to ring up
    [event] = logged(live, "accepted")
    assert event["sku"] == "BITS" and event["source"] == "api" and event["sale_id"] == "A-17"
    assert event["rule_id"] is not None and event["register"] == "2"
    assert live.told == [ActionRequest("accept", "2", None, "BITS")]   # the panel redraws
    # the session is the one the panel reads
    assert "BITS" in [s.sku for s in live.hub.session("2").view.to_ring]
    # twice is the same as once: no second event
    code, _, again = call(live.base, "POST", "/v1/suggestions/BITS/accept", {"register": "2"})
    assert code == 200 and again["accepted"] == view["accepted"]
    assert len(logged(live, "accepted")) == 1
    # rung up: the basket now holds it, nothing left to ring up
    code, _, view = call(live.base, "POST", "/v1/basket", {
        "register": "2", "sale_id": "A-17", "items": [{"sku": "DRILL-18V"}, {"sku": "BITS"}]})
    assert code == 200 and view["accepted"] == [] and view["basket"] == ["DRILL-18V", "BITS"]


def test_dismiss_keeps_the_item_away_for_the_rest_of_the_sale(live: LiveApi) -> None:
    drill_sale(live)
    code, _, view = call(live.base, "POST", "/v1/suggestions/BITS/dismiss", {"register": "2"})
    assert code == 200 and view["action"] == "dismissed"
    assert "BITS" not in [s["sku"] for s in view["suggestions"]] and view["accepted"] == []
    [event] = logged(live, "dismissed")
    assert event["sku"] == "BITS" and event["source"] == "api"
    code, _, view = call(live.base, "POST", "/v1/basket", {
        "register": "2", "sale_id": "A-17", "items": [{"sku": "DRILL-18V"}, {"sku": "TAPE"}]})
    assert "BITS" not in [s["sku"] for s in view["suggestions"]]
    drill_sale(live, sale_id="A-18")                                   # a new sale: back


def test_without_a_body_the_register_is_1(live: LiveApi) -> None:
    drill_sale(live, register="1")
    code, _, view = call(live.base, "POST", "/v1/suggestions/BITS/accept")   # no body at all
    assert code == 200 and view["register"] == "1" and view["sku"] == "BITS"
    code, _, view = call(live.base, "POST", "/v1/suggestions/BITS/dismiss", raw=b"  ")
    assert code == 200 and view["register"] == "1"


@pytest.mark.parametrize("path, body, named", [
    ("/v1/suggestions/NOPE/accept", {"register": "2"}, "NOPE was not suggested"),
    ("/v1/suggestions/GLOVES/accept", {"register": "2"}, "GLOVES was not suggested"),  # real item
    ("/v1/suggestions/DRILL-18V/dismiss", {"register": "2"}, "DRILL-18V was not suggested"),
    ("/v1/suggestions/BITS/accept", {"register": "3"}, "register 3 has no sale"),
    ("/v1/suggestions/A%2FB/accept", {"register": "2"}, "A/B was not suggested"),
    ("/v1/suggestions/%E2%82%AC/accept", {"register": "2"}, "\u20ac was not suggested"),
])
def test_a_card_not_shown_in_the_sale_is_404(live: LiveApi, path: str, body: dict,
                                             named: str) -> None:
    drill_sale(live)
    sessions = live.hub.n_sessions
    code, headers, answer = call(live.base, "POST", path, body)
    assert code == 404 and headers["content-type"] == "application/json"
    assert named in answer["error"], answer
    assert logged(live, "accepted") == [] and logged(live, "dismissed") == []
    assert live.hub.n_sessions == sessions and live.hub.find("3") is None   # none made


def test_an_action_for_another_sale_is_409(live: LiveApi) -> None:
    drill_sale(live)
    code, _, answer = call(live.base, "POST", "/v1/suggestions/BITS/accept",
                           {"register": "2", "sale_id": "A-16"})
    assert code == 409 and "A-16 is not the current sale" in answer["error"]
    assert logged(live, "accepted") == []
    code, _, view = call(live.base, "POST", "/v1/suggestions/BITS/accept",
                         {"register": "2", "sale_id": "A-17"})
    assert code == 200 and view["sku"] == "BITS"


@pytest.mark.parametrize("path, body, named", [
    ("/v1/suggestions/%FF/accept", None, "'sku' is not valid UTF-8"),
    ("/v1/suggestions/A%0AB/accept", None, "'sku' contains a control character"),
    ("/v1/suggestions/" + "K" * 65 + "/dismiss", None, "'sku' is longer than 64"),
    ("/v1/suggestions/BITS/accept", {"register": "R" * 65}, "'register' is longer than 64"),
    ("/v1/suggestions/BITS/accept", {"register": 2, "sale_id": []}, "'sale_id' must be"),
    ("/v1/suggestions/BITS/accept", [], "JSON object"),
    ("/v1/sale/" + "S" * 129 + "/closed", None, "'sale_id' is longer than 128"),
    ("/v1/sale/A-17/closed", {"register": "\ud800"}, "'register' contains"),
])
def test_bad_actions_are_400_naming_the_field(live: LiveApi, path: str, body: object,
                                              named: str) -> None:
    drill_sale(live)
    code, _, answer = call(live.base, "POST", path, body)
    assert code == 400 and named in answer["error"], answer
    assert live.hub.session("2").view.sale_id == "A-17"               # nothing changed
    assert logged(live, "accepted") == [] and logged(live, "dismissed") == []


def test_actions_need_the_token_and_post(live: LiveApi) -> None:
    drill_sale(live)
    for path in ("/v1/suggestions/BITS/accept", "/v1/suggestions/BITS/dismiss",
                 "/v1/sale/A-17/closed", "/v1/suggestions?register=2"):
        method = "GET" if "?" in path else "POST"
        for token in (None, "wrong"):
            code, headers, answer = call(live.base, method, path, {"register": "2"}
                                         if method == "POST" else None, token=token)
            assert code == 401 and headers["www-authenticate"] == "Bearer", (path, answer)
    code, headers, answer = call(live.base, "GET", "/v1/suggestions/BITS/accept")
    assert code == 405 and headers["allow"] == "POST" and answer["error"]
    assert live.hub.session("2").view.sale_id == "A-17" and logged(live, "accepted") == []


def test_closed_ends_the_sale_once(live: LiveApi) -> None:
    drill_sale(live)
    live.told.clear()
    code, _, answer = call(live.base, "POST", "/v1/sale/A-16/closed", {"register": "2"})
    assert code == 404 and "A-16 is not open at register 2" in answer["error"]
    assert live.hub.session("2").view.sale_id == "A-17"               # untouched
    code, _, view = call(live.base, "POST", "/v1/sale/A-17/closed", {"register": "2"})
    assert code == 200 and view["closed"] == "A-17"
    assert view == {"register": "2", "sale_id": None, "basket": [], "suggestions": [],
                    "accepted": [], "closed": "A-17"}
    assert live.hub.session("2").view.basket == ()                    # what the panel draws
    assert live.told == [ActionRequest("closed", "2", "A-17", None)]
    code, _, answer = call(live.base, "POST", "/v1/sale/A-17/closed", {"register": "2"})
    assert code == 404                                                 # already closed
    code, _, answer = call(live.base, "POST", "/v1/sale/A-17/closed", {"register": "9"})
    assert code == 404 and "register 9 has no sale" in answer["error"]
    assert live.hub.find("9") is None


def test_closing_logs_an_accepted_item_never_rung_up(live: LiveApi) -> None:
    drill_sale(live)
    assert call(live.base, "POST", "/v1/suggestions/BITS/accept", {"register": "2"})[0] == 200
    assert call(live.base, "POST", "/v1/sale/A-17/closed", {"register": "2"})[0] == 200
    declined = logged(live, "declined")
    assert [(e["sku"], e["sale_id"]) for e in declined] == [("BITS", "A-17")]


def test_get_suggestions_reads_what_the_register_shows(live: LiveApi) -> None:
    shown = drill_sale(live, register="4", sale_id="77")
    code, _, view = call(live.base, "GET", "/v1/suggestions?register=4")
    assert code == 200 and view == {**shown}
    code, _, view = call(live.base, "GET", "/v1/suggestions?register=5")
    assert code == 200 and view == {"register": "5", "sale_id": None, "basket": [],
                                    "suggestions": [], "accepted": []}
    assert live.hub.find("5") is None
    code, _, view = call(live.base, "GET", "/v1/suggestions")          # register 1
    assert code == 200 and view["register"] == "1"
    code, _, answer = call(live.base, "GET", "/v1/suggestions?register=" + "R" * 65)
    assert code == 400 and "'register'" in answer["error"]
    code, _, answer = call(live.base, "GET", "/v1/suggestions?register=%FF")
    assert code == 400 and "UTF-8" in answer["error"]


def test_the_panel_hook_sees_the_register() -> None:
    """What ui/controller.py's ``touched`` reads: ``req.register`` on every kind of request."""
    with live_api(None) as live:
        call(live.base, "POST", "/v1/basket", {"register": "7", "sale_id": "s", "items": []})
        call(live.base, "POST", "/v1/sale/s/closed", {"register": "7"})
        assert [(type(r).__name__, r.register) for r in live.told] == \
            [("BasketRequest", "7"), ("ActionRequest", "7")]
