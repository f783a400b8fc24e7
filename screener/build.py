"""Turn one source's :class:`MarketData` into the ``stocks`` table: one row per ticker, every catalog field.

This is the compute step the benchmark times and every source shares: price signals
for all tickers in one vectorised pass, fundamentals joined on, the two derived flags,
then the quality score ranked across whatever universe made it this far.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from screener.fields import BENCHMARKS, FIELDS, INFO_FIELDS, INSIDER_FIELDS
from screener.fundamentals import derive_flags
from screener.quality import add_quality
from screener.signals import compute_price_signals, stale_price_tickers
from screener.sources.base import MarketData, Rejections


@dataclass
class BuildResult:
    """The stocks table plus what the run report needs to say about it."""

    stocks: pd.DataFrame
    as_of: dt.date
    failures: dict[str, str] = field(default_factory=dict)
    out_of_range: Rejections = field(default_factory=Rejections)


def build_stocks(data: MarketData, as_of: dt.date | None = None) -> BuildResult:
    """Compute every catalog field for the universe of ``data``.

    Tickers without a recent close cannot be screened or charted, so they are left out
    and reported as ``no_prices``; their fundamentals alone would only mislead.
    """
    signals = compute_price_signals(data.prices, as_of=as_of)
    session = _as_of_session(signals)
    universe = data.universe.drop_duplicates("ticker").set_index("ticker")
    universe = universe[~universe.index.isin(BENCHMARKS)]

    failures = dict(data.failures)
    unpriced = universe.index.difference(signals.index).union(stale_price_tickers(signals))
    for ticker in unpriced.intersection(universe.index):
        failures.setdefault(ticker, "no_prices")
    tickers = universe.index.difference(unpriced)

    stocks = pd.DataFrame(index=pd.Index(tickers, name="ticker"))
    fundamentals = data.fundamentals.drop_duplicates("ticker").set_index("ticker").reindex(tickers)
    for name in (*(f.name for f in INFO_FIELDS), *INSIDER_FIELDS):
        if name in fundamentals.columns:
            stocks[name] = fundamentals[name]
    # Names read better from Yahoo ("Bloom Energy Corporation") than from iShares' upper
    # case; sectors come from iShares first because its GICS names match IWM's weights.
    listed = universe.reindex(tickers)
    stocks["name"] = _first_present(stocks.get("name"), listed.get("name"))
    stocks["sector"] = _first_present(listed.get("sector"), stocks.get("sector"))
    stocks["index_weight"] = _column(listed, "index_weight", np.nan).astype("float64")
    stocks["fundamentals_as_of"] = _column(fundamentals, "fundamentals_as_of", pd.NaT)
    stocks["stale"] = _column(fundamentals, "stale", False).fillna(False).astype("boolean")

    for column in signals.columns:
        if column in {f.name for f in FIELDS}:
            stocks[column] = signals[column].reindex(tickers)
    stocks["as_of"] = session

    stocks = derive_flags(stocks)
    stocks = add_quality(stocks)
    stocks = stocks.reset_index()
    out_of_range = Rejections()
    stocks = conform(stocks, out_of_range)
    return BuildResult(stocks=stocks, as_of=session, failures=failures, out_of_range=out_of_range)


def _as_of_session(signals: pd.DataFrame) -> dt.date:
    sessions = pd.to_datetime(signals["as_of"]).dropna()
    if sessions.empty:
        raise ValueError("no ticker has a price on the as-of session")
    return sessions.max().date()


def _first_present(primary: pd.Series | None, fallback: pd.Series | None) -> pd.Series | None:
    """Values of ``primary`` where present, else ``fallback``'s; either may be absent."""
    if primary is None or fallback is None:
        present = primary if primary is not None else fallback
        return None if present is None else present.astype("string")
    return primary.astype("string").fillna(fallback.astype("string"))


def _column(frame: pd.DataFrame, name: str, default: object) -> pd.Series:
    if name in frame.columns:
        return frame[name]
    return pd.Series(default, index=frame.index)


def conform(stocks: pd.DataFrame, out_of_range: Rejections) -> pd.DataFrame:
    """Put every catalog column in its catalog type; null and count values outside ``valid``.

    A computed value outside the catalog's range means bad input slipped through (a
    split-unadjusted price series, say): it is nulled and reported, not published.
    """
    out = pd.DataFrame({"ticker": stocks["ticker"].astype("string")})
    for spec in FIELDS:
        if spec.name == "ticker":
            continue
        values = stocks[spec.name] if spec.name in stocks.columns else pd.Series(pd.NA, index=stocks.index)
        if spec.kind == "float":
            values = pd.to_numeric(values, errors="coerce").astype("float64")
        elif spec.kind == "int":
            values = pd.to_numeric(values, errors="coerce").round().astype("Int64")
        elif spec.kind == "bool":
            values = values.astype("boolean")
        elif spec.kind == "date":
            values = pd.to_datetime(values, errors="coerce").dt.date
        else:
            values = values.astype("string")
        if spec.is_numeric:
            lo, hi = spec.valid
            outside = pd.Series(False, index=values.index)
            if lo is not None:
                outside |= (values < lo).fillna(False)
            if hi is not None:
                outside |= (values > hi).fillna(False)
            if outside.any():
                out_of_range.add("computed", spec.name, stocks.loc[outside, "ticker"], values[outside],
                                 f"outside {lo}..{hi}")
                values = values.mask(outside)
        out[spec.name] = values
    return out.sort_values("ticker", kind="stable").reset_index(drop=True)
