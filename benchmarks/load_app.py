"""Concurrent browser-like sessions against the served app: latency per action, errors, server memory.

Targets (issue 5, 2,000-ticker snapshot): no errors; median filter-change round trip
under 300 ms at 10 sessions; server memory under 600 MB at 25 sessions.

Publishes the demo market (2,000 tickers) into a temp data folder (or serves
``--data-dir``), starts ``streamlit run app.py`` on loopback
(``tests/support/server.py``), warms it with one visit, then for each concurrency
level runs that many simulated users for ``--duration`` seconds.  Each user speaks
Streamlit's websocket protocol like a browser tab (``tests/support/stclient.py``)
and walks the Screener's main path again and again (``tests/support/load_users.py``):
open a preset link, pick sectors, edit a threshold, type a value and add a filter,
remove it, load another preset, download (CSV / Excel / Parquet in turn), clear the
filters; then close the tab and open a new one.  Users pause ``--think`` seconds
(uniform 0.5x-1.5x) between actions; ``--think 0`` is the closed-loop stress case.
Every page is checked exactly (snapshot badge, match count equal to an independent
pandas count, download row counts); a failed check counts as an error.

Latency is what the browser waits: from sending the action to ``script_finished``
(an open also includes the page's HTTP requests and the websocket handshake; a
download is the file request plus ``GET /media``).  Server memory is the RSS of the
streamlit process and its children sampled 10 times a second; the peak per level is
printed.  The client runs on the same 2 cores as the server, and other people's jobs
may too: the load average is printed beside the figures.

Writes ``artifacts/reliability/load.json`` (see ``benchmarks/reliability.py``).
Run from the repo root::

    .venv/bin/python benchmarks/load_app.py [--sessions 1,10,25] [--duration 60] [--think 1.0]
                                            [--data-dir DIR] [--file-watcher none|auto] [--nightly SESSIONS]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import publish_demo  # noqa: E402
from benchmarks.reliability import write_result  # noqa: E402
from tests.support.load_run import (  # noqa: E402
    ALL_FILTER_CHANGES, LevelReport, RssSampler, nightly_under_load, run_level,
)
from tests.support.load_users import ScreenerUser  # noqa: E402
from tests.support.pandas_screen import SnapshotCounts  # noqa: E402
from tests.support.server import serve_app  # noqa: E402

MB = 2**20
TARGET_FILTER_P50_MS = 300.0
TARGET_PEAK_RSS_MB = 600.0


def newest_snapshot_date(data_dir: Path) -> dt.date:
    dates = sorted(p.name.removeprefix("date=") for p in (data_dir / "snapshots").glob("date=*"))
    return dt.date.fromisoformat(dates[-1])


def warm_up(base_url: str, counts: SnapshotCounts) -> float:
    """One visit before measuring (imports, caches); returns its first page time in ms."""
    user = ScreenerUser(0, base_url, counts, think=0)
    asyncio.run(user.visit(time.monotonic() + 30))
    if any(s.error for s in user.samples):
        raise SystemExit(f"warm-up visit failed: {[s.error for s in user.samples if s.error]}")
    return user.samples[0].ms


def targets(reports: list[LevelReport]) -> list[str]:
    lines = [f"no errors: {'met' if not any(r.errors for r in reports) else 'MISSED'} "
             f"({sum(len(r.errors) for r in reports)} errors in {sum(len(r.samples) for r in reports)} actions)"]
    for report in reports:
        if report.sessions == 10 and (row := report.stat(ALL_FILTER_CHANGES)):
            verdict = "met" if row.p50 < TARGET_FILTER_P50_MS else "MISSED"
            lines.append(f"median filter change at 10 sessions < {TARGET_FILTER_P50_MS:.0f} ms: {verdict} "
                         f"({row.p50:.0f} ms)")
        if report.sessions == 25:
            peak = report.peak_rss / MB
            lines.append(f"server memory at 25 sessions < {TARGET_PEAK_RSS_MB:.0f} MB: "
                         f"{'met' if peak < TARGET_PEAK_RSS_MB else 'MISSED'} ({peak:.0f} MB)")
    return lines


def figures(reports: list[LevelReport], idle_rss: int, cold_open_ms: float) -> dict[str, object]:
    found: dict[str, object] = {"idle_rss_mb": round(idle_rss / MB), "cold_open_ms": round(cold_open_ms)}
    for report in reports:
        tag = f"s{report.sessions}"
        for action, name in ((ALL_FILTER_CHANGES, "filter"), ("open", "open"), ("download", "download")):
            row = report.stat(action)
            if row is not None and row.n:
                found[f"{tag}_{name}_p50_ms"] = round(row.p50)
                found[f"{tag}_{name}_p95_ms"] = round(row.p95)
        found[f"{tag}_actions"] = len(report.samples)
        found[f"{tag}_errors"] = len(report.errors)
        found[f"{tag}_peak_rss_mb"] = round(report.peak_rss / MB)
        found[f"{tag}_server_cpu_ms_per_action"] = round(1000 * report.server_cpu / max(len(report.samples), 1))
        found[f"{tag}_load1"] = round(report.load_after[0], 2)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", default="1,10,25", help="concurrency levels, comma-separated")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per level")
    parser.add_argument("--think", type=float, default=1.0, help="mean pause between a user's actions, seconds")
    parser.add_argument("--data-dir", type=Path, help="serve this data folder (default: publish the demo market "
                        "into a temp folder)")
    parser.add_argument("--file-watcher", choices=("none", "auto"), default="none",
                        help="Streamlit's server.fileWatcherType: none (default; a deployment serves fixed code, "
                             "see tests/support/server.py) or auto (what `streamlit run` does by default)")
    parser.add_argument("--nightly", type=int, default=0, metavar="SESSIONS",
                        help="finally, publish the next session's demo snapshot while this many users filter "
                             "(writes into the data folder: use a scratch one)")
    args = parser.parse_args()
    levels = [int(n) for n in args.sessions.split(",") if n.strip()]
    command = "python benchmarks/load_app.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    with tempfile.TemporaryDirectory(prefix="load-app-") as tmp:
        data_dir = args.data_dir or Path(tmp) / "data"
        if args.data_dir is None:
            publish_demo(data_dir)
        counts = SnapshotCounts(data_dir)
        log = Path(tmp) / "server.log"
        print(f"data {data_dir} (snapshot {newest_snapshot_date(data_dir)}), levels {levels}, {args.duration:.0f} s "
              f"each, think {args.think} s, file watcher {args.file_watcher}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
        with serve_app(data_dir, log=log, file_watcher=args.file_watcher) as (base_url, server), RssSampler(server.pid) as sampler:
            sampler.reset()
            idle_rss = sampler.peak()
            cold_open_ms = warm_up(base_url, counts)
            print(f"server pid {server.pid}: idle RSS {idle_rss / MB:.0f} MB; cold first page {cold_open_ms:.0f} ms")
            reports = []
            for sessions in levels:
                report = run_level(base_url, counts, sampler, sessions, args.duration, think=args.think)
                reports.append(report)
                print(f"\n=== {sessions} session(s), {args.duration:.0f} s, think {args.think} s (latency in ms)")
                print(report.table(), flush=True)
            nightly = None
            if args.nightly:
                nightly = nightly_under_load(base_url, data_dir, counts, args.nightly,
                                             newest_snapshot_date(data_dir))
                print(f"\n=== {nightly.summary()}")
                for problem in nightly.problems():
                    print(f"  problem: {problem}")
        print("\n=== targets (2 shared cores: see the load averages)")
        for line in targets(reports):
            print(f"  {line}")
        lost = sum(len(r.errors) for r in reports) + (len(nightly.problems()) if nightly else 0)
        path = write_result(
            "load", f"{'/'.join(map(str, levels))} browser-like sessions x {args.duration:.0f} s on the Screener main "
            f"path (think {args.think} s, file watcher {args.file_watcher})" + (f" + nightly publish under {args.nightly} sessions" if nightly else ""),
            runs=sum(len(r.samples) for r in reports) + (len(nightly.samples) if nightly else 0), faults=1 if nightly else 0,
            survived=1 if nightly and not nightly.problems() else 0, lost=lost,
            figures=figures(reports, idle_rss, cold_open_ms), variant="full", command=command)
        print(f"\nresult: {path}")
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
