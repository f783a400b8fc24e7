"""The ``files`` source end to end: hand-made files with garbage, then the real holdings, prices and info dump."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from screener.fields import FIELD_BY_NAME, INFO_FIELDS, INSIDER_FIELDS
from screener.sources.base import SourceError
from screener.sources.files import load_files
from tests.support.realdata import realdata_path

NYSE = "New York Stock Exchange Inc."


def ishares(rows: list[tuple[str, str, str, str]]) -> bytes:
    """A minimal iShares download: BOM, 9 preamble lines, header, rows, NBSP line, footer."""
    head = ["iShares Russell 2000 ETF", 'Fund Holdings as of,"Jan 21, 2026"', *(["x,\"-\""] * 6), "\xa0",
            "Ticker,Name,Sector,Asset Class,Market Value,Weight (%),Notional Value,Quantity,Price,Location,"
            "Exchange,Currency,FX Rate,Market Currency,Accrual Date"]
    body = [",".join(f'"{c}"' for c in (t, n, "Industrials", cls, "1,000.00", w, "1,000.00", "10.00", "5.00",
                                         "United States", NYSE, "USD", "1.00", "USD", "-"))
            for t, n, cls, w in rows]
    return "\ufeff".encode() + "\n".join([*head, *body, "\xa0", '"BlackRock disclaimer,', 'more text."']).encode()


UNIVERSE = ishares([
    ("AAA", "ALPHA INC", "Equity", "0.50"),
    ("BBB", "BETA CORP", "Equity", "0.30"),
    ("MOGA", "MOOG INC CLASS A", "Equity", "0.15"),
    ("CCC", "GAMMA LTD", "Equity", "0.05"),
    ("USD", "USD CASH", "Cash", "0.10"),
])

# Data rows 1..14; comments give the row number and what is wrong with it.
PRICES = """date,ticker,open,high,low,close,volume
2026-01-19,AAA,10,11,9,10,1000
2026-01-20,AAA,10,11,9,10.5,-300
2026-01-21,AAA,10,11,9,11,1200
2026-01-22,AAA,10,11,9,12,1200
2026-01-20,BBB,20,21,19,20,oops
2026-01-21,BBB,20,21,19,abc,500
2026-01-21,BBB,20,21,19,21,500
2026-01-21,MOG.A,50,51,49,50,100
2026-01-21,ZZZ,1,1,1,1,1
2026-01-21,IWM,200,201,199,200,10000
2026-01-21,IWM,200,201,199,200,10000
2026-13-01,SPY,500,501,499,500,20000
2026-01-21,SPY,500,501,499,500,20000
2026-01-21,SPY,500,501,499,inf,20000
"""
PRICE_REJECTIONS = {
    ("volume", "negative"): 1,  # row 2
    ("volume", "not a number"): 1,  # row 5
    ("close", "not a number"): 1,  # row 6
    ("date+ticker", "duplicate row"): 1,  # row 11
    ("date", "not a date (expected YYYY-MM-DD)"): 1,  # row 12
    ("close", "infinite"): 1,  # row 14
}

# Data rows 1..6.
FUNDAMENTALS = """symbol,debtToEquity,dividendYield,returnOnEquity,sector,marketCap,favouriteColour,asof
AAA,169.188,0.72,0.15,Technology,1200000000,blue,2026-08-01
bbb,,,abc,Basic Materials,-5,red,2026-08-01
AAA,1,1,1,Energy,1,green,2026-08-01
ZZZ,50,1,0.1,Energy,1e9,,2026-08-01
MOG.A,55.5,1.5,0.2,Industrials,inf,,yesterday
,1,1,1,Energy,1,,2026-08-01
"""
FUNDAMENTAL_REJECTIONS = {
    ("returnOnEquity", "not a number"): 1,  # row 2
    ("marketCap", "outside 0.0..50000000000000.0"): 1,  # row 2
    ("marketCap", "infinite"): 1,  # row 5
    ("asof", "not a date (expected YYYY-MM-DD)"): 1,  # row 5
    ("symbol", "duplicate ticker (first row kept)"): 1,  # row 3
    ("symbol", "missing"): 1,  # row 6
}


@pytest.fixture
def files(tmp_path) -> dict[str, Path]:
    paths = {"universe": tmp_path / "IWM_holdings.csv", "prices": tmp_path / "prices.csv",
             "fundamentals": tmp_path / "info.csv"}
    paths["universe"].write_bytes(UNIVERSE)
    paths["prices"].write_text(PRICES)
    paths["fundamentals"].write_text(FUNDAMENTALS)
    return paths


def counts_for(data, path: Path) -> dict[tuple[str, str], int]:
    return {(column, reason): n for (file, column, reason), n in data.rejections.counts.items() if file == str(path)}


def test_hand_made_files_load_with_exact_counts(files):
    data = load_files(files["universe"], files["prices"], files["fundamentals"], as_of=dt.date(2026, 1, 21))
    assert data.source == "files"
    assert data.universe.to_dict("list") == {
        "ticker": ["AAA", "BBB", "MOG-A", "CCC"], "name": ["ALPHA INC", "BETA CORP", "MOOG INC CLASS A", "GAMMA LTD"],
        "sector": ["Industrials"] * 4, "index_weight": pytest.approx([0.005, 0.003, 0.0015, 0.0005])}
    assert data.failures == {"CCC": "no_prices"}
    assert counts_for(data, files["prices"]) == PRICE_REJECTIONS
    assert counts_for(data, files["fundamentals"]) == FUNDAMENTAL_REJECTIONS
    assert data.rejections.total == sum(PRICE_REJECTIONS.values()) + sum(FUNDAMENTAL_REJECTIONS.values())
    examples = "\n".join(data.rejections.examples)
    assert f"{files['prices']} row 2, column volume: '-300' (negative)" in examples
    assert f"{files['fundamentals']} row 2, column returnOnEquity: 'abc' (not a number)" in examples


def test_hand_made_prices_are_cut_at_as_of_and_restricted_to_universe_and_benchmarks(files):
    data = load_files(files["universe"], files["prices"], files["fundamentals"], as_of=dt.date(2026, 1, 21))
    prices = data.prices
    assert sorted(prices["ticker"].unique()) == ["AAA", "BBB", "IWM", "MOG-A", "SPY"]
    assert prices["date"].max() == pd.Timestamp("2026-01-21")
    rows = {(t, d.strftime("%m-%d")): (c, v) for t, d, c, v in
            zip(prices["ticker"], prices["date"], prices["close"], prices["volume"])}
    assert rows == {
        ("AAA", "01-19"): (10.0, 1000), ("AAA", "01-20"): (10.5, pd.NA), ("AAA", "01-21"): (11.0, 1200),
        ("BBB", "01-20"): (20.0, pd.NA), ("BBB", "01-21"): (21.0, 500),
        ("MOG-A", "01-21"): (50.0, 100), ("IWM", "01-21"): (200.0, 10000), ("SPY", "01-21"): (500.0, 20000),
    }
    assert data.stats["price_rows_after_as_of"] == 1
    assert data.stats["price_rows_outside_universe"] == 1  # ZZZ
    assert any("MOG.A -> MOG-A" in note for note in data.notes)


def test_hand_made_fundamentals_are_mapped_per_universe_ticker(files):
    data = load_files(files["universe"], files["prices"], files["fundamentals"], as_of=dt.date(2026, 1, 21))
    fundamentals = data.fundamentals.set_index("ticker")
    assert list(fundamentals.index) == ["AAA", "BBB", "MOG-A", "CCC"]
    assert set(fundamentals.columns) >= {f.name for f in INFO_FIELDS} | set(INSIDER_FIELDS)
    assert fundamentals.loc["AAA", "debt_to_equity"] == pytest.approx(1.69188)  # 169.188 / 100
    assert fundamentals.loc["AAA", "dividend_yield"] == pytest.approx(0.0072)  # 0.72 / 100
    assert fundamentals.loc["AAA", "roe"] == pytest.approx(0.15)  # the first AAA row won
    assert fundamentals.loc["AAA", "sector"] == "Information Technology"
    assert fundamentals.loc["BBB", "sector"] == "Materials"
    assert pd.isna(fundamentals.loc["BBB", "roe"]) and pd.isna(fundamentals.loc["BBB", "market_cap"])
    assert pd.isna(fundamentals.loc["BBB", "debt_to_equity"])  # empty, not 0
    assert fundamentals.loc["MOG-A", "debt_to_equity"] == pytest.approx(0.555)
    assert fundamentals["fundamentals_as_of"].tolist() == [dt.date(2026, 8, 1), dt.date(2026, 8, 1), None, None]
    assert fundamentals.loc["CCC"].drop(["stale", "fundamentals_as_of"]).isna().all()
    assert not fundamentals["stale"].any()
    assert data.stats["fundamentals_matched"] == 3
    assert data.stats["fundamentals_missing"] == 1
    assert data.stats["fundamentals_rows_outside_universe"] == 1  # ZZZ


def test_missing_benchmark_names_the_prices_file(files):
    no_iwm = "\n".join(line for line in PRICES.splitlines() if ",IWM," not in line)
    files["prices"].write_text(no_iwm)
    with pytest.raises(SourceError) as error:
        load_files(files["universe"], files["prices"], None, as_of=None)
    assert str(error.value).startswith(f"{files['prices']}: no usable price rows for IWM")


def test_benchmark_only_after_as_of_is_missing(files):
    with pytest.raises(SourceError, match=r"IWM and SPY on or before 2026-01-20"):
        load_files(files["universe"], files["prices"], None, as_of=dt.date(2026, 1, 20))


def test_without_fundamentals_every_field_is_null(files):
    data = load_files(files["universe"], files["prices"], None, as_of=None)
    values = data.fundamentals.drop(columns=["ticker", "stale", "fundamentals_as_of"])
    assert values.isna().all().all()
    assert data.fundamentals["ticker"].tolist() == data.universe["ticker"].tolist()
    assert data.stats["fundamentals_missing"] == 4
    assert any("no fundamentals file" in note for note in data.notes)


def test_fundamentals_date_falls_back_to_file_modification(files, tmp_path):
    info = tmp_path / "info.parquet"
    pd.DataFrame({"Ticker": ["AAA"], "currentRatio": [1.5]}).to_parquet(info)
    stamp = dt.datetime(2026, 3, 4, 12, 0).timestamp()
    os.utime(info, (stamp, stamp))
    data = load_files(files["universe"], files["prices"], info, as_of=None)
    row = data.fundamentals.set_index("ticker").loc["AAA"]
    assert row["fundamentals_as_of"] == dt.date(2026, 3, 4)
    assert row["current_ratio"] == 1.5


def test_fundamentals_without_ticker_column_is_refused(files, tmp_path):
    info = tmp_path / "info.csv"
    info.write_text("name,debtToEquity\nAlpha,1\n")
    with pytest.raises(SourceError, match=r"info\.csv: missing required column 'ticker' \(or 'symbol'\); "
                                          r"columns found: name, debtToEquity"):
        load_files(files["universe"], files["prices"], info, as_of=None)


def test_missing_universe_file(files, tmp_path):
    with pytest.raises(SourceError, match="nowhere.csv"):
        load_files(tmp_path / "nowhere.csv", files["prices"], None, as_of=None)


# --- real data ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_inputs(tmp_path_factory) -> dict[str, object]:
    """The 2026-01-21 holdings, 150 of its tickers from the real panel plus IWM/SPY, as CSV and Parquet."""
    holdings = realdata_path("iwm_holdings_raw/IWM_holdings_2026-01-21.csv.gz")
    panel_path = realdata_path("prices_daily_yahoo_r2000union_2022-01-03_2024-03-08.parquet")
    benchmarks = pd.read_parquet(realdata_path("benchmarks_daily_IWM_SPY_RUT.parquet"))
    info = realdata_path("yfinance_info_fundamentals_us_ge250m_asof-2026-08-01.parquet")

    from screener.holdings import parse_holdings

    universe = parse_holdings(holdings)["ticker"]
    available = pd.read_parquet(panel_path, columns=["ticker"])["ticker"].astype(str).unique()
    chosen = sorted(set(universe) & set(available))[:150]
    panel = pd.read_parquet(panel_path, filters=[("ticker", "in", chosen)])
    panel["ticker"] = panel["ticker"].astype(str)
    first, last = panel["date"].min(), panel["date"].max()
    bench = benchmarks[(benchmarks["source_repo"] == "alitalbi/storage_data_fy")
                       & benchmarks["symbol"].isin(["IWM", "SPY"])
                       & (benchmarks["date"] >= first) & (benchmarks["date"] <= last)]
    bench = bench.rename(columns={"symbol": "ticker"})[["ticker", "date", "open", "high", "low", "close", "volume"]]
    bench = bench.assign(ticker=bench["ticker"].astype(str))
    combined = pd.concat([panel, bench], ignore_index=True)
    folder = tmp_path_factory.mktemp("real-files")
    combined.to_csv(folder / "prices.csv", index=False)
    combined.to_parquet(folder / "prices.parquet", index=False)
    return {"holdings": holdings, "info": info, "panel": panel, "bench": bench, "chosen": chosen,
            "csv": folder / "prices.csv", "parquet": folder / "prices.parquet"}


def test_real_files_load_from_csv_and_parquet_alike(real_inputs):
    from_csv = load_files(real_inputs["holdings"], real_inputs["csv"], real_inputs["info"], as_of=None)
    from_parquet = load_files(real_inputs["holdings"], real_inputs["parquet"], real_inputs["info"], as_of=None)
    pd.testing.assert_frame_equal(from_csv.prices, from_parquet.prices, check_exact=False, rtol=1e-12)
    assert from_csv.failures == from_parquet.failures
    # the same cells are refused in both (24 all-NaN rows); only the file name differs
    assert {(c, r): n for (_, c, r), n in from_csv.rejections.counts.items()} == \
        {(c, r): n for (_, c, r), n in from_parquet.rejections.counts.items()}
    assert from_csv.rejections.counts[(str(real_inputs["csv"]), "adj_close", "missing")] == \
        int(real_inputs["panel"]["adj_close"].isna().sum())

    chosen = real_inputs["chosen"]
    data = from_parquet
    assert sorted(set(data.prices["ticker"])) == sorted([*chosen, "IWM", "SPY"])
    assert set(data.failures) == set(data.universe["ticker"]) - set(chosen)
    assert set(data.failures.values()) == {"no_prices"}

    # closes are the panel's adj_close; IWM/SPY (no adj_close column) keep their auto-adjusted close
    panel = real_inputs["panel"].dropna(subset=["adj_close"])
    one = panel[panel["ticker"] == chosen[0]].sort_values("date")
    ours = data.prices[data.prices["ticker"] == chosen[0]]
    np.testing.assert_allclose(ours["close"], one["adj_close"])
    iwm = real_inputs["bench"][real_inputs["bench"]["ticker"] == "IWM"].sort_values("date")
    np.testing.assert_allclose(data.prices.loc[data.prices["ticker"] == "IWM", "close"], iwm["close"])
    assert any("IWM, SPY" in note for note in data.notes)


def test_real_files_as_of_cut(real_inputs):
    data = load_files(real_inputs["holdings"], real_inputs["parquet"], None, as_of=dt.date(2023, 12, 31))
    assert data.prices["date"].max() == pd.Timestamp("2023-12-29")
    late = sum((pd.to_datetime(frame["date"]) > "2023-12-31").sum()
               for frame in (real_inputs["panel"].dropna(subset=["adj_close"]), real_inputs["bench"]))
    assert data.stats["price_rows_after_as_of"] == late


def test_real_fundamentals_in_catalog_ranges_and_checked_by_hand(real_inputs):
    data = load_files(real_inputs["holdings"], real_inputs["parquet"], real_inputs["info"], as_of=None)
    fundamentals = data.fundamentals.set_index("ticker")
    assert list(fundamentals.index) == data.universe["ticker"].tolist()

    nulls = {}
    for spec in (*INFO_FIELDS, *(FIELD_BY_NAME[name] for name in INSIDER_FIELDS)):
        values = fundamentals[spec.name]
        nulls[spec.name] = int(values.isna().sum())
        if not spec.is_numeric:
            continue
        present = values.dropna().astype("float64")
        lo, hi = spec.valid
        assert lo is None or (present >= lo).all(), spec.name
        assert hi is None or (present <= hi).all(), spec.name
    print(f"\nnulls per field over {len(fundamentals)} universe tickers:")
    for name, count in nulls.items():
        print(f"  {name:24s} {count:5d}")

    raw = pd.read_parquet(real_inputs["info"]).set_index("symbol")
    matched = fundamentals.index.intersection(raw.index)
    assert data.stats["fundamentals_matched"] == len(matched)
    assert data.stats["fundamentals_missing"] == len(fundamentals) - len(matched)
    # by hand: CVR Energy's debtToEquity 241.801 (percent) and dividendYield 1.12 (percent)
    assert raw.loc["CVI", "debtToEquity"] == pytest.approx(241.801)
    assert fundamentals.loc["CVI", "debt_to_equity"] == pytest.approx(2.41801)
    assert fundamentals.loc["CVI", "dividend_yield"] == pytest.approx(0.0112)
    assert fundamentals.loc["CRDO", "sector"] == "Information Technology"  # Yahoo "Technology"
    assert fundamentals.loc["HL", "sector"] == "Materials"  # Yahoo "Basic Materials"
    # every matched ticker independently: debt_to_equity = debtToEquity / 100 where in range
    expected = raw.loc[matched, "debtToEquity"] / 100
    expected = expected.where(expected.abs() <= 1_000)
    np.testing.assert_allclose(fundamentals.loc[matched, "debt_to_equity"].to_numpy(dtype=float),
                               expected.to_numpy(dtype=float), equal_nan=True)
    # earnings growth falls back to earningsQuarterlyGrowth only where earningsGrowth is missing
    growth = raw.loc[matched, "earningsGrowth"].fillna(raw.loc[matched, "earningsQuarterlyGrowth"])
    np.testing.assert_allclose(fundamentals.loc[matched, "earnings_growth"].to_numpy(dtype=float),
                               growth.to_numpy(dtype=float), equal_nan=True)
    assert set(fundamentals.loc[matched, "fundamentals_as_of"]) == {dt.date(2026, 8, 1)}
    assert fundamentals.loc[fundamentals.index.difference(matched), "fundamentals_as_of"].isna().all()
