"""Screen results as CSV, Excel and Parquet bytes, safe to open in a spreadsheet.

Formula injection: a company name or industry that starts with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return would be run as a formula by Excel or LibreOffice,
so such cells in TEXT columns get a leading single quote in CSV and Excel.  Numeric
columns are never touched: -0.25 stays the number -0.25.

Headers: CSV keeps the field names (a CSV feeds scripts, and field names are stable
and documented); Excel shows the catalog labels and formats numbers by unit (0.12 is
stored as the number 0.12 and shown as 12.0%); Parquet keeps field names and the
catalog's column types (float64, int64, bool, date32, string).  Values are in stored
units everywhere, as in the snapshot.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter

from screener.fields import FIELD_BY_NAME, stocks_schema
from screener.presets import Preset, slugify

FORMULA_TRIGGERS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")

EXPORT_FORMATS: dict[str, str] = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "parquet": "application/vnd.apache.parquet",
}

_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def neutralise(text: str) -> str:
    """Prefix a single quote when a spreadsheet would read ``text`` as a formula."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def _is_text_column(frame: pd.DataFrame, column: str) -> bool:
    spec = FIELD_BY_NAME.get(column)
    if spec is not None and spec.kind == "str":
        return True
    return pd.api.types.is_object_dtype(frame[column]) or pd.api.types.is_string_dtype(frame[column])


def _neutralised(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with text cells (and header names) neutralised; other columns untouched."""
    safe = frame.copy()
    for column in safe.columns:
        if _is_text_column(safe, column):
            safe[column] = safe[column].map(lambda v: neutralise(v) if isinstance(v, str) else v)
    return safe.rename(columns=lambda c: neutralise(str(c)))


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV (no BOM), field-name headers, nulls as empty cells, text neutralised.

    Rows end in CRLF (RFC 4180): Python's csv writer quotes a field holding any
    line-terminator character, so a stray carriage return inside a name is quoted
    instead of splitting the row.
    """
    return _neutralised(frame).to_csv(index=False, lineterminator="\r\n").encode("utf-8")


def _excel_cell(value: Any, text: bool) -> Any:
    """A Python value openpyxl writes as the right cell type (None for any null)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalars
        value = value.item()
    if isinstance(value, str):
        cleaned = ILLEGAL_CHARACTERS_RE.sub("", value)  # Excel refuses control characters
        return neutralise(cleaned) if text else cleaned
    return value


def _sheet_title(sheet_name: str) -> str:
    title = _SHEET_FORBIDDEN.sub(" ", sheet_name).strip().strip("'")[:31]
    return title or "Screen"


def to_excel_bytes(frame: pd.DataFrame, sheet_name: str = "Screen") -> bytes:
    """An .xlsx with label headers, numeric cells formatted by unit, a frozen header row
    and an autofilter; text neutralised, control characters removed."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _sheet_title(sheet_name)
    columns = list(frame.columns)
    specs = [FIELD_BY_NAME.get(str(c)) for c in columns]
    sheet.append([neutralise(spec.label if spec else str(c)) for c, spec in zip(columns, specs)])
    text_flags = [_is_text_column(frame, c) for c in columns]
    for row in frame.itertuples(index=False, name=None):
        sheet.append([_excel_cell(v, t) for v, t in zip(row, text_flags)])
    for index, spec in enumerate(specs, start=1):
        letter = get_column_letter(index)
        number_format = spec.unit_info.excel_format if spec else None
        if number_format:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = number_format
        header = sheet.cell(row=1, column=index).value or ""
        sheet.column_dimensions[letter].width = max(10, min(40, len(str(header)) + 2))
    sheet.freeze_panes = "A2"
    if columns:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(frame) + 1}"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def to_parquet_bytes(frame: pd.DataFrame) -> bytes:
    """Parquet with field names and catalog types (dates as date32, counts as int64)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    catalog = stocks_schema()
    target = pa.schema([
        catalog.field(name).with_nullable(True) if name in catalog.names else table.schema.field(name)
        for name in table.column_names
    ])
    buffer = io.BytesIO()
    pq.write_table(table.cast(target), buffer, compression="zstd")
    return buffer.getvalue()


def export_bytes(frame: pd.DataFrame, ext: str, sheet_name: str = "Screen") -> bytes:
    """Dispatch on the file extension (``csv``, ``xlsx``, ``parquet``)."""
    if ext == "csv":
        return to_csv_bytes(frame)
    if ext == "xlsx":
        return to_excel_bytes(frame, sheet_name)
    if ext == "parquet":
        return to_parquet_bytes(frame)
    raise ValueError(f"unknown export format {ext!r}; use one of {', '.join(EXPORT_FORMATS)}")


def export_filename(preset_or_name: Preset | str | None, snapshot_date: dt.date, ext: str) -> str:
    """``quality-breakout_2026-11-20.csv``: a slug (``screen`` when nothing usable is left),
    the snapshot's date and a known extension; never a path."""
    if ext not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {ext!r}; use one of {', '.join(EXPORT_FORMATS)}")
    if isinstance(preset_or_name, Preset):
        stem = preset_or_name.slug
    else:
        stem = slugify(preset_or_name or "")
    return f"{stem or 'screen'}_{snapshot_date.isoformat()}.{ext}"
