"""Yahoo payloads -> exactly what yfinance's ``Ticker.info`` and ``Ticker.insider_purchases`` return.

Cost, read from yfinance 1.7's installed source: ``Ticker.info`` makes three requests
(``quoteSummary`` with five modules, ``/v7/finance/quote`` for one symbol, and a
fundamentals-timeseries call for ``trailingPegRatio``) and ``insider_purchases`` a
fourth (``quoteSummary`` with seven holder modules).  The Yahoo source instead asks
``quoteSummary`` once per ticker for the five info modules plus
``netSharePurchaseActivity``, and ``/v7/finance/quote`` once per batch of tickers, then
hands those payloads to yfinance's *own* parsers here, so the dict and the frame are the
ones yfinance would have built (``trailingPegRatio``, not in the catalog, is the only
key left out).  The parsers are private yfinance methods; yfinance is pinned exactly
and ``tests/test_yahoo_parse.py`` compares against a real ``yf.Ticker`` served the same
payloads, so an upgrade that changes them fails loudly.
"""

from __future__ import annotations

import copy
from typing import Any, Mapping

import pandas as pd

from yfinance.scrapers.holders import Holders
from yfinance.scrapers.quote import Quote

#: The modules ``Ticker.info`` asks quoteSummary for (yfinance 1.7 ``Quote._fetch_info``).
INFO_MODULES: tuple[str, ...] = ("financialData", "quoteType", "defaultKeyStatistics", "assetProfile",
                                 "summaryDetail")
#: The module behind ``Ticker.insider_purchases``.
INSIDER_MODULE = "netSharePurchaseActivity"
SUMMARY_MODULES: tuple[str, ...] = (*INFO_MODULES, INSIDER_MODULE)

#: Yahoo exchange codes of US listings (Nasdaq tiers, NYSE, NYSE American, Arca, Cboe BZX).
US_EXCHANGES = frozenset({"NMS", "NGM", "NCM", "NAS", "NYQ", "NYS", "ASE", "AMEX", "PCX", "BTS", "CXI"})
#: Yahoo exchange codes of US over-the-counter quotes (Pink, OTCQB, OTCQX, grey, bulletin board).
OTC_EXCHANGES = frozenset({"PNK", "OQB", "OQX", "OEM", "OBB", "OGM"})

_QUOTE_TYPE_KINDS = {
    "ETF": "etf", "MUTUALFUND": "mutual_fund", "CRYPTOCURRENCY": "crypto", "CURRENCY": "currency",
    "INDEX": "index", "FUTURE": "future", "OPTION": "option",
}

#: Instrument kinds whose fundamentals the screener accepts for a universe ticker.
STOCK_KINDS = frozenset({"us_equity", "otc_equity"})


class _PrefetchedQuote(Quote):
    """yfinance's ``Quote`` parser, fed with payloads already fetched instead of fetching them."""

    def __init__(self, symbol: str, summary: dict[str, Any], quote: dict[str, Any]) -> None:
        super().__init__(data=None, symbol=symbol)  # type: ignore[arg-type] - never fetches
        self._prefetched_summary = summary
        self._prefetched_quote = quote

    def _fetch(self, modules: list) -> dict[str, Any]:
        return self._prefetched_summary

    def _fetch_additional_info(self) -> dict[str, Any]:
        return self._prefetched_quote


def info_from_payloads(symbol: str, summary: Mapping[str, Any] | None,
                       quote_row: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``Ticker.info`` dict for a quoteSummary body and the symbol's v7 quote row.

    Only the five info modules are parsed (yfinance flattens every module it is given,
    and the insider module belongs to ``insider_purchases``).
    ``summaryDetail.dividendYield`` is a fraction while the v7 quote's ``dividendYield``
    is in percent, and yfinance lets the v7 value win; dropping the summaryDetail one
    means the key, when present, is always in percent (the catalog divides it by 100)
    instead of silently 100 times too small when a v7 row lacks it.
    """
    body = copy.deepcopy(dict(summary or {}))
    results = (body.get("quoteSummary") or {}).get("result") or []
    for index, result in enumerate(results):
        if isinstance(result, dict):
            results[index] = result = {m: result[m] for m in INFO_MODULES if m in result}
            if isinstance(result.get("summaryDetail"), dict):
                result["summaryDetail"].pop("dividendYield", None)
    rows = [copy.deepcopy(dict(quote_row))] if quote_row else []
    quote = _PrefetchedQuote(symbol, body, {"quoteResponse": {"result": rows, "error": None}})
    quote._fetch_info()
    return dict(quote._info or {})


def insider_purchases_from_payload(symbol: str, summary: Mapping[str, Any] | None) -> pd.DataFrame:
    """The ``Ticker.insider_purchases`` frame for a quoteSummary body (yfinance's own parser)."""
    results = (dict(summary or {}).get("quoteSummary") or {}).get("result") or [{}]
    module = copy.deepcopy((results[0] or {}).get(INSIDER_MODULE) or {})
    holders = Holders(data=None, symbol=symbol)  # type: ignore[arg-type] - never fetches
    holders._parse_net_share_purchase_activity(module)
    return holders._insider_purchases


def instrument_kind(info: Mapping[str, Any]) -> str:
    """What a symbol names: ``us_equity``, ``otc_equity``, ``foreign_equity``, ``etf``,
    ``mutual_fund``, ``crypto``, ``currency``, ``index``, ... or ``unknown`` (no quoteType,
    which is what yfinance's near-empty dict for an unknown symbol looks like).

    A stock is foreign when Yahoo lists it on a non-US exchange (``AZT.OL`` on Oslo):
    its market value, prices and fundamentals are not in US dollars.
    """
    quote_type = str(info.get("quoteType") or "").upper()
    if not quote_type:
        return "unknown"
    if quote_type != "EQUITY":
        return _QUOTE_TYPE_KINDS.get(quote_type, quote_type.lower())
    exchange = str(info.get("exchange") or "").upper()
    currency = str(info.get("currency") or "USD").upper()
    if exchange in OTC_EXCHANGES:
        return "otc_equity"
    if exchange in US_EXCHANGES and currency == "USD":
        return "us_equity"
    return "foreign_equity"
