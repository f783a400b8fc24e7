"""The Yahoo source: one night of Russell 2000 data from iShares and Yahoo Finance, politely and resumably.

``python -m screener nightly --source yahoo`` calls :func:`load_yahoo`, which:

1. plans the night (universe, which prices start where, which fundamentals are due) and
   writes the plan to a checkpoint - or, when a run of the same night was killed,
   picks up that plan and everything its finished batches saved;
2. fetches prices for every constituent plus IWM and SPY with ``yf.download`` in
   batches (only the sessions since the previous snapshot where it can), retrying
   tickers that came back empty;
3. refreshes the fundamentals that are due, one ``quoteSummary`` per ticker plus one
   batched quote call, retrying failures once;
4. returns a :class:`MarketData` (publishing is the nightly job's): tickers whose refresh
   failed keep their last good fundamentals marked ``stale``; ``failures`` names only
   tickers with no usable data (no prices tonight, or no fundamentals ever).

Every request goes through one :class:`PoliteSession` (pacing, backoff, counting), and
``stats`` reports requests per ticker, wall time against the rate's bound, and more.
This package (``screener/sources/yahoo*.py``) holds all the project's network code.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator
from zoneinfo import ZoneInfo

import pandas as pd
import yfinance as yf
from yfinance import cache as yf_cache
from yfinance.data import YfData

from screener import store
from screener.fields import BENCHMARKS, PRICES_SCHEMA
from screener.sources.base import MarketData, Progress, Rejections, SourceError, no_progress
from screener.sources.yahoo_checkpoint import Checkpoint, Part, settled
from screener.sources.yahoo_fundamentals import (
    FUNDAMENTAL_FIELDS, RETRIABLE, fetch_batch, load_last_good, save_last_good, schedule_refresh,
    updated_last_good,
)
from screener.sources.yahoo_http import PoliteSession, RateLimiter, Transport
from screener.sources.yahoo_prices import (
    HISTORY_DAYS, PriceJob, download, empty_prices, merge_incremental, plan_price_jobs, trim,
)
from screener.sources.yahoo_universe import Universe, cached_universe, file_universe, load_universe

NEW_YORK = ZoneInfo("America/New_York")

#: Requests per second by default (all kinds together): a first night (~6,200 requests for
#: ~2,000 tickers) takes under an hour, a steady-state night (~2,400) about 20 minutes.
DEFAULT_RATE = 2.0
DEFAULT_WORKERS = 4


@dataclass(frozen=True)
class YahooOptions:
    """What a user can choose for a Yahoo night (the CLI fills it; defaults suit a nightly cron).

    - ``tickers``: fetch only these (a quick partial run); None = the whole universe.
    - ``max_age_days``: refresh a ticker's fundamentals once they are this old (0 = all tonight).
    - ``rate``: requests per second, all kinds together; ``workers``: requests in flight at most.
    - ``resume``: continue tonight's killed run from its checkpoint instead of starting over.
    - ``dry_run``: print the plan and request estimate; fetch nothing (see :func:`plan_yahoo`).
    - ``universe``: a holdings CSV or ticker list instead of the iShares download.

    The rest tunes batches, retries and timeouts; tests shrink the backoff.
    """

    tickers: tuple[str, ...] | None = None
    max_age_days: float = 7.0
    rate: float = DEFAULT_RATE
    workers: int = DEFAULT_WORKERS
    resume: bool = True
    dry_run: bool = False
    universe: Path | None = None
    batch_size: int = 100
    max_attempts: int = 4
    backoff_base_s: float = 2.0
    timeout_s: float = 20.0
    history_days: int = HISTORY_DAYS

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.workers < 1 or self.batch_size < 1 or self.max_age_days < 0:
            raise ValueError("rate must be > 0, workers and batch_size >= 1, max_age_days >= 0")


def cache_dir_for(data_dir: Path) -> Path:
    """Where the Yahoo source keeps its caches and checkpoints (``data/cache/yahoo``)."""
    return Path(data_dir) / "cache" / "yahoo"


def load_yahoo(as_of: dt.date | None = None, data_dir: Path | None = None,
               universe_path: Path | None = None, progress: Progress = no_progress,
               options: YahooOptions | None = None, *, transport: Transport | None = None,
               now: Callable[[], dt.datetime] | None = None) -> MarketData:
    """Fetch one night's data (see module doc) into ``data_dir`` (default: ``store.default_data_dir()``).

    ``universe_path`` overrides ``options.universe``.

    ``transport`` replaces the network (tests and benchmarks pass a fake Yahoo); ``now``
    replaces the clock that dates fundamentals and names the night.  Raises
    :class:`SourceError` when there is no universe at all, when IWM or SPY prices cannot
    be fetched, and for a dry run (whose message is the plan: nothing is fetched).
    """
    options = _with_universe(options or YahooOptions(), universe_path)
    if options.dry_run:
        plan = plan_yahoo(as_of=as_of, data_dir=data_dir, options=options, now=now)
        raise SourceError(f"{plan.summary()}\ndry run: nothing was fetched or published")
    return _Night(options, Path(data_dir or store.default_data_dir()), as_of, progress, transport, now).run()


def _with_universe(options: YahooOptions, universe_path: Path | None) -> YahooOptions:
    return options if universe_path is None else dataclasses.replace(options, universe=Path(universe_path))


def _today(now: Callable[[], dt.datetime] | None) -> dt.date:
    return (now or (lambda: dt.datetime.now(dt.timezone.utc)))().astimezone(NEW_YORK).date()


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# --- yfinance set-up ---------------------------------------------------------------------------


def _point_caches(cache_dir: Path) -> None:
    """yfinance's tz and cookie caches in our folder, re-opened (its cache objects outlive a relocation)."""
    folder = Path(cache_dir) / "yfinance"
    folder.mkdir(parents=True, exist_ok=True)
    yf.set_tz_cache_location(str(folder))
    yf_cache._TzCacheManager._tz_cache = None
    yf_cache._CookieCacheManager._Cookie_cache = None
    yf_cache._ISINCacheManager._isin_cache = None


def use_yfinance(cache_dir: Path, session: PoliteSession) -> YfData:
    """Point yfinance at our session and our cache folder, starting from what is on disk.

    yfinance keeps process-wide state: its tz/cookie cache objects stay bound to the
    first folder they opened, ``YfData`` is a singleton holding a crumb, and
    ``cache_get`` memoises responses (including failed ones, which would make a retry
    a no-op).  Resetting them makes every run - and every test - behave like a fresh
    process over the same cache folder, so request counts are honest.  Its pandas 3
    deprecation noise (``Pandas4Warning``) is silenced after importing it, since its own
    import re-enables DeprecationWarnings from its modules; so are its error logs
    ("possibly delisted", "Failed downloads"), which would flood a cron mail with what
    run.json already lists by reason.
    """
    _point_caches(cache_dir)
    YfData.cache_get.cache_clear()
    data = YfData(session=session)
    data._crumb, data._cookie, data._cookie_strategy = None, None, "basic"
    _quiet_yfinance()
    return data


def _quiet_yfinance() -> None:
    """No Pandas4Warning from yfinance's modules, no yfinance error logs.

    Called at import (before any worker thread exists: ``warnings.catch_warnings`` in a
    thread restores the filter list it saw on entry, which could drop a filter added
    meanwhile) and again per run (a test harness may have reset the filters since).
    """
    warnings.filterwarnings("ignore", category=pd.errors.Pandas4Warning, module=r"yfinance")
    logging.getLogger("yfinance").setLevel(logging.CRITICAL)


_quiet_yfinance()


# --- the plan ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NightPlan:
    """What a night will fetch and what it should cost (the dry run prints :meth:`summary`)."""

    plan: dict[str, Any]
    estimated_requests: int
    rate: float

    def summary(self) -> str:
        universe = self.plan["universe"]
        jobs = self.plan["prices"]
        incremental = sum(len(j["tickers"]) for j in jobs if j["incremental"])
        full = sum(len(j["tickers"]) for j in jobs if not j["incremental"])
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(self.plan["fundamentals"]["counts"].items())) or "none"
        seconds = self.estimated_requests / self.rate
        return "\n".join([
            f"Yahoo night {self.plan['key']}: universe {universe.get('count', '?')} tickers "
            f"({universe['source']}{', as of ' + universe['as_of'] if universe.get('as_of') else ''})",
            f"  prices: {incremental} incremental since {self.plan.get('previous_snapshot') or '-'}, "
            f"{full} full ({self.plan['history_days']} days), through {self.plan['end']} (exclusive)",
            f"  fundamentals due: {len(self.plan['fundamentals']['tickers'])} ({reasons}; "
            f"max age {self.plan['max_age_days']:g} days)",
            f"  estimated requests: {self.estimated_requests} "
            f"({self.estimated_requests / max(1, universe.get('count') or 1):.2f} per ticker), "
            f"about {seconds / 60:.1f} min at {self.rate:g} req/s",
        ])


def _previous(data_dir: Path, date: dt.date | None = None) -> tuple[store.Snapshot | None, pd.DataFrame | None,
                                                                      pd.DataFrame | None]:
    """A Yahoo snapshot (the newest, or the one of ``date``) with its stocks and prices (None if absent).

    Only snapshots this source wrote qualify: a demo or files snapshot in the same data
    folder shares some ticker symbols with the real market, and its synthetic or
    differently adjusted history must never be merged into real prices or fundamentals.
    """
    good, _ = store.list_snapshots(data_dir)
    chosen = next((s for s in good if s.source == "yahoo" and (date is None or s.date == date)), None)
    if chosen is None:
        return None, None, None
    stocks = pd.read_parquet(chosen.stocks_path)
    stocks = stocks.reindex(columns=["ticker", *FUNDAMENTAL_FIELDS, "fundamentals_as_of"])
    prices = None
    if chosen.prices_path is not None:
        prices = pd.read_parquet(chosen.prices_path)
        prices["date"] = pd.to_datetime(prices["date"])
    return chosen, stocks, prices


def _restrict(universe: Universe, tickers: tuple[str, ...] | None, notes: list[str]) -> Universe:
    """The universe limited to ``tickers``; names not in it are kept, with a note."""
    if not tickers:
        return universe
    wanted = list(dict.fromkeys(t.strip().upper() for t in tickers if t.strip()))
    frame = universe.frame[universe.frame["ticker"].isin(wanted)]
    outside = [t for t in wanted if t not in set(frame["ticker"])]
    if outside:
        notes.append(f"not in the universe, fetched anyway: {', '.join(outside)}")
        frame = pd.concat([frame, pd.DataFrame({"ticker": outside})], ignore_index=True)
    return dataclasses.replace(universe, frame=frame.reset_index(drop=True))


def _request(options: YahooOptions) -> dict[str, Any]:
    """The options that shape a plan: a checkpoint made under other ones is not resumed."""
    return {"tickers": list(options.tickers or []), "universe": str(options.universe or ""),
            "max_age_days": options.max_age_days, "history_days": options.history_days}


def _make_plan(key: str, universe: Universe, previous: store.Snapshot | None, previous_prices: pd.DataFrame | None,
               last_good: pd.DataFrame, today: dt.date, end: dt.date, options: YahooOptions,
               notes: list[str]) -> dict[str, Any]:
    tickers = universe.frame["ticker"].tolist()
    schedule = schedule_refresh(tickers, last_good, today, options.max_age_days)
    jobs = plan_price_jobs(list(dict.fromkeys([*tickers, *BENCHMARKS])), previous_prices, end,
                           options.history_days)
    return {
        "key": key, "today": today.isoformat(), "end": end.isoformat(), "request": _request(options),
        "notes": list(notes),
        "universe": universe.describe(),
        "previous_snapshot": previous.date.isoformat() if previous else None,
        "history_days": options.history_days, "max_age_days": options.max_age_days,
        "prices": [{"start": j.start.isoformat(), "tickers": list(j.tickers), "incremental": j.incremental}
                   for j in jobs],
        "fundamentals": {"tickers": schedule.tickers, "reasons": schedule.reasons, "counts": schedule.counts()},
    }


def _estimate(plan: dict[str, Any], tz_known: Callable[[str], bool], batch_size: int, downloads: bool) -> int:
    """Requests a night should make: universe, cookie + crumb, charts (+ tz lookups), fundamentals."""
    charts = [t for job in plan["prices"] for t in job["tickers"]]
    due = len(plan["fundamentals"]["tickers"])
    return int(downloads) + 2 + len(charts) + sum(not tz_known(t) for t in charts) + due + math.ceil(due / batch_size)


def plan_yahoo(as_of: dt.date | None = None, data_dir: Path | None = None,
               options: YahooOptions | None = None, now: Callable[[], dt.datetime] | None = None) -> NightPlan:
    """The night's plan and request estimate without a single request (the dry run).

    The universe is the override file or the cached download; with neither, the
    download is what the real run would do first, so the plan can only say so.
    """
    options = options or YahooOptions()
    data_dir = Path(data_dir or store.default_data_dir())
    cache_dir = cache_dir_for(data_dir)
    today = _today(now)
    notes: list[str] = []
    universe = file_universe(options.universe) if options.universe else cached_universe(cache_dir)
    if universe is None:
        raise SourceError(f"dry run: no cached IWM holdings in {cache_dir} yet, so the universe is unknown "
                          "until the first real run downloads it (or pass --universe FILE)")
    universe = _restrict(universe, options.tickers, notes)
    previous, previous_stocks, previous_prices = _previous(data_dir)
    end = (as_of or today) + dt.timedelta(days=1)
    plan = _make_plan((as_of or today).isoformat(), universe, previous, previous_prices,
                      load_last_good(cache_dir, previous_stocks), today, end, options, notes)
    _point_caches(cache_dir)
    tz_cache = yf_cache.get_tz_cache()
    estimate = _estimate(plan, lambda t: tz_cache.lookup(t) is not None, options.batch_size,
                         downloads=options.universe is None)
    return NightPlan(plan=plan, estimated_requests=estimate, rate=options.rate)


# --- the night -----------------------------------------------------------------------------------


class _Night:
    """One run of the Yahoo source; each method is one step of :func:`load_yahoo`."""

    def __init__(self, options: YahooOptions, data_dir: Path, as_of: dt.date | None, progress: Progress,
                 transport: Transport | None, now: Callable[[], dt.datetime] | None) -> None:
        self.options = options
        self.data_dir = data_dir
        self.cache_dir = cache_dir_for(data_dir)
        self.progress = progress
        self.today = _today(now)
        self.end = (as_of or self.today) + dt.timedelta(days=1)
        self.rejections = Rejections()
        self.limiter = RateLimiter(options.rate, backoff_base_s=options.backoff_base_s)
        self.session = PoliteSession(self.limiter, max_attempts=options.max_attempts, timeout_s=options.timeout_s,
                                     transport=transport, max_in_flight=options.workers)
        self.checkpoint = Checkpoint(self.cache_dir, (as_of or self.today).isoformat())
        self.notes: list[str] = []
        self.previous_prices = empty_prices()
        self.counts = {"incremental": 0, "full": 0, "refetched_after_adjustment": 0}

    def run(self) -> MarketData:
        started = time.monotonic()
        self.data = use_yfinance(self.cache_dir, self.session)
        self._salvage_earlier_nights()
        resumed = self.options.resume and self._resumable()
        if resumed:
            planned = self.checkpoint.load_plan()[0]["previous_snapshot"]
            previous = _previous(self.data_dir, dt.date.fromisoformat(planned)) if planned else (None, None, None)
        else:
            self.checkpoint.remove()
            previous = _previous(self.data_dir)
            self._plan_night(*previous)
        _, previous_stocks, previous_prices = previous
        if previous_prices is not None:
            self.previous_prices = previous_prices.sort_values(["ticker", "date"], ignore_index=True)
        self.plan, universe = self.checkpoint.load_plan()
        self.notes[:0] = self.plan["notes"]
        requests_before = self.checkpoint.requests_before()
        with ThreadPoolExecutor(max_workers=self.options.workers, thread_name_prefix="yahoo") as pool:
            self._prices()
            self._fundamentals(pool)
        data = self._assemble(universe, previous_stocks)
        data.stats.update(self._request_stats(started, requests_before, len(universe), resumed))
        self.checkpoint.remove()
        return data

    def _resumable(self) -> bool:
        if not self.checkpoint.exists():
            return False
        plan, _ = self.checkpoint.load_plan()
        if plan.get("request") != _request(self.options):
            self.notes.append(f"not resuming the checkpoint of {self.checkpoint.key}: it was made with other options")
            return False
        return True

    def _salvage_earlier_nights(self) -> None:
        """Fundamentals fetched by a killed run of an earlier night go into the cache, then its folder goes."""
        for stale in Checkpoint.stale(self.cache_dir, self.checkpoint.key):
            rows, failures = settled(stale.parts("fundamentals"))
            if rows or failures:
                fresh = pd.concat(rows.values(), ignore_index=True) if rows else pd.DataFrame(columns=["ticker"])
                last_good = load_last_good(self.cache_dir, None)
                save_last_good(self.cache_dir, updated_last_good(last_good, fresh, failures, self.today))
                self.notes.append(f"kept {len(rows)} fundamentals fetched by the unfinished run of {stale.key}")
            stale.remove()

    def _plan_night(self, previous: store.Snapshot | None, previous_stocks: pd.DataFrame | None,
                    previous_prices: pd.DataFrame | None) -> None:
        notes: list[str] = []
        universe = _restrict(load_universe(self.session, self.cache_dir, self.options.universe, notes),
                             self.options.tickers, notes)
        last_good = load_last_good(self.cache_dir, previous_stocks)
        plan = _make_plan(self.checkpoint.key, universe, previous, previous_prices, last_good, self.today,
                          self.end, self.options, notes)
        self.checkpoint.save_plan(plan, universe.frame)

    # -- prices --

    def _prices(self) -> None:
        jobs = [PriceJob(dt.date.fromisoformat(j["start"]), tuple(j["tickers"]), j["incremental"])
                for j in self.plan["prices"]]
        rows, failures = settled(self.checkpoint.parts("prices"))
        self._priced = [len(rows) + len(failures), sum(len(j.tickers) for j in jobs)]
        needs_full = self._run_price_jobs(jobs, skip=set(rows) | set(failures))
        if needs_full:
            self.counts["refetched_after_adjustment"] += len(needs_full)
            self._run_price_jobs([PriceJob(self._full_start(), tuple(needs_full), False)], skip=set())
        _, failures = settled(self.checkpoint.parts("prices"))
        retry = {t for t, reason in failures.items() if reason != "not_found"}
        if retry and not self.limiter.blocked:
            YfData.cache_get.cache_clear()
            self._priced[0] -= len(retry)
            again = [PriceJob(j.start, tuple(t for t in j.tickers if t in retry), j.incremental) for j in jobs]
            still_full = self._run_price_jobs([j for j in again if j.tickers], skip=set())
            if still_full:
                self._run_price_jobs([PriceJob(self._full_start(), tuple(still_full), False)], skip=set())

    def _full_start(self) -> dt.date:
        return self.end - dt.timedelta(days=self.options.history_days)

    def _run_price_jobs(self, jobs: list[PriceJob], skip: set[str]) -> list[str]:
        """Download each job in batches, one checkpoint part per batch; returns tickers needing full history."""
        needs_full: list[str] = []
        for job in jobs:
            for batch in _chunks([t for t in job.tickers if t not in skip], self.options.batch_size):
                rows, failures = download(self.session, batch, job.start, self.end, self.options.workers,
                                          self.options.timeout_s)
                refused: list[str] = []
                if job.incremental:
                    previous = self.previous_prices[self.previous_prices["ticker"].isin(batch)]
                    rows, refused = merge_incremental(previous, rows)
                    needs_full += refused
                fetched = len(batch) - len(failures) - len(refused)
                self.counts["incremental" if job.incremental else "full"] += fetched
                settled_now = [t for t in batch if t not in refused]
                part = Part("prices", trim(rows, self.end, self.options.history_days), settled_now, failures)
                self.checkpoint.write_part(part, self.session.stats.total)
                self._priced[0] += len(settled_now)
                self.progress(self._priced[0], self._priced[1], "prices")
        return needs_full

    # -- fundamentals --

    def _fundamentals(self, pool: ThreadPoolExecutor) -> None:
        due = list(self.plan["fundamentals"]["tickers"])
        rows, failures = settled(self.checkpoint.parts("fundamentals"))
        self._fetch_fundamentals([t for t in due if t not in rows and t not in failures], pool, "fundamentals")
        _, failures = settled(self.checkpoint.parts("fundamentals"))
        retry = [t for t in due if failures.get(t) in RETRIABLE]
        if retry and not self.limiter.blocked:
            self._fetch_fundamentals(retry, pool, "fundamentals (retry)")

    def _fetch_fundamentals(self, tickers: list[str], pool: ThreadPoolExecutor, what: str) -> None:
        done = 0
        for batch in _chunks(tickers, self.options.batch_size):
            frame, failures = fetch_batch(self.data, batch, pool, self.rejections, self.today, self.notes)
            self.checkpoint.write_part(Part("fundamentals", frame, batch, failures), self.session.stats.total)
            done += len(batch)
            self.progress(done, len(tickers), what)

    # -- hand-over --

    def _assemble(self, universe: pd.DataFrame, previous_stocks: pd.DataFrame | None) -> MarketData:
        price_rows, price_failures = settled(self.checkpoint.parts("prices"))
        missing = [b for b in BENCHMARKS if b not in price_rows]
        if missing:
            reasons = ", ".join(f"{b}: {price_failures.get(b, 'not fetched')}" for b in missing)
            stopped = ""
            if self.limiter.blocked:
                stopped = (" (Yahoo kept answering 429)" if self.limiter.blocked_reason == "rate_limit"
                           else " (Yahoo could not be reached)")
            raise SourceError(f"no prices for the benchmark {reasons}{stopped}; without them relative strength and "
                              "breadth cannot be computed, so nothing is published tonight; the next run "
                              "resumes from the checkpoint")
        prices = pd.concat(price_rows.values(), ignore_index=True)[list(PRICES_SCHEMA.names)]
        prices["date"] = pd.to_datetime(prices["date"])

        columns = ["ticker", *FUNDAMENTAL_FIELDS, "fundamentals_as_of", "stale"]
        fresh_rows, refresh_failures = settled(self.checkpoint.parts("fundamentals"))
        fresh = pd.concat(fresh_rows.values(), ignore_index=True) if fresh_rows else pd.DataFrame(columns=columns)
        last_good = load_last_good(self.cache_dir, previous_stocks)
        save_last_good(self.cache_dir, updated_last_good(last_good, fresh, refresh_failures, self.today))

        tickers = universe["ticker"].tolist()
        kept = last_good[last_good["ticker"].isin(tickers) & ~last_good["ticker"].isin(fresh["ticker"])
                         & last_good["fundamentals_as_of"].notna()]
        kept = kept.assign(stale=kept["ticker"].isin(list(refresh_failures)))
        fundamentals = pd.concat([fresh[columns], kept[columns]], ignore_index=True)
        stale = {t: refresh_failures[t] for t in kept.loc[kept["stale"], "ticker"]}

        with_fundamentals = set(fundamentals["ticker"])
        failures = {t: price_failures.get(t, "no_prices") for t in tickers if t not in price_rows}
        failures.update({t: refresh_failures.get(t, "bad_payload") for t in tickers
                         if t not in failures and t not in with_fundamentals})
        schedule = self.plan["fundamentals"]
        stats = {
            "universe": self.plan["universe"],
            "prices": {**self.counts, "tickers": len(price_rows), "failed": len(price_failures)},
            "fundamentals": {"due": len(schedule["tickers"]), "due_by_reason": schedule["counts"],
                             "refreshed": len(fresh_rows), "failed": len(refresh_failures), "stale": len(stale),
                             "max_age_days": self.options.max_age_days},
            "stale": stale,
        }
        return MarketData(source="yahoo", universe=universe, prices=prices, fundamentals=fundamentals,
                          failures=failures, rejections=self.rejections, notes=self.notes, stats=stats)

    def _request_stats(self, started: float, requests_before: int, universe_size: int,
                       resumed: bool) -> dict[str, Any]:
        wall = time.monotonic() - started
        made = self.session.stats.total
        bound = made / self.options.rate
        return {
            "requests": made + requests_before,
            "requests_this_run": made,
            "requests_before_resume": requests_before,
            "requests_per_ticker": round((made + requests_before) / max(1, universe_size), 4),
            "requests_by_kind": dict(self.session.stats.by_kind),
            "outcomes": dict(self.session.stats.by_outcome),
            "retried_requests": self.session.stats.retries,
            "throttled_429": self.limiter.throttles,
            "backoff_s": round(self.limiter.backoff_s, 3),
            "blocked": self.limiter.blocked,
            "rate_rps": self.options.rate,
            "final_rate_rps": round(self.limiter.current_rate, 4),
            "workers": self.options.workers,
            "wall_s": round(wall, 3),
            "rate_bound_s": round(bound, 3),
            "wall_over_rate_bound": round(wall / bound, 3) if bound else None,
            "resumed": resumed,
        }
