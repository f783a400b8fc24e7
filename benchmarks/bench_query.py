"""Latency of a screen query (rows + count + funnel) on a 2,000-row snapshot.

Target (DESIGN): under 5 ms at the 95th percentile.  Writes a random but
schema-valid snapshot to a temp folder with ``store.publish_snapshot``, opens it with
``SnapshotDB`` and times ``run_screen`` for a set of screens, from the trivial to a
50-filter worst case.  Prints p50 / p95 / p99 in milliseconds per screen.

    .venv/bin/python benchmarks/bench_query.py [--rows 2000] [--repeat 300] [--threads 1]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from screener.db import SnapshotDB, run_screen  # noqa: E402
from screener.fields import FIELDS  # noqa: E402
from screener.presets import BUILTIN_PRESETS  # noqa: E402
from screener.screen import Filter, Screen, SortKey, from_query  # noqa: E402
from screener.store import publish_snapshot  # noqa: E402

SECTORS = ("Energy", "Financials", "Health Care", "Industrials", "Information Technology",
           "Materials", "Utilities", "Real Estate", "Consumer Discretionary")


def random_stocks(rows: int, seed: int = 7) -> pd.DataFrame:
    """Every catalog column, values inside each field's valid range, ~10% nulls."""
    rng = np.random.default_rng(seed)
    frame: dict[str, object] = {}
    for spec in FIELDS:
        missing = rng.random(rows) < 0.1
        if spec.name == "ticker":
            frame["ticker"] = [f"T{i:04d}" for i in range(rows)]
            continue
        if spec.kind == "float":
            low, high = spec.valid
            low = -1.0 if low is None else max(low, -5.0)
            high = 5.0 if high is None else min(high, 5e9)
            values = rng.uniform(low, high, rows)
            frame[spec.name] = np.where(missing, np.nan, values)
        elif spec.kind == "int":
            low, high = spec.valid
            values = rng.integers(int(low or 0), int(min(high or 100, 1e6)) + 1, rows)
            frame[spec.name] = pd.Series(np.where(missing, 0, values), dtype="Int64").where(~missing)
        elif spec.kind == "bool":
            frame[spec.name] = pd.Series(rng.random(rows) < 0.5, dtype="boolean").where(~missing)
        elif spec.kind == "date":
            frame[spec.name] = [dt.date(2026, 11, 20)] * rows
        elif spec.choices:
            frame[spec.name] = pd.Series(rng.choice(spec.choices, rows), dtype="string").where(~missing)
        elif spec.name == "sector":
            frame[spec.name] = pd.Series(rng.choice(SECTORS, rows), dtype="string").where(~missing)
        else:
            frame[spec.name] = pd.array([f"{spec.name} {i}" for i in range(rows)], dtype="string")
    return pd.DataFrame(frame)


def prices_for(tickers: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"date": pd.Timestamp("2026-11-20"), "ticker": tickers, "open": 1.0,
                         "high": 1.0, "low": 1.0, "close": 1.0, "volume": 100})


def screens() -> dict[str, Screen]:
    worst_filters = tuple(Filter(spec.name, "not_null") for spec in FIELDS if spec.name != "ticker")
    worst_filters += tuple(Filter(name, "gt", -1e9) for name in ("roe", "roa", "market_cap"))
    cases = {
        "no filters": Screen(),
        "one filter": Screen((Filter("revenue_growth", "gt", 0.1),), (SortKey("rs_rating", True),)),
        "sector in + between": from_query(
            "f=sector:in:Energy|Financials|Utilities&f=market_cap:between:300000000|2000000000"
            "&f=quality_bucket:not_in:junk&sort=-quality_score")[0],
        f"worst case: {len(worst_filters[:50])} filters, limit 5000": Screen(
            worst_filters[:50], (SortKey("market_cap", True), SortKey("roe")), limit=5000),
    }
    cases.update({f"preset {p.slug}": p.screen for p in BUILTIN_PRESETS})
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        stocks = random_stocks(args.rows)
        snapshot = publish_snapshot(Path(tmp), dt.date(2026, 11, 20), stocks,
                                    prices_for([*stocks["ticker"], "IWM", "SPY"]),
                                    {"source": "benchmark", "tickers_written": args.rows})
        started = time.perf_counter()
        db = SnapshotDB(snapshot, threads=args.threads)
        print(f"open snapshot ({args.rows} rows, threads={args.threads}): "
              f"{(time.perf_counter() - started) * 1e3:.1f} ms")
        print(f"{'screen':48s} {'matches':>7s} {'p50 ms':>7s} {'p95 ms':>7s} {'p99 ms':>7s}")
        for name, screen in screens().items():
            for _ in range(10):  # warm-up
                result = run_screen(db, screen)
            timings = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                run_screen(db, screen)
                timings.append((time.perf_counter() - started) * 1e3)
            cuts = statistics.quantiles(timings, n=100)
            print(f"{name:48s} {result.count:7d} {cuts[49]:7.2f} {cuts[94]:7.2f} {cuts[98]:7.2f}")
        db.close()


if __name__ == "__main__":
    main()
