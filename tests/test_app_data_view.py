"""The Data page's content without Streamlit: run report sections, snapshot table, commands, catalog."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from screener import store
from screener.db import history
from screener.fields import FIELDS
from screener.sources.base import FAILURE_REASONS
from screener.ui import data_view

RUN = {
    "status": "published", "source": "yahoo", "tickers_in": 2010, "tickers_written": 1987, "lost_share": 0.0114,
    "max_loss": 0.1, "stale_count": 2, "stale_tickers": ["AAA", "BBB"],
    "failures_by_reason": {"not_found": 20, "rate_limit": 3},
    "failures": {"not_found": [f"N{i:02d}" for i in range(20)], "rate_limit": ["R1", "R2", "R3"]},
    "rejected_cells": {"total": 5, "by_column": [{"file": "info", "column": "beta", "reason": "out of range",
                                                  "cells": 5}], "examples": ["info row 1, column beta: 99 (x)"]},
    "timings_s": {"fetch": 100.5, "compute": 2.0, "publish": 1.0}, "elapsed_s": 104.0,
    "stats": {"requests_per_ticker": 2.25},
}


def test_run_tiles_format_the_report_counts():
    tiles = {t.label: t.value for t in data_view.run_tiles(RUN)}
    assert tiles == {"Tickers in": "2,010", "Written": "1,987", "Lost": "1.1%", "Failures": "23", "Stale": "2",
                     "Rejected cells": "5", "Requests per ticker": "2.25"}


def test_run_tiles_of_a_report_that_failed_early_show_dashes():
    tiles = {t.label: t.value for t in data_view.run_tiles({"status": "failed", "error": "boom"})}
    assert tiles["Tickers in"] == "—" and tiles["Failures"] == "0" and "Requests per ticker" not in tiles


def test_failures_frame_most_first_with_meaning_and_capped_examples(monkeypatch):
    monkeypatch.setattr(data_view, "TICKERS_SHOWN", 5)
    frame = data_view.failures_frame(RUN)
    assert frame["reason"].tolist() == ["not_found", "rate_limit"]
    assert frame["tickers"].tolist() == [20, 3]
    assert frame["examples"].iloc[0] == "N00, N01, N02, N03, N04 and 15 more"
    assert frame["examples"].iloc[1] == "R1, R2, R3"
    assert frame["meaning"].iloc[1] == data_view.FAILURE_MEANINGS["rate_limit"]


def test_every_failure_reason_has_words():
    assert set(data_view.FAILURE_MEANINGS) == set(FAILURE_REASONS)


def test_rejected_and_timings_frames():
    rejected = data_view.rejected_frame(RUN["rejected_cells"])
    assert rejected.to_dict("records") == [{"file": "info", "column": "beta", "reason": "out of range", "cells": 5}]
    assert data_view.rejected_frame(None).empty
    timings = data_view.timings_frame(RUN)
    assert dict(zip(timings["step"], timings["seconds"])) == {"fetch": 100.5, "compute": 2.0, "publish": 1.0,
                                                               "whole run": 104.0}
    assert data_view.stale_tickers(RUN) == "AAA, BBB"


def test_refresh_commands_name_the_data_folder_only_when_it_is_not_the_default(tmp_path):
    custom = {c.title: c.command for c in data_view.refresh_commands(tmp_path)}
    default = {c.title: c.command for c in data_view.refresh_commands(store.REPO_ROOT / "data")}
    assert all(f"--data-dir {tmp_path}" in command for command in custom.values())
    assert not any("--data-dir" in command for command in default.values())
    commands = " | ".join(default.values())
    assert "python -m screener nightly --source demo" in commands
    assert "--source files --universe" in commands and "--prices" in commands
    assert "python -m screener nightly" in default["Live: Yahoo Finance"]


def test_catalog_frame_lists_every_field_once():
    catalog = data_view.catalog_frame()
    assert catalog["name"].tolist() == [f.name for f in FIELDS]
    assert catalog.set_index("name").loc["debt_to_equity", "better"] == "lower"
    assert catalog.set_index("name").loc["roe", "unit"] == "%"
    assert catalog["help"].str.len().min() > 5


def test_snapshot_table_counts_match_the_stocks_files(demo_data_dir: Path):
    good, _ = store.list_snapshots(demo_data_dir)
    table = data_view.snapshot_table(good, history(demo_data_dir))
    stocks = pd.read_parquet(good[0].stocks_path)
    row = table.iloc[0]
    assert row["date"] == good[0].date and row["source"] == "demo" and bool(row["prices"]) is True
    assert row["stocks"] == len(stocks)
    buckets = stocks["quality_bucket"].value_counts()
    for bucket in ("quality", "middle", "junk"):
        assert row[bucket] == buckets.get(bucket, 0)
    assert row["unbucketed"] == stocks["quality_bucket"].isna().sum()
    assert row["stale"] == stocks["stale"].fillna(False).sum()


@pytest.mark.parametrize("keep_prices", [True, False])
def test_snapshot_table_says_whether_prices_are_kept(fresh_data_dir: Path, keep_prices: bool):
    good, _ = store.list_snapshots(fresh_data_dir)
    if not keep_prices:
        good[0].prices_path.unlink()
    good, _ = store.list_snapshots(fresh_data_dir)
    table = data_view.snapshot_table(good, history(fresh_data_dir))
    assert bool(table["prices"].iloc[0]) is keep_prices
