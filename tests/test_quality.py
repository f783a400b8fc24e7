"""The quality score on universes small enough to check by eye, and against an independent
implementation (plain numpy z-scores, pandas ranks, row loops) on random and real data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from screener.quality import QUALITY_INPUTS, add_quality, quality_bucket, zscore
from tests.support.realdata import INFO_2026, realdata_path

OUTPUTS = ["profitability_z", "growth_z", "safety_z", "quality_score"]
nan = math.nan
R5 = 1 / math.sqrt(5)  # z-scores of the ranks 1, 2, 3, 4 are -3, -1, 1, 3 times 1/sqrt(5)


def universe(**columns: list[float]) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    frame = pd.DataFrame({"ticker": [chr(ord("A") + i) for i in range(n)]})
    for name in QUALITY_INPUTS:
        frame[name] = columns.get(name, [nan] * n)
    return frame


# --------------------------------------------------------------------------- by eye
def test_five_stocks_by_hand():
    stocks = universe(
        roe=[0.10, 0.20, 0.30, 0.40, nan],          # ranks 1..4 -> z -3, -1, 1, 3 (x 1/sqrt5)
        revenue_growth=[0.5, nan, 0.1, 0.3, 0.2],   # ranks 4, -, 1, 3, 2 -> z 3, -, -3, 1, -1
        beta=[1.0] * 5,                             # constant: contributes nothing
    )
    got = add_quality(stocks).set_index("ticker")
    np.testing.assert_allclose(got["profitability_z"], [-3 * R5, -R5, R5, 3 * R5, nan], equal_nan=True)
    np.testing.assert_allclose(got["growth_z"], [3 * R5, nan, -3 * R5, R5, -R5], equal_nan=True)
    assert got["safety_z"].isna().all()
    # two components needed: B and E have one.  Means for A, C, D: 0, -2/sqrt5, 4/sqrt5 ~ 0, -1, 2,
    # whose z-scores are -1, -4, 5 over sqrt(14).
    r14 = 1 / math.sqrt(14)
    np.testing.assert_allclose(got["quality_score"], [-r14, nan, -4 * r14, 5 * r14, nan], equal_nan=True)
    # pct ranks of the three scores: C 1/3, A 2/3, D 1 -> only D is above 0.7, nobody at or below 0.3
    assert got["quality_bucket"].tolist()[0] == "middle"
    assert got["quality_bucket"].fillna("null").tolist() == ["middle", "null", "middle", "quality", "null"]


def test_missing_is_never_zero():
    stocks = universe(roe=[0.0, nan, 0.1, -0.1], revenue_growth=[0.1, 0.2, 0.3, 0.4])
    got = add_quality(stocks)
    assert math.isnan(got.loc[1, "profitability_z"])
    # ROE 0 sits between -0.1 and 0.1: rank 2 of 3 -> z 0
    assert got.loc[0, "profitability_z"] == pytest.approx(0.0)


def test_component_is_z_of_the_mean_of_available_z_ranks():
    stocks = universe(roe=[1.0, 2.0, 3.0, 4.0], roa=[4.0, 3.0, 2.0, nan])
    # roe z: -3, -1, 1, 3 (/sqrt5); roa ranks 3, 2, 1 -> z (x sqrt(3/2)): 1, 0, -1 -> 1.2247, 0, -1.2247
    roa_z = [math.sqrt(1.5), 0.0, -math.sqrt(1.5), nan]
    means = np.array([(-3 * R5 + roa_z[0]) / 2, (-R5 + 0) / 2, (R5 + roa_z[2]) / 2, 3 * R5])
    want = (means - means.mean()) / means.std()
    got = add_quality(stocks)["profitability_z"]
    np.testing.assert_allclose(got, want)


def test_safety_uses_lower_is_safer_and_negative_equity_is_least_safe():
    stocks = universe(debt_to_equity=[-2.0, 0.0, 0.5, 3.0])
    # leverage order, safest first: 0.0, 0.5, 3.0, then negative equity -> safety ranks 4, 1, 2, 3... as
    # z: -3, 3, 1, -1 (x 1/sqrt5) for the rows -2.0, 0.0, 0.5, 3.0
    got = add_quality(stocks)["safety_z"]
    np.testing.assert_allclose(got, [-3 * R5, 3 * R5, R5, -R5])
    higher_beta_is_riskier = add_quality(universe(beta=[0.5, 1.0, 2.0, 1.5]))["safety_z"]
    np.testing.assert_allclose(higher_beta_is_riskier, [3 * R5, R5, -3 * R5, -R5])


def test_constant_input_is_ignored_not_divided_by_zero():
    stocks = universe(debt_to_equity=[0.1, 0.2, 0.3, 0.4], beta=[1.2] * 4, volatility_1y=[nan, 0.3, nan, nan])
    got = add_quality(stocks)["safety_z"]  # beta constant, volatility a single value: only D/E counts
    np.testing.assert_allclose(got, [3 * R5, R5, -R5, -3 * R5])


def test_values_equal_up_to_rounding_have_no_spread():
    nearly_constant = pd.Series([0.1 + 0.2, 0.3, 0.3])  # 0.30000000000000004, 0.3, 0.3
    assert zscore(nearly_constant).isna().all()
    assert zscore(pd.Series([1.0, 2.0, nan])).tolist()[:2] == [-1.0, 1.0]


def test_buckets_by_percentile_with_shared_ties():
    scores = pd.Series([float(x) for x in range(1, 11)])
    assert quality_bucket(scores).tolist() == ["junk"] * 3 + ["middle"] * 4 + ["quality"] * 3
    tied = pd.Series([1.0, 1, 2, 2, 3, 3, 4, 4, 5, 5])  # pct 0.15 0.15 0.35 0.35 0.55 0.55 0.75 0.75 0.95 0.95
    assert quality_bucket(tied).tolist() == ["junk"] * 2 + ["middle"] * 4 + ["quality"] * 4
    with_null = quality_bucket(pd.Series([1.0, nan, 2.0, 3.0]))  # pct 1/3, -, 2/3, 1
    assert with_null.fillna("null").tolist() == ["middle", "null", "middle", "quality"]


def test_input_is_not_modified_and_missing_columns_are_named():
    stocks = universe(roe=[1.0, 2.0, 3.0])
    before = stocks.copy()
    add_quality(stocks)
    pd.testing.assert_frame_equal(stocks, before)
    with pytest.raises(KeyError, match="beta"):
        add_quality(stocks.drop(columns="beta"))


def test_nullable_dtypes_are_accepted():
    stocks = universe(roe=[1.0, 2.0, 3.0, 4.0], revenue_growth=[0.4, 0.3, 0.2, 0.1])
    nullable = stocks.astype({"roe": "Float64", "revenue_growth": "Float64", "beta": "Float64"})
    pd.testing.assert_frame_equal(add_quality(stocks)[OUTPUTS], add_quality(nullable)[OUTPUTS])


# --------------------------------------------------------------------------- independent implementation
def reference_z(x: np.ndarray) -> np.ndarray:
    ok = ~np.isnan(x)
    if not ok.any():
        return np.full(x.shape, nan)
    mean = x[ok].sum() / ok.sum()
    sd = math.sqrt(((x[ok] - mean) ** 2).sum() / ok.sum())
    if sd < 1e-12:
        return np.full(x.shape, nan)
    return (x - mean) / sd


def row_mean(columns: list[np.ndarray], minimum: int) -> np.ndarray:
    out = np.full(len(columns[0]), nan)
    for i in range(len(out)):
        values = [c[i] for c in columns if not math.isnan(c[i])]
        if len(values) >= minimum:
            out[i] = sum(values) / len(values)
    return out


def reference_quality(stocks: pd.DataFrame) -> pd.DataFrame:
    parts = {
        "profitability_z": [("roe", 1), ("roa", 1), ("gross_margin", 1), ("profit_margin", 1)],
        "growth_z": [("earnings_growth", 1), ("revenue_growth", 1)],
        "safety_z": [("debt_to_equity", -1), ("beta", -1), ("volatility_1y", -1)],
    }
    out = pd.DataFrame(index=stocks.index)
    for component, inputs in parts.items():
        z_ranks = []
        for name, sign in inputs:
            values = stocks[name].to_numpy(dtype=float)
            if name == "debt_to_equity":
                values = np.where(values < 0, np.inf, values)
            ranks = pd.Series(sign * values).rank().to_numpy()
            z_ranks.append(reference_z(ranks))
        out[component] = reference_z(row_mean(z_ranks, 1))
    score = reference_z(row_mean([out[c].to_numpy() for c in parts], 2))
    out["quality_score"] = score
    pct = pd.Series(score).rank(pct=True).to_numpy()
    out["quality_bucket"] = [None if math.isnan(s) else "quality" if p > 0.7 else "junk" if p <= 0.3 else "middle"
                             for s, p in zip(score, pct)]
    return out


def assert_matches_reference(got: pd.DataFrame, want: pd.DataFrame) -> None:
    for name in OUTPUTS:
        np.testing.assert_allclose(got[name].to_numpy(float), want[name].to_numpy(float), rtol=1e-9,
                                   atol=1e-12, equal_nan=True, err_msg=name)
    def labels(column: pd.Series) -> list[str | None]:
        return [None if pd.isna(v) else v for v in column]

    assert labels(got["quality_bucket"]) == labels(want["quality_bucket"])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_universe_matches_the_reference(seed):
    rng = np.random.default_rng(seed)
    n = 600
    columns = {}
    for name in QUALITY_INPUTS:
        values = rng.standard_t(2, n)  # heavy tails, like real margins and growth
        values = np.round(values, 1)   # plenty of ties
        values[rng.random(n) < rng.uniform(0.05, 0.6)] = nan
        columns[name] = values
    stocks = universe(**columns)
    if seed == 2:
        stocks["beta"] = 1.0  # a constant input
    assert_matches_reference(add_quality(stocks), reference_quality(stocks))


@pytest.fixture(scope="module")
def real_fundamentals() -> pd.DataFrame:
    info = realdata_path(INFO_2026)
    from screener.fundamentals import map_info_frame
    from screener.sources.base import Rejections

    raw = pd.read_parquet(info).rename(columns={"symbol": "ticker"})
    stocks = map_info_frame(raw, info.name, Rejections())
    stocks["volatility_1y"] = nan  # not in the info dump
    return stocks


def test_real_yahoo_fundamentals_match_the_reference(real_fundamentals):
    got = add_quality(real_fundamentals)
    assert_matches_reference(got, reference_quality(real_fundamentals))
    shares = got["quality_bucket"].value_counts(normalize=True)
    assert shares["quality"] == pytest.approx(0.3, abs=0.01) and shares["junk"] == pytest.approx(0.3, abs=0.01)
    # Economic sanity, independent of the formula: quality names earn more and borrow less.
    quality, junk = got[got["quality_bucket"] == "quality"], got[got["quality_bucket"] == "junk"]
    assert quality["roe"].median() > junk["roe"].median()
    assert quality["gross_margin"].median() > junk["gross_margin"].median()
    assert quality["debt_to_equity"].median() < junk["debt_to_equity"].median()
