"""Small rendering pieces the Overview, Quality vs Junk, Stock and Data pages share.

They keep the pages thin and make the same situation read the same everywhere: a
snapshot without price history, a snapshot without stocks, a link to the Stock page.
"""

from __future__ import annotations

import streamlit as st

from screener.charts import Chart
from screener.ui.common import DEMO_COMMAND, LIVE_COMMAND, PageContext


def show_chart(chart: Chart) -> None:
    """An Altair chart at the container's width, in the app's theme."""
    st.altair_chart(chart, width="stretch")


def no_prices_note(context: PageContext, what: str) -> None:
    """Explain why ``what`` is missing: this snapshot keeps no price history, and how to get it back."""
    st.info(f"{what} cannot be shown without the snapshot's price history, and snapshot "
            f"{context.snapshot.date:%Y-%m-%d} has none (retention keeps `prices.parquet` only in the newest "
            "snapshots, or it was removed). "
            f"A fresh run writes it again: `{LIVE_COMMAND}` (live) or `{DEMO_COMMAND}` (demo).",
            icon=":material/info:")


def stop_if_no_stocks(context: PageContext, row_count: int) -> None:
    """A published snapshot with zero stocks has nothing to show: say so and stop the page."""
    if row_count:
        return
    st.warning(f"Snapshot {context.snapshot.date:%Y-%m-%d} holds no stocks. Build a new one: "
               f"`{LIVE_COMMAND}` (live) or `{DEMO_COMMAND}` (demo).", icon=":material/warning:")
    st.stop()

