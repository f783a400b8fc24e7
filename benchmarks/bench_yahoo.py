"""A Russell-2000-size night of the Yahoo source against the fake Yahoo: requests per ticker, wall time vs the rate.

Run from the repo root (needs ../shared/realdata for the fake's payloads)::

    .venv/bin/python benchmarks/bench_yahoo.py                       # 2,047 tickers, 50 req/s, 10 ms latency
    .venv/bin/python benchmarks/bench_yahoo.py --tickers 300 --rate 200 --latency 0.005

The fake (``tests/fakes/yahoo_fake.py``) serves real prices and fundamentals with a fixed
latency per request and a server-side rate limit equal to ``--rate`` (a client going
faster gets 429s).  Three runs, each printing requests, requests per ticker, wall time,
the rate's bound (requests / rate: the least time a client obeying the limit can take)
and the ratio of the two:

1. first night: empty data folder (universe download, a time-zone lookup plus the bars
   for each ticker, fundamentals for all), then published with the nightly pipeline;
2. steady-state night: the next session, incremental prices, a seventh of the
   fundamentals (the rolling schedule), cookie and time zones cached;
3. a naive loop, as most scripts do it: per ticker ``Ticker.info``,
   ``Ticker.insider_purchases`` and ``Ticker.history(period="2y")`` with plain yfinance
   on the same fake, no pacing; run on ``--naive-tickers`` and reported per ticker.

The rate is simulated high so a run takes minutes, not the ~1 hour a first night takes at
the default 2 req/s; above ~100 req/s this 2-core machine's CPU (yfinance parses every
chart in Python, ~10 ms a ticker) rather than the rate becomes the bound.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # allow `python benchmarks/bench_yahoo.py`
    sys.path.insert(0, str(ROOT))

from screener.nightly import NightlyOptions, run_nightly  # noqa: E402
from screener.sources.yahoo import YahooOptions, load_yahoo, use_yfinance  # noqa: E402
from screener.sources.yahoo_http import PoliteSession, RateLimiter  # noqa: E402
from tests.fakes.yahoo_fake import NEW_YORK, Faults, world_tickers, yahoo_world  # noqa: E402

NIGHT1, NIGHT2 = dt.date(2024, 3, 7), dt.date(2024, 3, 8)


def evening(night: dt.date):
    return lambda: dt.datetime(night.year, night.month, night.day, 22, 0, tzinfo=NEW_YORK)


def row(label: str, requests: int, tickers: int, wall: float, cpu: float, rate: float, throttled: int,
        extra: str = "") -> str:
    bound = requests / rate
    return (f"{label:<22} {requests:>8} {requests / tickers:>8.2f} {wall:>9.1f} {bound:>9.1f} "
            f"{wall / bound:>6.2f} {cpu:>7.1f} {throttled:>6}  {extra}")


def night(data_dir: Path, tickers: list[str], day: dt.date, args: argparse.Namespace) -> tuple[dict, float, float]:
    """One nightly run (fetch + compute + publish) with the Yahoo source on a fresh fake.

    Returns the run report, the CPU seconds of the fetch (all threads, the fake's
    included: it runs in this process) and the wall time of the whole nightly.
    """
    fake = yahoo_world(tickers, faults=Faults(latency_s=args.latency, server_rate=args.rate, server_burst=4))
    options = YahooOptions(rate=args.rate, workers=args.workers, batch_size=args.batch)
    cpu: list[float] = []

    def loader(nightly: NightlyOptions, _progress):
        before = time.process_time()
        data = load_yahoo(as_of=nightly.as_of, data_dir=nightly.data_dir, options=options,
                          transport=fake.transport, now=evening(day))
        cpu.append(time.process_time() - before)
        return data

    started = time.monotonic()
    outcome = run_nightly(NightlyOptions(source="yahoo", as_of=day, data_dir=data_dir), progress=lambda *_: None,
                          out=io.StringIO(), loader=loader)
    if outcome.exit_code != 0:
        raise SystemExit(f"{day}: {outcome.report.get('error')}")
    return outcome.report, cpu[0], time.monotonic() - started


def naive(tickers: list[str], args: argparse.Namespace, cache: Path) -> tuple[int, float, float, int, int]:
    """Plain yfinance, one ticker after the other, on the same fake (no pacing, no retries)."""
    import yfinance as yf
    from yfinance.exceptions import YFRateLimitError

    fake = yahoo_world(tickers, faults=Faults(latency_s=args.latency, server_rate=args.rate, server_burst=4))
    use_yfinance(cache, PoliteSession(RateLimiter(1e9)))  # fresh yfinance state and tz cache for the loop
    session = fake.session()
    failed = 0
    started, cpu = time.monotonic(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for symbol in tickers:
            ticker = yf.Ticker(symbol, session=session)
            try:
                ticker.info
                ticker.insider_purchases
                if ticker.history(period="2y").empty:
                    failed += 1
            except YFRateLimitError:
                failed += 1
    wall, cpu = time.monotonic() - started, time.process_time() - cpu
    return sum(fake.requests.values()), wall, cpu, failed, fake.faults_served["429"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickers", type=int, default=2047, help="universe size (default: all 2,047 real ones)")
    parser.add_argument("--rate", type=float, default=50.0, help="client rate = fake server limit, req/s")
    parser.add_argument("--latency", type=float, default=0.010, help="fake latency per request, seconds")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--batch", type=int, default=100, help="tickers per download / checkpoint")
    parser.add_argument("--naive-tickers", type=int, default=100)
    args = parser.parse_args()

    tickers = world_tickers(args.tickers, with_fundamentals=False)
    print(f"fake Yahoo: {len(tickers)} tickers (+ IWM, SPY), latency {args.latency * 1000:.0f} ms, "
          f"server limit = client rate = {args.rate:g} req/s, {args.workers} workers, batches of {args.batch}")
    print(f"{'run':<22} {'requests':>8} {'req/tkr':>8} {'wall s':>9} {'bound s':>9} {'ratio':>6} {'cpu s':>7} "
          f"{'429s':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        for label, day in (("first night", NIGHT1), ("steady-state night", NIGHT2)):
            report, cpu, total = night(data_dir, tickers, day, args)
            stats = report["stats"]
            kinds = ", ".join(f"{k} {v}" for k, v in sorted(stats["requests_by_kind"].items()))
            print(row(label, stats["requests"], stats["universe"]["count"], stats["wall_s"], cpu, args.rate,
                      stats["throttled_429"], f"[{kinds}; whole nightly incl. compute+publish {total:.1f} s]"))
        subset = tickers[: args.naive_tickers]
        requests, wall, cpu, failed, throttled = naive(subset, args, Path(tmp) / "naive-cache")
        print(row(f"naive loop ({len(subset)})", requests, len(subset), wall, cpu, args.rate, throttled,
                  f"[.info + .insider_purchases + .history per ticker; {failed} tickers failed]"))


if __name__ == "__main__":
    main()
