"""The reference till schema (what the demo store creates and what needs no configuration)."""

from __future__ import annotations

REFERENCE_DDL = """
CREATE TABLE IF NOT EXISTS products (
    sku TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    category TEXT,
    family TEXT,
    price REAL NOT NULL,
    cost REAL,
    stock INTEGER,
    active INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS sales (
    sale_id INTEGER PRIMARY KEY,
    register_id TEXT NOT NULL,
    cashier_id TEXT,
    customer_id TEXT,
    opened_at TEXT NOT NULL,
    closed_at TEXT,
    status TEXT NOT NULL CHECK (status IN ('open', 'closed', 'void'))
);
CREATE TABLE IF NOT EXISTS sale_lines (
    line_id INTEGER PRIMARY KEY,
    sale_id INTEGER NOT NULL REFERENCES sales(sale_id),
    sku TEXT NOT NULL REFERENCES products(sku),
    qty REAL NOT NULL,
    unit_price REAL NOT NULL,
    voided INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS sale_lines_sale ON sale_lines(sale_id);
CREATE INDEX IF NOT EXISTS sales_open ON sales(status, register_id);
"""

# Columns each mapped query must return (reference queries below return exactly these).
SALE_LINE_COLUMNS = ("sale_id", "sku", "qty", "closed_at")
PRODUCT_COLUMNS = ("sku", "name", "category", "family", "price", "cost", "stock", "active")
OPEN_SALE_COLUMNS = ("sale_id", "sku", "qty")
# optional: products ``barcode`` (what a scanner reads, when it differs from the SKU); sale
# lines ``price``; the open sale ``line`` (ring-up order: MySQL ignores an ORDER BY inside
# the query when the reader wraps it)
OPTIONAL_COLUMNS = {"products": ("barcode",), "sale_lines": ("price",), "open_sale": ("line",)}

# Closed sales' lines for mining: voided lines, voided sales and returns are left out.
REFERENCE_SALE_LINES = """
SELECT l.sale_id AS sale_id, l.sku AS sku, l.qty AS qty, s.closed_at AS closed_at
FROM sale_lines AS l JOIN sales AS s ON s.sale_id = l.sale_id
WHERE s.status = 'closed' AND l.voided = 0 AND l.qty > 0
"""

# every column, so a reference till with a ``barcode`` column has its barcodes read
REFERENCE_PRODUCTS = """
SELECT * FROM products
"""

# The newest open sale of one register; ``:register`` is bound by the reader.
REFERENCE_OPEN_SALE = """
SELECT l.sale_id AS sale_id, l.sku AS sku, SUM(l.qty) AS qty, MIN(l.line_id) AS line
FROM sale_lines AS l
WHERE l.voided = 0 AND l.sale_id = (
    SELECT MAX(sale_id) FROM sales WHERE status = 'open' AND register_id = :register)
GROUP BY l.sale_id, l.sku
HAVING SUM(l.qty) > 0
ORDER BY MIN(l.line_id)
"""
