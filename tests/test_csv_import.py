"""Cloud tills' item-level CSV exports mirrored into the imported till: the real exports'
columns, idempotent imports (the same lines twice are added once), returns and voids kept
out of mining, bad files refused with one line and nothing written."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from conftest import file_hash
from possuggest.cli.main import main
from possuggest.core.config import TillSettings
from possuggest.core.errors import InputFileError
from possuggest.till.csv_import import (
    IMPORTED_TILL,
    CsvImportError,
    detect_format,
    import_export,
    import_folder,
    parse_number,
)
from possuggest.till.reader import TillReader

# Square "Items" (Items Detail) export: the header as Square writes it
SQUARE_HEADER = ("Date,Time,Time Zone,Category,Item,Qty,Price Point Name,SKU,Modifiers Applied,"
                 "Gross Sales,Discounts,Net Sales,Tax,Transaction ID,Payment ID,Device Name,"
                 "Notes,Details,Event Type,Location,Dining Option,Customer ID,Customer Name,"
                 "Customer Reference ID,Unit,Count,Itemization Type,Commission,Employee,"
                 "Fulfillment Note,Channel,Token")


def _square_row(date: str, time: str, item: str, qty: str, gross: str, txn: str,
                point: str = "Regular", sku: str = "", event: str = "Payment",
                token: str = "") -> str:
    cells = [date, time, "Eastern Time (US & Canada)", "Garden", item, qty, point, sku, "",
             gross, "$0.00", gross, "$0.00", txn, f"P-{txn}", "Counter iPad", "", "", event,
             "Main St", "", "", "", "", "", "1", "Physical Item", "$0.00", "Sam", "", "", token]
    return ",".join(f'"{c}"' if "," in c else c for c in cells)


SQUARE_ROWS = [
    _square_row("2026-06-01", "09:15:00", "Lawn Mower", "1", "$249.00", "T1", sku="MOW"),
    _square_row("2026-06-01", "09:15:00", "Grass Catcher", "1", "$39.00", "T1", sku="GC"),
    _square_row("2026-06-01", "10:02:11", "Potting Soil", "2", "$29.00", "T2", point="40 L"),
    _square_row("2026-06-01", "10:02:11", "Work Gloves", "1", "$8.00", "T2"),
    _square_row("2026-06-01", "10:02:11", "Work Gloves", "1", "$8.00", "T2"),   # twice: 2 lines
    _square_row("2026-06-02", "11:30:00", "Lawn Mower", "1", "$1,249.00", "T3", sku="MOW"),
    _square_row("2026-06-03", "12:00:00", "Grass Catcher", "-1", "-$39.00", "T1", sku="GC",
                event="Refund"),
]


def _write(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _count(db: Path, sql: str) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


def _baskets(db: Path) -> list[list[str]]:
    with TillReader(db, TillSettings()) as t:
        return [sorted(b) for b in t.read_transactions().baskets()]


def test_square_export_is_imported_once(tmp_path: Path) -> None:
    db = tmp_path / IMPORTED_TILL
    export = _write(tmp_path / "items-2026-06.csv", SQUARE_HEADER, SQUARE_ROWS)
    first = import_export(export, db)
    assert (first.format, first.rows, first.new_lines, first.new_sales) == ("square", 7, 7, 4)
    assert _baskets(db) == [["GC", "MOW"], ["Potting Soil (40 L)", "Work Gloves"], ["MOW"]]
    with TillReader(db, TillSettings()) as t:
        products = t.read_products()
        assert t.read_transactions().basket_time is not None
    assert products["MOW"].price == 1249.0 and products["MOW"].name == "Lawn Mower"
    assert products["Potting Soil (40 L)"].price == 14.5
    assert _count(db, "SELECT COUNT(*) FROM sale_lines WHERE sku = 'Work Gloves'") == 2
    before = file_hash(db)
    again = import_export(export, db)
    assert again.already and again.new_lines == 0 and file_hash(db) == before
    # a later export overlapping the first (a re-export of June plus a new day): only the
    # new day's lines are added, whatever the file's order
    later = _write(tmp_path / "items-june-july.csv", SQUARE_HEADER, list(reversed(
        SQUARE_ROWS + [_square_row("2026-07-01", "08:00:00", "Work Gloves", "3", "$24.00",
                                   "T9")])))
    third = import_export(later, db)
    assert (third.new_lines, third.new_sales) == (1, 1)
    assert _count(db, "SELECT COUNT(*) FROM sale_lines") == 8


def test_square_token_is_the_line_identity(tmp_path: Path) -> None:
    db = tmp_path / IMPORTED_TILL
    rows = [_square_row("2026-06-01", "09:00:00", "Tape", "1", "$5.00", "T1", token="L1"),
            _square_row("2026-06-01", "09:00:00", "Tape", "1", "$5.00", "T1", token="L2")]
    import_export(_write(tmp_path / "a.csv", SQUARE_HEADER, rows), db)
    edited = [rows[1].replace("Counter iPad", "Back iPad"), rows[0]]      # same tokens
    assert import_export(_write(tmp_path / "b.csv", SQUARE_HEADER, edited), db).new_lines == 0


SHOPIFY_HEADER = ("Name,Email,Financial Status,Paid at,Fulfillment Status,Fulfilled at,Currency,"
                  "Subtotal,Shipping,Taxes,Total,Created at,Lineitem quantity,Lineitem name,"
                  "Lineitem price,Lineitem compare at price,Lineitem sku,Cancelled at,"
                  "Refunded Amount,Location,Source")


def test_shopify_orders_export(tmp_path: Path) -> None:
    db = tmp_path / IMPORTED_TILL
    rows = [
        "#1001,a@example.com,paid,2026-06-01 10:15:00 -0400,fulfilled,,USD,47.00,0,0,47.00,"
        "2026-06-01 10:14:00 -0400,2,Botanical Print - Large,16.00,,PRINT-L,,0.00,Main St,pos",
        "#1001,,,,,,,,,,,,1,Canvas Tote Bag,15.00,,TOTE,,,,",          # the order's 2nd line
        "#1002,b@example.com,voided,,,,USD,15.00,0,0,15.00,2026-06-01 11:00:00 -0400,1,"
        "Canvas Tote Bag,15.00,,TOTE,2026-06-01 11:05:00 -0400,0.00,Main St,pos",
        "#1003,c@example.com,paid,,,,USD,15.00,0,0,15.00,2026-06-02 09:00:00 -0400,1,"
        "Canvas Tote Bag,15.00,,TOTE,,0.00,Main St,pos",
    ]
    result = import_export(_write(tmp_path / "orders_export.csv", SHOPIFY_HEADER, rows), db)
    assert (result.format, result.new_lines, result.new_sales) == ("shopify", 4, 3)
    assert _baskets(db) == [["PRINT-L", "TOTE"], ["TOTE"]]        # the cancelled one left out
    assert _count(db, "SELECT COUNT(*) FROM sales WHERE status = 'void'") == 1
    assert _count(db, "SELECT COUNT(*) FROM sales WHERE closed_at = '2026-06-01T10:14:00'") == 1


LOYVERSE_HEADER = ("Date,Receipt number,Receipt type,Category,SKU,Item,Variant,Modifiers applied,"
                   "Quantity,Gross sales,Discounts,Net sales,Cost of goods,Gross profit,Taxes,"
                   "Dining option,POS,Store,Cashier name,Customer name,Customer contacts,"
                   "Comment,Status")


def _loyverse(date: str, receipt: str, kind: str, sku: str, item: str, qty: str, gross: str,
              status: str = "Closed", variant: str = "") -> str:
    return (f"{date},{receipt},{kind},Seeds,{sku},{item},{variant},,{qty},{gross},0.00,{gross},"
            f"1.00,1.00,0.00,Dine in,POS 1,Garden Shop,Owner,,,,{status}")


def test_loyverse_receipts_by_item_day_first(tmp_path: Path) -> None:
    db = tmp_path / IMPORTED_TILL
    rows = [_loyverse("31/05/2026 09:05", "1-1001", "Sale", "10001", "Bird Seed", "1.5", "6.75"),
            _loyverse("31/05/2026 09:05", "1-1001", "Sale", "10002", "Feeder", "1", "12.00",
                      variant="Small"),
            _loyverse("01/06/2026 14:00", "1-1002", "Sale", "10002", "Feeder", "1", "12.00",
                      status="Cancelled", variant="Small"),
            _loyverse("02/06/2026 10:00", "1-1003", "Refund", "10001", "Bird Seed", "-1",
                      "-4.50")]
    export = _write(tmp_path / "receipts-by-item.csv", LOYVERSE_HEADER, rows)
    result = import_export(export, db)
    assert (result.format, result.new_lines, result.new_sales) == ("loyverse", 4, 3)
    assert _baskets(db) == [["10001", "10002"]]
    with TillReader(db, TillSettings()) as t:
        products = t.read_products()
    assert products["10002"].name == "Feeder (Small)" and products["10001"].price == 4.5
    assert products["10001"].cost == pytest.approx(1 / 1.5)
    assert _count(db, "SELECT COUNT(*) FROM sales WHERE closed_at = '2026-05-31T09:05:00'") == 1


def test_ambiguous_dates_need_an_order(tmp_path: Path) -> None:
    db = tmp_path / IMPORTED_TILL
    rows = [_loyverse("01/06/2026 9:05 AM", "1-1", "Sale", "1", "Seed", "1", "4.50"),
            _loyverse("02/06/2026 1:30 PM", "1-2", "Sale", "1", "Seed", "1", "4.50")]
    export = _write(tmp_path / "r.csv", LOYVERSE_HEADER, rows)
    with pytest.raises(CsvImportError, match="give --day-first or --month-first"):
        import_export(export, db)
    assert not db.exists()
    import_export(export, db, day_first=False)
    assert _count(db, "SELECT COUNT(*) FROM sales WHERE closed_at = '2026-02-06T13:30:00'") == 1


def test_generic_csv(tmp_path: Path) -> None:
    db = tmp_path / IMPORTED_TILL
    export = _write(tmp_path / "sales.csv", "sale_id,time,sku,qty,name,price,barcode,line_id",
                    ["S1,2026-06-01T09:00:00,A,1,Alpha,2.50,4000000000011,1",
                     "S1,2026-06-01T09:00:00,B,1,Beta,3.00,,2",
                     "S2,2026-06-01 10:00,A,1,Alpha,2.50,4000000000011,3"])
    assert import_export(export, db).new_lines == 3
    with TillReader(db, TillSettings()) as t:
        assert t.read_products()["A"].barcode == "4000000000011"
    # the same line ids in another file: nothing new
    again = _write(tmp_path / "again.csv", "sale_id,time,sku,qty,line_id",
                   ["S1,2026-06-01T09:00:00,A,1,1"])
    assert import_export(again, db).new_lines == 0


@pytest.mark.parametrize("header, rows, message", [
    (SQUARE_HEADER.replace("Transaction ID,", ""), [], r"square export lacks column\(s\): "
                                                      r"Transaction ID"),
    ("Date,Receipt number,Receipt type,Gross sales,Status", ["1/1/26,1,Sale,1,Closed"],
     r"loyverse export lacks column\(s\): Item, Quantity"),
    (SQUARE_HEADER, [_square_row("2026-06-01", "09:00:00", "Tape", "lots", "$5", "T1")],
     r"bad\.csv row 2: 'Qty' is not a number: 'lots'"),
    (SQUARE_HEADER, [_square_row("2026-06-01", "09:00:00", "Tape", "1", "$5", "T1"),
                     _square_row("2026-13-01", "09:00:00", "Tape", "1", "$5", "T2")],
     r"bad\.csv row 3: 'Date'/'Time' is not a date and time"),
    ("when,what,how many", ["x,y,z"], r"cannot tell the export's format from its columns"),
    (SHOPIFY_HEADER, [",,,,,,,,,,,2026-06-01 10:00:00 -0400,1,Tote,1,,T,,,,"],
     r"'Name' \(the order\) is empty"),
])
def test_bad_export_is_refused_and_nothing_written(tmp_path: Path, header: str,
                                                    rows: list[str], message: str) -> None:
    db = tmp_path / IMPORTED_TILL
    good = _write(tmp_path / "good.csv", SQUARE_HEADER, SQUARE_ROWS)
    import_export(good, db)
    before = file_hash(db)
    bad = _write(tmp_path / "bad.csv", header, rows)
    with pytest.raises(CsvImportError, match=message) as info:
        import_export(bad, db)
    assert "\n" not in str(info.value) and isinstance(info.value, InputFileError)
    assert file_hash(db) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "good.csv", IMPORTED_TILL]


def test_a_bad_first_import_leaves_no_database(tmp_path: Path) -> None:
    db = tmp_path / IMPORTED_TILL
    bad = _write(tmp_path / "bad.csv", SQUARE_HEADER, [_square_row("x", "y", "T", "1", "1", "T")])
    with pytest.raises(CsvImportError):
        import_export(bad, db)
    assert not db.exists()


def test_another_programs_database_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE invoices (id INTEGER)")
    conn.commit()
    conn.close()
    before = file_hash(other)
    export = _write(tmp_path / "e.csv", SQUARE_HEADER, SQUARE_ROWS)
    with pytest.raises(CsvImportError, match="not an imported till made by possuggest"):
        import_export(export, other)
    assert file_hash(other) == before


def test_parse_number_and_detect_format() -> None:
    assert [parse_number(t) for t in ("$1,234.50", "-$12.00", "(3.00)", "1.234,50", "3,5",
                                      "12", "lots")] == [1234.5, -12.0, -3.0, 1234.5, 3.5, 12.0,
                                                         None]
    assert detect_format(SQUARE_HEADER.split(",")) == "square"
    assert detect_format(SHOPIFY_HEADER.split(",")) == "shopify"
    assert detect_format(LOYVERSE_HEADER.split(",")) == "loyverse"
    assert detect_format(["a", "b"]) is None


def test_import_command_and_drop_folder(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    export = _write(tmp_path / "items.csv", SQUARE_HEADER, SQUARE_ROWS)
    common = ["--data-dir", str(data)]
    assert main(["import", str(export), *common]) == 0
    out = capsys.readouterr().out
    db = data / IMPORTED_TILL
    assert "7 new sale lines in 4 new sales" in out and f'path = "{db}"' in out
    assert main(["import", str(export), *common]) == 0
    assert "already imported" in capsys.readouterr().out
    assert main(["import", str(tmp_path / "missing.csv"), *common]) == 2
    assert "export not found" in capsys.readouterr().err
    # a drop folder: the good file is imported, the bad one named, the exit code says so
    drop = tmp_path / "drop"
    drop.mkdir()
    _write(drop / "june.csv", SQUARE_HEADER,
           [_square_row("2026-06-20", "09:00:00", "Tape", "1", "$5.00", "T20")])
    _write(drop / "broken.csv", SQUARE_HEADER.replace(",Qty", ""), ["x"])
    assert main(["import", "--folder", str(drop), *common]) == 2
    captured = capsys.readouterr()
    assert "june.csv: square export" in captured.out
    assert "broken.csv: square export lacks column(s): Qty" in captured.err
    assert _count(db, "SELECT COUNT(*) FROM sale_lines") == 8
    # the imported till mines like any other
    assert main(["refresh", "-q", "--till-db", str(db), *common]) == 0
    assert "rule set 1 active" in capsys.readouterr().out


def test_import_folder_must_be_a_folder(tmp_path: Path) -> None:
    with pytest.raises(CsvImportError, match="not a folder"):
        import_folder(tmp_path / "nope", tmp_path / IMPORTED_TILL)
