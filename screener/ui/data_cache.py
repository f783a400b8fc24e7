"""Derived data for the Overview, Quality vs Junk, Stock and Data pages, computed once per snapshot.

The market histories walk the ~1M-row price history, pivoted once per snapshot into a
shared :class:`~screener.signals.PricePanel` (``st.cache_resource``, read-only arrays),
and each result is cached with ``st.cache_data`` keyed on ``context.key``: every
session and every rerun of every page reuses one computation until a new snapshot is
published (the key changes and the next rerun recomputes, no restart).  ``cache_data`` rather than
``cache_resource`` because results are small frames and each caller gets its own copy,
so nothing a page does can alter another session's data.

The market functions return None when the snapshot has no price history (retention
dropped ``prices.parquet``), and the pages say so instead of failing.  The Data page's
snapshot history is keyed on a cheap fingerprint of the snapshot folders instead, since
it spans every snapshot, not the one shown.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from screener import market, store
from screener.db import history, memberships
from screener.signals import PricePanel, build_panel
from screener.ui.common import PageContext, load_prices, load_stocks

#: One year of sessions: the Overview's histories.
YEAR_SESSIONS = 252
_ENTRIES = 4  # the current snapshot and the previous one, with room for a same-date rerun


@dataclass(frozen=True)
class Divergence:
    """Cumulative basket returns over one window (``returns``), and their spread (None when a side is empty).

    ``start`` is the window's calendar start; ``snapshots`` the stored snapshots whose
    baskets were used (one: today's buckets on past prices; more: point-in-time).
    """

    by: str
    window: str
    start: dt.date
    returns: pd.DataFrame
    spread: pd.DataFrame | None
    snapshots: tuple[dt.date, ...]

    @property
    def point_in_time(self) -> bool:
        return len(self.snapshots) > 1

    @property
    def first_session(self) -> dt.date:
        """The session the lines start from (later than ``start`` when baskets began later)."""
        return self.returns["date"].min().date()


def _with_spread(by: str, window: str, start: dt.date, returns: pd.DataFrame,
                 snapshots: tuple[dt.date, ...]) -> Divergence:
    spread = market.spread(returns, by) if set(market.SPREAD_PAIRS[by]) <= set(returns["series"]) else None
    return Divergence(by=by, window=window, start=start, returns=returns, spread=spread, snapshots=snapshots)


def has_prices(context: PageContext) -> bool:
    return context.snapshot.prices_path is not None


@st.cache_resource(max_entries=2, show_spinner="Loading price history…")
def _panel(key: str, _context: PageContext) -> PricePanel:
    panel = build_panel(load_prices(_context))
    for matrix in (panel.close, panel.volume):
        matrix.flags.writeable = False  # shared by every session: nothing may write into it
    return panel


def price_panel(context: PageContext) -> PricePanel:
    """The snapshot's sessions x tickers panel, built once and shared (the market functions' input)."""
    return _panel(context.key, context)


@st.cache_data(max_entries=_ENTRIES, show_spinner="Computing breadth history…")
def _breadth(key: str, _context: PageContext) -> pd.DataFrame:
    return market.breadth_history(price_panel(_context), days=YEAR_SESSIONS)


def breadth(context: PageContext) -> pd.DataFrame | None:
    """A year of breadth (share above SMA 50/200, new highs/lows) per session."""
    return _breadth(context.key, context) if has_prices(context) else None


@st.cache_data(max_entries=_ENTRIES, show_spinner=False)
def _ratio(key: str, _context: PageContext) -> pd.DataFrame:
    return market.ratio_history(load_prices(_context), days=YEAR_SESSIONS)


def iwm_spy_ratio(context: PageContext) -> pd.DataFrame | None:
    """A year of the IWM/SPY ratio and its 200-day SMA."""
    return _ratio(context.key, context) if has_prices(context) else None


@st.cache_data(max_entries=_ENTRIES, show_spinner=False)
def _participation(key: str, _context: PageContext) -> pd.DataFrame:
    return market.sector_participation(price_panel(_context), load_stocks(_context))


def sector_participation(context: PageContext) -> pd.DataFrame | None:
    """Per sector today: members above their 50-day SMA."""
    return _participation(context.key, context) if has_prices(context) else None


@st.cache_data(max_entries=_ENTRIES * len(market.WINDOWS) * len(market.SPREAD_PAIRS), show_spinner=False)
def _divergence(key: str, by: str, window: str, _context: PageContext) -> Divergence:
    start = market.window_start(_context.snapshot.date, window)
    returns = market.bucket_returns(price_panel(_context), load_stocks(_context), by=by, start=start)
    return _with_spread(by, window, start, returns, (_context.snapshot.date,))


def divergence(context: PageContext, by: str, window: str) -> Divergence | None:
    """Basket returns and spread for a lens (``quality_bucket`` / ``is_profitable``) over a window,
    with today's baskets applied to past prices."""
    return _divergence(context.key, by, window, context) if has_prices(context) else None


def basket_snapshots(context: PageContext) -> list[store.Snapshot]:
    """The stored snapshots that can date a basket for this one: same source, not newer, oldest first.

    A demo snapshot never dates a live basket (or the other way round), and a page
    showing an older snapshot (the newest was damaged) does not look at later ones.
    """
    good, _, _ = snapshot_history(context.data_dir)
    return sorted((s for s in good if s.source == context.snapshot.source and s.date <= context.snapshot.date),
                  key=lambda s: s.date)


@st.cache_data(max_entries=_ENTRIES * len(market.WINDOWS) * len(market.SPREAD_PAIRS), show_spinner=False)
def _point_in_time(key: str, by: str, window: str, dates: tuple[dt.date, ...], _context: PageContext,
                   _snapshots: list[store.Snapshot]) -> Divergence | None:
    start = market.window_start(_context.snapshot.date, window)
    returns = market.point_in_time_returns(price_panel(_context), memberships(_snapshots, by), by=by,
                                           start=start)
    return None if returns is None else _with_spread(by, window, start, returns, dates)


def point_in_time_divergence(context: PageContext, by: str, window: str) -> Divergence | None:
    """Like :func:`divergence`, with each session's baskets taken from the newest snapshot before it.

    None without prices or without a stored snapshot older than the one shown.
    """
    snapshots = basket_snapshots(context)
    if not has_prices(context) or not any(s.date < context.snapshot.date for s in snapshots):
        return None
    return _point_in_time(context.key, by, window, tuple(s.date for s in snapshots), context, snapshots)


@st.cache_data(max_entries=_ENTRIES * len(market.WINDOWS), show_spinner=False)
def _sector_spread(key: str, window: str, _context: PageContext) -> pd.DataFrame:
    start = market.window_start(_context.snapshot.date, window)
    return market.spread_by_sector(price_panel(_context), load_stocks(_context), start=start)


def sector_spread(context: PageContext, window: str) -> pd.DataFrame | None:
    """Quality minus junk return per sector over a window."""
    return _sector_spread(context.key, window, context) if has_prices(context) else None


@st.cache_data(max_entries=64, show_spinner=False)
def _stock_history(key: str, ticker: str, window: str | None, _context: PageContext) -> pd.DataFrame:
    start = None if window is None else market.window_start(_context.snapshot.date, window)
    return market.stock_history(load_prices(_context), ticker, start=start)


def stock_history(context: PageContext, ticker: str, window: str | None = None) -> pd.DataFrame | None:
    """A ticker's chart data over a window of :data:`screener.market.WINDOWS` (None: all sessions).

    Close, SMAs (computed on the full history), volume and surges, and the RS line
    normalised to 1.0 at the window's start.  Empty frame when the prices hold no close
    for the ticker; None when the snapshot has no prices at all.
    """
    return _stock_history(context.key, ticker, window, context) if has_prices(context) else None


def snapshots_fingerprint(data_dir: Path) -> tuple[tuple[str, int, bool], ...]:
    """(folder, run.json mtime, has prices) per snapshot folder: changes whenever the history does.

    A directory listing and a few stats, cheap enough for every rerun, unlike validating
    every folder's Parquet footers.
    """
    root = store.snapshots_dir(data_dir)
    if not root.exists():
        return ()
    entries = []
    for folder in sorted(root.iterdir()):
        run = folder / store.RUN_FILE
        stamp = run.stat().st_mtime_ns if run.exists() else 0
        entries.append((folder.name, stamp, (folder / store.PRICES_FILE).exists()))
    return tuple(entries)


@st.cache_data(max_entries=4, show_spinner="Reading snapshot history…")
def _snapshot_history(data_dir: str, fingerprint: tuple[tuple[str, int, bool], ...]
                      ) -> tuple[list[store.Snapshot], list[store.SkippedSnapshot], pd.DataFrame]:
    good, skipped = store.list_snapshots(Path(data_dir))
    return good, skipped, history(Path(data_dir))


def snapshot_history(data_dir: Path) -> tuple[list[store.Snapshot], list[store.SkippedSnapshot], pd.DataFrame]:
    """Good snapshots and skipped folders (newest first) and :func:`screener.db.history` counts."""
    return _snapshot_history(str(data_dir), snapshots_fingerprint(data_dir))
