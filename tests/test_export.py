"""Exports read back with independent readers (csv, openpyxl, pyarrow): types kept,
formula-looking text neutralised in CSV and Excel, numbers left as numbers."""

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from screener.export import (
    EXPORT_FORMATS, export_bytes, export_filename, to_csv_bytes, to_excel_bytes, to_parquet_bytes,
)
from screener.presets import BUILTIN_PRESETS

NAMES = ["=HYPERLINK(\"http://evil\",\"x\")", "+1+1", "-2+3", "@SUM(A1)", "\tTabbed", "\rReturn",
         "Plain Co", None]
NEUTRALISED = ["'=HYPERLINK(\"http://evil\",\"x\")", "'+1+1", "'-2+3", "'@SUM(A1)", "'\tTabbed", "'\rReturn",
               "Plain Co", None]


@pytest.fixture
def frame() -> pd.DataFrame:
    """What run_screen returns: DuckDB's pandas types for each catalog kind."""
    return pd.DataFrame({
        "ticker": pd.Series(["A", "B", "C", "D", "E", "F", "G", "H"], dtype="str"),
        "name": pd.Series(NAMES, dtype="str"),
        "revenue_growth": [-0.25, 0.1, None, 1.5, 0.0, -1.0, 2.0, 0.333],
        "rs_rating": pd.Series([1, 99, None, 50, 2, 3, 4, 5], dtype="Int64"),
        "insider_buying": pd.Series([True, False, None, True, True, False, True, False], dtype="boolean"),
        "as_of": pd.to_datetime(["2026-11-20"] * 7 + [None]).astype("datetime64[us]"),
        "market_cap": [1.5e9, 3e8, None, 2e9, 1e9, 5e8, 7e8, 9e8],
    })


def test_csv_neutralises_text_and_keeps_numbers(frame):
    rows = list(csv.reader(io.StringIO(to_csv_bytes(frame).decode("utf-8"), newline="")))
    assert rows[0] == ["ticker", "name", "revenue_growth", "rs_rating", "insider_buying", "as_of", "market_cap"]
    assert [r[1] for r in rows[1:]] == [n if n is not None else "" for n in NEUTRALISED]
    assert [r[2] for r in rows[1:]] == ["-0.25", "0.1", "", "1.5", "0.0", "-1.0", "2.0", "0.333"]
    assert [r[3] for r in rows[1:]] == ["1", "99", "", "50", "2", "3", "4", "5"]
    assert rows[1][4:6] == ["True", "2026-11-20"] and rows[3][4:6] == ["", "2026-11-20"]
    assert len(rows) == 9


def test_csv_header_names_are_neutralised_too():
    rows = list(csv.reader(io.StringIO(to_csv_bytes(pd.DataFrame({"=cmd": ["x"]})).decode())))
    assert rows[0] == ["'=cmd"]


def test_excel_has_labels_numeric_cells_formats_and_no_formulas(frame):
    frame.loc[6, "name"] = "Bell\x07 Corp"  # a control character Excel would refuse
    data = to_excel_bytes(frame, sheet_name="Quality: breakout [x]/y*?")
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book.active
    assert sheet.title == "Quality  breakout  x  y"  # []:*?/\\ are not allowed in sheet names
    header = [c.value for c in sheet[1]]
    assert header == ["Ticker", "Name", "Revenue growth", "RS rating", "Insider buying", "As of", "Market cap"]
    names = [sheet.cell(row=r, column=2).value for r in range(2, 10)]
    assert names[:6] == NEUTRALISED[:6] and names[6] == "Bell Corp" and names[7] is None
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    growth = [sheet.cell(row=r, column=3) for r in range(2, 10)]
    assert [c.value for c in growth] == [-0.25, 0.1, None, 1.5, 0.0, -1.0, 2.0, 0.333]
    assert all(c.data_type == "n" for c in growth) and growth[0].number_format == "0.0%"
    ranks = [sheet.cell(row=r, column=4).value for r in range(2, 10)]
    assert ranks == [1, 99, None, 50, 2, 3, 4, 5] and all(isinstance(v, (int, type(None))) for v in ranks)
    flags = [sheet.cell(row=r, column=5) for r in range(2, 5)]
    assert [c.value for c in flags] == [True, False, None] and flags[0].data_type == "b"
    date_cell = sheet.cell(row=2, column=6)
    assert date_cell.value == dt.datetime(2026, 11, 20) and date_cell.number_format == "yyyy-mm-dd"
    assert sheet.cell(row=2, column=7).value == 1.5e9
    assert sheet.freeze_panes == "A2"


def test_parquet_keeps_catalog_types_and_raw_values(frame):
    table = pq.read_table(io.BytesIO(to_parquet_bytes(frame)))
    assert table.schema.names == list(frame.columns)
    types = {f.name: f.type for f in table.schema}
    assert types == {"ticker": pa.string(), "name": pa.string(), "revenue_growth": pa.float64(),
                     "rs_rating": pa.int64(), "insider_buying": pa.bool_(), "as_of": pa.date32(),
                     "market_cap": pa.float64()}
    assert table["name"].to_pylist() == NAMES  # data, not a spreadsheet: kept as is
    assert table["rs_rating"].to_pylist() == [1, 99, None, 50, 2, 3, 4, 5]
    assert table["as_of"].to_pylist() == [dt.date(2026, 11, 20)] * 7 + [None]
    assert table["insider_buying"].to_pylist() == [True, False, None, True, True, False, True, False]


def test_export_bytes_dispatches_and_refuses_unknown_formats(frame):
    assert export_bytes(frame, "csv") == to_csv_bytes(frame)
    assert export_bytes(frame, "parquet")[:4] == b"PAR1"
    assert export_bytes(frame, "xlsx")[:2] == b"PK"
    with pytest.raises(ValueError):
        export_bytes(frame, "exe")
    assert set(EXPORT_FORMATS) == {"csv", "xlsx", "parquet"}


@pytest.mark.parametrize("what, ext, expected", [
    (BUILTIN_PRESETS[0], "csv", "quality-breakout_2026-11-20.csv"),
    ("My Screen", "xlsx", "my-screen_2026-11-20.xlsx"),
    ("../../etc/passwd", "parquet", "etc-passwd_2026-11-20.parquet"),
    ("日本", "csv", "screen_2026-11-20.csv"),
    (None, "csv", "screen_2026-11-20.csv"),
    (".hidden", "csv", "hidden_2026-11-20.csv"),
])
def test_export_filename_is_a_safe_plain_name(what, ext, expected):
    assert export_filename(what, dt.date(2026, 11, 20), ext) == expected


def test_export_filename_refuses_unknown_extensions():
    with pytest.raises(ValueError):
        export_filename("x", dt.date(2026, 11, 20), "csv/../../x")
