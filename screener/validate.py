"""Reading user-supplied tables and cleaning a prices table cell by cell, with messages that say where.

A price file made by a person or another program will contain some garbage: a date
written "31/02/2024", "n/a" in a volume column, a negative volume, a close of 0, the
same session twice.  Every such cell is refused (never turned into 0, which would
corrupt returns and averages without a trace), counted in :class:`Rejections` with
the file, the 1-based data row (row 1 is the first line after the header) and the
column, and the row is dropped when its date, ticker or close is unusable.

CSV files are read with every cell as text so validation sees exactly what was
written; Parquet files keep their types, and typed columns go through the same checks.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from screener.fields import PRICES_SCHEMA
from screener.sources.base import Rejections, SourceError

PRICE_COLUMNS: tuple[str, ...] = tuple(PRICES_SCHEMA.names)

#: Text a person or a program writes for "no value"; a missing cell is null, not garbage.
MISSING_TEXT = frozenset({"", "-", "nan", "null", "none", "n/a", "na", "#n/a"})

#: Other spellings of a price column, after lower-casing and turning spaces into "_".
_COLUMN_ALIASES: dict[str, str] = {"symbol": "ticker", "adjclose": "adj_close", "adjusted_close": "adj_close"}

_ISO_DATE = r"^(\d{4}-\d{2}-\d{2})(?:[T ][0-9:.]*(?:Z|[+-]\d{2}:?\d{2})?)?$"
_TICKER = r"^[A-Z0-9^][A-Z0-9.\-=^/ ]{0,19}$"
_DELIMITERS = (",", ";", "\t", "|")


def decode_text(raw: bytes, label: str) -> str:
    """Text of a file's bytes: UTF-8 (BOM or not), else Windows-1252 as Excel saves CSVs."""
    if b"\x00" in raw[:4096]:
        raise SourceError(f"{label}: binary content, not a text (CSV) file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError as error:
        raise SourceError(f"{label}: neither UTF-8 nor Windows-1252 text ({error})") from None


def sniff_delimiter(header_line: str) -> str:
    """The most frequent of , ; tab | in the header line (a comma when none appears)."""
    counts = {delimiter: header_line.count(delimiter) for delimiter in _DELIMITERS}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def read_table(path: Path) -> pd.DataFrame:
    """A CSV (optionally gzip-compressed) or Parquet file as a frame of raw values.

    Parquet is recognised by its magic bytes or a ``.parquet``/``.pq`` extension;
    anything else is read as CSV with a header line, the delimiter sniffed from the
    header (``,`` ``;`` tab ``|``), every cell kept as text (``dtype=str``, no NA
    guessing) so that garbage reaches validation verbatim.  Raises
    :class:`SourceError` naming the path when the file is missing, unreadable or corrupt.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SourceError(f"{path}: file not found") from None
    except OSError as error:
        raise SourceError(f"{path}: cannot read ({error.strerror or error})") from None
    if not raw.strip():
        raise SourceError(f"{path}: the file is empty")
    if raw[:4] == b"PAR1" or path.suffix.lower() in (".parquet", ".pq"):
        try:
            return pq.read_table(io.BytesIO(raw)).to_pandas()
        except (pa.ArrowException, OSError, ValueError) as error:
            raise SourceError(f"{path}: not a readable Parquet file ({error})") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as error:
            raise SourceError(f"{path}: damaged gzip file ({error})") from None
    text = decode_text(raw, str(path))
    delimiter = sniff_delimiter(text.lstrip().split("\n", 1)[0])
    try:
        return pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False,
                           skip_blank_lines=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as error:
        raise SourceError(f"{path}: not a readable CSV file ({error})") from None


def price_columns(frame: pd.DataFrame, file: str) -> dict[str, str]:
    """Map price column names (``PRICE_COLUMNS`` plus ``adj_close``) to the frame's own names.

    Matching ignores case and spaces (``Adj Close`` is ``adj_close``) and accepts
    ``symbol`` for ``ticker``.  Two columns meaning the same thing are an error,
    since guessing which one is meant could silently use the wrong data.
    """
    normalised = {column: str(column).strip().lower().replace(" ", "_") for column in frame.columns}
    has_ticker = "ticker" in normalised.values()
    found: dict[str, str] = {}
    for column, key in normalised.items():
        if key == "symbol" and has_ticker:
            continue  # a column named ticker wins; symbol is then just an extra column
        key = _COLUMN_ALIASES.get(key, key)
        if key not in (*PRICE_COLUMNS, "adj_close"):
            continue
        if key in found:
            raise SourceError(f"{file}: columns {found[key]!r} and {column!r} both mean {key!r}; keep one")
        found[key] = column
    return found


def clean_prices(frame: pd.DataFrame, file: str, rejections: Rejections, *,
                 notes: list[str] | None = None) -> pd.DataFrame:
    """Validated long prices with the columns of ``PRICES_SCHEMA``, sorted by ticker and date.

    Required columns: ``date``, ``ticker`` (or ``symbol``) and ``close`` (or
    ``adj_close``); ``volume`` is expected (its absence is noted); ``open``, ``high``,
    ``low`` are optional; other columns are ignored.  When both ``close`` and
    ``adj_close`` exist, ``adj_close`` becomes ``close`` because DESIGN defines every
    signal on adjusted closes, and open/high/low are scaled by adj_close/close so a
    bar stays consistent (as yfinance's ``auto_adjust`` does); a note says so.  A
    ticker without a single adj_close value keeps its close as written (see
    :func:`_closes`).

    Per cell, refused and counted in ``rejections`` (file, data row, column, reason):
    dates that are not ISO ``YYYY-MM-DD`` (a time or UTC offset after it is allowed;
    the written calendar date is kept), empty or malformed tickers, text in numeric
    columns, infinite numbers, prices <= 0, negative or fractional volumes, and a
    missing close.  A row is dropped when its date, ticker or close is refused; a
    refused open/high/low/volume becomes null.  Missing optional cells are null and
    not counted.

    Duplicates, after cleaning: an exact copy of a row is dropped (first kept) and
    counted as "duplicate row"; rows sharing date and ticker but differing in any value
    are all dropped and counted as "conflicting duplicate", since nothing says which is
    right and a wrong close would corrupt every return through that day, while one
    missing session barely moves a signal.  Both are counted under column "date+ticker".

    Raises :class:`SourceError` naming ``file``, the missing column and the columns
    found when a required column is absent.
    """
    notes = notes if notes is not None else []
    columns = price_columns(frame, file)
    close_source = "adj_close" if "adj_close" in columns else "close"
    required = {"date": "date", "ticker": "ticker (or symbol)", close_source: "close (or adj_close)"}
    for key, wanted in required.items():
        if key not in columns:
            found = ", ".join(map(str, frame.columns)) or "none"
            raise SourceError(f"{file}: missing required column {wanted!r}; columns found: {found}")

    raw = frame.reset_index(drop=True)
    rows = pd.Series(np.arange(1, len(raw) + 1), index=raw.index)
    out = pd.DataFrame(index=raw.index)

    def column(key: str) -> pd.Series:
        return raw[columns[key]]

    def name(key: str) -> str:
        return str(columns[key])

    out["date"] = _dates(column("date"), file, name("date"), rejections, rows)
    out["ticker"] = _tickers(column("ticker"), file, name("ticker"), rejections, rows)
    close, factor = _closes(raw, columns, out["ticker"], file, rejections, rows, notes)
    for key in ("open", "high", "low"):
        if key in columns:
            prices = _numbers(column(key), file, name(key), rejections, rows, rule="positive")
            out[key] = prices * factor
        else:
            out[key] = np.nan
    out["close"] = close
    if "volume" in columns:
        volume = _numbers(column("volume"), file, name("volume"), rejections, rows, rule="volume")
        out["volume"] = volume.astype("Int64")
    else:
        notes.append(f"{file}: no volume column; volume, average volume and volume surge will be null")
        out["volume"] = pd.array([pd.NA] * len(out), dtype="Int64")

    usable = out["date"].notna() & out["ticker"].notna() & out["close"].notna()
    out = out[usable]
    out = _drop_duplicates(out, rows[usable], file, rejections)
    out = out[list(PRICE_COLUMNS)].sort_values(["ticker", "date"], kind="stable").reset_index(drop=True)
    out["ticker"] = out["ticker"].astype(str)
    return out


def _closes(raw: pd.DataFrame, columns: dict[str, str], tickers: pd.Series, file: str,
            rejections: Rejections, rows: pd.Series, notes: list[str]) -> tuple[pd.Series, pd.Series]:
    """The close of each row and the factor that puts its open/high/low on the same basis.

    With both ``close`` and ``adj_close``, each ticker's series uses ``adj_close`` when
    the ticker has any adj_close value, else its ``close`` as written (a file merging
    auto-adjusted benchmark rows, which have no adj_close, with a stock panel): one
    basis per series, so no return ever spans adjusted and unadjusted prices.
    """
    def numbers(key: str, required: bool) -> pd.Series:
        return _numbers(raw[columns[key]], file, str(columns[key]), rejections, rows,
                        rule="positive", required=required)

    if "adj_close" not in columns:
        return numbers("close", required=True), pd.Series(1.0, index=raw.index)
    adj_name = str(columns["adj_close"])
    if "close" not in columns:
        notes.append(f"{file}: no close column, used {adj_name!r} as close")
        return numbers("adj_close", required=True), pd.Series(1.0, index=raw.index)
    close_name = str(columns["close"])
    adjusted, unadjusted = numbers("adj_close", required=False), numbers("close", required=False)
    series_adjusted = adjusted.notna().groupby(tickers).transform("any").reindex(raw.index)
    series_adjusted = series_adjusted.astype("boolean").fillna(False).astype(bool)
    for key, chosen in (("adj_close", series_adjusted), ("close", ~series_adjusted)):
        missing = chosen & _missing_cells(raw[columns[key]])
        rejections.add(file, str(columns[key]), rows[missing], raw.loc[missing, columns[key]], "missing")
    close = adjusted.where(series_adjusted, unadjusted)
    factor = (adjusted / unadjusted).where(series_adjusted, 1.0)
    note = (f"{file}: used {adj_name!r} as close (signals are defined on adjusted closes); "
            f"open/high/low scaled by {adj_name}/{close_name}")
    plain = sorted(tickers[~series_adjusted].dropna().unique())
    if plain:
        note += (f"; {len(plain)} ticker(s) without any {adj_name} value use {close_name} as written: "
                 + ", ".join(plain[:10]) + (" ..." if len(plain) > 10 else ""))
    notes.append(note)
    return close, factor


def _missing_cells(raw: pd.Series) -> pd.Series:
    """True where a cell is empty, null or a "no value" word (``MISSING_TEXT``)."""
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        return raw.isna()
    text = raw.astype("string").str.strip()
    return (text.isna() | text.str.lower().isin(MISSING_TEXT)).fillna(True).astype(bool)


def _dates(raw: pd.Series, file: str, column: str, rejections: Rejections, rows: pd.Series) -> pd.Series:
    """datetime64[ns] at midnight; anything but an ISO date (or a typed date) is refused."""
    if pd.api.types.is_datetime64_any_dtype(raw):
        values = raw.dt.tz_localize(None) if isinstance(raw.dtype, pd.DatetimeTZDtype) else raw
        rejections.add(file, column, rows[values.isna()], raw[values.isna()], "missing")
        return values.dt.normalize().astype("datetime64[ns]")
    text = raw.astype("string").str.strip()
    missing = text.isna() | text.str.lower().isin(MISSING_TEXT).fillna(False)
    iso = text.str.extract(_ISO_DATE, expand=False)
    parsed = pd.to_datetime(iso, format="%Y-%m-%d", errors="coerce")
    bad = parsed.isna() & ~missing
    rejections.add(file, column, rows[missing], raw[missing], "missing")
    rejections.add(file, column, rows[bad], raw[bad], "not a date (expected YYYY-MM-DD)")
    return parsed.astype("datetime64[ns]")


def _tickers(raw: pd.Series, file: str, column: str, rejections: Rejections, rows: pd.Series) -> pd.Series:
    """Upper-cased, stripped symbols; empty or implausible ones are refused.

    Only "" and "-" read as missing here: "NA" is a listed symbol.
    """
    text = raw.astype("string").str.strip().str.upper()
    missing = (text.isna() | text.isin(["", "-"])).fillna(True)
    bad = ~missing & ~text.str.fullmatch(_TICKER).fillna(False)
    rejections.add(file, column, rows[missing], raw[missing], "missing")
    rejections.add(file, column, rows[bad], raw[bad], "not a ticker symbol")
    return text.mask(missing | bad)


def _numbers(raw: pd.Series, file: str, column: str, rejections: Rejections, rows: pd.Series, *,
             rule: Literal["positive", "volume"], required: bool = False) -> pd.Series:
    """float64 values of one column; refused cells are NaN and counted.

    ``rule`` is "positive" (prices: > 0) or "volume" (>= 0 and whole).  A missing cell
    is counted only when ``required`` (a close is the row's reason to exist).
    """
    missing = _missing_cells(raw)
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        numbers = pd.Series(pd.to_numeric(raw).to_numpy(dtype="float64", na_value=np.nan), index=raw.index)
    else:
        parsed = pd.to_numeric(raw.astype("string").str.strip().mask(missing), errors="coerce")
        numbers = pd.Series(parsed.to_numpy(dtype="float64", na_value=np.nan), index=raw.index)
    not_number = ~missing & numbers.isna()
    if required:
        rejections.add(file, column, rows[missing], raw[missing], "missing")
    rejections.add(file, column, rows[not_number], raw[not_number], "not a number")
    infinite = pd.Series(np.isinf(numbers.to_numpy()), index=raw.index)
    rejections.add(file, column, rows[infinite], raw[infinite], "infinite")
    numbers = numbers.mask(infinite)
    if rule == "positive":
        refused = numbers <= 0
        rejections.add(file, column, rows[refused], raw[refused], "not positive")
    else:
        negative = numbers < 0
        fractional = ~negative & (numbers != np.floor(numbers)) & numbers.notna()
        rejections.add(file, column, rows[negative], raw[negative], "negative")
        rejections.add(file, column, rows[fractional], raw[fractional], "not a whole number")
        refused = negative | fractional
    return numbers.mask(refused)


def _drop_duplicates(out: pd.DataFrame, rows: pd.Series, file: str, rejections: Rejections) -> pd.DataFrame:
    exact = out.duplicated(keep="first")
    rejections.add(file, "date+ticker", rows[exact], _describe(out[exact]), "duplicate row")
    out, rows = out[~exact], rows[~exact]
    conflicting = out.duplicated(["date", "ticker"], keep=False)
    rejections.add(file, "date+ticker", rows[conflicting], _describe(out[conflicting]),
                   "conflicting duplicate (same date and ticker, different values; all dropped)")
    return out[~conflicting]


def _describe(rows: pd.DataFrame) -> list[str]:
    return [f"{ticker} {date:%Y-%m-%d}" for ticker, date in zip(rows["ticker"], rows["date"])]
