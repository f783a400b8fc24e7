"""Real Yahoo payloads through yfinance's parsing and the catalog mapping, with units checked by hand.

- 2021 recorded ``formatted=false`` quoteSummary responses (what modern yfinance receives),
- 2022 formatted payloads with insider activity, unformatted as Yahoo sends them today,
- the 2026 ``Ticker.info`` dump of ~3,400 US stocks,
all from ``../shared/realdata`` (tests skip when it is absent).
"""

from __future__ import annotations

import gzip
import json
import math
import warnings
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from screener.fields import FIELD_BY_NAME, INFO_FIELDS, INSIDER_FIELDS
from screener.fundamentals import derive_flags, map_info_dicts
from screener.sources.base import Rejections
from screener.sources.yahoo_fundamentals import refusal
from screener.sources.yahoo_parse import (
    SUMMARY_MODULES, info_from_payloads, insider_purchases_from_payload, instrument_kind,
)
from tests.fakes.yahoo_fake import (
    FakeYahoo, quote_row, summaries_from_formatted, summaries_from_raw_fixtures,
)
from tests.support.realdata import FORMATTED_2022, INFO_2026, RAW_2021, realdata_path


@pytest.fixture(scope="module")
def raw_2021() -> dict:
    return summaries_from_raw_fixtures(realdata_path(RAW_2021))


@pytest.fixture(scope="module")
def formatted_2022() -> dict:
    return summaries_from_formatted(realdata_path(FORMATTED_2022))


def body(modules: dict) -> dict:
    """The quoteSummary body the Yahoo source requests: info modules + insider module."""
    return {"quoteSummary": {"result": [{m: modules[m] for m in SUMMARY_MODULES if modules.get(m) is not None}],
                             "error": None}}


def catalog_rows(payloads: dict[str, dict], rejections: Rejections | None = None) -> pd.DataFrame:
    """Payloads -> yfinance parse -> the project's mapping (one batch), the path the source takes."""
    records = [(symbol, info_from_payloads(symbol, body(modules), quote_row(symbol, modules)),
                insider_purchases_from_payload(symbol, body(modules))) for symbol, modules in payloads.items()]
    return map_info_dicts(records, rejections or Rejections()).set_index("ticker", drop=False)


def catalog(symbol: str, modules: dict, rejections: Rejections | None = None) -> dict:
    return catalog_rows({symbol: modules}, rejections).iloc[0].to_dict()


def test_one_combined_request_gives_exactly_what_ticker_info_and_insider_purchases_give(
        raw_2021, formatted_2022, tmp_path):
    """A real yf.Ticker served the same payloads by the fake (its 3 + 1 requests) agrees with our 1 + 1/batch."""
    import yfinance as yf

    yf.set_tz_cache_location(str(tmp_path))
    payloads = {**raw_2021, **dict(list(formatted_2022.items())[:60])}
    fake = FakeYahoo(pd.DataFrame(columns=["ticker", "date", "open", "high", "low", "close", "adj_close",
                                           "volume"]), payloads)
    for symbol, modules in payloads.items():
        modules = fake.summaries[symbol]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ticker = yf.Ticker(symbol, session=fake.session())
            genuine_info = {k: v for k, v in ticker.info.items() if k != "trailingPegRatio"}
            genuine_purchases = ticker.insider_purchases
        assert info_from_payloads(symbol, body(modules), quote_row(symbol, modules)) == genuine_info, symbol
        pd.testing.assert_frame_equal(insider_purchases_from_payload(symbol, body(modules)), genuine_purchases)
    # What that costs yfinance per ticker: quoteSummary twice (info, holders), v7 quote, timeseries.
    assert fake.count("quote_summary", "EPAC") == 2 and fake.count("quote", "EPAC") == 1
    assert fake.count("timeseries", "EPAC") == 1


def test_aapl_2021_units_by_hand(raw_2021):
    modules = raw_2021["AAPL"]
    row = catalog("AAPL", modules)
    financial, detail, stats = modules["financialData"], modules["summaryDetail"], modules["defaultKeyStatistics"]
    assert financial["debtToEquity"] == 169.188
    assert row["debt_to_equity"] == pytest.approx(1.69188)
    # summaryDetail holds the yield as a fraction (0.006); .info reports the v7 percent (0.6); stored 0.006.
    assert detail["dividendYield"] == pytest.approx(0.006)
    assert row["dividend_yield"] == pytest.approx(0.006)
    assert row["revenue_growth"] == pytest.approx(financial["revenueGrowth"])
    assert row["roe"] == pytest.approx(financial["returnOnEquity"])
    assert row["insider_pct_held"] == pytest.approx(stats["heldPercentInsiders"])
    assert row["eps_ttm"] == pytest.approx(stats["trailingEps"])
    assert row["market_cap"] == pytest.approx(detail["marketCap"])
    assert row["sector"] == "Information Technology"  # Yahoo "Technology" -> GICS
    activity = modules["netSharePurchaseActivity"]
    assert row["insider_buys_6m"] == activity["buyInfoCount"]
    assert row["insider_sells_6m"] == activity["sellInfoCount"]
    assert row["insider_net_shares_6m"] == pytest.approx(activity["netInfoShares"])


def test_every_2021_us_stock_maps_with_its_units(raw_2021):
    rows = catalog_rows(raw_2021)
    for symbol, modules in raw_2021.items():
        if instrument_kind(info_from_payloads(symbol, body(modules), quote_row(symbol, modules))) != "us_equity":
            continue
        row = rows.loc[symbol]
        financial = modules.get("financialData") or {}
        detail = modules.get("summaryDetail") or {}
        if financial.get("debtToEquity") is not None:
            assert row["debt_to_equity"] == pytest.approx(financial["debtToEquity"] / 100), symbol
        else:
            assert pd.isna(row["debt_to_equity"]), symbol
        if detail.get("dividendYield") is not None:
            assert row["dividend_yield"] == pytest.approx(detail["dividendYield"], rel=1e-6), symbol
        else:
            assert pd.isna(row["dividend_yield"]), symbol  # null, never 0


def test_2022_insider_activity_by_hand(formatted_2022):
    """Insider counts and shares straight from the formatted JSON (its "raw" values) in this test."""
    with gzip.open(realdata_path(FORMATTED_2022), "rt", encoding="utf-8") as handle:
        records = {r["symbol"]: r["quoteSummary"] for r in map(json.loads, handle)}
    checked = 0
    rows = catalog_rows(formatted_2022)
    flags = derive_flags(rows.copy())
    for symbol, summary in records.items():
        activity = summary.get("netSharePurchaseActivity") or {}
        raw = {k: v["raw"] for k, v in activity.items() if isinstance(v, dict) and "raw" in v}
        row = rows.loc[symbol]
        for field, key in (("insider_buys_6m", "buyInfoCount"), ("insider_sells_6m", "sellInfoCount"),
                           ("insider_net_shares_6m", "netInfoShares"),
                           ("insider_net_pct_6m", "netPercentInsiderShares")):
            if key in raw:
                assert row[field] == pytest.approx(raw[key]), (symbol, field)
            else:
                assert pd.isna(row[field]), (symbol, field)
        if {"buyInfoShares", "sellInfoShares", "netInfoShares"} <= raw.keys():
            # Net shares are buys minus sales (Yahoo rounds to +-1 share): the mapping picked the
            # net row, not "Total Insider Shares Held".
            net = raw["buyInfoShares"] - raw["sellInfoShares"]
            assert row["insider_net_shares_6m"] == pytest.approx(net, rel=1e-6, abs=1)
            if abs(net) > 1:
                assert bool(flags.at[symbol, "insider_buying"]) == (net > 0), symbol
            checked += 1
        debt = (summary.get("financialData") or {}).get("debtToEquity") or {}
        if "raw" in debt:
            assert row["debt_to_equity"] == pytest.approx(debt["raw"] / 100), symbol
    assert checked > 250  # of 386 payloads, 748 of 772 in the source had insider modules


def test_2026_info_dump_maps_without_crash_every_value_in_range_or_null():
    dump = pd.read_parquet(realdata_path(INFO_2026))
    records = []
    for record in dump.to_dict("records"):
        info = {k: v for k, v in record.items() if k not in ("symbol", "asof")
                and v is not None and not (isinstance(v, float) and math.isnan(v))}
        records.append((record["symbol"], info, None))
    rejections = Rejections()
    mapped = map_info_dicts(records, rejections)
    assert len(mapped) == len(dump) and list(mapped["ticker"]) == list(dump["symbol"])
    for spec in INFO_FIELDS:
        if spec.kind == "str":
            continue
        values = mapped[spec.name].dropna().astype("float64")
        lo, hi = spec.valid
        assert lo is None or (values >= lo).all(), spec.name
        assert hi is None or (values <= hi).all(), spec.name
    # Units, independently: percent keys divided by 100 wherever a value was kept.
    kept = mapped["dividend_yield"].notna()
    assert np.allclose(mapped.loc[kept, "dividend_yield"], dump.loc[kept, "dividendYield"] / 100)
    kept = mapped["debt_to_equity"].notna()
    assert np.allclose(mapped.loc[kept, "debt_to_equity"], dump.loc[kept, "debtToEquity"] / 100)
    # Nothing lost on the way: a mapped null is a dump null or a cell refused (and counted) as out of range.
    refused = Counter()
    for (_, column, reason), cells in rejections.counts.items():
        assert reason.startswith("outside"), (column, reason)
        refused[column] += cells
    for spec in INFO_FIELDS:
        if spec.kind != "str" and len(spec.source_keys) == 1 and spec.source_keys[0] in dump.columns:
            key = spec.source_keys[0]
            assert mapped[spec.name].isna().sum() == dump[key].isna().sum() + refused[key], spec.name
    nulls = {name: int(mapped[name].isna().sum()) for name in (*(f.name for f in INFO_FIELDS), *INSIDER_FIELDS)}
    print(f"\n2026 .info dump, {len(mapped)} rows: nulls per field {nulls}; refused cells {rejections.total}")


EXPECTED_KINDS = {
    "EPAC": "us_equity", "BFLY": "us_equity", "BRKS": "us_equity", "SIX": "us_equity", "SI": "us_equity",
    "CRON": "us_equity", "AAPL": "us_equity", "AMZN": "us_equity", "GOOG": "us_equity", "ABBV": "us_equity",
    "BABA": "us_equity", "BEKE": "us_equity", "SPOT": "us_equity",
    "SIMP": "otc_equity", "AFRAF": "otc_equity",
    "AZT.OL": "foreign_equity", "OCDO.L": "foreign_equity", "UNIR.MI": "foreign_equity", "WSKT.JK": "foreign_equity",
    "QQQ": "etf", "0P000071W8.TO": "mutual_fund", "ADH": "mutual_fund", "BTC-USD": "crypto", "EURUSD=X": "currency",
}


def test_non_equity_and_foreign_payloads_are_classified_and_refused_without_crashing(raw_2021):
    assert set(raw_2021) == set(EXPECTED_KINDS)
    catalog_rows(raw_2021)  # the mapping itself copes with whatever modules exist
    for symbol, kind in EXPECTED_KINDS.items():
        modules = raw_2021[symbol]
        info = info_from_payloads(symbol, body(modules), quote_row(symbol, modules))
        assert instrument_kind(info) == kind, symbol
        refused = refusal(symbol, info)
        if kind in ("us_equity", "otc_equity"):
            assert refused is None
        else:
            assert refused is not None and refused[0] == "bad_payload" and kind.split("_")[0] in refused[1]
    assert instrument_kind({}) == "unknown"  # yfinance's near-empty dict for an unknown symbol
    assert refusal("NOPE", {})[0] == "not_found"


def test_a_garbage_cell_is_refused_and_counted_not_coerced(raw_2021):
    modules = json.loads(json.dumps(raw_2021["EPAC"]))
    modules["financialData"]["debtToEquity"] = "n/a%"
    modules["financialData"]["currentRatio"] = float("inf")
    rejections = Rejections()
    row = catalog("EPAC", modules, rejections)
    assert pd.isna(row["debt_to_equity"]) and pd.isna(row["current_ratio"])
    assert rejections.total == 2
    assert any("EPAC" in example and "debtToEquity" in example for example in rejections.examples)
    assert FIELD_BY_NAME["debt_to_equity"].source_scale == 0.01
