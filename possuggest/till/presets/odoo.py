"""Odoo Point of Sale: PostgreSQL (Odoo runs on nothing else).

Checked against odoo/odoo: addons/point_of_sale/report/pos_order_report.py (the view joining
``pos_order_line l`` → ``pos_order s`` (``date_order``, ``state``, ``session_id``) →
``product_product p`` (``product_tmpl_id``) → ``product_template pt`` (``categ_id``) and
``pos_session ps`` (``config_id``)), the order states draft / cancel / paid / done (posted) /
invoiced, ``product.product``'s ``barcode`` and its attribute values through the
``product_variant_combination`` relation, and ``stock.location.warehouse_id`` (stored).

Since Odoo 16 translatable names (``product_template.name``, ``product_attribute_value.name``)
are ``jsonb`` ({"en_US": …, "de_DE": …}); before, plain text. The PostgreSQL text reads both:
``to_jsonb(column)`` is the object itself or a JSON string. Since Odoo 18 the cost
(``standard_price``, company-dependent) is a ``jsonb`` column of ``product_product`` keyed by
company; ``to_jsonb(pp) -> 'standard_price'`` reads it there and is NULL on older versions.
"""

from __future__ import annotations

from possuggest.till.presets import Preset, PresetQueries


def _pg_name(col: str) -> str:
    """A name column that is jsonb translations (Odoo 16+) or plain text (up to 15)."""
    j = f"to_jsonb({col})"
    return (f"CASE jsonb_typeof({j}) WHEN 'object' THEN COALESCE({j} ->> CAST(:lang AS TEXT), "
            f"{j} ->> 'en_US', (SELECT v.value FROM jsonb_each_text({j}) v LIMIT 1)) "
            f"ELSE {j} #>> '{{}}' END")


def _sqlite_name(col: str) -> str:
    return (f"CASE WHEN json_valid({col}) AND json_type({col}) = 'object' THEN "
            f"COALESCE(json_extract({col}, '$.\"' || :lang || '\"'), "
            f"json_extract({col}, '$.en_US')) ELSE {col} END")


_COMBINATION = """FROM product_variant_combination vc
        JOIN product_template_attribute_value ptav
          ON ptav.id = vc.product_template_attribute_value_id
        JOIN product_attribute_value pav ON pav.id = ptav.product_attribute_value_id
        WHERE vc.product_product_id = pp.id"""

# the warehouse of a POS order: its session's point of sale's operation type
_WAREHOUSE = """LEFT JOIN pos_session ps ON ps.id = o.session_id
LEFT JOIN pos_config cfg ON cfg.id = ps.config_id
LEFT JOIN stock_picking_type spt ON spt.id = cfg.picking_type_id
LEFT JOIN stock_warehouse w ON w.id = spt.warehouse_id"""


def _lines(any_store: str, sku: str) -> str:
    return f"""
SELECT o.id AS sale_id, {sku} AS sku, l.qty AS qty, l.price_unit AS price,
       o.date_order AS closed_at
FROM pos_order_line l
JOIN pos_order o ON o.id = l.order_id
{_WAREHOUSE}
WHERE o.state IN ('paid', 'done', 'invoiced') AND l.qty > 0
  AND ({any_store} OR w.name = :store OR w.code = :store)
"""


def _stock(any_store: str) -> str:
    return f"""(SELECT SUM(q.quantity) FROM stock_quant q
        JOIN stock_location sl ON sl.id = q.location_id
        LEFT JOIN stock_warehouse sw ON sw.id = sl.warehouse_id
        WHERE q.product_id = pp.id AND sl.usage = 'internal'
          AND ({any_store} OR sw.name = :store OR sw.code = :store))"""


_FAMILY = """CASE WHEN (SELECT COUNT(*) FROM product_product sib
                  WHERE sib.product_tmpl_id = pp.product_tmpl_id) > 1
            THEN {tmpl} ELSE '' END"""

_TOKEN = "SELECT MAX(o.id) AS last_order FROM pos_order o"


def _postgresql() -> PresetQueries:
    anys = "CAST(:store AS TEXT) = ''"
    variants = (f"(SELECT string_agg({_pg_name('pav.name')}, ', ' ORDER BY pav.id) "
                f"{_COMBINATION})")
    extra = f"(SELECT SUM(ptav.price_extra) {_COMBINATION})"
    cost_json = "to_jsonb(pp) -> 'standard_price'"
    cost = (f"(SELECT MAX(CAST(c.value AS DOUBLE PRECISION)) FROM jsonb_each_text("
            f"CASE jsonb_typeof({cost_json}) WHEN 'object' THEN {cost_json} "
            f"ELSE CAST('{{}}' AS jsonb) END) c)")
    products = f"""
SELECT CAST(pp.id AS TEXT) AS sku,
       {_pg_name('pt.name')} || COALESCE(' (' || {variants} || ')', '') AS name,
       {_pg_name('pc.name')} AS category,
       {_FAMILY.format(tmpl="CAST(pp.product_tmpl_id AS TEXT)")} AS family,
       pt.list_price + COALESCE({extra}, 0) AS price,
       {cost} AS cost,
       {_stock(anys)} AS stock,
       CASE WHEN pp.active AND pt.active AND pt.sale_ok THEN 1 ELSE 0 END AS active,
       pp.barcode AS barcode
FROM product_product pp
JOIN product_template pt ON pt.id = pp.product_tmpl_id
LEFT JOIN product_category pc ON pc.id = pt.categ_id
"""
    return PresetQueries(sale_lines=_lines(anys, "CAST(l.product_id AS TEXT)"),
                         products=products, open_sale=None, change_token=_TOKEN)


def _sqlite() -> PresetQueries:
    """The same for a SQLite copy of Odoo's tables (jsonb kept as JSON text)."""
    anys = ":store = ''"
    variants = (f"(SELECT group_concat(vname, ', ') FROM (SELECT {_sqlite_name('pav.name')} "
                f"AS vname {_COMBINATION} ORDER BY pav.id))")
    extra = f"(SELECT SUM(ptav.price_extra) {_COMBINATION})"
    cost = ("(SELECT MAX(CAST(c.value AS REAL)) FROM json_each(CASE WHEN "
            "json_valid(pp.standard_price) AND json_type(pp.standard_price) = 'object' THEN "
            "pp.standard_price ELSE '{}' END) c)")
    products = f"""
SELECT CAST(pp.id AS TEXT) AS sku,
       {_sqlite_name('pt.name')} || COALESCE(' (' || {variants} || ')', '') AS name,
       {_sqlite_name('pc.name')} AS category,
       {_FAMILY.format(tmpl="CAST(pp.product_tmpl_id AS TEXT)")} AS family,
       pt.list_price + COALESCE({extra}, 0) AS price,
       {cost} AS cost,
       {_stock(anys)} AS stock,
       CASE WHEN pp.active AND pt.active AND pt.sale_ok THEN 1 ELSE 0 END AS active,
       pp.barcode AS barcode
FROM product_product pp
JOIN product_template pt ON pt.id = pp.product_tmpl_id
LEFT JOIN product_category pc ON pc.id = pt.categ_id
"""
    return PresetQueries(sale_lines=_lines(anys, "CAST(l.product_id AS TEXT)"),
                         products=products, open_sale=None, change_token=_TOKEN)


PRESET = Preset(
    name="odoo",
    title="Odoo Point of Sale",
    times="utc",
    runs_on=("postgresql",),
    dialects={"postgresql": _postgresql(), "sqlite": _sqlite()},
    sku="product_product.id (the Internal Reference, default_code, may repeat or be empty)",
    register="",
    store="the warehouse (name or short code) of the order's point of sale, and of the stock",
    excluded="orders not paid, posted or invoiced (draft, cancelled) and refunds (orders "
             "whose lines have negative quantities); lines with no positive quantity",
    notes=(
        "The order being rung up lives in the browser's point-of-sale app; only restaurant "
        "mode syncs open tables as draft orders. Push the basket through the basket API.",
        "date_order is kept in UTC: set [till] timezone so times of day are the store's.",
        "Names in Odoo 16+ are translations: [till] language picks one, falling back to "
        "en_US. A variant's name adds its attribute values: 'Potting Soil (40 L)'.",
        "Prices are list_price plus the variant's price extras, as entered (tax included or "
        "not per the product's taxes); pricelists are not applied.",
        "Cost is read in Odoo 18+ (standard_price per company); on older versions it stays "
        "empty (it lives in ir_property): margin weighting then has no cost.",
        "Stock is the sum of stock_quant in internal locations (of the :store warehouse).",
        "Combo products (Odoo 17+) are read as their lines.",
    ),
    checked=(
        "odoo/odoo: addons/point_of_sale/report/pos_order_report.py (pos_order_line, "
        "pos_order, product_product, product_template, pos_session, pos_config)",
        "odoo pos.order state selection: draft, cancel, paid, done ('Posted'), invoiced",
        "product.product: barcode; relation='product_variant_combination'; "
        "stock.location.warehouse_id stored",
    ),
)
