"""Playwright helpers for the browser tests: launch Debian's Chromium, wait for Streamlit, keep screenshots.

Why waiting needs care: a Streamlit page is drawn by a websocket conversation, not by
the page load.  After a click the browser still shows the previous run until the
server answers, elements of the previous run linger (marked stale) while the new run
draws, heavy elements (tables, charts) arrive as lazy chunks behind skeletons, and
Vega charts draw after their element exists.  Reading the page at the wrong moment
reads old numbers.  So tests wait on conditions, never on fixed sleeps:

1. first the change the action should cause (a text, the address bar), so a rerun
   that has not started yet is not mistaken for a finished one;
2. then :func:`settle`: the script is idle, nothing is stale, no skeleton or spinner
   is left and every chart has drawn.

Screenshots go to ``artifacts/screenshots/`` at the repo root (gitignored), where CI
keeps them as artefacts.  Streamlit scrolls inside its own main container, so
Playwright's ``full_page`` sees one viewport only: :func:`save_screenshot` grows the
viewport to the content's height instead.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from tests.support.server import CHROMIUM, CHROMIUM_ARGS, REPO_ROOT

if TYPE_CHECKING:  # playwright is imported lazily: a machine without it skips browser tests
    from playwright.sync_api import Browser, Locator, Page

SCREENSHOTS_DIR = REPO_ROOT / "artifacts" / "screenshots"
#: Wide enough for the Screener's filter rows and table columns to sit side by side.
VIEWPORT = {"width": 1500, "height": 1300}
#: Tallest screenshot taken (pixels): a runaway page is cut there rather than making a huge PNG.
MAX_SCREENSHOT_HEIGHT = 12_000
SETTLE_TIMEOUT_MS = 30_000

#: True once the app is idle and fully drawn (see the module docstring, step 2).
_SETTLED_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (app.getAttribute('data-test-connection-state') !== 'CONNECTED') return false;
  if (document.querySelector('[data-testid="stElementContainer"][data-stale="true"]')) return false;
  if (document.querySelector('[data-testid="stSkeleton"], [data-testid="stSpinner"]')) return false;
  const charts = [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')];
  return charts.every(chart => chart.querySelector('canvas, svg'));
}"""

_CONTENT_HEIGHT_JS = """() => {
  const heights = ['[data-testid="stMain"]', '[data-testid="stSidebarContent"]']
    .map(selector => document.querySelector(selector))
    .filter(Boolean)
    .map(element => element.scrollHeight);
  return Math.max(document.documentElement.clientHeight, ...heights);
}"""


@contextlib.contextmanager
def launch_chromium() -> Iterator[Browser]:
    """Headless Debian Chromium (Playwright's own browser download does not work here)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def settle(page: Page, timeout_ms: int = SETTLE_TIMEOUT_MS) -> None:
    """Wait until the app is idle and fully drawn; call it after waiting for the expected change."""
    page.wait_for_function(_SETTLED_JS, timeout=timeout_ms)


def open_app(page: Page, url: str, title: str, timeout_ms: int = SETTLE_TIMEOUT_MS) -> None:
    """Load ``url`` and wait for the page titled ``title`` (its ``st.title``) to settle."""
    page.goto(url)
    wait_for_title(page, title, timeout_ms)


def wait_for_title(page: Page, title: str, timeout_ms: int = SETTLE_TIMEOUT_MS) -> None:
    """Wait for the page heading ``title`` and for the run that drew it to finish."""
    page.locator('[data-testid="stMain"] h1', has_text=re.compile(rf"^{re.escape(title)}$")).first.wait_for(
        timeout=timeout_ms)
    settle(page, timeout_ms)


def go_via_sidebar(page: Page, label: str, title: str | None = None, timeout_ms: int = SETTLE_TIMEOUT_MS) -> None:
    """Click the sidebar navigation link ``label`` (as a person would) and wait for the page."""
    link = page.locator('[data-testid="stSidebar"] a[data-testid="stPageLink-NavLink"]').filter(
        has=page.locator('[data-testid="stMarkdownContainer"]', has_text=re.compile(rf"^{re.escape(label)}$")))
    link.click()
    wait_for_title(page, title or label, timeout_ms)


def wait_for_url(page: Page, predicate: Callable[[str], bool], timeout_ms: int = 15_000) -> str:
    """Wait for the address bar to satisfy ``predicate`` once the run that changes it is over.

    Streamlit sends every ``st.query_params`` mutation to the browser separately, so a
    run that deletes keys and then sets them shows passing addresses in between (one
    without ``f``, say).  The first match proves the run has started; the address is read
    after it has finished.
    """
    page.wait_for_url(predicate, timeout=timeout_ms)
    settle(page)
    page.wait_for_url(predicate, timeout=timeout_ms)
    return page.url


def open_list(page: Page, combobox: str) -> Locator:
    """Open the options of the select box labelled ``combobox``; returns the listbox.

    By keyboard (focus, arrow down) rather than a click: right after a download a mouse
    click on a react-aria combobox opens its list and shuts it again 30 ms later, while
    the keyboard opens it every time and changes nothing by itself.
    """
    box = page.get_by_role("combobox", name=combobox, exact=True)
    box.focus()
    box.press("ArrowDown")
    listbox = page.get_by_role("listbox")
    listbox.wait_for()
    return listbox


def choose_option(page: Page, combobox: str, option: str) -> None:
    """Pick ``option`` (its exact text) in the select box or multiselect labelled ``combobox``,
    clicking into it and typing to search first, as a person does with a long list."""
    box = page.get_by_role("combobox", name=combobox, exact=True)
    box.click()
    box.fill(option)
    page.get_by_role("option", name=option, exact=True).click()


def listed_options(page: Page, combobox: str) -> list[str]:
    """The options a select box offers (opens its list, reads it, closes it again)."""
    listbox = open_list(page, combobox)
    texts = [text.strip() for text in listbox.get_by_role("option").all_inner_texts()]
    page.keyboard.press("Escape")
    listbox.wait_for(state="detached")
    return texts


def save_screenshot(page: Page, name: str) -> Path:
    """A PNG of the whole page (main area and sidebar) under ``artifacts/screenshots/``.

    The viewport grows to the content's height for the shot and is restored after, so
    the layout a test works with does not change.
    """
    SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS_DIR / f"{name}.png"
    original = page.viewport_size or VIEWPORT
    height = min(int(page.evaluate(_CONTENT_HEIGHT_JS)), MAX_SCREENSHOT_HEIGHT)
    if height > original["height"]:
        page.set_viewport_size({"width": original["width"], "height": height})
        page.wait_for_function("() => new Promise(done => requestAnimationFrame(() => done(true)))")
        settle(page)  # elements that follow the window's size redraw after a resize
    try:
        page.screenshot(path=str(path))
    finally:
        if height > original["height"]:
            page.set_viewport_size(original)
    return path


@contextlib.contextmanager
def screenshot_on_failure(page: Page, name: str) -> Iterator[None]:
    """Keep a screenshot of the page as it was when the block failed (named ``<name>-FAILED``).

    A shot left by an earlier failed run is removed first, so the folder shows this run only.
    """
    failed = SCREENSHOTS_DIR / f"{name}-FAILED.png"
    failed.unlink(missing_ok=True)
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):  # never hide the real failure behind a screenshot error
            SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(failed))
        raise
