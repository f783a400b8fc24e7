"""Which presets this browser session works with, decided from Streamlit's login state.

The decision is :func:`screener.presets.store_for_visitor` (pure, tested without
Streamlit); this module only reads ``st.user``.  ``st.user`` holds an ``is_logged_in``
key exactly when authentication is configured (an ``[auth]`` section in
``.streamlit/secrets.toml``), so "login configured" needs no setting of ours.  See the
README, "Deployment and safety".
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from screener.presets import LOGIN_REASON, PresetStore, store_for_visitor

#: Optional name of the ``[auth.<provider>]`` section the login button uses (default: ``[auth]``).
AUTH_PROVIDER_ENV = "SCREENER_AUTH_PROVIDER"


def session_preset_store(data_dir: Path) -> PresetStore:
    """The shared presets, the logged-in user's own, or read-only ones until the visitor logs in."""
    claims = st.user.to_dict()
    return store_for_visitor(data_dir, auth_configured="is_logged_in" in claims, claims=claims)


def render_access_note(store: PresetStore, key: str) -> None:
    """Say why presets cannot be changed here, with a login button when logging in would help;
    say that saved presets are private when they are the user's own."""
    if store.readonly:
        st.info(f"{store.readonly_reason}: saving, renaming, deleting and importing are disabled.",
                icon=":material/lock:")
        if store.readonly_reason == LOGIN_REASON:
            st.button("Log in", key=key, icon=":material/login:", on_click=st.login,
                      args=(os.environ.get(AUTH_PROVIDER_ENV) or None,))
    elif store.namespace is not None:
        st.caption("Presets you save are private to your login.")
