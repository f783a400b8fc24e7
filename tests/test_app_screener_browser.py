"""The served Screener in headless Chromium: what AppTest cannot see.

AppTest cannot follow the browser's address bar nor render Markdown, so this file
checks, on a real ``streamlit run``: a ``preset=`` link is rewritten to the canonical
screen link, a widget change updates the address bar, a relative Stock link resolves
to /Stock?ticker=..., and hostile preset names render as literal text.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest

from screener.presets import PresetStore
from screener.screen import Filter, Screen
from tests.support.browser import VIEWPORT, launch_chromium, settle, wait_for_url
from tests.support.server import serve_app

pytestmark = pytest.mark.browser

HOSTILE_NAMES = {"script": "<script>alert(1)</script>", "bold": "**bold**", "link": "[x](javascript:alert(1))"}


@pytest.fixture(scope="module")
def served(tmp_path_factory, demo_data_dir, chromium_ready):
    """``streamlit run app.py`` on a copy of the demo data with hostile-named presets."""
    data_dir = tmp_path_factory.mktemp("browser") / "data"
    shutil.copytree(demo_data_dir, data_dir)
    store = PresetStore(data_dir, readonly=False)
    slugs = {key: store.save(name, f"about {name}", Screen((Filter("roe", "gt", 0.1),))).slug
             for key, name in HOSTILE_NAMES.items()}
    with serve_app(data_dir, env={"SCREENER_PRESETS_READONLY": "0"}) as (base, _server):
        yield base, data_dir, slugs


@pytest.fixture(scope="module")
def browser(served):
    with launch_chromium() as chromium:
        yield chromium


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=VIEWPORT)
    yield context.new_page()
    context.close()


def _headline(page) -> str:
    heading = page.locator("h3", has_text="stocks match").first
    heading.wait_for(timeout=30_000)
    settle(page)
    return heading.inner_text()


def test_preset_link_becomes_the_canonical_screen_and_follows_widgets(served, page):
    base, data_dir, _ = served
    (stocks_path,) = data_dir.glob("snapshots/date=*/stocks.parquet")
    frame = pd.read_parquet(stocks_path)
    page.goto(f"{base}/Screener?preset=quality-compounders")
    profitable = frame["is_profitable"].astype("boolean").fillna(False).astype(bool)
    rest = ((frame["roe"] > 0.15) & (frame["debt_to_equity"] < 0.5) & (frame["revenue_growth"] > 0.05)
            & frame["above_sma_200"].astype("boolean").fillna(False).astype(bool))
    bucket = (frame["quality_bucket"] == "quality").fillna(False).astype(bool)
    assert _headline(page).startswith(f"{(bucket & profitable & rest).sum():,} of ")
    url = wait_for_url(page, lambda u: "f=" in u)
    query = parse_qs(urlsplit(url).query)
    assert query["f"][0] == "quality_bucket:eq:quality" and query["preset"] == ["quality-compounders"]

    # keyed widgets carry a class st-key-<key> with dots as dashes: remove the first filter row
    page.locator('[class*="st-key-scr-row-"][class*="-rm "] button').first.click()
    url = wait_for_url(page, lambda u: "quality_bucket" not in u)
    assert parse_qs(urlsplit(url).query)["f"][0] == "is_profitable:is_true"
    page.wait_for_function("() => [...document.querySelectorAll('h3')].some("
                           f"h => h.innerText.startsWith('{(profitable & rest).sum():,} of '))", timeout=15_000)


def test_stock_link_opens_the_stock_page(served, page):
    base, _, _ = served
    page.goto(f"{base}/Screener?f=roe:gt:0.1&cols=name")
    _headline(page)
    grid = page.locator('[data-testid="stDataFrame"]').last
    grid.wait_for()
    grid.scroll_into_view_if_needed()
    page.wait_for_timeout(500)  # let the canvas grid settle after scrolling
    box = grid.bounding_box()
    # columns: Ticker | Stock | Yahoo | Name; "Chart" of the first body row, under the header row
    target = (box["x"] + 75, box["y"] + 54)
    page.mouse.move(*target)  # the grid arms a link on hover
    page.wait_for_timeout(300)
    with page.context.expect_page(timeout=10_000) as opened:
        page.mouse.click(*target)
    new_page = opened.value
    new_page.wait_for_load_state()
    link = urlsplit(new_page.url)
    assert link.path == "/Stock" and parse_qs(link.query)["ticker"][0].isupper()


def test_downloads_are_named_after_preset_and_date_and_hold_the_rows(served, page, tmp_path):
    base, data_dir, _ = served
    (stocks_path,) = data_dir.glob("snapshots/date=*/stocks.parquet")
    frame = pd.read_parquet(stocks_path)
    want = frame[frame["roe"] > 0.3].sort_values(["roe", "ticker"], ascending=[False, True]).head(20)
    page.goto(f"{base}/Screener?f=roe:gt:0.3&sort=-roe&cols=name,roe&limit=20&preset=quality-compounders")
    _headline(page)
    files = {}
    for label in ("csv", "parquet"):
        with page.expect_download(timeout=15_000) as download:
            page.locator(f".st-key-scr-download-{label} button").click()
        files[label] = (download.value.suggested_filename, Path(download.value.path()))
    date = stocks_path.parent.name.removeprefix("date=")
    # changed since loaded from the preset, and a demo snapshot: both said in the name
    assert files["csv"][0] == f"quality-compounders-modified-demo_{date}.csv"
    assert files["parquet"][0] == f"quality-compounders-modified-demo_{date}.parquet"
    for shown in (pd.read_csv(files["csv"][1]), pd.read_parquet(files["parquet"][1])):
        assert list(shown.columns) == ["ticker", "name", "roe"]
        assert shown["ticker"].tolist() == want["ticker"].tolist()
        assert shown["roe"].tolist() == pytest.approx(want["roe"].tolist())  # stored units, not percent


@pytest.mark.parametrize("key", sorted(HOSTILE_NAMES))
def test_hostile_preset_names_render_as_literal_text(served, page, key):
    base, _, slugs = served
    name = HOSTILE_NAMES[key]
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{base}/Screener?preset={slugs[key]}")
    _headline(page)
    caption = page.get_by_text(f"{name}: about {name}", exact=True)
    caption.wait_for(timeout=10_000)
    assert caption.count() == 1
    assert page.locator('[data-testid="stMain"] a[href^="javascript"]').count() == 0
    assert page.locator('[data-testid="stMain"] script').count() == 0
    assert dialogs == []
