"""The built-in demo market (``--source demo``): a synthetic Russell 2000, no network, no files.

It is the first thing a new user and every test session sees, so it has to *look* like
the real index (sector weights, ~40% unprofitable names, small-cap volatility, volume
surges, insiders) while being unmistakably fake: invented company names, ``source="demo"``
and the note :data:`DEMO_NOTE` travel with every snapshot built from it.

Determinism and a coherent history
    Every random number comes from a generator seeded by ``(DEMO_SEED, stream, key)``;
    nothing reads the clock (except ``as_of=None``), a global RNG or hash ordering.
    Company attributes depend only on the stream and ``n_tickers``.  Daily shocks depend
    on the 21-session *block* holding the session, counted from a fixed epoch session
    (:data:`EPOCH`), never on the as-of date.  Prices walk forward from the epoch in one
    fixed order, so a session's bar is the same number whichever as-of date asked for it:
    the demos of 2026-11-20 and 2026-11-23 share every past bar, and nothing about a
    session depends on a later one (no look-ahead for the screens to exploit).  Prices
    are rounded to 4 decimals (fundamentals to Yahoo-like precision) so last-bit
    differences between platforms' maths libraries cannot change a byte in practice.
    The cost: the first as-of date is :data:`HISTORY_SESSIONS` sessions after the epoch,
    and a late one walks every session since the epoch (about 0.1 s a year).

The model
    A latent quality ``q ~ N(0, 1)`` per company drives its fundamentals (profitability
    rank within its industry, margins, leverage, growth, short interest, insider buying)
    and, weakly and noisily, its drift (a per-name alpha plus exposure to a quality factor
    with a small positive premium), so a quality-versus-junk spread emerges without being
    scripted and is negative in some windows.  Daily log returns are
    ``mu + beta*market + loading*sector + delta*quality_factor + idio + jump``: the market
    and sector factors have block-wise volatility regimes, idiosyncratic shocks are
    Student-t (4 d.o.f.) and 2.5x larger on a name's quarterly earnings day, jumps are
    rare (biotech: frequent, large, skewed down), and ``mu`` removes the volatility drag
    so variance alone neither dooms nor favours a name.  Volumes are lognormal around a
    name's level, rise with the size of the move, and surge on earnings, jumps and at
    random.  IWM is the constituents' total market cap over a divisor: share counts are
    fixed between yearly reconstitutions (last Friday of June), which pull caps halfway
    back to each company's size band and sectors back to IWM's weights, so its daily
    return is the index-weight-weighted mean of the constituents' returns.  SPY is a
    separate large-cap series loaded on the same market factor.  Per-share fundamentals
    (EPS, book, dividend) are re-based on each company's earnings day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Callable, Iterator, Sequence

import numpy as np
import pandas as pd

from screener.fields import BENCHMARKS, INFO_FIELDS, INSIDER_FIELDS
from screener.sources.base import MarketData, Progress, no_progress

DEMO_SEED = 8
#: Session 0 of the demo's history: every price path starts here and only walks forward.
EPOCH = dt.date(2023, 1, 3)
#: Sessions in the prices panel (two years: 12-month returns plus a year of 200-day breadth).
HISTORY_SESSIONS = 504
BLOCK_SESSIONS = 21
EARNINGS_CYCLE = 63
MAX_TICKERS = 5_000
DEMO_NOTE = "synthetic demo market: not real prices"

_TRADING_DAYS = 252
_EARNINGS_SHOCK = 2.5  # idiosyncratic shocks are this much larger on a name's earnings day
_MIN_PRICE = 0.01
_RESERVED_TICKERS = frozenset(BENCHMARKS)

# Generator streams: one per concern, so changing one part of the model leaves the
# random numbers of every other part untouched.
_STREAM_NAMES, _STREAM_LATENT, _STREAM_CAPS, _STREAM_PRICE_PARAMS = 1, 2, 3, 4
_STREAM_FUNDAMENTALS, _STREAM_INSIDERS = 5, 6
_STREAM_FACTORS, _STREAM_IDIO, _STREAM_JUMPS, _STREAM_BARS = 11, 12, 13, 14


def _rng(stream: int, key: int = 0) -> np.random.Generator:
    """A generator that depends on nothing but the seed, the stream and the key."""
    return np.random.default_rng([DEMO_SEED, stream, key])


# --- calendar ----------------------------------------------------------------------------


def easter_sunday(year: int) -> dt.date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm); Good Friday is two days before."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    weekday_shift = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * weekday_shift) // 451
    month, day = divmod(h + weekday_shift - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The n-th given weekday (Mon=0) of a month; n = -1 is the last one."""
    if n > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    next_month = dt.date(year + month // 12, month % 12 + 1, 1)
    last = next_month - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: dt.date) -> dt.date:
    """NYSE weekend observance: Saturday holidays close Friday, Sunday holidays close Monday."""
    if day.weekday() == 5:
        return day - dt.timedelta(days=1)
    if day.weekday() == 6:
        return day + dt.timedelta(days=1)
    return day


#: Days the exchange closed outside its rules (attacks, storms, national days of mourning).
UNSCHEDULED_CLOSURES: tuple[dt.date, ...] = (
    dt.date(1994, 4, 27), dt.date(2001, 9, 11), dt.date(2001, 9, 12), dt.date(2001, 9, 13),
    dt.date(2001, 9, 14), dt.date(2004, 6, 11), dt.date(2007, 1, 2), dt.date(2012, 10, 29),
    dt.date(2012, 10, 30), dt.date(2018, 12, 5), dt.date(2025, 1, 9),
)


def nyse_holidays(year: int) -> tuple[dt.date, ...]:
    """Full-day NYSE closures of ``year``: the standing holiday rules plus unscheduled closures.

    A Saturday New Year's Day is not observed on the Friday before (NYSE Rule 7.2: that
    Friday ends the accounting year), unlike July 4 and Christmas.  Martin Luther King Jr.
    Day is a market holiday since 1998, Juneteenth since 2022.  Future unscheduled
    closures cannot be known, so the calendar is exact for the past and rule-based ahead.
    """
    days = [d for d in UNSCHEDULED_CLOSURES if d.year == year]
    new_year = dt.date(year, 1, 1)
    if new_year.weekday() != 5:
        days.append(_observed(new_year))
    if year >= 1998:
        days.append(_nth_weekday(year, 1, 0, 3))  # Martin Luther King Jr. Day
    days += [
        _nth_weekday(year, 2, 0, 3),  # Washington's Birthday
        easter_sunday(year) - dt.timedelta(days=2),  # Good Friday
        _nth_weekday(year, 5, 0, -1),  # Memorial Day
    ]
    if year >= 2022:
        days.append(_observed(dt.date(year, 6, 19)))  # Juneteenth
    days += [
        _observed(dt.date(year, 7, 4)),
        _nth_weekday(year, 9, 0, 1),  # Labor Day
        _nth_weekday(year, 11, 3, 4),  # Thanksgiving
        _observed(dt.date(year, 12, 25)),
    ]
    return tuple(sorted(days))


@lru_cache(maxsize=16)
def _holidays(first_year: int, last_year: int) -> np.ndarray:
    days = [d for year in range(first_year, last_year + 1) for d in nyse_holidays(year)]
    return np.array(days, dtype="datetime64[D]")


def _holidays_around(*days: dt.date) -> np.ndarray:
    """Holidays covering ``days`` plus three years of slack (enough for 504 sessions back)."""
    return _holidays(min(d.year for d in days) - 3, max(d.year for d in days) + 1)


def is_session(day: dt.date) -> bool:
    """True when NYSE trades a full or half day on ``day`` (a weekday that is not a holiday)."""
    return bool(np.is_busday(np.datetime64(day, "D"), holidays=_holidays_around(day)))


def last_session_on_or_before(day: dt.date) -> dt.date:
    """The newest session not after ``day`` (a Saturday maps to Friday, Good Friday to Thursday)."""
    rolled = np.busday_offset(np.datetime64(day, "D"), 0, roll="backward", holidays=_holidays_around(day))
    return rolled.astype(object)


def sessions_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """All sessions from ``first`` to ``last``, both included."""
    days = np.arange(np.datetime64(first, "D"), np.datetime64(last, "D") + 1)
    open_days = days[np.is_busday(days, holidays=_holidays_around(first, last))]
    return list(open_days.astype(object))


def _session_ordinal(session: dt.date) -> int:
    """Sessions from the epoch to ``session``: the epoch is 0, the next session 1."""
    return int(np.busday_count(np.datetime64(EPOCH, "D"), np.datetime64(session, "D"),
                               holidays=_holidays_around(EPOCH, session)))


def _session_dates(first_ordinal: int, last_ordinal: int, holidays: np.ndarray) -> np.ndarray:
    offsets = np.arange(first_ordinal, last_ordinal + 1)
    return np.busday_offset(np.datetime64(EPOCH, "D"), offsets, roll="forward", holidays=holidays)


# --- sectors and industries --------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """Typical figures of an industry; each company scatters around them with its quality.

    ``net_margin`` is the median margin of the profitable names; ``loss_margin`` the median
    size of the unprofitable names' (negative) margin.  ``debt_to_equity`` and
    ``current_ratio`` of None mean Yahoo does not report them (banks).
    """

    unprofitable: float
    idio_vol: float  # annualised idiosyncratic volatility, median name
    beta: float
    gross_margin: float | None
    net_margin: float
    loss_margin: float
    debt_to_equity: float | None
    current_ratio: float | None
    payer_share: float  # share of profitable names paying a dividend
    dividend_yield: float
    price_to_book: float
    asset_turnover: float  # revenue / assets, links margins to ROA
    growth_scale: float  # dispersion of revenue growth
    jumps_per_year: float = 0.8
    jump_mean: float = -0.01
    jump_sd: float = 0.10
    gross_margin_missing: float = 0.0
    leverage: float | None = None  # assets / equity when it is not implied by debt/equity (banks)


@dataclass(frozen=True)
class Sector:
    """A GICS sector as iShares names it, with its share of IWM names and of IWM weight."""

    name: str
    names: int  # constituents in the 2026-01-21 IWM holdings (relative count)
    weight: float  # percent of IWM weight in the same file
    factor_vol: float  # daily volatility of the sector factor


@dataclass(frozen=True)
class Industry:
    name: str  # as Yahoo Finance names it
    sector: str
    share: float  # of the sector's names
    suffixes: tuple[str, ...]  # last word(s) of company names
    profile: Profile


SECTORS: tuple[Sector, ...] = (
    Sector("Financials", 420, 17.39, 0.007),
    Sector("Health Care", 402, 17.63, 0.008),
    Sector("Industrials", 259, 18.60, 0.006),
    Sector("Information Technology", 212, 14.83, 0.008),
    Sector("Consumer Discretionary", 198, 8.91, 0.007),
    Sector("Real Estate", 102, 5.41, 0.007),
    Sector("Energy", 105, 5.14, 0.013),
    Sector("Materials", 83, 4.80, 0.009),
    Sector("Utilities", 31, 2.95, 0.006),
    Sector("Communication", 79, 2.55, 0.007),
    Sector("Consumer Staples", 61, 1.80, 0.006),
)

_FIN = Profile(unprofitable=0.22, idio_vol=0.32, beta=1.05, gross_margin=0.60, net_margin=0.18, loss_margin=0.15,
               debt_to_equity=0.9, current_ratio=1.6, payer_share=0.6, dividend_yield=0.035, price_to_book=1.5,
               asset_turnover=0.20, growth_scale=0.15)
_BANK = replace(_FIN, unprofitable=0.05, idio_vol=0.22, beta=0.85, gross_margin=None, net_margin=0.24,
                debt_to_equity=None, current_ratio=None, payer_share=0.9, dividend_yield=0.032,
                price_to_book=1.1, asset_turnover=0.065, growth_scale=0.10, jumps_per_year=0.3, leverage=10.0)
_HEALTH = Profile(unprofitable=0.48, idio_vol=0.45, beta=1.0, gross_margin=0.52, net_margin=0.07, loss_margin=0.20,
                  debt_to_equity=0.6, current_ratio=2.8, payer_share=0.15, dividend_yield=0.015, price_to_book=3.0,
                  asset_turnover=0.8, growth_scale=0.20)
_BIOTECH = replace(_HEALTH, unprofitable=0.92, idio_vol=0.62, beta=1.1, gross_margin=0.75, net_margin=0.15,
                   loss_margin=2.0, debt_to_equity=0.2, current_ratio=6.5, payer_share=0.02, price_to_book=3.8,
                   asset_turnover=0.15, growth_scale=0.6, jumps_per_year=2.0, jump_mean=-0.05, jump_sd=0.25,
                   gross_margin_missing=0.4)
_INDUSTRIAL = Profile(unprofitable=0.30, idio_vol=0.33, beta=1.2, gross_margin=0.27, net_margin=0.06,
                      loss_margin=0.08, debt_to_equity=0.8, current_ratio=2.0, payer_share=0.55, dividend_yield=0.012,
                      price_to_book=2.6, asset_turnover=1.0, growth_scale=0.15)
_TECH = Profile(unprofitable=0.52, idio_vol=0.45, beta=1.35, gross_margin=0.48, net_margin=0.08, loss_margin=0.15,
                debt_to_equity=0.4, current_ratio=2.4, payer_share=0.2, dividend_yield=0.012, price_to_book=3.5,
                asset_turnover=0.7, growth_scale=0.25, jumps_per_year=1.0, jump_sd=0.14)
_DISCRETIONARY = Profile(unprofitable=0.30, idio_vol=0.42, beta=1.25, gross_margin=0.38, net_margin=0.05,
                         loss_margin=0.08, debt_to_equity=1.0, current_ratio=1.6, payer_share=0.5,
                         dividend_yield=0.022, price_to_book=1.8, asset_turnover=1.1, growth_scale=0.15)
_REAL_ESTATE = Profile(unprofitable=0.30, idio_vol=0.25, beta=1.05, gross_margin=0.62, net_margin=0.10,
                       loss_margin=0.10, debt_to_equity=1.1, current_ratio=1.4, payer_share=0.95,
                       dividend_yield=0.05, price_to_book=1.5, asset_turnover=0.12, growth_scale=0.10,
                       jumps_per_year=0.4)
_ENERGY = Profile(unprofitable=0.35, idio_vol=0.40, beta=0.85, gross_margin=0.40, net_margin=0.09, loss_margin=0.10,
                  debt_to_equity=0.65, current_ratio=1.6, payer_share=0.65, dividend_yield=0.028, price_to_book=1.4,
                  asset_turnover=0.6, growth_scale=0.25)
_MATERIALS = Profile(unprofitable=0.45, idio_vol=0.40, beta=1.05, gross_margin=0.20, net_margin=0.06,
                     loss_margin=0.10, debt_to_equity=0.6, current_ratio=2.3, payer_share=0.55, dividend_yield=0.02,
                     price_to_book=1.8, asset_turnover=0.8, growth_scale=0.20)
_UTILITY = Profile(unprofitable=0.10, idio_vol=0.18, beta=0.55, gross_margin=0.43, net_margin=0.11, loss_margin=0.05,
                   debt_to_equity=1.05, current_ratio=0.95, payer_share=0.9, dividend_yield=0.032, price_to_book=1.7,
                   asset_turnover=0.25, growth_scale=0.08, jumps_per_year=0.3)
_STAPLES = Profile(unprofitable=0.30, idio_vol=0.30, beta=0.65, gross_margin=0.30, net_margin=0.04, loss_margin=0.06,
                   debt_to_equity=0.7, current_ratio=2.2, payer_share=0.6, dividend_yield=0.022, price_to_book=1.6,
                   asset_turnover=1.2, growth_scale=0.10)
_COMMUNICATION = Profile(unprofitable=0.58, idio_vol=0.48, beta=1.1, gross_margin=0.50, net_margin=0.05,
                         loss_margin=0.12, debt_to_equity=1.05, current_ratio=1.3, payer_share=0.3,
                         dividend_yield=0.03, price_to_book=2.2, asset_turnover=0.6, growth_scale=0.20)

INDUSTRIES: tuple[Industry, ...] = (
    Industry("Banks - Regional", "Financials", 0.55, ("Bancorp", "Bancshares", "Financial", "Bank"), _BANK),
    Industry("Insurance - Property & Casualty", "Financials", 0.08, ("Insurance Group", "Casualty", "Assurance"), _FIN),
    Industry("Asset Management", "Financials", 0.08, ("Capital", "Asset Management", "Investors"), _FIN),
    Industry("Capital Markets", "Financials", 0.06, ("Securities", "Capital Markets"), _FIN),
    Industry("Credit Services", "Financials", 0.07, ("Credit", "Lending", "Finance"), _FIN),
    Industry("Mortgage Finance", "Financials", 0.05, ("Mortgage", "Home Loans"), _FIN),
    Industry("Insurance - Life", "Financials", 0.04, ("Life", "Life & Annuity"), _FIN),
    Industry("Insurance - Specialty", "Financials", 0.04, ("Specialty Insurance", "Underwriters"), _FIN),
    Industry("REIT - Mortgage", "Financials", 0.03, ("Mortgage Trust", "Mortgage Investment"),
             replace(_FIN, unprofitable=0.25, idio_vol=0.25, payer_share=1.0, dividend_yield=0.11,
                     debt_to_equity=4.0, price_to_book=0.9, net_margin=0.35)),
    Industry("Biotechnology", "Health Care", 0.55,
             ("Therapeutics", "Biosciences", "Bio", "Pharmaceuticals", "Genomics", "Oncology"), _BIOTECH),
    Industry("Medical Devices", "Health Care", 0.14, ("Medical", "Surgical", "Orthopedics"), _HEALTH),
    Industry("Drug Manufacturers - Specialty & Generic", "Health Care", 0.07, ("Pharma", "Laboratories"), _HEALTH),
    Industry("Diagnostics & Research", "Health Care", 0.07, ("Diagnostics", "Life Sciences"), _HEALTH),
    Industry("Medical Instruments & Supplies", "Health Care", 0.06, ("Medical Supply", "Instruments"), _HEALTH),
    Industry("Health Information Services", "Health Care", 0.05, ("Health", "Care Systems"), _HEALTH),
    Industry("Medical Care Facilities", "Health Care", 0.06, ("Health Partners", "Clinics"),
             replace(_HEALTH, unprofitable=0.30, debt_to_equity=1.2, gross_margin=0.30)),
    Industry("Specialty Industrial Machinery", "Industrials", 0.17, ("Industries", "Machinery", "Works"),
             _INDUSTRIAL),
    Industry("Engineering & Construction", "Industrials", 0.12, ("Construction", "Builders", "Infrastructure"),
             _INDUSTRIAL),
    Industry("Aerospace & Defense", "Industrials", 0.10, ("Aerospace", "Defense Systems", "Aviation"),
             replace(_INDUSTRIAL, idio_vol=0.40, unprofitable=0.35)),
    Industry("Building Products & Equipment", "Industrials", 0.10, ("Building Products", "Doors & Windows"),
             _INDUSTRIAL),
    Industry("Electrical Equipment & Parts", "Industrials", 0.10, ("Electric", "Power Systems"),
             replace(_INDUSTRIAL, idio_vol=0.45, unprofitable=0.40)),
    Industry("Specialty Business Services", "Industrials", 0.10, ("Services", "Solutions", "Group"), _INDUSTRIAL),
    Industry("Trucking", "Industrials", 0.07, ("Freight", "Logistics", "Transport"), _INDUSTRIAL),
    Industry("Staffing & Employment Services", "Industrials", 0.06, ("Staffing", "Workforce"), _INDUSTRIAL),
    Industry("Marine Shipping", "Industrials", 0.06, ("Shipping", "Maritime", "Tankers"),
             replace(_INDUSTRIAL, payer_share=0.8, dividend_yield=0.05, price_to_book=1.0)),
    Industry("Farm & Heavy Construction Machinery", "Industrials", 0.05, ("Equipment", "Tractor"), _INDUSTRIAL),
    Industry("Airlines", "Industrials", 0.03, ("Airlines", "Air"),
             replace(_INDUSTRIAL, debt_to_equity=2.5, idio_vol=0.40)),
    Industry("Waste Management", "Industrials", 0.04, ("Environmental", "Recycling"), _INDUSTRIAL),
    Industry("Software - Application", "Information Technology", 0.25, ("Software", "Cloud", "Analytics"), _TECH),
    Industry("Software - Infrastructure", "Information Technology", 0.15, ("Systems", "Networks", "Security"),
             _TECH),
    Industry("Semiconductors", "Information Technology", 0.14, ("Semiconductor", "Micro", "Silicon"),
             replace(_TECH, idio_vol=0.50, beta=1.5)),
    Industry("Semiconductor Equipment & Materials", "Information Technology", 0.08,
             ("Photonics", "Process Technologies"), replace(_TECH, idio_vol=0.48, beta=1.45)),
    Industry("Communication Equipment", "Information Technology", 0.10, ("Communications", "Wireless"), _TECH),
    Industry("Electronic Components", "Information Technology", 0.10, ("Electronics", "Circuits"),
             replace(_TECH, unprofitable=0.35)),
    Industry("Information Technology Services", "Information Technology", 0.08, ("Technologies", "Digital"),
             replace(_TECH, unprofitable=0.35, gross_margin=0.30)),
    Industry("Scientific & Technical Instruments", "Information Technology", 0.06, ("Instruments", "Sensors"),
             replace(_TECH, unprofitable=0.35)),
    Industry("Solar", "Information Technology", 0.04, ("Solar", "Renewables"),
             replace(_TECH, idio_vol=0.70, unprofitable=0.70, debt_to_equity=1.2, jumps_per_year=1.5)),
    Industry("Specialty Retail", "Consumer Discretionary", 0.14, ("Outfitters", "Stores", "Supply"),
             _DISCRETIONARY),
    Industry("Restaurants", "Consumer Discretionary", 0.12, ("Grill", "Kitchen", "Restaurants"),
             replace(_DISCRETIONARY, debt_to_equity=2.0)),
    Industry("Auto Parts", "Consumer Discretionary", 0.10, ("Automotive", "Motor Products"), _DISCRETIONARY),
    Industry("Residential Construction", "Consumer Discretionary", 0.08, ("Homes", "Communities"),
             replace(_DISCRETIONARY, unprofitable=0.10, debt_to_equity=0.45)),
    Industry("Leisure", "Consumer Discretionary", 0.08, ("Outdoors", "Recreation"), _DISCRETIONARY),
    Industry("Apparel Retail", "Consumer Discretionary", 0.08, ("Apparel", "Clothing"), _DISCRETIONARY),
    Industry("Furnishings, Fixtures & Appliances", "Consumer Discretionary", 0.08, ("Furniture", "Home"),
             _DISCRETIONARY),
    Industry("Gambling", "Consumer Discretionary", 0.07, ("Gaming", "Resorts"),
             replace(_DISCRETIONARY, debt_to_equity=2.0)),
    Industry("Footwear & Accessories", "Consumer Discretionary", 0.05, ("Footwear", "Boot"), _DISCRETIONARY),
    Industry("Auto & Truck Dealerships", "Consumer Discretionary", 0.05, ("Auto Group", "Motors"), _DISCRETIONARY),
    Industry("Travel Services", "Consumer Discretionary", 0.05, ("Travel", "Voyages"), _DISCRETIONARY),
    Industry("Personal Services", "Consumer Discretionary", 0.05, ("Wellness", "Learning"), _DISCRETIONARY),
    Industry("Internet Retail", "Consumer Discretionary", 0.05, ("Marketplace", "Direct"),
             replace(_DISCRETIONARY, unprofitable=0.55, idio_vol=0.60)),
    Industry("REIT - Retail", "Real Estate", 0.18, ("Retail Properties", "Realty"), _REAL_ESTATE),
    Industry("REIT - Office", "Real Estate", 0.14, ("Office Properties", "Office Trust"),
             replace(_REAL_ESTATE, unprofitable=0.50)),
    Industry("REIT - Residential", "Real Estate", 0.14, ("Residential", "Living"), _REAL_ESTATE),
    Industry("REIT - Industrial", "Real Estate", 0.10, ("Industrial Realty", "Logistics Properties"), _REAL_ESTATE),
    Industry("REIT - Healthcare Facilities", "Real Estate", 0.12, ("Healthcare Properties", "Senior Living"),
             _REAL_ESTATE),
    Industry("REIT - Diversified", "Real Estate", 0.12, ("Realty Trust", "Properties"), _REAL_ESTATE),
    Industry("REIT - Hotel & Motel", "Real Estate", 0.10, ("Hospitality Trust", "Lodging"), _REAL_ESTATE),
    Industry("Real Estate Services", "Real Estate", 0.10, ("Real Estate Services", "Realty Group"),
             replace(_REAL_ESTATE, payer_share=0.3, idio_vol=0.40)),
    Industry("Oil & Gas E&P", "Energy", 0.35, ("Energy", "Petroleum", "Resources"), _ENERGY),
    Industry("Oil & Gas Equipment & Services", "Energy", 0.30, ("Energy Services", "Drilling", "Oilfield Services"),
             _ENERGY),
    Industry("Oil & Gas Midstream", "Energy", 0.12, ("Midstream", "Pipeline"),
             replace(_ENERGY, payer_share=0.9, dividend_yield=0.06, debt_to_equity=1.3, unprofitable=0.2)),
    Industry("Oil & Gas Refining & Marketing", "Energy", 0.10, ("Refining", "Fuels"), _ENERGY),
    Industry("Uranium", "Energy", 0.06, ("Uranium", "Nuclear Fuels"),
             replace(_ENERGY, unprofitable=0.75, idio_vol=0.65, payer_share=0.0)),
    Industry("Thermal Coal", "Energy", 0.07, ("Coal", "Mining"), _ENERGY),
    Industry("Specialty Chemicals", "Materials", 0.25, ("Chemicals", "Coatings"), _MATERIALS),
    Industry("Gold", "Materials", 0.15, ("Gold", "Mining"),
             replace(_MATERIALS, idio_vol=0.50, unprofitable=0.55, payer_share=0.3)),
    Industry("Steel", "Materials", 0.10, ("Steel", "Metals"), _MATERIALS),
    Industry("Building Materials", "Materials", 0.10, ("Aggregates", "Cement"), _MATERIALS),
    Industry("Packaging & Containers", "Materials", 0.10, ("Packaging", "Containers"),
             replace(_MATERIALS, debt_to_equity=1.5, unprofitable=0.25)),
    Industry("Other Industrial Metals & Mining", "Materials", 0.12, ("Minerals", "Metals & Mining"),
             replace(_MATERIALS, idio_vol=0.60, unprofitable=0.75, payer_share=0.1)),
    Industry("Chemicals", "Materials", 0.10, ("Chemical", "Polymers"), _MATERIALS),
    Industry("Lumber & Wood Production", "Materials", 0.08, ("Timber", "Forest Products"), _MATERIALS),
    Industry("Utilities - Regulated Electric", "Utilities", 0.40, ("Power & Light", "Electric"), _UTILITY),
    Industry("Utilities - Regulated Gas", "Utilities", 0.25, ("Gas", "Natural Gas"), _UTILITY),
    Industry("Utilities - Regulated Water", "Utilities", 0.20, ("Water", "Water Works"), _UTILITY),
    Industry("Utilities - Renewable", "Utilities", 0.15, ("Renewables", "Clean Power"),
             replace(_UTILITY, unprofitable=0.35, idio_vol=0.40, payer_share=0.5)),
    Industry("Entertainment", "Communication", 0.20, ("Entertainment", "Studios"), _COMMUNICATION),
    Industry("Advertising Agencies", "Communication", 0.15, ("Media Group", "Marketing"), _COMMUNICATION),
    Industry("Internet Content & Information", "Communication", 0.20, ("Interactive", "Online"), _COMMUNICATION),
    Industry("Telecom Services", "Communication", 0.20, ("Telecom", "Fiber", "Broadband"),
             replace(_COMMUNICATION, debt_to_equity=1.8)),
    Industry("Publishing", "Communication", 0.08, ("Publishing", "Press"), _COMMUNICATION),
    Industry("Broadcasting", "Communication", 0.10, ("Broadcasting", "Television"),
             replace(_COMMUNICATION, debt_to_equity=2.0)),
    Industry("Electronic Gaming & Multimedia", "Communication", 0.07, ("Games", "Interactive Entertainment"),
             _COMMUNICATION),
    Industry("Packaged Foods", "Consumer Staples", 0.35, ("Foods", "Brands"), _STAPLES),
    Industry("Grocery Stores", "Consumer Staples", 0.12, ("Markets", "Grocers"), _STAPLES),
    Industry("Household & Personal Products", "Consumer Staples", 0.18, ("Home Products", "Beauty"), _STAPLES),
    Industry("Beverages - Non-Alcoholic", "Consumer Staples", 0.10, ("Beverage", "Springs"), _STAPLES),
    Industry("Farm Products", "Consumer Staples", 0.13, ("Farms", "Agriculture"), _STAPLES),
    Industry("Food Distribution", "Consumer Staples", 0.12, ("Food Distribution", "Provisions"), _STAPLES),
)

_NAME_FIRST = (
    "Harbor", "Cedar", "Summit", "Granite", "Prairie", "Willow", "Copper", "Silver", "Maple", "Aspen", "Beacon",
    "Bluewater", "Crescent", "Driftwood", "Eagle", "Falcon", "Golden", "Hawthorn", "Iron", "Juniper", "Keystone",
    "Lakeview", "Meadow", "Northgate", "Oak", "Pine", "Quarry", "Redwood", "Sage", "Stone", "Timber", "Union",
    "Westfield", "Alder", "Birch", "Canyon", "Elm", "Fairway", "Glacier", "Highland", "Indigo", "Jasper",
    "Kestrel", "Lantern", "Mesa", "Northstar", "Orchard", "Pioneer", "Quail", "Raven", "Sierra", "Tidewater",
    "Upland", "Vista", "Wren", "Yarrow", "Zephyr", "Anchor", "Bramble", "Cobalt", "Dune", "Ember", "Fern",
    "Heron", "Larch", "Marble", "Osprey", "Pebble", "Rowan", "Saddle", "Thistle", "Valor", "Whitford", "Amber",
    "Brighton", "Clearwater", "Dover", "Evergreen", "Foxhall", "Greystone",
)
_NAME_SECOND = (
    "Ridge", "Point", "Creek", "Hollow", "Bay", "Peak", "Valley", "Field", "Bridge", "Rock", "Brook", "Crest",
    "Lake", "Mill", "Haven", "Gate", "Park", "Shore", "Trail", "Springs", "Glen", "Landing", "Falls", "Forge",
    "Hill", "River", "Run", "Cove", "Bluff", "Pass", "Heights", "Grove",
)


def _largest_remainder(shares: Sequence[float], total: int) -> np.ndarray:
    """Split ``total`` into whole counts proportional to ``shares`` (ties: earlier entries win)."""
    quotas = np.asarray(shares, dtype=float) / float(np.sum(shares)) * total
    counts = np.floor(quotas).astype(int)
    order = sorted(range(len(quotas)), key=lambda j: (-(quotas[j] - counts[j]), j))
    for j in order[: total - int(counts.sum())]:
        counts[j] += 1
    return counts


def _industry_counts(n: int) -> np.ndarray:
    """Names per entry of :data:`INDUSTRIES`: sectors by IWM name counts, industries by share."""
    by_sector = dict(zip((s.name for s in SECTORS), _largest_remainder([s.names for s in SECTORS], n)))
    counts = np.zeros(len(INDUSTRIES), dtype=int)
    for sector in SECTORS:
        members = [j for j, ind in enumerate(INDUSTRIES) if ind.sector == sector.name]
        counts[members] = _largest_remainder([INDUSTRIES[j].share for j in members], by_sector[sector.name])
    return counts


def _company_names(industry_index: np.ndarray) -> list[str]:
    """Invented, unique names such as "Harbor Ridge Bancorp" or "Cedarbrook Therapeutics"."""
    rng = _rng(_STREAM_NAMES)
    used: set[str] = set()
    names = []
    for j in industry_index:
        suffixes = INDUSTRIES[j].suffixes
        for attempt in range(100):
            first = _NAME_FIRST[rng.integers(len(_NAME_FIRST))]
            second = _NAME_SECOND[rng.integers(len(_NAME_SECOND))]
            suffix = suffixes[rng.integers(len(suffixes))]
            style = rng.random()
            if style < 0.55:
                stem = f"{first} {second}"
            elif style < 0.8 and len(first) <= 6:
                stem = first + second.lower()
            else:
                stem = first
            name = f"{stem} {suffix}" if attempt < 99 else f"{stem} {suffix} {len(names)}"
            if name not in used:
                break
        used.add(name)
        names.append(name)
    return names


def _ticker_candidates(name: str) -> Iterator[str]:
    """Ticker spellings of a name, most natural first (initials, then longer word stems)."""
    words = ["".join(ch for ch in word if ch.isalpha()).upper() for word in name.split()]
    words = [w for w in words if w]
    head, rest = words[0], words[1:]
    initials = "".join(w[0] for w in words)
    forms = [initials, head[:2] + "".join(w[0] for w in rest), head[:3] + "".join(w[0] for w in rest[:1]),
             head[0] + "".join(w[:2] for w in rest[:1]) + "".join(w[0] for w in rest[1:2]),
             head[:4], head[:2] + "".join(w[:2] for w in rest[:1]), head[:3] + "".join(w[:2] for w in rest[-1:]),
             head[:5], head[:3] + "".join(w[0] for w in rest)]
    # Three or four letters read like most Russell 2000 symbols; two and five come last.
    for form in sorted(dict.fromkeys(f[:5] for f in forms), key=lambda f: (len(f) not in (3, 4), len(f))):
        if 2 <= len(form) <= 5:
            yield form


def _tickers(names: list[str]) -> list[str]:
    """Unique 2-5 letter symbols derived from the names, never IWM or SPY."""
    rng = _rng(_STREAM_NAMES, 1)
    used: set[str] = set(_RESERVED_TICKERS)
    tickers = []
    for name in names:
        ticker = next((c for c in _ticker_candidates(name) if c not in used), None)
        while ticker is None or ticker in used:
            ticker = "".join(chr(ord("A") + int(k)) for k in rng.integers(26, size=4))
        used.add(ticker)
        tickers.append(ticker)
    return tickers


# --- companies -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Companies:
    """Everything fixed about the constituents (independent of the as-of date)."""

    tickers: np.ndarray
    names: np.ndarray
    industry: np.ndarray  # index into INDUSTRIES
    sector: np.ndarray  # index into SECTORS
    quality: np.ndarray  # latent, never published
    unprofitable: np.ndarray
    market_cap0: np.ndarray  # at the epoch close: also the company's size band at reconstitutions
    price0: np.ndarray  # epoch close
    shares: np.ndarray  # at the epoch
    # daily return model
    beta: np.ndarray
    sector_loading: np.ndarray
    quality_loading: np.ndarray
    idio_sd: np.ndarray
    drift: np.ndarray
    jump_prob: np.ndarray
    jump_mean: np.ndarray
    jump_sd: np.ndarray
    earnings_phase: np.ndarray
    volume_level: np.ndarray  # median daily shares traded

    @property
    def size(self) -> int:
        return len(self.tickers)

    def profile(self, attribute: str) -> np.ndarray:
        return _per_company(self.industry, attribute)


def _per_company(industry: np.ndarray, attribute: str) -> np.ndarray:
    """One :class:`Profile` attribute per company, from its industry (None becomes NaN)."""
    values = [getattr(ind.profile, attribute) for ind in INDUSTRIES]
    return np.array([np.nan if v is None else v for v in values], dtype=float)[industry]


def _unprofitable_flags(industry: np.ndarray, quality: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Exactly round(rate * names) loss-makers per industry: the lowest profit scores.

    The score mixes latent quality with noise, so loss-makers are mostly, not only, junk.
    """
    score = 0.8 * quality + 0.6 * rng.standard_normal(len(quality))
    flags = np.zeros(len(quality), dtype=bool)
    for j, ind in enumerate(INDUSTRIES):
        members = np.flatnonzero(industry == j)
        losers = int(round(ind.profile.unprofitable * len(members)))
        flags[members[np.argsort(score[members], kind="stable")[:losers]]] = True
    return flags


def _market_caps(sector: np.ndarray, quality: np.ndarray) -> np.ndarray:
    """Lognormal caps around $1.1B, rescaled per sector to IWM's sector weights at the epoch."""
    rng = _rng(_STREAM_CAPS)
    caps = 1.1e9 * np.exp(0.9 * rng.standard_normal(len(sector)) + 0.15 * quality)
    present = np.unique(sector)
    targets = np.array([SECTORS[s].weight for s in present])
    targets = targets / targets.sum() * caps.sum()
    for s, target in zip(present, targets):
        caps[sector == s] *= target / caps[sector == s].sum()
    return np.clip(caps, 1.5e8, 1.5e10)


def _build_companies(n: int) -> _Companies:
    """The ``n`` constituents: identity, latent quality, size and return-model parameters."""
    counts = _industry_counts(n)
    industry = np.repeat(np.arange(len(INDUSTRIES)), counts)
    sector_of_industry = np.array([[s.name for s in SECTORS].index(ind.sector) for ind in INDUSTRIES])
    sector = sector_of_industry[industry]
    latent = _rng(_STREAM_LATENT)
    quality = latent.standard_normal(n)
    unprofitable = _unprofitable_flags(industry, quality, latent)
    names = _company_names(industry)
    tickers = _tickers(names)
    caps = _market_caps(sector, quality)

    rng = _rng(_STREAM_PRICE_PARAMS)
    z = rng.standard_normal((6, n))
    price0 = np.clip(18.0 * np.exp(0.8 * z[0] + 0.2 * quality) * (caps / 1.1e9) ** 0.2, 2.0, 400.0)
    table = {attr: _per_company(industry, attr)
             for attr in ("beta", "idio_vol", "jumps_per_year", "jump_mean", "jump_sd")}
    beta = np.clip(table["beta"] * np.exp(0.25 * z[1]) - 0.08 * quality, 0.15, 2.8)
    idio_vol = np.clip(table["idio_vol"] * np.exp(0.35 * z[2] - 0.12 * quality), 0.12, 1.1)
    idio_sd = idio_vol / np.sqrt(_TRADING_DAYS)
    jump_prob = table["jumps_per_year"] / _TRADING_DAYS
    # Weak, noisy link from quality to drift (plus the quality factor's premium below).
    alpha = 0.09 * (0.7 * quality + 0.7 * z[3]) / _TRADING_DAYS
    # Convexity corrections: volatility and jumps shape the distribution of returns, not
    # their expected (arithmetic) value, so junk is not doomed, or favoured, by variance alone.
    idio_variance = idio_sd**2 * (1 + (_EARNINGS_SHOCK**2 - 1) / EARNINGS_CYCLE)
    jump_compensation = jump_prob * (np.exp(table["jump_mean"] + 0.5 * table["jump_sd"] ** 2) - 1)
    turnover = 0.008 * np.exp(0.55 * z[4] - 0.15 * quality + 0.4 * (table["idio_vol"] > 0.6))
    return _Companies(
        tickers=np.array(tickers, dtype=object), names=np.array(names, dtype=object), industry=industry,
        sector=sector, quality=quality, unprofitable=unprofitable, market_cap0=caps, price0=price0,
        shares=caps / price0, beta=beta, sector_loading=np.clip(1.0 + 0.25 * z[5], 0.3, 1.8),
        quality_loading=0.6 * quality, idio_sd=idio_sd,
        drift=alpha - 0.5 * idio_variance - jump_compensation, jump_prob=jump_prob, jump_mean=table["jump_mean"],
        jump_sd=table["jump_sd"], earnings_phase=rng.integers(EARNINGS_CYCLE, size=n),
        volume_level=turnover * caps / price0,
    )


# --- prices --------------------------------------------------------------------------

_MARKET_VOL = 0.0125  # daily; with betas ~1.1 gives IWM ~22% a year
_MARKET_DRIFT = 0.06 / _TRADING_DAYS
_QUALITY_FACTOR_VOL = 0.003
_QUALITY_FACTOR_DRIFT = 0.03 / _TRADING_DAYS
_SPY_DRIFT = 0.09 / _TRADING_DAYS
_SPY_MARKET_LOADING = 0.62
_SPY_OWN_VOL = 0.0055
_IWM_START, _SPY_START = 220.0, 600.0
_IWM_VOLUME, _SPY_VOLUME = 35e6, 70e6
#: Below $1 a name gets an upward drift (up to 0.4% a day, at $0.37 and below), as
#: financings, reverse splits and index deletions keep real constituents out of penny
#: territory; without it the volatility drag of the riskiest biotechs would walk a few of
#: them down to a cent.  Capped, so a crashed name recovers slowly instead of rocketing.
_PENNY_LOG_PRICE, _PENNY_PULL = 0.0, 0.004


@dataclass
class _Block:
    """Shocks of 21 consecutive sessions (ordinals ``first .. first+20``) for every name."""

    first: int
    returns: np.ndarray  # sessions x (n constituents + SPY), log returns
    idio_size: np.ndarray  # |idiosyncratic shock| in units of its sd, drives volume
    event: np.ndarray  # earnings day or jump: volume multiplies
    market: np.ndarray  # market factor, drives benchmark volume


def _block(companies: _Companies, index: int) -> _Block:
    """The shocks of block ``index`` (sessions ``21*index ..``), a pure function of the block."""
    n, size = companies.size, BLOCK_SESSIONS
    key = index
    factors = _rng(_STREAM_FACTORS, key)
    regime = float(np.exp(0.25 * factors.standard_normal() - 0.03))
    common = factors.standard_normal((size, 3 + len(SECTORS)))
    market = _MARKET_DRIFT + _MARKET_VOL * regime * common[:, 0]
    quality_factor = _QUALITY_FACTOR_DRIFT + _QUALITY_FACTOR_VOL * common[:, 1]
    spy = _SPY_DRIFT + _SPY_MARKET_LOADING * (market - _MARKET_DRIFT) + _SPY_OWN_VOL * common[:, 2]
    sector_vol = np.array([s.factor_vol for s in SECTORS])
    sectors = sector_vol * regime * common[:, 3:]

    idio = _rng(_STREAM_IDIO, key).standard_t(4, (size, n)) / np.sqrt(2.0)
    ordinals = index * size + np.arange(size)
    earnings = (ordinals[:, None] - companies.earnings_phase[None, :]) % EARNINGS_CYCLE == 0
    idio = idio * np.where(earnings, _EARNINGS_SHOCK, 1.0) * (0.8 + 0.2 * regime)
    jumps_rng = _rng(_STREAM_JUMPS, key)
    jumped = jumps_rng.random((size, n)) < companies.jump_prob
    jump = np.where(jumped, companies.jump_mean + companies.jump_sd * jumps_rng.standard_normal((size, n)), 0.0)

    returns = (companies.drift + companies.beta * market[:, None]
               + companies.sector_loading * sectors[:, companies.sector]
               + companies.quality_loading * quality_factor[:, None]
               + companies.idio_sd * idio + jump)
    return _Block(first=index * size, returns=np.column_stack([returns, spy]),
                  idio_size=np.abs(idio), event=earnings | jumped, market=market)


def _log_price_walk(companies: _Companies, block_at: Callable[[int], _Block], keep: set[int],
                    last: int) -> dict[int, np.ndarray]:
    """Log prices (constituents, then SPY) at the ordinals in ``keep``, walking forward from the epoch.

    Each session's value is the epoch price plus the same sequence of additions whatever
    the as-of date, so two as-of dates share their history to the last bit, and nothing
    about a session depends on anything later (no look-ahead anywhere in the panel).
    Only the rows asked for are kept, so a late as-of date costs time, not memory.
    """
    log_price = np.log(np.append(companies.price0, _SPY_START))
    rows = {0: log_price} if 0 in keep else {}
    for index in range(0, last // BLOCK_SESSIONS + 1):
        block = block_at(index)
        # The epoch is the start: its own shocks are unused.
        for ordinal in range(max(block.first, 1), min(block.first + BLOCK_SESSIONS, last + 1)):
            penny_pull = _PENNY_PULL * np.clip(_PENNY_LOG_PRICE - log_price, 0.0, 1.0)
            penny_pull[-1] = 0.0  # SPY
            log_price = log_price + block.returns[ordinal - block.first] + penny_pull
            if ordinal in keep:
                rows[ordinal] = log_price
    return rows


def _reconstitution_sessions(first: dt.date, last: dt.date) -> list[dt.date]:
    """Russell reconstitution days between two dates: the last Friday of June (or the session before)."""
    days = []
    for year in range(first.year, last.year + 1):
        day = last_session_on_or_before(_nth_weekday(year, 6, 4, -1))
        if first <= day <= last:
            days.append(day)
    return days


def _reconstitute(companies: _Companies, shares: np.ndarray, close: np.ndarray) -> np.ndarray:
    """New share counts after a reconstitution, from that day's closes only.

    Each cap moves halfway (in logs) back to the company's own size band, each sector is
    scaled back to its IWM weight and the total back to the band's total, so caps and
    sector weights stay small-cap-like year after year (the index divisor absorbs the
    change).  Using only the closes of the day keeps the index free of look-ahead:
    weights never know the future.
    """
    caps = np.exp(0.5 * np.log(shares * close) + 0.5 * np.log(companies.market_cap0))
    present = np.unique(companies.sector)
    weights = np.array([SECTORS[s].weight for s in present])
    for s, weight in zip(present, weights / weights.sum()):
        members = companies.sector == s
        caps[members] *= weight * companies.market_cap0.sum() / caps[members].sum()
    return caps / close


def _bars(companies: _Companies, block_at: Callable[[int], _Block], closes: np.ndarray, first: int,
          last: int) -> dict[str, np.ndarray]:
    """Open/high/low/volume for sessions ``first+1 .. last`` given closes of ``first .. last``.

    ``closes`` has the constituents then IWM then SPY as columns.  Bars use their own
    per-block stream, so they too are a pure function of the session.
    """
    n = companies.size
    sessions = last - first
    draws = np.empty((sessions, n + 2, 5))
    idio_size = np.empty((sessions, n))
    event = np.empty((sessions, n), dtype=bool)
    market = np.empty(sessions)
    for row, ordinal in enumerate(range(first + 1, last + 1)):
        index, offset = divmod(ordinal, BLOCK_SESSIONS)
        block = block_at(index)
        idio_size[row], event[row], market[row] = block.idio_size[offset], block.event[offset], block.market[offset]
    for index in range((first + 1) // BLOCK_SESSIONS, last // BLOCK_SESSIONS + 1):
        block_draws = _rng(_STREAM_BARS, index).standard_normal((BLOCK_SESSIONS, n + 2, 5))
        ordinals = index * BLOCK_SESSIONS + np.arange(BLOCK_SESSIONS)
        take = (ordinals >= first + 1) & (ordinals <= last)
        draws[ordinals[take] - first - 1] = block_draws[take]

    previous, close = closes[:-1], closes[1:]
    log_return = np.log(close / previous)
    daily_sd = np.concatenate([np.sqrt(companies.idio_sd**2 + (companies.beta * _MARKET_VOL) ** 2),
                               [0.013, 0.009]])
    opening = previous * np.exp(0.35 * log_return + 0.3 * daily_sd * draws[:, :, 0])
    high = np.maximum(opening, close) * np.exp(0.6 * daily_sd * np.abs(draws[:, :, 1]))
    low = np.minimum(opening, close) * np.exp(-0.6 * daily_sd * np.abs(draws[:, :, 2]))

    surge = draws[:, :n, 4] > 2.33  # about 1% of name-days: news nobody modelled
    market_activity = 0.12 * draws[:, n, 4] + 8.0 * np.abs(market)  # busy days lift every name
    # The move's size lifts volume, capped at 8 sd: a fat-tailed jump would otherwise
    # print a 500x "surge" where real news days reach tens of times the average.
    move = 0.35 * (np.minimum(idio_size, 8.0) - 0.75)
    log_volume = (np.log(companies.volume_level) + 0.28 * draws[:, :n, 3] + move
                  + market_activity[:, None] + np.where(event, 1.0, 0.0) + np.where(surge, 1.1, 0.0))
    benchmark_volume = np.log([_IWM_VOLUME, _SPY_VOLUME]) + 0.25 * draws[:, n:, 3] + 12.0 * np.abs(market)[:, None]
    volume = np.exp(np.column_stack([log_volume, benchmark_volume]))
    return {"open": opening, "high": high, "low": low, "volume": np.round(volume).astype(np.int64)}


def _index_level(prices: np.ndarray, shares: np.ndarray, divisor: np.ndarray) -> np.ndarray:
    """IWM: the constituents' total market cap over the divisor of each row's period.

    Between reconstitutions the daily return is the index-weight-weighted mean of the
    constituents' returns.  A plain row sum (not BLAS) so equal inputs give equal bits.
    """
    return np.sum(prices * shares, axis=1) / divisor


def _round_prices(values: np.ndarray) -> np.ndarray:
    """Cents-and-a-bit precision like Yahoo's, never below a cent (rounding keeps the order)."""
    return np.maximum(np.round(values, 4), _MIN_PRICE)


def _simulate(companies: _Companies, first: int, last: int,
              reconstitutions: Sequence[int]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Bars for sessions ``first .. last`` (sessions x (constituents, IWM, SPY)) and the share counts.

    ``reconstitutions`` are the ordinals (<= ``last``) after whose close share counts are
    reset; the share counts returned are those in force after the close of ``last``.
    """
    window_blocks: dict[int, _Block] = {}  # kept for the bars; earlier blocks are dropped

    def block_at(index: int) -> _Block:
        if index in window_blocks:
            return window_blocks[index]
        block = _block(companies, index)
        if (first - 1) // BLOCK_SESSIONS <= index <= last // BLOCK_SESSIONS:
            window_blocks[index] = block
        return block

    window = range(first - 1, last + 1)
    rows = _log_price_walk(companies, block_at, set(window) | set(reconstitutions), last)
    closes = {o: _round_prices(np.exp(row)) for o, row in rows.items()}

    # Share counts and divisor in force during each window session: those set after the
    # close of the last reconstitution before it.  The divisor keeps the level continuous.
    shares, divisor = companies.shares, companies.market_cap0.sum() / _IWM_START
    in_force, divisors = np.empty((len(window), companies.size)), np.empty(len(window))
    pending = sorted(reconstitutions)

    def reconstitute() -> tuple[np.ndarray, float]:
        close = closes[pending.pop(0)][:-1]
        new_shares = _reconstitute(companies, shares, close)
        return new_shares, divisor * float(np.sum(close * new_shares)) / float(np.sum(close * shares))

    for row, ordinal in enumerate(window):
        while pending and pending[0] < ordinal:
            shares, divisor = reconstitute()
        in_force[row], divisors[row] = shares, divisor
    while pending:
        shares, divisor = reconstitute()

    panel = np.vstack([closes[o] for o in window])
    constituents, spy = panel[:, :-1], panel[:, -1:]
    iwm = _round_prices(_index_level(constituents, in_force, divisors))
    all_closes = np.column_stack([constituents, iwm, spy])
    bars = _bars(companies, block_at, all_closes, first - 1, last)
    constituent_opens = _round_prices(bars["open"][:, :-2])
    iwm_open = _round_prices(_index_level(constituent_opens, in_force[1:], divisors[1:]))
    opening = np.column_stack([constituent_opens, iwm_open, _round_prices(bars["open"][:, -1])])
    close = all_closes[1:]
    high = np.maximum(_round_prices(bars["high"]), np.maximum(opening, close))
    low = np.minimum(_round_prices(bars["low"]), np.minimum(opening, close))
    return {"open": opening, "high": high, "low": low, "close": close, "volume": bars["volume"]}, shares


def _prices_frame(tickers: np.ndarray, dates: np.ndarray, bars: dict[str, np.ndarray]) -> pd.DataFrame:
    """Long frame (PRICES_SCHEMA columns), sorted by ticker then date."""
    order = np.argsort(tickers, kind="stable")
    sessions = len(dates)
    frame = pd.DataFrame({
        "date": np.tile(dates.astype("datetime64[ns]"), len(tickers)),
        "ticker": np.repeat(tickers[order], sessions),
    })
    for column in ("open", "high", "low", "close", "volume"):
        frame[column] = bars[column][:, order].T.reshape(-1)
    return frame


# --- fundamentals ----------------------------------------------------------------------


def _fundamentals(companies: _Companies, report_price: np.ndarray, close: np.ndarray, shares: np.ndarray,
                  as_of: dt.date) -> pd.DataFrame:
    """Catalog-unit fundamentals of the as-of session.

    Ratios (margins, growth, leverage, ...) are fixed per company.  Per-share items (EPS,
    book value, dividend) are set at ``report_price``, the close of the company's latest
    earnings day, from fixed valuation multiples; so P/E, P/B and yield drift with the
    price between reports and snap back at each report, as they do on Yahoo.
    """
    rng = _rng(_STREAM_FUNDAMENTALS)
    n, q, loss = companies.size, companies.quality, companies.unprofitable
    z = rng.standard_normal((17, n))
    u = rng.random((8, n))
    profile = companies.profile
    industry_names = np.array([ind.name for ind in INDUSTRIES], dtype=object)[companies.industry]
    bank = np.isfinite(profile("leverage"))  # only banks state assets/equity instead of debt/equity
    biotech = industry_names == "Biotechnology"

    margin_gain = profile("net_margin") * np.exp(0.5 * z[0] + 0.25 * q)
    margin_loss = -profile("loss_margin") * np.exp(1.0 * z[0] - 0.3 * q)
    profit_margin = np.where(loss, np.clip(margin_loss, -900.0, -0.002), np.clip(margin_gain, 0.002, 0.95))
    operating_margin = np.clip(np.where(loss, profit_margin * (1.0 + 0.1 * z[1]),
                                        profit_margin * (1.3 + 0.15 * z[1]) + 0.01), -900.0, 0.97)
    gross_margin = np.clip(profile("gross_margin") + 0.07 * q + 0.10 * z[2], 0.02, 0.98)
    gross_margin[u[0] < profile("gross_margin_missing")] = np.nan

    roa = np.clip(profit_margin * profile("asset_turnover") * np.exp(0.3 * z[3]), -0.95, 0.45)
    low_debt = u[1] < 0.08  # next to no debt at all
    debt_to_equity = np.where(low_debt, np.exp(np.log(0.03) + 0.8 * z[4]),
                              profile("debt_to_equity") * np.exp(1.0 * z[4] - 0.35 * q))
    negative_equity = ~bank & (u[2] < 0.03 * np.exp(-0.5 * q))
    debt_to_equity = np.where(negative_equity, -np.exp(np.log(1.5) + 0.9 * z[5]), debt_to_equity)
    debt_to_equity = np.where(bank, np.where(u[1] < 0.15, 0.7 * np.exp(0.5 * z[4]), np.nan), debt_to_equity)
    leverage = np.where(bank, profile("leverage") * np.exp(0.15 * z[6]), 1.3 + 0.9 * np.abs(debt_to_equity))
    roe = np.where(negative_equity, np.nan, np.clip(roa * leverage, -5.0, 5.0))
    current_ratio = np.where(bank | (u[3] < 0.02), np.nan,
                             profile("current_ratio") * np.exp(0.5 * z[7] + 0.2 * q))

    revenue_growth = np.clip(0.07 + 0.05 * q + profile("growth_scale") * rng.standard_t(3, n) / np.sqrt(3.0),
                             -0.9, 40.0)
    revenue_growth[u[4] < 0.06] = np.nan
    earnings_growth = np.clip(0.12 + 0.12 * q + 0.35 * rng.standard_t(3, n), -0.99, 80.0)
    earnings_growth[u[5] < np.where(loss, 0.9, 0.25)] = np.nan

    pe0 = np.clip(np.exp(np.log(17.0) + 0.55 * z[8] - 0.1 * q), 4.0, 400.0)
    loss_per_share = np.clip(report_price * np.exp(np.log(0.12) + 0.9 * z[9]), 0.01, 3 * report_price)
    eps = np.where(loss, -loss_per_share, report_price / pe0)
    eps = np.sign(eps) * np.maximum(np.round(np.abs(eps), 2), 0.01)
    turning_profitable = loss & (u[6] < 0.15)
    forward_eps = np.where(loss, eps * (0.75 + 0.2 * z[10]), eps * np.exp(0.10 + 0.05 * q + 0.25 * z[10]))
    forward_eps = np.where(turning_profitable, 0.02 * report_price * np.exp(0.5 * z[11]), forward_eps)
    forward_eps = np.round(forward_eps, 2)
    forward_known = (np.abs(forward_eps) >= 0.01) & (u[7] >= 0.04)

    price_to_book0 = np.where(negative_equity, -np.exp(np.log(4.0) + 0.7 * z[12]),
                              profile("price_to_book") * np.exp(0.55 * z[12] + 0.25 * q))
    book_per_share = report_price / price_to_book0
    pays = ~loss & (u[6] < profile("payer_share") * np.clip(1.0 + 0.3 * q, 0.3, 1.6))
    dividend_per_share = np.where(pays, report_price * profile("dividend_yield") * np.exp(0.4 * z[13]), np.nan)

    reported_beta = np.where(u[2] > 0.96, np.nan, companies.beta + 0.12 * z[14])
    insider_pct = np.clip(np.exp(np.log(0.05) + 1.15 * z[15]), 0.0005, 0.9)
    short_pct = np.clip(np.exp(np.log(0.07) - 0.15 * q + 0.45 * biotech + 0.6 * z[16]), 0.002, 0.8)
    short_pct[u[3] > 0.99] = np.nan

    market_cap = shares * close
    with np.errstate(divide="ignore", invalid="ignore"):
        pe_forward = np.where(forward_known, np.clip(close / forward_eps, -5000.0, 5000.0), np.nan)
    frame = pd.DataFrame({
        "ticker": companies.tickers,
        "name": companies.names,
        "sector": np.array([SECTORS[s].name for s in companies.sector], dtype=object),
        "industry": np.array([INDUSTRIES[j].name for j in companies.industry], dtype=object),
        "market_cap": np.round(market_cap),
        "earnings_growth": np.round(earnings_growth, 4),
        "revenue_growth": np.round(revenue_growth, 4),
        "debt_to_equity": np.round(debt_to_equity, 5),
        "current_ratio": np.round(current_ratio, 3),
        "eps_ttm": eps,
        "profit_margin": np.round(profit_margin, 5),
        "gross_margin": np.round(gross_margin, 5),
        "operating_margin": np.round(operating_margin, 5),
        "roe": np.round(roe, 5),
        "roa": np.round(roa, 5),
        "pe_trailing": np.where(eps > 0, np.round(close / eps, 2), np.nan),
        "pe_forward": np.round(pe_forward, 2),
        "price_to_book": np.round(close / book_per_share, 3),
        "dividend_yield": np.round(np.clip(dividend_per_share / close, 0.0, 0.25), 5),
        "insider_pct_held": np.round(insider_pct, 5),
        "short_pct_float": np.round(short_pct, 5),
        "beta": np.round(reported_beta, 3),
    })
    frame = pd.concat([frame, _insiders(companies, insider_pct, shares)], axis=1)
    expected = ["ticker", *(f.name for f in INFO_FIELDS), *INSIDER_FIELDS]
    frame = frame[expected]
    frame["fundamentals_as_of"] = as_of
    frame["stale"] = False
    return frame


def _insiders(companies: _Companies, insider_pct: np.ndarray, shares: np.ndarray) -> pd.DataFrame:
    """Six months of insider activity as yfinance's ``insider_purchases`` summarises it.

    About a fifth of names are net buyers (a little more often the better companies),
    some had no transactions (zeros, as Yahoo reports them) and a few have no data.
    """
    rng = _rng(_STREAM_INSIDERS)
    n, q = companies.size, companies.quality
    u = rng.random((2, n))
    z = rng.standard_normal(n)
    reported = u[0] >= 0.06
    buyer = reported & (u[1] < np.clip(0.22 + 0.06 * q, 0.05, 0.5))
    idle = reported & ~buyer & (u[1] > 0.92)
    seller = reported & ~buyer & ~idle
    buys = np.where(buyer, 1 + rng.poisson(2.0, n), np.where(seller, rng.poisson(1.2, n), 0))
    sells = np.where(buyer, rng.poisson(1.0, n), np.where(seller, 1 + rng.poisson(3.0, n), 0))
    net = np.where(buyer, np.exp(np.log(15_000) + 1.3 * z), np.where(seller, -np.exp(np.log(25_000) + 1.4 * z), 0.0))
    net = np.round(net)
    net = np.where(buyer, np.maximum(net, 100.0), np.where(seller, np.minimum(net, -100.0), 0.0))
    insider_shares = insider_pct * shares
    net_pct = np.clip(net / insider_shares, -1.0, 10.0)
    frame = pd.DataFrame({
        "insider_buys_6m": pd.array(np.where(reported, buys, 0), dtype="Int64"),
        "insider_sells_6m": pd.array(np.where(reported, sells, 0), dtype="Int64"),
        "insider_net_shares_6m": net,
        "insider_net_pct_6m": np.round(net_pct, 4),
    })
    frame.loc[~reported, :] = pd.NA
    return frame


# --- entry point -----------------------------------------------------------------------


def _requested_day(as_of: dt.date | None) -> dt.date:
    day = dt.date.today() if as_of is None else as_of
    return day.date() if isinstance(day, dt.datetime) else day


def load_demo(as_of: dt.date | None = None, n_tickers: int = 2000,
              progress: Progress = no_progress) -> MarketData:
    """The synthetic market for the session ``as_of`` (rolled back to a session if needed).

    ``as_of=None`` takes the newest session on or before today (tests always pass a date).
    The same ``as_of`` and ``n_tickers`` give identical frames; two as-of dates share
    their common history.  Returns ``HISTORY_SESSIONS`` sessions of bars for
    ``n_tickers`` constituents plus IWM and SPY, and one fundamentals row per constituent.
    """
    if not 1 <= n_tickers <= MAX_TICKERS:
        raise ValueError(f"n_tickers must be between 1 and {MAX_TICKERS}, got {n_tickers}")
    requested = _requested_day(as_of)
    session = last_session_on_or_before(requested)
    last = _session_ordinal(session)
    first = last - HISTORY_SESSIONS + 1
    holidays = _holidays_around(session, EPOCH)
    if first < 1:
        earliest = _session_dates(HISTORY_SESSIONS, HISTORY_SESSIONS, holidays)[0].astype(object)
        raise ValueError(f"the demo market starts on {EPOCH.isoformat()}; the first as-of date with "
                         f"{HISTORY_SESSIONS} sessions of history is {earliest.isoformat()}, got {requested}")
    steps = 4
    progress(0, steps, "demo: building companies")
    companies = _build_companies(n_tickers)
    dates = _session_dates(first, last, holidays)
    reconstitutions = [_session_ordinal(day) for day in _reconstitution_sessions(EPOCH, session)]
    progress(1, steps, "demo: simulating prices")
    bars, shares = _simulate(companies, first, last, reconstitutions)
    tickers = np.append(companies.tickers, list(BENCHMARKS)).astype(object)
    progress(2, steps, "demo: assembling prices")
    prices = _prices_frame(tickers, dates, bars)
    progress(3, steps, "demo: fundamentals")
    closes = bars["close"][:, : companies.size]
    last_report = last - (last - companies.earnings_phase) % EARNINGS_CYCLE  # ordinal of the latest earnings day
    report_price = closes[last_report - first, np.arange(companies.size)]
    fundamentals = _fundamentals(companies, report_price, closes[-1], shares, session)
    universe = pd.DataFrame({
        "ticker": fundamentals["ticker"],
        "name": fundamentals["name"],
        "sector": fundamentals["sector"],
        "index_weight": fundamentals["market_cap"] / fundamentals["market_cap"].sum(),
    })
    progress(4, steps, "demo: done")
    notes = [DEMO_NOTE]
    if session != requested:
        notes.append(f"{requested.isoformat()} is not a trading session; using {session.isoformat()}")
    return MarketData(
        source="demo", universe=universe, prices=prices, fundamentals=fundamentals, notes=notes,
        stats={"tickers": n_tickers, "sessions": HISTORY_SESSIONS, "as_of": session.isoformat(),
               "seed": DEMO_SEED, "epoch": EPOCH.isoformat()},
    )
