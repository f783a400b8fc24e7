"""SIGKILL at random moments over many nightly runs: no earlier snapshot changes by a byte,
the newest good snapshot is always readable, and the next run cleans up and publishes.

Each run is a real child process (forked from a server that imported pandas once, see
``tests/support/faults.py``) running ``run_nightly`` on a 100-ticker random market.  The
kill delay is random (seeded) and drawn from the measured duration of unkilled runs: half
uniformly over the whole run (timed from the child's start), half over its publish window
(writing the three files, validating, renaming, recording; timed from the first write),
where a kill is most dangerous and the window is shortest.
About a third of the runs re-run the newest date, so kills also hit the same-date swap.

    RELIABILITY_KILLS=200 pytest tests/test_faults_nightly_kill.py -s    # the full variant
"""

from __future__ import annotations

import collections
import datetime as dt
import os
import random
import statistics
from pathlib import Path

import duckdb
import numpy as np

from screener import store
from tests.support.faults import PHASES, NightlyForkServer, folder_digest, write_result

KILLS = int(os.environ.get("RELIABILITY_KILLS", "24"))
SEED = int(os.environ.get("RELIABILITY_SEED", "20261120"))
FIRST_DATE = dt.date(2024, 1, 2)
SAME_DATE_SHARE = 0.3


def next_weekday(day: dt.date) -> dt.date:
    return dt.date.fromisoformat(str(np.busday_offset(day, 1, roll="forward")))


def snapshot_digests(data_dir: Path) -> dict[str, dict[str, str]]:
    root = store.snapshots_dir(data_dir)
    return {folder.name: folder_digest(folder) for folder in sorted(root.iterdir())} if root.exists() else {}


def problems_after(data_dir: Path, before: dict[str, dict[str, str]], target: str) -> list[str]:
    """Everything lost or broken after a run that was aimed at ``target`` (a folder name)."""
    problems: list[str] = []
    good, skipped = store.list_snapshots(data_dir)
    problems += [f"damaged folder {item.path.name}: {item.reason}" for item in skipped]
    good_names = {snapshot.path.name for snapshot in good}
    for name, digest in before.items():
        now = folder_digest(store.snapshots_dir(data_dir) / name)
        if now == digest:
            continue
        if name == target and name in good_names:
            continue  # a same-date rerun swapped in a complete, valid snapshot: replaced, not lost
        problems.append(f"earlier snapshot {name} changed ({len(now)} files now, {len(digest)} before)")
    problems += [f"unexpected new folder {name}" for name in good_names - before.keys() if name != target]
    latest, _ = store.latest_snapshot(data_dir)
    if latest is None:
        problems.append("no good snapshot left")
    else:
        with duckdb.connect() as con:
            rows = con.execute("SELECT count(*) FROM read_parquet(?)", [str(latest.stocks_path)]).fetchone()[0]
        if rows != latest.run.get("tickers_written"):
            problems.append(f"{latest.path.name}: DuckDB reads {rows} rows, run.json says "
                            f"{latest.run.get('tickers_written')}")
    return problems


def test_sigkill_at_random_moments_loses_nothing(tmp_path):
    data_dir = tmp_path / "data"
    phases = tmp_path / "phases.txt"
    rng = random.Random(SEED)
    kills_by_phase: collections.Counter[str] = collections.Counter()
    lost: list[str] = []
    kills = finished = same_date_kills = survived = max_leftovers = 0
    day = FIRST_DATE
    with NightlyForkServer() as server:
        # Calibration: unkilled runs publish the first snapshots and time the steps.
        calibration = []
        for seed in range(3):
            child = server.run(data_dir, day.isoformat(), seed=seed, phases=phases)
            assert child.exit_code == 0 and not child.killed, child
            calibration.append(child)
            day = next_weekday(day)
        duration = statistics.median(dict(c.marks)["done"] - dict(c.marks)["start"] for c in calibration)
        window = statistics.median(dict(c.marks)["done"] - dict(c.marks)["write stocks.parquet"]
                                   for c in calibration)

        attempts = 0
        while kills < KILLS and attempts < KILLS * 4:
            attempts += 1
            newest = max(store.snapshots_dir(data_dir).iterdir()).name.removeprefix("date=")
            same_date = rng.random() < SAME_DATE_SHARE
            target_day = dt.date.fromisoformat(newest) if same_date else next_weekday(dt.date.fromisoformat(newest))
            target = f"date={target_day.isoformat()}"
            kill = ("start", rng.uniform(0, duration)) if rng.random() < 0.5 else (
                "write stocks.parquet", rng.uniform(0, window))
            before = snapshot_digests(data_dir)
            child = server.run(data_dir, target_day.isoformat(), seed=attempts + 10, phases=phases, kill=kill)
            problems = problems_after(data_dir, before, target)
            lost += [f"run {attempts} ({child.phase}): {p}" for p in problems]
            staging = store.staging_dir(data_dir)
            max_leftovers = max(max_leftovers, len(list(staging.iterdir())) if staging.exists() else 0)
            if child.killed:
                kills += 1
                same_date_kills += same_date
                kills_by_phase[child.phase] += 1
                survived += not problems
            else:
                assert child.exit_code == 0, child
                finished += 1

        leftovers = sorted(p.name for p in store.staging_dir(data_dir).iterdir())
        final_day = next_weekday(dt.date.fromisoformat(
            max(store.snapshots_dir(data_dir).iterdir()).name.removeprefix("date=")))
        before = snapshot_digests(data_dir)
        final = server.run(data_dir, final_day.isoformat(), seed=999, phases=phases)
    report = store.read_last_run(data_dir) or {}
    lost += problems_after(data_dir, before, f"date={final_day.isoformat()}")
    latest, _ = store.latest_snapshot(data_dir)
    recovered_ok = (final.exit_code == 0 and latest is not None and latest.date == final_day
                    and not any(store.staging_dir(data_dir).iterdir())
                    and len(report.get("recovered", [])) == len(leftovers))
    lost += [] if recovered_ok else [f"final run did not recover cleanly: exit {final.exit_code}, "
                                     f"recovered {report.get('recovered')}, leftovers {leftovers}"]
    phases_seen = ", ".join(f"{phase} {kills_by_phase[phase]}" for phase in PHASES if kills_by_phase[phase])
    figures = {"kills": kills, "finished_before_kill": finished, "same_date_kills": same_date_kills,
               "kills_by_phase": phases_seen, "run_ms_median": round(duration * 1000, 1),
               "publish_window_ms": round(window * 1000, 1),
               "staging_leftovers_before_final": len(leftovers), "max_staging_leftovers": max_leftovers,
               "snapshots_at_end": len(before) + 1, "seed": str(SEED)}
    write_result("faults_nightly_sigkill", f"nightly SIGKILLed at random moments ({kills} kills), then one clean run",
                 runs=kills + finished + len(calibration) + 1, faults=kills, survived=survived, lost=len(lost),
                 figures=figures, variant="full" if KILLS >= 100 else "ci",
                 command="RELIABILITY_KILLS=24 pytest tests/test_faults_nightly_kill.py -s")
    print(f"\n[faults_nightly_sigkill] kills {kills} ({phases_seen}); finished before the kill {finished}; "
          f"same-date {same_date_kills}; run {duration * 1000:.0f} ms; leftovers cleaned {len(leftovers)}; "
          f"lost {len(lost)}; seed {SEED}")
    assert kills >= min(KILLS, 20), f"only {kills} kills landed in {attempts} attempts"
    assert lost == [], lost
    assert survived == kills
