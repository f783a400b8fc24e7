"""Time the nightly compute step and the app's market functions on synthetic panels.

Run from the repo root::

    python -m benchmarks.bench_compute            # all scenarios
    python benchmarks/bench_compute.py --runs 7   # more repetitions

Each scenario runs in its own child process so its peak RSS is its own: the parent writes
the synthetic long prices panel to a temporary Parquet file, the child reads it ("input
MB" = peak RSS after reading, as the app would) and then times the steps ("peak MB" =
peak RSS at the end).  The
panel is a geometric random walk over business days with random volumes, a few percent
of missing rows and some late listings, plus IWM and SPY.  Times are medians of
``--runs`` repetitions (the 20,000-ticker scenario runs at most 3 times).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # allow `python benchmarks/bench_compute.py`
    sys.path.insert(0, str(ROOT))

from screener import market  # noqa: E402
from screener.quality import QUALITY_INPUTS, add_quality  # noqa: E402
from screener.signals import compute_price_signals  # noqa: E402

SESSIONS = 504
SECTORS = ("Financials", "Health Care", "Industrials", "Information Technology", "Consumer Discretionary",
           "Real Estate", "Energy", "Materials", "Utilities", "Communication", "Consumer Staples")


def synthetic_prices(n_tickers: int, n_sessions: int = SESSIONS, seed: int = 0) -> pa.Table:
    """Long prices table (date, ticker, close, volume) like prices.parquet, IWM and SPY included.

    Built 2,000 tickers at a time straight into Arrow so the generator itself stays small.
    """
    rng = np.random.default_rng(seed)
    names = [f"S{i:05d}" for i in range(n_tickers)] + ["IWM", "SPY"]
    dates = pd.bdate_range("2022-01-03", periods=n_sessions).values
    chunks = []
    for lo in range(0, len(names), 2_000):
        chunk = names[lo:lo + 2_000]
        width = len(chunk)
        close = 20.0 * np.exp(np.cumsum(rng.normal(0.0003, 0.025, size=(n_sessions, width)), axis=0))
        volume = rng.lognormal(12, 1, size=(n_sessions, width)).round().astype(np.int64)
        late = rng.random(width) < 0.05  # 5% list partway through
        first = np.where(late, rng.integers(0, n_sessions, width), 0)
        keep = (np.arange(n_sessions)[:, None] >= first[None, :]) & (rng.random(close.shape) > 0.01)
        keep[:, np.isin(chunk, ("IWM", "SPY"))] = True  # the benchmarks trade on every session
        rows, cols = np.nonzero(keep)
        chunks.append(pa.table({
            "date": pa.array(dates[rows]),
            "ticker": pa.DictionaryArray.from_arrays(cols.astype(np.int32), chunk).cast(pa.string()),
            "close": close[rows, cols],
            "volume": volume[rows, cols],
        }))
    return pa.concat_tables(chunks)


def synthetic_stocks(signals: pd.DataFrame, seed: int = 1) -> pd.DataFrame:
    """Constituent rows with random fundamentals (10% missing) and the computed signals."""
    rng = np.random.default_rng(seed)
    stocks = signals.drop(index=["IWM", "SPY"]).reset_index()
    n = len(stocks)
    for name in QUALITY_INPUTS:
        if name != "volatility_1y":
            stocks[name] = np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n))
    stocks["sector"] = rng.choice(SECTORS, n)
    stocks["is_profitable"] = pd.array(rng.random(n) < 0.6, dtype="boolean")
    return stocks


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _median_seconds(call: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run_scenario(name: str, panel_path: Path, runs: int) -> list[dict[str, object]]:
    """Figures of one scenario, measured in this process on the panel stored at ``panel_path``."""
    prices = pd.read_parquet(panel_path)
    n_tickers = prices["ticker"].nunique() - 2
    input_mb = _peak_mb()
    rows: list[dict[str, object]] = []
    if name == "compute":
        runs = min(runs, 3) if n_tickers > 2_000 else runs
        signals = compute_price_signals(prices)
        stocks = synthetic_stocks(signals)
        timings = {
            "compute_price_signals": _median_seconds(lambda: compute_price_signals(prices), runs),
            "add_quality": _median_seconds(lambda: add_quality(stocks), runs),
        }
    else:
        stocks = add_quality(synthetic_stocks(compute_price_signals(prices)))
        start = market.window_start(dt.date(2023, 12, 29), "6m")
        # A year of nightly snapshots: every session's buckets stored, reshuffled a little each night.
        sessions = pd.to_datetime(prices.loc[prices["ticker"] == "IWM", "date"]).sort_values().iloc[-252:]
        shuffle = np.random.default_rng(2)
        nightly = pd.concat([stocks[["ticker", "quality_bucket"]].assign(
            date=session, quality_bucket=np.where(shuffle.random(len(stocks)) < 0.05, "middle",
                                                  stocks["quality_bucket"])) for session in sessions])
        calls: dict[str, Callable[[], object]] = {
            "breadth_history": lambda: market.breadth_history(prices),
            "ratio_history": lambda: market.ratio_history(prices),
            "sector_participation": lambda: market.sector_participation(prices, stocks),
            "sector_participation_history": lambda: market.sector_participation_history(prices, stocks),
            "bucket_returns (quality)": lambda: market.bucket_returns(prices, stocks, start=start),
            "bucket_returns (sector)": lambda: market.bucket_returns(prices, stocks, by="sector", start=start),
            "point_in_time_returns (252 snap.)": lambda: market.point_in_time_returns(prices, nightly, start=start),
            "spread_by_sector": lambda: market.spread_by_sector(prices, stocks, start),
            "stock_history": lambda: market.stock_history(prices, "S00007", start=start),
        }
        timings = {label: _median_seconds(call, runs) for label, call in calls.items()}
    for label, seconds in timings.items():
        rows.append({"scenario": f"{n_tickers:,} x {SESSIONS}", "step": label, "seconds": seconds,
                     "rows": len(prices), "input_mb": input_mb, "peak_mb": _peak_mb()})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scenario", help=argparse.SUPPRESS)  # child-process entry
    parser.add_argument("--panel", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--write-tickers", type=int, help=argparse.SUPPRESS)  # child: write a panel
    args = parser.parse_args()
    if args.write_tickers:
        pq.write_table(synthetic_prices(args.write_tickers), args.panel)
        return
    if args.scenario:
        print(json.dumps(run_scenario(args.scenario, args.panel, args.runs)))
        return
    print(f"python {sys.version.split()[0]}, pandas {pd.__version__}, numpy {np.__version__}; "
          f"median of {args.runs} runs (20,000: at most 3)\n")
    print(f"{'panel':>14}  {'step':<34} {'median s':>9} {'long rows':>11} {'input MB':>9} {'peak MB':>8}")
    with tempfile.TemporaryDirectory(prefix="bench_compute_") as folder:
        for scenario, n_tickers in (("compute", 2_000), ("compute", 20_000), ("market", 2_000)):
            panel_path = Path(folder) / f"prices_{n_tickers}.parquet"
            if not panel_path.exists():  # in a child too: a forked child inherits the parent's peak RSS
                subprocess.run([sys.executable, str(Path(__file__).resolve()), "--panel", str(panel_path),
                                "--write-tickers", str(n_tickers)], check=True, cwd=ROOT)
            child = subprocess.run(
                [sys.executable, str(Path(__file__).resolve()), "--scenario", scenario, "--panel", str(panel_path),
                 "--runs", str(args.runs)],
                check=True, capture_output=True, text=True, cwd=ROOT)
            for row in json.loads(child.stdout.strip().splitlines()[-1]):
                print(f"{row['scenario']:>14}  {row['step']:<34} {row['seconds']:>9.3f} {row['rows']:>11,} "
                      f"{row['input_mb']:>9.0f} {row['peak_mb']:>8.0f}")


if __name__ == "__main__":
    main()
