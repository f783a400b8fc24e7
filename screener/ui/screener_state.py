"""The Screener's one piece of state: the current Screen, in session state and in the URL.

Why both: ``st.session_state`` survives switching pages (Streamlit clears query
parameters on a page switch), and the URL makes the screen shareable.  Each run:

1. :func:`current_screen` reads the URL.  If it holds screen parameters that differ
   from what this session last wrote, it is a link from outside (pasted, shared,
   opened from the Presets page): it wins, and what could not be used becomes notes.
   Otherwise the session's screen stands (widget callbacks have already updated it).
2. Widgets render from that screen; their callbacks produce the next screen with
   :func:`set_screen`.
3. :func:`write_url` writes the canonical link back, so the address bar always
   carries the current screen.

Callbacks report outcomes with :func:`flash`; the page shows them once with
:func:`pop_flash` (a callback runs before the page, so it cannot draw in place).
"""

from __future__ import annotations

from typing import Literal

import streamlit as st

from screener.presets import PresetStore
from screener.screen import URL_KEYS, Screen, to_query_params
from screener.ui.screener_link import resolve_link, screen_params, settle

SCREEN_KEY = "screener.screen"
NOTES_KEY = "screener.link_notes"
WRITTEN_KEY = "screener.url_written"
FLASH_KEY = "screener.flash"

Level = Literal["success", "error", "info"]


def _url_params() -> dict[str, list[str]]:
    """Every value of every screen parameter (``st.query_params[k]`` gives only the last)."""
    return screen_params({key: st.query_params.get_all(key) for key in st.query_params})


def current_screen(store: PresetStore) -> tuple[Screen, list[str]]:
    """The screen to show and the notes about the link it came from (see module docstring)."""
    url = _url_params()
    if url and url != st.session_state.get(WRITTEN_KEY):
        screen, notes = resolve_link(url, store)
        st.session_state[SCREEN_KEY] = screen
        st.session_state[NOTES_KEY] = notes
    elif SCREEN_KEY not in st.session_state:
        st.session_state[SCREEN_KEY] = Screen()
        st.session_state[NOTES_KEY] = []
    return st.session_state[SCREEN_KEY], list(st.session_state.get(NOTES_KEY, []))


def screen_now() -> Screen:
    """The session's screen, for callbacks (which run before the page)."""
    return st.session_state.get(SCREEN_KEY, Screen())


def set_screen(screen: Screen) -> None:
    """Replace the screen after a user action; notes about an old link no longer apply."""
    st.session_state[SCREEN_KEY] = settle(screen)
    st.session_state[NOTES_KEY] = []


def write_url(screen: Screen) -> None:
    """Make the address bar carry ``screen``, touching only the screen's own parameters."""
    wanted = to_query_params(screen)
    normalised = screen_params(wanted)
    if _url_params() != normalised:
        for key in URL_KEYS:
            if key in st.query_params:
                del st.query_params[key]
        st.query_params.update(wanted)
    st.session_state[WRITTEN_KEY] = normalised


def flash(level: Level, markdown: str) -> None:
    """Queue a message for the next page run; ``markdown`` must already be escaped."""
    st.session_state[FLASH_KEY] = (level, markdown)


def pop_flash() -> None:
    """Show and forget the queued message, if any."""
    queued = st.session_state.pop(FLASH_KEY, None)
    if queued is None:
        return
    level, markdown = queued
    {"success": st.success, "error": st.error, "info": st.info}[level](markdown)
