"""Open Source Point of Sale (OSPOS, opensourcepos.org): MySQL/MariaDB.

Checked against opensourcepos/opensourcepos app/Database/tables.sql and its migrations
(``ospos_sales(sale_id, sale_time, sale_status, sale_type)``, ``ospos_sales_items(sale_id,
item_id, line, quantity_purchased, item_unit_price, item_location)``, ``ospos_items(item_id,
name, category, item_number, cost_price, unit_price, deleted)``,
``ospos_item_quantities(item_id, location_id, quantity)``,
``ospos_stock_locations(location_id, location_name)``) and the constants in
app/Config/Constants.php: sale status 0 completed / 1 suspended / 2 canceled; sale type 0 POS
sale / 1 invoice / 2 work order / 3 quote / 4 return.
"""

from __future__ import annotations

from possuggest.till.presets import Preset, PresetQueries
from possuggest.till.presets._sql import any_store, as_text


def _queries(dialect: str) -> PresetQueries:
    item = as_text("i.item_id", dialect)
    lines = f"""
SELECT s.sale_id AS sale_id, {item} AS sku, i.quantity_purchased AS qty,
       i.item_unit_price AS price, s.sale_time AS closed_at
FROM ospos_sales_items i
JOIN ospos_sales s ON s.sale_id = i.sale_id
LEFT JOIN ospos_stock_locations loc ON loc.location_id = i.item_location
WHERE s.sale_status = 0 AND s.sale_type IN (0, 1) AND i.quantity_purchased > 0
  AND ({any_store(dialect)} OR loc.location_name = :store)
"""
    products = f"""
SELECT {as_text("it.item_id", dialect)} AS sku, it.name AS name, it.category AS category,
       '' AS family, it.unit_price AS price, it.cost_price AS cost,
       (SELECT SUM(q.quantity) FROM ospos_item_quantities q
        LEFT JOIN ospos_stock_locations l ON l.location_id = q.location_id
        WHERE q.item_id = it.item_id AND ({any_store(dialect)} OR l.location_name = :store))
         AS stock,
       CASE WHEN it.deleted = 0 THEN 1 ELSE 0 END AS active,
       it.item_number AS barcode
FROM ospos_items it
"""
    token = "SELECT MAX(s.sale_id) AS last_sale FROM ospos_sales s"
    return PresetQueries(sale_lines=lines, products=products, open_sale=None,
                         change_token=token)


PRESET = Preset(
    name="ospos",
    title="Open Source Point of Sale (OSPOS)",
    times="local",
    runs_on=("mysql",),
    dialects={"mysql": _queries("mysql"), "postgresql": _queries("postgresql"),
              "sqlite": _queries("sqlite")},
    sku="ospos_items.item_id (the barcode is item_number, 'UPC/EAN/ISBN')",
    register="",
    store="the stock location's name (ospos_stock_locations.location_name) of each line",
    excluded="suspended (sale_status 1) and canceled (2) sales, returns (sale_type 4), work "
             "orders (2) and quotes (3); lines with no positive quantity",
    notes=(
        "The cart being rung up lives in the PHP session (a serialized blob in "
        "ospos_sessions), not in tables: push the basket through the basket API.",
        "Suspended sales are parked carts, not the one on the screen, so they are not read "
        "as the open sale.",
        "Lines removed from the cart are never stored; a deleted sale is marked canceled.",
        "Prices are as entered (tax included or not per OSPOS's 'tax_included' setting).",
        "OSPOS runs on MySQL/MariaDB only; the postgresql and sqlite texts are for copies.",
        "Times are sale_time as the MySQL session returns it (the server's time zone).",
    ),
    checked=(
        "opensourcepos/opensourcepos: app/Database/tables.sql (ospos_sales, "
        "ospos_sales_items, ospos_items, ospos_item_quantities, ospos_stock_locations)",
        "opensourcepos Constants (COMPLETED 0, SUSPENDED 1, CANCELED 2; SALE_TYPE_POS 0, "
        "INVOICE 1, WORK_ORDER 2, QUOTE 3, RETURN 4); osposweb Work-Orders.md",
    ),
)
