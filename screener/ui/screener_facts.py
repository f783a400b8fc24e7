"""What the filter widgets need to know about a snapshot: spreads, sectors, industries.

Pure (no Streamlit); the page computes it once per snapshot and caches it.  Why: a
good starting value for "revenue growth >" is this snapshot's median, a hint with the
10th and 90th percentiles tells a person what a threshold means before they type it,
and the sector / industry pickers list the values that actually occur.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from screener.fields import FIELDS, Field
from screener.ui.screener_inputs import SNAPSHOT_VALUE_FIELDS

QUANTILES: tuple[float, ...] = (0.10, 0.25, 0.50, 0.75, 0.90)


@dataclass(frozen=True)
class Spread:
    """Distribution of one numeric field over the stocks that have a value (stored units)."""

    known: int
    p10: float
    p25: float
    median: float
    p75: float
    p90: float


@dataclass(frozen=True)
class SnapshotFacts:
    total: int
    spreads: dict[str, Spread]
    #: Sorted distinct values of the picked text fields (sector, industry).
    values: dict[str, tuple[str, ...]]
    industries_by_sector: dict[str, tuple[str, ...]]


def snapshot_facts(stocks: pd.DataFrame) -> SnapshotFacts:
    """Spreads of every numeric catalog column present and the distinct picker values."""
    spreads: dict[str, Spread] = {}
    for spec in FIELDS:
        if not spec.is_numeric or spec.name not in stocks.columns:
            continue
        known = stocks[spec.name].dropna().astype("float64")
        if known.empty:
            continue
        cuts = known.quantile(list(QUANTILES)).to_numpy()
        spreads[spec.name] = Spread(len(known), *(float(c) for c in cuts))
    values = {name: tuple(sorted(stocks[name].dropna().astype(str).unique()))
              for name in SNAPSHOT_VALUE_FIELDS if name in stocks.columns}
    by_sector: dict[str, tuple[str, ...]] = {}
    if {"sector", "industry"} <= set(stocks.columns):
        pairs = stocks[["sector", "industry"]].dropna().astype(str).drop_duplicates()
        by_sector = {sector: tuple(sorted(group["industry"])) for sector, group in pairs.groupby("sector")}
    return SnapshotFacts(len(stocks), spreads, values, by_sector)


def picker_options(spec: Field, facts: SnapshotFacts, selected: tuple[str, ...] = ()) -> list[str]:
    """Values offered for a picked text field, plus any already selected (a link may name a
    sector this snapshot lacks: it stays visible and removable rather than vanishing)."""
    base = list(spec.choices) if spec.choices else list(facts.values.get(spec.name, ()))
    return base + [value for value in selected if value not in base]


def industry_options(facts: SnapshotFacts, sectors: tuple[str, ...], selected: tuple[str, ...]) -> list[str]:
    """Industries of the chosen sectors (all industries when none is chosen), plus the selected."""
    if not sectors:
        base = list(facts.values.get("industry", ()))
    else:
        base = sorted({industry for sector in sectors for industry in facts.industries_by_sector.get(sector, ())})
    return base + [value for value in selected if value not in base]


def spread_caption(spec: Field, spread: Spread | None, total: int) -> str:
    """"1,987 of 2,000 stocks have a value: 10th percentile 2.1%, median 8.0%, 90th 25.3%"."""
    if spread is None:
        return f"No stock in this snapshot has a {spec.label.lower()} value."
    return (f"{spread.known:,} of {total:,} stocks have a value: 10th percentile "
            f"{spec.format(spread.p10)}, median {spec.format(spread.median)}, "
            f"90th percentile {spec.format(spread.p90)}.")
