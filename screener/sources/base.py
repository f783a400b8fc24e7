"""The contract between a data source (demo, files, yahoo) and the nightly pipeline.

Every source returns one :class:`MarketData`; the pipeline never knows where it came
from.  Keeping the hand-over to plain pandas frames with catalog column names means the
signal and quality code is tested once and serves all three sources.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Literal, Protocol

import pandas as pd

SourceName = Literal["demo", "files", "yahoo"]

#: Reasons a ticker can fail, as they appear in run.json's ``failures_by_reason``.
FAILURE_REASONS: tuple[str, ...] = (
    "rate_limit", "not_found", "bad_payload", "timeout", "http_error", "no_prices", "short_history",
)


class Progress(Protocol):
    """Called by a source as work advances: ``progress(done, total, what)``.

    The nightly command turns it into a console progress bar; tests pass a no-op.
    """

    def __call__(self, done: int, total: int, what: str) -> None: ...


def no_progress(done: int, total: int, what: str) -> None:
    """A :class:`Progress` that shows nothing."""


class SourceError(RuntimeError):
    """A source cannot produce usable data at all (missing file, no benchmark, bad format).

    The message is shown to the user as is, so it names the file and what to do.
    """


@dataclass
class Rejections:
    """Input cells refused as garbage, counted per file and column.

    Nothing is silently coerced: every refused cell becomes a null in the output and a
    count here, and the first examples are kept verbatim so run.json and the console
    can say "prices.csv row 17, column volume: -300 (negative)".
    """

    max_examples: int = 20
    counts: Counter = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    def add(self, file: str, column: str, rows: Iterable[Any], values: Iterable[Any], reason: str) -> None:
        rows, values = list(rows), list(values)
        if not rows:
            return
        self.counts[(file, column, reason)] += len(rows)
        for row, value in zip(rows, values):
            if len(self.examples) >= self.max_examples:
                break
            self.examples.append(f"{file} row {row}, column {column}: {value!r} ({reason})")

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "by_column": [
                {"file": f, "column": c, "reason": r, "cells": n}
                for (f, c, r), n in sorted(self.counts.items())
            ],
            "examples": list(self.examples),
        }


@dataclass
class MarketData:
    """Everything a source fetched for one as-of date.

    - ``universe``: one row per constituent: ``ticker`` (unique, Yahoo form), ``name``,
      ``sector`` (GICS), ``index_weight`` (fraction or null).  Benchmarks are not in it.
    - ``prices``: long frame with the columns of ``fields.PRICES_SCHEMA`` (``date`` as
      datetime64, ``ticker``, ``open``/``high``/``low`` optional, ``close``, ``volume``),
      for constituents and the benchmarks IWM and SPY.
    - ``fundamentals``: one row per ticker: ``ticker`` plus any catalog columns a source
      knows (the ``fields.INFO_FIELDS`` and ``fields.INSIDER_FIELDS`` names), already
      in catalog units, plus ``fundamentals_as_of`` (date) and ``stale`` (bool).
    - ``failures``: ticker -> one of ``FAILURE_REASONS``, for tickers without usable data
      (no prices tonight, or no fundamentals at all).  A ticker served with its last
      good fundamentals is *not* a failure: it has ``stale`` true, and the source lists
      it with its reason in ``stats["stale"]``.
    - ``stats``: source-specific figures for run.json (requests made, cache hits, ...).
    """

    source: SourceName
    universe: pd.DataFrame
    prices: pd.DataFrame
    fundamentals: pd.DataFrame
    failures: dict[str, str] = field(default_factory=dict)
    rejections: Rejections = field(default_factory=Rejections)
    notes: list[str] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
