"""The Data page under AppTest: run report counts equal last_run.json, a failed run and damaged
snapshots are shown, the snapshot table matches the files, and the catalog lists every field."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from screener import store
from screener.fields import FIELDS
from screener.ui.text import escape_markdown
from tests.support.apptest import metrics, open_page

PAGE = "pages/5_Data.py"


def run_page(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    return open_page(PAGE, data_dir, monkeypatch)


def test_run_report_counts_equal_last_run_json(demo_data_dir, monkeypatch):
    at = run_page(demo_data_dir, monkeypatch)
    run = json.loads((demo_data_dir / "last_run.json").read_text())
    shown = metrics(at)
    assert shown["Tickers in"] == f"{run['tickers_in']:,}"
    assert shown["Written"] == f"{run['tickers_written']:,}"
    assert shown["Stale"] == f"{run['stale_count']:,}"
    assert shown["Failures"] == f"{sum(run['failures_by_reason'].values()):,}"
    assert shown["Rejected cells"] == f"{run['rejected_cells']['total']:,}"
    assert any("Published" in s.value and run["as_of"] in s.value for s in at.success)
    timings = next(d.value for d in at.dataframe if "step" in d.value.columns)
    assert dict(zip(timings["step"], timings["seconds"]))["fetch"] == pytest.approx(run["timings_s"]["fetch"])


def test_snapshot_table_and_catalog(demo_data_dir, monkeypatch):
    at = run_page(demo_data_dir, monkeypatch)
    snapshot, _ = store.latest_snapshot(demo_data_dir)
    stocks = pd.read_parquet(snapshot.stocks_path)
    table = next(d.value for d in at.dataframe if "quality" in d.value.columns)
    assert len(table) == 1 and table["stocks"].iloc[0] == len(stocks)
    assert table["junk"].iloc[0] == (stocks["quality_bucket"] == "junk").sum()
    catalog = at.table[0].value
    assert catalog["Name"].tolist() == [f.name for f in FIELDS]
    commands = " ".join(c.value for c in at.code)
    assert "--source demo" in commands and "--source files" in commands and f"--data-dir {demo_data_dir}" in commands


def test_a_failed_last_run_is_shown_with_its_failures(fresh_data_dir, monkeypatch):
    report = {"status": "failed", "source": "yahoo", "error": "only 10 of 2000 tickers have usable data",
              "tickers_in": 2000, "tickers_written": 10, "lost_share": 0.995, "max_loss": 0.1,
              "failures_by_reason": {"rate_limit": 1990}, "failures": {"rate_limit": ["AAA", "BBB"]},
              "stale_count": 0, "stale_tickers": [], "timings_s": {"fetch": 3.0}, "elapsed_s": 3.5,
              "rejected_cells": {"total": 0, "by_column": [], "examples": []},
              "stats": {"requests_per_ticker": 1.5}}
    store.write_json_atomic(fresh_data_dir / "last_run.json", report)
    at = run_page(fresh_data_dir, monkeypatch)
    assert any("only 10 of 2000" in e.value and "keeps showing snapshot" in e.value for e in at.main.error)
    shown = metrics(at)
    assert shown["Failures"] == "1,990" and shown["Written"] == "10" and shown["Requests per ticker"] == "1.50"
    failures = next(d.value for d in at.dataframe if "reason" in d.value.columns and "meaning" in d.value.columns)
    assert failures.to_dict("records")[0]["examples"] == "AAA, BBB"


def test_missing_last_run_falls_back_to_the_snapshot_report(fresh_data_dir, monkeypatch):
    (fresh_data_dir / "last_run.json").unlink()
    at = run_page(fresh_data_dir, monkeypatch)
    assert any("No `last_run.json`" in c.value for c in at.caption)
    snapshot, _ = store.latest_snapshot(fresh_data_dir)
    assert metrics(at)["Written"] == f"{snapshot.run['tickers_written']:,}"


def test_damaged_snapshot_is_listed_and_retention_shows_in_the_table(fresh_data_dir, monkeypatch):
    good, _ = store.latest_snapshot(fresh_data_dir)
    damaged = store.snapshot_path(fresh_data_dir, good.date + dt.timedelta(days=3))
    shutil.copytree(good.path, damaged)
    (damaged / store.STOCKS_FILE).write_bytes(b"PAR1")
    good.prices_path.unlink()
    at = run_page(fresh_data_dir, monkeypatch)
    assert sum(escape_markdown(damaged.name) in e.value for e in at.main.error) == 1
    table = next(d.value for d in at.dataframe if "quality" in d.value.columns)
    assert table["prices"].tolist() == [False]


def test_no_snapshot_explains(tmp_path, monkeypatch):
    at = run_page(tmp_path / "empty", monkeypatch)
    assert any("No snapshot yet" in i.value for i in at.info)
