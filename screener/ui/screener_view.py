"""The Screener page, top to bottom: link notes, preset bar, filters, results.

``pages/1_Screener.py`` only calls :func:`render_screener_page`.  One run reads the
Screen (``screener_state``), writes it back to the URL, draws widgets that mirror it,
runs it once on the snapshot's DuckDB (rows + count + funnel) and draws the results.
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import streamlit as st

from screener.db import run_screen
from screener.screen import Screen
from screener.ui.common import PageContext, load_stocks
from screener.ui.preset_access import session_preset_store
from screener.ui.screener_facts import SnapshotFacts, snapshot_facts
from screener.ui.screener_filters import render_add_filter, render_filter_rows, render_pickers
from screener.ui.screener_link import export_stem, preset_of
from screener.ui.screener_presetbar import render_preset_bar
from screener.ui.screener_results import render_results
from screener.ui.screener_state import current_screen, pop_flash, write_url
from screener.ui.text import escape_markdown


@st.cache_resource(max_entries=2, show_spinner=False)
def _facts(key: str, _stocks: pd.DataFrame) -> SnapshotFacts:
    """Per snapshot (``key`` changes when a new one is published), shared by all sessions."""
    return snapshot_facts(_stocks)


def runnable_screen(screen: Screen, present: set[str]) -> tuple[Screen, list[str]]:
    """The screen without the fields an older snapshot lacks, and those fields' names.

    A link or preset may name a column added after this snapshot was written; DuckDB
    would refuse the whole query, so those parts are left out and said so.
    """
    used = {f.field for f in screen.filters} | {k.field for k in screen.sort} | set(screen.shown_columns())
    missing = sorted(used - present)
    if not missing:
        return screen, []
    reduced = dataclasses.replace(
        screen, filters=tuple(f for f in screen.filters if f.field in present),
        sort=tuple(k for k in screen.sort if k.field in present),
        columns=tuple(c for c in screen.shown_columns() if c in present))
    return reduced, missing


def _link_notes(notes: list[str]) -> None:
    if not notes:
        return
    st.warning(f"The link had {len(notes)} problem(s). Those parts were left out; the rest of the screen is "
               "shown below.", icon=":material/link_off:")
    with st.expander("What was left out"):
        st.markdown("\n".join(f"- {escape_markdown(note)}" for note in notes))


def render_screener_page(context: PageContext) -> None:
    store = session_preset_store(context.data_dir)
    listing = store.list_presets()
    screen, notes = current_screen(store)
    write_url(screen)
    pop_flash()
    _link_notes(notes)
    preset = preset_of(screen, listing)
    render_preset_bar(screen, listing, preset, store)
    stocks = load_stocks(context)
    facts = _facts(context.key, stocks)
    render_pickers(screen, facts)
    render_filter_rows(screen)
    render_add_filter(facts, context.snapshot.date)
    st.divider()
    runnable, missing = runnable_screen(screen, set(stocks.columns))
    if missing:
        st.warning(escape_markdown(f"This snapshot has no {', '.join(missing)} column(s); filters, sort keys and "
                                   "columns on them are left out."), icon=":material/warning:")
    result = run_screen(context.db, runnable)
    render_results(runnable, result, export_stem(screen, preset, context.snapshot.is_demo),
                   preset.name if preset else "Screen", context.snapshot.date, context.snapshot.is_demo)
