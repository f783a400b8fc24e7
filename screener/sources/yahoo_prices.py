"""Daily prices from Yahoo through ``yf.download``: only the new sessions when the last snapshot has the rest.

``yf.download`` makes one chart request per ticker whatever the date range (plus one for
the ticker's time zone until yfinance's tz cache knows it), so fetching two years or
two days costs the same request; what the incremental path saves is bytes and time, and
what it must get right is adjustment.  Yahoo's auto-adjusted history is rescaled after
every dividend and split, so the fresh window overlaps the previous snapshot by a few
sessions and the closes are compared there: if they moved, the old history is no longer
on today's basis and the ticker is fetched again in full.

``yf.download`` never raises for a failed ticker; it leaves an all-NaN column.  Those
are detected here and given the reason the HTTP layer saw for that ticker's chart URL.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from screener.fields import PRICES_SCHEMA
from screener.sources.yahoo_http import PoliteSession

import yfinance as yf

#: Calendar days of history a snapshot keeps (two years of sessions plus a margin).
HISTORY_DAYS = 2 * 365 + 10
#: Calendar days the fresh window reaches back into the previous snapshot's history.
OVERLAP_DAYS = 10
#: Largest relative difference between an old and a fresh close of the same session that
#: still counts as the same adjustment basis.
ADJUSTMENT_TOLERANCE = 1e-4
#: Extra rounds for tickers yfinance's threaded download skipped without a request.
SKIPPED_ROUNDS = 2


@dataclass(frozen=True)
class PriceJob:
    """Tickers fetched from the same start date: incrementally (after a previous snapshot) or in full."""

    start: dt.date
    tickers: tuple[str, ...]
    incremental: bool


def empty_prices() -> pd.DataFrame:
    """No rows, but the columns and types of real ones (so merges and concatenations just work)."""
    return PRICES_SCHEMA.empty_table().to_pandas().astype({"date": "datetime64[ns]", "volume": "Int64"})


def plan_price_jobs(tickers: list[str], previous: pd.DataFrame | None, end: dt.date,
                    history_days: int = HISTORY_DAYS) -> list[PriceJob]:
    """Group tickers by fetch start: each known ticker from a little before its last session."""
    full_start = end - dt.timedelta(days=history_days)
    last: dict[str, dt.date] = {}
    if previous is not None and len(previous):
        last = {t: d.date() for t, d in pd.to_datetime(previous["date"]).groupby(previous["ticker"]).max().items()}
    groups: dict[tuple[dt.date, bool], list[str]] = {}
    for ticker in tickers:
        previous_last = last.get(ticker)
        if previous_last is not None and full_start < previous_last < end:
            key = (previous_last - dt.timedelta(days=OVERLAP_DAYS), True)
        else:
            key = (full_start, False)
        groups.setdefault(key, []).append(ticker)
    return [PriceJob(start=start, tickers=tuple(members), incremental=incremental)
            for (start, incremental), members in sorted(groups.items())]


def download(session: PoliteSession, tickers: list[str], start: dt.date, end: dt.date, workers: int,
             timeout_s: float) -> tuple[pd.DataFrame, dict[str, str]]:
    """Long rows (the columns of ``fields.PRICES_SCHEMA``, sessions in ``[start, end)``) and a reason
    per failed ticker.

    yfinance 1.7's threaded download now and then never requests one of the tickers it
    was given (about 1 call in 20 with three tickers in our tests) and reports it as
    all-NaN like a real failure.  A ticker whose chart was not requested at all is
    therefore asked for again, up to :data:`SKIPPED_ROUNDS` times, before it counts as
    failed; a ticker Yahoo did answer is judged by that answer.  (yfinance also sends
    nothing for a ticker its timezone cache already knows has no data; asking again
    then costs no request, and the ticker ends as ``no_prices``.)  With one worker
    yfinance's sequential path is used, which has no such race.  yfinance cannot be
    told how many threads to use (see :mod:`yahoo_http`); the session caps the
    requests in flight.
    """
    paths = {ticker: f"/v8/finance/chart/{ticker}" for ticker in tickers}
    frames, failures, pending = [], {}, list(tickers)
    for _round in range(1 + SKIPPED_ROUNDS):
        before = {ticker: session.requests_for(paths[ticker]) for ticker in pending}
        wide = yf.download(pending, start=start.isoformat(), end=end.isoformat(), session=session,
                           threads=workers > 1 and len(pending) > 1, group_by="ticker", auto_adjust=True,
                           actions=False, progress=False, timeout=timeout_s, multi_level_index=True)
        rows = _long(wide)
        frames.append(rows)
        got = set(rows["ticker"])
        missing = [ticker for ticker in pending if ticker not in got]
        pending = [ticker for ticker in missing if session.requests_for(paths[ticker]) == before[ticker]]
        for ticker in set(missing) - set(pending):
            outcome = session.last_outcome(paths[ticker])
            failures[ticker] = "no_prices" if outcome in (None, "ok") else outcome
        if not pending:
            break
    failures.update({ticker: "no_prices" for ticker in pending})
    rows = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return rows.sort_values(["ticker", "date"], ignore_index=True), failures


def _long(wide: pd.DataFrame | None) -> pd.DataFrame:
    """The wide ``yf.download`` frame (ticker, field columns) as long rows; sessions without a close dropped.

    A failed ticker's columns are all NaN, so it simply has no rows here.
    """
    if wide is None or wide.empty or wide.columns.nlevels != 2:
        return empty_prices()
    stacked = wide.stack(level=0, future_stack=True).rename(columns=str.lower)
    stacked = stacked.dropna(subset=["close"]).reset_index()
    stacked.columns = ["date", "ticker", *stacked.columns[2:]]
    volume = stacked["volume"] if "volume" in stacked.columns else pd.Series(np.nan, index=stacked.index)
    return pd.DataFrame({
        "date": pd.to_datetime(stacked["date"]).dt.tz_localize(None).dt.normalize(),
        "ticker": stacked["ticker"].astype(str),
        "open": stacked.get("open"), "high": stacked.get("high"), "low": stacked.get("low"),
        "close": stacked["close"].astype("float64"),
        "volume": volume.round().astype("Int64"),
    }).sort_values(["ticker", "date"], ignore_index=True)


def merge_incremental(previous: pd.DataFrame, fresh: pd.DataFrame,
                      tolerance: float = ADJUSTMENT_TOLERANCE) -> tuple[pd.DataFrame, list[str]]:
    """Each ticker's previous history followed by its fresh sessions, for tickers on the same basis.

    Returns the merged rows and the fresh tickers that need their full history instead:
    no previous history, no session in common, or a common session whose close moved by
    more than ``tolerance`` (a dividend or split re-adjusted the history).  Compared are
    the common sessions before a ticker's last previous one (Yahoo may still have been
    revising that one); the last one alone is compared only when it is the sole overlap.
    Fresh rows win wherever both have a session.
    """
    if fresh.empty:
        return fresh, []
    last = previous.groupby("ticker")["date"].max()
    both = fresh[["ticker", "date", "close"]].merge(previous[["ticker", "date", "close"]], on=["ticker", "date"],
                                                    suffixes=("", "_old"))
    before_last = both["date"] < both["ticker"].map(last)
    has_earlier = before_last.groupby(both["ticker"]).transform("any")
    compared = both[before_last | ~has_earlier]
    drift = (compared["close"] / compared["close_old"] - 1).abs()
    same_basis = (drift <= tolerance).groupby(compared["ticker"]).all()
    good = set(same_basis.index[same_basis])
    first_fresh = fresh.groupby("ticker")["date"].min()
    kept = previous[previous["ticker"].isin(good)]
    kept = kept[kept["date"] < kept["ticker"].map(first_fresh)]
    merged = pd.concat([kept, fresh[fresh["ticker"].isin(good)]], ignore_index=True)
    refused = sorted(set(fresh["ticker"]) - good)
    return merged.sort_values(["ticker", "date"], ignore_index=True), refused


def trim(rows: pd.DataFrame, end: dt.date, history_days: int = HISTORY_DAYS) -> pd.DataFrame:
    """Only the sessions of the history window ending before ``end``."""
    first = pd.Timestamp(end - dt.timedelta(days=history_days))
    return rows[(rows["date"] >= first) & (rows["date"] < pd.Timestamp(end))].reset_index(drop=True)
