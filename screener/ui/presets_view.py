"""The Presets page: list, open in the Screener, rename, delete, export and import JSON.

``pages/4_Presets.py`` only calls :func:`render_presets_page`.  All changes go
through ``PresetStore`` (atomic, locked, validated, all-or-nothing imports); this page
shows its refusals as messages.  Names and descriptions are other people's text (an
imported file can hold anything): the list is a dataframe (cells are plain text),
selectbox options are plain text, and every Markdown message escapes them.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import streamlit as st

from screener.db import SnapshotDB, run_screen
from screener.presets import Preset, PresetError, PresetListing, PresetStore, is_slug
from screener.screen import to_english
from screener.ui.common import PageContext
from screener.ui.preset_access import render_access_note, session_preset_store
from screener.ui.screener_state import flash, pop_flash
from screener.ui.text import escape_markdown

PICK_KEY = "presets.pick"
UPLOAD_VERSION_KEY = "presets.upload_version"
SCREENER_PAGE = "pages/1_Screener.py"


def _match_count(db: SnapshotDB, preset: Preset) -> int | None:
    """Matches on the shown snapshot; None when the snapshot cannot run it (an older
    snapshot without a column the preset uses)."""
    try:
        return run_screen(db, preset.screen).count
    except duckdb.Error:
        return None


def preset_table(listing: PresetListing, db: SnapshotDB) -> pd.DataFrame:
    """One row per usable preset: name, kind, description, screen in English, matches today."""
    rows = [{"name": p.name, "kind": "built-in" if p.builtin else "saved", "matches": _match_count(db, p),
             "screen": to_english(p.screen), "description": p.description, "slug": p.slug}
            for p in listing.presets]
    frame = pd.DataFrame(rows, columns=["name", "kind", "matches", "screen", "description", "slug"])
    frame["matches"] = frame["matches"].astype("Int64")
    return frame


# --- callbacks --------------------------------------------------------------------------


def _rename(store: PresetStore, preset: Preset) -> None:
    new_name = st.session_state.get(f"presets.rename.{preset.slug}", "")
    try:
        renamed = store.rename(preset.slug, new_name)
    except PresetError as exc:
        flash("error", escape_markdown(f"Not renamed: {exc}"))
        return
    st.session_state[PICK_KEY] = renamed.slug
    flash("success", escape_markdown(f"Renamed '{preset.name}' to '{renamed.name}'."))


def _delete(store: PresetStore, slug: str, name: str) -> None:
    try:
        store.delete(slug)
    except PresetError as exc:
        flash("error", escape_markdown(f"Not deleted: {exc}"))
        return
    st.session_state.pop(PICK_KEY, None)
    flash("success", escape_markdown(f"Deleted '{name}'."))


def _import(store: PresetStore, upload_key: str) -> None:
    uploaded = st.session_state.get(upload_key)
    if uploaded is None:
        flash("error", "Choose a JSON file first.")
        return
    try:
        written, notes = store.import_json(uploaded.getvalue(),
                                           overwrite=bool(st.session_state.get("presets.import.overwrite")))
    except PresetError as exc:
        flash("error", escape_markdown(str(exc)))
        return
    st.session_state[UPLOAD_VERSION_KEY] = st.session_state.get(UPLOAD_VERSION_KEY, 0) + 1
    summary = f"Imported {len(written)} preset(s)"
    if written:
        summary += ": " + ", ".join(repr(p.name) for p in written)
    flash("success", escape_markdown(summary + ("; " + "; ".join(notes) if notes else "") + "."))


# --- sections ---------------------------------------------------------------------------


def _render_list(listing: PresetListing, db: SnapshotDB) -> None:
    st.dataframe(
        preset_table(listing, db), hide_index=True, width="stretch",
        column_order=["name", "kind", "matches", "screen", "description"],
        column_config={
            "name": st.column_config.TextColumn("Name"),
            "kind": st.column_config.TextColumn("Kind", width="small"),
            "matches": st.column_config.NumberColumn("Matches", format="%d",
                                                     help="Stocks matching on the snapshot shown"),
            "screen": st.column_config.TextColumn("Screen", width="large"),
            "description": st.column_config.TextColumn("Description", width="large"),
        })


def _render_broken(listing: PresetListing, store: PresetStore) -> None:
    if not listing.broken:
        return
    st.warning(f"{len(listing.broken)} saved preset file(s) cannot be used:", icon=":material/report:")
    for index, broken in enumerate(listing.broken):
        reason, action = st.columns([6, 1.4], vertical_alignment="center")
        reason.markdown(escape_markdown(f"{broken.path.name}: {broken.reason}"))
        slug = broken.path.name.removesuffix(".json")
        if is_slug(slug) and not store.readonly:
            action.button("Delete file", key=f"presets.broken.{index}", on_click=_delete,
                          args=(store, slug, broken.path.name))


def _render_manage(listing: PresetListing, store: PresetStore) -> None:
    by_slug = {p.slug: p for p in listing.presets}
    if st.session_state.get(PICK_KEY) not in by_slug:
        st.session_state[PICK_KEY] = listing.presets[0].slug
    slug = st.selectbox(
        "Preset", list(by_slug), key=PICK_KEY,
        format_func=lambda s: f"{by_slug[s].name} · {'built-in' if by_slug[s].builtin else 'saved'}")
    preset = by_slug[slug]
    st.caption(escape_markdown(to_english(preset.screen)))
    if st.button("Open in the Screener", type="primary", icon=":material/filter_alt:", key="presets.open"):
        st.switch_page(SCREENER_PAGE, query_params={"preset": preset.slug})
    if preset.builtin:
        st.caption("Built-in presets live in the code: open one and save a copy under a new name to change it.")
        return
    if store.readonly:
        return
    rename_column, delete_column = st.columns(2, vertical_alignment="bottom")
    with rename_column:
        st.text_input("New name", key=f"presets.rename.{preset.slug}", max_chars=60)
        st.button("Rename", key="presets.rename.go", icon=":material/edit:", on_click=_rename,
                  args=(store, preset))
    with delete_column:
        confirmed = st.checkbox("Yes, delete this saved preset", key=f"presets.delete.confirm.{preset.slug}")
        st.button("Delete", key="presets.delete.go", icon=":material/delete:", disabled=not confirmed,
                  on_click=_delete, args=(store, preset.slug, preset.name))


def _render_transfer(store: PresetStore, snapshot_date: dt.date) -> None:
    export_column, import_column = st.columns(2)
    with export_column:
        st.markdown("**Export**")
        st.caption("Every saved preset in one JSON file (built-ins live in the code).")
        st.download_button("Export saved presets", data=store.export_all, key="presets.export",
                           file_name=f"presets_{snapshot_date.isoformat()}.json", mime="application/json",
                           on_click="ignore", icon=":material/download:")
    with import_column:
        st.markdown("**Import**")
        if store.readonly:
            st.caption("Importing is disabled on this server.")
            return
        st.caption("A file exported here, or one preset document. It is checked first: a bad file is "
                   "refused with the reason and nothing changes.")
        upload_key = f"presets.upload.{st.session_state.get(UPLOAD_VERSION_KEY, 0)}"
        st.file_uploader("Preset JSON file", type=["json"], key=upload_key)
        st.checkbox("Replace saved presets that have the same name", key="presets.import.overwrite")
        st.button("Import", key="presets.import.go", icon=":material/upload:", on_click=_import,
                  args=(store, upload_key))


def render_presets_page(context: PageContext) -> None:
    store = session_preset_store(context.data_dir)
    pop_flash()
    render_access_note(store, key="presets.login")
    listing = store.list_presets()
    _render_list(listing, context.db)
    _render_broken(listing, store)
    st.subheader("Open, rename or delete")
    _render_manage(listing, store)
    st.subheader("Export and import")
    _render_transfer(store, context.snapshot.date)
