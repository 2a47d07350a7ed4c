"""Reading sales files into Transactions: the three layouts, messy rows, whole-file errors."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from possuggest.core.errors import InputFileError
from possuggest.evaluation.datasets import (
    LoadedSales,
    detect_format,
    read_baskets,
    read_fimi,
    read_long,
    read_sales_file,
)


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    p = tmp_path / name
    p.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return p


def baskets_of(loaded: LoadedSales) -> list[list[str]]:
    return [sorted(b) for b in loaded.tx.baskets()]


def check_invariants(loaded: LoadedSales) -> None:
    tx = loaded.tx
    assert len(tx.basket) == len(tx.item)
    pairs = tx.basket * max(tx.n_items, 1) + tx.item
    assert len(np.unique(pairs)) == len(pairs), "pairs must be deduplicated"
    if len(tx.basket):
        assert tx.basket.max() < tx.n_baskets and tx.item.max() < tx.n_items
        assert set(np.unique(tx.basket)) == set(range(tx.n_baskets)), "no empty baskets"
    assert list(tx.items) == sorted(tx.items, key=str) or loaded.fmt == "fimi"


# --------------------------------------------------------------------------- baskets

def test_read_baskets_crlf_blank_duplicates_placeholders(tmp_path: Path) -> None:
    p = write(tmp_path, "b.csv", "milk,bread,eggs\r\nbread, milk ,milk\r\n\r\nbeer\r\n"
                                 "NONE,cheese,\r\n")
    got = read_baskets(p)
    check_invariants(got)
    assert baskets_of(got) == [["bread", "eggs", "milk"], ["bread", "milk"], ["beer"],
                               ["cheese"]]
    assert got.tx.basket_time is None
    assert got.rows_read == 5
    assert got.skipped == {"blank_line": 1, "empty_item": 1, "placeholder_item": 1,
                           "duplicate_item": 1}
    assert got.fmt == "baskets"
    assert list(got.tx.basket_ids) == [1, 2, 4, 5]      # 1-based line numbers


def test_read_baskets_sniffs_semicolon_and_honours_quotes(tmp_path: Path) -> None:
    p = write(tmp_path, "b.txt", 'a;"b;c";d\nd;a\n')
    got = read_baskets(p)
    assert baskets_of(got) == [["a", "b;c", "d"], ["a", "d"]]
    p2 = write(tmp_path, "q.csv", '"nuts, salted",beer\nbeer\n')
    assert baskets_of(read_baskets(p2)) == [["beer", "nuts, salted"], ["beer"]]


def test_read_baskets_latin1_and_utf16(tmp_path: Path) -> None:
    p = write(tmp_path, "l1.csv", "café,crème\ncafé\n".encode("latin-1"))
    got = read_baskets(p)
    assert baskets_of(got) == [["café", "crème"], ["café"]]
    assert any("UTF-8" in n for n in got.notes)
    p16 = write(tmp_path, "u16.csv", "café,tea\r\ntea\r\n".encode("utf-16"))  # with BOM
    assert baskets_of(read_baskets(p16)) == [["café", "tea"], ["tea"]]


# --------------------------------------------------------------------------- long

MESSY = (
    b"Date,Time,Transaction,Item\r\n"
    b"2016-10-30,09:58:11,1,Bread\r\n"
    b"2016-10-30,10:05:34,2,Scandinavian\r\n"
    b"2016-10-30,10:05:34,2,Scandinavian\r\n"         # duplicate line: collapses
    b"\x002016-10-30,10:07:57,3,Jam\r\n"              # NUL byte at the start of a line
    b"2016-10-30,10:07:57,3,NONE\r\n"                 # not a product
    b"2016-10-30,10:07:57,3,Cookies\r\n"
    b"2016-10-30,10:08:41,4,NONE\r\n"                 # ticket with nothing else
    b"2016-10-30,10:13:03,5,\r\n"                     # empty item
    b"2016-10-30,10:13:03,,Coffee\r\n"                # empty ticket
    b"not a date,10:14:00,6,Tea\r\n"                  # unparseable time
    b"2016-10-30,10:15:00,7,Tea,extra\r\n"            # too many fields
    b"\r\n"                                           # blank line inside
    b"2016-10-29,23:59:00,8,Bread\r\n"                # earlier than ticket 1
    b"2016-10-31,08:00:00,2,Muffin\r\n"               # ticket 2 again, later line
)


def test_read_long_messy_bakery_like(tmp_path: Path) -> None:
    p = write(tmp_path, "bakery.csv", MESSY)
    got = read_long(p, ["Transaction"], "Item", ["Date", "Time"], None)
    check_invariants(got)
    assert baskets_of(got) == [["Bread"], ["Muffin", "Scandinavian"], ["Cookies", "Jam"],
                               ["Bread"]]
    assert list(got.tx.basket_ids) == ["1", "2", "3", "8"]
    assert got.skipped == {"malformed_line": 1, "blank_line": 1, "missing_ticket": 1,
                           "bad_time": 1, "empty_item": 1, "placeholder_item": 2,
                           "duplicate_item": 1}
    assert got.rows_read == 14
    assert got.rows_read == len(got.tx.basket) + sum(got.skipped.values())
    assert any("NUL" in n for n in got.notes)
    t = got.tx.basket_time
    assert t is not None and np.isfinite(t).all()
    assert t[0] == pytest.approx(np.datetime64("2016-10-30T09:58:11", "s").astype(float))
    assert t[1] == pytest.approx(np.datetime64("2016-10-30T10:05:34", "s").astype(float))
    assert t[3] < t[0]


def test_read_long_several_ticket_columns_and_day_first_times(tmp_path: Path) -> None:
    p = write(tmp_path, "cust.csv",
              "customer;day;hour;product\n"
              "c1;01-02-2020;10:00;apple\n"
              "c1;01-02-2020;10:05;pear\n"
              "c1;02-02-2020;09:00;apple\n"
              "c2;01-02-2020;11:00;apple\n")
    got = read_long(p, ["customer", "day"], "product", ["day", "hour"], "%d-%m-%Y %H:%M")
    assert baskets_of(got) == [["apple", "pear"], ["apple"], ["apple"]]
    assert list(got.tx.basket_ids) == ["c1 | 01-02-2020", "c1 | 02-02-2020",
                                       "c2 | 01-02-2020"]
    t = got.tx.basket_time
    assert t is not None
    assert t[1] - t[0] == pytest.approx(23 * 3600)       # 1 Feb 10:00 → 2 Feb 09:00
    assert got.skipped == {}


def test_read_long_tab_delimited_case_insensitive_columns(tmp_path: Path) -> None:
    p = write(tmp_path, "t.tsv", "Ticket\tSKU\n1\ta\n1\tb\n2\ta\n")
    got = read_long(p, ["ticket"], "sku", None, None)
    assert baskets_of(got) == [["a", "b"], ["a"]]
    assert got.tx.basket_time is None


def test_read_long_missing_column_names_it_and_lists_found(tmp_path: Path) -> None:
    p = write(tmp_path, "x.csv", "Date,Time,Transaction,Item\n2020-01-01,10:00,1,a\n")
    with pytest.raises(InputFileError) as err:
        read_long(p, ["Transaction"], "Product", None, None)
    msg = str(err.value)
    assert "'Product'" in msg and "Date, Time, Transaction, Item" in msg
    assert "\n" not in msg


def test_read_long_all_times_unparseable_is_an_error(tmp_path: Path) -> None:
    p = write(tmp_path, "x.csv", "when,t,i\nyesterday,1,a\nlast week,2,b\n")
    with pytest.raises(InputFileError, match="time format"):
        read_long(p, ["t"], "i", ["when"], None)


def test_read_long_infers_an_unambiguous_date_layout(tmp_path: Path) -> None:
    p = write(tmp_path, "x.csv", "when,t,i\n30/10/2016 9:05,1,a\n31/10/2016 17:40,2,b\n"
                                 "1/11/2016 8:00,3,a\n")
    got = read_long(p, ["t"], "i", ["when"], None)
    assert got.tx.n_baskets == 3
    assert any("'%d/%m/%Y %H:%M'" in n for n in got.notes)
    hours = [int(t // 3600 % 24) for t in got.tx.basket_time]
    assert hours == [9, 17, 8]                      # the wall-clock hour as written
    assert read_long(p, ["t"], "i", ["when"], "%d/%m/%Y %H:%M").tx.n_baskets == 3


def test_read_long_ambiguous_dates_ask_for_a_format(tmp_path: Path) -> None:
    p = write(tmp_path, "x.csv", "when,t,i\n1/2/2016,1,a\n3/4/2016,2,b\n")
    with pytest.raises(InputFileError, match="day-first or month-first"):
        read_long(p, ["t"], "i", ["when"], None)
    assert read_long(p, ["t"], "i", ["when"], "%d/%m/%Y").tx.n_baskets == 2


def test_read_long_quantity_column_drops_returns(tmp_path: Path) -> None:
    p = write(tmp_path, "r.csv", "InvoiceNo,StockCode,Quantity\n1,A,2\n1,B,1\n"
                                 "C2,A,-2\n3,B,0\n4,A,x\n")
    got = read_long(p, ["InvoiceNo"], "StockCode", None, None)
    assert got.skipped["return_line"] == 2
    assert got.tx.n_baskets == 2                     # 1 and 4 (a non-number is kept)
    assert any("Quantity" in n for n in got.notes)
    named = read_long(p, ["InvoiceNo"], "StockCode", None, None, qty_col="quantity")
    assert named.skipped["return_line"] == 2


def test_read_long_epoch_times(tmp_path: Path) -> None:
    p = write(tmp_path, "e.csv", "t,i,ts\n1,a,1000\n2,b,500\n")
    got = read_long(p, ["t"], "i", ["ts"], "epoch")
    assert list(got.tx.basket_time) == [1000.0, 500.0]


# --------------------------------------------------------------------------- fimi

def test_read_fimi_trailing_spaces_blank_and_bad_tokens(tmp_path: Path) -> None:
    p = write(tmp_path, "x.dat", "25 52 164 \n39 120 \n\n10 x 2 2 \n")
    got = read_fimi(p)
    check_invariants(got)
    assert list(got.tx.items) == ["2", "10", "25", "39", "52", "120", "164"]   # numeric order
    assert baskets_of(got) == [["164", "25", "52"], ["120", "39"], ["10", "2"]]
    assert got.skipped == {"blank_line": 1, "bad_item_id": 1, "duplicate_item": 1}
    assert got.rows_read == 4


def test_read_fimi_not_numbers_is_an_error(tmp_path: Path) -> None:
    p = write(tmp_path, "x.dat", "a b\nc\n")
    with pytest.raises(InputFileError, match="integer"):
        read_fimi(p)


# --------------------------------------------------------------------------- whole-file errors

@pytest.mark.parametrize("reader", [read_baskets, read_fimi, read_sales_file])
def test_missing_empty_binary_files(tmp_path: Path, reader: Callable[..., LoadedSales]) -> None:
    with pytest.raises(InputFileError, match="not found") as err:
        reader(tmp_path / "nope.csv")
    assert "\n" not in str(err.value)
    with pytest.raises(InputFileError, match="empty"):
        reader(write(tmp_path, "empty.csv", b""))
    with pytest.raises(InputFileError, match="empty"):
        reader(write(tmp_path, "blank.csv", b"\r\n\r\n  \n"))
    garbage = bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8))
    with pytest.raises(InputFileError, match="binary"):
        reader(write(tmp_path, "garbage.csv", garbage))
    with pytest.raises(InputFileError, match="SQLite"):
        reader(write(tmp_path, "till.db", b"SQLite format 3\x00" + b"\x00" * 100))
    with pytest.raises(InputFileError, match="folder"):
        reader(tmp_path)


# --------------------------------------------------------------------------- dispatcher

def test_read_sales_file_detects_layouts(tmp_path: Path) -> None:
    dat = write(tmp_path, "x.dat", "1 2\n2 3 \n")
    assert read_sales_file(dat).fmt == "fimi"
    ints = write(tmp_path, "ints.txt", "1 2\n2 3 \n")
    assert read_sales_file(ints).fmt == "fimi"
    long_ = write(tmp_path, "l.csv", MESSY)
    got = read_sales_file(long_)
    assert got.fmt == "long" and got.tx.n_baskets == 4 and got.tx.basket_time is not None
    assert any("guessed" in n for n in got.notes)
    custom = write(tmp_path, "c.csv", "receipt_no,article_code\n1,a\n1,b\n")
    assert detect_format(custom) == "baskets"
    got = read_sales_file(custom, ticket_cols=["receipt_no"], item_col="article_code")
    assert got.fmt == "long" and baskets_of(got) == [["a", "b"]]
    got = read_sales_file(custom, "long", ticket_cols="receipt_no", item_col="article_code")
    assert baskets_of(got) == [["a", "b"]]
    plain = write(tmp_path, "g.csv", "milk,bread\nbeer\n")
    assert read_sales_file(plain).fmt == "baskets"
    with pytest.raises(InputFileError, match="unknown"):
        read_sales_file(plain, "parquet")


# --------------------------------------------------------------------------- shared data

@pytest.mark.shared_data
def test_groceries(shared_data: Callable[[str], Path]) -> None:
    got = read_sales_file(shared_data("groceries.csv"))
    assert got.fmt == "baskets"
    assert got.tx.n_baskets == 9835 and got.tx.n_items == 169
    assert len(got.tx.basket) == 43367
    assert got.tx.basket_time is None
    assert "cream cheese" in set(got.tx.items)           # trailing blank stripped


@pytest.mark.shared_data
def test_bread_basket(shared_data: Callable[[str], Path]) -> None:
    got = read_sales_file(shared_data("BreadBasket_DMS.csv"), "long",
                          ticket_cols=["Transaction"], item_col="Item",
                          time_cols=["Date", "Time"])
    check_invariants(got)
    assert "NONE" not in set(got.tx.items)
    assert got.tx.n_items == 94
    assert got.skipped["placeholder_item"] == 786
    assert got.skipped["duplicate_item"] > 0
    assert "bad_time" not in got.skipped
    assert any("NUL" in n for n in got.notes)
    assert got.tx.basket_time is not None and np.isfinite(got.tx.basket_time).all()
    assert 9000 < got.tx.n_baskets < 9600
    assert got.rows_read == len(got.tx.basket) + sum(got.skipped.values())


@pytest.mark.shared_data
def test_t10i4d100k_fast(shared_data: Callable[[str], Path]) -> None:
    path = shared_data("T10I4D100K.dat")
    t0 = time.perf_counter()
    got = read_sales_file(path)
    elapsed = time.perf_counter() - t0
    assert got.fmt == "fimi" and got.tx.n_baskets == 100_000 and got.tx.n_items == 870
    assert got.skipped == {}
    assert elapsed < 10.0          # about a second on a laptop; generous for CI


# --------------------------------------------------------------------------- arguments (fuzz finds)

def test_empty_column_arguments_mean_not_given(tmp_path: Path) -> None:
    p = write(tmp_path, "l.csv", "Transaction,Item\n1,a\n1,b\n2,a\n")
    got = read_sales_file(p, "long", ticket_cols="", item_col="")
    assert got.tx.n_baskets == 2 and any("columns guessed" in n for n in got.notes)


@pytest.mark.parametrize("delimiter", ["ab", '"', "\n"])
def test_bad_delimiter_is_one_line(tmp_path: Path, delimiter: str) -> None:
    p = write(tmp_path, "b.csv", 'a,"b"\nb,c\n')
    for fmt in ("baskets", "long"):
        with pytest.raises(InputFileError, match="give one character"):
            read_sales_file(p, fmt, delimiter=delimiter)


def test_tab_delimiter_spelled_out(tmp_path: Path) -> None:
    p = write(tmp_path, "b.tsv", "a\tb\nb\tc\n")
    assert baskets_of(read_sales_file(p, "baskets", delimiter="\\t")) == [["a", "b"], ["b", "c"]]


def test_fimi_ids_too_large_for_a_float_are_bad_ids(tmp_path: Path) -> None:
    p = write(tmp_path, "x.dat", "1 2 x\n99999999999999999999999 2\n")
    got = read_fimi(p)
    assert got.skipped["bad_item_id"] == 2 and sorted(got.tx.items) == ["1", "2"]
