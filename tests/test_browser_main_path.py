"""The main path in a real browser, as a person walks it (issue 4's CI browser test).

Headless Debian Chromium, driven by Playwright, against ``streamlit run app.py`` on
loopback over a private copy of the demo snapshot: open the Overview, go to the
Screener, pick a preset, read the match count, download the CSV, narrow the screen,
save it as a preset (name + description), reload, check the picker, then open the
copied address in a fresh browser context and find the same screen.  Each page is
kept as a PNG under ``artifacts/screenshots/`` (and the failing state, on failure).

Every expected number comes from pandas on the snapshot's ``stocks.parquet``, with the
preset's filters written out here by hand (not read from ``screener.presets``).
"""

from __future__ import annotations

import json
import re
import shutil
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest

from tests.support.browser import (
    VIEWPORT, choose_option, go_via_sidebar, launch_chromium, listed_options, open_app, save_screenshot,
    screenshot_on_failure, settle, wait_for_title, wait_for_url,
)
from tests.support.server import serve_app

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

PRESET_LABEL = "Insider buying with momentum · built-in"
#: The built-in preset's English sentence, as the Screener should print it.
PRESET_SENTENCE = ("Insider buying, insider buys (6m) ≥ 2, RS rating ≥ 70 and above SMA 50; "
                   "sorted by insider net % (6m) (highest first)")
#: Default result columns: ticker, name, sector, market cap, then every filtered and sorted field.
PRESET_COLUMNS = ["ticker", "name", "sector", "market_cap", "insider_buying", "insider_buys_6m", "rs_rating",
                  "above_sma_50", "insider_net_pct_6m"]
SECTORS = ("Financials", "Industrials")
ROW_LIMIT = 200  # the Screener's default "Rows": the CSV holds the rows shown
#: The saved screen's sentence: the preset's filters, then the sector pick the walk adds.
SAVED_SENTENCE = ("Insider buying, insider buys (6m) ≥ 2, RS rating ≥ 70, above SMA 50 and sector is one of "
                  "(Financials, Industrials); sorted by insider net % (6m) (highest first)")
SAVED_NAME = "My insider picks"
SAVED_DESCRIPTION = "Insider buying with momentum in financials and industrials, for Monday"


# --- the expected answers, computed here with plain pandas ------------------------------


def _true(column: pd.Series) -> pd.Series:
    """A nullable boolean column as plain bools, missing counting as false (as a filter reads it)."""
    return column.astype("boolean").fillna(False).astype(bool)


def insider_momentum(stocks: pd.DataFrame) -> pd.DataFrame:
    """The built-in "Insider buying with momentum" by hand: insider buying, at least two insider
    buys in six months, RS rating 70+, above the 50-day SMA; highest insider net % first
    (missing last), then ticker."""
    keep = (_true(stocks["insider_buying"]) & (stocks["insider_buys_6m"] >= 2).fillna(False)
            & (stocks["rs_rating"] >= 70).fillna(False) & _true(stocks["above_sma_50"]))
    return stocks[keep].sort_values(["insider_net_pct_6m", "ticker"], ascending=[False, True], na_position="last")


def headline(count: int, total: int) -> str:
    return f"{count:,} of {total:,} stocks {'matches' if count == 1 else 'match'}"


# --- reading the Screener as a person sees it ---------------------------------------------


def shown_headline(page: Page) -> str:
    return page.locator('[data-testid="stMain"] h3', has_text="stocks match").first.inner_text().strip()


def wait_for_headline(page: Page, text: str) -> None:
    """Wait for the match headline to read ``text``, then for the run to finish drawing."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.locator('[data-testid="stMain"] h3', has_text=text).first.wait_for(timeout=30_000)
    except PlaywrightTimeout:
        raise AssertionError(f"the Screener never said {text!r}; it says {shown_headline(page)!r}") from None
    settle(page)


def shown_sentence(page: Page) -> str:
    """The English sentence printed right under the match headline."""
    return page.locator(
        "xpath=//div[@data-testid='stElementContainer'][.//h3[contains(., 'stocks match')]]"
        "/following-sibling::div[@data-testid='stElementContainer'][1]").inner_text().strip()


def screen_widgets(page: Page) -> dict[str, object]:
    """Every widget that mirrors the screen, as the page shows it."""
    rows = page.locator('[data-testid="stHorizontalBlock"]').filter(
        has=page.locator('[class*="st-key-scr-row-"][class*="-rm"]'))
    filter_rows = []
    for row in rows.all():
        editor = row.locator("input")
        filter_rows.append((row.locator('[data-testid="stMarkdownContainer"]').first.inner_text().strip(),
                            editor.first.input_value() if editor.count() else None))
    return {
        "sectors": page.locator(".st-key-scr-pick-sector [data-tag]").evaluate_all(
            "tags => tags.map(tag => tag.getAttribute('aria-label'))"),
        "industries": page.locator(".st-key-scr-pick-industry [data-tag]").count(),
        "filter_rows": filter_rows,
        "sort": page.get_by_role("combobox", name="Sort by", exact=True).input_value(),
        "highest_first": page.get_by_role("switch", name="Highest first").is_checked(),
        "columns": page.locator(".st-key-scr-columns [data-tag]").evaluate_all(
            "tags => tags.map(tag => tag.getAttribute('aria-label'))"),
        "rows": page.locator(".st-key-scr-limit input").input_value(),
    }


def keep_screenshot(page: Page, name: str) -> None:
    """Save the page as ``artifacts/screenshots/<name>.png`` once it shows no Python exception."""
    errors = page.locator('[data-testid="stException"]')
    assert errors.count() == 0, f"{name}: the page shows an exception: {errors.first.inner_text()[:500]}"
    save_screenshot(page, name)


def pick_sector(page: Page, sector: str, expected_headline: str) -> None:
    """Add ``sector`` in the Sectors picker and wait for the screen to rerun with it."""
    choose_option(page, "Sectors", sector)
    page.keyboard.press("Escape")  # a multiselect keeps its list open for more picks
    wait_for_url(page, lambda url: any(token.startswith("sector:in:") and sector in token
                                       for token in parse_qs(urlsplit(url).query).get("f", [])))
    wait_for_headline(page, expected_headline)


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory, demo_data_dir, chromium_ready):
    """``streamlit run app.py`` on a private copy of the demo data (saving presets stays here)."""
    root = tmp_path_factory.mktemp("main-path")
    data_dir = root / "data"
    shutil.copytree(demo_data_dir, data_dir)
    env = {"SCREENER_PRESETS_READONLY": "0"}
    with serve_app(data_dir, env=env, log=root / "streamlit.log") as (base, _):
        yield base, data_dir


@pytest.fixture(scope="module")
def browser(chromium_ready):
    with launch_chromium() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def stocks(served) -> pd.DataFrame:
    _, data_dir = served
    (path,) = data_dir.glob("snapshots/date=*/stocks.parquet")
    return pd.read_parquet(path)


# --- the walk -----------------------------------------------------------------------------------


def test_main_path_preset_count_csv_save_reload_and_shared_link(served, browser, stocks, tmp_path):
    base, data_dir = served
    total = len(stocks)
    want = insider_momentum(stocks)
    assert 0 < len(want) < ROW_LIMIT, "the demo snapshot should give this preset a non-empty list under the row limit"
    narrowed = want[want["sector"].isin(SECTORS)]
    assert 0 < len(narrowed) < len(want)

    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    page = context.new_page()
    with screenshot_on_failure(page, "main-path"):
        # Overview, then the Screener through the sidebar
        open_app(page, base + "/", "Overview")
        page.get_by_role("heading", name="Biggest volume surges today").wait_for()
        keep_screenshot(page, "main-path-01-overview")
        go_via_sidebar(page, "Screener")
        wait_for_headline(page, headline(total, total))

        # the preset picker: the count, the sentence and the address bar follow
        choose_option(page, "Preset", PRESET_LABEL)
        url = wait_for_url(page, lambda u: parse_qs(urlsplit(u).query).get("preset") == ["insider-momentum"])
        wait_for_headline(page, headline(len(want), total))
        assert shown_headline(page) == headline(len(want), total)
        assert shown_sentence(page) == PRESET_SENTENCE
        assert sorted(parse_qs(urlsplit(url).query)["f"]) == sorted([
            "insider_buying:is_true", "insider_buys_6m:gte:2", "rs_rating:gte:70", "above_sma_50:is_true"])
        keep_screenshot(page, "main-path-02-screener-preset")

        # the CSV download holds the same rows, in the same order, in stored units
        with page.expect_download(timeout=15_000) as download:
            page.get_by_role("button", name="CSV", exact=True).click()
        snapshot_date = next(data_dir.glob("snapshots/date=*")).name.removeprefix("date=")
        assert download.value.suggested_filename == f"insider-momentum-demo_{snapshot_date}.csv"
        csv_path = tmp_path / download.value.suggested_filename
        download.value.save_as(csv_path)
        got = pd.read_csv(csv_path)
        assert list(got.columns) == PRESET_COLUMNS
        assert got["ticker"].tolist() == want["ticker"].tolist()
        assert got["name"].tolist() == want["name"].tolist()
        assert got["sector"].tolist() == want["sector"].tolist()
        assert (got["insider_buying"] == True).all() and (got["above_sma_50"] == True).all()  # noqa: E712
        for column in ("market_cap", "insider_buys_6m", "rs_rating", "insider_net_pct_6m"):
            expected = want[column].astype("Float64").to_numpy(dtype=float, na_value=float("nan"))
            assert got[column].to_numpy(dtype=float) == pytest.approx(expected, nan_ok=True), column

        # narrow it, then save it with a name and a description
        pick_sector(page, SECTORS[0], headline(len(want[want["sector"] == SECTORS[0]]), total))
        pick_sector(page, SECTORS[1], headline(len(narrowed), total))
        page.get_by_role("button", name="Save as preset").click()
        page.get_by_role("textbox", name="Name", exact=True).fill(SAVED_NAME)
        page.get_by_role("textbox", name="Description (optional)", exact=True).fill(SAVED_DESCRIPTION)
        page.get_by_role("button", name="Save preset", exact=True).click()
        page.get_by_text(f"Saved preset '{SAVED_NAME}'").wait_for(timeout=15_000)
        shared_url = wait_for_url(page, lambda u: parse_qs(urlsplit(u).query).get("preset", ["insider-momentum"])
                                  != ["insider-momentum"])
        slug = parse_qs(urlsplit(shared_url).query)["preset"][0]
        files = list((data_dir / "presets").rglob(f"{slug}.json"))
        assert len(files) == 1, f"no single saved preset file for {slug!r} under {data_dir / 'presets'}"
        document = json.loads(files[0].read_text(encoding="utf-8"))
        assert (document["name"], document["description"]) == (SAVED_NAME, SAVED_DESCRIPTION)
        assert sorted(json.dumps(item, sort_keys=True) for item in document["screen"]["filters"]) == sorted(
            json.dumps(item, sort_keys=True) for item in [
                {"field": "insider_buying", "op": "is_true"}, {"field": "insider_buys_6m", "op": "gte", "value": 2},
                {"field": "rs_rating", "op": "gte", "value": 70}, {"field": "above_sma_50", "op": "is_true"},
                {"field": "sector", "op": "in", "value": list(SECTORS)}])
        saved_sentence = shown_sentence(page)
        assert saved_sentence == SAVED_SENTENCE
        saved_widgets = screen_widgets(page)
        assert saved_widgets["sectors"] == list(SECTORS) and saved_widgets["rows"] == str(ROW_LIMIT)

        # a reload keeps the screen, and the picker lists (and shows) the saved preset
        page.reload()
        wait_for_title(page, "Screener")
        wait_for_headline(page, headline(len(narrowed), total))
        saved_label = f"{SAVED_NAME} · saved"
        assert page.get_by_role("combobox", name="Preset", exact=True).input_value() == saved_label
        assert saved_label in listed_options(page, "Preset")
        assert shown_sentence(page) == saved_sentence
        assert screen_widgets(page) == saved_widgets
    context.close()

    # the copied address, in a fresh context (no cookies, no session): the same screen
    fresh = browser.new_context(viewport=VIEWPORT)
    other = fresh.new_page()
    with screenshot_on_failure(other, "main-path-shared-link"):
        open_app(other, shared_url, "Screener")
        wait_for_headline(other, headline(len(narrowed), total))
        assert shown_headline(other) == headline(len(narrowed), total)
        assert shown_sentence(other) == saved_sentence
        assert screen_widgets(other) == saved_widgets
        keep_screenshot(other, "main-path-03-screener-shared-link")

        # the other pages, through the sidebar, each drawn without an error
        go_via_sidebar(other, "Quality vs Junk")
        other.get_by_text("How the baskets are built").wait_for()
        keep_screenshot(other, "main-path-04-quality-vs-junk")
        top = narrowed["ticker"].iloc[0]
        open_app(other, f"{base}/Stock?ticker={top}", "Stock")
        other.get_by_role("heading", name=f"{top} · {narrowed['name'].iloc[0]}").wait_for()
        keep_screenshot(other, "main-path-05-stock")
        go_via_sidebar(other, "Presets")
        assert saved_label in listed_options(other, "Preset")
        # the list (a canvas grid, read through its accessible table) counts today's matches
        saved_row = other.locator('[role="row"]').filter(
            has=other.locator('[role="gridcell"]', has_text=re.compile(rf"^{re.escape(SAVED_NAME)}$")))
        saved_row.wait_for(state="attached")
        cells = [cell.text_content().strip() for cell in saved_row.locator('[role="gridcell"]').all()]
        assert cells == [SAVED_NAME, "saved", str(len(narrowed)), SAVED_SENTENCE, SAVED_DESCRIPTION]
        choose_option(other, "Preset", saved_label)
        other.locator('[data-testid="stMain"] [data-testid="stCaptionContainer"]', has_text=SAVED_SENTENCE).wait_for()
        settle(other)
        keep_screenshot(other, "main-path-06-presets")
        go_via_sidebar(other, "Data")
        other.get_by_role("tab", name="Snapshots").wait_for()
        keep_screenshot(other, "main-path-07-data")
    fresh.close()


# --- no snapshot at all ---------------------------------------------------------------------------

PAGES = ("Overview", "Screener", "Quality vs Junk", "Stock", "Presets", "Data")


def test_every_page_without_a_snapshot_says_how_to_build_one(tmp_path, browser):
    """A fresh install (empty data folder): each page, reached through the sidebar, explains
    and gives the demo command instead of failing."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    with serve_app(data_dir, log=tmp_path / "streamlit.log") as (base, _):
        with screenshot_on_failure(page, "main-path-empty"):
            open_app(page, base + "/", "Overview")
            for index, title in enumerate(PAGES):
                if index:
                    go_via_sidebar(page, title)
                page.get_by_text("No snapshot yet").wait_for()
                assert page.locator('[data-testid="stMain"] code', has_text="python -m screener nightly --source demo"
                                    ).count() == 1, title
                assert page.locator('[data-testid="stException"]').count() == 0, title
            keep_screenshot(page, "main-path-08-no-snapshot")
    context.close()
