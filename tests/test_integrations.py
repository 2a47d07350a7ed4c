"""The till-side scripts in resources/integrations against a real basket API on 127.0.0.1:
the Python client (run as the till would run it: a separate process), the curl example (when
curl is installed) and the uniCenta/Chromis BeanShell scripts (when java and BeanShell's jar
are: Debian's ``bsh`` package), the last with a stand-in for uniCenta's ticket that answers the
same calls (getId, getTicketType, getLines; a line's getProperty("product.reference"),
getProductID, getMultiply)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_fixtures import TOKEN, LiveApi, live_api, make_engine

from possuggest.serving.basket_api import ActionRequest
from possuggest.serving.engine import SuggestionEngine

INTEGRATIONS = Path(__file__).resolve().parents[1] / "resources" / "integrations"
CLIENT = INTEGRATIONS / "python" / "possuggest_client.py"
CURL_SCRIPT = INTEGRATIONS / "shell" / "possuggest-curl.sh"
UNICENTA = INTEGRATIONS / "unicenta"
BSH_JARS = [Path("/usr/share/java/bsh.jar"), Path("/usr/share/java/bsh-2.0b4.jar")]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> SuggestionEngine:
    return make_engine(tmp_path_factory.mktemp("integrations"))


@pytest.fixture
def live(engine: SuggestionEngine) -> Iterator[LiveApi]:
    with live_api(engine) as server:
        yield server


def sale(live: LiveApi, register: str) -> tuple[str | None, tuple[str, ...], list[str]]:
    view = live.hub.session(register).view
    return view.sale_id, view.basket, [s.sku for s in view.suggestions]


def api_events(live: LiveApi, action: str) -> list[str]:
    return [e["sku"] for e in live.events if e["action"] == action and e["source"] == "api"]


# -- the Python client ----------------------------------------------------------------------
def client(live: LiveApi | None, *args: str, token: str | None = TOKEN,
           env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ, **(env or {}))
    for key in ("POSSUGGEST_TOKEN", "POSSUGGEST_URL", "POSSUGGEST_REGISTER",
                "POSSUGGEST_TOKEN_FILE"):
        if env is None or key not in env:
            full.pop(key, None)
    head = [sys.executable, str(CLIENT)]
    if live is not None:
        head += ["--url", live.base]
    if token is not None:
        head += ["--token", token]
    return subprocess.run([*head, *args], capture_output=True, text=True, timeout=60,
                          env=full)


def test_client_basket_accept_dismiss_closed(live: LiveApi) -> None:
    done = client(live, "basket", "--register", "3", "--sale", "A-17", "DRILL-18V", "TAPE=0")
    assert done.returncode == 0, done.stderr
    rows = [line.split("\t") for line in done.stdout.splitlines()]
    assert rows and rows[0][0] == "BITS" and rows[0][1] == "Drill Bit Set" and \
        rows[0][2] == "19.00" and rows[0][3] == "cross"
    assert sale(live, "3") == ("A-17", ("DRILL-18V",), [r[0] for r in rows])   # TAPE=0: no
    second = rows[1][0]

    done = client(live, "--json", "suggestions", "--register", "3")
    assert done.returncode == 0 and json.loads(done.stdout)["sale_id"] == "A-17"

    done = client(live, "accept", "--register", "3", "BITS")
    assert (done.returncode, done.stdout) == (0, "accepted BITS\n"), done.stderr
    done = client(live, "dismiss", "--register", "3", "--card", "1")     # now the old second
    assert (done.returncode, done.stdout) == (0, f"dismissed {second}\n"), done.stderr
    assert api_events(live, "accepted") == ["BITS"]
    assert api_events(live, "dismissed") == [second]
    assert ActionRequest("accept", "3", None, "BITS") in live.told       # the panel redraws

    done = client(live, "closed", "--register", "3", "A-17")
    assert (done.returncode, done.stdout) == (0, "sale A-17 closed\n"), done.stderr
    assert sale(live, "3") == (None, (), [])


def test_client_register_and_token_from_the_environment(live: LiveApi, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"api_token": TOKEN, "theme": "dark"}))
    done = client(None, "basket", "--sale", "9", "MOW-STD", token=None,
                  env={"POSSUGGEST_URL": live.base, "POSSUGGEST_REGISTER": "5",
                       "POSSUGGEST_TOKEN_FILE": str(state)})
    assert done.returncode == 0, done.stderr
    assert sale(live, "5")[:2] == ("9", ("MOW-STD",))
    plain = tmp_path / "token.txt"
    plain.write_text(TOKEN + "\n")
    done = client(live, "--token-file", str(plain), "suggestions", "--register", "5", token=None)
    assert done.returncode == 0 and done.stdout.split("\t")[0] == sale(live, "5")[2][0]


@pytest.mark.parametrize("args, token, message", [
    (["accept", "--register", "3", "NOPE"], TOKEN, "NOPE was not suggested"),
    (["accept", "--card", "3", "--register", "8"], TOKEN, "there is no card 3"),
    (["closed", "--register", "3", "B-1"], TOKEN, "not open at register 3"),
    (["basket", "--sale", "1", "X" * 65], TOKEN, "'items[0].sku' is longer than 64"),
    (["basket", "MOW-STD"], "wrong-token", "missing or wrong token"),
    (["basket", "MOW-STD"], None, "no token"),
])
def test_client_errors_are_one_line_and_exit_1(live: LiveApi, args: list[str],
                                               token: str | None, message: str) -> None:
    assert client(live, "basket", "--register", "3", "--sale", "A-1", "DRILL-18V").returncode == 0
    done = client(live, *args, token=token)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
    assert done.stderr.startswith("possuggest_client: error: ")


def test_client_without_possuggest_and_with_a_wrong_command_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:                   # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    done = subprocess.run([sys.executable, str(CLIENT), "--url", f"http://127.0.0.1:{port}",
                           "--token", TOKEN, "basket", "A"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1 and "cannot reach possuggest" in done.stderr
    done = client(None, "accept")                # neither a SKU nor --card
    assert done.returncode == 2 and "give a SKU or --card" in done.stderr
    done = client(None, "sing")
    assert done.returncode == 2


def test_client_health_needs_no_token(live: LiveApi) -> None:
    done = client(live, "health", token=None)
    assert (done.returncode, done.stdout) == (0, "ok\n")


# -- the curl example -------------------------------------------------------------------------
needs_curl = pytest.mark.skipif(shutil.which("curl") is None or shutil.which("sh") is None,
                                reason="curl (and sh) not installed")


def curl_script(live: LiveApi, *args: str, token: str = TOKEN,
                register: str = "4") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSSUGGEST_")}
    env.update(POSSUGGEST_URL=live.base, POSSUGGEST_TOKEN=token, POSSUGGEST_REGISTER=register)
    return subprocess.run(["sh", str(CURL_SCRIPT), *args], capture_output=True, text=True,
                          timeout=60, env=env)


@needs_curl
def test_curl_example_round_trip(live: LiveApi) -> None:
    done = curl_script(live, "basket", "T-9", "MOW-STD", "OIL-4T=2", 'ODD"SKU\\1')
    assert done.returncode == 0, done.stderr
    view = json.loads(done.stdout)
    assert view["sale_id"] == "T-9" and view["basket"] == ["MOW-STD", "OIL-4T", 'ODD"SKU\\1']
    first = view["suggestions"][0]["sku"]
    done = curl_script(live, "suggestions")
    assert json.loads(done.stdout)["suggestions"][0]["sku"] == first
    done = curl_script(live, "accept", first)
    assert done.returncode == 0 and json.loads(done.stdout)["action"] == "accepted"
    assert api_events(live, "accepted") == [first]
    done = curl_script(live, "closed", "T-9")
    assert done.returncode == 0 and json.loads(done.stdout)["closed"] == "T-9"
    assert sale(live, "4") == (None, (), [])


@needs_curl
def test_curl_example_errors(live: LiveApi) -> None:
    assert curl_script(live, "basket", "T-1", "MOW-STD").returncode == 0
    done = curl_script(live, "accept", "A/B")                        # encoded, not a path
    assert done.returncode == 22 and "A/B was not suggested" in json.loads(done.stdout)["error"]
    done = curl_script(live, "basket", "T-1", "MOW-STD", token="wrong")
    assert done.returncode == 22 and "token" in json.loads(done.stdout)["error"]
    done = curl_script(live, "dance")
    assert done.returncode == 2 and "basket SALE_ID" in done.stderr


# -- the uniCenta / Chromis BeanShell scripts ------------------------------------------------
def _bsh_jar() -> Path | None:
    if shutil.which("java") is None:
        return None
    return next((jar for jar in BSH_JARS if jar.exists()), None)


needs_bsh = pytest.mark.skipif(_bsh_jar() is None,
                               reason="java and BeanShell (Debian package bsh) not installed")

# uniCenta's TicketInfo / TicketLineInfo as far as the scripts use them
FAKE_TICKET = """
fakeLine(String reference, String productId, double units) {
    getProperty(String key) { return "product.reference".equals(key) ? reference : null; }
    getProductID() { return productId; }
    getMultiply() { return units; }
    return this;
}
fakeTicket(String id, int type, java.util.List lines) {
    getId() { return id; }
    getTicketType() { return type; }
    getLines() { return lines; }
    return this;
}
"""
WAIT = """
queue = System.getProperties().get("possuggest.queue");
if (queue != null) {
    queue.shutdown();
    queue.awaitTermination(20, java.util.concurrent.TimeUnit.SECONDS);
}
"""


def beanshell(live_base: str, tmp: Path, script: str, lines: str = "", ticket_id: str = "T-1",
              ticket_type: int = 0, token: str = TOKEN, register: str = "6",
              edit: tuple[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run one of the scripts as uniCenta does: ``ticket`` set, then the script's text."""
    text = (UNICENTA / script).read_text(encoding="utf-8")
    if edit is not None:                          # what an installer changes in the script
        assert edit[0] in text
        text = text.replace(*edit)
    installed = tmp / script
    installed.write_text(text, encoding="utf-8")
    harness = tmp / "harness.bsh"
    harness.write_text(FAKE_TICKET + "java.util.List lines = new java.util.ArrayList();\n"
                       + lines
                       + f'ticket = fakeTicket("{ticket_id}", {ticket_type}, lines);\n'
                       + f'source("{installed}");\n' + WAIT, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSSUGGEST_")}
    return subprocess.run(
        ["java", f"-Dpossuggest.url={live_base}", f"-Dpossuggest.token={token}",
         f"-Dpossuggest.register={register}", "-cp", str(_bsh_jar()), "bsh.Interpreter",
         str(harness)], capture_output=True, text=True, timeout=120, env=env)


TICKET_LINES = """
lines.add(fakeLine("DRILL-18V", "uuid-1", 1.0));
lines.add(fakeLine(null, null, 1.0));                  // a discount line: no product
lines.add(fakeLine(null, "uuid-tape", 2.0));           // no reference: the product id
lines.add(fakeLine("Q\\"UOTE\\\\", "uuid-2", 1.0));    // quotes and backslashes escaped
lines.add(fakeLine("GLOVES", "uuid-3", -1.0));         // returned: does not count
"""


@needs_bsh
def test_unicenta_ticket_change_posts_the_ticket(live: LiveApi, tmp_path: Path) -> None:
    done = beanshell(live.base, tmp_path, "possuggest.change.bsh", TICKET_LINES)
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    sale_id, basket, cards = sale(live, "6")
    assert sale_id == "T-1" and basket == ("DRILL-18V", "uuid-tape", 'Q"UOTE\\')
    assert "BITS" in cards


@needs_bsh
def test_unicenta_card_button_then_ticket_close(live: LiveApi, tmp_path: Path) -> None:
    assert beanshell(live.base, tmp_path, "possuggest.change.bsh", TICKET_LINES).returncode == 0
    first, second = sale(live, "6")[2][:2]
    done = beanshell(live.base, tmp_path, "possuggest.card.bsh")
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert api_events(live, "accepted") == [first]
    done = beanshell(live.base, tmp_path, "possuggest.card.bsh",
                     edit=('String POSSUGGEST_ACTION = "accept";',
                           'String POSSUGGEST_ACTION = "dismiss";'))
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert api_events(live, "dismissed") == [second]           # the next card moved up
    done = beanshell(live.base, tmp_path, "possuggest.card.bsh",
                     edit=("int POSSUGGEST_CARD = 1;", "int POSSUGGEST_CARD = 3;"))
    assert done.returncode == 0 and "no card 3" in done.stderr
    live.told.clear()
    done = beanshell(live.base, tmp_path, "possuggest.close.bsh")
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert sale(live, "6") == (None, (), [])
    assert live.told == [ActionRequest("closed", "6", "T-1", None)]


@needs_bsh
def test_unicenta_scripts_never_trouble_the_till(live: LiveApi, tmp_path: Path) -> None:
    # a refund ticket is not a sale: nothing sent, nothing closed
    done = beanshell(live.base, tmp_path, "possuggest.change.bsh", TICKET_LINES, ticket_type=1)
    assert done.returncode == 0 and live.hub.find("6") is None
    # no token: one line on the till's log, nothing sent
    done = beanshell(live.base, tmp_path, "possuggest.change.bsh", TICKET_LINES, token="")
    assert done.returncode == 0 and "no token set" in done.stderr and live.hub.find("6") is None
    # a wrong token or possuggest not running: logged, the script still ends normally
    done = beanshell(live.base, tmp_path, "possuggest.change.bsh", TICKET_LINES, token="nope")
    assert done.returncode == 0 and "answered 401" in done.stderr
    done = beanshell("http://127.0.0.1:9", tmp_path, "possuggest.close.bsh")
    assert done.returncode == 0 and "possuggest: /v1/sale/T-1/closed:" in done.stderr
