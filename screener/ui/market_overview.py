"""The Overview's figures: metric tiles and the two watch-list tables, as plain data.

No Streamlit here: the page renders what these functions return, and tests compare
them with independent pandas computations.  Definitions where DESIGN.md leaves room:

- "Share above the N-day SMA" is the mean of ``above_sma_N`` over the stocks that have
  a value (a stock without 200 sessions of history has no SMA and is left out, as in
  :func:`screener.market.breadth_history`, whose last row agrees with it).
- "Change over a month" is the breadth history's last value minus its value
  :data:`MONTH_SESSIONS` sessions earlier (21 sessions, as ``return_1m``), in
  percentage points.
- IWM/SPY "vs its 200-day SMA" is ratio / SMA − 1 on the last session.
- The quality-minus-junk tile is the 3-month spread of :func:`screener.market.spread`
  on its last session.
- New highs / lows are today's counts from the breadth history (strict 52-week
  highs and lows, see :mod:`screener.market`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from screener.links import stock_page_url

#: Sessions in "a month" for the breadth tile's change (same k as return_1m).
MONTH_SESSIONS = 21
#: Rows in each watch-list table.
WATCH_ROWS = 10

NO_PRICES_HELP = "Needs the snapshot's price history (prices.parquet)."


@dataclass(frozen=True)
class Tile:
    """One st.metric: what it says, the change beside it, and how it is computed."""

    label: str
    value: str
    delta: str | None
    help: str
    sparkline: tuple[float, ...] = ()
    #: "normal": the delta is a signed change (green up, red down); "off": a grey description.
    delta_color: str = "normal"


def share_true(values: pd.Series) -> float | None:
    """Mean of a boolean column over its non-null values; None when it has none."""
    known = values.dropna()
    return float(known.astype("bool").mean()) if len(known) else None


def series_values(history: pd.DataFrame | None, series: str) -> pd.Series:
    """One series of a long ``date, series, value`` frame, by date, NaN rows dropped."""
    if history is None:
        return pd.Series(dtype="float64")
    rows = history.loc[history["series"] == series].sort_values("date")
    return rows["value"].dropna().reset_index(drop=True)


def last_value(history: pd.DataFrame | None, series: str) -> float | None:
    values = series_values(history, series)
    return float(values.iloc[-1]) if len(values) else None


def change_over(history: pd.DataFrame | None, series: str, sessions: int = MONTH_SESSIONS) -> float | None:
    """Last value minus the value ``sessions`` rows earlier; None without enough rows."""
    values = series_values(history, series)
    if len(values) <= sessions:
        return None
    return float(values.iloc[-1] - values.iloc[-1 - sessions])


def ratio_gap(ratio: pd.DataFrame | None, sma: int = 200) -> float | None:
    """Last ratio / its last SMA − 1 (how far small caps lead their trend); None without an SMA."""
    if ratio is None or ratio.empty:
        return None
    last = ratio.loc[ratio["date"] == ratio["date"].max()].set_index("series")["value"]
    last_ratio, last_sma = last.get("ratio"), last.get(f"sma_{sma}")
    if last_ratio is None or last_sma is None or pd.isna(last_ratio) or pd.isna(last_sma) or last_sma == 0:
        return None
    return float(last_ratio / last_sma - 1)


def _percent(value: float | None, signed: bool = False) -> str:
    if value is None or math.isnan(value):
        return "—"
    return f"{value:+.1%}" if signed else f"{value:.1%}"


def _points(value: float | None) -> str | None:
    """A difference of fractions in percentage points ("+3.1 pp"); None when unknown."""
    if value is None or math.isnan(value):
        return None
    return f"{value * 100:+.1f} pp"


def overview_tiles(stocks: pd.DataFrame, breadth: pd.DataFrame | None, ratio: pd.DataFrame | None,
                   qmj_spread: pd.DataFrame | None) -> list[Tile]:
    """The five tiles of the Overview; histories are None when the snapshot has no prices."""
    above_200 = share_true(stocks["above_sma_200"])
    above_50 = share_true(stocks["above_sma_50"])
    gap = ratio_gap(ratio)
    spread_value = qmj_spread["value"].dropna().iloc[-1] if qmj_spread is not None and \
        qmj_spread["value"].notna().any() else None
    highs, lows = last_value(breadth, "new_highs"), last_value(breadth, "new_lows")
    spark_200 = _sparkline(series_values(breadth, "above_sma_200"), 100)
    spark_50 = _sparkline(series_values(breadth, "above_sma_50"), 100)
    spark_ratio = _sparkline(series_values(ratio, "ratio"))
    spark_spread = _sparkline(qmj_spread["value"].dropna() if qmj_spread is not None else pd.Series(), 100)
    spark_net = _sparkline(series_values(breadth, "new_highs") - series_values(breadth, "new_lows"))
    return [
        Tile("Above 200-day SMA", _percent(above_200),
             None if breadth is None else _month_delta(change_over(breadth, "above_sma_200")),
             "Share of constituents whose close is above their 200-day average (stocks without 200 "
             "sessions of history left out); change versus 21 sessions ago in percentage points.",
             spark_200),
        Tile("Above 50-day SMA", _percent(above_50),
             None if breadth is None else _month_delta(change_over(breadth, "above_sma_50")),
             "Share of constituents whose close is above their 50-day average; change versus "
             "21 sessions ago in percentage points.", spark_50),
        Tile("IWM/SPY vs 200d SMA", _percent(gap, signed=True),
             None if gap is None else ("small caps above trend" if gap > 0 else "small caps below trend"),
             "The IWM/SPY close ratio relative to its own 200-day average: above 0 means small caps "
             "have been outperforming large caps lately. " + ("" if ratio is not None else NO_PRICES_HELP),
             spark_ratio, delta_color="off"),
        Tile("Quality − junk (3m)", "—" if spread_value is None else f"{spread_value * 100:+.1f} pp",
             None if spread_value is None else ("quality leads" if spread_value > 0 else "junk leads"),
             "Cumulative equal-weight return of the quality bucket minus the junk bucket over three "
             "months (today's buckets applied to past prices). "
             + ("" if qmj_spread is not None else NO_PRICES_HELP), spark_spread, delta_color="off"),
        Tile("52w highs / lows", "—" if highs is None or lows is None else f"{highs:,.0f} / {lows:,.0f}",
             None if highs is None or lows is None else f"{highs - lows:+,.0f} net",
             "Constituents closing strictly above (below) each of their previous 251 closes today; "
             "the line is highs minus lows per session over the year. "
             + ("" if breadth is not None else NO_PRICES_HELP), spark_net),
    ]


def _sparkline(values: pd.Series, scale: float = 1.0) -> tuple[float, ...]:
    """A tile's small line: the values (times ``scale``), rounded so the page message stays small."""
    return tuple(round(float(v) * scale, 4) for v in values.dropna())


def _month_delta(change: float | None) -> str | None:
    points = _points(change)
    return None if points is None else f"{points} in 1 month"


def watch_table(stocks: pd.DataFrame, sort_by: list[str], columns: list[str], n: int = WATCH_ROWS) -> pd.DataFrame:
    """The top ``n`` stocks by ``sort_by`` (descending, nulls dropped on the first key), with a ``link``.

    ``link`` is the Stock page URL; the remaining columns are ``columns`` in order.
    """
    ranked = stocks.dropna(subset=[sort_by[0]]).sort_values(
        sort_by, ascending=False, na_position="last", kind="stable")
    top = ranked.head(n)
    out = pd.DataFrame({"link": [stock_page_url(t) for t in top["ticker"]]})
    for column in columns:
        out[column] = top[column].to_numpy()
    return out


def volume_surges(stocks: pd.DataFrame, n: int = WATCH_ROWS) -> pd.DataFrame:
    """Today's biggest volume surges (volume / 50-day average), largest first."""
    return watch_table(stocks, ["volume_surge", "volume"],
                       ["name", "volume_surge", "volume", "return_1m", "quality_bucket"], n)


def strongest_rs(stocks: pd.DataFrame, n: int = WATCH_ROWS) -> pd.DataFrame:
    """The strongest relative strength: RS rating, ties broken by the 6-month RS against IWM."""
    return watch_table(stocks, ["rs_rating", "rs_6m"],
                       ["name", "rs_rating", "rs_6m", "return_6m", "quality_bucket"], n)
