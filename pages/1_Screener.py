"""Screener: filter the Russell 2000 snapshot, explain the count, share, save and download."""

from screener.ui.common import page_setup
from screener.ui.screener_view import render_screener_page

render_screener_page(page_setup("Screener", ":material/filter_alt:"))
