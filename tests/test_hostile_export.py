"""Exports under hostile text: no text cell of a CSV or Excel export can start a formula, nothing
is lost on the way (a neutralised cell is the original with one leading quote), numbers stay
numbers, and export file names are never paths.

The checks read the files back with the csv module and openpyxl (independent of how they were
written): a cell "starts a formula" when its text begins with = + - @ tab or carriage return,
the characters Excel and LibreOffice act on; openpyxl must see every cell as a value, none as
a formula.
"""

from __future__ import annotations

import collections
import csv
import datetime as dt
import io
import re

import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from screener.export import export_filename, to_csv_bytes, to_excel_bytes, to_parquet_bytes
from screener.presets import Preset
from screener.screen import Screen
from tests.support.faults import write_result

STARTS_FORMULA = ("=", "+", "-", "@", "\t", "\r")
TEXT_COLUMNS = ("ticker", "name", "sector", "industry", "quality_bucket", "note")  # catalog text + a free column
#: Excel refuses these control characters in cells; openpyxl's writer drops them.
EXCEL_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
PROFILE = settings(max_examples=120, deadline=None, derandomize=True, database=None,
                   suppress_health_check=list(HealthCheck))
COUNTS: collections.Counter[str] = collections.Counter()

FORMULAS = ["=1+1", "=HYPERLINK(\"http://evil.example\",\"x\")", "+1", "-1", "-2+3", "@SUM(A1:A2)",
            "=cmd|' /C calc'!A0", "\t=1", "\r=1", "=\n1", "-", "=", "+", "@"]
text_cells = st.one_of(
    st.tuples(st.sampled_from(STARTS_FORMULA), st.text(max_size=30)).map("".join),
    st.sampled_from(FORMULAS),
    st.text(max_size=30),
    st.sampled_from([" =1", "'=1", "''", "é=1", "1=1", "x\r\ny", "a,b", '"q"', ""]),
)


@st.composite
def hostile_frames(draw) -> pd.DataFrame:
    rows = draw(st.integers(min_value=1, max_value=6))
    frame = pd.DataFrame({column: draw(st.lists(text_cells | st.none(), min_size=rows, max_size=rows))
                          for column in TEXT_COLUMNS})
    frame["roe"] = draw(st.lists(st.floats(min_value=-5, max_value=5, allow_nan=False) | st.none(),
                                 min_size=rows, max_size=rows))
    frame["rs_rating"] = pd.array(draw(st.lists(st.integers(min_value=1, max_value=99) | st.none(), min_size=rows,
                                                max_size=rows)), dtype="Int64")
    frame["sector"] = frame["sector"].astype("string")  # as DuckDB hands text to pandas
    return frame


def missing(value) -> bool:
    """pandas 3 stores a missing text as NaN (str dtype) or None/NA (object, string dtypes)."""
    return not isinstance(value, str) and pd.isna(value)


def expected_text(original: str, excel: bool = False) -> str:
    text = EXCEL_ILLEGAL.sub("", original) if excel else original
    return "'" + text if text.startswith(STARTS_FORMULA) else text


@PROFILE
@given(hostile_frames())
def test_csv_text_cells_never_start_a_formula_and_lose_nothing(frame):
    rows = list(csv.reader(io.StringIO(to_csv_bytes(frame).decode("utf-8"), newline="")))
    header, body = rows[0], rows[1:]
    assert header == [expected_text(c) for c in frame.columns] and len(body) == len(frame)
    for position, column in enumerate(frame.columns):
        for row, original in zip(body, frame[column].tolist()):
            cell = row[position]
            if column in TEXT_COLUMNS:
                COUNTS["csv_cells"] += 1
                COUNTS["csv_dangerous"] += isinstance(original, str) and original.startswith(STARTS_FORMULA)
                assert not cell.startswith(STARTS_FORMULA), (column, original, cell)
                assert cell == ("" if missing(original) else expected_text(original))
            elif column == "roe" and cell:
                assert float(cell) == pytest.approx(original)  # negative numbers are not "neutralised"


@PROFILE
@given(hostile_frames())
def test_excel_cells_are_values_never_formulas(frame):
    sheet = load_workbook(io.BytesIO(to_excel_bytes(frame, sheet_name="=evil!A1")), data_only=False).active
    cells = list(sheet.iter_rows(min_row=2, values_only=False))
    assert len(cells) == len(frame)
    for position, column in enumerate(frame.columns):
        for row, original in zip(cells, frame[column].tolist()):
            cell = row[position]
            assert cell.data_type != "f", (column, original, cell.value)
            if column in TEXT_COLUMNS:
                COUNTS["excel_cells"] += 1
                if missing(original) or EXCEL_ILLEGAL.sub("", original) == "":
                    assert cell.value in (None, "")
                    continue
                assert not str(cell.value).startswith(STARTS_FORMULA) and cell.value == expected_text(original, True)
            elif column == "roe" and not missing(original):
                assert cell.value == pytest.approx(original)
    assert all(c.data_type != "f" for c in sheet[1])  # (a sheet title is never evaluated: "=evil!A1" is fine)


@PROFILE
@given(hostile_frames())
def test_parquet_keeps_text_exactly(frame):
    """Parquet is not a spreadsheet: it keeps the text exactly as stored (no quote added)."""
    back = pq.read_table(io.BytesIO(to_parquet_bytes(frame))).to_pandas()
    for column in TEXT_COLUMNS:
        assert [None if missing(v) else v for v in back[column]] == [None if missing(v) else v for v in frame[column]]
    COUNTS["parquet_frames"] += 1


@PROFILE
@given(st.one_of(st.text(max_size=80), st.sampled_from(["../../etc/passwd", "..", ".", "/", "C:\\x", "con",
                                                        "a/b\\c", "\x00", "=1+1", "名前"])))
def test_export_file_names_are_never_paths(name):
    for ext in ("csv", "xlsx", "parquet"):
        filename = export_filename(name, dt.date(2026, 11, 20), ext)
        assert re.fullmatch(r"[a-z0-9][a-z0-9-]*_2026-11-20\." + ext, filename), filename
        preset = Preset(slug="quality-breakout", name=name or "x", description="", screen=Screen())
        assert export_filename(preset, dt.date(2026, 11, 20), ext) == f"quality-breakout_2026-11-20.{ext}"
    COUNTS["file_names"] += 1


def test_record_export_figures():
    """Runs last in this file: writes the suite's result from the counts above."""
    if not COUNTS["csv_cells"]:
        pytest.skip("the export properties did not run (selected out)")
    dangerous = COUNTS["csv_dangerous"]
    write_result("hostile_export", "generated hostile text in every text column of CSV, Excel and Parquet "
                 "exports, and hostile export names", inputs=COUNTS["csv_cells"] + COUNTS["excel_cells"]
                 + COUNTS["file_names"], faults=dangerous, survived=dangerous, lost=0,
                 figures=dict(COUNTS), command="pytest tests/test_hostile_export.py -s")
    print(f"\n[hostile_export] {COUNTS['csv_cells']:,} CSV and {COUNTS['excel_cells']:,} Excel text cells "
          f"({dangerous:,} starting a formula), {COUNTS['file_names']} file names: none can run")
