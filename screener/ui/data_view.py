"""The Data page's content as plain data: snapshot history, the run report, refresh commands, the catalog.

No Streamlit here.  The run report is ``last_run.json`` (written by every nightly
run, published or failed) as :func:`screener.nightly.run_nightly` records it; these
functions read it defensively with ``.get`` because reports from older versions or a
failed run lack sections, and the page must still show what is there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from screener import store
from screener.fields import FIELDS, GROUPS
from screener.ui.market_overview import Tile

#: What each failure reason of run.json (``sources.base.FAILURE_REASONS``) means for a user.
FAILURE_MEANINGS: dict[str, str] = {
    "rate_limit": "Yahoo refused with 429 Too Many Requests",
    "not_found": "Yahoo does not know the ticker (renamed, delisted or a new listing)",
    "bad_payload": "Yahoo answered with data we could not use",
    "timeout": "No answer in time",
    "http_error": "Another HTTP error",
    "no_prices": "No usable closes, or the last one is more than 5 sessions old",
    "short_history": "Too little price history for the signals",
}

DIRECTIONS: dict[int, str] = {1: "higher", -1: "lower", 0: "—"}
#: Most tickers listed per failure reason or stale list before "and N more".
TICKERS_SHOWN = 30


@dataclass(frozen=True)
class Command:
    """One way to refresh the data, as a user would type it."""

    title: str
    command: str
    note: str


def snapshot_table(good: list[store.Snapshot], counts: pd.DataFrame) -> pd.DataFrame:
    """One row per good snapshot, newest first: date, source, bucket counts, stale, prices kept.

    ``counts`` is :func:`screener.db.history` output (per date: stocks, quality, middle,
    junk, unbucketed, stale).
    """
    meta = pd.DataFrame({
        "date": [s.date for s in good],
        "source": [s.source for s in good],
        "prices": [s.prices_path is not None for s in good],
        "published": [str(s.run.get("finished_at", "")) for s in good],
    })
    counts = counts.assign(date=pd.to_datetime(counts["date"]).dt.date)
    table = meta.merge(counts, on="date", how="left")
    columns = ["date", "source", "stocks", "quality", "middle", "junk", "unbucketed", "stale", "prices",
               "published"]
    return table[columns].sort_values("date", ascending=False, ignore_index=True)


def _count(run: dict[str, Any], key: str) -> str:
    value = run.get(key)
    return f"{value:,}" if isinstance(value, int) else "—"


def run_tiles(run: dict[str, Any]) -> list[Tile]:
    """The report's headline counts, formatted, with what each means."""
    failures = sum((run.get("failures_by_reason") or {}).values())
    lost = run.get("lost_share")
    requests = (run.get("stats") or {}).get("requests_per_ticker")
    tiles = [
        Tile("Tickers in", _count(run, "tickers_in"), None, "Constituents the universe listed."),
        Tile("Written", _count(run, "tickers_written"), None, "Stocks in the snapshot."),
        Tile("Lost", "—" if lost is None else f"{lost:.1%}", None,
             f"Share of the universe without usable data; above {run.get('max_loss', 0.1):.0%} nothing is published."),
        Tile("Failures", f"{failures:,}", None, "Tickers the source could not serve fully (see by reason)."),
        Tile("Stale", _count(run, "stale_count"), None, "Stocks whose refresh failed; last good fundamentals kept."),
        Tile("Rejected cells", f"{(run.get('rejected_cells') or {}).get('total', 0):,}", None,
             "Input values refused as garbage and stored as null."),
    ]
    if requests is not None:
        tiles.append(Tile("Requests per ticker", f"{requests:.2f}", None, "HTTP requests to Yahoo per ticker."))
    return tiles


def _listed(tickers: list[str]) -> str:
    shown = ", ".join(tickers[:TICKERS_SHOWN])
    more = len(tickers) - TICKERS_SHOWN
    return f"{shown} and {more:,} more" if more > 0 else shown


def failures_frame(run: dict[str, Any]) -> pd.DataFrame:
    """reason, tickers (count), meaning, examples (first tickers) per failure reason, most first."""
    by_reason = run.get("failures_by_reason") or {}
    tickers = run.get("failures") or {}
    rows = [{"reason": reason, "tickers": int(count),
             "meaning": FAILURE_MEANINGS.get(reason, "Reported by the source"),
             "examples": _listed(sorted(tickers.get(reason, [])))}
            for reason, count in by_reason.items()]
    frame = pd.DataFrame(rows, columns=["reason", "tickers", "meaning", "examples"])
    return frame.sort_values("tickers", ascending=False, kind="stable", ignore_index=True)


def rejected_frame(section: dict[str, Any] | None) -> pd.DataFrame:
    """file, column, reason, cells for a ``rejected_cells`` / ``computed_out_of_range`` section."""
    rows = (section or {}).get("by_column") or []
    return pd.DataFrame(rows, columns=["file", "column", "reason", "cells"])


def timings_frame(run: dict[str, Any]) -> pd.DataFrame:
    """step, seconds for each timed step, then the whole run."""
    steps = dict(run.get("timings_s") or {})
    if "elapsed_s" in run:
        steps["whole run"] = run["elapsed_s"]
    return pd.DataFrame({"step": list(steps), "seconds": [float(v) for v in steps.values()]})


def stale_tickers(run: dict[str, Any]) -> str:
    return _listed(list(run.get("stale_tickers") or []))


def _data_dir_flag(data_dir: Path) -> str:
    """`` --data-dir X`` unless the folder is the repo's default ``data/``."""
    return "" if Path(data_dir).resolve() == (store.REPO_ROOT / "data").resolve() else f" --data-dir {data_dir}"


def refresh_commands(data_dir: Path) -> list[Command]:
    """The nightly command in its demo, files and live (Yahoo) forms, for this data folder."""
    flag = _data_dir_flag(data_dir)
    return [
        Command("Demo market (offline, a few seconds)", f"python -m screener nightly --source demo{flag}",
                "A synthetic market of 2,000 made-up small caps; every page labels it DEMO."),
        Command("Live: Yahoo Finance", f"python -m screener nightly{flag}",
                "Downloads the iShares IWM holdings, then prices and fundamentals for each constituent. "
                "Needs internet and takes a while. A run that loses more than 10% of the universe "
                "(--max-loss) publishes nothing and the last snapshot stays current."),
        Command("Your own files",
                f"python -m screener nightly --source files --universe IWM_holdings.csv "
                f"--prices prices.parquet --fundamentals fundamentals.csv{flag}",
                "Prices need date, ticker, close, volume (open/high/low optional) and must include IWM and "
                "SPY; fundamentals use yfinance Ticker.info key names (see the field catalog)."),
        Command("Every weekday after the US close (cron)",
                f"30 23 * * 1-5 cd {store.REPO_ROOT} && .venv/bin/python -m screener nightly{flag} "
                ">> nightly.log 2>&1",
                "23:30 UTC is after the 16:00 New York close all year round. Add --as-of YYYY-MM-DD to "
                "rebuild a past date."),
    ]


def catalog_frame() -> pd.DataFrame:
    """The field catalog for people: name, label, group, unit, better (higher/lower), help.

    "%" fields are stored as fractions (0.12 = 12%); the page says so above the table.
    """
    return pd.DataFrame({
        "name": [f.name for f in FIELDS],
        "label": [f.label for f in FIELDS],
        "group": [GROUPS[f.group] for f in FIELDS],
        "unit": [f.unit_info.word for f in FIELDS],
        "better": [DIRECTIONS[f.direction] for f in FIELDS],
        "help": [f.help for f in FIELDS],
    })
