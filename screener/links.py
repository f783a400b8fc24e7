"""Addresses the app links to: one place for the Stock page and Yahoo Finance URLs."""

from __future__ import annotations

from urllib.parse import quote


def stock_page_url(ticker: str) -> str:
    """Relative link to the Stock page: resolves to /Stock?ticker=XYZ from any page, under any base path."""
    return "Stock?ticker=" + quote(str(ticker), safe="")


def yahoo_url(ticker: str) -> str:
    """The ticker's Yahoo Finance quote page (the ticker escaped, so it can never add a path or query)."""
    return "https://finance.yahoo.com/quote/" + quote(str(ticker), safe="")
