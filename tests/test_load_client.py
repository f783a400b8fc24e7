"""The protocol client against reality: same counts as pandas and as a real Chromium, same URLs.

The load tests trust ``tests/support/stclient.py`` to behave like a browser tab.
Here one simulated user opens preset links and changes filters on the served app
(each page's count already checked against pandas inside the user); the URLs the
server wrote back into its address bar are then opened in headless Chromium, which
must show the same snapshot and the same headline.  If the client sent widget
states differently from the frontend, the link it ends up with would not reproduce
its page in a browser.

And the bug the load run found, seen from a real browser: Chromium clicks a
download button while simulated users keep the server busy; without
``screener/ui/deferred_downloads.py`` about half of those downloads fail (404 on
``/media``, "canceled" in Chromium).
"""

from __future__ import annotations

import asyncio
import threading
import time
from urllib.parse import urlsplit

import pytest

from screener.presets import BUILTIN_PRESETS
from tests.support.load_users import HEADLINE, SNAPSHOT_DATE, ScreenerUser, VisitAborted
from tests.support.pandas_screen import SnapshotCounts
from tests.support.server import CHROMIUM, CHROMIUM_ARGS, serve_app
from tests.support.stclient import BrowserSession

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def served(demo_data_dir):
    with serve_app(demo_data_dir) as (base_url, _server):
        yield base_url, demo_data_dir


def client_pages(base_url: str, counts: SnapshotCounts) -> tuple[ScreenerUser, list[tuple[str, int]]]:
    """(query string, count) after each action of one user: two presets, sectors, a threshold, an added filter."""
    user = ScreenerUser(0, base_url, counts, think=0)
    pages: list[tuple[str, int]] = []

    async def walk() -> None:
        async with BrowserSession(base_url) as tab:
            for action in (lambda: user.open(tab, BUILTIN_PRESETS[1]), lambda: user.pick_sectors(tab),
                           lambda: user.edit_threshold(tab), lambda: user.add_filter(tab),
                           lambda: user.switch_preset(tab, BUILTIN_PRESETS[2])):
                await action()
                pages.append((tab.query_string, user.samples[-1].count))

    asyncio.run(walk())
    return user, pages


def test_the_client_shows_what_pandas_counts_and_chromium_shows_for_the_same_links(served, chromium_ready):
    from playwright.sync_api import sync_playwright

    base_url, data_dir = served
    user, pages = client_pages(base_url, SnapshotCounts(data_dir))
    assert [s.error for s in user.samples if s.error] == []  # every count equalled the pandas count
    assert len({count for _query, count in pages}) >= 3  # the actions really changed the screen
    seen = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1200})
            for query, _count in pages:
                page.goto(f"{base_url}/Screener?{query}")
                heading = page.locator("h3", has_text="stocks match").first
                heading.wait_for(timeout=30_000)
                time.sleep(0.5)  # let a rerun triggered by the URL settle before reading
                match = HEADLINE.match(heading.inner_text().strip())
                badge = SNAPSHOT_DATE.search(page.locator("section[data-testid='stSidebar']").inner_text())
                seen.append((int(match.group(1).replace(",", "")) if match else None,
                             badge.group(1) if badge else None))
        finally:
            browser.close()
    snapshot = user.samples[0].snapshot.isoformat()
    assert seen == [(count, snapshot) for _query, count in pages]


def _keep_busy(base_url: str, counts: SnapshotCounts, users: list[ScreenerUser], stop: threading.Event) -> None:
    """Simulated users changing filters without pause until ``stop`` (runs in its own thread)."""
    async def busy(user: ScreenerUser) -> None:
        async with BrowserSession(base_url) as tab:
            try:
                await user.open(tab, user.preset_for(0))
                while not stop.is_set():
                    await user.change_filter(tab)
            except VisitAborted:
                pass

    async def main() -> None:
        await asyncio.gather(*(busy(user) for user in users))

    asyncio.run(main())


def test_chromium_downloads_succeed_while_other_sessions_rerun(served, chromium_ready):
    from playwright.sync_api import sync_playwright

    base_url, data_dir = served
    counts = SnapshotCounts(data_dir)
    users = [ScreenerUser(i, base_url, counts, think=0, seed=3) for i in range(5)]
    stop = threading.Event()
    background = threading.Thread(target=_keep_busy, args=(base_url, counts, users, stop))
    outcomes, statuses = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(accept_downloads=True, viewport={"width": 1500, "height": 1200})
            page.on("requestfinished", lambda r: statuses.append(r.response().status)
                    if urlsplit(r.url).path.startswith("/media/") else None)
            page.goto(f"{base_url}/Screener?preset=insider-momentum")
            button = page.get_by_role("button", name="CSV", exact=True)
            button.wait_for(timeout=30_000)
            background.start()
            time.sleep(1.0)
            for _ in range(8):
                with page.expect_download(timeout=30_000) as download:
                    button.click()
                outcomes.append(download.value.failure())
                time.sleep(0.3)
        finally:
            stop.set()
            if background.is_alive():
                background.join()
            browser.close()
    busy_pages = sum(1 for u in users for s in u.samples if s.error is None)
    assert [s.error for u in users for s in u.samples if s.error] == []
    assert busy_pages >= 10  # the server really was busy with other sessions meanwhile
    assert outcomes == [None] * 8 and statuses == [200] * 8, (outcomes, statuses)
