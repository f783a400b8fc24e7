"""Load runs against a served app: concurrency levels, server memory, a nightly publish under load.

Used by ``benchmarks/load_app.py`` (the full run, figures printed) and
``tests/test_load_short.py`` (the CI variant, invariants asserted).  Both serve the
app with ``tests.support.server.serve_app`` and hand this module its URL.

- :func:`run_level`: N :class:`~tests.support.load_users.ScreenerUser` at once for a
  fixed time while :class:`RssSampler` reads the server's resident memory (process
  and children, from /proc, 10 times a second).  The :class:`LevelReport` gives
  latency percentiles per action, the errors and the peak RSS.
- :func:`nightly_under_load`: N users keep filtering while ``python -m screener
  nightly`` publishes the next session's snapshot into the same data folder; the
  :class:`NightlyReport` lists every broken promise (:meth:`NightlyReport.problems`):
  an error, a page from neither snapshot or inconsistent with its own badge, a user
  who went back to the old snapshot after seeing the new one, or a fresh rerun after
  the publish that still shows the old one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from tests.support.load_users import FILTER_CHANGES, Sample, ScreenerUser, VisitAborted
from tests.support.pandas_screen import SnapshotCounts
from tests.support.server import REPO_ROOT
from tests.support.stclient import BrowserSession

ALL_FILTER_CHANGES = "filter change (all)"
ACTION_ORDER = ("open", *FILTER_CHANGES, ALL_FILTER_CHANGES, "type a value", "preset", "download", "rerun")


def _process_tree(pid: int) -> list[int]:
    """``pid`` and all its live descendants, from /proc."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children", encoding="ascii") as children:
                    pending.extend(int(child) for child in children.read().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
        found.append(current)
    return found


def _tree_total(pid: int, read: Callable[[int], int]) -> int:
    """The sum of ``read(member)`` over ``pid`` and its live descendants, skipping any that has gone."""
    total = 0
    for member in _process_tree(pid):
        try:
            total += read(member)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def _rss(member: int) -> int:
    with open(f"/proc/{member}/status", encoding="ascii") as status:
        return next((int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:")), 0)


def _cpu_ticks(member: int) -> int:
    with open(f"/proc/{member}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)


def process_tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants (0 once it is gone)."""
    return _tree_total(pid, _rss)


def process_tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by ``pid`` and its live descendants."""
    return _tree_total(pid, _cpu_ticks) / os.sysconf("SC_CLK_TCK")


class RssSampler:
    """Samples a process tree's RSS at ``hz`` in a thread; ``peak()`` since the last ``reset()``."""

    def __init__(self, pid: int, hz: float = 10.0) -> None:
        self.pid, self.interval = pid, 1.0 / hz
        self._peak = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)

    def __enter__(self) -> RssSampler:
        if not process_tree_rss(self.pid):
            raise ProcessLookupError(f"no process {self.pid} to sample")
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            rss = process_tree_rss(self.pid)
            with self._lock:
                self._peak = max(self._peak, rss)
            self._stop.wait(self.interval)

    def reset(self) -> None:
        with self._lock:
            self._peak = process_tree_rss(self.pid)

    def peak(self) -> int:
        with self._lock:
            return self._peak


@dataclass(frozen=True)
class ActionStats:
    action: str
    n: int
    p50: float
    p95: float
    p99: float
    max: float
    errors: int


def action_stats(samples: list[Sample]) -> list[ActionStats]:
    """Latency percentiles (ms, successful actions) and error counts per action, in ACTION_ORDER."""
    by_action: dict[str, list[Sample]] = {}
    for sample in samples:
        by_action.setdefault(sample.action, []).append(sample)
        if sample.action in FILTER_CHANGES:
            by_action.setdefault(ALL_FILTER_CHANGES, []).append(sample)
    rows = []
    for action in sorted(by_action, key=lambda a: ACTION_ORDER.index(a) if a in ACTION_ORDER else len(ACTION_ORDER)):
        group = by_action[action]
        times = np.array([s.ms for s in group if s.error is None])
        cuts = np.percentile(times, [50, 95, 99]) if len(times) else [float("nan")] * 3
        rows.append(ActionStats(action, len(times), *(float(c) for c in cuts),
                                float(times.max()) if len(times) else float("nan"),
                                sum(s.error is not None for s in group)))
    return rows


@dataclass
class LevelReport:
    sessions: int
    seconds: float
    think: float
    samples: list[Sample]
    visits: int
    peak_rss: int
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    server_cpu: float
    client_cpu: float

    @property
    def errors(self) -> list[Sample]:
        return [s for s in self.samples if s.error is not None]

    def stats(self) -> list[ActionStats]:
        return action_stats(self.samples)

    def stat(self, action: str) -> ActionStats | None:
        return next((row for row in self.stats() if row.action == action), None)

    def table(self) -> str:
        lines = [f"{'action':22s} {'n':>6s} {'p50':>8s} {'p95':>8s} {'p99':>8s} {'max':>8s} {'errors':>7s}"]
        for row in self.stats():
            lines.append(f"{row.action:22s} {row.n:6d} {row.p50:8.1f} {row.p95:8.1f} {row.p99:8.1f} "
                         f"{row.max:8.1f} {row.errors:7d}")
        lines.append(f"visits {self.visits}, actions {len(self.samples)}, errors {len(self.errors)}; "
                     f"server peak RSS {self.peak_rss / 2**20:.0f} MB; CPU seconds: server {self.server_cpu:.1f}, "
                     f"client {self.client_cpu:.1f}; load average {self.load_before[0]:.2f} before, "
                     f"{self.load_after[0]:.2f} after (1 min)")
        lines.extend(f"  error: user {s.user} {s.action}: {s.error}" for s in self.errors[:10])
        return "\n".join(lines)


async def _run_users(users: list[ScreenerUser], seconds: float, think: float) -> None:
    """All users until the deadline; user i starts i/N of a think time late, as people do not click in unison."""
    deadline = time.monotonic() + seconds

    async def staggered(position: int, user: ScreenerUser) -> None:
        await asyncio.sleep(think * position / len(users))
        await user.run_until(deadline)

    await asyncio.gather(*(staggered(i, user) for i, user in enumerate(users)))


def run_level(base_url: str, counts: SnapshotCounts, sampler: RssSampler, sessions: int, seconds: float,
              think: float = 1.0, seed: int = 0, timeout: float = 60.0) -> LevelReport:
    """``sessions`` users on the main path for ``seconds``; sessions start staggered over one think time."""
    users = [ScreenerUser(i, base_url, counts, think=think, seed=seed, timeout=timeout) for i in range(sessions)]
    load_before, server_cpu, client_cpu = os.getloadavg(), process_tree_cpu(sampler.pid), time.process_time()
    sampler.reset()
    asyncio.run(_run_users(users, seconds, think))
    return LevelReport(sessions, seconds, think, [s for u in users for s in u.samples],
                       sum(u.visits for u in users), sampler.peak(), load_before, os.getloadavg(),
                       process_tree_cpu(sampler.pid) - server_cpu, time.process_time() - client_cpu)


# --- a nightly publish under load -------------------------------------------------------


@dataclass
class NightlyReport:
    old_date: dt.date
    new_date: dt.date
    exit_code: int
    nightly_output: str
    publish_started: float
    publish_finished: float
    samples: list[Sample] = field(default_factory=list)
    screens_that_differ: int = 0
    screens_compared: int = 0

    @property
    def during_publish(self) -> list[Sample]:
        return [s for s in self.samples if s.started < self.publish_finished and s.finished > self.publish_started]

    def problems(self) -> list[str]:
        """Every broken promise of "old or new, consistently, and the new one without a restart"."""
        found = [f"nightly exited {self.exit_code}: {self.nightly_output[-400:]}"] if self.exit_code else []
        found += [f"user {s.user} {s.action}: {s.error}" for s in self.samples if s.error]
        for user in sorted({s.user for s in self.samples}):
            seen = sorted((s for s in self.samples if s.user == user and s.snapshot), key=lambda s: s.started)
            dates = [s.snapshot for s in seen]
            if any(d not in (self.old_date, self.new_date) for d in dates):
                found.append(f"user {user} saw a snapshot other than {self.old_date} / {self.new_date}: {dates}")
            if self.new_date in dates and self.old_date in dates[dates.index(self.new_date):]:
                found.append(f"user {user} went back to the old snapshot after seeing the new one: {dates}")
            if self.old_date not in dates:
                found.append(f"user {user} never saw the old snapshot: the publish did not happen under its load")
            after = [s for s in seen if s.started > self.publish_finished]
            if not after or after[-1].action != "rerun" or any(s.snapshot != self.new_date for s in after):
                found.append(f"user {user}: pages started after the publish show "
                             f"{[(s.action, s.snapshot) for s in after]}, expected only {self.new_date}")
        if not self.during_publish:
            found.append("no page was served while the nightly job ran: nothing was tested under load")
        if not self.screens_that_differ:
            found.append("the two snapshots give the same counts for every screen used: the check had no teeth")
        return found

    def summary(self) -> str:
        return (f"nightly {self.old_date} -> {self.new_date}: publish {self.publish_finished - self.publish_started:.1f} s "
                f"(exit {self.exit_code}), {len(self.samples)} pages checked, {len(self.during_publish)} served "
                f"during the publish, {self.screens_that_differ}/{self.screens_compared} screens count differently "
                f"on the two snapshots, problems: {len(self.problems())}")


def next_session(date: dt.date) -> dt.date:
    """The demo calendar's next trading session after ``date`` (what tomorrow's nightly publishes)."""
    from screener.sources.demo import is_session

    day = date + dt.timedelta(days=1)
    while not is_session(day):
        day += dt.timedelta(days=1)
    return day


async def _nightly_under_load(base_url: str, data_dir: Path, counts: SnapshotCounts, sessions: int,
                              old_date: dt.date, new_date: dt.date, warmup: float, after: float,
                              think: float, timeout: float) -> NightlyReport:
    users = [ScreenerUser(i, base_url, counts, think=think, seed=7, timeout=timeout) for i in range(sessions)]
    tabs = [BrowserSession(base_url, timeout=timeout) for _ in users]
    stop = asyncio.Event()
    opened = [asyncio.get_running_loop().create_future() for _ in users]
    screens: set[tuple] = set()

    async def filtering(user: ScreenerUser, tab: BrowserSession, ready: asyncio.Future[None]) -> None:
        try:
            try:
                await user.open(tab, user.preset_for(0))
            finally:
                ready.set_result(None)
            while not stop.is_set():
                screens.add(tuple(sorted(user.expected, key=repr)))
                await user.change_filter(tab)
            screens.add(tuple(sorted(user.expected, key=repr)))
            await user.rerun(tab)
        except VisitAborted:
            pass
        finally:
            await tab.close()

    loops = [asyncio.create_task(filtering(u, t, r)) for u, t, r in zip(users, tabs, opened)]
    await asyncio.gather(*opened)  # every user has a page of the old snapshot before the publish starts
    await asyncio.sleep(warmup)
    publish_started = time.monotonic()
    nightly = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "screener", "nightly", "--source", "demo", "--as-of", new_date.isoformat(),
        "--data-dir", str(data_dir), cwd=REPO_ROOT, stdout=asyncio.subprocess.PIPE, stderr=subprocess.STDOUT)
    output, _ = await nightly.communicate()
    publish_finished = time.monotonic()
    await asyncio.sleep(after)
    stop.set()
    await asyncio.gather(*loops)
    report = NightlyReport(old_date, new_date, nightly.returncode or 0, output.decode(errors="replace"),
                           publish_started, publish_finished, [s for u in users for s in u.samples])
    if report.exit_code == 0:
        differ = [s for s in screens if counts.count(old_date, s) != counts.count(new_date, s)]
        report.screens_that_differ, report.screens_compared = len(differ), len(screens)
    return report


def nightly_under_load(base_url: str, data_dir: Path, counts: SnapshotCounts, sessions: int,
                       old_date: dt.date, *, warmup: float = 2.0, after: float = 2.0, think: float = 0.2,
                       timeout: float = 60.0) -> NightlyReport:
    """Users open and filter on ``old_date``; ``warmup`` s later the next session's nightly publishes while
    they keep filtering; ``after`` s after it exits each user finishes its action and reruns once."""
    return asyncio.run(_nightly_under_load(base_url, data_dir, counts, sessions, old_date,
                                           next_session(old_date), warmup, after, think, timeout))
