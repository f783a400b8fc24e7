"""The nightly job: fetch from a source, compute every field, publish one snapshot atomically.

``python -m screener nightly`` calls :func:`run_nightly`.  Whatever happens, a report
is recorded under ``data/runs/`` (and ``data/last_run.json``); only a complete,
validated run that kept enough of the universe becomes a snapshot folder, so a bad
night never replaces a good one.
"""

from __future__ import annotations

import datetime as dt
import platform
import sys
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, TextIO

from screener import store
from screener.build import build_stocks
from screener.sources.base import MarketData, Progress, SourceError, SourceName

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_TOO_MUCH_LOST = 2


@dataclass
class NightlyOptions:
    """Everything one run needs; the CLI fills it from its flags."""

    source: SourceName = "yahoo"
    as_of: dt.date | None = None
    data_dir: Path = field(default_factory=store.default_data_dir)
    max_loss: float = 0.10
    keep_prices: int = store.DEFAULT_KEEP_PRICES
    universe: Path | None = None
    prices: Path | None = None
    fundamentals: Path | None = None
    source_options: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunOutcome:
    exit_code: int
    report: dict[str, Any]
    snapshot: store.Snapshot | None = None


class ConsoleProgress:
    """A one-line progress bar on a terminal; a line per 10% when output is a log file."""

    def __init__(self, stream: TextIO = sys.stderr, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.is_tty = stream.isatty()
        self._last_draw = 0.0
        self._last_decile: dict[str, int] = {}

    def __call__(self, done: int, total: int, what: str) -> None:
        share = done / total if total else 1.0
        if self.is_tty:
            now = time.monotonic()
            if done < total and now - self._last_draw < 0.1:
                return
            self._last_draw = now
            filled = int(share * self.width)
            bar = "#" * filled + "-" * (self.width - filled)
            end = "\n" if done >= total else ""
            self.stream.write(f"\r  [{bar}] {done:>5}/{total:<5} {what[:40]:<40}{end}")
            self.stream.flush()
            return
        decile = int(share * 10)
        if decile > self._last_decile.get(what, -1):
            self._last_decile[what] = decile
            self.stream.write(f"  {what}: {done}/{total} ({share:.0%})\n")
            self.stream.flush()


def load_source(options: NightlyOptions, progress: Progress) -> MarketData:
    """Ask the chosen source for one night's data (the only place that knows all sources)."""
    if options.source == "demo":
        from screener.sources.demo import load_demo

        return load_demo(as_of=options.as_of, progress=progress)
    if options.source == "files":
        from screener.sources.files import load_files

        missing = [flag for flag, value in (("--universe", options.universe), ("--prices", options.prices))
                   if value is None]
        if missing:
            raise SourceError(f"--source files needs {' and '.join(missing)} (see README: Bring your own data)")
        return load_files(universe=options.universe, prices=options.prices,
                          fundamentals=options.fundamentals, as_of=options.as_of, progress=progress)
    if options.source == "yahoo":
        from screener.sources.yahoo import load_yahoo

        return load_yahoo(as_of=options.as_of, data_dir=options.data_dir, universe_path=options.universe,
                          progress=progress, **options.source_options)
    raise SourceError(f"unknown source {options.source!r}; choose demo, files or yahoo")


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in ("pandas", "pyarrow", "duckdb", "yfinance", "numpy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions


def run_nightly(options: NightlyOptions, progress: Progress | None = None,
                out: TextIO = sys.stdout,
                loader: Callable[[NightlyOptions, Progress], MarketData] = load_source) -> RunOutcome:
    """One nightly run, end to end; never raises for bad data, returns an exit code and report."""
    progress = progress or ConsoleProgress()
    started = time.monotonic()
    report: dict[str, Any] = {
        "status": "running",
        "source": options.source,
        "requested_as_of": options.as_of.isoformat() if options.as_of else None,
        "started_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "max_loss": options.max_loss,
        "argv": sys.argv[1:],
        "versions": _versions(),
        "timings_s": {},
    }
    snapshot = None
    try:
        with store.run_lock(options.data_dir):
            report["recovered"] = store.recover(options.data_dir)
            tick = time.monotonic()
            data = loader(options, progress)
            report["timings_s"]["fetch"] = round(time.monotonic() - tick, 3)
            report["source"] = data.source
            tick = time.monotonic()
            built = build_stocks(data, as_of=options.as_of)
            report["timings_s"]["compute"] = round(time.monotonic() - tick, 3)
            report.update(_counts(data, built.stocks, built.failures))
            report["as_of"] = built.as_of.isoformat()
            report["rejected_cells"] = data.rejections.to_json()
            report["computed_out_of_range"] = built.out_of_range.to_json()
            report["notes"] = list(data.notes)
            report["stats"] = data.stats
            if report["lost_share"] > options.max_loss:
                report["status"] = "failed"
                usable = report["tickers_in"] - report["tickers_without_data"]
                report["error"] = (
                    f"only {usable} of {report['tickers_in']} tickers have usable data "
                    f"({report['lost_share']:.1%} lost, limit {options.max_loss:.0%})")
                return _finish(options, report, started, EXIT_TOO_MUCH_LOST, None, out)
            tick = time.monotonic()
            report["status"] = "published"
            report["snapshot"] = str(store.snapshot_path(options.data_dir, built.as_of))
            report["finished_at"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
            report["elapsed_s"] = round(time.monotonic() - started, 3)
            snapshot = store.publish_snapshot(options.data_dir, built.as_of, built.stocks, data.prices,
                                              report, keep_prices=options.keep_prices)
            report["timings_s"]["publish"] = round(time.monotonic() - tick, 3)
            return _finish(options, report, started, EXIT_OK, snapshot, out)
    except Exception as exc:  # noqa: BLE001 - any failure is recorded and reported, never half-published
        report["status"] = "failed"
        report["error"] = str(exc)
        report["traceback"] = traceback.format_exc(limit=8)
        return _finish(options, report, started, EXIT_FAILED, snapshot, out)


def _counts(data: MarketData, stocks: Any, failures: dict[str, str]) -> dict[str, Any]:
    """Run-report counts.  A ticker has no usable data when it was not written (no recent
    prices) or its source reports it failed outright (e.g. Yahoo never served its
    fundamentals); both count toward the loss limit.  Stale tickers are served with
    their last good values and do not."""
    universe = set(data.universe["ticker"])
    written = set(stocks["ticker"])
    lost = (universe - written) | (set(failures) & universe)
    by_reason: dict[str, list[str]] = {}
    for ticker, reason in sorted(failures.items()):
        by_reason.setdefault(reason, []).append(ticker)
    stale = sorted(stocks.loc[stocks["stale"].fillna(False).astype(bool), "ticker"].tolist())
    return {
        "tickers_in": len(universe),
        "tickers_written": len(written),
        "tickers_without_data": len(lost),
        "lost_share": round(len(lost) / len(universe), 4) if universe else 1.0,
        "failures_by_reason": dict(Counter(failures.values()).most_common()),
        "failures": by_reason,
        "stale_count": len(stale),
        "stale_tickers": stale,
    }


def _finish(options: NightlyOptions, report: dict[str, Any], started: float, code: int,
            snapshot: store.Snapshot | None, out: TextIO) -> RunOutcome:
    report.setdefault("finished_at", dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    report["elapsed_s"] = round(time.monotonic() - started, 3)
    report["exit_code"] = code
    try:
        store.record_run(options.data_dir, report)
    except OSError as exc:  # a full or read-only disk must not hide the run's own outcome
        report.setdefault("notes", []).append(f"could not record the run report: {exc}")
    out.write(summary(report) + "\n")
    return RunOutcome(exit_code=code, report=report, snapshot=snapshot)


def summary(report: dict[str, Any]) -> str:
    """The closing lines a person reads after a run (also what cron mails)."""
    lines = []
    label = "DEMO (synthetic) " if report.get("source") == "demo" else ""
    if report["status"] == "published":
        lines.append(f"Published {label}snapshot {report['as_of']} ({report['source']}) -> {report['snapshot']}")
    else:
        lines.append(f"FAILED: {report.get('error', 'unknown error')}")
        lines.append("  nothing was published; earlier snapshots are unchanged")
    if "tickers_in" in report:
        reasons = ", ".join(f"{k} {v}" for k, v in report["failures_by_reason"].items()) or "none"
        lines.append(f"  tickers in {report['tickers_in']}, written {report['tickers_written']}, "
                     f"failures {sum(report['failures_by_reason'].values())} ({reasons}), "
                     f"stale {report['stale_count']}, rejected cells {report['rejected_cells']['total']}")
    timings = ", ".join(f"{k} {v:.1f} s" for k, v in report["timings_s"].items())
    lines.append(f"  elapsed {report['elapsed_s']:.1f} s" + (f" ({timings})" if timings else ""))
    requests = report.get("stats", {}).get("requests_per_ticker")
    if requests is not None:
        lines.append(f"  requests per ticker {requests:.2f}")
    for note in report.get("notes", [])[:10]:
        lines.append(f"  note: {note}")
    return "\n".join(lines)
