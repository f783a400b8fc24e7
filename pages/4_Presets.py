"""Presets: the built-in and saved screens; open, rename, delete, export and import them."""

from screener.ui.common import page_setup
from screener.ui.presets_view import render_presets_page

render_presets_page(page_setup("Presets", ":material/bookmarks:"))
