"""Data: stored snapshots, the last nightly run's report, how to refresh, and the field catalog."""

import json

import streamlit as st

from screener import charts, store
from screener.ui import data_cache
from screener.ui.common import page_setup, show_skipped
from screener.ui.data_view import (
    catalog_frame, failures_frame, refresh_commands, rejected_frame, run_tiles, snapshot_table, stale_tickers,
    timings_frame,
)
from screener.ui.market_render import show_chart
from screener.ui.text import escape_markdown

context = page_setup("Data", ":material/database:")
snapshots_tab, run_tab, refresh_tab, catalog_tab = st.tabs(["Snapshots", "Last run", "Refresh", "Field catalog"])

with snapshots_tab:
    good, skipped, counts = data_cache.snapshot_history(context.data_dir)
    st.caption(f"{len(good):,} good snapshot(s) in `{store.snapshots_dir(context.data_dir)}`. Only the newest "
               "few keep their price history (`prices.parquet`); every one keeps its stocks table.")
    for item in skipped:
        show_skipped(item)
    table = snapshot_table(good, counts)
    st.dataframe(table, hide_index=True, column_config={
        "date": st.column_config.DateColumn("Snapshot", format="YYYY-MM-DD"),
        "source": "Source", "stocks": "Stocks", "quality": "Quality", "middle": "Middle", "junk": "Junk",
        "unbucketed": st.column_config.NumberColumn("Unbucketed", help="No quality score (fewer than two components)"),
        "stale": st.column_config.NumberColumn("Stale", help="Stocks whose last refresh failed"),
        "prices": st.column_config.CheckboxColumn("Prices kept", help="prices.parquet still stored"),
        "published": "Published at (UTC)",
    })
    if len(counts):
        show_chart(charts.snapshot_history_chart(counts, demo=context.snapshot.is_demo))

with run_tab:
    run = store.read_last_run(context.data_dir)
    if run is None:
        run = context.snapshot.run
        st.caption(f"No `last_run.json` in `{context.data_dir}`: showing the report stored with snapshot "
                   f"{context.snapshot.date:%Y-%m-%d}.")
    status = run.get("status", "unknown")
    when = f"started {run.get('started_at', '?')}, finished {run.get('finished_at', '?')} (UTC)"
    if status == "published":
        st.success(f"**Published** snapshot {run.get('as_of', '?')} from source **{run.get('source', '?')}**; {when}.",
                   icon=":material/check_circle:")
    else:
        # Errors and notes may quote the source's data: shown literally, never as Markdown.
        error = escape_markdown(f"{run.get('error', 'no error recorded')} ({when})")
        st.error(f"**{escape_markdown(str(status).capitalize())}**: {error}. The app keeps showing snapshot "
                 f"{context.snapshot.date:%Y-%m-%d}.", icon=":material/error:")
    tiles = run_tiles(run)
    for column, tile in zip(st.columns(len(tiles)), tiles):
        column.metric(tile.label, tile.value, help=tile.help, border=True)

    left, right = st.columns(2)
    with left:
        st.markdown("**Failures by reason**")
        failures = failures_frame(run)
        if failures.empty:
            st.caption("No failures.")
        else:
            st.dataframe(failures, hide_index=True, column_config={
                "reason": "Reason", "tickers": "Tickers", "meaning": "Meaning",
                "examples": st.column_config.TextColumn("Which", width="large")})
        st.markdown("**Stale tickers** (fundamentals kept from the last good refresh)")
        st.caption(escape_markdown(stale_tickers(run)) or "None.")
    with right:
        st.markdown("**Timings**")
        st.dataframe(timings_frame(run), hide_index=True, column_config={
            "step": "Step", "seconds": st.column_config.NumberColumn("Seconds", format="%.2f")})
        st.markdown("**Notes**")
        for note in run.get("notes") or ["None."]:
            st.caption(escape_markdown(str(note)))

    for key, title in (("rejected_cells", "Rejected input cells"),
                       ("computed_out_of_range", "Computed values out of range (stored as null)")):
        section = run.get(key) or {}
        st.markdown(f"**{title}**: {section.get('total', 0):,}")
        by_column = rejected_frame(section)
        if not by_column.empty:
            st.dataframe(by_column, hide_index=True)
            st.code("\n".join(section.get("examples") or []), language=None)
    with st.expander("Source statistics and the whole report (JSON)"):
        st.json(run.get("stats") or {}, expanded=True)
        st.code(json.dumps(run, indent=2, default=str), language="json")

with refresh_tab:
    st.markdown("The nightly job is the only writer of snapshots; the app picks up a new one on its next rerun.")
    for command in refresh_commands(context.data_dir):
        st.markdown(f"**{command.title}**")
        st.code(command.command, language="bash")
        st.caption(command.note)

with catalog_tab:
    st.caption("Every column of `stocks.parquet`: the names the screener, presets, exports and the CLI use. "
               "% fields are stored as fractions (0.12 = 12%); a missing value is null, never 0. "
               "Better = the direction a quality-minded investor prefers.")
    catalog = catalog_frame().rename(columns={"name": "Name", "label": "Label", "group": "Group", "unit": "Unit",
                                              "better": "Better", "help": "Definition"})
    st.table(catalog, hide_index=True, border="horizontal")
