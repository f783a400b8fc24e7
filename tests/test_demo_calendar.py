"""The demo's NYSE calendar against hand-copied exchange calendars and real trading dates."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from screener.sources.demo import easter_sunday, is_session, last_session_on_or_before, nyse_holidays, sessions_between
from tests.support.realdata import BENCHMARKS, realdata_path

D = dt.date

# Copied by hand from NYSE's published holiday calendars (2025-01-09: national day of
# mourning for President Carter; 2022 and 2028 start on a Saturday, so no New Year closure).
PUBLISHED_HOLIDAYS = {
    2022: [D(2022, 1, 17), D(2022, 2, 21), D(2022, 4, 15), D(2022, 5, 30), D(2022, 6, 20), D(2022, 7, 4),
           D(2022, 9, 5), D(2022, 11, 24), D(2022, 12, 26)],
    2023: [D(2023, 1, 2), D(2023, 1, 16), D(2023, 2, 20), D(2023, 4, 7), D(2023, 5, 29), D(2023, 6, 19),
           D(2023, 7, 4), D(2023, 9, 4), D(2023, 11, 23), D(2023, 12, 25)],
    2024: [D(2024, 1, 1), D(2024, 1, 15), D(2024, 2, 19), D(2024, 3, 29), D(2024, 5, 27), D(2024, 6, 19),
           D(2024, 7, 4), D(2024, 9, 2), D(2024, 11, 28), D(2024, 12, 25)],
    2025: [D(2025, 1, 1), D(2025, 1, 9), D(2025, 1, 20), D(2025, 2, 17), D(2025, 4, 18), D(2025, 5, 26),
           D(2025, 6, 19), D(2025, 7, 4), D(2025, 9, 1), D(2025, 11, 27), D(2025, 12, 25)],
    2026: [D(2026, 1, 1), D(2026, 1, 19), D(2026, 2, 16), D(2026, 4, 3), D(2026, 5, 25), D(2026, 6, 19),
           D(2026, 7, 3), D(2026, 9, 7), D(2026, 11, 26), D(2026, 12, 25)],
    2027: [D(2027, 1, 1), D(2027, 1, 18), D(2027, 2, 15), D(2027, 3, 26), D(2027, 5, 31), D(2027, 6, 18),
           D(2027, 7, 5), D(2027, 9, 6), D(2027, 11, 25), D(2027, 12, 24)],
    2028: [D(2028, 1, 17), D(2028, 2, 21), D(2028, 4, 14), D(2028, 5, 29), D(2028, 6, 19), D(2028, 7, 4),
           D(2028, 9, 4), D(2028, 11, 23), D(2028, 12, 25)],
}


@pytest.mark.parametrize("year", sorted(PUBLISHED_HOLIDAYS))
def test_holidays_match_the_published_nyse_calendar(year):
    assert list(nyse_holidays(year)) == PUBLISHED_HOLIDAYS[year]


@pytest.mark.parametrize("easter", [D(2000, 4, 23), D(2019, 4, 21), D(2024, 3, 31), D(2025, 4, 20),
                                    D(2026, 4, 5), D(2038, 4, 25)])
def test_easter_sunday_known_dates(easter):
    assert easter_sunday(easter.year) == easter


def test_rolling_back_to_the_last_session():
    assert last_session_on_or_before(D(2026, 11, 21)) == D(2026, 11, 20)  # Saturday -> Friday
    assert last_session_on_or_before(D(2026, 11, 26)) == D(2026, 11, 25)  # Thanksgiving -> Wednesday
    assert last_session_on_or_before(D(2026, 4, 5)) == D(2026, 4, 2)  # Easter Sunday, past Good Friday
    assert last_session_on_or_before(D(2026, 11, 20)) == D(2026, 11, 20)
    assert not is_session(D(2026, 7, 3)) and is_session(D(2026, 7, 2))


def test_sessions_are_weekdays_without_holidays():
    days = sessions_between(D(2022, 1, 1), D(2028, 12, 31))
    holidays = {d for year in PUBLISHED_HOLIDAYS.values() for d in year}
    expected = [d.date() for d in pd.bdate_range("2022-01-01", "2028-12-31") if d.date() not in holidays]
    assert days == expected


def _real_dates(symbol: str, repo: str) -> list[dt.date]:
    frame = pd.read_parquet(realdata_path(BENCHMARKS), columns=["symbol", "date", "source_repo"])
    picked = frame[(frame["symbol"] == symbol) & frame["source_repo"].str.startswith(repo)]
    return sorted(set(pd.to_datetime(picked["date"]).dt.date))


@pytest.mark.parametrize(("symbol", "repo"), [("^RUT", "alitalbi"), ("SPY", "alitalbi"), ("IWM", "johnamcminn")])
def test_sessions_equal_real_trading_days(symbol, repo):
    """Every day a real series traded since 1987, and no other day, is a session."""
    real = _real_dates(symbol, repo)
    assert len(real) > 100
    assert sessions_between(real[0], real[-1]) == real
