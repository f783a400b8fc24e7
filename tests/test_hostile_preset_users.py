"""Who may change presets: shared, read-only (SCREENER_PRESETS_READONLY=1), per logged-in user
(Streamlit ``st.login``), and read-only for a visitor who has not logged in where login is
configured.  The store level is checked directly; the pages through AppTest with ``at.user``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from screener.presets import (
    LOGIN_REASON, READONLY_ENV, PresetsReadOnly, PresetStore, store_for_visitor, user_id_from_claims, user_namespace,
)
from screener.screen import Filter, Screen
from tests.support.apptest import open_page

ALICE = {"is_logged_in": True, "iss": "https://accounts.example.com", "sub": "1001", "email": "alice@example.com"}
BOB = {"is_logged_in": True, "iss": "https://accounts.example.com", "sub": "2002", "email": "bob@example.com"}
SCREEN = Screen((Filter("roe", "gt", 0.15),))


def expected_folder(data_dir: Path, issuer: str, subject: str) -> Path:
    digest = hashlib.sha256(f"{issuer}|{subject}".encode()).hexdigest()[:32]
    return data_dir / "presets" / "users" / digest


@pytest.fixture(autouse=True)
def writable(monkeypatch):
    monkeypatch.delenv(READONLY_ENV, raising=False)


def test_without_login_configured_everyone_shares_the_presets_folder(tmp_path):
    store = store_for_visitor(tmp_path, auth_configured=False, claims={"email": "test@example.com"})
    assert store.folder == tmp_path / "presets" and not store.readonly and store.namespace is None


def test_logged_in_users_get_private_folders_named_by_a_hash(tmp_path):
    alice = store_for_visitor(tmp_path, auth_configured=True, claims=ALICE)
    bob = store_for_visitor(tmp_path, auth_configured=True, claims=BOB)
    assert alice.folder == expected_folder(tmp_path, ALICE["iss"], ALICE["sub"])
    assert bob.folder == expected_folder(tmp_path, BOB["iss"], BOB["sub"])
    alice.save("Mine", "only Alice sees this", SCREEN)
    assert [p.name for p in alice.list_presets().presets if not p.builtin] == ["Mine"]
    assert [p for p in bob.list_presets().presets if not p.builtin] == []
    shared = PresetStore(tmp_path)
    assert [p for p in shared.list_presets().presets if not p.builtin] == [] and shared.list_presets().broken == ()
    paths = " ".join(str(p) for p in tmp_path.rglob("*"))
    assert "alice" not in paths and "example" not in paths  # no identity on disk


def test_same_subject_at_another_issuer_is_another_user(tmp_path):
    other = {**ALICE, "iss": "https://login.other.example"}
    assert (store_for_visitor(tmp_path, True, ALICE).folder != store_for_visitor(tmp_path, True, other).folder)
    assert user_id_from_claims({"email": " Alice@Example.com "}) == "email|alice@example.com"
    assert user_id_from_claims({"name": "no id"}) is None


@pytest.mark.parametrize("claims", [{"is_logged_in": False}, {"is_logged_in": True, "name": "no id claim"},
                                    {"is_logged_in": "yes", "sub": "1"}, {}])
def test_login_configured_but_no_usable_login_means_read_only(tmp_path, claims):
    store = store_for_visitor(tmp_path, auth_configured=True, claims=claims)
    assert store.readonly and store.readonly_reason == LOGIN_REASON and store.folder == tmp_path / "presets"
    with pytest.raises(PresetsReadOnly, match="Log in"):
        store.save("Nope", "", SCREEN)
    assert not (tmp_path / "presets").exists()


def test_the_read_only_setting_wins_over_a_login(tmp_path, monkeypatch):
    monkeypatch.setenv(READONLY_ENV, "1")
    for store in (store_for_visitor(tmp_path, True, ALICE), store_for_visitor(tmp_path, False, {})):
        with pytest.raises(PresetsReadOnly, match=READONLY_ENV):
            store.save("Nope", "", SCREEN)
    assert not (tmp_path / "presets").exists()


@pytest.mark.parametrize("namespace", ["../../etc", "users", "ABCDEF" * 6, "", "0" * 31, "g" * 32])
def test_a_namespace_is_only_ever_a_hash(tmp_path, namespace):
    with pytest.raises(ValueError):
        PresetStore(tmp_path, namespace=namespace)
    assert user_namespace("x") == hashlib.sha256(b"x").hexdigest()[:32]


# --- the pages -------------------------------------------------------------------------------


def test_a_logged_in_user_saves_into_their_own_folder_and_others_do_not_see_it(fresh_data_dir, monkeypatch):
    at = open_page("pages/1_Screener.py", fresh_data_dir, monkeypatch, user=ALICE)
    at.text_input(key="scr.save.name").set_value("Alice's pick")
    at.button(key="FormSubmitter:scr.save.form-Save preset").click()
    at.run()
    assert not at.exception
    assert (expected_folder(fresh_data_dir, ALICE["iss"], ALICE["sub"]) / "alice-s-pick.json").exists()
    assert not list((fresh_data_dir / "presets").glob("*.json"))
    assert any("private to your login" in c.value for c in at.caption)

    alice = open_page("pages/4_Presets.py", fresh_data_dir, monkeypatch, user=ALICE)
    bob = open_page("pages/4_Presets.py", fresh_data_dir, monkeypatch, user=BOB)
    names = {who: [d.value for d in page.dataframe if "matches" in d.value.columns][0]["name"].tolist()
             for who, page in (("alice", alice), ("bob", bob))}
    assert "Alice's pick" in names["alice"] and "Alice's pick" not in names["bob"]


def test_a_visitor_who_is_not_logged_in_cannot_save_and_is_offered_a_login(fresh_data_dir, monkeypatch):
    before = sorted(p.name for p in fresh_data_dir.rglob("*"))
    screener = open_page("pages/1_Screener.py", fresh_data_dir, monkeypatch, user={"is_logged_in": False})
    assert any("Log in to save presets" in info.value for info in screener.info)
    assert screener.button(key="scr.login") and not [t for t in screener.text_input if t.key == "scr.save.name"]
    presets = open_page("pages/4_Presets.py", fresh_data_dir, monkeypatch, user={"is_logged_in": False})
    assert any("Log in to save presets" in info.value for info in presets.info)
    assert presets.button(key="presets.login") and not list(presets.file_uploader)
    assert sorted(p.name for p in fresh_data_dir.rglob("*")) == before
