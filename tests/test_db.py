"""SnapshotDB and run_screen on a hand-made snapshot: every operator (nulls included),
the count, the sort, the funnel, NaN in a file, threads, and snapshot history.

Expected answers are written by eye for the 8-row table below, and cross-checked
against an independent pandas evaluation (``pandas_pass``) for combined screens.
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from screener.db import SnapshotDB, history, run_screen
from screener.fields import FIELDS
from screener.screen import Filter, Screen, SortKey, from_query
from screener.store import Snapshot, publish_snapshot

D20, D19, D18 = dt.date(2026, 11, 20), dt.date(2026, 11, 19), dt.date(2026, 11, 18)

#: ticker, sector, revenue_growth, debt_to_equity, insider_buying, rs_rating, quality_bucket,
#: fundamentals_as_of, market_cap
ROWS = [
    ("A", "Energy", 0.20, 0.5, True, 90, "quality", D20, 5e8),
    ("B", "Financials", 0.05, None, False, 50, "middle", D19, 2e9),
    ("C", None, None, 2.0, None, None, None, None, None),
    ("D", "Health Care", 0.10, 1.0, True, 70, "junk", D20, 1e9),
    ("E", "Energy", -0.30, 0.0, False, 10, "junk", D18, 3e8),
    ("F", "Utilities", 0.50, -0.5, True, 99, "quality", D20, 8e8),
    ("G", "Industrials", None, 3.0, None, 1, "middle", None, 2.5e9),
    ("H", "Energy", 0.10, None, True, None, None, D19, None),
]
COLUMNS = ["ticker", "sector", "revenue_growth", "debt_to_equity", "insider_buying", "rs_rating",
           "quality_bucket", "fundamentals_as_of", "market_cap"]


def stocks_frame(rows: list[tuple], columns: list[str]) -> pd.DataFrame:
    """A full catalog frame: the given columns, every other catalog column null."""
    given = pd.DataFrame(rows, columns=columns)
    frame = {}
    for spec in FIELDS:
        values = given[spec.name] if spec.name in given else pd.Series([None] * len(given))
        dtype = {"float": "float64", "int": "Int64", "bool": "boolean", "str": "string"}.get(spec.kind, object)
        frame[spec.name] = pd.Series(list(values), dtype=dtype) if dtype is not object else list(values)
    return pd.DataFrame(frame)


def publish(data_dir: Path, stocks: pd.DataFrame, date: dt.date = D20) -> Snapshot:
    tickers = [*stocks["ticker"], "IWM", "SPY"]
    prices = pd.DataFrame({"date": pd.Timestamp(date), "ticker": tickers, "open": 1.0, "high": 1.0,
                           "low": 1.0, "close": 2.0, "volume": 10})
    return publish_snapshot(data_dir, date, stocks, prices, {"source": "test", "tickers_written": len(stocks)})


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return stocks_frame(ROWS, COLUMNS)


@pytest.fixture(scope="module")
def db(tmp_path_factory, frame):
    snapshot = publish(tmp_path_factory.mktemp("data"), frame)
    with SnapshotDB(snapshot) as opened:
        yield opened


def tickers(db: SnapshotDB, screen: Screen) -> list[str]:
    return list(run_screen(db, screen).frame["ticker"])


# Answers worked out by eye from ROWS.  Nulls: only ne / not_in keep them.
BY_EYE = [
    (Filter("revenue_growth", "gt", 0.1), "AF"),
    (Filter("revenue_growth", "gte", 0.1), "ADFH"),
    (Filter("revenue_growth", "lt", 0.1), "BE"),
    (Filter("revenue_growth", "lte", 0.1), "BDEH"),
    (Filter("revenue_growth", "between", (0.05, 0.2)), "ABDH"),
    (Filter("debt_to_equity", "lt", 1.0), "AEF"),
    (Filter("debt_to_equity", "not_null"), "ACDEFG"),
    (Filter("rs_rating", "eq", 70), "D"),
    (Filter("rs_rating", "ne", 70), "ABCEFGH"),
    (Filter("rs_rating", "in", (1, 99)), "FG"),
    (Filter("rs_rating", "not_in", (1, 99)), "ABCDEH"),
    (Filter("rs_rating", "between", (50, 90)), "ABD"),
    (Filter("sector", "eq", "Energy"), "AEH"),
    (Filter("sector", "ne", "Energy"), "BCDFG"),
    (Filter("sector", "in", ("Energy", "Utilities")), "AEFH"),
    (Filter("sector", "not_in", ("Energy", "Utilities")), "BCDG"),
    (Filter("sector", "not_null"), "ABDEFGH"),
    (Filter("insider_buying", "is_true"), "ADFH"),
    (Filter("insider_buying", "is_false"), "BE"),
    (Filter("insider_buying", "eq", False), "BE"),
    (Filter("insider_buying", "not_null"), "ABDEFH"),
    (Filter("quality_bucket", "eq", "junk"), "DE"),
    (Filter("quality_bucket", "not_in", ("junk",)), "ABCFGH"),
    (Filter("fundamentals_as_of", "gte", D19), "ABDFH"),
    (Filter("fundamentals_as_of", "eq", D19), "BH"),
    (Filter("fundamentals_as_of", "ne", D19), "ACDEFG"),
    (Filter("fundamentals_as_of", "between", (D18, D19)), "BEH"),
    (Filter("market_cap", "gt", 1e9), "BG"),
]


@pytest.mark.parametrize("item, expected", BY_EYE, ids=[f"{f.field}-{f.op}" for f, _ in BY_EYE])
def test_each_operator_matches_the_answer_worked_out_by_eye(db, item, expected):
    assert tickers(db, Screen((item,), limit=100)) == list(expected)


def pandas_pass(frame: pd.DataFrame, item: Filter) -> pd.Series:
    """Independent evaluation of one filter: True/False per row, nulls per the documented rule."""
    column = frame[item.field]
    known = column.notna()
    if item.op == "not_null":
        return known
    if item.op == "is_true":
        return known & (column.fillna(False) == True)  # noqa: E712
    if item.op == "is_false":
        return known & (column.fillna(True) == False)  # noqa: E712
    values = item.value if isinstance(item.value, tuple) else (item.value,)
    raw = column.astype(object).where(known, None)
    compare = {
        "gt": lambda v: v > values[0], "gte": lambda v: v >= values[0],
        "lt": lambda v: v < values[0], "lte": lambda v: v <= values[0],
        "eq": lambda v: v == values[0], "ne": lambda v: v != values[0],
        "between": lambda v: values[0] <= v <= values[1],
        "in": lambda v: v in values, "not_in": lambda v: v not in values,
    }[item.op]
    null_passes = item.op in ("ne", "not_in")
    return pd.Series([null_passes if v is None else bool(compare(v)) for v in raw], index=frame.index)


def test_pandas_reference_agrees_with_the_by_eye_answers(frame):
    for item, expected in BY_EYE:
        assert "".join(frame["ticker"][pandas_pass(frame, item)]) == expected, item


SCREENS = [
    "f=revenue_growth:gte:0.1&f=sector:ne:Energy&f=insider_buying:is_true",
    "f=sector:not_in:Energy&f=debt_to_equity:lt:2&f=rs_rating:gte:50&f=quality_bucket:ne:junk",
    "f=market_cap:between:300000000|1000000000&f=insider_buying:is_false",
    "f=rs_rating:gt:100",
    "f=fundamentals_as_of:gte:2026-11-19&f=revenue_growth:gt:0&f=debt_to_equity:not_null&f=rs_rating:in:70|90",
]


@pytest.mark.parametrize("url", SCREENS)
def test_combined_screens_and_funnel_match_pandas(db, frame, url):
    screen, notes = from_query(url + "&limit=100")
    assert notes == []
    result = run_screen(db, screen)
    passes = [pandas_pass(frame, item) for item in screen.filters]
    everything = np.logical_and.reduce(passes)
    assert list(result.frame["ticker"]) == list(frame["ticker"][everything])
    assert result.count == int(everything.sum())
    assert result.funnel.total == len(frame)
    cumulative = pd.Series(True, index=frame.index)
    previous = len(frame)
    for index, (step, passing) in enumerate(zip(result.funnel.steps, passes)):
        cumulative &= passing
        others = np.logical_and.reduce([p for j, p in enumerate(passes) if j != index] or [cumulative | True])
        assert step.remaining == int(cumulative.sum())
        assert step.removed == previous - step.remaining
        assert step.removed_alone == int((~passing).sum())
        assert step.only_blocker == int((others & ~passing).sum())
        previous = step.remaining


def test_funnel_of_seed_like_screen_by_eye(db):
    screen, _ = from_query("f=revenue_growth:gt:0&f=debt_to_equity:lt:1&f=insider_buying:is_true")
    steps = run_screen(db, screen).funnel.steps
    # revenue_growth > 0: A B D F H pass (C G null, E negative)
    # then debt/equity < 1: A F (B, H null; D = 1.0 not < 1)
    # then insider buying: A F
    assert [s.remaining for s in steps] == [5, 2, 2]
    assert [s.removed for s in steps] == [3, 3, 0]
    assert [s.removed_alone for s in steps] == [3, 5, 4]
    # fail only d/e: B? B also fails insider buying -> no; D (1.0) and H (null) -> 2
    assert [s.only_blocker for s in steps] == [0, 2, 0]
    assert steps[1].description == "Debt/equity < 1×"


def test_count_is_before_the_limit_and_sort_puts_nulls_last(db):
    screen = Screen(sort=(SortKey("rs_rating", descending=True),), limit=3)
    result = run_screen(db, screen)
    assert result.count == 8 and list(result.frame["ticker"]) == ["F", "A", "D"]
    ascending = run_screen(db, Screen(sort=(SortKey("rs_rating"),), limit=8))
    assert list(ascending.frame["ticker"]) == ["G", "E", "B", "D", "A", "F", "C", "H"]


def test_result_columns_and_types(db):
    screen = Screen(columns=("rs_rating", "insider_buying", "sector", "fundamentals_as_of"), limit=8)
    result = run_screen(db, screen)
    assert list(result.frame.columns) == ["ticker", "rs_rating", "insider_buying", "sector", "fundamentals_as_of"]
    assert str(result.frame["rs_rating"].dtype) == "Int64"
    assert str(result.frame["insider_buying"].dtype) == "boolean"
    assert result.sql.startswith('SELECT "ticker", "rs_rating"') and result.params == [8]


def test_no_filters_gives_the_whole_table_and_an_empty_funnel(db):
    result = run_screen(db, Screen())
    assert result.count == 8 and result.funnel.steps == () and result.funnel.total == 8
    assert result.funnel.to_frame().empty


def test_hostile_text_values_are_bound_not_executed(db):
    screen, notes = from_query("f=sector:eq:Energy' OR '1'='1&f=sector:in:x\"); DROP TABLE stocks; --")
    assert notes == []
    assert run_screen(db, screen).count == 0
    assert run_screen(db, Screen()).count == 8  # the table is still there


def test_nan_in_a_parquet_file_never_passes_a_comparison(tmp_path, frame):
    table = pa.Table.from_pandas(frame, preserve_index=False)
    index = table.schema.get_field_index("revenue_growth")
    with_nan = pa.array([float("nan")] * len(frame), pa.float64(), from_pandas=False)
    table = table.set_column(index, "revenue_growth", with_nan)
    folder = tmp_path / "date=2026-11-20"
    folder.mkdir()
    pq.write_table(table, folder / "stocks.parquet")
    assert pq.read_table(folder / "stocks.parquet")["revenue_growth"].null_count == 0  # real NaNs on disk
    with SnapshotDB(Snapshot(D20, folder, {})) as nan_db:
        assert run_screen(nan_db, Screen((Filter("revenue_growth", "gt", 0.0),))).count == 0
        assert run_screen(nan_db, Screen((Filter("revenue_growth", "not_null"),))).count == 0
        assert not nan_db.has_prices


def test_prices_view_and_files_left_untouched(db):
    before = {p: p.stat().st_mtime_ns for p in db.snapshot.path.iterdir()}
    cursor = db.cursor()
    assert cursor.execute("SELECT count(*), max(close) FROM prices").fetchone() == (10, 2.0)
    cursor.close()
    assert db.has_prices
    assert {p: p.stat().st_mtime_ns for p in db.snapshot.path.iterdir()} == before


def test_threads_each_with_their_own_cursor_get_consistent_answers(db):
    screens = [from_query(url)[0] for url in SCREENS]
    expected = [(run_screen(db, s).count, list(run_screen(db, s).frame["ticker"])) for s in screens]
    failures: list[str] = []

    def work() -> None:
        for _ in range(15):
            for screen, answer in zip(screens, expected):
                result = run_screen(db, screen)
                if (result.count, list(result.frame["ticker"])) != answer:
                    failures.append(str(screen))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_history_counts_per_snapshot_date(tmp_path, frame):
    publish(tmp_path, frame, D18)
    smaller = frame[(frame["quality_bucket"] != "junk").fillna(True)].reset_index(drop=True)
    smaller.loc[0, "stale"] = True
    newer = publish(tmp_path, smaller, D19)
    # a later snapshot carrying a column the earlier one lacks is still read
    table = pq.read_table(newer.stocks_path)
    pq.write_table(table.append_column("new_metric", pa.array([1.0] * len(smaller))), newer.stocks_path)
    (tmp_path / "snapshots" / "date=2026-11-21").mkdir()  # a damaged folder is skipped, not read
    result = history(tmp_path)
    assert list(result.columns) == ["date", "stocks", "quality", "middle", "junk", "unbucketed", "stale"]
    assert [d.date() for d in pd.to_datetime(result["date"])] == [D18, D19]
    # by eye: 8 rows = 2 quality, 2 middle, 2 junk, 2 null; then the 2 junk removed, A made stale
    assert result[["stocks", "quality", "middle", "junk", "unbucketed", "stale"]].values.tolist() == [
        [8, 2, 2, 2, 2, 0], [6, 2, 2, 0, 2, 1]]


def test_history_of_an_empty_folder_is_an_empty_frame(tmp_path):
    assert history(tmp_path).empty
