"""Altair chart builders for the Overview, Quality vs Junk, Stock and Data pages.

Pure functions: tidy frames in (as :mod:`screener.market`, :func:`screener.db.history`
and ``stocks.parquet`` produce them), ``alt.Chart`` out, no Streamlit.  Keeping them
pure lets tests read a chart's data and encodings from ``to_dict()`` without a browser,
and keeps one visual language across pages:

- fractions are stored as fractions and shown with ``%`` axis formats; spreads of
  cumulative returns are differences of fractions, shown in % as well (percentage points);
- quality and profitable are green, junk red, unprofitable orange, the middle bucket
  blue and IWM a dashed grey, on every chart;
- spreads and relative-strength lines carry a reference rule (0, or 1.0 for a ratio
  line) so "above / below" reads at a glance;
- ``demo=True`` adds a subtitle saying the data is synthetic, because a chart screenshot
  travels without the sidebar's DEMO badge.

Every builder accepts an empty frame and returns a chart with no marks rather than
raising, so a page never breaks on a snapshot with nothing to show.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from screener.fields import field

#: What the builders return: one chart or a layer of charts, both ready for st.altair_chart.
Chart = alt.Chart | alt.LayerChart

DEMO_SUBTITLE = "DEMO market: synthetic data, not real prices"
DEMO_COLOUR = "#8a5a00"

QUALITY_GREEN = "#2e7d32"
JUNK_RED = "#c62828"
UNPROFITABLE_ORANGE = "#ef6c00"
MIDDLE_BLUE = "#5c7cfa"
IWM_GREY = "#757575"
NEUTRAL_GREY = "#b0b0b0"
SMA_50_COLOUR = "#ef6c00"
SMA_200_COLOUR = "#6a1b9a"
PRICE_COLOUR = "#1f6f8b"

#: One colour per series name wherever it appears (buckets, lenses, the benchmark).
SERIES_COLOURS: dict[str, str] = {
    "quality": QUALITY_GREEN,
    "middle": MIDDLE_BLUE,
    "junk": JUNK_RED,
    "profitable": QUALITY_GREEN,
    "unprofitable": UNPROFITABLE_ORANGE,
    "IWM": IWM_GREY,
    "unbucketed": NEUTRAL_GREY,
}
BUCKET_ORDER: tuple[str, ...] = field("quality_bucket").choices  # quality, middle, junk

#: Heights are of the whole chart: Streamlit fits title, axes and legend inside them.
_HEIGHT = 360
_SMALL_HEIGHT = 260
_FRAME = 140  # title, subtitles, axis and legend of a bar chart
_PERCENT = ".0%"
_PERCENT_1 = ".1%"
#: Time axis of the month-to-years histories: one tick per month at most, labels never repeated.
_MONTH_AXIS = alt.Axis(format="%b %Y", tickCount="month", labelOverlap="greedy")
_TOOLTIP_DATE = alt.Tooltip("date:T", title="Date", format="%Y-%m-%d")
_CATEGORY_AXIS = alt.Axis(labelLimit=220)
#: Quantiles of 6-month return that bound the scatter's y axis.
SCATTER_CLIP_QUANTILES = (0.01, 0.99)
#: The volume axis ends at this multiple of the 98th percentile of daily volume.
VOLUME_AXIS_HEADROOM = 1.5
_BAR_STEP = 24  # pixels per category row, so every sector label has room


def _bar_height(rows: int) -> int:
    """Height of a horizontal bar chart: a fixed step per row, never less than the other charts."""
    return max(_HEIGHT, _FRAME + _BAR_STEP * rows)


def _title(text: str, demo: bool, subtitle: str | None = None) -> alt.TitleParams:
    """A left-aligned title; the demo subtitle comes first so it is never cut off."""
    lines = [line for line in (DEMO_SUBTITLE if demo else None, subtitle) if line]
    if not lines:
        return alt.TitleParams(text, anchor="start")
    if demo:
        return alt.TitleParams(text, subtitle=lines, anchor="start", subtitleColor=DEMO_COLOUR)
    return alt.TitleParams(text, subtitle=lines, anchor="start")


def _colour_scale(names: list[str]) -> alt.Scale:
    """Fixed colours for known series, in the order given; unknown names get the default scheme."""
    known = [name for name in names if name in SERIES_COLOURS]
    if len(known) != len(names):
        return alt.Scale(domain=names)
    return alt.Scale(domain=names, range=[SERIES_COLOURS[name] for name in names])


def _series_order(values: pd.Series, preferred: tuple[str, ...]) -> list[str]:
    """Series names present in ``values``: preferred ones first in that order, then the rest sorted."""
    present = set(values.dropna().astype(str))
    return [name for name in preferred if name in present] + sorted(present - set(preferred))


def _horizontal_rule(value: float = 0.0) -> alt.Chart:
    """A reference line at y = ``value`` (0 for spreads, 1.0 for a relative-strength line)."""
    return alt.Chart(pd.DataFrame({"y": [value]})).mark_rule(color="#444", strokeWidth=1).encode(y="y:Q")


def _vertical_zero() -> alt.Chart:
    """The zero line of a horizontal bar chart of signed values."""
    return alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(color="#444").encode(x="x:Q")


# --------------------------------------------------------------------------- market internals


def breadth_chart(breadth: pd.DataFrame, demo: bool = False) -> Chart:
    """Share of constituents above their 50- and 200-day SMA through time (0-100%).

    ``breadth`` is :func:`screener.market.breadth_history` output; the new highs/lows
    series in it are left out (they are counts, not shares).
    """
    labels = {"above_sma_50": "Above 50-day SMA", "above_sma_200": "Above 200-day SMA"}
    data = breadth.loc[breadth["series"].isin(list(labels)), ["date", "series", "value"]].copy()
    data["series"] = data["series"].map(labels)
    lines = alt.Chart(data).mark_line(strokeWidth=2).encode(
        x=alt.X("date:T", title=None, axis=_MONTH_AXIS),
        y=alt.Y("value:Q", title="Share of constituents", scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format=_PERCENT)),
        color=alt.Color("series:N", title=None, legend=alt.Legend(orient="bottom"),
                        scale=alt.Scale(domain=list(labels.values()), range=[SMA_50_COLOUR, SMA_200_COLOUR])),
        tooltip=[_TOOLTIP_DATE, alt.Tooltip("series:N", title="Series"),
                 alt.Tooltip("value:Q", title="Share", format=_PERCENT_1)],
    )
    half = alt.Chart(pd.DataFrame({"y": [0.5]})).mark_rule(color="#999", strokeDash=[4, 4]).encode(y="y:Q")
    return alt.layer(half, lines).properties(
        title=_title("Breadth: share above 50- and 200-day SMA", demo), height=_HEIGHT)


def ratio_chart(ratio: pd.DataFrame, numerator: str = "IWM", denominator: str = "SPY",
                demo: bool = False) -> Chart:
    """The ``numerator/denominator`` close ratio with its SMA (dashed): small caps leading or lagging.

    ``ratio`` is :func:`screener.market.ratio_history` output (series ``ratio`` and ``sma_<n>``).
    """
    names = _series_order(ratio["series"], ("ratio",))
    sma_name = next((name for name in names if name.startswith("sma_")), "sma_200")
    labels = {"ratio": f"{numerator}/{denominator}", sma_name: f"{sma_name.removeprefix('sma_')}-day SMA"}
    data = ratio.loc[ratio["series"].isin(list(labels)), ["date", "series", "value"]].copy()
    data["series"] = data["series"].map(labels)
    domain = list(labels.values())
    chart = alt.Chart(data).mark_line(strokeWidth=2).encode(
        x=alt.X("date:T", title=None, axis=_MONTH_AXIS),
        y=alt.Y("value:Q", title=f"{numerator} / {denominator}", scale=alt.Scale(zero=False),
                axis=alt.Axis(format=".3f")),
        color=alt.Color("series:N", title=None, legend=alt.Legend(orient="bottom"),
                        scale=alt.Scale(domain=domain, range=[PRICE_COLOUR, SMA_200_COLOUR])),
        strokeDash=alt.StrokeDash("series:N", legend=None,
                                  scale=alt.Scale(domain=domain, range=[[1, 0], [6, 4]])),
        tooltip=[_TOOLTIP_DATE, alt.Tooltip("series:N", title="Series"),
                 alt.Tooltip("value:Q", title="Value", format=".4f")],
    )
    return chart.properties(
        title=_title(f"{numerator}/{denominator}: small caps versus large caps", demo,
                     "Rising = small caps outperforming"), height=_HEIGHT)


def sector_participation_chart(participation: pd.DataFrame, sma: int = 50, demo: bool = False) -> Chart:
    """Share of each sector's members above their ``sma``-day SMA, best sector on top.

    ``participation`` is :func:`screener.market.sector_participation` output; sectors
    without any member having an SMA (null share) are left out.
    """
    data = participation.loc[participation["share"].notna(), ["sector", "share", "above", "with_sma"]]
    bars = alt.Chart(data).mark_bar().encode(
        x=alt.X("share:Q", title=f"Share above {sma}-day SMA", scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format=_PERCENT)),
        y=alt.Y("sector:N", title=None, sort="-x", axis=_CATEGORY_AXIS),
        color=alt.Color("share:Q", legend=None,
                        scale=alt.Scale(scheme="redyellowgreen", domain=[0, 1])),
        tooltip=[alt.Tooltip("sector:N", title="Sector"),
                 alt.Tooltip("share:Q", title="Share above", format=_PERCENT_1),
                 alt.Tooltip("above:Q", title="Members above", format=","),
                 alt.Tooltip("with_sma:Q", title="Members with an SMA", format=",")],
    )
    half = alt.Chart(pd.DataFrame({"x": [0.5]})).mark_rule(color="#444", strokeDash=[4, 4]).encode(x="x:Q")
    return alt.layer(bars, half).properties(
        title=_title(f"Sector participation: share above {sma}-day SMA", demo), height=_bar_height(len(data)))


def spread_chart(spread: pd.DataFrame, title: str, demo: bool = False) -> Chart:
    """One spread line (long minus short cumulative return) with a zero rule.

    ``spread`` is :func:`screener.market.spread` output (one series, e.g. "quality - junk").
    """
    data = spread[["date", "series", "value"]]
    series = _series_order(data["series"], ())
    line = alt.Chart(data).mark_line(strokeWidth=2, color=QUALITY_GREEN).encode(
        x=alt.X("date:T", title=None, axis=_MONTH_AXIS),
        y=alt.Y("value:Q", title="Spread (percentage points)", axis=alt.Axis(format=_PERCENT)),
        tooltip=[_TOOLTIP_DATE, alt.Tooltip("series:N", title="Spread"),
                 alt.Tooltip("value:Q", title="Value", format="+.1%")],
    )
    area = alt.Chart(data).mark_area(opacity=0.15, color=QUALITY_GREEN).encode(x="date:T", y="value:Q")
    subtitle = f"{series[0]}; above zero = the first leads" if series else None
    return alt.layer(area, line, _horizontal_rule()).properties(title=_title(title, demo, subtitle), height=_HEIGHT)


# --------------------------------------------------------------------------- quality vs junk


def cumulative_returns_chart(returns: pd.DataFrame, title: str, demo: bool = False) -> Chart:
    """Cumulative equal-weighted returns of each group from the window's base session, with IWM dashed.

    ``returns`` is :func:`screener.market.bucket_returns` output.
    """
    data = returns[["date", "series", "value"]]
    order = _series_order(data["series"], (*BUCKET_ORDER, "profitable", "unprofitable", "IWM"))
    lines = alt.Chart(data).mark_line(strokeWidth=2).encode(
        x=alt.X("date:T", title=None, axis=alt.Axis(format="%b %d")),
        y=alt.Y("value:Q", title="Cumulative return", axis=alt.Axis(format=_PERCENT)),
        color=alt.Color("series:N", title=None, legend=alt.Legend(orient="bottom"), scale=_colour_scale(order)),
        strokeDash=alt.StrokeDash("series:N", legend=None, scale=alt.Scale(
            domain=order, range=[[6, 4] if name == "IWM" else [1, 0] for name in order])),
        tooltip=[_TOOLTIP_DATE, alt.Tooltip("series:N", title="Basket"),
                 alt.Tooltip("value:Q", title="Cumulative return", format="+.1%")],
    )
    return alt.layer(_horizontal_rule(), lines).properties(title=_title(title, demo), height=_HEIGHT)


def spread_by_sector_chart(by_sector: pd.DataFrame, demo: bool = False) -> Chart:
    """Quality minus junk return per sector over the window; green where quality led.

    ``by_sector`` is :func:`screener.market.spread_by_sector` output; sectors lacking
    quality or junk members (null spread) are left out.
    """
    data = by_sector.loc[by_sector["spread"].notna()].copy()
    data["leader"] = data["spread"].map(lambda value: "quality led" if value >= 0 else "junk led")
    bars = alt.Chart(data).mark_bar().encode(
        x=alt.X("spread:Q", title="Quality minus junk (percentage points)", axis=alt.Axis(format=_PERCENT)),
        y=alt.Y("sector:N", title=None, sort="-x", axis=_CATEGORY_AXIS),
        color=alt.Color("leader:N", title=None, legend=alt.Legend(orient="bottom"),
                        scale=alt.Scale(domain=["quality led", "junk led"], range=[QUALITY_GREEN, JUNK_RED])),
        tooltip=[alt.Tooltip("sector:N", title="Sector"),
                 alt.Tooltip("spread:Q", title="Spread", format="+.1%"),
                 alt.Tooltip("quality_return:Q", title="Quality return", format="+.1%"),
                 alt.Tooltip("junk_return:Q", title="Junk return", format="+.1%"),
                 alt.Tooltip("quality_members:Q", title="Quality members"),
                 alt.Tooltip("junk_members:Q", title="Junk members")],
    )
    return alt.layer(bars, _vertical_zero()).properties(
        title=_title("Quality minus junk by sector", demo), height=_bar_height(len(data)))


def quality_scatter(stocks: pd.DataFrame, demo: bool = False) -> Chart:
    """Quality score against 6-month return, one point per stock coloured by bucket, with a fit line.

    Stocks lacking either value are left out (the chart says how many are shown).  Small
    caps hold a few +500% names that would flatten everyone else into a line, so the
    y axis spans the 1st to 99th percentile of returns and the outliers are pinned to
    its edge (their tooltips keep the true value).
    """
    columns = ["ticker", "name", "sector", "quality_bucket", "quality_score", "return_6m"]
    data = stocks[columns].dropna(subset=["quality_score", "return_6m"]).copy()
    data["quality_bucket"] = data["quality_bucket"].astype("object").fillna("unbucketed")
    order = _series_order(data["quality_bucket"], (*BUCKET_ORDER, "unbucketed"))
    low, high = (data["return_6m"].quantile(q) for q in SCATTER_CLIP_QUANTILES) if len(data) else (0.0, 0.0)
    pinned = int(((data["return_6m"] < low) | (data["return_6m"] > high)).sum())
    y_scale = alt.Scale(domain=[float(low), float(high)], clamp=True) if high > low else alt.Scale()
    points = alt.Chart(data).mark_circle(size=28, opacity=0.6).encode(
        x=alt.X("quality_score:Q", title="Quality score (z)"),
        y=alt.Y("return_6m:Q", title="Return 6m", axis=alt.Axis(format=_PERCENT), scale=y_scale),
        color=alt.Color("quality_bucket:N", title="Bucket", scale=_colour_scale(order),
                        legend=alt.Legend(orient="bottom")),
        tooltip=[alt.Tooltip("ticker:N", title="Ticker"), alt.Tooltip("name:N", title="Name"),
                 alt.Tooltip("sector:N", title="Sector"), alt.Tooltip("quality_bucket:N", title="Bucket"),
                 alt.Tooltip("quality_score:Q", title="Quality score", format=".2f"),
                 alt.Tooltip("return_6m:Q", title="Return 6m", format="+.1%")],
    )
    fit = alt.Chart(data).transform_regression("quality_score", "return_6m").mark_line(
        color="#222", strokeDash=[6, 3]).encode(x="quality_score:Q", y="return_6m:Q")
    return alt.layer(points, fit).properties(
        title=_title("Quality score against 6-month return", demo,
                     f"{len(data):,} stocks with both values; dashed line = least-squares fit"
                     + (f"; {pinned:,} outliers pinned to the edge" if pinned else "")),
        height=_HEIGHT + 80)


def bucket_sector_chart(stocks: pd.DataFrame, demo: bool = False) -> Chart:
    """Where each bucket's members sit: per sector, the share of each bucket's members in it.

    Shares are normalised within each bucket (a bucket's bars add up to 100%), so buckets
    of different sizes compare directly: "junk is 30% biotech, quality 10%".
    """
    table = sector_mix(stocks)
    bars = alt.Chart(table).mark_bar().encode(
        x=alt.X("share:Q", title="Share of the bucket's members", axis=alt.Axis(format=_PERCENT)),
        y=alt.Y("sector:N", title=None, sort=alt.EncodingSortField("members", op="sum", order="descending"),
                axis=_CATEGORY_AXIS),
        yOffset=alt.YOffset("quality_bucket:N", sort=list(BUCKET_ORDER)),
        color=alt.Color("quality_bucket:N", title="Bucket", scale=_colour_scale(list(BUCKET_ORDER)),
                        legend=alt.Legend(orient="bottom")),
        tooltip=[alt.Tooltip("sector:N", title="Sector"), alt.Tooltip("quality_bucket:N", title="Bucket"),
                 alt.Tooltip("members:Q", title="Members"),
                 alt.Tooltip("share:Q", title="Share of bucket", format=_PERCENT_1)],
    )
    return bars.properties(title=_title("Bucket members by sector", demo, "Each bucket's bars add up to 100%"),
                           height=max(_HEIGHT, _FRAME + 12 * len(BUCKET_ORDER) * table["sector"].nunique()))


def sector_mix(stocks: pd.DataFrame) -> pd.DataFrame:
    """Members and share of each bucket's members per (sector, bucket); unbucketed stocks left out."""
    data = stocks.loc[stocks["quality_bucket"].notna() & stocks["sector"].notna(), ["sector", "quality_bucket"]]
    data = data.astype({"sector": "object", "quality_bucket": "object"})
    counts = data.groupby(["sector", "quality_bucket"]).size().rename("members").reset_index()
    counts["share"] = counts["members"] / counts.groupby("quality_bucket")["members"].transform("sum")
    return counts


# --------------------------------------------------------------------------- one stock


def price_chart(history: pd.DataFrame, ticker: str, demo: bool = False) -> Chart:
    """Close with its 50- and 200-day SMAs (``history`` from :func:`screener.market.stock_history`)."""
    labels = {"close": "Close", "sma_50": "SMA 50", "sma_200": "SMA 200"}
    data = history[["date", *labels]].melt(id_vars="date", var_name="series", value_name="value")
    data["series"] = data["series"].map(labels)
    data = data.dropna(subset=["value"])
    chart = alt.Chart(data).mark_line().encode(
        x=alt.X("date:T", title=None, axis=_MONTH_AXIS),
        y=alt.Y("value:Q", title="Price ($)", scale=alt.Scale(zero=False), axis=alt.Axis(format="$,.2f")),
        color=alt.Color("series:N", title=None, legend=alt.Legend(orient="bottom"),
                        scale=alt.Scale(domain=list(labels.values()),
                                        range=[PRICE_COLOUR, SMA_50_COLOUR, SMA_200_COLOUR])),
        strokeWidth=alt.StrokeWidth("series:N", legend=None,
                                    scale=alt.Scale(domain=list(labels.values()), range=[2, 1.5, 1.5])),
        tooltip=[_TOOLTIP_DATE, alt.Tooltip("series:N", title="Series"),
                 alt.Tooltip("value:Q", title="Value", format="$,.2f")],
    )
    return chart.properties(title=_title(f"{ticker}: price with 50- and 200-day SMA", demo), height=_HEIGHT)


def volume_chart(history: pd.DataFrame, demo: bool = False) -> Chart:
    """Daily volume bars (surges of 2x the 50-day average and more in red) with the average as a line.

    One surge of 50x the average would flatten every other bar, so the y axis stops at
    :data:`VOLUME_AXIS_HEADROOM` times the 98th percentile of volume and taller bars are
    cut at the top (their tooltips keep the true value; the subtitle says how many).
    """
    data = history[["date", "volume", "avg_volume_50d", "volume_surge", "surge"]].copy()
    data["kind"] = data["surge"].astype("boolean").fillna(False).map(
        {True: "surge (≥ 2× average)", False: "normal"})
    volumes = data["volume"].dropna()
    ceiling = float(volumes.quantile(0.98)) * VOLUME_AXIS_HEADROOM if len(volumes) else 0.0
    cut = int((volumes > ceiling).sum()) if ceiling > 0 else 0
    y_scale = alt.Scale(domain=[0, ceiling], clamp=True) if cut else alt.Scale()
    bars = alt.Chart(data).mark_bar().encode(
        x=alt.X("date:T", title=None, axis=_MONTH_AXIS),
        y=alt.Y("volume:Q", title="Shares traded", axis=alt.Axis(format="~s"), scale=y_scale),
        color=alt.Color("kind:N", title=None, legend=alt.Legend(orient="bottom"),
                        scale=alt.Scale(domain=["normal", "surge (≥ 2× average)"], range=[NEUTRAL_GREY, JUNK_RED])),
        tooltip=[_TOOLTIP_DATE, alt.Tooltip("volume:Q", title="Volume", format=","),
                 alt.Tooltip("avg_volume_50d:Q", title="50-day average", format=",.0f"),
                 alt.Tooltip("volume_surge:Q", title="Surge", format=".2f")],
    )
    average = alt.Chart(data).mark_line(color="#222", strokeWidth=1.5).encode(
        x="date:T", y=alt.Y("avg_volume_50d:Q", scale=y_scale))
    subtitle = f"{cut} day(s) above the axis are cut at the top" if cut else None
    return alt.layer(bars, average).properties(
        title=_title("Volume with its 50-day average (line)", demo, subtitle), height=_SMALL_HEIGHT)


def rs_line_chart(history: pd.DataFrame, benchmark: str = "IWM", demo: bool = False) -> Chart:
    """The stock's close relative to the benchmark, 1.0 at the window's start; above 1 = outperforming."""
    data = history[["date", "rs_line"]].dropna()
    line = alt.Chart(data).mark_line(strokeWidth=2, color=PRICE_COLOUR).encode(
        x=alt.X("date:T", title=None, axis=_MONTH_AXIS),
        y=alt.Y("rs_line:Q", title=f"Relative to {benchmark}", scale=alt.Scale(zero=False),
                axis=alt.Axis(format=".2f")),
        tooltip=[_TOOLTIP_DATE, alt.Tooltip("rs_line:Q", title=f"Relative to {benchmark}", format=".3f")],
    )
    return alt.layer(_horizontal_rule(1.0), line).properties(
        title=_title(f"Relative strength against {benchmark}", demo, "1.0 = start of the window; rising = outperforming"),
        height=_SMALL_HEIGHT)


def quality_components_chart(components: pd.DataFrame, demo: bool = False) -> Chart:
    """One bar per quality component z-score (``component``, ``label``, ``value``), green above 0.

    Components without a value are left out.
    """
    data = components.loc[components["value"].notna(), ["component", "label", "value"]].copy()
    data["side"] = data["value"].map(lambda value: "above average" if value >= 0 else "below average")
    bars = alt.Chart(data).mark_bar().encode(
        x=alt.X("value:Q", title="z-score (0 = universe average)"),
        y=alt.Y("label:N", title=None, sort=list(data["label"])),
        color=alt.Color("side:N", legend=None,
                        scale=alt.Scale(domain=["above average", "below average"], range=[QUALITY_GREEN, JUNK_RED])),
        tooltip=[alt.Tooltip("label:N", title="Component"), alt.Tooltip("value:Q", title="z", format="+.2f")],
    )
    return alt.layer(bars, _vertical_zero()).properties(title=_title("Quality components", demo), height=220)


# --------------------------------------------------------------------------- snapshot history


def snapshot_history_chart(history: pd.DataFrame, demo: bool = False) -> Chart:
    """Stocks per bucket in each stored snapshot (``history`` from :func:`screener.db.history`)."""
    buckets = [*BUCKET_ORDER, "unbucketed"]
    data = history[["date", *buckets]].melt(id_vars="date", var_name="bucket", value_name="stocks")
    data["snapshot"] = pd.to_datetime(data["date"]).dt.strftime("%Y-%m-%d")
    data = data.drop(columns="date")
    bars = alt.Chart(data).mark_bar().encode(
        x=alt.X("snapshot:O", title="Snapshot", axis=alt.Axis(labelAngle=-45)),
        y=alt.Y("stocks:Q", title="Stocks", stack=True),
        color=alt.Color("bucket:N", title="Bucket", scale=_colour_scale(buckets), legend=alt.Legend(orient="bottom")),
        order=alt.Order("bucket_rank:Q"),
        tooltip=[alt.Tooltip("snapshot:O", title="Snapshot"),
                 alt.Tooltip("bucket:N", title="Bucket"), alt.Tooltip("stocks:Q", title="Stocks", format=",")],
    ).transform_calculate(bucket_rank=f"indexof({buckets!r}, datum.bucket)")
    return bars.properties(title=_title("Stocks per quality bucket in each snapshot", demo), height=_HEIGHT)
