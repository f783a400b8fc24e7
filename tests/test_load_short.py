"""Load, CI variant: browser-like sessions on the served app, and a nightly publish under load.

The full run is ``benchmarks/load_app.py`` (1, 10 and 25 sessions for 60 s, with
figures); this one asserts the invariants on a short run and writes the results for
the reliability report (``artifacts/reliability/load.json`` and ``load_nightly.json``):

- 1 then 5 simulated users (about 0.3 s between actions) walk the Screener's main
  path (open a preset link, pick sectors, edit a threshold, add and remove a filter,
  load another preset, download, clear) for 10 and 15 s: no errors, every step
  reached, and every page's count equals the pandas count on the snapshot its badge
  names (checked inside the users, see ``tests/support/load_users.py``);
- 3 users keep filtering while ``python -m screener nightly`` publishes the next
  session into the served data folder: no errors, every page from one snapshot and
  consistent with it, no user goes back to the old one, and a fresh rerun after the
  publish shows the new one from the same server process.

No timing is asserted: the figures are printed and recorded, the benchmark compares
them with the targets.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen

import pytest

from benchmarks.reliability import write_result
from tests.support.load_run import LevelReport, RssSampler, nightly_under_load, run_level
from tests.support.pandas_screen import SnapshotCounts
from tests.support.server import serve_app

pytestmark = pytest.mark.slow

DEMO_AS_OF = dt.date(2026, 11, 20)
MB = 2**20
MAIN_PATH = ("open", "sectors", "threshold", "type a value", "add filter", "remove filter", "preset", "download",
             "clear filters")


@dataclass
class Served:
    base_url: str
    data_dir: Path
    server: Popen
    sampler: RssSampler
    counts: SnapshotCounts


@pytest.fixture(scope="module")
def served(tmp_path_factory, demo_data_dir):
    """The app on a private copy of the demo data folder (the nightly test publishes into it)."""
    root = tmp_path_factory.mktemp("load")
    data_dir = root / "data"
    shutil.copytree(demo_data_dir, data_dir)
    with serve_app(data_dir, log=root / "server.log") as (base_url, server), RssSampler(server.pid) as sampler:
        yield Served(base_url, data_dir, server, sampler, SnapshotCounts(data_dir))


def test_concurrent_sessions_walk_the_main_path_without_errors(served):
    reports: list[LevelReport] = [
        run_level(served.base_url, served.counts, served.sampler, sessions, seconds, think=0.3, seed=sessions)
        for sessions, seconds in ((1, 10.0), (5, 15.0))]
    for report in reports:
        print(f"\n--- {report.sessions} session(s), {report.seconds:.0f} s\n{report.table()}")
    figures: dict[str, object] = {}
    for report in reports:
        figures[f"s{report.sessions}_actions"] = len(report.samples)
        if (row := report.stat("filter change (all)")) is not None:
            figures[f"s{report.sessions}_filter_p50_ms"] = round(row.p50)
        figures[f"s{report.sessions}_peak_rss_mb"] = round(report.peak_rss / MB)
        figures[f"s{report.sessions}_load1"] = round(report.load_after[0], 2)
    errors = [s for r in reports for s in r.errors]
    write_result("load", "1 then 5 browser-like sessions on the Screener main path (10 s, 15 s)",
                 runs=sum(len(r.samples) for r in reports), faults=0, survived=0, lost=len(errors),
                 figures=figures, variant="ci", command="pytest tests/test_load_short.py")
    assert not errors, [f"user {s.user} {s.action}: {s.error}" for s in errors[:5]]
    done = {s.action for r in reports for s in r.samples}
    assert set(MAIN_PATH) <= done, f"main path steps never reached: {set(MAIN_PATH) - done}"
    assert all(r.peak_rss > 0 for r in reports)


def test_a_nightly_publish_under_load_is_seen_whole_and_without_a_restart(served):
    pid = served.server.pid
    report = nightly_under_load(served.base_url, served.data_dir, served.counts, sessions=3, old_date=DEMO_AS_OF)
    print(f"\n{report.summary()}")
    problems = report.problems()
    write_result("load_nightly", f"nightly publish ({report.old_date} -> {report.new_date}) while 3 sessions filter",
                 runs=len(report.samples), faults=1, survived=0 if problems else 1, lost=len(problems),
                 figures={"pages_checked": len(report.samples), "pages_during_publish": len(report.during_publish),
                          "publish_s": round(report.publish_finished - report.publish_started, 1),
                          "screens_differing": f"{report.screens_that_differ}/{report.screens_compared}"},
                 variant="ci", command="pytest tests/test_load_short.py")
    assert problems == []
    assert served.server.poll() is None and served.server.pid == pid  # picked up by the same process
