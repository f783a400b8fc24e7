"""Overview and Quality vs Junk figures without Streamlit, on tiny frames checked by eye."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from screener.links import stock_page_url
from screener.ui import market_divergence, market_overview

DATES = pd.bdate_range("2024-01-02", periods=30)


def long(series: dict[str, list[float]]) -> pd.DataFrame:
    return pd.concat([pd.DataFrame({"date": DATES[:len(values)], "series": name, "value": values})
                      for name, values in series.items()], ignore_index=True)


def test_share_true_ignores_nulls():
    assert market_overview.share_true(pd.Series([True, False, None, True], dtype="boolean")) == pytest.approx(2 / 3)
    assert market_overview.share_true(pd.Series([None, None], dtype="boolean")) is None


def test_change_over_a_month_is_last_minus_21_sessions_back():
    values = [0.1 + 0.01 * i for i in range(30)]
    breadth = long({"above_sma_200": values})
    assert market_overview.change_over(breadth, "above_sma_200") == pytest.approx(values[-1] - values[-22])
    assert market_overview.change_over(long({"above_sma_200": values[:21]}), "above_sma_200") is None


def test_ratio_gap_uses_the_last_session_only():
    ratio = long({"ratio": [1.0, 1.1, 1.2], "sma_200": [np.nan, 1.0, 1.0]})
    assert market_overview.ratio_gap(ratio) == pytest.approx(0.2)
    no_sma_today = long({"ratio": [1.0, 1.1, 1.2], "sma_200": [1.0, 1.0, np.nan]})
    assert market_overview.ratio_gap(no_sma_today) is None
    assert market_overview.ratio_gap(None) is None


def tiny_stocks() -> pd.DataFrame:
    return pd.DataFrame({
        "ticker": ["A", "B", "C", "D", "E"],
        "name": ["Alpha", "Beta", "Gamma", "Delta", "Eps&Co"],
        "sector": ["Energy"] * 5,
        "above_sma_200": pd.array([True, True, False, None, True], dtype="boolean"),
        "above_sma_50": pd.array([False, True, False, False, None], dtype="boolean"),
        "volume_surge": [1.0, 5.0, np.nan, 2.5, 5.0],
        "volume": [10, 500, 30, 40, 900],
        "return_1m": [0.0, 0.1, 0.2, 0.3, 0.4],
        "rs_rating": pd.array([50, 99, None, 99, 10], dtype="Int64"),
        "rs_6m": [0.0, 0.2, 0.1, 0.5, -0.1],
        "return_6m": [0.1, 0.3, 0.2, 0.6, 0.0],
        "quality_bucket": ["quality", "junk", None, "middle", "quality"],
        "is_profitable": pd.array([True, False, None, True, True], dtype="boolean"),
    })


def test_tiles_by_eye():
    breadth = long({"above_sma_200": [0.5] * 9 + [0.75] * 21, "above_sma_50": [0.5] * 30,
                    "new_highs": [0] * 29 + [7], "new_lows": [0] * 29 + [2]})
    ratio = long({"ratio": [1.0, 1.05], "sma_200": [1.0, 1.0]})
    spread = long({"quality - junk": [0.0, -0.031]})
    tiles = {t.label: t for t in market_overview.overview_tiles(tiny_stocks(), breadth, ratio, spread)}
    assert tiles["Above 200-day SMA"].value == "75.0%"  # 3 of the 4 known
    assert tiles["Above 200-day SMA"].delta == "+25.0 pp in 1 month"
    assert tiles["Above 50-day SMA"].value == "25.0%"  # 1 of 4 known
    assert tiles["IWM/SPY vs 200d SMA"].value == "+5.0%"
    assert tiles["Quality − junk (3m)"].value == "-3.1 pp" and tiles["Quality − junk (3m)"].delta == "junk leads"
    assert tiles["52w highs / lows"].value == "7 / 2" and tiles["52w highs / lows"].delta == "+5 net"
    # sparklines: a year of each series, shares in percent
    assert tiles["Above 200-day SMA"].sparkline == tuple([50.0] * 9 + [75.0] * 21)
    assert tiles["52w highs / lows"].sparkline == tuple([0.0] * 29 + [5.0])
    assert tiles["Quality − junk (3m)"].sparkline == (0.0, -3.1)


def test_tiles_without_prices_show_dashes_not_errors():
    tiles = {t.label: t for t in market_overview.overview_tiles(tiny_stocks(), None, None, None)}
    assert tiles["Above 200-day SMA"].value == "75.0%" and tiles["Above 200-day SMA"].delta is None
    for label in ("IWM/SPY vs 200d SMA", "Quality − junk (3m)", "52w highs / lows"):
        assert tiles[label].value == "—" and tiles[label].delta is None
        assert market_overview.NO_PRICES_HELP in tiles[label].help


def test_watch_tables_sort_descending_drop_nulls_and_link_to_the_stock_page():
    surges = market_overview.volume_surges(tiny_stocks(), n=3)
    # surge 5.0 twice: the larger volume first (E 900, B 500), then D 2.5; C (null) is left out
    assert surges["name"].tolist() == ["Eps&Co", "Beta", "Delta"]
    assert surges["link"].tolist() == ["Stock?ticker=E", "Stock?ticker=B", "Stock?ticker=D"]
    strongest = market_overview.strongest_rs(tiny_stocks(), n=10)
    assert strongest["name"].tolist() == ["Delta", "Beta", "Alpha", "Eps&Co"]
    assert strongest["link"].iloc[0] == "Stock?ticker=D"


def test_stock_url_escapes_what_a_url_would_misread():
    assert stock_page_url("A&B=C") == "Stock?ticker=A%26B%3DC"
    assert stock_page_url("MOG-A") == "Stock?ticker=MOG-A"


# --------------------------------------------------------------------------- quality vs junk


def test_basket_tiles_read_the_last_values():
    returns = long({"quality": [0.0, 0.05, 0.10], "junk": [0.0, -0.02, np.nan], "IWM": [0.0, 0.01, 0.02]})
    spread = long({"quality - junk": [0.0, 0.07, 0.12]})
    tiles = market_divergence.basket_tiles(returns, spread, "quality_bucket", {"quality": 2, "junk": 1})
    assert [(t.label, t.value) for t in tiles] == [
        ("Quality (2 stocks)", "+10.0%"), ("Junk (1 stocks)", "-2.0%"), ("IWM", "+2.0%"),
        ("Quality − junk", "+12.0 pp")]
    assert tiles[-1].delta == "quality leads"


def test_basket_members_count_each_side_of_a_lens():
    assert market_divergence.basket_members(tiny_stocks(), "quality_bucket") == {"quality": 2, "junk": 1, "middle": 1}
    assert market_divergence.basket_members(tiny_stocks(), "is_profitable") == {"profitable": 3, "unprofitable": 1}


def test_baskets_note_states_the_look_ahead_caveat_and_the_window():
    note = market_divergence.baskets_note("quality_bucket", dt.date(2026, 5, 20), dt.date(2026, 11, 20), 3, False)
    assert "Look-ahead caveat" in note and "20 Nov 2026" in note and "20 May 2026" in note
    assert "3 snapshot(s)" in note and "top 30%" in note and "switch to **Point-in-time**" in note
    alone = market_divergence.baskets_note("is_profitable", None, dt.date(2026, 11, 20), 1, False)
    assert "positive trailing EPS" in alone and "run the nightly job every evening" in alone
    assert "--backfill-weeks" in market_divergence.baskets_note("is_profitable", None, dt.date(2026, 11, 20), 1, True)


def test_window_labels_cover_the_market_windows():
    from screener import market

    assert list(market_divergence.WINDOW_LABELS) == list(market.WINDOWS)
    assert market_divergence.DEFAULT_WINDOW in market.WINDOWS
    assert set(market_divergence.LENSES) == set(market.SPREAD_PAIRS)
