"""What every page shares: page setup, navigation, the snapshot badge, cached data access.

Pages call :func:`page_setup` first.  It renders our own sidebar navigation (the
``pages/`` auto-discovery would label the home page "app"), finds the newest good
snapshot, says which one is shown (date, demo or live, staleness, damaged newer
folders skipped), and stops the page with the command that fixes things when there is
no snapshot at all.

Caching: one :class:`SnapshotDB` and one prices frame per snapshot, shared by all
sessions (``st.cache_resource``: no per-session copies, which keeps 25 sessions small).
The cache key includes run.json's modification time, so a nightly run that replaces
today's folder is picked up on the next rerun without a restart, and ``max_entries``
lets the previous snapshot's memory go.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from screener import store
from screener.db import SnapshotDB
from screener.ui.deferred_downloads import keep_clicked_downloads
from screener.ui.text import escape_markdown

PAGES: tuple[tuple[str, str, str], ...] = (
    ("app.py", "Overview", ":material/monitoring:"),
    ("pages/1_Screener.py", "Screener", ":material/filter_alt:"),
    ("pages/2_Quality_vs_Junk.py", "Quality vs Junk", ":material/compare_arrows:"),
    ("pages/3_Stock.py", "Stock", ":material/candlestick_chart:"),
    ("pages/4_Presets.py", "Presets", ":material/bookmarks:"),
    ("pages/5_Data.py", "Data", ":material/database:"),
)

#: A snapshot older than this many weekdays is flagged as out of date.
STALE_AFTER_WEEKDAYS = 3

DEMO_COMMAND = "python -m screener nightly --source demo"
LIVE_COMMAND = "python -m screener nightly"


@dataclass(frozen=True)
class PageContext:
    """What a page works with: the data folder, the snapshot shown, and its database."""

    data_dir: Path
    snapshot: store.Snapshot
    skipped: tuple[store.SkippedSnapshot, ...]
    db: SnapshotDB

    @property
    def key(self) -> str:
        """Identifies this snapshot's content for caches keyed on it."""
        return snapshot_key(self.snapshot)


def snapshot_key(snapshot: store.Snapshot) -> str:
    run_file = snapshot.path / store.RUN_FILE
    try:
        stamp = run_file.stat().st_mtime_ns
    except OSError:
        stamp = 0
    return f"{snapshot.path}@{stamp}"


@st.cache_resource(max_entries=2, show_spinner=False)
def _open_db(key: str, _snapshot: store.Snapshot) -> SnapshotDB:
    return SnapshotDB(_snapshot)


@st.cache_resource(max_entries=2, show_spinner="Loading price history…")
def _prices(key: str, _snapshot: store.Snapshot) -> pd.DataFrame | None:
    path = _snapshot.prices_path
    if path is None:
        return None
    frame = pd.read_parquet(path)
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def load_prices(context: PageContext) -> pd.DataFrame | None:
    """The snapshot's long prices frame, shared across sessions: treat it as read-only."""
    return _prices(context.key, context.snapshot)


@st.cache_resource(max_entries=2, show_spinner=False)
def _stocks(key: str, _db: SnapshotDB) -> pd.DataFrame:
    cursor = _db.cursor()
    try:
        return cursor.execute("SELECT * FROM stocks ORDER BY ticker").df()
    finally:
        cursor.close()


def load_stocks(context: PageContext) -> pd.DataFrame:
    """The snapshot's stocks table as a frame, shared across sessions: treat it as read-only."""
    return _stocks(context.key, context.db)


def navigation() -> None:
    with st.sidebar:
        for path, label, icon in PAGES:
            st.page_link(path, label=label, icon=icon)
        st.divider()


def weekdays_between(start: dt.date, end: dt.date) -> int:
    return int(np.busday_count(start, end)) if end > start else 0


def snapshot_badge(snapshot: store.Snapshot, skipped: tuple[store.SkippedSnapshot, ...],
                   today: dt.date | None = None) -> None:
    """Say which snapshot the page shows; demo and out-of-date data are never silent."""
    today = today or dt.date.today()
    run = snapshot.run
    written = run.get("tickers_written")
    stale = run.get("stale_count", 0)
    with st.sidebar:
        if snapshot.is_demo:
            st.warning(f"**DEMO market** (synthetic, not real prices) · snapshot {snapshot.date:%Y-%m-%d}",
                       icon=":material/science:")
        else:
            st.success(f"**Live data** ({snapshot.source}) · snapshot {snapshot.date:%Y-%m-%d}",
                       icon=":material/cloud_done:")
        facts = [f"{written:,} stocks" if isinstance(written, int) else None,
                 f"{stale:,} with stale fundamentals" if stale else None]
        st.caption(" · ".join(f for f in facts if f))
        age = weekdays_between(snapshot.date, today)
        if age > STALE_AFTER_WEEKDAYS:
            st.warning(f"This snapshot is {age} weekdays old. Refresh with `{LIVE_COMMAND}`.",
                       icon=":material/schedule:")
        for item in skipped:
            show_skipped(item, f"Showing {snapshot.date:%Y-%m-%d} instead.")


def no_snapshot(data_dir: Path, skipped: tuple[store.SkippedSnapshot, ...]) -> None:
    """The empty state: explain, and give the command that fixes it."""
    st.info(f"No snapshot yet in `{data_dir}`. Build one, then reload this page:", icon=":material/info:")
    st.markdown("Offline, on the built-in **demo market** (synthetic data, a few seconds):")
    st.code(DEMO_COMMAND, language="bash")
    st.markdown("Live Russell 2000 data from Yahoo Finance (needs internet, takes a while):")
    st.code(LIVE_COMMAND, language="bash")
    for item in skipped:
        show_skipped(item)


def show_skipped(item: store.SkippedSnapshot, then: str = "") -> None:
    """Say which damaged snapshot folder was skipped and why (the reason can quote a tampered file)."""
    st.error(f"Skipped damaged snapshot {escape_markdown(item.path.name)}: {escape_markdown(item.reason)}. {then}",
             icon=":material/report:")


def page_setup(title: str, icon: str) -> PageContext:
    """Configure the page, draw navigation and the snapshot badge; stop if there is no snapshot."""
    keep_clicked_downloads()  # downloads built on click must survive other sessions' runs
    st.set_page_config(page_title=f"{title} · Small-cap screener", page_icon=icon, layout="wide")
    navigation()
    data_dir = store.default_data_dir()
    snapshot, skipped = store.latest_snapshot(data_dir)
    st.title(title)
    if snapshot is None:
        no_snapshot(data_dir, tuple(skipped))
        st.stop()
    snapshot_badge(snapshot, tuple(skipped))
    return PageContext(data_dir=data_dir, snapshot=snapshot, skipped=tuple(skipped),
                       db=_open_db(snapshot_key(snapshot), snapshot))
