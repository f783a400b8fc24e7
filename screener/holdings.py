"""The index universe from an iShares IWM holdings download, or from any CSV with a ticker column.

iShares publishes IWM's "Detailed Holdings" as a CSV meant for spreadsheets, not
programs: a UTF-8 BOM, nine preamble lines (fund name, "Fund Holdings as of", ...),
every value quoted with thousands separators, "-" for null, cash/futures/money-market
rows mixed with the stocks, a few placeholder rows without a real listing (CVRs,
escrows, unlisted warrants), and a BlackRock disclaimer after a line holding only a
non-breaking space.  :func:`parse_holdings` turns that (or a plain ticker list) into
one clean row per listed stock, with tickers in the form Yahoo Finance uses, so the
Yahoo source and the files source start from the same universe.

The format is detected from the content, never from the file name: people rename
downloads, and the real files arrive gzip-compressed.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from screener.sources.base import SourceError
from screener.validate import decode_text, sniff_delimiter

#: Output columns, in order.  ``index_weight`` is a fraction (iShares' 1.04 % -> 0.0104).
HOLDINGS_COLUMNS: tuple[str, ...] = (
    "ticker", "name", "sector", "index_weight", "market_value", "exchange", "asset_class", "raw_ticker",
)

#: The iShares header starts with these cells; enough to tell the format apart from any other CSV.
_ISHARES_HEADER_START = ("Ticker", "Name", "Sector", "Asset Class", "Market Value", "Weight (%)")

#: iShares' words for "this row has no exchange listing": unlisted placeholders, and
#: over-the-counter quotes (the escrow and warrant rows of the real files).
_UNLISTED_EXCHANGES = frozenset({"NO MARKET (E.G. UNLISTED)", "Non-Nms Quotation Service (Nnqs)"})

#: Names of holdings that are claims on a stock rather than a listed stock: contingent
#: value rights ("INHIBRX INC CVR", always the last word, unlike "CVR ENERGY INC"),
#: escrow shares, warrants, private placements ("Prvt") and vesting tranches.
_PLACEHOLDER_NAME = re.compile(r"\bCVR$|\b(ESCROW|WARRANTS?|PRVT|VESTING)\b", re.IGNORECASE)

#: Exchanges where a share class is a suffix of the symbol (``MOG.A``), written by
#: iShares without the separator (``MOGA``).  Nasdaq class shares are plain five-letter
#: symbols (``RUSHA``) in both iShares' and Yahoo's spelling.
_SUFFIX_CLASS_EXCHANGES = frozenset({"New York Stock Exchange Inc.", "Nyse Mkt Llc"})

#: NYSE issuers with more than one listed share class, whose class shares Yahoo writes
#: ROOT-X.  A rule on the file alone cannot tell ``MOGA`` (Moog class A, Yahoo MOG-A)
#: from ``ZETA`` (Zeta Global class A, Yahoo ZETA): both are NYSE, "CLASS A", ending in
#: A.  In the three real holdings files that naive rule rewrites ten tickers and seven
#: of them wrongly (ACVA, CBNA, CIA, IBTA, VIA, ZETA, ZVIA: single-class issuers that
#: Yahoo lists as written).  Issuers listing several classes are few and stable, so
#: they are named here; a new one shows up as a ``not_found`` ticker in run.json.
_NYSE_MULTI_CLASS_ROOTS = frozenset({
    "BF", "BH", "BIO", "BRK", "CRD", "CWEN", "GEF", "GTN", "HEI", "HVT", "LEN", "MOG", "WSO",
})

_CLASS_IN_NAME = re.compile(r"\bCLASS ([A-Z])\b")
_SEPARATOR = re.compile(r"(?<=[A-Z0-9])[./ ](?=[A-Z0-9])")
_AS_OF_LINE = "Fund Holdings as of"


def yahoo_symbol(raw_ticker: str, name: str = "", exchange: str = "") -> str:
    """Yahoo Finance's spelling of a ticker as iShares (or a person) wrote it.

    - ``BRK.B``, ``BF/B``, ``BRK B`` -> ``BRK-B``: Yahoo's class separator is a dash.
    - ``MOGA`` named "... CLASS A" on the NYSE -> ``MOG-A``, for the issuers in
      ``_NYSE_MULTI_CLASS_ROOTS`` only (see there for why not every NYSE class share).
    - Everything else, including five-letter Nasdaq class symbols (``RUSHA``,
      ``BELFB``), is returned upper-cased and stripped, otherwise unchanged.
    """
    ticker = raw_ticker.strip().upper()
    ticker = _SEPARATOR.sub("-", ticker)
    if "-" in ticker or exchange.strip() not in _SUFFIX_CLASS_EXCHANGES:
        return ticker
    match = _CLASS_IN_NAME.search(name.upper())
    if match and ticker.endswith(match.group(1)) and ticker[:-1] in _NYSE_MULTI_CLASS_ROOTS:
        return f"{ticker[:-1]}-{match.group(1)}"
    return ticker


def parse_holdings(data: bytes | str | Path, name: str | None = None) -> pd.DataFrame:
    """One row per listed stock of the universe, columns ``HOLDINGS_COLUMNS``, in file order.

    ``data`` is a path, the raw bytes of a download (gzip or not), or the decoded text.
    ``name`` labels the input in error messages (default: the path, else "holdings").

    Two formats, told apart by content:

    - the iShares "Detailed Holdings" CSV: equities only; rows with ticker "-", without
      an exchange listing, with a zero price or named as CVR/escrow/warrant/private
      placeholders are dropped; ``attrs["as_of"]`` is the "Fund Holdings as of" date.
    - any CSV whose header has a ``ticker`` (or ``symbol``) column, case-insensitive,
      with optional ``name``, ``sector`` and weight columns: ``index_weight`` (a
      fraction) or ``weight (%)`` / ``weight_pct`` (percent).  ``attrs["as_of"]`` is None.

    In both, a ticker seen twice keeps its first row.  ``attrs["format"]`` names the
    format and ``attrs["dropped"]`` maps each reason to the raw tickers (or names, for
    rows without a ticker) it removed, so callers can report them.

    Raises :class:`SourceError` naming the input when it is neither format, and the
    line number when a data line is malformed.
    """
    label = name or (str(data) if isinstance(data, Path) else "holdings")
    lines = _read_lines(data, label)
    header_at = _ishares_header_line(lines)
    if header_at is not None:
        return _parse_ishares(lines, header_at, label)
    header_at = next((i for i, line in enumerate(lines) if line.strip()), None)
    if header_at is not None:
        header = _cells(lines[header_at], sniff_delimiter(lines[header_at]))
        if _ticker_column(header) is not None:
            return _parse_ticker_list(lines, header_at, label)
    first = lines[header_at].strip()[:80] if header_at is not None else "(empty)"
    raise SourceError(
        f"{label}: not a holdings file. Expected the iShares IWM 'Detailed Holdings' CSV (header "
        f"'{','.join(_ISHARES_HEADER_START)},...') or a CSV with a 'ticker' column; first line is {first!r}")


def _read_lines(data: bytes | str | Path, label: str) -> list[str]:
    if isinstance(data, Path):
        try:
            data = data.read_bytes()
        except OSError as error:
            raise SourceError(f"{label}: cannot read the holdings file ({error.strerror or error})") from None
    if isinstance(data, bytes):
        if data[:2] == b"\x1f\x8b":
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError) as error:
                raise SourceError(f"{label}: damaged gzip file ({error})") from None
        data = decode_text(data, label)
    # Only CR/LF end a line: str.splitlines would also split on characters such as
    # U+2028 that may sit inside a quoted name.
    return data.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _cells(line: str, delimiter: str = ",") -> list[str]:
    return next(csv.reader([line], delimiter=delimiter), [])


def _ishares_header_line(lines: list[str]) -> int | None:
    """Index of the iShares header among the first lines (the preamble is 9 lines today)."""
    for index, line in enumerate(lines[:30]):
        if tuple(cell.strip() for cell in _cells(line)[:len(_ISHARES_HEADER_START)]) == _ISHARES_HEADER_START:
            return index
    return None


def _ticker_column(header: list[str]) -> int | None:
    lowered = [cell.strip().lower() for cell in header]
    for wanted in ("ticker", "symbol"):
        if wanted in lowered:
            return lowered.index(wanted)
    return None


def _data_rows(lines: list[str], header_at: int, stop_at_blank: bool, label: str,
               delimiter: str = ",") -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header cells and (1-based file line number, cells) of each data line.

    The iShares data block ends at the first blank line (in practice one holding a
    non-breaking space, which ``str.strip`` removes); the disclaimer after it is one
    quoted multi-line cell, so it must never reach the CSV reader.
    """
    header = [cell.strip() for cell in _cells(lines[header_at], delimiter)]
    rows: list[tuple[int, list[str]]] = []
    for index in range(header_at + 1, len(lines)):
        line = lines[index]
        if not line.strip():
            if stop_at_blank:
                break
            continue
        cells = _cells(line, delimiter)
        if len(cells) != len(header):
            raise SourceError(
                f"{label} line {index + 1}: expected {len(header)} fields as in the header, "
                f"found {len(cells)}: {line[:80]!r}")
        rows.append((index + 1, [cell.strip() for cell in cells]))
    return header, rows


def _number(text: str, label: str, line: int, column: str) -> float:
    """A quoted iShares number ("1,532,594,919.50"); "-" or empty is null (NaN)."""
    if text in ("", "-"):
        return np.nan
    try:
        number = float(text.replace(",", ""))
    except ValueError:
        number = np.nan
    if not math.isfinite(number):
        raise SourceError(f"{label} line {line}, column {column}: {text!r} is not a number")
    return number


def _parse_ishares(lines: list[str], header_at: int, label: str) -> pd.DataFrame:
    header, rows = _data_rows(lines, header_at, stop_at_blank=True, label=label)
    column = {cell: position for position, cell in enumerate(header)}
    missing = [c for c in ("Exchange", "Price") if c not in column]
    if missing:
        raise SourceError(f"{label}: iShares header lacks {', '.join(missing)}; found {', '.join(header)}")

    records: list[dict[str, object]] = []
    dropped: dict[str, list[str]] = {}
    for line, cells in rows:
        def cell(name: str) -> str:
            return cells[column[name]]

        raw, holding_name, exchange = cell("Ticker"), cell("Name"), cell("Exchange")
        weight = _number(cell("Weight (%)"), label, line, "Weight (%)")
        market_value = _number(cell("Market Value"), label, line, "Market Value")
        price = _number(cell("Price"), label, line, "Price")
        reason = _drop_reason(raw, holding_name, cell("Asset Class"), exchange, price)
        if reason:
            dropped.setdefault(reason, []).append(raw if raw not in ("", "-") else holding_name)
            continue
        records.append({
            "ticker": yahoo_symbol(raw, holding_name, exchange),
            "name": holding_name or None,
            "sector": cell("Sector") or None,
            "index_weight": weight / 100.0,
            "market_value": market_value,
            "exchange": exchange if exchange not in ("", "-") else None,
            "asset_class": cell("Asset Class"),
            "raw_ticker": raw,
        })
    if not records:
        raise SourceError(f"{label}: the iShares holdings file lists no listed equities")
    return _finish(records, dropped, label, "ishares", _as_of(lines[:header_at], label))


def _drop_reason(raw: str, name: str, asset_class: str, exchange: str, price: float) -> str | None:
    """Why an iShares row is not a listed stock of the universe, or None to keep it."""
    if asset_class != "Equity":
        return "not an equity (cash, futures, money market)"
    if raw in ("", "-"):
        return "no ticker"
    if exchange in _UNLISTED_EXCHANGES:
        return "no exchange listing"
    if _PLACEHOLDER_NAME.search(name):
        return "placeholder (CVR, escrow, warrant, private placement)"
    if price == 0:
        return "zero price (delisted or worthless)"
    return None


def _as_of(preamble: list[str], label: str) -> dt.date | None:
    """The preamble's "Fund Holdings as of","May 13, 2025" as a date."""
    for line in preamble:
        cells = _cells(line)
        if len(cells) >= 2 and cells[0].strip() == _AS_OF_LINE:
            text = cells[1].strip()
            for pattern in ("%b %d, %Y", "%B %d, %Y", "%Y-%m-%d"):
                try:
                    return dt.datetime.strptime(text, pattern).date()
                except ValueError:
                    continue
            raise SourceError(f"{label}: '{_AS_OF_LINE}' is {text!r}, not a date like 'May 13, 2025'")
    return None


_WEIGHT_COLUMNS: dict[str, float] = {"index_weight": 1.0, "weight (%)": 0.01, "weight_pct": 0.01}


def _parse_ticker_list(lines: list[str], header_at: int, label: str) -> pd.DataFrame:
    header, rows = _data_rows(lines, header_at, stop_at_blank=False, label=label,
                              delimiter=sniff_delimiter(lines[header_at]))
    lowered = [cell.lower() for cell in header]
    ticker_at = _ticker_column(header)
    name_at = lowered.index("name") if "name" in lowered else None
    sector_at = lowered.index("sector") if "sector" in lowered else None
    weight = next(((lowered.index(c), scale, header[lowered.index(c)])
                   for c, scale in _WEIGHT_COLUMNS.items() if c in lowered), None)

    records: list[dict[str, object]] = []
    dropped: dict[str, list[str]] = {}
    for line, cells in rows:
        raw = cells[ticker_at]
        if raw in ("", "-"):
            dropped.setdefault("no ticker", []).append(f"line {line}")
            continue
        index_weight = np.nan
        if weight is not None:
            position, scale, column_name = weight
            index_weight = _number(cells[position], label, line, column_name) * scale
            if not 0.0 <= index_weight <= 1.0:
                raise SourceError(f"{label} line {line}, column {column_name}: {cells[position]!r} "
                                  f"is not a weight between 0 and {1 / scale:g}")
        records.append({
            "ticker": yahoo_symbol(raw),
            "name": (cells[name_at] or None) if name_at is not None else None,
            "sector": (cells[sector_at] or None) if sector_at is not None else None,
            "index_weight": index_weight,
            "market_value": np.nan,
            "exchange": None,
            "asset_class": None,
            "raw_ticker": raw,
        })
    if not records:
        raise SourceError(f"{label}: the ticker list has no tickers")
    return _finish(records, dropped, label, "ticker_list", None)


def _finish(records: list[dict[str, object]], dropped: dict[str, list[str]], label: str,
            kind: str, as_of: dt.date | None) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(records, columns=list(HOLDINGS_COLUMNS))
    duplicated = frame["ticker"].duplicated(keep="first")
    if duplicated.any():
        dropped["duplicate ticker (first row kept)"] = frame.loc[duplicated, "raw_ticker"].tolist()
        frame = frame[~duplicated].reset_index(drop=True)
    for text_column in ("ticker", "name", "sector", "exchange", "asset_class", "raw_ticker"):
        frame[text_column] = frame[text_column].astype("string")
    for number_column in ("index_weight", "market_value"):
        frame[number_column] = frame[number_column].astype("float64")
    frame.attrs.update({"as_of": as_of, "format": kind, "source": label, "dropped": dropped})
    return frame
