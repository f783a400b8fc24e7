"""The Stock page's ticker: read from ``?ticker=``, validated, picked, and kept in the URL.

The URL is the source of truth so a link (``/Stock?ticker=ABCD`` from the Overview or
the Screener) opens that stock and the address bar can be shared.  Streamlit clears
query parameters when the sidebar switches pages, so the last ticker shown is also kept
in ``st.session_state`` and restored when the user comes back without one.  A
parameter that names no stock of the snapshot never raises: the page says so (quoting
it inertly) and offers the picker.
"""

from __future__ import annotations

import streamlit as st

from screener.ui.stock_view import TICKER_PARAM, quoted_safely, resolve_ticker

PICKER_KEY = "stock_picker"
LAST_TICKER_KEY = "stock_last_ticker"


def _write_choice_to_url() -> None:
    """on_change of the picker: the new choice goes to the URL before the rerun reads it."""
    choice = st.session_state.get(PICKER_KEY)
    if choice:
        st.query_params[TICKER_PARAM] = choice
        st.session_state[LAST_TICKER_KEY] = choice
    elif TICKER_PARAM in st.query_params:
        del st.query_params[TICKER_PARAM]


def pick_ticker(labels: dict[str, str], snapshot_label: str) -> str | None:
    """Render the note (if any) and the searchable picker; return the chosen snapshot ticker or None.

    ``labels`` maps every ticker of the snapshot to "TICKER - Name".
    """
    raw = st.query_params.get(TICKER_PARAM)
    ticker = resolve_ticker(raw, labels)
    if raw is not None and ticker is None:
        st.warning(f"No stock `{quoted_safely(raw)}` in snapshot {snapshot_label}. Pick one below.",
                   icon=":material/search_off:")
        st.session_state[PICKER_KEY] = None
    elif raw is None:
        remembered = st.session_state.get(LAST_TICKER_KEY)
        ticker = remembered if remembered in labels else None
    if ticker is not None:
        st.session_state[PICKER_KEY] = ticker
        st.session_state[LAST_TICKER_KEY] = ticker
        if st.query_params.get(TICKER_PARAM) != ticker:
            st.query_params[TICKER_PARAM] = ticker
    return st.selectbox("Stock", list(labels), index=None, format_func=labels.get, key=PICKER_KEY,
                        placeholder="Type a ticker or a company name", on_change=_write_choice_to_url,
                        help="Search by ticker or name; the page address keeps the ticker so it can be shared.")
