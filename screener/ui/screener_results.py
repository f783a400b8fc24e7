"""The result half of the Screener page: count, sentence, funnel, view options, table, downloads.

The count is the match count before the row limit (``ScreenResult.count``), so the
headline never shrinks because fewer rows are shown.  Sort, columns and rows shown
are part of the Screen (they travel in the URL and in presets), so their widgets
mirror it like the filter widgets do.  Downloads are generated only when clicked
(``st.download_button`` with a callable), which keeps a rerun cheap.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from functools import partial

import streamlit as st

from screener.db import Funnel, ScreenResult
from screener.export import EXPORT_FORMATS, export_bytes, export_filename
from screener.fields import FIELD_BY_NAME, FIELD_NAMES
from screener.screen import MAX_LIMIT, Screen, ScreenError, SortKey, to_english
from screener.ui.screener_state import flash, screen_now, set_screen
from screener.ui.screener_table import column_config, display_frame
from screener.ui.screener_text import explain_empty, match_headline
from screener.ui.text import escape_markdown

_NO_SORT = ""
_DOWNLOAD_LABELS = {"csv": "CSV", "xlsx": "Excel", "parquet": "Parquet"}


def _label(name: str) -> str:
    return FIELD_BY_NAME[name].label if name in FIELD_BY_NAME else "Ticker (default)"


def _commit(screen: Screen, failure: str) -> None:
    try:
        set_screen(screen)
    except ScreenError as exc:
        flash("error", escape_markdown(f"{failure}: {exc}"))


# --- view options (part of the Screen) -----------------------------------------------------


def _apply_sort() -> None:
    screen = screen_now()
    name = st.session_state["scr.sort.field"]
    if name == _NO_SORT:
        _commit(dataclasses.replace(screen, sort=()), "Could not change the sort")
        return
    primary = SortKey(name, bool(st.session_state["scr.sort.desc"]))
    rest = tuple(key for key in screen.sort[1:] if key.field != name)
    _commit(dataclasses.replace(screen, sort=(primary, *rest)), "Could not change the sort")


def _apply_columns() -> None:
    screen = screen_now()
    chosen = tuple(st.session_state["scr.columns"])
    default = dataclasses.replace(screen, columns=()).shown_columns()[1:]
    columns = () if not chosen or chosen == default else chosen
    _commit(dataclasses.replace(screen, columns=columns), "Could not change the columns")


def _apply_limit() -> None:
    limit = st.session_state["scr.limit"]
    if limit is not None:
        _commit(dataclasses.replace(screen_now(), limit=int(limit)), "Could not change the rows shown")


def render_view_options(screen: Screen) -> None:
    """Sort field and direction, shown columns, rows shown."""
    sort_column, direction_column, columns_column, limit_column = st.columns(
        [2.2, 1.6, 6, 1.2], vertical_alignment="bottom")
    primary = screen.sort[0] if screen.sort else None
    st.session_state["scr.sort.field"] = primary.field if primary else _NO_SORT
    st.session_state["scr.sort.desc"] = primary.descending if primary else True
    sort_column.selectbox("Sort by", [_NO_SORT, *FIELD_NAMES], format_func=_label, key="scr.sort.field",
                          on_change=_apply_sort)
    direction_column.toggle("Highest first", key="scr.sort.desc", on_change=_apply_sort, disabled=primary is None)
    st.session_state["scr.columns"] = list(screen.shown_columns()[1:])
    columns_column.multiselect(
        "Columns", [n for n in FIELD_NAMES if n != "ticker"], format_func=_label, key="scr.columns",
        on_change=_apply_columns, help="Ticker always comes first. Leave empty for the defaults: name, sector, "
        "market cap and every field filtered or sorted on.")
    st.session_state["scr.limit"] = screen.limit
    limit_column.number_input("Rows", min_value=1, max_value=MAX_LIMIT, step=50, key="scr.limit",
                              on_change=_apply_limit)
    if len(screen.sort) > 1:
        then = ", then ".join(f"{_label(k.field)} ({'highest' if k.descending else 'lowest'} first)"
                              for k in screen.sort[1:])
        st.caption(escape_markdown(f"Then sorted by {then}."))


# --- funnel -------------------------------------------------------------------------------


def render_funnel(funnel: Funnel) -> None:
    """One row per filter in order: remaining, removed by the step, alone, only blocker."""
    st.dataframe(
        funnel.to_frame(), hide_index=True, width="stretch",
        column_config={
            "filter": st.column_config.TextColumn("Filter (in order)", width="large"),
            "remaining": st.column_config.ProgressColumn(
                "Remaining", min_value=0, max_value=max(funnel.total, 1), format="%d",
                help="Stocks passing this filter and every filter above it"),
            "removed": st.column_config.NumberColumn("Removed here", format="%d",
                                                     help="Stocks this step took out of what was left"),
            "removed_alone": st.column_config.NumberColumn(
                "Removed alone", format="%d", help="Stocks this filter removes from the whole universe on its own"),
            "only_blocker": st.column_config.NumberColumn(
                "Only blocker", format="%d",
                help="Stocks that pass every other filter and fail only this one: relaxing it alone brings them back"),
        })


# --- table and downloads --------------------------------------------------------------------


def render_table(result: ScreenResult) -> None:
    shown = display_frame(result.frame)
    st.dataframe(shown, hide_index=True, width="stretch", column_config=column_config(list(shown.columns)))


def render_downloads(result: ScreenResult, stem: str, sheet_name: str, snapshot_date: dt.date) -> None:
    """CSV / Excel / Parquet of the rows shown, built only when clicked."""
    for column, ext in zip(st.columns(len(EXPORT_FORMATS) + 3)[: len(EXPORT_FORMATS)], EXPORT_FORMATS):
        column.download_button(
            _DOWNLOAD_LABELS[ext], data=partial(export_bytes, result.frame, ext, sheet_name),
            file_name=export_filename(stem, snapshot_date, ext), mime=EXPORT_FORMATS[ext],
            key=f"scr.download.{ext}", on_click="ignore", icon=":material/download:")


def render_results(screen: Screen, result: ScreenResult, stem: str, sheet_name: str,
                   snapshot_date: dt.date, demo: bool) -> None:
    """Everything below the filters, in reading order."""
    st.subheader(match_headline(result.count, result.funnel.total))
    st.markdown(escape_markdown(to_english(screen)))
    explanation = explain_empty(result.funnel)
    if explanation:
        st.warning(escape_markdown(explanation), icon=":material/filter_alt_off:")
    if screen.filters:
        with st.expander("Funnel: what each filter removes", expanded=result.count == 0):
            render_funnel(result.funnel)
    render_view_options(screen)
    if result.frame.empty:
        return
    render_table(result)
    notes = []
    if result.count > len(result.frame):
        notes.append(f"Showing the first {len(result.frame):,} of {result.count:,} matches; raise Rows to see "
                     "more. Downloads hold the rows shown.")
    if demo:
        notes.append("DEMO market: synthetic data, not real prices.")
    if notes:
        st.caption(" ".join(notes))
    render_downloads(result, stem, sheet_name, snapshot_date)
    with st.expander("SQL behind this screen"):
        st.code(result.sql, language="sql")
        st.caption("Parameters, in order:")
        st.code(repr(result.params), language="python")
