"""A fake Yahoo Finance (and iShares) at the HTTP boundary, able to behave like Yahoo on a bad night.

It answers the URLs yfinance 1.7 and ``screener.sources.yahoo`` request - cookie and
crumb, ``/v10/finance/quoteSummary``, ``/v7/finance/quote``, ``/v8/finance/chart``, the
fundamentals-timeseries call of ``Ticker.info`` and the iShares holdings download -
from real payloads (``../shared/realdata``), so the real yfinance parsing code and the
real source code run on top of it.  Plug it in with
``PoliteSession(limiter, transport=fake.transport)``, or hand ``fake.session()`` (a
``curl_cffi`` session, which yfinance insists on) to plain yfinance calls.

Faults (:class:`Faults`), all deterministic for a given seed whatever the thread
interleaving: latency, transient faults on a share of API requests (429, 503, timeout,
empty body, truncated JSON), a 429 storm over a window of requests, a server-side rate
limit (a token bucket that answers 429 when a client goes faster), delisted symbols
(404 everywhere, absent from the quote endpoint, like Yahoo), renamed symbols (the old
symbol 404s, the new one answers) and symbols whose quoteSummary is always garbled.

Two things are derived because the real data lacks them, and the derivation follows
real payloads: ``/v7/finance/quote`` rows are built from a symbol's quoteSummary
modules with ``dividendYield`` in percent (a July 2025 v7 answer for AAPL reads
``"dividendYield": 0.49`` beside ``"trailingAnnualDividendYield": 0.0047``), and
``assetProfile`` is filled from ``summaryProfile`` where only the latter was kept.
"""

from __future__ import annotations

import functools
import gzip
import http.cookiejar
import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping
from urllib.parse import parse_qsl, unquote, urlsplit
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from curl_cffi import requests as curl_requests
from curl_cffi.requests.exceptions import Timeout
from curl_cffi.requests.headers import Headers

from tests.support.realdata import BENCHMARKS, FORMATTED_2022, HOLDINGS_2026, INFO_2026, PRICES, REALDATA

NEW_YORK = ZoneInfo("America/New_York")
CRUMB = "fakeCrumb123"

# --- real payloads into the shapes Yahoo serves -------------------------------------------


def unformat(node: Any) -> Any:
    """Yahoo's formatted values (``{"raw": x, "fmt": ...}``) as ``formatted=false`` sends them.

    An empty ``{}`` (formatted Yahoo's "no value") becomes None, as in raw payloads.
    """
    if isinstance(node, dict):
        if "raw" in node:
            return node["raw"]
        if not node:
            return None
        return {key: unformat(value) for key, value in node.items()}
    if isinstance(node, list):
        return [unformat(value) for value in node]
    return node


def gzip_json_lines(path: Path) -> Iterator[dict[str, Any]]:
    """The records of a gzipped JSON-lines file, one per line."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            yield json.loads(line)


def summaries_from_raw_fixtures(path: Path) -> dict[str, dict[str, Any]]:
    """Symbol -> quoteSummary modules from the 2021 recorded ``formatted=false`` responses."""
    summaries = {}
    for record in gzip_json_lines(path):
        body = record["body"] if isinstance(record["body"], dict) else json.loads(record["body"])
        result = body["quoteSummary"]["result"]
        if result:
            summaries[record["symbol"]] = result[0]
    return summaries


def summaries_from_formatted(path: Path) -> dict[str, dict[str, Any]]:
    """Symbol -> quoteSummary modules from the 2022 formatted payloads, unformatted."""
    return {record["symbol"]: unformat(record["quoteSummary"]) for record in gzip_json_lines(path)}


#: Where each key of the 2026 ``.info`` dump lives in Yahoo's quoteSummary modules.
_INFO_KEY_MODULE: dict[str, str] = {
    **{key: "financialData" for key in (
        "revenueGrowth", "earningsGrowth", "grossMargins", "operatingMargins", "profitMargins",
        "returnOnEquity", "returnOnAssets", "debtToEquity", "currentRatio", "totalCash", "totalDebt",
        "freeCashflow")},
    **{key: "defaultKeyStatistics" for key in (
        "earningsQuarterlyGrowth", "heldPercentInsiders", "shortPercentOfFloat", "priceToBook",
        "enterpriseValue", "enterpriseToEbitda", "enterpriseToRevenue")},
    **{key: "summaryDetail" for key in (
        "trailingPE", "forwardPE", "marketCap", "beta", "priceToSalesTrailing12Months")},
}


def summaries_from_info_frame(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Symbol -> quoteSummary modules rebuilt from rows of the 2026 yfinance ``.info`` dump.

    ``dividendYield`` is in percent in ``.info`` (it comes from the v7 quote); Yahoo's
    ``summaryDetail`` holds the fraction, so it is stored divided by 100 and the v7 row
    derived from it multiplies it back.
    """
    summaries = {}
    for record in frame.to_dict("records"):
        symbol = record["symbol"]
        modules: dict[str, dict[str, Any]] = {
            "quoteType": {"symbol": symbol, "quoteType": "EQUITY", "exchange": "NMS", "shortName": symbol,
                          "longName": f"{symbol} Holdings Inc.", "timeZoneFullName": "America/New_York"},
            "financialData": {}, "defaultKeyStatistics": {}, "summaryDetail": {},
            "assetProfile": {"sector": record.get("sector") or None},
        }
        for key, module in _INFO_KEY_MODULE.items():
            value = record.get(key)
            if value is not None and not (isinstance(value, float) and np.isnan(value)):
                modules[module][key] = float(value)
        dividend = record.get("dividendYield")
        if dividend is not None and not np.isnan(dividend):
            modules["summaryDetail"]["dividendYield"] = float(dividend) / 100
        summaries[symbol] = modules
    return summaries


def minimal_summary(symbol: str) -> dict[str, Any]:
    """What Yahoo sends for a listed stock it has no fundamentals for: identity modules only."""
    return {"quoteType": {"symbol": symbol, "quoteType": "EQUITY", "exchange": "NMS", "shortName": symbol,
                          "longName": f"{symbol} Corp.", "timeZoneFullName": "America/New_York"}}


def quote_row(symbol: str, modules: Mapping[str, Any]) -> dict[str, Any]:
    """The ``/v7/finance/quote`` row Yahoo would send for a symbol with these modules."""
    quote_type = modules.get("quoteType") or {}
    price = modules.get("price") or {}
    detail = modules.get("summaryDetail") or {}
    stats = modules.get("defaultKeyStatistics") or {}
    row: dict[str, Any] = {
        "symbol": symbol,
        "quoteType": quote_type.get("quoteType"),
        "exchange": quote_type.get("exchange"),
        "shortName": quote_type.get("shortName"),
        "longName": quote_type.get("longName"),
        "market": "us_market" if "." not in symbol and "=" not in symbol else "other_market",
        "currency": price.get("currency") or detail.get("currency") or "USD",
        "regularMarketPrice": price.get("regularMarketPrice"),
        "marketCap": detail.get("marketCap") or price.get("marketCap"),
        "trailingPE": detail.get("trailingPE"),
        "forwardPE": detail.get("forwardPE") or stats.get("forwardPE"),
        "priceToBook": stats.get("priceToBook"),
        "bookValue": stats.get("bookValue"),
        "sharesOutstanding": stats.get("sharesOutstanding"),
        "epsTrailingTwelveMonths": stats.get("trailingEps"),
        "trailingAnnualDividendYield": detail.get("trailingAnnualDividendYield"),
    }
    if detail.get("dividendYield") is not None:
        row["dividendYield"] = round(detail["dividendYield"] * 100, 6)
    return {key: value for key, value in row.items() if value is not None}


def price_panel(tickers: Iterable[str] | None = None) -> pd.DataFrame:
    """Real daily bars (ticker, date, open, high, low, close, adj_close, volume) plus IWM and SPY.

    Stock closes are split-adjusted with a split- and dividend-adjusted ``adj_close``,
    as Yahoo's chart sends them; the benchmarks are already auto-adjusted, so their
    ``adj_close`` equals ``close``.
    """
    filters = [("ticker", "in", sorted(set(tickers)))] if tickers is not None else None
    stocks = pd.read_parquet(REALDATA / PRICES, filters=filters)
    stocks["ticker"] = stocks["ticker"].astype(str)
    bench = pd.read_parquet(REALDATA / BENCHMARKS, filters=[("source_repo", "==", "alitalbi/storage_data_fy"),
                                                            ("symbol", "in", ["IWM", "SPY"])])
    bench = bench[pd.to_datetime(bench["date"]) >= pd.Timestamp("2021-01-01")]
    bench = bench.rename(columns={"symbol": "ticker"})[["ticker", "date", "open", "high", "low", "close", "volume"]]
    bench["ticker"] = bench["ticker"].astype(str)
    bench["adj_close"] = bench["close"]
    panel = pd.concat([stocks, bench], ignore_index=True)
    panel["date"] = pd.to_datetime(panel["date"])
    return panel.sort_values(["ticker", "date"], ignore_index=True)


def ishares_holdings(tickers: Iterable[str], template: Path | None = None) -> bytes:
    """An iShares IWM "Detailed Holdings" CSV for ``tickers``, in the real file's exact format.

    The real file's preamble, header, cash/futures rows and disclaimer footer are kept
    byte for byte; its rows for ``tickers`` are kept, and a stock it lacks gets a row
    written the way iShares writes them (quoted numbers with thousands separators).
    """
    raw = gzip.decompress((template or REALDATA / HOLDINGS_2026).read_bytes())
    lines = raw.split(b"\n")
    header = next(i for i, line in enumerate(lines) if line.startswith(b"Ticker,Name,"))
    footer = next(i for i in range(header + 1, len(lines)) if lines[i].strip() in (b"\xc2\xa0", b""))
    wanted = list(dict.fromkeys(tickers))
    rows, seen = [], set()
    for line in lines[header + 1:footer]:
        ticker = line.split(b",", 1)[0].strip(b'"').decode()
        if ticker in wanted and ticker not in seen or b'"Equity"' not in line:
            rows.append(line)
            seen.add(ticker)
    for ticker in wanted:
        if ticker not in seen:
            rows.append(f'"{ticker}","{ticker} INC","Industrials","Equity","1,234,567.00","0.05","1,234,567.00",'
                        f'"12,345.00","100.00","United States","NASDAQ","USD","1.00","USD","-"'.encode())
    return b"\n".join([*lines[:header + 1], *rows, *lines[footer:]])


# --- faults ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Faults:
    """What goes wrong tonight (all off by default)."""

    failure_rate: float = 0.0
    kinds: tuple[str, ...] = ("429", "503", "timeout", "empty", "malformed")
    storm: tuple[int, int] | None = None
    server_rate: float | None = None
    server_burst: int = 5
    latency_s: float = 0.0
    delisted: frozenset[str] = frozenset()
    renamed: Mapping[str, str] = field(default_factory=dict)
    garbled_summary: frozenset[str] = frozenset()
    seed: int = 0
    #: Random faults are transient: the same request fails at most this many times in a
    #: row, below the session's retry budget, whatever order threads send requests in.
    max_in_a_row: int = 2


class _TokenBucket:
    """The server's patience: ``rate`` requests per second with a small burst."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = float(burst)
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


def _response(url: str, status: int, body: bytes, content_type: str = "application/json;charset=utf-8"
              ) -> curl_requests.Response:
    response = curl_requests.Response()
    response.url = url
    response.status_code = status
    response.ok = status < 400
    response.reason = {200: "OK", 404: "Not Found", 429: "Too Many Requests", 503: "Service Unavailable"}.get(
        status, "Error")
    response.content = body
    response.headers = Headers({"Content-Type": content_type})
    return response


def _set_yahoo_cookie(session: curl_requests.Session) -> None:
    """What Yahoo's ``Set-Cookie: A3=...; Domain=.yahoo.com`` on fc.yahoo.com leaves in the jar.

    yfinance keeps that cookie in its cookie cache and reuses it, so a client fetches
    fc.yahoo.com once per cache lifetime rather than before every request.
    """
    expires = int(time.time()) + 365 * 86400
    cookie = http.cookiejar.Cookie(
        version=0, name="A3", value="fake-a3", port=None, port_specified=False, domain=".yahoo.com",
        domain_specified=True, domain_initial_dot=True, path="/", path_specified=True, secure=True,
        expires=expires, discard=False, comment=None, comment_url=None, rest={})
    session.cookies.jar.set_cookie(cookie)


def _json(url: str, payload: Any, status: int = 200) -> curl_requests.Response:
    return _response(url, status, json.dumps(payload).encode())


# --- the fake server ------------------------------------------------------------------------


class FakeYahoo:
    """Answers requests like Yahoo and iShares would; counts every request it receives.

    ``requests`` counts (kind, symbol) pairs as the *server* saw them, which is what
    tests compare against: a request the client made but never sent does not count.
    ``faults_served`` counts the faults it answered with ("429", "503", ...).
    ``bars`` holds what the chart endpoint serves per symbol (arrays ``ts``, ``open``, ...,
    ``adj_close``); a test may rescale them to simulate a re-adjusted history.
    ``on_request(kind, symbol)`` runs before each answer (a test can kill the process
    there).
    """

    def __init__(self, prices: pd.DataFrame, summaries: Mapping[str, Mapping[str, Any]],
                 holdings: bytes | None = None, faults: Faults = Faults(),
                 on_request: Callable[[str, str | None], None] | None = None) -> None:
        self.faults = faults
        self.holdings = holdings
        self.on_request = on_request
        self.requests: Counter = Counter()
        self.faults_served: Counter = Counter()
        self.summaries = {symbol: self._with_asset_profile(modules) for symbol, modules in summaries.items()}
        self.bars = self._index_bars(prices)
        self._seen: Counter = Counter()
        self._streak: Counter = Counter()
        self._number = 0
        self._lock = threading.Lock()
        self._bucket = _TokenBucket(faults.server_rate, faults.server_burst) if faults.server_rate else None

    @staticmethod
    def _with_asset_profile(modules: Mapping[str, Any]) -> dict[str, Any]:
        modules = dict(modules)
        if "assetProfile" not in modules and "summaryProfile" in modules:
            modules["assetProfile"] = modules["summaryProfile"]
        return modules

    @staticmethod
    def _index_bars(prices: pd.DataFrame) -> dict[str, dict[str, np.ndarray]]:
        frame = prices.sort_values(["ticker", "date"])
        sessions = pd.to_datetime(frame["date"]).dt.tz_localize(None) + pd.Timedelta(hours=9, minutes=30)
        stamps = (sessions.dt.tz_localize(NEW_YORK) - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
        frame = frame.assign(ts=stamps.to_numpy())
        bars = {}
        for ticker, rows in frame.groupby("ticker", sort=False, observed=True):
            bars[str(ticker)] = {column: rows[column].to_numpy(dtype="float64", na_value=np.nan)
                                 for column in ("open", "high", "low", "close", "adj_close", "volume")}
            bars[str(ticker)]["ts"] = rows["ts"].to_numpy()
        return bars

    def session(self) -> "FakeSession":
        """A ``curl_cffi`` session talking straight to this fake (no pacing, no retries)."""
        return FakeSession(self)

    def count(self, kind: str, symbol: str | None = None) -> int:
        """Requests of ``kind`` the server received (for ``symbol``, or all symbols)."""
        return sum(n for (k, s), n in self.requests.items() if k == kind and (symbol is None or s == symbol))

    # -- dispatch --

    def transport(self, session: curl_requests.Session, method: str, url: str,
                  params: Mapping[str, Any] | None = None, **_ignored: Any) -> curl_requests.Response:
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        query.update({key: str(value) for key, value in (params or {}).items()})
        host, path = parts.hostname or "", unquote(parts.path)
        kind, symbol = self._classify(host, path, query)
        with self._lock:
            self.requests[(kind, symbol)] += 1
            self._number += 1
            number = self._number
            key = f"{method} {host}{path}?{sorted((k, v) for k, v in query.items() if k != 'crumb')}"
            self._seen[key] += 1
            nth = self._seen[key]
        if self.on_request is not None:
            self.on_request(kind, symbol)
        if self.faults.latency_s:
            time.sleep(self.faults.latency_s)
        if kind == "cookie" and host == "fc.yahoo.com":
            _set_yahoo_cookie(session)
        answer = self._answer(kind, symbol, host, query, url)
        if kind in ("chart", "quote_summary", "quote", "timeseries", "crumb"):
            fault = self._fault(number, key, nth)
            if fault is not None:
                with self._lock:
                    self.faults_served[fault] += 1
                return self._faulty(fault, url, answer)
        return answer

    @staticmethod
    def _classify(host: str, path: str, query: Mapping[str, str]) -> tuple[str, str | None]:
        if "ishares.com" in host:
            return "universe", None
        if host == "fc.yahoo.com" or "consent" in host:
            return "cookie", None
        if path.startswith("/v1/test/getcrumb"):
            return "crumb", None
        if path.startswith("/v8/finance/chart/"):
            return "chart", path.rsplit("/", 1)[1]
        if path.startswith("/v10/finance/quoteSummary/"):
            return "quote_summary", path.rsplit("/", 1)[1]
        if path.startswith("/v7/finance/quote"):
            return "quote", query.get("symbols")
        if path.startswith("/ws/fundamentals-timeseries/"):
            return "timeseries", path.rsplit("/", 1)[1]
        return "other", None

    def _fault(self, number: int, key: str, nth: int) -> str | None:
        storm = self.faults.storm
        if storm is not None and storm[0] <= number < storm[0] + storm[1]:
            return "429"
        if self._bucket is not None and not self._bucket.take():
            return "429"
        if self.faults.failure_rate:
            rng = random.Random(f"{self.faults.seed}|{key}|{nth}")
            with self._lock:
                if rng.random() < self.faults.failure_rate and self._streak[key] < self.faults.max_in_a_row:
                    self._streak[key] += 1
                    return rng.choice(self.faults.kinds)
                self._streak[key] = 0
        return None

    def _faulty(self, fault: str, url: str, answer: curl_requests.Response) -> curl_requests.Response:
        if fault == "429":
            return _response(url, 429, b"Too Many Requests", "text/html")
        if fault == "503":
            return _response(url, 503, b"<html>Will be right back...</html>", "text/html")
        if fault == "timeout":
            raise Timeout(f"Operation timed out (fake) for {url}")
        if fault == "empty":
            return _response(url, 200, b"")
        if fault == "malformed":
            return _response(url, 200, answer.content[: max(1, len(answer.content) // 2)])
        raise ValueError(f"unknown fault {fault!r}")

    def _missing(self, symbol: str) -> bool:
        return symbol in self.faults.delisted or symbol in self.faults.renamed

    def _answer(self, kind: str, symbol: str | None, host: str, query: Mapping[str, str],
                url: str) -> curl_requests.Response:
        if kind == "universe":
            if self.holdings is None:
                return _response(url, 503, b"<html>Service Unavailable</html>", "text/html")
            return _response(url, 200, self.holdings, "text/csv")
        if kind == "cookie":
            return _response(url, 404, b"<html>Not Found</html>", "text/html")
        if kind == "crumb":
            return _response(url, 200, CRUMB.encode(), "text/plain")
        if kind == "chart":
            return self._chart(url, symbol or "", query)
        if kind == "quote_summary":
            return self._quote_summary(url, symbol or "", query)
        if kind == "quote":
            symbols = [s for s in (query.get("symbols") or "").split(",") if s]
            rows = [quote_row(s, self.summaries[s]) for s in symbols if not self._missing(s) and s in self.summaries]
            return _json(url, {"quoteResponse": {"result": rows, "error": None}})
        if kind == "timeseries":
            return _json(url, {"timeseries": {"result": [{"meta": {"symbol": [symbol], "type": []},
                                                          "timestamp": []}], "error": None}})
        return _response(url, 404, b"", "text/html")

    def _quote_summary(self, url: str, symbol: str, query: Mapping[str, str]) -> curl_requests.Response:
        modules = self.summaries.get(symbol)
        if modules is None or self._missing(symbol):
            return _json(url, {"quoteSummary": {"result": None, "error": {
                "code": "Not Found", "description": f"Quote not found for symbol: {symbol}"}}}, status=404)
        wanted = [m for m in (query.get("modules") or "").split(",") if m]
        result = {m: modules[m] for m in wanted if modules.get(m) is not None}
        body = json.dumps({"quoteSummary": {"result": [result], "error": None}}).encode()
        if symbol in self.faults.garbled_summary:
            body = body[: len(body) // 3]
        return _response(url, 200, body)

    def _chart(self, url: str, symbol: str, query: Mapping[str, str]) -> curl_requests.Response:
        bars = self.bars.get(symbol)
        if bars is None or self._missing(symbol):
            return _json(url, {"chart": {"result": None, "error": {
                "code": "Not Found", "description": "No data found, symbol may be delisted"}}}, status=404)
        if query.get("range"):
            keep = np.zeros(len(bars["ts"]), dtype=bool)
            keep[-1:] = True
        else:
            start, end = int(query.get("period1", 0)), int(query.get("period2", 2**62))
            keep = (bars["ts"] >= start) & (bars["ts"] < end)

        def values(column: str, as_int: bool = False) -> list[Any]:
            out = []
            for value in bars[column][keep]:
                out.append(None if np.isnan(value) else (int(value) if as_int else float(value)))
            return out

        timestamps = [int(t) for t in bars["ts"][keep]]
        meta = {
            "currency": "USD", "symbol": symbol, "exchangeName": "NMS", "fullExchangeName": "NasdaqGS",
            "instrumentType": "ETF" if symbol in ("IWM", "SPY") else "EQUITY",
            "firstTradeDate": int(bars["ts"][0]), "regularMarketTime": int(bars["ts"][-1]),
            "hasPrePostMarketData": True, "gmtoffset": -18000, "timezone": "EST",
            "exchangeTimezoneName": "America/New_York", "priceHint": 2, "dataGranularity": "1d",
            "range": query.get("range", ""),
            "validRanges": ["1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max"],
        }
        result = {"meta": meta, "timestamp": timestamps, "indicators": {
            "quote": [{"open": values("open"), "high": values("high"), "low": values("low"),
                       "close": values("close"), "volume": values("volume", as_int=True)}],
            "adjclose": [{"adjclose": values("adj_close")}]}}
        if not timestamps:
            result.pop("timestamp")
        return _json(url, {"chart": {"result": [result], "error": None}})


@functools.lru_cache(maxsize=1)
def real_summaries() -> dict[str, dict[str, Any]]:
    """Every real quoteSummary payload available: the 2026 .info dump rebuilt, then the 2022 payloads."""
    summaries = summaries_from_info_frame(pd.read_parquet(REALDATA / INFO_2026))
    summaries.update(summaries_from_formatted(REALDATA / FORMATTED_2022))
    return summaries


def world_tickers(count: int, with_fundamentals: bool = True) -> list[str]:
    """``count`` stocks with real prices (and real fundamentals unless told otherwise), in a fixed order.

    Of the 2,047 priced stocks, 1,464 have real fundamentals; the others get identity-only
    payloads from :func:`yahoo_world`, as Yahoo sends for a stock it has no figures for.
    """
    priced = set(pd.read_parquet(REALDATA / PRICES, columns=["ticker"])["ticker"].astype(str))
    return sorted(priced & set(real_summaries()) if with_fundamentals else priced)[:count]


def yahoo_world(tickers: list[str], faults: Faults = Faults(),
                on_request: Callable[[str, str | None], None] | None = None) -> FakeYahoo:
    """A fake Yahoo and iShares serving ``tickers`` (plus IWM and SPY) from the real data."""
    known = real_summaries()
    summaries = {t: known.get(t) or minimal_summary(t) for t in tickers}
    return FakeYahoo(price_panel(tickers), summaries, holdings=ishares_holdings(tickers), faults=faults,
                     on_request=on_request)


class FakeSession(curl_requests.Session):
    """A ``curl_cffi`` session whose every request is answered by a :class:`FakeYahoo`."""

    def __init__(self, fake: FakeYahoo) -> None:
        super().__init__()
        self.fake = fake

    def request(self, method: Any, url: str, **kwargs: Any) -> curl_requests.Response:  # type: ignore[override]
        return self.fake.transport(self, method, url, **kwargs)
