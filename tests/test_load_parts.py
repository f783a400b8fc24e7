"""The load suite's own parts, on hand-made inputs whose answers can be checked by eye.

The pandas oracle (every operator, missing values), the page reader, unit
conversions and download row counts of the simulated users, the latency table,
the nightly-under-load verdicts, the /proc memory reading, and the fix for
Streamlit 1.67's deferred-download race (``screener/ui/deferred_downloads.py``).
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook
from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.Exception_pb2 import Exception as ExceptionProto
from streamlit.proto.Heading_pb2 import Heading

from tests.support.load_run import (
    ALL_FILTER_CHANGES, NightlyReport, action_stats, process_tree_cpu, process_tree_rss,
)
from tests.support.load_users import (
    CheckFailed, Sample, download_rows, read_page, row_label, shown_from_stored, stored_from_shown,
)
from tests.support.pandas_screen import condition_mask, pandas_count
from tests.support.stclient import Element, PageView

# --- the pandas oracle -------------------------------------------------------------------

STOCKS = pd.DataFrame({
    "roe": [0.30, 0.10, None, 0.15, -0.2],
    "sector": ["Energy", "Utilities", "Energy", None, "Financials"],
    "insider_buying": pd.array([True, False, None, True, False], dtype="boolean"),
    "rs_rating": pd.array([90, 40, 70, None, 10], dtype="Int64"),
})


@pytest.mark.parametrize(("condition", "rows"), [
    (("roe", "gt", 0.15), [0]),
    (("roe", "gte", 0.15), [0, 3]),
    (("roe", "lt", 0.15), [1, 4]),
    (("roe", "lte", 0.10), [1, 4]),
    (("roe", "eq", 0.10), [1]),
    (("roe", "ne", 0.10), [0, 2, 3, 4]),  # an unknown ROE is "not 10%"
    (("roe", "between", (0.10, 0.15)), [1, 3]),  # both ends included
    (("sector", "in", ("Energy", "Financials")), [0, 2, 4]),
    (("sector", "not_in", ("Energy",)), [1, 3, 4]),  # unknown sector is "not Energy"
    (("insider_buying", "is_true", None), [0, 3]),
    (("insider_buying", "is_false", None), [1, 4]),
    (("rs_rating", "not_null", None), [0, 1, 2, 4]),
    (("rs_rating", "gte", 70), [0, 2]),
])
def test_each_operator_keeps_the_rows_its_meaning_says(condition, rows):
    assert list(np.flatnonzero(condition_mask(STOCKS, condition))) == rows


def test_conditions_are_anded_and_no_condition_keeps_everything():
    assert pandas_count(STOCKS, []) == 5
    assert pandas_count(STOCKS, [("sector", "in", ("Energy",)), ("roe", "gt", 0.0)]) == 1


def test_the_oracle_agrees_with_the_app_on_every_builtin_preset(demo_data_dir):
    """Both count the demo snapshot; if they disagreed, the load test would blame the wrong side."""
    from screener import store
    from screener.db import SnapshotDB, run_screen
    from screener.presets import BUILTIN_PRESETS
    from tests.support.load_users import preset_conditions

    snapshot, _skipped = store.latest_snapshot(demo_data_dir)
    stocks = pd.read_parquet(snapshot.stocks_path)
    db = SnapshotDB(snapshot)
    counts = {p.slug: (pandas_count(stocks, preset_conditions(p)), run_screen(db, p.screen).count)
              for p in BUILTIN_PRESETS}
    assert all(ours == app for ours, app in counts.values()), counts
    assert any(ours > 0 for ours, _ in counts.values())


# --- the simulated user's reading of a page ---------------------------------------------------


def _view(*elements: tuple[str, object], status: str = "ok") -> PageView:
    return PageView(tuple(Element((0, i), kind, proto) for i, (kind, proto) in enumerate(elements)), "", status)


BADGE = ("alert", Alert(body="**DEMO market** (synthetic, not real prices) · snapshot 2026-11-20", format=Alert.WARNING))


def test_a_page_is_read_as_snapshot_date_count_and_universe():
    view = _view(BADGE, ("heading", Heading(body="Screener")), ("heading", Heading(body="1,234 of 2,000 stocks match")))
    assert read_page(view) == (pd.Timestamp("2026-11-20").date(), 1234, 2000)
    one = _view(BADGE, ("heading", Heading(body="1 of 2,000 stocks matches")))
    assert read_page(one)[1:] == (1, 2000)


@pytest.mark.parametrize(("elements", "message"), [
    ((BADGE, ("heading", Heading(body="3 of 9 stocks match")), ("exception", ExceptionProto(type="KeyError", message="x"))),
     "KeyError"),
    ((BADGE, ("heading", Heading(body="3 of 9 stocks match")), ("alert", Alert(body="Not saved", format=Alert.ERROR))),
     "error alert: Not saved"),
    ((BADGE, ("alert", Alert(body="snapshot 2026-11-23", format=Alert.INFO)), ("heading", Heading(body="3 of 9 stocks match"))),
     "2 snapshot dates"),
    ((BADGE,), "0 match headlines"),
    ((("heading", Heading(body="3 of 9 stocks match")),), "0 snapshot dates"),
])
def test_a_page_with_an_error_or_an_ambiguous_snapshot_fails_the_check(elements, message):
    with pytest.raises(CheckFailed, match=message):
        read_page(_view(*elements))


def test_a_run_that_did_not_finish_normally_fails_the_check():
    with pytest.raises(CheckFailed, match="compile error"):
        read_page(_view(BADGE, ("heading", Heading(body="3 of 9 stocks match")), status="compile error"))


def test_typed_numbers_convert_by_the_catalog_unit():
    assert stored_from_shown("roe", 17.0) == 0.17  # percent
    assert stored_from_shown("debt_to_equity", 0.7) == 0.7  # ratio
    assert stored_from_shown("market_cap", 500.0) == 500_000_000  # $M
    assert stored_from_shown("rs_rating", 72.0) == 72 and isinstance(stored_from_shown("rs_rating", 72.0), int)
    assert shown_from_stored("roe", 0.15) == 15.0
    assert row_label(("roe", "gt", 0.15)) == "Return on equity >"
    assert row_label(("insider_buying", "is_true", None)) is None


def test_download_rows_count_data_rows_in_each_format():
    frame = pd.DataFrame({"ticker": ["A", "B", "C"], "name": ["one", "two,\nlines", "three"]})
    text = io.StringIO()
    frame.to_csv(text, index=False, quoting=csv.QUOTE_MINIMAL)
    parquet = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame), parquet)
    book = Workbook()
    sheet = book.active
    for row in [["Ticker", "Name"], *frame.values.tolist()]:
        sheet.append(row)
    excel = io.BytesIO()
    book.save(excel)
    assert download_rows("csv", text.getvalue().encode()) == 3  # a quoted line break is not a row
    assert download_rows("parquet", parquet.getvalue()) == 3
    assert download_rows("xlsx", excel.getvalue()) == 3


# --- figures and verdicts -------------------------------------------------------------------


def _sample(action, ms, user=0, started=0.0, error=None, snapshot=None):
    return Sample(user, action, started, ms, error, snapshot)


def test_latency_table_uses_successful_actions_and_counts_errors_apart():
    samples = [_sample("sectors", ms) for ms in (100, 200, 300, 400)] + [
        _sample("threshold", 1000), _sample("threshold", 5, error="boom"), _sample("open", 50)]
    rows = {row.action: row for row in action_stats(samples)}
    assert (rows["sectors"].n, rows["sectors"].p50, rows["sectors"].max, rows["sectors"].errors) == (4, 250, 400, 0)
    assert (rows["threshold"].n, rows["threshold"].p50, rows["threshold"].errors) == (1, 1000, 1)
    both = rows[ALL_FILTER_CHANGES]  # sectors and threshold, not open
    assert (both.n, both.p50, both.errors) == (5, 300, 1)
    assert [r.action for r in action_stats(samples)][:2] == ["open", "sectors"]


OLD, NEW = pd.Timestamp("2026-11-20").date(), pd.Timestamp("2026-11-23").date()


def _nightly(samples, differ=3) -> NightlyReport:
    return NightlyReport(OLD, NEW, 0, "", publish_started=10.0, publish_finished=12.0, samples=samples,
                         screens_that_differ=differ, screens_compared=5)


def _clean_user(user: int) -> list[Sample]:
    return [_sample("open", 100, user, 1.0, snapshot=OLD), _sample("sectors", 1500, user, 9.5, snapshot=OLD),
            _sample("threshold", 100, user, 11.5, snapshot=NEW), _sample("rerun", 100, user, 13.0, snapshot=NEW)]


def test_a_clean_publish_under_load_has_no_problems():
    report = _nightly(_clean_user(0) + _clean_user(1))
    assert report.problems() == []
    assert len(report.during_publish) == 4  # 9.5-11.0 and 11.5-11.6 overlap 10-12, for both users


@pytest.mark.parametrize(("change", "message"), [
    (lambda s: s[:2] + [_sample("sectors", 100, 0, 11.7, snapshot=OLD)] + s[2:], "went back to the old snapshot"),
    (lambda s: s[:3] + [_sample("rerun", 100, 0, 13.0, snapshot=OLD)], "pages started after the publish"),
    (lambda s: s[:3], "pages started after the publish"),  # the final rerun is missing
    (lambda s: [x for x in s if x.snapshot == NEW], "never saw the old snapshot"),
    (lambda s: s + [_sample("download", 100, 0, 14.0, error="HTTPError 404")], "HTTPError 404"),
    (lambda s: [_sample("open", 100, 0, 1.0, snapshot=pd.Timestamp("2026-11-19").date())] + s, "other than"),
])
def test_each_broken_promise_is_reported(change, message):
    report = _nightly(change(_clean_user(0)))
    assert any(message in problem for problem in report.problems()), report.problems()


def test_a_publish_that_nobody_saw_or_that_changed_nothing_proves_nothing():
    quiet = [s for s in _clean_user(0) if s.action != "sectors"]
    quiet = [_sample(s.action, 100, 0, s.started if s.started < 9 else s.started + 1, snapshot=s.snapshot) for s in quiet]
    assert any("no page was served while" in p for p in _nightly(quiet).problems())
    assert any("no teeth" in p for p in _nightly(_clean_user(0), differ=0).problems())


# --- server memory ------------------------------------------------------------------------


def _own_rss() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))


def test_process_tree_rss_counts_the_children_too():
    before = process_tree_rss(os.getpid())
    assert before >= _own_rss() * 0.9
    child = subprocess.Popen([sys.executable, "-c", "import sys, time; b = bytearray(80 * 2**20); "
                              "sys.stdout.write('ready\\n'); sys.stdout.flush(); time.sleep(30)"],
                             stdout=subprocess.PIPE)
    try:
        assert child.stdout.readline() == b"ready\n"
        with_child = process_tree_rss(os.getpid())
    finally:
        child.kill()
        child.wait()
    assert with_child - before >= 70 * 2**20
    assert process_tree_rss(child.pid) == 0  # gone: nothing to count, no error


def test_process_tree_cpu_counts_a_busy_child():
    before = process_tree_cpu(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "import sys, time\nend = time.process_time() + 0.6\n"
                              "while time.process_time() < end: pass\nsys.stdout.write('done\\n'); sys.stdout.flush(); "
                              "time.sleep(30)"], stdout=subprocess.PIPE)
    try:
        assert child.stdout.readline() == b"done\n"
        spent = process_tree_cpu(os.getpid()) - before
    finally:
        child.kill()
        child.wait()
    assert spent >= 0.5


# --- the deferred-download fix -----------------------------------------------------------------


def _manager_with_a_clicked_download():
    from streamlit.runtime.media_file_manager import MediaFileManager
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    storage = MemoryMediaFileStorage("/media")
    manager = MediaFileManager(storage)
    placeholder = manager.add_deferred(lambda: b"ticker\nAAA\n", "text/csv", "1.(2).3", file_name="s.csv")
    url = manager.execute_deferred(placeholder)
    return manager, storage, url.rsplit("/", 1)[-1].split(".")[0]


def _other_sessions_finish_two_runs(manager) -> None:
    manager.remove_orphaned_files()  # first sweep marks an unreferenced download
    manager.remove_orphaned_files()  # second sweep deletes it


def test_unpatched_streamlit_deletes_a_clicked_download_before_the_browser_fetches_it(monkeypatch):
    """The bug the load test found, shown on Streamlit's own class (so an upstream fix shows here)."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    from screener.ui import deferred_downloads

    monkeypatch.setattr(MediaFileManager, "execute_deferred", deferred_downloads.ORIGINAL_EXECUTE_DEFERRED)
    manager, storage, file_id = _manager_with_a_clicked_download()
    _other_sessions_finish_two_runs(manager)
    assert manager.read_file(file_id) is None


def test_the_fix_keeps_a_clicked_download_until_the_session_moves_on(monkeypatch):
    from streamlit.runtime.media_file_manager import MediaFileManager

    from screener.ui import deferred_downloads

    monkeypatch.setattr(MediaFileManager, "execute_deferred", MediaFileManager.execute_deferred)
    assert deferred_downloads.keep_clicked_downloads() is True  # the pinned Streamlit is affected
    manager, storage, file_id = _manager_with_a_clicked_download()
    _other_sessions_finish_two_runs(manager)
    assert manager.read_file(file_id).content == b"ticker\nAAA\n"
    manager.clear_session_refs("dontcare")  # the session's next run (or its end) releases the file
    _other_sessions_finish_two_runs(manager)
    assert manager.read_file(file_id) is None


def test_the_fix_leaves_other_streamlit_versions_alone(monkeypatch):
    import streamlit
    from streamlit.runtime.media_file_manager import MediaFileManager

    from screener.ui import deferred_downloads

    monkeypatch.setattr(MediaFileManager, "execute_deferred", deferred_downloads.ORIGINAL_EXECUTE_DEFERRED)
    monkeypatch.setattr(streamlit, "__version__", "9.9.9")
    assert deferred_downloads.keep_clicked_downloads() is False
    assert MediaFileManager.execute_deferred is deferred_downloads.ORIGINAL_EXECUTE_DEFERRED
