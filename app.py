"""Overview: the small-cap watch list (breadth, IWM/SPY, sectors, quality minus junk, movers)."""

import streamlit as st

from screener import charts
from screener.ui import data_cache, market_overview
from screener.ui.common import load_stocks, page_setup
from screener.ui.market_render import no_prices_note, show_chart, stop_if_no_stocks

context = page_setup("Overview", ":material/monitoring:")
stocks = load_stocks(context)
stop_if_no_stocks(context, len(stocks))
demo = context.snapshot.is_demo

breadth = data_cache.breadth(context)
ratio = data_cache.iwm_spy_ratio(context)
qmj_3m = data_cache.divergence(context, "quality_bucket", "3m")
qmj_1y = data_cache.divergence(context, "quality_bucket", "1y")

st.caption(f"Russell 2000 internals on {context.snapshot.date:%A %d %B %Y}, {len(stocks):,} constituents.")
tiles = market_overview.overview_tiles(stocks, breadth, ratio, qmj_3m.spread if qmj_3m else None)
for column, tile in zip(st.columns(len(tiles)), tiles):
    column.metric(tile.label, tile.value, tile.delta, help=tile.help, border=True, delta_color=tile.delta_color,
                  delta_arrow="off" if tile.delta_color == "off" else "auto",
                  chart_data=list(tile.sparkline) or None, chart_type="area")

if breadth is None or ratio is None or qmj_1y is None:
    no_prices_note(context, "The breadth, IWM/SPY and quality-minus-junk histories")
else:
    left, right = st.columns(2)
    with left:
        show_chart(charts.breadth_chart(breadth, demo=demo))
    with right:
        show_chart(charts.ratio_chart(ratio, demo=demo))
    left, right = st.columns(2)
    with left:
        show_chart(charts.sector_participation_chart(data_cache.sector_participation(context), demo=demo))
    with right:
        if qmj_1y.spread is None:
            st.info("No quality-minus-junk spread: the snapshot has no quality or no junk bucket.")
        else:
            show_chart(charts.spread_chart(qmj_1y.spread, "Quality minus junk, one year", demo=demo))
            st.page_link("pages/2_Quality_vs_Junk.py", label="Quality vs Junk in detail",
                         icon=":material/compare_arrows:")

# Both watch tables start with the same link, name and bucket columns.
shared_columns = {
    "link": st.column_config.LinkColumn("Stock", display_text=r"ticker=([^&]+)", width=60,
                                        help="Open the stock's page"),
    "name": st.column_config.TextColumn("Name", width=170),
    "quality_bucket": st.column_config.TextColumn("Bucket", width=70),
}
left, right = st.columns(2)
with left:
    st.subheader("Biggest volume surges today")
    st.dataframe(market_overview.volume_surges(stocks), hide_index=True, column_config={
        **shared_columns,
        "volume_surge": st.column_config.NumberColumn("Surge", format="%.1f×", help="Volume / 50-day average"),
        "volume": st.column_config.NumberColumn("Volume", format="compact"),
        "return_1m": st.column_config.NumberColumn("Return 1m", format="percent"),
    })
with right:
    st.subheader("Strongest relative strength")
    st.dataframe(market_overview.strongest_rs(stocks), hide_index=True, column_config={
        **shared_columns,
        "rs_rating": st.column_config.NumberColumn("RS rating", format="%d", help="1-99 across the universe"),
        "rs_6m": st.column_config.NumberColumn("RS vs IWM 6m", format="percent"),
        "return_6m": st.column_config.NumberColumn("Return 6m", format="percent"),
    })
if demo:
    st.caption("DEMO market: synthetic data, not real prices.")
