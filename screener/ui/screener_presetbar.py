"""The Screener's top bar: one preset picker (built-in and saved), clear all, save as preset.

Saving goes through ``PresetStore`` only (the session's store: shared, the user's own, or
read-only until login, see ``preset_access``); its refusals (name taken, bad name,
read-only deployment, full disk) are shown as messages, never raised.  Names and descriptions
are user text: they are escaped wherever Markdown renders them (picker options are
plain text already).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import streamlit as st

from screener.presets import Preset, PresetError, PresetListing, PresetStore
from screener.screen import Screen
from screener.ui.preset_access import render_access_note
from screener.ui.screener_link import is_modified
from screener.ui.screener_state import flash, screen_now, set_screen
from screener.ui.text import escape_markdown

_CUSTOM = ""
PICKER_KEY = "scr.preset"


def _load(listing: PresetListing) -> None:
    slug = st.session_state[PICKER_KEY]
    screen = screen_now()
    if slug == _CUSTOM:
        set_screen(screen.without_preset())
        return
    preset = next(p for p in listing.presets if p.slug == slug)
    set_screen(preset.screen_with_slug())


def _clear() -> None:
    screen = screen_now()
    set_screen(Screen(sort=screen.sort, columns=screen.columns, limit=screen.limit))


def _save(store: PresetStore) -> None:
    state = st.session_state
    screen = screen_now()
    try:
        saved = store.save(state.get("scr.save.name", ""), state.get("scr.save.description", ""),
                           screen, overwrite=bool(state.get("scr.save.overwrite")))
    except PresetError as exc:
        flash("error", escape_markdown(f"Not saved: {exc}"))
        return
    set_screen(dataclasses.replace(screen, preset=saved.slug))
    flash("success", escape_markdown(f"Saved preset '{saved.name}'. It is in the picker and on the Presets page."))


def _option_label(listing: PresetListing) -> Callable[[str], str]:
    labels = {p.slug: f"{p.name} · {'built-in' if p.builtin else 'saved'}" for p in listing.presets}
    return lambda slug: labels.get(slug, "— custom screen —")


def render_save_form(store: PresetStore) -> None:
    render_access_note(store, key="scr.login")
    if store.readonly:
        st.caption("Copy the page address to share this screen instead.")
        return
    with st.form("scr.save.form", border=False):
        st.text_input("Name", key="scr.save.name", max_chars=60, placeholder="e.g. My breakout")
        st.text_input("Description (optional)", key="scr.save.description", max_chars=300)
        st.checkbox("Replace a saved preset with the same name", key="scr.save.overwrite")
        st.form_submit_button("Save preset", type="primary", on_click=_save, args=(store,))


def render_preset_bar(screen: Screen, listing: PresetListing, preset: Preset | None, store: PresetStore) -> None:
    """Picker, description of the loaded preset (and whether it was changed), clear, save."""
    picker_column, clear_column, save_column = st.columns([6, 1.6, 1.6], vertical_alignment="bottom")
    options = [_CUSTOM, *(p.slug for p in listing.presets)]
    st.session_state[PICKER_KEY] = preset.slug if preset else _CUSTOM
    picker_column.selectbox("Preset", options, format_func=_option_label(listing), key=PICKER_KEY,
                            on_change=_load, args=(listing,),
                            help="Built-in presets and the ones saved on this server. Loading one replaces "
                                 "the current screen.")
    clear_column.button("Clear filters", key="scr.clear", icon=":material/filter_alt_off:", on_click=_clear,
                        disabled=not screen.filters, width="stretch")
    with save_column.popover("Save as preset", icon=":material/bookmark_add:", width="stretch"):
        render_save_form(store)
    if preset is not None:
        changed = " (changed since it was loaded)" if is_modified(screen, preset) else ""
        st.caption(escape_markdown(f"{preset.name}{changed}: {preset.description}" if preset.description
                                   else f"{preset.name}{changed}"))
    if listing.broken:
        st.caption(f"{len(listing.broken)} saved preset file(s) could not be read; the Presets page says why.")
