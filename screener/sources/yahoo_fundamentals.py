"""Fundamentals from Yahoo: which tickers to refresh tonight, fetching them cheaply, the last good values.

Fundamentals change quarterly, so a ticker is refreshed when it is new to the universe,
failed last time, or is older than ``max_age_days``; on top of that a rolling quota
(``universe × days since the last refresh ÷ max_age_days``, oldest first) spreads the
refreshes evenly over the week instead of re-fetching everything on the same night.

A refresh costs one ``quoteSummary`` request per ticker plus one ``/v7/finance/quote``
request per batch (see :mod:`screener.sources.yahoo_parse` for why that reproduces
``Ticker.info`` and ``Ticker.insider_purchases``).  A symbol the quote endpoint does not
know is ``not_found`` without a further request.

The last good values live in ``<cache>/fundamentals.parquet`` (one row per ticker,
catalog units, with ``fundamentals_as_of``, ``last_attempt`` and ``last_failure``), seeded
from the previous snapshot when the cache is missing, so a failed refresh keeps serving
them as stale instead of losing them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd
import pyarrow as pa
from curl_cffi.requests.exceptions import RequestException

from screener.fields import INFO_FIELDS, INSIDER_FIELDS
from screener.fundamentals import map_info_dicts
from screener.sources.base import Rejections
from screener.sources.yahoo_checkpoint import write_parquet_atomic
from screener.sources.yahoo_http import outcome_of
from screener.sources.yahoo_parse import (
    STOCK_KINDS, SUMMARY_MODULES, info_from_payloads, insider_purchases_from_payload, instrument_kind,
)

from yfinance.config import YfConfig
from yfinance.const import _BASE_URL_, _QUERY1_URL_
from yfinance.data import YfData
from yfinance.exceptions import YFRateLimitError

CACHE_FILE = "fundamentals.parquet"
QUOTE_SUMMARY_URL = f"{_BASE_URL_}/v10/finance/quoteSummary"
QUOTE_URL = f"{_QUERY1_URL_}/v7/finance/quote"

#: Catalog fields a refresh fills, in catalog order.
FUNDAMENTAL_FIELDS: tuple[str, ...] = (*(f.name for f in INFO_FIELDS), *INSIDER_FIELDS)
#: Columns of the last-good cache.
CACHE_COLUMNS: tuple[str, ...] = ("ticker", *FUNDAMENTAL_FIELDS, "fundamentals_as_of", "last_attempt",
                                  "last_failure")

#: Failures worth another attempt later the same night.
RETRIABLE = frozenset({"rate_limit", "timeout", "http_error", "bad_payload"})


# --- last good values ------------------------------------------------------------------------


def _conform(frame: pd.DataFrame) -> pd.DataFrame:
    """Cache columns in cache order; dates as ``datetime.date``; nothing else kept."""
    out = frame.reindex(columns=list(CACHE_COLUMNS)).copy()
    for column in ("fundamentals_as_of", "last_attempt"):
        out[column] = pd.to_datetime(out[column]).dt.date
    out["ticker"] = out["ticker"].astype("string")
    out["last_failure"] = out["last_failure"].astype("string")
    return out.reset_index(drop=True)


def load_last_good(cache_dir: Path, previous_stocks: pd.DataFrame | None) -> pd.DataFrame:
    """Every ticker's newest known fundamentals: the cache, or the previous snapshot where newer.

    The previous snapshot matters when the cache is gone (a new machine given the data
    folder): its stocks hold the same fields with their ``fundamentals_as_of``.
    """
    path = Path(cache_dir) / CACHE_FILE
    frames = []
    if previous_stocks is not None and "fundamentals_as_of" in previous_stocks.columns:
        known = previous_stocks[previous_stocks["fundamentals_as_of"].notna()]
        frames.append(_conform(known.assign(last_attempt=known["fundamentals_as_of"], last_failure=pd.NA)))
    if path.exists():
        frames.append(_conform(pd.read_parquet(path)))
    if not frames:
        return _conform(pd.DataFrame(columns=["ticker"]))
    merged = pd.concat(frames, ignore_index=True)
    merged = merged.assign(_age=pd.to_datetime(merged["fundamentals_as_of"]))
    merged = merged.sort_values("_age", kind="stable", na_position="first")
    return merged.drop_duplicates("ticker", keep="last").drop(columns="_age").reset_index(drop=True)


def save_last_good(cache_dir: Path, last_good: pd.DataFrame) -> None:
    """Replace the cache atomically (write beside it, then rename)."""
    write_parquet_atomic(pa.Table.from_pandas(_conform(last_good), preserve_index=False),
                         Path(cache_dir) / CACHE_FILE)


def updated_last_good(last_good: pd.DataFrame, fresh: pd.DataFrame, failures: Mapping[str, str],
                      today: dt.date) -> pd.DataFrame:
    """The cache after tonight: fresh rows replace old ones; failures keep values and note why."""
    fresh = fresh.assign(last_attempt=today, last_failure=pd.NA)
    kept = last_good[~last_good["ticker"].isin(fresh["ticker"])].copy()
    failed = kept["ticker"].isin(list(failures))
    kept.loc[failed, "last_attempt"] = today
    kept.loc[failed, "last_failure"] = kept.loc[failed, "ticker"].map(dict(failures))
    known = set(last_good["ticker"]) | set(fresh["ticker"])
    never_fetched = [t for t in failures if t not in known]
    newcomers = pd.DataFrame({"ticker": never_fetched, "last_attempt": today,
                              "last_failure": [failures[t] for t in never_fetched]})
    return _conform(pd.concat([_conform(kept), _conform(fresh), _conform(newcomers)], ignore_index=True))


# --- tonight's schedule --------------------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    """Tickers to refresh tonight, oldest first, and why each was chosen."""

    tickers: list[str]
    reasons: dict[str, str]

    def counts(self) -> dict[str, int]:
        return dict(Counter(self.reasons.values()))


def schedule_refresh(universe: Iterable[str], last_good: pd.DataFrame, today: dt.date,
                     max_age_days: float) -> Schedule:
    """Who gets fresh fundamentals tonight (see module doc for the rule).

    Reasons: ``new`` (no known fundamentals), ``failed_last_time``, ``expired`` (age at
    least ``max_age_days``) and ``rolling`` (the oldest others, up to the quota).
    """
    tickers = list(dict.fromkeys(universe))
    known = last_good.set_index("ticker").reindex(tickers)
    as_of = pd.to_datetime(known["fundamentals_as_of"])
    age = (pd.Timestamp(today) - as_of).dt.days
    reasons: dict[str, str] = {}
    for ticker in tickers:
        if pd.isna(as_of[ticker]):
            reasons[ticker] = "new"
        elif pd.notna(known.at[ticker, "last_failure"]):
            reasons[ticker] = "failed_last_time"
        elif age[ticker] >= max_age_days:
            reasons[ticker] = "expired"
    if max_age_days > 0 and as_of.notna().any():
        elapsed = max(0, (pd.Timestamp(today) - as_of.max()).days)
        quota = math.ceil(len(tickers) * min(elapsed, max_age_days) / max_age_days)
        others = age[[t not in reasons for t in tickers]].sort_values(ascending=False, kind="stable")
        for ticker in others.index[: max(0, quota - len(reasons))]:
            reasons[ticker] = "rolling"
    order = sorted(reasons, key=lambda t: (-(age[t] if pd.notna(age[t]) else math.inf), tickers.index(t)))
    return Schedule(tickers=order, reasons={t: reasons[t] for t in order})


# --- fetching ------------------------------------------------------------------------------------


def _locale() -> dict[str, str]:
    return {"lang": YfConfig.locale.lang, "region": YfConfig.locale.region}


def _get_json(data: YfData, url: str, params: dict[str, Any]) -> tuple[Any, str | None]:
    """(parsed body, None) or (None, failure reason) for one API call through yfinance's session."""
    try:
        response = data.get(url, params=params)
    except YFRateLimitError:
        return None, "rate_limit"
    except RequestException as error:
        return None, outcome_of(None, error, url)
    reason = outcome_of(response, None, url)
    if reason != "ok":
        return None, reason
    return response.json(), None


def fetch_quote_rows(data: YfData, symbols: list[str]) -> tuple[dict[str, dict[str, Any]], str | None]:
    """The v7 quote rows of a batch (symbol -> row), or a failure reason for the whole batch."""
    body, reason = _get_json(data, QUOTE_URL, {"symbols": ",".join(symbols), "formatted": "false", **_locale()})
    if reason:
        return {}, reason
    result = ((body or {}).get("quoteResponse") or {}).get("result")
    if not isinstance(result, list):
        return {}, "bad_payload"
    return {row["symbol"]: row for row in result if isinstance(row, dict) and row.get("symbol")}, None


def fetch_summary(data: YfData, symbol: str) -> tuple[dict[str, Any] | None, str | None]:
    """One ticker's quoteSummary body with the info and insider modules, or a failure reason."""
    params = {"modules": ",".join(SUMMARY_MODULES), "corsDomain": "finance.yahoo.com", "formatted": "false",
              "symbol": symbol, **_locale()}
    body, reason = _get_json(data, f"{QUOTE_SUMMARY_URL}/{symbol}", params)
    if reason:
        return None, reason
    summary = (body or {}).get("quoteSummary") or {}
    if summary.get("error"):
        code = str((summary["error"] or {}).get("code", "")).lower()
        return None, "not_found" if "not found" in code else "bad_payload"
    if not summary.get("result"):
        return None, "bad_payload"
    return body, None


def refusal(symbol: str, info: Mapping[str, Any]) -> tuple[str, str | None] | None:
    """Why a payload is not a US stock's fundamentals, as (failure reason, note); None if it is."""
    kind = instrument_kind(info)
    if kind == "unknown":
        return "not_found", None
    if kind not in STOCK_KINDS:
        return "bad_payload", f"{symbol}: Yahoo describes it as {kind.replace('_', ' ')}, not a US stock"
    return None


def fetch_batch(data: YfData, symbols: list[str], pool: ThreadPoolExecutor, rejections: Rejections,
                fetched_on: dt.date, notes: list[str]) -> tuple[pd.DataFrame, dict[str, str]]:
    """Fresh catalog rows for a batch of symbols, and the failure reason of every other one.

    The quoteSummary calls run in ``pool`` (the rate limiter paces them); the mapping
    onto the catalog runs once for the whole batch.
    """
    quote_rows, batch_failure = fetch_quote_rows(data, symbols)
    if batch_failure:
        return pd.DataFrame(columns=["ticker"]), {symbol: batch_failure for symbol in symbols}
    failures = {symbol: "not_found" for symbol in symbols if symbol not in quote_rows}
    known = [symbol for symbol in symbols if symbol in quote_rows]
    records = []
    for symbol, (summary, reason) in zip(known, pool.map(lambda s: fetch_summary(data, s), known)):
        if reason is None:
            info = info_from_payloads(symbol, summary, quote_rows[symbol])
            refused = refusal(symbol, info)
            if refused is None:
                records.append((symbol, info, insider_purchases_from_payload(symbol, summary)))
                continue
            reason, note = refused
            if note:
                notes.append(note)
        failures[symbol] = reason
    frame = map_info_dicts(records, rejections).assign(fundamentals_as_of=fetched_on, stale=False)
    return frame[["ticker", *FUNDAMENTAL_FIELDS, "fundamentals_as_of", "stale"]], failures
