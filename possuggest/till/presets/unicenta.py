"""uniCenta oPOS, and the Openbravo POS family it shares its schema with (Chromis, Wanda,
Openbravo POS, KriolOS): MySQL/MariaDB or PostgreSQL (Derby, the embedded default, is not
readable from outside the till).

Checked against uniCenta's own create scripts (poolborges/unicenta-pos,
unicenta-opos/src/main/resources/com/openbravo/pos/scripts/MySQL-create.sql and
PostgreSQL-create.sql): ``ticketlines(ticket, line, product, units, price, taxid)`` →
``tickets(id, tickettype, ticketid, person, customer, status)`` → ``receipts(id, money,
datenew)``; ``products(id, reference, code, name, pricebuy, pricesell, category, taxcat)``,
``categories(id, name)``, ``taxes(category, custcategory, rate)``, ``stockcurrent(location,
product, units)``. Ticket types from ``TicketInfo.java``: 0 sale, 1 refund, 2 customer
payment, 3 no-sale (Chromis).
"""

from __future__ import annotations

from possuggest.till.presets import Preset, PresetQueries

_LINES = """
SELECT t.id AS sale_id, p.reference AS sku, l.units AS qty, l.price AS price,
       r.datenew AS closed_at
FROM ticketlines l
JOIN tickets t ON t.id = l.ticket
JOIN receipts r ON r.id = t.id
JOIN products p ON p.id = l.product
WHERE t.tickettype = 0 AND l.units > 0
"""

# pricesell is net of tax: the customer's price adds the product's tax category rate
_PRODUCTS = """
SELECT p.reference AS sku, p.name AS name, c.name AS category, '' AS family,
       p.pricesell * (1 + COALESCE((SELECT MAX(x.rate) FROM taxes x
                                    WHERE x.category = p.taxcat AND x.custcategory IS NULL),
                                   0)) AS price,
       p.pricebuy AS cost,
       (SELECT SUM(s.units) FROM stockcurrent s WHERE s.product = p.id) AS stock,
       1 AS active,
       p.code AS barcode
FROM products p
LEFT JOIN categories c ON c.id = p.category
"""

_TOKEN = "SELECT MAX(r.datenew) AS last_sale FROM receipts r"

_QUERIES = PresetQueries(sale_lines=_LINES, products=_PRODUCTS, open_sale=None,
                         change_token=_TOKEN)

PRESET = Preset(
    name="unicenta",
    title="uniCenta oPOS (also Chromis, Wanda, Openbravo POS)",
    times="local",
    runs_on=("mysql", "postgresql"),
    dialects={"mysql": _QUERIES, "postgresql": _QUERIES, "sqlite": _QUERIES},
    sku="products.reference (the barcode is products.code)",
    register="",
    store="",
    excluded="refund tickets (tickettype 1), customer payments (2) and no-sales (3); lines "
             "with no product or no positive units",
    notes=(
        "The ticket being rung up is not in the database: uniCenta keeps it in the Java "
        "process until it is paid. Push it with the ticket.change script "
        "(resources/integrations) through the basket API.",
        "Voided lines are deleted from the ticket (uniCenta logs them in lineremoved) and a "
        "cancelled ticket is never written, so neither reaches the sales.",
        "Parked tickets (sharedtickets) are serialized Java objects, not readable rows.",
        "Prices: products.pricesell is net of tax; the preset adds the tax category's rate.",
        "There is no 'discontinued' flag: every product counts as active (hide items with "
        "[policy] excluded_categories or blocked).",
        "One database serves one store: there is no :store filter. Stock is summed over "
        "stockcurrent's locations.",
        "Times are the till's local time (receipts.datenew).",
    ),
    checked=(
        "poolborges/unicenta-pos: unicenta-opos/.../scripts/MySQL-create.sql (tables "
        "tickets, ticketlines, receipts, products, categories, taxes, stockcurrent)",
        "TicketInfo.java (RECEIPT_NORMAL 0, RECEIPT_REFUND 1, RECEIPT_PAYMENT 2; Chromis "
        "RECEIPT_NOSALE 3)",
    ),
)
