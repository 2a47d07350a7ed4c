#!/usr/bin/env python3
"""possuggest_client: talk to possuggest's basket API from any till that can run a command.

One file, Python 3.8+ standard library only: copy it onto the till machine. Examples:

    python possuggest_client.py basket --register 1 --sale A-17 MOW-STD OIL-4T=2
    python possuggest_client.py suggestions --register 1
    python possuggest_client.py accept GRASS-CATCH          (or: accept --card 1)
    python possuggest_client.py dismiss --card 2
    python possuggest_client.py closed A-17
    python possuggest_client.py health

The token comes from --token, $POSSUGGEST_TOKEN, or --token-file (possuggest's state.json in
its data folder, or a file holding just the token); the address from --url or $POSSUGGEST_URL
(default http://127.0.0.1:8765); the register from --register or $POSSUGGEST_REGISTER
(default 1). Suggestions print one per line, tab-separated: SKU, name, price, kind, reason
(--json prints the API's answer as it came). An error prints one line on stderr and exits 1;
a wrong command line exits 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, TextIO

DEFAULT_URL = "http://127.0.0.1:8765"
PROG = "possuggest_client"


def out(text: str, stream: TextIO | None = None) -> None:
    """One line to stdout (or ``stream``)."""
    (stream or sys.stdout).write(text + "\n")


class ClientError(Exception):
    """One line for the user: what went wrong talking to possuggest."""


def read_token(args: argparse.Namespace) -> str:
    if args.token:
        return str(args.token)
    env = os.environ.get("POSSUGGEST_TOKEN", "")
    if env:
        return env
    path = args.token_file or os.environ.get("POSSUGGEST_TOKEN_FILE", "")
    if not path:
        raise ClientError("no token: give --token, $POSSUGGEST_TOKEN or --token-file "
                          "(possuggest's state.json)")
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read().strip()
    except OSError as exc:
        raise ClientError(f"cannot read the token file {path}: {exc.strerror}") from None
    if text.startswith("{"):
        try:
            token = json.loads(text).get("api_token", "")
        except (ValueError, AttributeError):
            token = ""
        if not token:
            raise ClientError(f"{path} has no api_token")
        return str(token)
    if not text:
        raise ClientError(f"the token file {path} is empty")
    return text.splitlines()[0].strip()


class Api:
    def __init__(self, url: str, token: str, timeout: float) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def call(self, method: str, path: str, body: dict[str, Any] | None = None,
             auth: bool = True) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if auth:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return self._decode(resp.read(), resp.status)
        except urllib.error.HTTPError as exc:
            try:
                answer = self._decode(exc.read(), exc.code)
                message = str(answer.get("error") or answer)
            except ClientError:
                message = exc.reason
            raise ClientError(f"{message} (HTTP {exc.code})") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ClientError(f"cannot reach possuggest at {self.url}: {reason}") from None

    @staticmethod
    def _decode(payload: bytes, status: int) -> dict[str, Any]:
        try:
            answer = json.loads(payload.decode("utf-8"))
        except ValueError:
            raise ClientError(f"possuggest answered {status} with something not JSON") from None
        if not isinstance(answer, dict):
            raise ClientError(f"possuggest answered {status} with something unexpected")
        return answer


def quote(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")


def parse_items(words: list[str]) -> list[dict[str, Any]]:
    """SKU or SKU=QTY (QTY a number; a SKU holding "=" is taken whole when what follows its
    last "=" is not a number)."""
    items: list[dict[str, Any]] = []
    for word in words:
        sku, sep, qty = word.rpartition("=")
        if sep and sku:
            try:
                items.append({"sku": sku, "qty": float(qty)})
                continue
            except ValueError:
                pass
        items.append({"sku": word, "qty": 1})
    return items


def card_sku(api: Api, register: str, card: int) -> tuple[str, str | None]:
    view = api.call("GET", "/v1/suggestions?register=" + quote(register))
    cards = view.get("suggestions") or []
    if not 1 <= card <= len(cards):
        raise ClientError(f"register {register} shows {len(cards)} card(s); there is no card "
                          f"{card}")
    return str(cards[card - 1]["sku"]), view.get("sale_id")


def print_view(view: dict[str, Any], as_json: bool) -> None:
    if as_json:
        out(json.dumps(view, ensure_ascii=False))
        return
    for s in view.get("suggestions", []):
        out("\t".join([str(s["sku"]), str(s["name"]), f"{s['price']:.2f}", str(s["kind"]),
                         str(s["reason"])]))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Send the till's basket to possuggest and act on its cards.")
    parser.add_argument("--url", default=os.environ.get("POSSUGGEST_URL", DEFAULT_URL),
                        help=f"the basket API (default $POSSUGGEST_URL or {DEFAULT_URL})")
    parser.add_argument("--token", help="the API token (default $POSSUGGEST_TOKEN)")
    parser.add_argument("--token-file", help="possuggest's state.json, or a file holding the "
                                             "token (default $POSSUGGEST_TOKEN_FILE)")
    parser.add_argument("--timeout", type=float, default=2.0,
                        help="seconds to wait for possuggest (default 2)")
    parser.add_argument("--json", action="store_true", help="print the API's answer as JSON")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    register = argparse.ArgumentParser(add_help=False)
    register.add_argument("--register", default=os.environ.get("POSSUGGEST_REGISTER", "1"),
                          help="this till's register (default $POSSUGGEST_REGISTER or 1)")

    p = sub.add_parser("basket", parents=[register], help="send the whole basket; prints the "
                                                          "suggestions")
    p.add_argument("--sale", help="the till's id for the sale (a new id starts a new sale)")
    p.add_argument("items", nargs="*", metavar="SKU[=QTY]",
                   help="the basket's lines (none: an empty basket)")
    sub.add_parser("suggestions", parents=[register], help="print what the panel shows")
    for verb in ("accept", "dismiss"):
        p = sub.add_parser(verb, parents=[register], help=f"{verb} a card shown in the sale")
        p.add_argument("sku", nargs="?", help="the card's SKU")
        p.add_argument("--card", type=int, help="the card's place on the panel (1 = top)")
        p.add_argument("--sale", help="act only if this is still the register's sale")
    p = sub.add_parser("closed", parents=[register], help="the sale ended (paid or cancelled)")
    p.add_argument("sale_id", metavar="SALEID")
    sub.add_parser("health", help="is possuggest serving (no token needed)")
    return parser


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.command == "health":
        return Api(args.url, "", args.timeout).call("GET", "/v1/health", auth=False)
    api = Api(args.url, read_token(args), args.timeout)
    if args.command == "basket":
        body: dict[str, Any] = {"register": args.register, "items": parse_items(args.items)}
        if args.sale is not None:
            body["sale_id"] = args.sale
        return api.call("POST", "/v1/basket", body)
    if args.command == "suggestions":
        return api.call("GET", "/v1/suggestions?register=" + quote(args.register))
    if args.command == "closed":
        return api.call("POST", f"/v1/sale/{quote(args.sale_id)}/closed",
                        {"register": args.register})
    sku, sale = args.sku, args.sale
    if args.card is not None:
        sku, current = card_sku(api, args.register, args.card)
        sale = sale if sale is not None else current     # the card belongs to that sale
    body = {"register": args.register}
    if sale is not None:
        body["sale_id"] = sale
    return api.call("POST", f"/v1/suggestions/{quote(sku)}/{args.command}", body)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in ("accept", "dismiss") and (args.sku is None) == (args.card is None):
        parser.error(f"{args.command}: give a SKU or --card N (one of them)")
    try:
        answer = run(args)
    except ClientError as exc:
        out(f"{PROG}: error: {exc}", sys.stderr)
        return 1
    if args.command == "health":
        out(json.dumps(answer) if args.json else str(answer.get("status", "?")))
    elif args.command == "closed" and not args.json:
        out(f"sale {answer.get('closed')} closed")
    elif args.command in ("accept", "dismiss") and not args.json:
        out(f"{answer.get('action')} {answer.get('sku')}")
    else:
        print_view(answer, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
