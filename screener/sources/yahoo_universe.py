"""The Russell 2000 universe: iShares' IWM holdings download, its last good copy, or a user's file.

The holdings are parsed by :func:`screener.holdings.parse_holdings` (the one parser of
that format).  A download that fails, or that parses to far fewer stocks than the last
good copy (iShares has served truncated and error pages), never replaces that copy: the
run carries on with the cached universe and says so in its notes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from curl_cffi.requests.exceptions import RequestException

from screener.holdings import parse_holdings
from screener.sources.base import SourceError
from screener.sources.yahoo_checkpoint import write_atomic
from screener.sources.yahoo_http import PoliteSession

#: iShares' public "Detailed Holdings" CSV of the iShares Russell 2000 ETF (IWM).
ISHARES_IWM_URL = ("https://www.ishares.com/us/products/239710/ishares-russell-2000-etf/1467271812596.ajax"
                   "?fileType=csv&fileName=IWM_holdings&dataType=fund")
CACHE_FILE = "IWM_holdings.csv"

#: A download with fewer stocks than this share of the cached copy is treated as damaged.
MIN_SHARE_OF_CACHED = 0.5

UNIVERSE_COLUMNS = ("ticker", "name", "sector", "index_weight")


@dataclass(frozen=True)
class Universe:
    """The constituents and where they came from, for run.json."""

    frame: pd.DataFrame
    source: str  # "file", "download" or "cache"
    as_of: dt.date | None
    label: str

    def describe(self) -> dict[str, object]:
        return {"source": self.source, "as_of": self.as_of.isoformat() if self.as_of else None,
                "count": int(len(self.frame)), "from": self.label}


def _universe(holdings: pd.DataFrame, source: str, label: str) -> Universe:
    frame = holdings[list(UNIVERSE_COLUMNS)].reset_index(drop=True)
    frame.attrs = {}  # the parser's report (dropped rows, format) stays with the parser
    return Universe(frame=frame, source=source, as_of=holdings.attrs.get("as_of"), label=label)


def file_universe(path: Path) -> Universe:
    """A universe from the user's file (``--universe``): iShares holdings or a ticker list."""
    return _universe(parse_holdings(Path(path)), "file", str(path))


def cached_universe(cache_dir: Path) -> Universe | None:
    """The last good download, or None when there is none (or it no longer parses)."""
    path = Path(cache_dir) / CACHE_FILE
    if not path.exists():
        return None
    try:
        return _universe(parse_holdings(path, name=str(path)), "cache", str(path))
    except SourceError:
        return None


def load_universe(session: PoliteSession, cache_dir: Path, override: Path | None,
                  notes: list[str], timeout_s: float = 60.0) -> Universe:
    """The night's universe: ``override`` if given, else a fresh download, else the cached copy.

    Raises :class:`SourceError` only when there is no override, the download failed and
    no good copy was ever cached.
    """
    if override is not None:
        return file_universe(override)
    cached = cached_universe(cache_dir)
    try:
        response = session.get(ISHARES_IWM_URL, timeout=timeout_s)
        if response.status_code != 200:
            raise SourceError(f"HTTP {response.status_code}")
        fresh = _universe(parse_holdings(response.content, name="iShares IWM holdings download"),
                          "download", ISHARES_IWM_URL)
        if cached is not None and len(fresh.frame) < MIN_SHARE_OF_CACHED * len(cached.frame):
            raise SourceError(f"it lists only {len(fresh.frame)} stocks against {len(cached.frame)} "
                              "in the last good copy")
    except (RequestException, SourceError) as problem:
        if cached is None:
            raise SourceError(
                f"could not download the IWM holdings from iShares ({problem}) and no earlier copy is "
                f"cached in {cache_dir}; pass --universe FILE (an iShares holdings CSV or a ticker list)"
            ) from None
        as_of = cached.as_of.isoformat() if cached.as_of else "unknown date"
        notes.append(f"IWM holdings download failed ({problem}); using the cached holdings as of {as_of}")
        return cached
    write_atomic(Path(cache_dir) / CACHE_FILE, lambda tmp: tmp.write_bytes(response.content))
    return fresh
