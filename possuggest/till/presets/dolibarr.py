"""Dolibarr with its point-of-sale module TakePOS: MySQL/MariaDB or PostgreSQL.

Checked against Dolibarr/dolibarr htdocs/install/mysql/tables/: ``llx_facture(rowid, ref,
entity, type, fk_statut, datec, tms, module_source, pos_source)``, ``llx_facturedet(rowid,
fk_facture, fk_product, qty, subprice, rang)``, ``llx_product(rowid, ref, entity, label,
price, price_ttc, cost_price, pmp, stock, tosell, barcode)``, ``llx_categorie`` /
``llx_categorie_product(fk_categorie, fk_product)``,
``llx_product_attribute_combination(fk_product_parent, fk_product_child)``; and TakePOS
(htdocs/takepos/invoice.php): the sale on the screen is a draft invoice (``fk_statut`` 0)
with ``ref`` '(PROV-POS<terminal>-<place>)', ``module_source`` 'takepos' and
``pos_source`` the terminal, whose lines are inserted on each scan. Invoice statuses: 0 draft,
1 validated, 2 paid, 3 abandoned; types: 0 standard, 1 replacement, 2 credit note, 3 deposit.
"""

from __future__ import annotations

from possuggest.till.presets import Preset, PresetQueries
from possuggest.till.presets._sql import any_store, as_text


def _queries(dialect: str) -> PresetQueries:
    anys = any_store(dialect)
    entity = as_text("f.entity", dialect)
    lines = f"""
SELECT f.rowid AS sale_id, p.ref AS sku, d.qty AS qty, d.subprice AS price,
       f.datec AS closed_at
FROM llx_facturedet d
JOIN llx_facture f ON f.rowid = d.fk_facture
JOIN llx_product p ON p.rowid = d.fk_product
WHERE f.fk_statut IN (1, 2) AND f.type IN (0, 1) AND f.module_source = 'takepos'
  AND d.qty > 0 AND ({anys} OR {entity} = :store)
"""
    products = """
SELECT p.ref AS sku, p.label AS name,
       (SELECT MIN(c.label) FROM llx_categorie_product cp
        JOIN llx_categorie c ON c.rowid = cp.fk_categorie
        WHERE cp.fk_product = p.rowid) AS category,
       COALESCE((SELECT MIN(parent.ref) FROM llx_product_attribute_combination pac
                 JOIN llx_product parent ON parent.rowid = pac.fk_product_parent
                 WHERE pac.fk_product_child = p.rowid), '') AS family,
       p.price_ttc AS price,
       COALESCE(p.cost_price, NULLIF(p.pmp, 0)) AS cost,
       p.stock AS stock,
       p.tosell AS active,
       p.barcode AS barcode
FROM llx_product p
"""
    draft = f"""(SELECT MAX(o.rowid) FROM llx_facture o
    WHERE o.fk_statut = 0 AND o.module_source = 'takepos' AND o.pos_source = :register
      AND ({anys} OR {as_text("o.entity", dialect)} = :store))"""
    open_sale = f"""
SELECT f.rowid AS sale_id, p.ref AS sku, SUM(d.qty) AS qty, MIN(d.rowid) AS line
FROM llx_facturedet d
JOIN llx_facture f ON f.rowid = d.fk_facture
JOIN llx_product p ON p.rowid = d.fk_product
WHERE f.rowid = {draft}
GROUP BY f.rowid, p.ref
HAVING SUM(d.qty) > 0
"""
    token = """
SELECT (SELECT MAX(d.rowid) FROM llx_facturedet d) AS last_line,
       (SELECT COUNT(*) + COALESCE(SUM(d.qty), 0) FROM llx_facturedet d
        JOIN llx_facture f ON f.rowid = d.fk_facture WHERE f.fk_statut = 0) AS draft_lines
"""
    return PresetQueries(sale_lines=lines, products=products, open_sale=open_sale,
                         change_token=token)


PRESET = Preset(
    name="dolibarr",
    title="Dolibarr TakePOS",
    times="local",
    runs_on=("mysql", "postgresql"),
    dialects={"mysql": _queries("mysql"), "postgresql": _queries("postgresql"),
              "sqlite": _queries("sqlite")},
    sku="llx_product.ref",
    register="the TakePOS terminal number (llx_facture.pos_source), '1' for terminal 1",
    store="the Dolibarr entity id (multi-company) of the invoices, e.g. '1' (products and "
          "stock are not filtered: the multicompany module may share them)",
    excluded="draft (fk_statut 0) and abandoned (3) invoices, credit notes (type 2) and "
             "deposits (3), invoices not made by TakePOS; free-text lines with no product",
    notes=(
        "The open sale is plain SQL: TakePOS writes each scan into a draft invoice of the "
        "terminal, so the panel follows the till with no script (the newest draft of the "
        "terminal; restaurant mode keeps one draft per table).",
        "Invoices made outside TakePOS are left out (module_source 'takepos'); drop that "
        "condition in [till.mapping] sale_lines to mine them too.",
        "Times are llx_facture.datec (when the first item was scanned), local time.",
        "Prices are price_ttc (tax included); cost is cost_price, else the weighted average "
        "cost pmp; stock is the product's total physical stock (llx_product.stock).",
        "A variant's family is its parent product (llx_product_attribute_combination).",
    ),
    checked=(
        "Dolibarr/dolibarr: htdocs/install/mysql/tables/llx_facture.sql, "
        "llx_facturedet.sql, llx_product.sql, llx_product_attribute_combination.sql",
        "Dolibarr TakePOS invoice.php: draft ref '(PROV-POS<terminal>-<place>)', "
        "module_source 'takepos', pos_source = terminal",
    ),
)
