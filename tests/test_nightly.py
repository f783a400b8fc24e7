"""The nightly run end to end: publish, same-date rerun, failures, loss limit, kills, retention, lock."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from screener import store
from screener.fields import FIELD_NAMES
from screener.nightly import EXIT_FAILED, EXIT_OK, EXIT_TOO_MUCH_LOST, NightlyOptions, RunOutcome, run_nightly
from screener.sources.base import MarketData

REPO_ROOT = Path(__file__).resolve().parents[1]


def tiny_market(as_of: dt.date, n: int = 30, sessions: int = 300, seed: int = 1,
                drop_prices: int = 0) -> MarketData:
    """A small random market: n tickers + IWM + SPY, weekday sessions ending at ``as_of``."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range(end=pd.Timestamp(as_of), periods=sessions)
    tickers = [f"T{i:03d}" for i in range(n)]
    frames = []
    for ticker in [*tickers, "IWM", "SPY"]:
        closes = 20 * np.exp(np.cumsum(rng.normal(0, 0.02, sessions)))
        frames.append(pd.DataFrame({"date": dates, "ticker": ticker, "open": closes, "high": closes * 1.01,
                                    "low": closes * 0.99, "close": closes,
                                    "volume": rng.integers(1_000, 100_000, sessions)}))
    prices = pd.concat(frames, ignore_index=True)
    if drop_prices:
        prices = prices[~prices["ticker"].isin(tickers[:drop_prices])]
    universe = pd.DataFrame({"ticker": tickers, "name": [f"Company {t}" for t in tickers],
                             "sector": ["Financials", "Energy", "Industrials"] * (n // 3) + ["Energy"] * (n % 3),
                             "index_weight": 1 / n})
    fundamentals = pd.DataFrame({
        "ticker": tickers,
        "roe": rng.normal(0.1, 0.1, n), "roa": rng.normal(0.05, 0.05, n),
        "gross_margin": rng.uniform(0.1, 0.6, n), "profit_margin": rng.normal(0.05, 0.1, n),
        "earnings_growth": rng.normal(0.1, 0.3, n), "revenue_growth": rng.normal(0.08, 0.2, n),
        "debt_to_equity": rng.uniform(0, 2, n), "beta": rng.uniform(0.5, 2, n),
        "eps_ttm": rng.normal(1, 2, n), "insider_net_shares_6m": rng.normal(0, 1000, n),
        "fundamentals_as_of": as_of, "stale": False,
    })
    return MarketData(source="files", universe=universe, prices=prices, fundamentals=fundamentals)


def run(data_dir: Path, market: MarketData, **options) -> RunOutcome:
    opts = NightlyOptions(source="files", data_dir=data_dir, **options)
    return run_nightly(opts, progress=lambda *_: None, out=io.StringIO(), loader=lambda _o, _p: market)


def folder_digest(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder``: 'byte-for-byte intact' made checkable."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


AS_OF = dt.date(2024, 3, 8)


def test_publishes_a_complete_snapshot_readable_by_duckdb(tmp_path):
    outcome = run(tmp_path, tiny_market(AS_OF))
    assert outcome.exit_code == EXIT_OK
    folder = tmp_path / "snapshots" / "date=2024-03-08"
    assert sorted(p.name for p in folder.iterdir()) == ["prices.parquet", "run.json", "stocks.parquet"]
    run_json = json.loads((folder / "run.json").read_text())
    assert run_json["tickers_in"] == 30 and run_json["tickers_written"] == 30
    assert run_json["as_of"] == "2024-03-08" and run_json["status"] == "published"
    con = duckdb.connect()
    columns = [row[0] for row in con.execute(
        f"DESCRIBE SELECT * FROM read_parquet('{folder / 'stocks.parquet'}', hive_partitioning=false)").fetchall()]
    assert tuple(columns) == FIELD_NAMES
    assert con.execute(f"SELECT count(*) FROM read_parquet('{folder / 'prices.parquet'}')").fetchone()[0] == 32 * 300
    assert not (tmp_path / ".staging").exists() or not any((tmp_path / ".staging").iterdir())
    assert json.loads((tmp_path / "last_run.json").read_text())["status"] == "published"


def test_as_of_picks_the_last_session_on_or_before_the_date(tmp_path):
    outcome = run(tmp_path, tiny_market(AS_OF), as_of=dt.date(2024, 3, 3))  # a Sunday
    assert outcome.exit_code == EXIT_OK
    assert outcome.report["as_of"] == "2024-03-01"
    stocks = pd.read_parquet(outcome.snapshot.stocks_path)
    assert set(stocks["as_of"]) == {dt.date(2024, 3, 1)}


def test_same_date_rerun_replaces_the_folder(tmp_path):
    run(tmp_path, tiny_market(AS_OF, seed=1))
    first = pd.read_parquet(tmp_path / "snapshots/date=2024-03-08/stocks.parquet")
    outcome = run(tmp_path, tiny_market(AS_OF, seed=2))
    assert outcome.exit_code == EXIT_OK
    second = pd.read_parquet(tmp_path / "snapshots/date=2024-03-08/stocks.parquet")
    assert not np.allclose(first["close"], second["close"])
    assert [p.name for p in (tmp_path / "snapshots").iterdir()] == ["date=2024-03-08"]
    assert not any((tmp_path / ".staging").iterdir())


def test_a_failing_source_leaves_earlier_snapshots_intact(tmp_path):
    run(tmp_path, tiny_market(AS_OF))
    before = folder_digest(tmp_path / "snapshots")

    def broken(_options, _progress):
        raise RuntimeError("Yahoo said no")

    outcome = run_nightly(NightlyOptions(source="files", data_dir=tmp_path), progress=lambda *_: None,
                          out=io.StringIO(), loader=broken)
    assert outcome.exit_code == EXIT_FAILED
    assert folder_digest(tmp_path / "snapshots") == before
    last = json.loads((tmp_path / "last_run.json").read_text())
    assert last["status"] == "failed" and "Yahoo said no" in last["error"]


def test_losing_more_than_the_limit_publishes_nothing(tmp_path):
    run(tmp_path, tiny_market(AS_OF))
    before = folder_digest(tmp_path / "snapshots")
    thin = tiny_market(dt.date(2024, 3, 11), drop_prices=4)  # 4 of 30 = 13% > 10%
    out = io.StringIO()
    outcome = run_nightly(NightlyOptions(source="files", data_dir=tmp_path), progress=lambda *_: None,
                          out=out, loader=lambda _o, _p: thin)
    assert outcome.exit_code == EXIT_TOO_MUCH_LOST
    assert folder_digest(tmp_path / "snapshots") == before
    assert outcome.report["failures_by_reason"] == {"no_prices": 4}
    assert "26 of 30" in out.getvalue()
    # The same thin night passes with a looser limit, and the missing names are reported.
    outcome = run(tmp_path, thin, max_loss=0.2)
    assert outcome.exit_code == EXIT_OK
    assert outcome.report["failures"]["no_prices"] == ["T000", "T001", "T002", "T003"]


def test_retention_keeps_prices_only_in_the_newest_snapshots(tmp_path):
    for day in (4, 5, 6):
        assert run(tmp_path, tiny_market(dt.date(2024, 3, day)), keep_prices=2).exit_code == EXIT_OK
    good, skipped = store.list_snapshots(tmp_path)
    assert [s.date.day for s in good] == [6, 5, 4] and skipped == []
    assert [s.prices_path is not None for s in good] == [True, True, False]


def test_a_damaged_newest_snapshot_is_skipped_with_a_reason(tmp_path):
    run(tmp_path, tiny_market(dt.date(2024, 3, 7)))
    run(tmp_path, tiny_market(AS_OF))
    newest = tmp_path / "snapshots/date=2024-03-08/stocks.parquet"
    newest.write_bytes(newest.read_bytes()[:100])  # truncated
    snapshot, skipped = store.latest_snapshot(tmp_path)
    assert snapshot.date == dt.date(2024, 3, 7)
    assert [s.path.name for s in skipped] == ["date=2024-03-08"] and "unreadable" in skipped[0].reason
    (tmp_path / "snapshots/date=2024-03-07/run.json").unlink()
    snapshot, skipped = store.latest_snapshot(tmp_path)
    assert snapshot is None and len(skipped) == 2


def test_a_second_concurrent_run_is_refused(tmp_path):
    with store.run_lock(tmp_path):
        outcome = run(tmp_path, tiny_market(AS_OF))
    assert outcome.exit_code == EXIT_FAILED and "another nightly run" in outcome.report["error"]


# --- killed runs: a real subprocess, SIGKILL while it writes -----------------------------

CHILD = textwrap.dedent("""
    import sys, time, datetime as dt
    sys.path.insert(0, {repo!r}); sys.path.insert(0, {tests!r})
    from screener import store
    from test_nightly import tiny_market, run
    from pathlib import Path
    original = store._write_table
    def slow_write(table, path):
        original(table, path)
        print("wrote", path, flush=True)
        if path.name == {after_file!r}:
            time.sleep(30)  # the parent kills us here
    store._write_table = slow_write
    run(Path({data!r}), tiny_market(dt.date(2024, 3, 8), seed={seed}))
""")


def kill_while_writing(data_dir: Path, seed: int, after_file: str) -> None:
    code = CHILD.format(repo=str(REPO_ROOT), tests=str(REPO_ROOT / "tests"), data=str(data_dir), seed=seed,
                        after_file=after_file)
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        for line in child.stdout:
            if line.startswith("wrote") and line.rstrip().endswith(after_file):
                break
            assert time.monotonic() < deadline
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL


@pytest.mark.parametrize("after_file", ["stocks.parquet", "prices.parquet"])
def test_sigkill_mid_write_leaves_the_previous_snapshot_intact(tmp_path, after_file):
    run(tmp_path, tiny_market(AS_OF, seed=1))
    before = folder_digest(tmp_path / "snapshots")
    kill_while_writing(tmp_path, seed=2, after_file=after_file)
    assert folder_digest(tmp_path / "snapshots") == before
    snapshot, skipped = store.latest_snapshot(tmp_path)
    assert snapshot is not None and skipped == []
    count = duckdb.connect().execute(f"SELECT count(*) FROM read_parquet('{snapshot.stocks_path}')").fetchone()
    assert count == (30,)
    # The killed run left a staging folder; the next run removes it and publishes.
    assert any((tmp_path / ".staging").iterdir())
    outcome = run(tmp_path, tiny_market(AS_OF, seed=3))
    assert outcome.exit_code == EXIT_OK and outcome.report["recovered"]
    assert not any((tmp_path / ".staging").iterdir())
