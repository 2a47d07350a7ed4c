"""The basket API described as an OpenAPI 3.1 document, served at ``GET /v1/openapi.json``.

Written by hand to say exactly what the handlers in :mod:`possuggest.serving.basket_api` do:
the limits come in as arguments (that module's constants), and a test walks the server's route
table against the document's paths both ways. Tools such as schemathesis or a client generator
read it from a running panel or ``possuggest serve``.
"""

from __future__ import annotations

from typing import Any

# Characters a text field may not contain: C0 and C1 controls and DEL (lone surrogates too,
# which JSON can escape but no schema pattern can name).
NO_CONTROL = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"


def _text(max_length: int, min_length: int = 1, description: str = "") -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "minLength": min_length,
                              "maxLength": max_length, "pattern": NO_CONTROL}
    if description:
        schema["description"] = description
    return schema


def _text_or_integer(max_length: int, min_length: int, description: str) -> dict[str, Any]:
    """A string, or an integer whose decimal form fits the same length (it is used as text)."""
    return {"description": description, "oneOf": [
        _text(max_length, min_length),
        {"type": "integer", "minimum": -(10 ** (max_length - 1) - 1),
         "maximum": 10 ** max_length - 1}]}


def _error(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _ok(description: str, schema: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


def _card_links(what: str) -> dict[str, Any]:
    """How a till script goes on from a view: act on its first card, or close its sale."""
    on_card = {"sku": "$response.body#/suggestions/0/sku"}
    body = {"register": "$response.body#/register", "sale_id": "$response.body#/sale_id"}
    return {
        "AcceptFirstCard": {"operationId": "acceptSuggestion", "parameters": on_card,
                            "requestBody": body,
                            "description": f"Accept the first card {what}."},
        "DismissFirstCard": {"operationId": "dismissSuggestion", "parameters": on_card,
                             "requestBody": body,
                             "description": f"Dismiss the first card {what}."},
        "CloseTheSale": {"operationId": "closeSale",
                         "parameters": {"sale_id": "$response.body#/sale_id"},
                         "requestBody": {"register": "$response.body#/register"},
                         "description": "End the sale."},
    }


_AUTH = {"401": _error("Missing or wrong token (the answer carries WWW-Authenticate: Bearer).")}
_SERVER = {"500": _error("possuggest itself failed; the log has the details.")}


def _body_errors(max_body_kb: int) -> dict[str, Any]:
    return {"400": _error("The body is not the JSON described, or a field breaks its limit "
                          "(the message names the field)."),
            "413": _error(f"The body is over {max_body_kb} KB (chunked bodies count too).")}


def openapi_document(*, version: str, server_url: str, max_register: int, max_sale_id: int,
                     max_sku: int, max_items: int, max_qty: float,
                     max_body: int) -> dict[str, Any]:
    """The document for a server at ``server_url`` with these limits."""
    kb = max_body // 1024
    register = _text_or_integer(max_register, 1, f"The register (till) the sale is rung up at; "
                                f"up to {max_register} characters. Default \"1\".")
    sale_id = {"description": f"The till's id for the sale (up to {max_sale_id} characters); a "
                              "new id starts a new sale: dismissals and shown cards reset.",
               "oneOf": [_text(max_sale_id, 0), {"type": "integer",
                                                 "minimum": -(10 ** (max_sale_id - 1) - 1),
                                                 "maximum": 10 ** max_sale_id - 1},
                         {"type": "null"}]}
    register_query = {"name": "register", "in": "query", "required": False,
                      "description": "The register whose sale to show. Default \"1\".",
                      "schema": _text(max_register)}
    sku_path = {"name": "sku", "in": "path", "required": True,
                "description": "The suggested item's SKU, as the suggestion gave it "
                               "(percent-encoded in the path: a \"/\" is %2F).",
                "schema": _text(max_sku)}
    sale_path = {"name": "sale_id", "in": "path", "required": True,
                 "description": "The till's id for the sale that ended, as sent with its baskets.",
                 "schema": _text(max_sale_id)}
    action_body = {"required": False, "description": "Optional; without a body the register is "
                                                     "\"1\".",
                   "content": {"application/json": {"schema": {
                       "$ref": "#/components/schemas/ActionRequest"}}}}

    def action(verb: str, past: str, what: str) -> dict[str, Any]:
        return {"post": {
            "operationId": f"{verb}Suggestion", "tags": ["cashier"],
            "summary": f"{verb.capitalize()} a suggestion shown in the current sale",
            "description": what,
            "security": [{"bearerAuth": []}],
            "parameters": [sku_path], "requestBody": action_body,
            "responses": {
                "200": _ok(f"The suggestion is {past}: the register's sale as it is now.",
                           "ActionAnswer"),
                **_body_errors(kb), **_AUTH,
                "404": _error("That SKU was not suggested in the register's current sale (or "
                              "the register has no sale)."),
                "409": _error("`sale_id` was given and is not the register's current sale."),
                **_SERVER}}}

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "possuggest basket API",
            "version": version,
            "summary": "Suggestions for the basket being rung up, from the till's own sales.",
            "description": (
                "Served on 127.0.0.1 only, by the cashier panel and by `possuggest serve`. "
                "Every endpoint but /v1/health and /v1/openapi.json needs "
                "`Authorization: Bearer TOKEN` (the token is in state.json in the data folder, "
                "or `[api] token` in the config). Every error answer is JSON "
                "`{\"error\": \"...\"}`: 400 a malformed request or a field over its limit, "
                "401 the token, 404, 405 (with Allow), 411 a basket without Content-Length, "
                f"413 a body over {kb} KB, 431 headers over 8 KB, 500 possuggest's own failure. "
                "A GET also answers HEAD."),
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "servers": [{"url": server_url}],
        "tags": [{"name": "till", "description": "What the till script sends."},
                 {"name": "cashier", "description": "Keys on the till bound to a script."},
                 {"name": "meta", "description": "Health and this document."}],
        "paths": {
            "/v1/health": {"get": {
                "operationId": "health", "tags": ["meta"], "summary": "Is possuggest serving",
                "security": [],
                "responses": {
                    "200": _ok("Serving.", "Health"),
                    "503": _ok("Serving, but feedback events cannot be saved (`store` says why).",
                               "Health"),
                    **_SERVER}}},
            "/v1/openapi.json": {"get": {
                "operationId": "openapi", "tags": ["meta"], "summary": "This document",
                "security": [],
                "responses": {
                    "200": {"description": "The OpenAPI document.",
                            "content": {"application/json": {"schema": {"type": "object"}}}},
                    **_SERVER}}},
            "/v1/basket": {"post": {
                "operationId": "postBasket", "tags": ["till"],
                "summary": "The basket as it is now; answers the suggestions",
                "description": "Send the whole basket each time it changes (lines with a "
                               "quantity of 0 or less do not count). The panel showing this "
                               "register redraws.",
                "security": [{"bearerAuth": []}],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/BasketRequest"}}}},
                "responses": {
                    "200": {**_ok("The suggestions for this basket (none in a holdout sale).",
                                  "Sale"), "links": _card_links("this basket got")},
                    **_body_errors(kb), **_AUTH,
                    "411": _error("No Content-Length (and not chunked)."),
                    **_SERVER}}},
            "/v1/suggestions": {"get": {
                "operationId": "getSuggestions", "tags": ["cashier"],
                "summary": "What the register's panel shows now",
                "description": "For a key script that accepts \"the first card\": read the "
                               "SKU here, then accept it. A register with no sale answers an "
                               "empty basket.",
                "security": [{"bearerAuth": []}],
                "parameters": [register_query],
                "responses": {
                    "200": {**_ok("The register's sale and suggestions.", "Sale"),
                            "links": _card_links("the register shows")},
                    "400": _error("`register` breaks its limits or is not UTF-8."),
                    **_AUTH, **_SERVER}}},
            "/v1/suggestions/{sku}/accept": action(
                "accept", "accepted",
                "The cashier took the suggestion (a key on the till bound to a script). "
                "Logged as accepted with source \"api\"; the panel marks the card accepted. "
                "Accepting twice is the same as once."),
            "/v1/suggestions/{sku}/dismiss": action(
                "dismiss", "dismissed",
                "The customer does not want it: it is not suggested again in this sale. "
                "Logged as dismissed with source \"api\"."),
            "/v1/sale/{sale_id}/closed": {"post": {
                "operationId": "closeSale", "tags": ["till"],
                "summary": "The sale ended (paid, parked or cancelled)",
                "description": "The register's sale ends: its basket and cards clear and the "
                               "panel shows an empty sale until the next basket.",
                "security": [{"bearerAuth": []}],
                "parameters": [sale_path],
                "requestBody": {"required": False,
                                "description": "Optional; without a body the register is \"1\".",
                                "content": {"application/json": {"schema": {
                                    "$ref": "#/components/schemas/ClosedRequest"}}}},
                "responses": {
                    "200": _ok("The sale is closed: the register's (empty) sale now.",
                               "ClosedAnswer"),
                    **_body_errors(kb), **_AUTH,
                    "404": _error("That sale is not the one open at the register (already "
                                  "closed, or never sent)."),
                    **_SERVER}}},
        },
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"],
                          "properties": {"error": {"type": "string",
                                                   "description": "One line naming the problem."}}},
                "Health": {"type": "object", "required": ["status", "version"],
                           "properties": {
                               "status": {"enum": ["ok", "error"]},
                               "version": {"type": "string"},
                               "rule_set": {"type": ["integer", "null"]},
                               "rules": {"type": "integer"},
                               "register": {"type": "string"},
                               "store": {"type": "string",
                                         "description": "\"ok\", or \"error: …\"."}}},
                "BasketItem": {"type": "object", "required": ["sku"], "properties": {
                    "sku": _text(max_sku),
                    "qty": {"type": "number", "default": 1,
                            "minimum": -max_qty, "maximum": max_qty,
                            "description": "0 or less: the line does not count (a return)."}}},
                "BasketRequest": {"type": "object", "required": ["items"], "properties": {
                    "register": register,
                    "sale_id": sale_id,
                    "items": {"type": "array", "maxItems": max_items,
                              "items": {"$ref": "#/components/schemas/BasketItem"}}}},
                "ActionRequest": {"type": "object", "properties": {
                    "register": register,
                    "sale_id": {**sale_id, "description": "If given, the action applies only "
                                                          "while this is the register's sale."}}},
                "ClosedRequest": {"type": "object", "properties": {"register": register}},
                "Suggestion": {"type": "object",
                               "required": ["kind", "sku", "name", "price", "reason"],
                               "properties": {
                                   "kind": {"enum": ["cross", "upgrade"]},
                                   "sku": {"type": "string"},
                                   "name": {"type": "string"},
                                   "price": {"type": "number", "description": (
                                       "The item's price; for an upgrade, the difference.")},
                                   "reason": {"type": "string"}}},
                "Sale": {"type": "object", "description": "A register's sale as the panel shows it.",
                         "required": ["register", "sale_id", "basket", "suggestions",
                                      "accepted"],
                         "properties": {
                             "register": {"type": "string"},
                             "sale_id": {"type": ["string", "null"]},
                             "basket": {"type": "array", "items": {"type": "string"},
                                        "description": "The SKUs that count, in ring-up order."},
                             "suggestions": {"type": "array", "items": {
                                 "$ref": "#/components/schemas/Suggestion"}},
                             "accepted": {"type": "array", "description": (
                                 "Cards accepted at the counter that the basket does not hold "
                                 "yet: the cashier still has to ring these up."),
                                 "items": {"$ref": "#/components/schemas/Suggestion"}}}},
                "ActionAnswer": {"allOf": [
                    {"$ref": "#/components/schemas/Sale"},
                    {"type": "object", "required": ["action", "sku"], "properties": {
                        "action": {"enum": ["accepted", "dismissed"]},
                        "sku": {"type": "string"}}}]},
                "ClosedAnswer": {"allOf": [
                    {"$ref": "#/components/schemas/Sale"},
                    {"type": "object", "required": ["closed"], "properties": {
                        "closed": {"type": "string", "description": "The sale that ended."}}}]},
            },
        },
    }


__all__ = ["openapi_document", "NO_CONTROL"]
