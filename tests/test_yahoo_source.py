"""The Yahoo source end to end against a fake Yahoo and iShares: cost, bad nights, staleness, resume.

Each night runs the real code paths (our session, yfinance, parsing, mapping, checkpoint)
on a fake HTTP layer serving real payloads.  Expected values are computed here from the
fake's own data (its price panel and quoteSummary modules), never read back from the
source's output.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from screener import store
from screener.nightly import NightlyOptions, run_nightly
from screener.sources.base import SourceError
from screener.sources.yahoo import YahooOptions, cache_dir_for, load_yahoo, plan_yahoo
from tests.fakes.yahoo_fake import Faults, NEW_YORK, world_tickers, yahoo_world
from tests.support.realdata import PRICES, REALDATA

REPO_ROOT = Path(__file__).resolve().parents[1]
N = 24
BATCH = 10
NIGHT1, NIGHT2 = dt.date(2024, 3, 7), dt.date(2024, 3, 8)

pytestmark = pytest.mark.skipif(not (REALDATA / PRICES).exists(), reason=f"real data not available: {REALDATA}")


def options(**changes) -> YahooOptions:
    return YahooOptions(**{"rate": 500.0, "workers": 4, "batch_size": BATCH, "backoff_base_s": 0.001, **changes})


def evening(night: dt.date):
    return lambda: dt.datetime(night.year, night.month, night.day, 22, 0, tzinfo=NEW_YORK)


def fetch(data_dir: Path, fake, night: dt.date, **changes):
    return load_yahoo(as_of=night, data_dir=data_dir, options=options(**changes), transport=fake.transport,
                      now=evening(night))


def publish(data_dir: Path, fake, night: dt.date, **changes):
    """A whole nightly run (fetch, compute, publish) with the Yahoo source on the fake."""
    outcome = run_nightly(NightlyOptions(source="yahoo", as_of=night, data_dir=data_dir), progress=lambda *_: None,
                          out=io.StringIO(), loader=lambda o, _p: fetch(o.data_dir, fake, o.as_of, **changes))
    assert outcome.exit_code == 0, outcome.report.get("error")
    return outcome.report


@pytest.fixture(scope="module")
def tickers() -> list[str]:
    return world_tickers(N)


@pytest.fixture(scope="module")
def after_first_night(tmp_path_factory, tickers) -> tuple[Path, dict, dict]:
    """A data folder after one clean published night, and that night's run report and request counts."""
    data_dir = tmp_path_factory.mktemp("yahoo-night1")
    fake = yahoo_world(tickers)
    report = publish(data_dir, fake, NIGHT1)
    return data_dir, report, dict(fake.requests)


@pytest.fixture
def data_dir(tmp_path, after_first_night) -> Path:
    target = tmp_path / "data"
    shutil.copytree(after_first_night[0], target)
    return target


def truth_closes(fake, ticker: str, end: dt.date) -> pd.Series:
    """Auto-adjusted closes from the fake's raw panel (adj_close), two years up to ``end``."""
    bars = fake.bars[ticker]
    dates = pd.to_datetime(bars["ts"], unit="s", utc=True).tz_convert(NEW_YORK).normalize().tz_localize(None)
    series = pd.Series(bars["adj_close"], index=dates).dropna()
    return series[(series.index < pd.Timestamp(end + dt.timedelta(days=1)))
                  & (series.index >= pd.Timestamp(end + dt.timedelta(days=1) - dt.timedelta(days=740)))]


def truth_fundamentals(fake, ticker: str) -> dict[str, float | None]:
    """A few catalog fields straight from the fake's quoteSummary modules, units converted here."""
    modules = fake.summaries[ticker]
    financial = modules.get("financialData") or {}
    stats = modules.get("defaultKeyStatistics") or {}
    detail = modules.get("summaryDetail") or {}
    scaled = lambda v, k: None if v is None else v * k  # noqa: E731
    return {"debt_to_equity": scaled(financial.get("debtToEquity"), 0.01), "roe": financial.get("returnOnEquity"),
            "revenue_growth": financial.get("revenueGrowth"), "insider_pct_held": stats.get("heldPercentInsiders"),
            "dividend_yield": detail.get("dividendYield")}


def assert_fundamentals_match(fake, rows: pd.DataFrame, tickers: list[str]) -> None:
    rows = rows.set_index("ticker")
    for ticker in tickers:
        for field, expected in truth_fundamentals(fake, ticker).items():
            got = rows.at[ticker, field]
            if expected is None:
                assert pd.isna(got), (ticker, field)
            else:
                assert got == pytest.approx(expected, rel=1e-6), (ticker, field)


# --- cost -------------------------------------------------------------------------------------


def test_first_night_costs_what_the_request_budget_says(after_first_night, tickers):
    _, report, requests = after_first_night
    charts = N + 2  # every stock + IWM + SPY; each once for its time zone, once for the bars
    expected = {("universe", None): 1, ("cookie", None): 1, ("crumb", None): 1}
    assert {k: v for k, v in requests.items() if k[0] in ("universe", "cookie", "crumb")} == expected
    assert sum(v for (kind, _), v in requests.items() if kind == "chart") == 2 * charts
    assert sum(v for (kind, _), v in requests.items() if kind == "quote_summary") == N
    assert sum(v for (kind, _), v in requests.items() if kind == "quote") == math.ceil(N / BATCH)
    total = 3 + 2 * charts + N + math.ceil(N / BATCH)
    assert sum(requests.values()) == total
    assert report["stats"]["requests"] == total
    assert report["stats"]["requests_per_ticker"] == pytest.approx(total / N, abs=1e-4)


def test_steady_state_night_is_incremental_and_costs_at_most_1_5_requests_per_ticker(data_dir, tickers):
    fake = yahoo_world(tickers)
    report = publish(data_dir, fake, NIGHT2)
    due = math.ceil(N * 1 / 7)  # one day since the last refresh, max age 7 days
    expected = 1 + 1 + (N + 2) + due + math.ceil(due / BATCH)  # universe, crumb (cookie cached), charts, fundamentals
    assert sum(fake.requests.values()) == expected
    assert expected / N <= 1.5 and report["stats"]["requests_per_ticker"] <= 1.5
    assert report["stats"]["prices"]["incremental"] == N + 2 and report["stats"]["prices"]["full"] == 0
    # Fetched from 10 days before the last session only, yet the published history is the full two years.
    snapshot = store.snapshot_path(data_dir, NIGHT2)
    prices = pd.read_parquet(snapshot / "prices.parquet")
    for ticker in [*tickers[:6], "IWM"]:
        got = prices[prices["ticker"] == ticker].set_index("date")["close"]
        expected_closes = truth_closes(fake, ticker, NIGHT2)
        assert list(pd.to_datetime(got.index)) == list(expected_closes.index)
        np.testing.assert_allclose(got.to_numpy(), expected_closes.to_numpy(), rtol=1e-9)
    stocks = pd.read_parquet(snapshot / "stocks.parquet")
    assert_fundamentals_match(fake, stocks, tickers)
    assert not stocks["stale"].any()


def test_a_changed_adjustment_basis_triggers_a_full_refetch_for_that_ticker_only(data_dir, tickers):
    fake = yahoo_world(tickers)
    ticker = tickers[0]
    bars = fake.bars[ticker]
    bars["adj_close"] = bars["adj_close"] * np.where(np.arange(len(bars["ts"])) < len(bars["ts"]) - 1, 0.98, 1.0)
    data = fetch(data_dir, fake, NIGHT2)
    assert data.stats["prices"]["refetched_after_adjustment"] == 1
    assert fake.count("chart", ticker) == 2 and fake.count("chart", tickers[1]) == 1
    got = data.prices[data.prices["ticker"] == ticker].set_index("date")["close"]
    np.testing.assert_allclose(got.to_numpy(), truth_closes(fake, ticker, NIGHT2).to_numpy(), rtol=1e-9)


# --- a bad night --------------------------------------------------------------------------------


def test_bad_night_loses_nothing_and_invents_nothing(data_dir, tickers):
    delisted, renamed, garbled = tickers[3], tickers[7], tickers[5]
    faults = Faults(failure_rate=0.10, seed=11, delisted=frozenset({delisted}), renamed={renamed: "NEWNAME"},
                    garbled_summary=frozenset({garbled}), storm=(40, 6), latency_s=0.001)
    fake = yahoo_world(tickers, faults=faults)
    data = fetch(data_dir, fake, NIGHT2, max_age_days=0)  # refresh every ticker's fundamentals tonight
    assert fake.faults_served["429"] >= 6 and data.stats["throttled_429"] == fake.faults_served["429"]
    assert sum(fake.faults_served.values()) > 0.08 * sum(fake.requests.values())

    # Prices: complete for every ticker Yahoo still serves, equal to the truth; the gone ones are failures.
    gone = {delisted, renamed}
    assert data.failures == {delisted: "not_found", renamed: "not_found"}
    assert set(data.prices["ticker"]) == (set(tickers) - gone) | {"IWM", "SPY"}
    for ticker in set(tickers) - gone:
        got = data.prices[data.prices["ticker"] == ticker].set_index("date")["close"]
        np.testing.assert_allclose(got.to_numpy(), truth_closes(fake, ticker, NIGHT2).to_numpy(), rtol=1e-9)

    # Fundamentals: fresh where Yahoo answered, last night's values marked stale where it did not.
    rows = data.fundamentals.set_index("ticker")
    assert set(rows.index) == set(tickers) and rows.index.is_unique
    assert data.stats["stale"] == {delisted: "not_found", renamed: "not_found", garbled: "bad_payload"}
    night1 = pd.read_parquet(store.snapshot_path(data_dir, NIGHT1) / "stocks.parquet").set_index("ticker")
    for ticker in (delisted, renamed, garbled):
        assert rows.at[ticker, "stale"] and rows.at[ticker, "fundamentals_as_of"] == NIGHT1
        for field in ("roe", "debt_to_equity", "revenue_growth", "market_cap"):
            assert rows.at[ticker, field] == pytest.approx(night1.at[ticker, field], nan_ok=True), (ticker, field)
    fresh = [t for t in tickers if t not in (delisted, renamed, garbled)]
    assert not rows.loc[fresh, "stale"].any() and (rows.loc[fresh, "fundamentals_as_of"] == NIGHT2).all()
    assert_fundamentals_match(fake, data.fundamentals, fresh)


def test_a_429_storm_that_does_not_end_stops_the_run_politely(data_dir, tickers):
    # The storm begins after the prices (29 requests: universe, crumb, 26 charts + 1): fundamentals are hit.
    fake = yahoo_world(tickers, faults=Faults(storm=(30, 10_000)))
    data = fetch(data_dir, fake, NIGHT2, max_age_days=0)
    assert data.stats["blocked"] and data.failures == {}
    assert data.stats["stale"] == {t: "rate_limit" for t in tickers}  # last night's values, marked stale
    # Blocked after 8 escalating 429s (in-flight requests add at most workers - 1 each), not thousands.
    assert sum(fake.requests.values()) - 29 <= 8 * 4

    # A storm from the start: no benchmark prices, so nothing to publish, said loudly.
    fake = yahoo_world(tickers, faults=Faults(storm=(3, 10_000)))
    with pytest.raises(SourceError, match="benchmark"):
        fetch(data_dir, fake, NIGHT2)
    assert sum(fake.requests.values()) <= 2 + 8 * 4


# --- universe -----------------------------------------------------------------------------------


def test_universe_download_failure_falls_back_to_the_cached_copy_and_says_so(data_dir, tickers):
    fake = yahoo_world(tickers)
    fake.holdings = None  # iShares answers 503
    data = fetch(data_dir, fake, NIGHT2)
    assert sorted(data.universe["ticker"]) == tickers
    assert data.stats["universe"]["source"] == "cache"
    assert any("IWM holdings download failed" in note for note in data.notes)
    shutil.rmtree(cache_dir_for(data_dir))
    with pytest.raises(SourceError, match="--universe"):
        fetch(data_dir, fake, NIGHT2)


def test_partial_run_and_universe_override(tmp_path, tickers):
    fake = yahoo_world(tickers)
    listing = tmp_path / "mine.csv"
    listing.write_text("ticker\n" + "\n".join(tickers[:5]) + "\n")
    data = fetch(tmp_path / "data", fake, NIGHT1, universe=listing, tickers=tuple(tickers[:2]))
    assert list(data.universe["ticker"]) == tickers[:2]
    assert fake.count("universe") == 0 and fake.count("quote_summary") == 2
    assert set(data.prices["ticker"]) == {*tickers[:2], "IWM", "SPY"}


def test_dry_run_prints_the_plan_and_sends_nothing(data_dir, tickers):
    fake = yahoo_world(tickers)
    plan = plan_yahoo(as_of=NIGHT2, data_dir=data_dir, options=options(), now=evening(NIGHT2))
    assert fake.requests == {} and plan.plan["previous_snapshot"] == NIGHT1.isoformat()
    due = math.ceil(N / 7)
    assert plan.estimated_requests == 1 + 2 + (N + 2) + due + math.ceil(due / BATCH)
    text = plan.summary()
    assert f"universe {N} tickers" in text and f"{N + 2} incremental" in text and f"fundamentals due: {due}" in text
    with pytest.raises(SourceError, match="dry run"):
        load_yahoo(as_of=NIGHT2, data_dir=data_dir, options=options(dry_run=True), transport=fake.transport,
                   now=evening(NIGHT2))
    assert fake.requests == {}


# --- kill and resume ----------------------------------------------------------------------------


class SimulatedKill(BaseException):
    """Raised from inside a request: nothing in yfinance or the source catches a BaseException."""


def test_killed_during_fundamentals_resumes_at_the_last_checkpoint_without_refetching(tmp_path, tickers):
    kill_at = 23  # the 23rd quoteSummary: batches 1-2 (20 tickers) are checkpointed, batch 3 is not
    seen = []

    def kill(kind, symbol):
        if kind == "quote_summary":
            seen.append(symbol)
            if len(seen) == kill_at:
                raise SimulatedKill()

    data_dir = tmp_path / "data"
    with pytest.raises(SimulatedKill):
        fetch(data_dir, yahoo_world(tickers, on_request=kill), NIGHT1)
    checkpointed = set(seen[:20])  # batches run one after another, so these are batches 1 and 2
    assert len(checkpointed) == 20

    fake = yahoo_world(tickers)
    resumed = fetch(data_dir, fake, NIGHT1)
    assert resumed.stats["resumed"] and resumed.stats["requests_before_resume"] > 0
    assert fake.count("universe") == 0 and fake.count("chart") == 0  # plan and all prices came from the checkpoint
    assert all(fake.count("quote_summary", t) == 0 for t in checkpointed)
    assert all(fake.count("quote_summary", t) == 1 for t in tickers if t not in checkpointed)

    clean = fetch(tmp_path / "clean", yahoo_world(tickers), NIGHT1)
    pd.testing.assert_frame_equal(resumed.fundamentals.sort_values("ticker").reset_index(drop=True),
                                  clean.fundamentals.sort_values("ticker").reset_index(drop=True))
    pd.testing.assert_frame_equal(resumed.prices.sort_values(["ticker", "date"]).reset_index(drop=True),
                                  clean.prices.sort_values(["ticker", "date"]).reset_index(drop=True))
    assert not any(p.name.startswith("checkpoint-") for p in cache_dir_for(data_dir).iterdir())


def test_fundamentals_fetched_by_an_unfinished_earlier_night_are_kept(tmp_path, tickers):
    seen = []

    def kill(kind, symbol):
        if kind == "quote_summary":
            seen.append(symbol)
            if len(seen) == 23:
                raise SimulatedKill()

    data_dir = tmp_path / "data"
    with pytest.raises(SimulatedKill):
        fetch(data_dir, yahoo_world(tickers, on_request=kill), NIGHT1)
    kept = set(seen[:20])

    fake = yahoo_world(tickers)
    data = fetch(data_dir, fake, NIGHT2)  # the next night: its own checkpoint, the old one salvaged
    assert any(f"kept 20 fundamentals fetched by the unfinished run of {NIGHT1}" in n for n in data.notes)
    assert all(fake.count("quote_summary", t) == 0 for t in kept)
    assert all(fake.count("quote_summary", t) == 1 for t in set(tickers) - kept)
    rows = data.fundamentals.set_index("ticker")
    assert (rows.loc[sorted(kept), "fundamentals_as_of"] == NIGHT1).all() and not rows["stale"].any()
    assert [p.name for p in cache_dir_for(data_dir).iterdir() if p.name.startswith("checkpoint-")] == []


@pytest.mark.slow
def test_sigkill_during_prices_then_restart_resumes_at_the_batch_it_reached(tmp_path, tickers):
    data_dir = tmp_path / "data"
    script = textwrap.dedent(f"""
        import datetime as dt, os, signal
        from pathlib import Path
        from screener.sources.yahoo import YahooOptions, load_yahoo
        from tests.fakes.yahoo_fake import NEW_YORK, yahoo_world
        charts = []
        def kill(kind, symbol):
            if kind == "chart":
                charts.append(symbol)
                if len(charts) == 45:  # batches of 10 make 20 chart requests each: this is batch 3
                    os.kill(os.getpid(), signal.SIGKILL)
        fake = yahoo_world({tickers!r}, on_request=kill)
        load_yahoo(as_of=dt.date(2024, 3, 7), data_dir=Path({str(data_dir)!r}),
                   options=YahooOptions(rate=500.0, batch_size={BATCH}, backoff_base_s=0.001),
                   transport=fake.transport, now=lambda: dt.datetime(2024, 3, 7, 22, tzinfo=NEW_YORK))
    """)
    killed = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=120, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]

    fake = yahoo_world(tickers)
    data = fetch(data_dir, fake, NIGHT1)
    in_plan_order = [*data.universe["ticker"], "IWM", "SPY"]  # the holdings file's order, then benchmarks
    assert fake.count("universe") == 0
    assert all(fake.count("chart", t) == 0 for t in in_plan_order[:2 * BATCH])
    assert all(fake.count("chart", t) >= 1 for t in in_plan_order[2 * BATCH:])
    assert set(data.prices["ticker"]) == {*tickers, "IWM", "SPY"} and data.failures == {}
    for ticker in (tickers[0], tickers[-1]):
        got = data.prices[data.prices["ticker"] == ticker].set_index("date")["close"]
        np.testing.assert_allclose(got.to_numpy(), truth_closes(fake, ticker, NIGHT1).to_numpy(), rtol=1e-9)


def test_a_demo_snapshot_is_never_taken_for_the_previous_yahoo_night(tmp_path, demo_data_dir):
    """Demo tickers can coincide with real symbols: their synthetic history must not seed real data."""
    from screener.sources.yahoo import YahooOptions, plan_yahoo

    data_dir = tmp_path / "data"
    shutil.copytree(demo_data_dir, data_dir)
    demo_stocks = pd.read_parquet(next(data_dir.glob("snapshots/date=*/stocks.parquet")))
    universe = tmp_path / "universe.csv"
    universe.write_text("ticker\n" + "\n".join(demo_stocks["ticker"].head(5)) + "\n")
    plan = plan_yahoo(as_of=dt.date(2026, 11, 23), data_dir=data_dir,
                      options=YahooOptions(universe=universe)).plan
    assert plan.get("previous_snapshot") is None
    assert all(not job["incremental"] for job in plan["prices"])
    assert set(plan["fundamentals"]["counts"]) == {"new"}
