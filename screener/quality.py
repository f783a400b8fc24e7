"""The quality score (after Asness, Frazzini & Pedersen, "Quality Minus Junk").

Each input is ranked across the snapshot's universe and the ranks are z-scored; a
component is the z-score of the mean of its available z-ranks, and ``quality_score`` is
the z-score of the mean of the available components.  Ranking first makes the score
robust to the extreme values real Yahoo data holds (revenue growth of +257,500%), and
using only the inputs present means a bank without debt/equity is judged on the rest
rather than on an invented 0.  Choices where DESIGN.md leaves room:

- ranks are average ranks (ties share), computed over the non-null values only;
- a z-score uses the population standard deviation (ddof=0) over the non-null values; an
  input with no spread (a constant, or a single value) contributes nothing: it is treated
  as missing instead of dividing by zero;
- ``quality_score`` needs at least two of the three components, else it is null;
- ``quality_bucket``: with pct = score.rank(pct=True) (average ranks), ``quality`` when
  pct > 0.7, ``junk`` when pct <= 0.3, else ``middle``; a null score has a null bucket;
- safety ranks -debt_to_equity, -beta and -volatility_1y, except that a *negative*
  debt/equity (negative shareholders' equity: liabilities exceed assets) ranks as the
  most leveraged rather than the least, which the plain negation would make it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: component -> (input field, sign): the sign makes "higher is better" for every input.
QUALITY_COMPONENTS: dict[str, tuple[tuple[str, int], ...]] = {
    "profitability_z": (("roe", 1), ("roa", 1), ("gross_margin", 1), ("profit_margin", 1)),
    "growth_z": (("earnings_growth", 1), ("revenue_growth", 1)),
    "safety_z": (("debt_to_equity", -1), ("beta", -1), ("volatility_1y", -1)),
}
QUALITY_INPUTS: tuple[str, ...] = tuple(name for inputs in QUALITY_COMPONENTS.values() for name, _ in inputs)
MIN_COMPONENTS = 2
#: Share of the scored universe in each tail bucket.
TAIL_SHARE = 0.3
#: Spread below which values count as constant; z inputs here are ranks and z-means (order 1).
_NO_SPREAD = 1e-12


def zscore(values: pd.Series) -> pd.Series:
    """(x - mean) / population std over the non-null values; all null when there is no spread."""
    present = values.dropna()
    spread = present.std(ddof=0) if len(present) else np.nan
    if not spread > _NO_SPREAD:
        return pd.Series(np.nan, index=values.index, dtype="float64")
    return (values - present.mean()) / spread


def z_rank(values: pd.Series) -> pd.Series:
    """z-score of the average ranks of the non-null values (nulls stay null)."""
    return zscore(values.rank(method="average"))


def _ranking_input(stocks: pd.DataFrame, name: str, sign: int) -> pd.Series:
    """The input oriented so higher is better; negative debt/equity ranks as worst leverage."""
    values = pd.to_numeric(stocks[name], errors="coerce").astype("float64")
    if name == "debt_to_equity":
        values = values.where(~(values < 0), np.inf)
    return sign * values


def quality_bucket(score: pd.Series) -> pd.Series:
    """``quality`` / ``middle`` / ``junk`` by the score's percentile rank; null score -> null."""
    pct = score.rank(method="average", pct=True)
    labels = np.select([pct > 1 - TAIL_SHARE, pct <= TAIL_SHARE], ["quality", "junk"], "middle")
    return pd.Series(labels, index=score.index, dtype="str").where(score.notna())


def add_quality(stocks: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``stocks`` with profitability_z, growth_z, safety_z, quality_score, quality_bucket.

    ``stocks`` is one row per constituent (benchmarks excluded) holding the input columns
    :data:`QUALITY_INPUTS`; they may be null but must exist (KeyError otherwise).
    """
    absent = [name for name in QUALITY_INPUTS if name not in stocks.columns]
    if absent:
        raise KeyError(f"add_quality needs columns: {', '.join(absent)}")
    out = stocks.copy()
    for component, inputs in QUALITY_COMPONENTS.items():
        z_ranks = pd.concat([z_rank(_ranking_input(stocks, name, sign)) for name, sign in inputs], axis=1)
        out[component] = zscore(z_ranks.mean(axis=1, skipna=True))
    components = out[list(QUALITY_COMPONENTS)]
    mean = components.mean(axis=1, skipna=True).where(components.notna().sum(axis=1) >= MIN_COMPONENTS)
    out["quality_score"] = zscore(mean)
    out["quality_bucket"] = quality_bucket(out["quality_score"])
    return out
