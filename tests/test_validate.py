"""Prices validation and table reading: each kind of garbage refused, counted and located, never zeroed."""

from __future__ import annotations

import gzip
import math

import numpy as np
import pandas as pd
import pytest

from screener.sources.base import Rejections, SourceError
from screener.validate import clean_prices, read_table
from tests.support.realdata import PRICES, realdata_path

PRICE_COLUMNS = ["date", "ticker", "open", "high", "low", "close", "volume"]

# Data row numbers (row 1 = first line after the header) are in the trailing comments.
GARBAGE_CSV = """Date,Symbol,Open,High,Low,Close,Volume,Note
2024-01-02,aaa,10,11,9,10.5,1000,first
2024-01-03,AAA,10.5,11,10,10.8,1200,
31/01/2024,AAA,1,1,1,1,1,
2024-01-04,AAA,abc,11,10,10.9,-5,
2024-01-05,AAA,10.9,11,10,inf,1000,
2024-01-08,AAA,10.9,11,10,NaN,1000,
2024-01-09,AAA,10.9,11,10,0,1000,
2024-01-10,AAA,10.9,11,10,11,12.5,
2024-01-02,AAA,10,11,9,10.5,1000,copy of row 1
2024-01-11,AAA,11,11.5,10.5,11.2,1500,
2024-01-11,AAA,11,11.5,10.5,11.3,1500,
2024-01-02,,10,11,9,10,100,
2024-01-02,BBB,-1,11,9,10,n/a,
2024-01-03,BBB,10,11,9,10,1e3,
2024-01-04,BBB,10,11,9,ten,100,
,BBB,10,11,9,10,100,
2024-02-30,BBB,10,11,9,10,100,
2024-01-05T00:00:00-05:00,BBB,10,11,9,10.2,100,
"""

EXPECTED_COUNTS = {
    ("p.csv", "Date", "not a date (expected YYYY-MM-DD)"): 2,  # rows 3 and 17
    ("p.csv", "Date", "missing"): 1,  # row 16
    ("p.csv", "Symbol", "missing"): 1,  # row 12
    ("p.csv", "Open", "not a number"): 1,  # row 4
    ("p.csv", "Open", "not positive"): 1,  # row 13
    ("p.csv", "Close", "infinite"): 1,  # row 5
    ("p.csv", "Close", "missing"): 1,  # row 6
    ("p.csv", "Close", "not positive"): 1,  # row 7
    ("p.csv", "Close", "not a number"): 1,  # row 15
    ("p.csv", "Volume", "negative"): 1,  # row 4
    ("p.csv", "Volume", "not a whole number"): 1,  # row 8
    ("p.csv", "date+ticker", "duplicate row"): 1,  # row 9
    ("p.csv", "date+ticker",
     "conflicting duplicate (same date and ticker, different values; all dropped)"): 2,  # rows 10, 11
}


@pytest.fixture
def garbage(tmp_path) -> tuple[pd.DataFrame, Rejections, list[str]]:
    path = tmp_path / "p.csv"
    path.write_text(GARBAGE_CSV)
    rejections, notes = Rejections(max_examples=100), []
    return clean_prices(read_table(path), "p.csv", rejections, notes=notes), rejections, notes


def test_each_kind_of_garbage_is_counted_exactly(garbage):
    _, rejections, _ = garbage
    assert dict(rejections.counts) == EXPECTED_COUNTS
    assert rejections.total == 15


def test_messages_name_file_row_and_column(garbage):
    _, rejections, _ = garbage
    examples = set(rejections.examples)
    for message in [
        "p.csv row 3, column Date: '31/01/2024' (not a date (expected YYYY-MM-DD))",
        "p.csv row 17, column Date: '2024-02-30' (not a date (expected YYYY-MM-DD))",
        "p.csv row 4, column Open: 'abc' (not a number)",
        "p.csv row 4, column Volume: '-5' (negative)",
        "p.csv row 5, column Close: 'inf' (infinite)",
        "p.csv row 6, column Close: 'NaN' (missing)",
        "p.csv row 7, column Close: '0' (not positive)",
        "p.csv row 8, column Volume: '12.5' (not a whole number)",
        "p.csv row 9, column date+ticker: 'AAA 2024-01-02' (duplicate row)",
        "p.csv row 12, column Symbol: '' (missing)",
        "p.csv row 15, column Close: 'ten' (not a number)",
    ]:
        assert message in examples


def test_kept_rows_and_values_checked_by_eye(garbage):
    out, _, _ = garbage
    assert list(out.columns) == PRICE_COLUMNS
    expected = pd.DataFrame({
        "date": pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-10",
                                "2024-01-02", "2024-01-03", "2024-01-05"]),
        "ticker": ["AAA"] * 4 + ["BBB"] * 3,
        "open": [10, 10.5, np.nan, 10.9, np.nan, 10, 10],
        "high": [11.0] * 7,
        "low": [9, 10, 10, 10, 9, 9, 9],
        "close": [10.5, 10.8, 10.9, 11, 10, 10, 10.2],
        "volume": pd.array([1000, 1200, None, None, None, 1000, 100], dtype="Int64"),
    })
    pd.testing.assert_frame_equal(out, expected, check_dtype=False)
    assert out["date"].dtype == "datetime64[ns]"
    assert out["volume"].dtype == "Int64"
    assert all(out[c].dtype == "float64" for c in ("open", "high", "low", "close"))


def test_garbage_is_never_coerced_to_zero(garbage):
    out, _, _ = garbage
    numbers = out[["open", "high", "low", "close"]]
    assert not (numbers == 0).any().any()
    assert not (out["volume"] == 0).any()
    assert np.isfinite(numbers.to_numpy()[~np.isnan(numbers.to_numpy())]).all()


def test_adj_close_replaces_close_and_scales_the_bar_per_ticker():
    frame = pd.DataFrame({
        "Date": ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-02"],
        "Ticker": ["AAA", "AAA", "AAA", "IWM"],
        "Open": ["10", "20", "20", "100"], "High": ["12", "22", "22", "101"], "Low": ["8", "18", "18", "99"],
        "Close": ["10", "20", "20", "100"], "Adj Close": ["5", "10", "", ""], "Volume": ["1", "2", "3", "4"],
    })
    rejections, notes = Rejections(), []
    out = clean_prices(frame, "adj.csv", rejections, notes=notes)
    # AAA uses Adj Close; its row 3 has none and is refused; IWM has no Adj Close at all: close as written
    assert dict(rejections.counts) == {("adj.csv", "Adj Close", "missing"): 1}
    assert out["ticker"].tolist() == ["AAA", "AAA", "IWM"]
    assert out["close"].tolist() == [5.0, 10.0, 100.0]
    assert out["open"].tolist() == [5.0, 10.0, 100.0]
    assert out["high"].tolist() == [6.0, 11.0, 101.0]
    assert out["low"].tolist() == [4.0, 9.0, 99.0]
    assert len(notes) == 1
    assert "used 'Adj Close' as close" in notes[0] and "IWM" in notes[0]


def test_only_adj_close_and_no_volume_are_noted():
    frame = pd.DataFrame({"date": ["2024-01-02"], "symbol": ["aaa"], "adj_close": ["3.5"]})
    notes: list[str] = []
    out = clean_prices(frame, "f.csv", Rejections(), notes=notes)
    assert out["close"].tolist() == [3.5]
    assert out["ticker"].tolist() == ["AAA"]
    assert out["volume"].isna().all() and out["open"].isna().all()
    assert any("no close column" in n for n in notes)
    assert any("no volume column" in n for n in notes)


@pytest.mark.parametrize(("columns", "missing"), [
    (["date", "ticker", "volume"], "'close (or adj_close)'"),
    (["Date", "Close"], "'ticker (or symbol)'"),
    (["ticker", "close"], "'date'"),
])
def test_missing_required_column_names_file_column_and_columns_found(columns, missing):
    frame = pd.DataFrame({c: ["1"] for c in columns})
    with pytest.raises(SourceError) as error:
        clean_prices(frame, "mine.csv", Rejections())
    message = str(error.value)
    assert message.startswith("mine.csv: missing required column " + missing)
    assert "columns found: " + ", ".join(columns) in message


def test_two_columns_with_one_meaning_are_refused():
    frame = pd.DataFrame({"date": ["2024-01-02"], "ticker": ["A"], "Close": ["1"], "close ": ["2"]})
    with pytest.raises(SourceError, match="both mean 'close'"):
        clean_prices(frame, "x.csv", Rejections())


def test_ticker_column_wins_over_symbol():
    frame = pd.DataFrame({"date": ["2024-01-02"], "symbol": ["WRONG"], "ticker": ["RIGHT"], "close": ["1"]})
    assert clean_prices(frame, "x.csv", Rejections())["ticker"].tolist() == ["RIGHT"]


def test_typed_parquet_values_go_through_the_same_checks(tmp_path):
    frame = pd.DataFrame({
        "date": pd.to_datetime(["2024-01-02 00:00", "2024-01-03 00:00", None]).tz_localize("America/New_York"),
        "ticker": ["AAA", "AAA", "AAA"],
        "close": [10.0, math.inf, 11.0],
        "volume": pd.array([100, -1, 5], dtype="Int64"),
    }, index=[7, 8, 9])  # a non-default index must not change the row numbers
    path = tmp_path / "typed.bin"  # no extension: the PAR1 magic bytes decide
    frame.to_parquet(path)
    rejections = Rejections()
    out = clean_prices(read_table(path), "typed.parquet", rejections)
    assert dict(rejections.counts) == {
        ("typed.parquet", "close", "infinite"): 1,
        ("typed.parquet", "volume", "negative"): 1,
        ("typed.parquet", "date", "missing"): 1,
    }
    assert "typed.parquet row 2, column close: inf (infinite)" in rejections.examples
    assert out["date"].tolist() == [pd.Timestamp("2024-01-02")]  # wall-clock date, tz dropped
    assert out["volume"].tolist() == [100]


# --- read_table -----------------------------------------------------------------------------------

def test_csv_cells_stay_verbatim_text(tmp_path):
    path = tmp_path / "raw.csv"
    path.write_text("ticker,close,volume\n007,NaN,\n AAA ,1e3,1,000\n".replace("1,000", '"1,000"'))
    frame = read_table(path)
    assert frame.to_dict("list") == {"ticker": ["007", " AAA "], "close": ["NaN", "1e3"], "volume": ["", "1,000"]}


def test_semicolon_gzip_and_windows_1252_csv(tmp_path):
    path = tmp_path / "prices.csv.gz"
    path.write_bytes(gzip.compress("ticker;name;close\nAAA;Société;1,5\n".encode("cp1252")))
    frame = read_table(path)
    assert frame.to_dict("list") == {"ticker": ["AAA"], "name": ["Société"], "close": ["1,5"]}
    rejections = Rejections()
    out = clean_prices(frame.assign(date="2024-01-02"), "p.csv", rejections)
    assert out.empty  # a decimal comma is text, not 15 and not 1.5
    assert dict(rejections.counts) == {("p.csv", "close", "not a number"): 1}


@pytest.mark.parametrize(("name", "content", "words"), [
    ("missing.csv", None, "file not found"),
    ("empty.csv", b"  \n", "the file is empty"),
    ("broken.parquet", b"PAR1 this is not parquet", "not a readable Parquet file"),
    ("image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary content"),
    ("bad.csv.gz", b"\x1f\x8b\x08\x00garbage", "damaged gzip file"),
    ("ragged.csv", b'a,b\n1,2\n"3,4\n', "not a readable CSV file"),
])
def test_unreadable_files_raise_with_the_path(tmp_path, name, content, words):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SourceError) as error:
        read_table(path)
    assert str(error.value).startswith(str(path))
    assert words in str(error.value)


# --- real data ------------------------------------------------------------------------------------

def test_real_price_panel_sample_matches_an_independent_reading():
    path = realdata_path(PRICES)
    tickers = ["CRVO", "AAOI", "MOD", "ZETA"]
    raw = pd.read_parquet(path, filters=[("ticker", "in", tickers)])
    raw["ticker"] = raw["ticker"].astype(str)
    rejections, notes = Rejections(), []
    out = clean_prices(raw, "panel", rejections, notes=notes)

    # CRVO's all-NaN rows (24 of the panel's 27, the others are ELVN, RENB, TLSI) are the
    # only refused cells: adj_close missing
    assert int(raw["adj_close"].isna().sum()) == 24
    assert dict(rejections.counts) == {("panel", "adj_close", "missing"): 24}
    expected = raw.dropna(subset=["adj_close"]).sort_values(["ticker", "date"]).reset_index(drop=True)
    assert len(out) == len(expected)
    assert out["ticker"].tolist() == expected["ticker"].tolist()
    assert (out["date"].dt.date == expected["date"]).all()
    np.testing.assert_allclose(out["close"], expected["adj_close"])
    np.testing.assert_allclose(out["open"], expected["open"] * expected["adj_close"] / expected["close"])
    assert (out["volume"].to_numpy() == expected["volume"].to_numpy()).all()
    assert (out["volume"] == 0).sum() == (expected["volume"] == 0).sum()  # real zero volumes stay zero
