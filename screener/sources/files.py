"""The ``files`` source: a night's market data from the user's own files, fully offline.

Three inputs: the universe (an iShares IWM holdings CSV as downloaded, or any CSV with
a ticker column), daily prices (CSV or Parquet, long format, including the benchmarks
IWM and SPY) and, optionally, fundamentals (CSV or Parquet with yfinance ``Ticker.info``
key names).  Each goes through the same parser or validator the other sources use,
so a files run and a Yahoo run produce snapshots with identical meaning; every cell
refused on the way is counted in ``MarketData.rejections`` with its file, row and column.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from screener.fields import BENCHMARKS
from screener.fundamentals import map_info_frame
from screener.holdings import parse_holdings, yahoo_symbol
from screener.sources.base import MarketData, Progress, Rejections, SourceError, no_progress
from screener.validate import MISSING_TEXT, clean_prices, read_table

UNIVERSE_COLUMNS: tuple[str, ...] = ("ticker", "name", "sector", "index_weight")

#: Columns that may say when fundamentals were fetched (the real yfinance dump calls it ``asof``).
_AS_OF_COLUMNS: tuple[str, ...] = ("fundamentals_as_of", "asof")


def load_files(universe: Path, prices: Path, fundamentals: Path | None = None, as_of: dt.date | None = None,
               progress: Progress = no_progress) -> MarketData:
    """Read, validate and join the user's files into one :class:`MarketData` (source "files").

    - universe: :func:`parse_holdings`; benchmarks listed in it are dropped from it.
    - prices: :func:`read_table` + :func:`clean_prices`, kept for universe tickers plus
      IWM and SPY, rows after ``as_of`` dropped; tickers written ``BRK.B`` match
      ``BRK-B``.  :class:`SourceError` when IWM or SPY has no row left.
      Universe tickers without price rows are reported as ``failures[t] = "no_prices"``.
    - fundamentals: :func:`read_table` + ``map_info_frame`` (``ticker`` or ``symbol``
      column, yfinance info keys or catalog names); one row per universe ticker, nulls
      where the file has nothing (counted in stats, not a failure).  A ticker listed
      twice keeps its first row.  ``fundamentals_as_of`` comes from an ``asof`` /
      ``fundamentals_as_of`` column when present (an unparseable cell is refused and
      left null), else the file's modification date; ``stale`` is False.
    """
    rejections = Rejections()
    notes: list[str] = []
    stats: dict[str, object] = {}

    progress(0, 3, "universe")
    members = _universe(universe, notes, stats)
    progress(1, 3, "prices")
    price_frame = _prices(prices, members, as_of, rejections, notes, stats)
    priced = set(price_frame["ticker"].unique())
    failures = {ticker: "no_prices" for ticker in members["ticker"] if ticker not in priced}
    stats["no_prices"] = len(failures)
    progress(2, 3, "fundamentals")
    fundamentals_frame = _fundamentals(fundamentals, members, rejections, notes, stats)
    progress(3, 3, "fundamentals")
    stats["rejected_cells"] = rejections.total
    return MarketData(source="files", universe=members, prices=price_frame, fundamentals=fundamentals_frame,
                      failures=failures, rejections=rejections, notes=notes, stats=stats)


def _universe(path: Path, notes: list[str], stats: dict[str, object]) -> pd.DataFrame:
    holdings = parse_holdings(Path(path), name=str(path))
    benchmarks = holdings["ticker"].isin(BENCHMARKS)
    if benchmarks.any():
        notes.append(f"{path}: benchmarks {', '.join(holdings.loc[benchmarks, 'ticker'])} are not "
                     "constituents; left out of the universe")
    members = holdings.loc[~benchmarks, list(UNIVERSE_COLUMNS)].reset_index(drop=True)
    dropped = holdings.attrs.get("dropped", {})
    stats["universe_format"] = holdings.attrs.get("format")
    holdings_as_of = holdings.attrs.get("as_of")
    stats["universe_as_of"] = holdings_as_of.isoformat() if holdings_as_of else None
    stats["universe_tickers"] = len(members)
    stats["universe_rows_dropped"] = {reason: len(items) for reason, items in dropped.items()}
    if dropped:
        parts = [f"{len(items)} {reason} ({', '.join(items[:5])}{', ...' if len(items) > 5 else ''})"
                 for reason, items in dropped.items()]
        total = sum(len(items) for items in dropped.values())
        notes.append(f"{path}: left out {total} holding(s): " + "; ".join(parts))
    return members


def _prices(path: Path, members: pd.DataFrame, as_of: dt.date | None, rejections: Rejections,
            notes: list[str], stats: dict[str, object]) -> pd.DataFrame:
    raw = read_table(Path(path))
    stats["price_rows_read"] = len(raw)
    prices = clean_prices(raw, str(path), rejections, notes=notes)
    prices["ticker"] = _yahoo_form(prices["ticker"], str(path), "prices", notes)
    if as_of is not None:
        late = prices["date"] > pd.Timestamp(as_of)
        stats["price_rows_after_as_of"] = int(late.sum())
        prices = prices[~late]
    wanted = set(members["ticker"]) | set(BENCHMARKS)
    outside = ~prices["ticker"].isin(wanted)
    stats["price_rows_outside_universe"] = int(outside.sum())
    stats["price_tickers_outside_universe"] = int(prices.loc[outside, "ticker"].nunique())
    prices = prices[~outside].reset_index(drop=True)
    absent = [b for b in BENCHMARKS if not (prices["ticker"] == b).any()]
    if absent:
        when = f" on or before {as_of.isoformat()}" if as_of else ""
        raise SourceError(f"{path}: no usable price rows for {' and '.join(absent)}{when}; the prices file "
                          f"must include the benchmarks {' and '.join(BENCHMARKS)}")
    stats["price_rows_kept"] = len(prices)
    stats["price_tickers"] = int(prices["ticker"].nunique())
    stats["price_last_date"] = prices["date"].max().date().isoformat()
    return prices


def _fundamentals(path: Path | None, members: pd.DataFrame, rejections: Rejections,
                  notes: list[str], stats: dict[str, object]) -> pd.DataFrame:
    tickers = members[["ticker"]]
    if path is None:
        notes.append("no fundamentals file: every fundamental field is null")
        mapped = map_info_frame(tickers, "fundamentals", rejections)
        mapped["fundamentals_as_of"] = None
        stats["fundamentals_missing"] = len(members)
        return _with_stale(mapped)

    file = str(path)
    raw = read_table(Path(path)).reset_index(drop=True)
    stats["fundamentals_rows_read"] = len(raw)
    ticker_column = _named(raw, ("ticker", "symbol"))
    if ticker_column is None:
        found = ", ".join(map(str, raw.columns)) or "none"
        raise SourceError(f"{file}: missing required column 'ticker' (or 'symbol'); columns found: {found}")
    rows = pd.Series(np.arange(1, len(raw) + 1), index=raw.index)
    symbols = raw[ticker_column].astype("string").str.strip().str.upper()
    unusable = (symbols.isna() | symbols.isin(["", "-"])).fillna(True)
    rejections.add(file, str(ticker_column), rows[unusable], raw.loc[unusable, ticker_column], "missing")
    info = raw.drop(columns=[ticker_column])
    info.insert(0, "ticker", _yahoo_form(symbols.fillna(""), file, "fundamentals", notes))
    duplicated = info["ticker"].duplicated(keep="first") & ~unusable
    rejections.add(file, str(ticker_column), rows[duplicated], info.loc[duplicated, "ticker"],
                   "duplicate ticker (first row kept)")
    # Every row is mapped, in file order, so messages carry the file's own row numbers;
    # garbage is therefore counted in rows outside the universe too: it is in the file.
    mapped = map_info_frame(info, file, rejections)
    mapped["fundamentals_as_of"] = _fetched_dates(info, Path(path), rows, rejections)
    in_universe = info["ticker"].isin(set(members["ticker"])) & ~unusable & ~duplicated
    stats["fundamentals_rows_outside_universe"] = int((~in_universe & ~unusable & ~duplicated).sum())
    merged = tickers.merge(mapped[in_universe.to_numpy()], on="ticker", how="left")
    fetched = merged["fundamentals_as_of"]
    merged["fundamentals_as_of"] = fetched.astype(object).where(fetched.notna(), None)
    stats["fundamentals_matched"] = int(in_universe.sum())
    stats["fundamentals_missing"] = len(members) - int(in_universe.sum())
    return _with_stale(merged)


def _fetched_dates(info: pd.DataFrame, path: Path, rows: pd.Series, rejections: Rejections) -> list:
    column = _named(info, _AS_OF_COLUMNS)
    if column is None:
        modified = dt.datetime.fromtimestamp(path.stat().st_mtime).date()
        return [modified] * len(info)
    raw = info[column]
    text = raw.astype("string").str.strip()
    missing = text.isna() | text.str.lower().isin(MISSING_TEXT).fillna(False)
    parsed = pd.to_datetime(text.str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
    bad = parsed.isna() & ~missing
    rejections.add(str(path), str(column), rows[bad], raw[bad], "not a date (expected YYYY-MM-DD)")
    return [value.date() if pd.notna(value) else None for value in parsed]


def _named(frame: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    """The frame's column matching the first of ``names`` (case-insensitive), if any."""
    lowered = {str(column).strip().lower(): column for column in frame.columns}
    return next((lowered[name] for name in names if name in lowered), None)


def _yahoo_form(tickers: pd.Series, file: str, what: str, notes: list[str]) -> pd.Series:
    """``BRK.B`` -> ``BRK-B`` so a file's tickers match the universe's Yahoo spelling."""
    unique = pd.unique(tickers)
    mapping = {ticker: yahoo_symbol(ticker) for ticker in unique}
    changed = sorted(t for t, y in mapping.items() if t != y)
    if changed:
        notes.append(f"{file}: {len(changed)} {what} ticker(s) rewritten in Yahoo form, e.g. "
                     f"{changed[0]} -> {mapping[changed[0]]}")
    return tickers.map(mapping).astype(tickers.dtype)


def _with_stale(frame: pd.DataFrame) -> pd.DataFrame:
    frame["stale"] = False
    return frame.reset_index(drop=True)
