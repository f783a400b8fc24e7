"""Stock: one company's price, volume and relative strength, every field with its percentile, quality, insiders."""

import streamlit as st

from screener import charts
from screener.fields import field
from screener.links import yahoo_url
from screener.ui import data_cache
from screener.ui.common import load_stocks, page_setup
from screener.ui.market_render import no_prices_note, show_chart, stop_if_no_stocks
from screener.ui.text import escape_markdown
from screener.ui.stock_picker import pick_ticker
from screener.ui.stock_view import (
    component_inputs, day_change, field_table, format_value, is_missing, quality_components, stock_row,
    ticker_labels,
)

BUCKET_BADGES = {"quality": ("Quality bucket", "green"), "middle": ("Middle bucket", "gray"),
                 "junk": ("Junk bucket", "red")}
ROW_PIXELS = 35  # st.dataframe's row height: tables sized to show every field without scrolling
CHART_RANGES = {"3m": "3m", "6m": "6m", "1y": "1y", "all": "All"}

context = page_setup("Stock", ":material/candlestick_chart:")
stocks = load_stocks(context)
stop_if_no_stocks(context, len(stocks))
demo = context.snapshot.is_demo

ticker = pick_ticker(ticker_labels(stocks), f"{context.snapshot.date:%Y-%m-%d}")
if ticker is None:
    st.info("Pick a stock above, or open one from the Overview or Screener tables.", icon=":material/search:")
    st.stop()

row = stock_row(stocks, ticker)
header = st.container()  # filled once the chart range (below it) has chosen the history

# --- charts ------------------------------------------------------------------------------
history = None
if data_cache.has_prices(context):
    chart_range = st.segmented_control("Chart range", list(CHART_RANGES), format_func=CHART_RANGES.get,
                                       default="1y", required=True, key="range", bind="query-params")
    history = data_cache.stock_history(context, ticker, None if chart_range == "all" else chart_range)
if history is None:
    no_prices_note(context, "The price, volume and relative-strength charts")
elif history.empty:
    st.info(f"No price history for {ticker} in this snapshot: the source had no usable closes for it.",
            icon=":material/info:")
else:
    show_chart(charts.price_chart(history, ticker, demo=demo))
    left, right = st.columns(2)
    with left:
        show_chart(charts.volume_chart(history, demo=demo))
    with right:
        show_chart(charts.rs_line_chart(history, demo=demo))

# --- header ------------------------------------------------------------------------------
with header:
    # Names come from the data source: shown literally, never as Markdown.
    st.header(escape_markdown(f"{ticker} · {format_value(field('name'), row['name'])}"))
    with st.container(horizontal=True):
        st.badge(escape_markdown(format_value(field("sector"), row["sector"])), icon=":material/category:",
                 color="blue")
        st.badge(escape_markdown(format_value(field("industry"), row["industry"])), color="gray")
        label, colour = BUCKET_BADGES.get(row["quality_bucket"], ("Not scored", "gray"))
        st.badge(label, icon=":material/workspace_premium:", color=colour)
        if not is_missing(row["stale"]) and bool(row["stale"]):
            st.badge("Stale fundamentals", icon=":material/history:", color="orange")
        if demo:
            st.badge("DEMO data", icon=":material/science:", color="orange")
        st.link_button("Yahoo Finance", yahoo_url(ticker), icon=":material/open_in_new:", type="tertiary")
    one_day = day_change(history)
    facts = st.columns(5)
    facts[0].metric("Close", format_value(field("close"), row["close"]),
                    None if one_day is None else f"{one_day:+.2%} 1d", border=True)
    for column, name in zip(facts[1:], ("return_1m", "return_6m", "rs_rating", "quality_score")):
        column.metric(field(name).label, format_value(field(name), row[name]), border=True, help=field(name).help)

# --- quality and insiders ---------------------------------------------------------------
left, right = st.columns(2)
with left:
    st.subheader("Quality")
    show_chart(charts.quality_components_chart(quality_components(row), demo=demo))
    inputs = component_inputs()
    parts = field_table(stocks, ticker, names=[name for names in inputs.values() for name in names])
    parts.insert(0, "component", parts["field"].map(
        {name: field(component).label for component, names in inputs.items() for name in names}))
    st.dataframe(parts[["component", "label", "value", "better_than"]], hide_index=True, column_config={
        "component": "Component", "label": "Input", "value": "Value",
        "better_than": st.column_config.ProgressColumn("Better than", format="percent", color="auto",
                                                       help="Share of the universe this value beats"),
    })
with right:
    st.subheader("Insider activity")
    insiders = st.columns(2)
    for index, name in enumerate(("insider_buys_6m", "insider_sells_6m", "insider_net_shares_6m",
                                  "insider_net_pct_6m", "insider_buying", "insider_pct_held")):
        insiders[index % 2].metric(field(name).label, format_value(field(name), row[name]), help=field(name).help)
    st.caption("Yahoo Finance's six-month insider summary (yfinance `insider_purchases`): counts of purchase "
               "and sale transactions and net shares as Yahoo reports them, not individual filings. "
               "Insider buying = net shares bought over six months > 0.")

# --- every field -------------------------------------------------------------------------
st.subheader("Every field, with its place in the universe")
st.caption(f"Percentile = share of the {len(stocks):,} stocks with a value for the field whose value is "
           "strictly lower (ties are not lower; stocks without a value are left out). Better than = the "
           "same, turned so that higher is better (green above 50%), for fields where one direction is "
           "better; empty for neutral fields such as price or volume.")
table = field_table(stocks, ticker)
for group, rows in table.groupby("group", sort=False):
    st.markdown(f"**{group}**")
    st.dataframe(rows[["label", "value", "percentile", "better_than", "help"]], hide_index=True,
                 height=ROW_PIXELS * (len(rows) + 1) + 3, column_config={
        "label": st.column_config.TextColumn("Field", width=170),
        "value": st.column_config.TextColumn("Value", width=190),
        "percentile": st.column_config.ProgressColumn("Percentile", format="percent", width=170),
        "better_than": st.column_config.ProgressColumn("Better than", format="percent", color="auto", width=170),
        "help": st.column_config.TextColumn("About"),
    })
