"""Quality vs Junk: how the quality and junk baskets (or profitable and unprofitable) have moved."""

import streamlit as st

from screener import charts
from screener.ui import data_cache
from screener.ui.common import load_stocks, page_setup
from screener.ui.market_divergence import (
    BASKET_MODES, DEFAULT_WINDOW, LENSES, WINDOW_LABELS, basket_members, basket_tiles, baskets_note,
    history_hint, point_in_time_note,
)
from screener.ui.market_render import no_prices_note, show_chart, stop_if_no_stocks

context = page_setup("Quality vs Junk", ":material/compare_arrows:")
stocks = load_stocks(context)
stop_if_no_stocks(context, len(stocks))
demo = context.snapshot.is_demo

left, middle, right = st.columns([5, 4, 4])
window = left.segmented_control("Window", list(WINDOW_LABELS), format_func=WINDOW_LABELS.get,
                                default=DEFAULT_WINDOW, required=True, key="window", bind="query-params")
lens = middle.segmented_control("Lens", list(LENSES), format_func=LENSES.get, default="quality_bucket",
                                required=True, key="lens", bind="query-params")
mode = right.segmented_control("Baskets", list(BASKET_MODES), format_func=BASKET_MODES.get, default="today",
                               required=True, key="baskets", bind="query-params",
                               help="Today's baskets applied to past prices, or point-in-time baskets: on each "
                                    "session those of the newest snapshot stored before it.")

divergence = None
if mode == "point_in_time":
    divergence = data_cache.point_in_time_divergence(context, lens, window)
    if divergence is None and data_cache.has_prices(context):
        st.info("Point-in-time baskets need a snapshot from an earlier evening of this source; none is stored "
                f"yet, so today's baskets are shown. To get them, {history_hint(demo)}.")
if divergence is None:
    divergence = data_cache.divergence(context, lens, window)
with st.container(border=True):
    st.markdown("**How the baskets are built**")
    if divergence is not None and divergence.point_in_time:
        st.markdown(point_in_time_note(lens, divergence.start, divergence.first_session, context.snapshot.date,
                                       divergence.snapshots))
    else:
        st.markdown(baskets_note(lens, divergence.start if divergence else None, context.snapshot.date,
                                 len(data_cache.basket_snapshots(context)), demo))

if divergence is None:
    no_prices_note(context, "The basket returns and the spread by sector")
    show_chart(charts.bucket_sector_chart(stocks, demo=demo))
else:
    titled = f"{WINDOW_LABELS[window]}{', point-in-time baskets' if divergence.point_in_time else ''}"
    tiles = basket_tiles(divergence.returns, divergence.spread, lens, basket_members(stocks, lens))
    for column, tile in zip(st.columns(len(tiles)), tiles):
        column.metric(tile.label, tile.value, tile.delta, help=tile.help, border=True,
                      delta_color=tile.delta_color, delta_arrow="off")
    left, right = st.columns(2)
    with left:
        show_chart(charts.cumulative_returns_chart(
            divergence.returns, f"Cumulative equal-weight return, {titled}", demo=demo))
    with right:
        if divergence.spread is None:
            st.info("No spread: one side of this split has no members in the snapshot.")
        else:
            show_chart(charts.spread_chart(divergence.spread, f"Spread, {titled}", demo=demo))
    left, right = st.columns(2)
    with left:
        show_chart(charts.spread_by_sector_chart(data_cache.sector_spread(context, window), demo=demo))
        if lens != "quality_bucket":
            st.caption("By sector the split is always quality versus junk buckets.")
    with right:
        show_chart(charts.bucket_sector_chart(stocks, demo=demo))
show_chart(charts.quality_scatter(stocks, demo=demo))
st.caption("The scatter uses each stock's own 6-month return (126 sessions), whatever the window above.")
