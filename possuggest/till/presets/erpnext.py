"""ERPNext point of sale (POS Invoice): MariaDB (PostgreSQL where Frappe runs on it).

Checked against frappe/erpnext: erpnext/accounts/doctype/pos_invoice/pos_invoice.json
(``posting_date``, ``posting_time``, ``is_return``, ``return_against``, ``pos_profile``,
``set_warehouse``, ``consolidated_invoice``, ``status``; every doctype has ``docstatus`` 0
draft / 1 submitted / 2 cancelled), its child table "POS Invoice Item" (``parent``,
``item_code``, ``qty``, ``rate``, ``warehouse``), erpnext/stock/doctype/item_barcode
(``barcode``), bin.json (``item_code``, ``warehouse``, ``actual_qty``) and Item's
``item_name``, ``item_group``, ``variant_of``, ``has_variants``, ``valuation_rate``,
``disabled``, ``is_sales_item``. Frappe keeps each doctype in a table named ``tab<Doctype>``.
"""

from __future__ import annotations

from possuggest.till.presets import Preset, PresetQueries
from possuggest.till.presets._sql import any_store, quoted

#: the selling price list the products' prices come from
PRICE_LIST = "Standard Selling"


def _queries(dialect: str) -> PresetQueries:
    anys = any_store(dialect)
    inv, item = quoted("tabPOS Invoice", dialect), quoted("tabPOS Invoice Item", dialect)
    closed = {"mysql": "TIMESTAMP(inv.posting_date, inv.posting_time)",
              "postgresql": "inv.posting_date + inv.posting_time",
              "sqlite": "inv.posting_date || ' ' || inv.posting_time"}[dialect]
    lines = f"""
SELECT inv.name AS sale_id, it.item_code AS sku, it.qty AS qty, it.rate AS price,
       {closed} AS closed_at
FROM {item} it
JOIN {inv} inv ON inv.name = it.parent
WHERE inv.docstatus = 1 AND inv.is_return = 0 AND it.qty > 0
  AND ({anys} OR it.warehouse = :store)
"""
    products = f"""
SELECT i.name AS sku, i.item_name AS name, i.item_group AS category,
       COALESCE(i.variant_of, '') AS family,
       (SELECT MAX(ip.price_list_rate) FROM {quoted("tabItem Price", dialect)} ip
        WHERE ip.item_code = i.name AND ip.selling = 1
          AND ip.price_list = '{PRICE_LIST}') AS price,
       i.valuation_rate AS cost,
       (SELECT SUM(b.actual_qty) FROM {quoted("tabBin", dialect)} b
        WHERE b.item_code = i.name AND ({anys} OR b.warehouse = :store)) AS stock,
       CASE WHEN i.disabled = 0 AND i.is_sales_item = 1 THEN 1 ELSE 0 END AS active,
       (SELECT MIN(bc.barcode) FROM {quoted("tabItem Barcode", dialect)} bc
        WHERE bc.parent = i.name) AS barcode
FROM {quoted("tabItem", dialect)} i
WHERE i.has_variants = 0
"""
    token = f"SELECT MAX(inv.modified) AS last_change FROM {inv} inv"
    return PresetQueries(sale_lines=lines, products=products, open_sale=None,
                         change_token=token)


PRESET = Preset(
    name="erpnext",
    title="ERPNext point of sale (POS Invoice)",
    times="local",
    runs_on=("mysql", "postgresql"),
    dialects={"mysql": _queries("mysql"), "postgresql": _queries("postgresql"),
              "sqlite": _queries("sqlite")},
    sku="the Item's item_code (tabItem.name)",
    register="",
    store="the warehouse of each line (e.g. 'Stores - AC'), and of the stock",
    excluded="drafts (docstatus 0), cancelled invoices (2) and returns (is_return 1); lines "
             "with no positive quantity",
    notes=(
        "The cart lives in the browser's POS page; a POS Invoice is written only at "
        "checkout (or as a draft when held). Push the basket through the basket API.",
        "POS Invoices stay in place (status Consolidated) after the closing entry merges "
        "them into Sales Invoices, so each sale is read once.",
        f"Prices come from the '{PRICE_LIST}' price list (change it in [till.mapping] "
        "products for another); cost is the Item's valuation_rate.",
        "Template items (has_variants) are left out; a variant's family is its template "
        "(variant_of).",
        "Times are posting_date + posting_time, the site's local time.",
        "Sites set to sell through Sales Invoice instead of POS Invoice (newer versions) "
        "need sale_lines mapped on tabSales Invoice (is_pos = 1).",
    ),
    checked=(
        "frappe/erpnext: erpnext/accounts/doctype/pos_invoice/pos_invoice.json, "
        "erpnext/stock/doctype/item_barcode/item_barcode.json, erpnext/stock/doctype/bin/"
        "bin.json (actual_qty, warehouse, item_code)",
    ),
)
