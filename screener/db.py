"""DuckDB over one snapshot: run a Screen, count its matches and explain them with a funnel.

One in-memory DuckDB database per opened snapshot: ``stocks`` is copied into a table
(2,000 rows, a few hundred KB: scanning memory beats re-reading Parquet on every
widget change) and ``prices`` is a view over ``prices.parquet``.  The files are only
ever read.  A DuckDB connection must not be used from two threads, so callers keep one
:class:`SnapshotDB` (``st.cache_resource``) and every query takes its own
:meth:`SnapshotDB.cursor`.

The funnel answers "why is my result empty?": for each filter, in order, how many
names remain, how many that step removed, how many the filter removes on its own, and
how many fail *only* that filter (what relaxing it alone would bring back), all from
one query that counts rows per combination of failed filters.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from screener.fields import FIELD_BY_NAME, FIELD_NAMES, field
from screener.screen import Filter, Screen, filter_english, filter_sql, quote_identifier, quote_table, to_sql
from screener.store import Snapshot, list_snapshots

STOCKS_TABLE = "stocks"
PRICES_VIEW = "prices"


class SnapshotDB:
    """One snapshot loaded into an in-memory DuckDB database; read-only toward its files.

    ``threads`` defaults to 1: a 2,000-row table gains nothing from parallel scans
    (``benchmarks/bench_query.py --threads 2`` measures the same), and one thread per
    open snapshot leaves the other cores to other sessions.
    """

    def __init__(self, snapshot: Snapshot, threads: int = 1) -> None:
        self.snapshot = snapshot
        self._con = duckdb.connect(":memory:")
        try:
            self._load(threads)
        except BaseException:
            self._con.close()
            raise

    def _load(self, threads: int) -> None:
        snapshot = self.snapshot
        self._con.execute(f"SET threads = {int(threads)}")
        # The folder name date=... would otherwise add a hive "date" column.
        stocks_file = self._con.read_parquet(str(snapshot.stocks_path), hive_partitioning=False)
        stocks_file.create_view("stocks_file")
        present = set(stocks_file.columns)
        # A NaN that slipped into a file would pass "> 0" (DuckDB sorts NaN above every
        # number), so float columns turn NaN into the null the catalog promises.
        columns = ", ".join(
            f"nullif({quote_identifier(name)}, 'NaN'::DOUBLE) AS {quote_identifier(name)}"
            if FIELD_BY_NAME[name].kind == "float" else quote_identifier(name)
            for name in FIELD_NAMES if name in present)
        self._con.execute(f"CREATE TABLE {quote_table(STOCKS_TABLE)} AS SELECT {columns} FROM stocks_file")
        self._con.execute("DROP VIEW stocks_file")
        prices = snapshot.prices_path
        if prices is not None:
            self._con.read_parquet(str(prices), hive_partitioning=False).create_view(PRICES_VIEW)

    @property
    def has_prices(self) -> bool:
        return self.snapshot.prices_path is not None

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor for one query (or one thread); close it when done."""
        return self._con.cursor()

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> SnapshotDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class FunnelStep:
    """One filter's effect; counts are numbers of stocks.

    - ``remaining``: left after this filter and every filter before it;
    - ``removed``: taken out by this step (previous remaining − remaining);
    - ``removed_alone``: taken out of the whole universe by this filter on its own;
    - ``only_blocker``: pass every other filter and fail only this one, i.e. the names
      that relaxing this filter alone would add to the result.
    """

    filter: Filter
    description: str
    remaining: int
    removed: int
    removed_alone: int
    only_blocker: int


@dataclass(frozen=True)
class Funnel:
    total: int
    steps: tuple[FunnelStep, ...]

    @property
    def matches(self) -> int:
        return self.steps[-1].remaining if self.steps else self.total

    def to_frame(self) -> pd.DataFrame:
        """A table for the UI: one row per filter."""
        return pd.DataFrame(
            [{"filter": s.description, "remaining": s.remaining, "removed": s.removed,
              "removed_alone": s.removed_alone, "only_blocker": s.only_blocker} for s in self.steps],
            columns=["filter", "remaining", "removed", "removed_alone", "only_blocker"],
        )


@dataclass(frozen=True)
class ScreenResult:
    """Rows (``screen.shown_columns()``, sorted, limited), the match count before the
    limit, the funnel, and the SQL with its parameters as run (for "show SQL")."""

    frame: pd.DataFrame
    count: int
    funnel: Funnel
    sql: str
    params: list[Any]


def funnel_sql(screen: Screen, table: str = STOCKS_TABLE) -> tuple[str, list[Any]]:
    """One query: how many rows fail exactly which filters.

    Each row gets a bit mask, bit ``i`` set when it fails filter ``i`` (the predicates
    are two-valued, so a null is a clean fail or pass), and the query returns the count
    of rows per distinct mask: at most one group per row, usually a handful.  Every
    funnel figure is a sum over these groups (:func:`funnel_from_masks`).  This is half
    the cost of spelling out 3 × n ``count(*) FILTER (WHERE ...)`` aggregates, whose
    planning dominates on a 2,000-row table.  Up to 50 filters fit in a BIGINT.
    """
    if not screen.filters:
        return f"SELECT 0::BIGINT AS mask, count(*) AS n FROM {quote_table(table)}", []
    bits, params = [], []
    for position, item in enumerate(screen.filters):
        sql, values = filter_sql(item)
        bits.append(f"((NOT {sql})::BIGINT << {position})")
        params.extend(values)
    sql = f"SELECT {' | '.join(bits)} AS mask, count(*) AS n FROM {quote_table(table)} GROUP BY mask"
    return sql, params


def funnel_from_masks(screen: Screen, masks: np.ndarray, counts: np.ndarray) -> Funnel:
    """The funnel from (failure mask, row count) groups; bit i = fails filter i.

    - remaining after filter i: rows failing none of filters 0..i;
    - removed alone by filter i: rows with bit i set;
    - only blocker: rows whose mask is exactly bit i.
    """
    masks = masks.astype(np.int64)
    counts = counts.astype(np.int64)
    total = int(counts.sum())
    steps, previous = [], total
    for index, item in enumerate(screen.filters):
        bit = np.int64(1) << np.int64(index)
        remaining = int(counts[(masks & ((bit << np.int64(1)) - np.int64(1))) == 0].sum())
        steps.append(FunnelStep(
            filter=item, description=filter_english(item, sentence_start=True), remaining=remaining,
            removed=previous - remaining, removed_alone=int(counts[(masks & bit) != 0].sum()),
            only_blocker=int(counts[masks == bit].sum())))
        previous = remaining
    return Funnel(total, tuple(steps))


def _funnel(cursor: duckdb.DuckDBPyConnection, screen: Screen) -> Funnel:
    sql, params = funnel_sql(screen)
    groups = cursor.execute(sql, params).fetchall()
    masks = np.array([g[0] for g in groups], dtype=np.int64)
    counts = np.array([g[1] for g in groups], dtype=np.int64)
    return funnel_from_masks(screen, masks, counts)


def run_screen(db: SnapshotDB, screen: Screen) -> ScreenResult:
    """Run ``screen`` on the snapshot: two queries (rows, then count + funnel) on one cursor."""
    sql, params = to_sql(screen, STOCKS_TABLE)
    cursor = db.cursor()
    try:
        frame = cursor.execute(sql, params).df()
        funnel = _funnel(cursor, screen)
    finally:
        cursor.close()
    return ScreenResult(frame=frame, count=funnel.matches, funnel=funnel, sql=sql, params=params)


def history(data_dir: Path) -> pd.DataFrame:
    """Per snapshot date: stocks, quality / middle / junk / unbucketed counts, stale count.

    Reads the good snapshots' ``stocks.parquet`` files (the store's validation decides
    which are good) with ``hive_partitioning`` for the date and ``union_by_name`` so a
    column added later is not silently dropped.
    """
    buckets = field("quality_bucket").choices
    columns = ["date", "stocks", *buckets, "unbucketed", "stale"]
    good, _ = list_snapshots(data_dir)
    if not good:
        return pd.DataFrame(columns=columns)
    con = duckdb.connect(":memory:")
    try:
        con.read_parquet([str(s.stocks_path) for s in good],
                         hive_partitioning=True, union_by_name=True).create_view("snapshots")
        bucket_counts = ", ".join(
            f"count(*) FILTER (WHERE {quote_identifier('quality_bucket')} = ?) AS \"{name}\""
            for name in buckets)
        sql = (f"SELECT \"date\", count(*) AS stocks, {bucket_counts}, "
               f"count(*) FILTER (WHERE {quote_identifier('quality_bucket')} IS NULL) AS unbucketed, "
               f"count(*) FILTER (WHERE coalesce({quote_identifier('stale')}, false)) AS stale "
               f"FROM snapshots GROUP BY \"date\" ORDER BY \"date\"")
        return con.execute(sql, list(buckets)).df()[columns]
    finally:
        con.close()


def memberships(snapshots: list[Snapshot], column: str) -> pd.DataFrame:
    """``date, ticker, <column>`` for every stock of the given snapshots: who was in which basket when.

    Feeds :func:`screener.market.point_in_time_returns`.  ``column`` must be a catalog
    field (it is the only identifier that reaches the SQL); the date is the snapshot
    folder's (``date=YYYY-MM-DD``, read as a hive partition as in :func:`history`).
    """
    if column not in FIELD_NAMES:
        raise ValueError(f"{column!r} is not a catalog field")
    if not snapshots:
        return pd.DataFrame({"date": pd.Series(dtype="datetime64[us]"), "ticker": pd.Series(dtype="str"),
                             column: pd.Series(dtype="object")})
    con = duckdb.connect(":memory:")
    try:
        stocks = con.read_parquet([str(s.stocks_path) for s in snapshots], hive_partitioning=True,
                                  union_by_name=True)
        sql = f'SELECT "date", ticker, {quote_identifier(column)} FROM stocks ORDER BY "date", ticker'
        return stocks.query("stocks", sql).df()
    finally:
        con.close()
