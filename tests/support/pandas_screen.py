"""Count a screen's matches with plain pandas, independently of the app's DuckDB SQL.

The load tests check every page a simulated user sees against this count, so it is
written from the documented meaning of each operator (DESIGN.md section 3 and the
``screener.screen`` docstring), not from the SQL: comparisons, ``between`` (both
ends included), ``in`` and the boolean tests never match a missing value; ``ne``
and ``not_in`` keep missing values ("not 5" is true of an unknown).  Values are in
stored units (0.15 for 15%).

A condition is a plain ``(field, op, value)`` tuple so that the expected screen a
test builds never goes through the app's own ``Filter`` code.
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

Condition = tuple[str, str, Any]


def condition_mask(stocks: pd.DataFrame, condition: Condition) -> np.ndarray:
    """Boolean numpy mask of the rows ``condition`` keeps."""
    field, op, value = condition
    column = stocks[field]
    known = column.notna().to_numpy()
    values = column.to_numpy(dtype=object)
    if op == "not_null":
        return known
    if op in ("is_true", "is_false"):
        wanted = op == "is_true"
        return np.array([bool(k and v == wanted) for v, k in zip(values, known)], dtype=bool)
    if op in ("in", "not_in"):
        wanted = set(value)
        inside = np.array([k and v in wanted for v, k in zip(values, known)], dtype=bool)
        return inside if op == "in" else ~inside
    compare = {
        "gt": lambda v: v > value, "gte": lambda v: v >= value, "lt": lambda v: v < value,
        "lte": lambda v: v <= value, "eq": lambda v: v == value, "ne": lambda v: v != value,
        "between": lambda v: value[0] <= v <= value[1],
    }[op]
    hits = np.array([bool(compare(v)) if k else False for v, k in zip(values, known)], dtype=bool)
    return hits | ~known if op == "ne" else hits


def pandas_count(stocks: pd.DataFrame, conditions: Iterable[Condition]) -> int:
    """Rows passing every condition (an empty list passes every row)."""
    mask = np.ones(len(stocks), dtype=bool)
    for condition in conditions:
        mask &= condition_mask(stocks, condition)
    return int(mask.sum())


class SnapshotCounts:
    """Expected match counts per published snapshot of a data folder, read straight from Parquet.

    Memoised per (snapshot date, conditions): a load run asks the same few questions
    thousands of times and the checker must not steal the server's CPU.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self._frames: dict[dt.date, pd.DataFrame] = {}
        self._counts: dict[tuple[dt.date, tuple[Condition, ...]], int] = {}
        self._lock = threading.Lock()

    def stocks(self, date: dt.date) -> pd.DataFrame:
        with self._lock:
            if date not in self._frames:
                path = self.data_dir / "snapshots" / f"date={date.isoformat()}" / "stocks.parquet"
                self._frames[date] = pd.read_parquet(path)
            return self._frames[date]

    def total(self, date: dt.date) -> int:
        return len(self.stocks(date))

    def count(self, date: dt.date, conditions: Iterable[Condition]) -> int:
        key = (date, tuple(sorted(conditions, key=repr)))
        if key not in self._counts:
            self._counts[key] = pandas_count(self.stocks(date), key[1])
        return self._counts[key]
