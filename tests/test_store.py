"""Snapshot store mechanics that the nightly tests do not reach directly."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from screener import store
from screener.fields import FIELDS, stocks_schema


def empty_stocks(n: int = 3) -> pd.DataFrame:
    """A schema-valid stocks frame with n rows of nulls (tickers only)."""
    frame = pd.DataFrame({f.name: pd.Series([None] * n, dtype="object") for f in FIELDS})
    frame["ticker"] = [f"T{i}" for i in range(n)]
    return frame


def prices() -> pd.DataFrame:
    return pd.DataFrame({"date": pd.to_datetime(["2024-03-08"] * 2), "ticker": ["IWM", "SPY"],
                         "open": [1.0, 2.0], "high": [1.0, 2.0], "low": [1.0, 2.0], "close": [1.0, 2.0],
                         "volume": [10, 20]})


def publish(data_dir, date=dt.date(2024, 3, 8), n=3, **kwargs):
    return store.publish_snapshot(data_dir, date, empty_stocks(n), prices(),
                                  {"tickers_written": n, "source": "files"}, **kwargs)


def test_published_stocks_follow_the_catalog_schema_exactly(tmp_path):
    snapshot = publish(tmp_path)
    assert pq.read_schema(snapshot.stocks_path).remove_metadata() == stocks_schema()


def test_a_frame_missing_catalog_columns_is_refused_and_nothing_appears(tmp_path):
    with pytest.raises(store.SnapshotInvalid, match="quality_score"):
        store.publish_snapshot(tmp_path, dt.date(2024, 3, 8), empty_stocks().drop(columns="quality_score"),
                               prices(), {"tickers_written": 3})
    assert not (tmp_path / "snapshots" / "date=2024-03-08").exists()
    assert not any((tmp_path / ".staging").iterdir())


def test_a_row_count_that_disagrees_with_run_json_is_invalid(tmp_path):
    with pytest.raises(store.SnapshotInvalid, match="rows but run.json says 5"):
        store.publish_snapshot(tmp_path, dt.date(2024, 3, 8), empty_stocks(3), prices(), {"tickers_written": 5})


def test_a_wrongly_typed_column_makes_a_folder_invalid(tmp_path):
    snapshot = publish(tmp_path)
    table = pq.read_table(snapshot.stocks_path)
    index = table.schema.get_field_index("close")
    table = table.set_column(index, "close", pa.array(["x"] * 3))
    pq.write_table(table, snapshot.stocks_path)
    good, skipped = store.list_snapshots(tmp_path)
    assert good == [] and "close" in skipped[0].reason


def test_swap_fallback_is_recovered_when_interrupted_between_renames(tmp_path, monkeypatch):
    """Where renameat2 is missing, a same-date swap parks the old folder first; a kill
    between the two renames leaves it parked, and recover() puts it back."""
    publish(tmp_path)
    target = tmp_path / "snapshots" / "date=2024-03-08"
    original = json.loads((target / "run.json").read_text())
    parked = tmp_path / ".staging" / "replaced-date=2024-03-08-abc"
    target.rename(parked)  # the state right after the first rename
    assert store.latest_snapshot(tmp_path)[0] is None
    actions = store.recover(tmp_path)
    assert actions == ["restored date=2024-03-08 from an interrupted swap"]
    assert json.loads((target / "run.json").read_text()) == original


def test_swap_fallback_replaces_the_folder(tmp_path, monkeypatch):
    publish(tmp_path, n=3)
    monkeypatch.setattr(store, "_exchange", lambda a, b: False)
    publish(tmp_path, n=4)
    snapshot, skipped = store.latest_snapshot(tmp_path)
    assert snapshot.run["tickers_written"] == 4 and skipped == []
    assert not any((tmp_path / ".staging").iterdir())


def test_write_json_atomic_leaves_no_temp_files(tmp_path):
    store.write_json_atomic(tmp_path / "a" / "x.json", {"k": 1})
    store.write_json_atomic(tmp_path / "a" / "x.json", {"k": 2})
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["x.json"]
    assert json.loads((tmp_path / "a" / "x.json").read_text()) == {"k": 2}


def test_folders_with_bad_names_are_ignored_or_reported(tmp_path):
    publish(tmp_path)
    (tmp_path / "snapshots" / "notes").mkdir()
    (tmp_path / "snapshots" / "date=2024-13-45").mkdir()
    good, skipped = store.list_snapshots(tmp_path)
    assert [s.date for s in good] == [dt.date(2024, 3, 8)]
    assert [s.path.name for s in skipped] == ["date=2024-13-45"]


def test_snapshots_written_before_a_field_was_added_stay_readable(tmp_path):
    snapshot = publish(tmp_path)
    table = pq.read_table(snapshot.stocks_path).drop_columns(["quality_score"])
    pq.write_table(table, snapshot.stocks_path)
    good, skipped = store.list_snapshots(tmp_path)
    assert [s.path for s in good] == [snapshot.path] and skipped == []
    with pytest.raises(store.SnapshotInvalid, match="quality_score"):
        store.validate_snapshot_folder(snapshot.path)
