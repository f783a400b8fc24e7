"""The Quality vs Junk page's choices, figures and explanation, as plain data (no Streamlit).

The page offers two lenses (the quality buckets, and the seed's simpler profitable
versus unprofitable split) over the windows of :data:`screener.market.WINDOWS`, with
today's baskets or point-in-time ones (once earlier snapshots are stored); this module
names them, turns a :class:`~screener.ui.data_cache.Divergence` into metric tiles, and
writes the "how the baskets are built" note with its caveats.
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

from screener import market
from screener.ui.market_overview import Tile

#: Lens (the split's column in stocks.parquet) -> label on the picker (also its URL value).
LENSES: dict[str, str] = {"quality_bucket": "Quality buckets", "is_profitable": "Profitability"}
#: How the baskets are formed -> label on the picker (also its URL value).
BASKET_MODES: dict[str, str] = {"today": "Today's baskets", "point_in_time": "Point-in-time"}
#: Window -> label on the picker (also its URL value).
WINDOW_LABELS: dict[str, str] = {window: ("YTD" if window == "ytd" else window) for window in market.WINDOWS}
DEFAULT_WINDOW = "6m"


def end_values(returns: pd.DataFrame) -> dict[str, float]:
    """Each series' cumulative return on the window's last session (its last non-null value)."""
    ordered = returns.dropna(subset=["value"]).sort_values("date")
    return {str(name): float(rows["value"].iloc[-1]) for name, rows in ordered.groupby("series", sort=False)}


def basket_members(stocks: pd.DataFrame, by: str) -> dict[str, int]:
    """Members of each basket of a lens in the snapshot (benchmarks are never in stocks)."""
    labels = stocks[by].astype("object").map(market.GROUPINGS[by]) if market.GROUPINGS[by] else stocks[by]
    return {str(k): int(v) for k, v in labels.dropna().astype("str").value_counts().items()}


def basket_tiles(returns: pd.DataFrame, spread: pd.DataFrame | None, by: str,
                 members: dict[str, int]) -> list[Tile]:
    """Window return of the long basket, the short one, IWM, and the spread between the baskets."""
    values = end_values(returns)
    long_name, short_name = market.SPREAD_PAIRS[by]

    def percent(name: str) -> str:
        value = values.get(name)
        return "—" if value is None or math.isnan(value) else f"{value:+.1%}"

    tiles = [Tile(f"{name.capitalize()} ({members.get(name, 0):,} stocks)", percent(name), None,
                  f"Equal-weight cumulative return of the {name} basket over the window.")
             for name in (long_name, short_name)]
    tiles.append(Tile(market.BENCHMARK, percent(market.BENCHMARK), None,
                      "The iShares Russell 2000 ETF (cap-weighted) over the same window."))
    spread_value = None if spread is None or spread["value"].dropna().empty else float(spread["value"].dropna().iloc[-1])
    tiles.append(Tile(f"{long_name.capitalize()} − {short_name}",
                      "—" if spread_value is None else f"{spread_value * 100:+.1f} pp",
                      None if spread_value is None else f"{long_name if spread_value > 0 else short_name} leads",
                      "Difference of the two cumulative returns, in percentage points.", delta_color="off"))
    return tiles


def _split_text(by: str) -> str:
    return ("**Quality** is the top 30% of the quality score (profitability, growth and safety, "
            "after Asness, Frazzini & Pedersen), **junk** the bottom 30%, **middle** the rest."
            if by == "quality_bucket" else
            "**Profitable** stocks have positive trailing EPS (or, without EPS, a positive profit "
            "margin); **unprofitable** ones do not; stocks with neither figure are left out.")


def history_hint(demo: bool) -> str:
    """How to get the stored snapshots point-in-time baskets need (Markdown)."""
    return ("build past evenings of the demo market with `python -m screener nightly --source demo "
            "--backfill-weeks 26`" if demo else "run the nightly job every evening")


def baskets_note(by: str, start: dt.date | None, as_of: dt.date, snapshots: int, demo: bool) -> str:
    """Markdown: what today's baskets are, how returns are computed, and the look-ahead caveat."""
    window = f"from the close of the last session on or before {start:%d %b %Y} " if start else ""
    later = "switch to **Point-in-time** to see them" if snapshots > 1 else history_hint(demo)
    return (
        f"{_split_text(by)} Each basket's line is its members' plain average daily return, compounded "
        f"{window}to {as_of:%d %b %Y} (equal weight, rebalanced daily); IWM is the cap-weighted ETF.\n\n"
        f"**Look-ahead caveat:** the baskets are the buckets of {as_of:%d %b %Y} applied to past prices: "
        "each stock is judged on fundamentals and volatility known only today, and stocks that have left "
        "the index since are absent. The lines show how today's baskets got here, not what picking them "
        "at the time would have earned. Point-in-time baskets need a stored snapshot for each past date "
        f"of the window; {snapshots:,} snapshot(s) are stored so far: {later}.")


def point_in_time_note(by: str, start: dt.date, first_session: dt.date, as_of: dt.date,
                       snapshots: tuple[dt.date, ...]) -> str:
    """Markdown: how point-in-time baskets are formed, from which snapshots, and what caveat remains."""
    begins = (f"from the close of {first_session:%d %b %Y}" if first_session <= start else
              f"from {first_session:%d %b %Y}, the first stored snapshot (the window starts "
              f"{start:%d %b %Y}, before any basket existed)")
    return (
        f"{_split_text(by)} **Point-in-time:** on each session the baskets are those of the newest stored "
        f"snapshot taken before it ({len(snapshots):,} snapshots, {snapshots[0]:%d %b %Y} to "
        f"{snapshots[-1]:%d %b %Y}), so every stock is judged only on what was known that evening, and "
        "baskets are held as they were between snapshots. Each line is its members' plain average daily "
        f"return, compounded {begins} to {as_of:%d %b %Y}; IWM over the same sessions.\n\n"
        "**Remaining caveat:** returns come from today's price history, so a stock that has left the index "
        "since has no prices and drops out of its old basket (survivorship). The spread by sector below "
        "uses today's baskets.")
