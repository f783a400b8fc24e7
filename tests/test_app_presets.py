"""The Presets page through AppTest: list, open, rename, delete, import/export, escaping, read-only."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from screener.presets import BUILTIN_PRESETS, READONLY_ENV, PresetStore
from screener.screen import Filter, Screen, SortKey
from tests.support.apptest import open_page, plain, rerun

PRESETS_PAGE = "pages/4_Presets.py"
HOSTILE_NAMES = ["<script>alert(1)</script>", "**bold**", "[x](javascript:alert(1))", ":red[hi] $x$"]


def open_presets(data_dir: Path, monkeypatch, readonly: bool = False) -> AppTest:
    if readonly:
        monkeypatch.setenv(READONLY_ENV, "1")
    else:
        monkeypatch.delenv(READONLY_ENV, raising=False)
    return open_page(PRESETS_PAGE, data_dir, monkeypatch)


def folder_bytes(data_dir: Path) -> dict[str, bytes]:
    folder = data_dir / "presets"
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.json"))} if folder.exists() else {}


def listed(at: AppTest) -> pd.DataFrame:
    (table,) = [d.value for d in at.dataframe if "matches" in d.value.columns]
    return table


@pytest.fixture
def saved_dir(fresh_data_dir) -> Path:
    """The demo data folder with two ordinary saved presets and the hostile-named ones."""
    store = PresetStore(fresh_data_dir, readonly=False)
    store.save("Cheap growth", "P/E under 15", Screen((Filter("pe_trailing", "lt", 15.0),)))
    store.save("Big movers", "", Screen((Filter("return_3m", "gt", 0.3),), (SortKey("return_3m", True),)))
    for name in HOSTILE_NAMES:
        store.save(name, f"about {name}", Screen((Filter("roe", "gt", 0.1),)))
    return fresh_data_dir


def test_list_shows_builtins_then_saved_with_todays_counts(saved_dir, monkeypatch):
    at = open_presets(saved_dir, monkeypatch)
    table = listed(at)
    saved = sorted(["Cheap growth", "Big movers", *HOSTILE_NAMES], key=str.casefold)
    assert table["name"].tolist() == [p.name for p in BUILTIN_PRESETS] + saved
    assert table["kind"].tolist() == ["built-in"] * len(BUILTIN_PRESETS) + ["saved"] * len(saved)
    (stocks_path,) = saved_dir.glob("snapshots/date=*/stocks.parquet")
    frame = pd.read_parquet(stocks_path)
    counts = dict(zip(table["name"], table["matches"]))
    assert counts["Cheap growth"] == (frame["pe_trailing"] < 15).sum()
    assert counts["Big movers"] == (frame["return_3m"] > 0.3).sum()
    assert counts["**bold**"] == (frame["roe"] > 0.1).sum()


def test_hostile_names_are_literal_text_everywhere(saved_dir, monkeypatch):
    at = open_presets(saved_dir, monkeypatch)
    assert set(HOSTILE_NAMES) <= set(listed(at)["name"])  # dataframe cells are plain text
    options = at.selectbox(key="presets.pick").options
    for name in HOSTILE_NAMES:
        assert f"{name} · saved" in options
    store = PresetStore(saved_dir, readonly=False)
    slug = store.get("**bold**").slug
    at.selectbox(key="presets.pick").set_value(slug)
    rerun(at)
    at.text_input(key=f"presets.rename.{slug}").set_value("[y](javascript:alert(2)) <img src=x>")
    at.button(key="presets.rename.go").click()
    rerun(at)
    (success,) = at.success
    assert plain(success.value) == "Renamed '**bold**' to '[y](javascript:alert(2)) <img src=x>'."
    # nothing Markdown could act on is left bare
    assert re.search(r"(?<!\\)[*\[\]()<>`:$]", success.value) is None


def test_rename_moves_the_file_and_keeps_the_screen(saved_dir, monkeypatch):
    before = json.loads((saved_dir / "presets" / "cheap-growth.json").read_text())
    at = open_presets(saved_dir, monkeypatch)
    at.selectbox(key="presets.pick").set_value("cheap-growth")
    rerun(at)
    at.text_input(key="presets.rename.cheap-growth").set_value("Value growth")
    at.button(key="presets.rename.go").click()
    rerun(at)
    assert not (saved_dir / "presets" / "cheap-growth.json").exists()
    after = json.loads((saved_dir / "presets" / "value-growth.json").read_text())
    assert after["name"] == "Value growth" and after["screen"] == before["screen"]
    assert "Value growth" in listed(at)["name"].tolist()
    assert at.selectbox(key="presets.pick").value == "value-growth"


def test_rename_onto_an_existing_name_is_refused(saved_dir, monkeypatch):
    before = folder_bytes(saved_dir)
    at = open_presets(saved_dir, monkeypatch)
    at.selectbox(key="presets.pick").set_value("cheap-growth")
    rerun(at)
    at.text_input(key="presets.rename.cheap-growth").set_value("Big movers")
    at.button(key="presets.rename.go").click()
    rerun(at)
    assert any("already exists" in plain(e.value) for e in at.error)
    assert folder_bytes(saved_dir) == before


def test_delete_needs_confirmation(saved_dir, monkeypatch):
    at = open_presets(saved_dir, monkeypatch)
    at.selectbox(key="presets.pick").set_value("big-movers")
    rerun(at)
    assert at.button(key="presets.delete.go").disabled
    at.checkbox(key="presets.delete.confirm.big-movers").check()
    rerun(at)
    at.button(key="presets.delete.go").click()
    rerun(at)
    assert not (saved_dir / "presets" / "big-movers.json").exists()
    assert "Big movers" not in listed(at)["name"].tolist()
    assert plain(at.success[0].value) == "Deleted 'Big movers'."


def test_builtins_cannot_be_renamed_or_deleted_here(saved_dir, monkeypatch):
    at = open_presets(saved_dir, monkeypatch)
    at.selectbox(key="presets.pick").set_value("quality-breakout")
    rerun(at)
    assert not [b for b in at.button if b.key in ("presets.rename.go", "presets.delete.go")]
    assert any("Built-in presets live in the code" in c.value for c in at.caption)


@pytest.mark.parametrize("payload, reason", [
    (b"{not json", "not valid JSON"),
    (json.dumps({"version": 99, "name": "X", "screen": {}}).encode(), "unsupported preset version"),
    (json.dumps({"version": 1, "name": "X", "screen": {"filters": [{"field": "nope", "op": "gt", "value": 1}]}})
     .encode(), "unknown field"),
    (json.dumps({"version": 1, "presets": [
        {"version": 1, "name": "Fine", "screen": {"filters": []}},
        {"version": 1, "name": "Quality compounders", "screen": {"filters": []}}]}).encode(), "built-in"),
    (json.dumps({"version": 1, "name": "Cheap growth", "screen": {"filters": []}}).encode(), "already saved"),
    (b"\xff\xfe garbage", "not valid JSON"),
])
def test_bad_import_is_refused_with_the_reason_and_changes_nothing(saved_dir, monkeypatch, payload, reason):
    before = folder_bytes(saved_dir)
    at = open_presets(saved_dir, monkeypatch)
    names_before = listed(at)["name"].tolist()
    upload = next(u for u in at.file_uploader if u.key.startswith("presets.upload."))
    upload.set_value(("bad.json", payload, "application/json"))
    at.button(key="presets.import.go").click()
    rerun(at)
    assert any(reason in plain(e.value) for e in at.error), [plain(e.value) for e in at.error]
    assert folder_bytes(saved_dir) == before
    assert listed(at)["name"].tolist() == names_before


def test_good_import_adds_the_presets(fresh_data_dir, monkeypatch):
    document = {"version": 1, "presets": [
        {"version": 1, "name": "Imported one", "description": "from a friend",
         "screen": {"filters": [{"field": "rs_rating", "op": "gte", "value": 80}], "sort": [], "columns": [],
                    "limit": 50}},
        {"version": 1, "name": "Imported **two**", "screen": {"filters": [{"field": "sector", "op": "in",
                                                                           "value": ["Energy"]}]}}]}
    at = open_presets(fresh_data_dir, monkeypatch)
    upload = next(u for u in at.file_uploader if u.key.startswith("presets.upload."))
    upload.set_value(("mine.json", json.dumps(document).encode(), "application/json"))
    at.button(key="presets.import.go").click()
    rerun(at)
    assert plain(at.success[0].value) == "Imported 2 preset(s): 'Imported one', 'Imported **two**'."
    assert {"Imported one", "Imported **two**"} <= set(listed(at)["name"])
    stored = PresetStore(fresh_data_dir, readonly=False).get("imported-one")
    assert stored.screen == Screen((Filter("rs_rating", "gte", 80),), limit=50)
    assert not [u for u in at.file_uploader if u.value]  # the uploader is cleared for the next file


def test_open_in_screener_switches_page_with_the_preset(saved_dir, monkeypatch):
    at = open_presets(saved_dir, monkeypatch)
    at.selectbox(key="presets.pick").set_value("big-movers")
    rerun(at)
    at.button(key="presets.open").click()
    rerun(at)
    assert at.selectbox(key="scr.preset").value == "big-movers"
    (stocks_path,) = saved_dir.glob("snapshots/date=*/stocks.parquet")
    expected = (pd.read_parquet(stocks_path)["return_3m"] > 0.3).sum()
    headline = next(h.value for h in at.subheader if "stocks match" in h.value)
    assert headline.startswith(f"{expected:,} of ")


def test_broken_file_is_listed_with_its_reason_and_can_be_deleted(saved_dir, monkeypatch):
    (saved_dir / "presets" / "half-written.json").write_text('{"version": 1, "name": ')
    at = open_presets(saved_dir, monkeypatch)
    assert any("cannot be used" in w.value for w in at.warning)
    assert any("half-written.json" in plain(m.value) and "not valid JSON" in plain(m.value) for m in at.markdown)
    at.button(key="presets.broken.0").click()
    rerun(at)
    assert not (saved_dir / "presets" / "half-written.json").exists()
    assert not any("cannot be used" in w.value for w in at.warning)


def test_read_only_mode_hides_every_change(saved_dir, monkeypatch):
    (saved_dir / "presets" / "half-written.json").write_text("{")
    before = folder_bytes(saved_dir)
    at = open_presets(saved_dir, monkeypatch, readonly=True)
    assert any("read-only" in info.value for info in at.info)
    at.selectbox(key="presets.pick").set_value("cheap-growth")
    rerun(at)
    keys = {w.key for w in [*at.button, *at.text_input, *at.checkbox]}
    assert not keys & {"presets.rename.go", "presets.delete.go", "presets.import.go", "presets.broken.0"}
    assert not list(at.file_uploader)
    assert at.button(key="presets.open")  # opening still works
    assert folder_bytes(saved_dir) == before


def test_page_runs_without_a_snapshot(tmp_path, monkeypatch):
    at = open_presets(tmp_path / "empty", monkeypatch)
    assert any("No snapshot yet" in info.value for info in at.info)
