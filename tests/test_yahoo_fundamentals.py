"""Which fundamentals are refreshed tonight, and how the last good values are kept (hand-made frames)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from screener.sources.yahoo_fundamentals import (
    CACHE_COLUMNS, load_last_good, save_last_good, schedule_refresh, updated_last_good,
)

TODAY = dt.date(2024, 3, 8)  # a Friday


def last_good(rows: list[tuple[str, dt.date | None, str | None]], roe: float = 0.1) -> pd.DataFrame:
    """ticker, fundamentals_as_of, last_failure; every other column null except roe."""
    frame = pd.DataFrame([{"ticker": t, "fundamentals_as_of": d, "last_attempt": d, "last_failure": f, "roe": roe}
                          for t, d, f in rows])
    return frame.reindex(columns=list(CACHE_COLUMNS))


def days_ago(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


def test_new_failed_and_expired_tickers_are_always_due_oldest_first():
    universe = list("ABCDEFGHIJKLMN")
    known = last_good([("B", days_ago(2), "timeout"), ("C", days_ago(9), None), ("D", days_ago(7), None)]
                      + [(t, days_ago(1), None) for t in "EFGHIJKLMN"])
    schedule = schedule_refresh(universe, known, TODAY, max_age_days=7)
    # Last refresh was yesterday: quota ceil(14 * 1 / 7) = 2 is below the 4 that must go anyway.
    assert schedule.reasons == {"A": "new", "C": "expired", "D": "expired", "B": "failed_last_time"}
    assert schedule.tickers == ["A", "C", "D", "B"]


def test_rolling_quota_spreads_refreshes_and_takes_the_oldest_others():
    universe = list("ABCDEFGHIJKLMN")
    ages = dict(zip(universe, [6, 5, 5, 4, 4, 3, 3, 3, 3, 3, 3, 3, 3, 3]))
    known = last_good([(t, days_ago(a), None) for t, a in ages.items()])
    # Monday-like: the newest refresh is 3 days old, so the quota is ceil(14 * 3 / 7) = 6.
    schedule = schedule_refresh(universe, known, TODAY, max_age_days=7)
    assert schedule.tickers == ["A", "B", "C", "D", "E", "F"]
    assert set(schedule.reasons.values()) == {"rolling"}


def test_steady_state_refreshes_about_a_seventh_a_night():
    universe = [f"T{i:03d}" for i in range(700)]
    known = last_good([(t, days_ago(1 + i % 6), None) for i, t in enumerate(universe)])
    schedule = schedule_refresh(universe, known, TODAY, max_age_days=7)
    assert len(schedule.tickers) == 100  # 700 / 7, nobody expired (max age 6 < 7)
    ages = {t: 1 + i % 6 for i, t in enumerate(universe)}
    assert min(ages[t] for t in schedule.tickers) >= max(ages[t] for t in universe if t not in schedule.tickers)


def test_max_age_zero_refreshes_everything_and_nothing_known_means_everything_is_new():
    universe = ["A", "B"]
    known = last_good([("A", TODAY, None), ("B", days_ago(3), None)])
    assert set(schedule_refresh(universe, known, TODAY, max_age_days=0).tickers) == {"A", "B"}
    empty = last_good([])
    schedule = schedule_refresh(universe, empty, TODAY, max_age_days=7)
    assert schedule.reasons == {"A": "new", "B": "new"}
    # A second run the same day refreshes nothing it already has.
    same_day = last_good([("A", TODAY, None), ("B", TODAY, None)])
    assert schedule_refresh(universe, same_day, TODAY, max_age_days=7).tickers == []


def test_last_good_prefers_the_newer_of_cache_and_previous_snapshot(tmp_path):
    save_last_good(tmp_path, last_good([("A", days_ago(10), None), ("B", days_ago(1), None)], roe=0.5))
    previous = pd.DataFrame({"ticker": ["A", "B", "C"], "roe": [0.2, 0.3, 0.4],
                             "fundamentals_as_of": [days_ago(2), days_ago(5), days_ago(3)]})
    merged = load_last_good(tmp_path, previous).set_index("ticker")
    assert merged.loc["A", "roe"] == 0.2 and merged.loc["A", "fundamentals_as_of"] == days_ago(2)
    assert merged.loc["B", "roe"] == 0.5 and merged.loc["B", "fundamentals_as_of"] == days_ago(1)
    assert merged.loc["C", "roe"] == 0.4
    assert list(load_last_good(tmp_path / "nothing", None).columns) == list(CACHE_COLUMNS)


def test_update_replaces_refreshed_keeps_failed_values_and_remembers_failures():
    before = last_good([("A", days_ago(8), None), ("B", days_ago(8), None)], roe=0.1)
    fresh = pd.DataFrame({"ticker": ["A"], "roe": [0.9], "fundamentals_as_of": [TODAY]})
    after = updated_last_good(before, fresh, {"B": "rate_limit", "Z": "not_found"}, TODAY).set_index("ticker")
    assert after.loc["A", "roe"] == 0.9 and after.loc["A", "fundamentals_as_of"] == TODAY
    assert pd.isna(after.loc["A", "last_failure"])
    assert after.loc["B", "roe"] == 0.1 and after.loc["B", "fundamentals_as_of"] == days_ago(8)
    assert after.loc["B", "last_failure"] == "rate_limit" and after.loc["B", "last_attempt"] == TODAY
    assert pd.isna(after.loc["Z", "fundamentals_as_of"]) and after.loc["Z", "last_failure"] == "not_found"
    # Next night: B is retried (failed), Z is still new.
    schedule = schedule_refresh(["A", "B", "Z"], after.reset_index(), TODAY + dt.timedelta(days=1), 7)
    assert schedule.reasons == {"Z": "new", "B": "failed_last_time"}


@pytest.mark.parametrize("max_age", [1, 7, 30])
def test_schedule_never_refreshes_a_ticker_twice_or_invents_one(max_age):
    universe = ["A", "B", "C", "A"]
    known = last_good([("A", days_ago(40), None), ("X", days_ago(40), None)])
    schedule = schedule_refresh(universe, known, TODAY, max_age)
    assert sorted(schedule.tickers) == sorted(set(schedule.tickers)) and set(schedule.tickers) <= {"A", "B", "C"}
