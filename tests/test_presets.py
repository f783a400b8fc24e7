"""Presets: built-ins, saved files (names, slugs, corrupt files), import/export all-or-nothing,
read-only mode, and concurrent writers (threads and processes)."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import re
import threading
from pathlib import Path

import pytest

import screener.presets as presets_module
from screener.presets import (
    BUILTIN_PRESETS, READONLY_ENV, PresetError, PresetExists, PresetNotFound, PresetsReadOnly, PresetStore,
)
from screener.screen import Filter, Screen, SortKey, from_dict, from_query, to_dict, to_query, to_sql

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
BREAKOUT = Screen((Filter("revenue_growth", "gt", 0.2), Filter("sector", "in", ("Energy", "Utilities"))),
                  (SortKey("rs_rating", True),), ("ticker", "name"), 50)


@pytest.fixture
def store(tmp_path) -> PresetStore:
    return PresetStore(tmp_path, readonly=False)


def folder_state(store: PresetStore) -> dict[str, bytes]:
    if not store.folder.exists():
        return {}
    return {p.name: p.read_bytes() for p in store.folder.iterdir() if p.name != ".lock"}


# --- built-ins -------------------------------------------------------------------------


def test_builtins_have_stable_slugs_and_the_seed_screen_is_the_design_one():
    assert [p.slug for p in BUILTIN_PRESETS] == [
        "quality-breakout", "quality-compounders", "insider-momentum", "oversold-quality", "junk-rally"]
    seed = BUILTIN_PRESETS[0]
    assert seed.name == "Quality small-cap breakout"
    assert seed.screen.filters == (
        Filter("earnings_growth", "gt", 0.0), Filter("debt_to_equity", "lt", 1.0),
        Filter("revenue_growth", "gt", 0.1), Filter("insider_buying", "is_true"),
        Filter("rs_6m", "gt", 0.0), Filter("volume_surge", "gte", 2.0))


def test_a_preset_screen_carries_its_slug_into_links():
    url = to_query(BUILTIN_PRESETS[0].screen_with_slug())
    assert url.endswith("&sort=-volume_surge&preset=quality-breakout")
    assert from_query(url)[0].preset == "quality-breakout"


def test_builtins_are_described_valid_and_runnable():
    for preset in BUILTIN_PRESETS:
        assert preset.builtin and preset.description and "\n" not in preset.description
        assert SLUG.match(preset.slug)
        assert from_dict(to_dict(preset.screen)) == (preset.screen, [])
        to_sql(preset.screen)


# --- save / get / list / rename / delete -----------------------------------------------


def test_save_get_list_rename_delete(store):
    saved = store.save("  My breakout ", "Energy and utilities growing fast",
                       dataclasses.replace(BREAKOUT, preset="quality-breakout"))
    assert (saved.slug, saved.name, saved.builtin) == ("my-breakout", "My breakout", False)
    assert saved.screen == BREAKOUT  # the slug of the screen's origin is not stored
    document = json.loads((store.folder / "my-breakout.json").read_text())
    assert document == {"version": 1, "name": "My breakout",
                        "description": "Energy and utilities growing fast", "screen": to_dict(BREAKOUT)}
    assert store.get("my-breakout") == saved == store.get("My Breakout")
    listing = store.list_presets()
    assert [p.slug for p in listing.presets] == [*(p.slug for p in BUILTIN_PRESETS), "my-breakout"]
    assert listing.broken == ()

    renamed = store.rename("my-breakout", "Energy momentum")
    assert renamed.slug == "energy-momentum" and renamed.screen == BREAKOUT
    assert not (store.folder / "my-breakout.json").exists()
    with pytest.raises(PresetNotFound):
        store.get("my-breakout")
    store.delete("energy-momentum")
    assert [p.builtin for p in store.list_presets().presets] == [True] * len(BUILTIN_PRESETS)
    with pytest.raises(PresetNotFound):
        store.delete("energy-momentum")


def test_existing_names_need_overwrite_and_builtins_cannot_be_shadowed_or_changed(store):
    store.save("Mine", "", BREAKOUT)
    with pytest.raises(PresetExists):
        store.save("MINE", "", Screen())
    assert store.save("mine", "replaced", Screen(), overwrite=True).description == "replaced"
    assert store.get("mine").screen == Screen()
    with pytest.raises(PresetExists, match="built-in"):
        store.save("Quality breakout", "", BREAKOUT, overwrite=True)
    with pytest.raises(PresetExists, match="built-in"):
        store.rename("mine", "quality-breakout")
    with pytest.raises(PresetError):
        store.delete("quality-breakout")
    with pytest.raises(PresetError):
        store.rename("quality-breakout", "Anything")
    store.save("Other", "", Screen())
    with pytest.raises(PresetExists):
        store.rename("mine", "Other")
    assert store.get("quality-breakout") is BUILTIN_PRESETS[0]
    assert store.get("Quality small-cap breakout") is BUILTIN_PRESETS[0]


@pytest.mark.parametrize("name, slug", [
    ("../x", "x"),
    (".hidden", "hidden"),
    ("a/b", "a-b"),
    ("..\\..\\windows", "windows"),
    ("Qualité Énergie", "qualite-energie"),
    ("Low P/E + high ROE", "low-p-e-high-roe"),
])
def test_awkward_names_get_safe_slugs_inside_the_presets_folder(store, name, slug):
    preset = store.save(name, "", Screen())
    assert preset.slug == slug and SLUG.match(preset.slug)
    assert (store.folder / f"{slug}.json").resolve().parent == store.folder.resolve()
    all_files = [p for p in store.folder.parent.rglob("*") if p.is_file()]
    assert all(p.parent == store.folder for p in all_files)


def test_a_name_without_latin_letters_gets_a_stable_hash_slug(store):
    first = store.save("日本株", "", Screen())
    assert re.fullmatch(r"preset-[0-9a-f]{10}", first.slug)
    assert store.get("日本株") == first


@pytest.mark.parametrize("name, message", [
    ("", "empty"),
    ("   ", "empty"),
    ("x" * 500, "at most 60"),
    ("a\x00b", "control"),
    ("line\nbreak", "control"),
    ("con", "reserved"),
    ("LPT1", "reserved"),
    (None, "text"),
])
def test_bad_names_are_refused_and_nothing_is_written(store, name, message):
    with pytest.raises(PresetError, match=message):
        store.save(name, "", Screen())
    assert folder_state(store) == {}


def test_hostile_lookups_are_not_found(store):
    for probe in ("../../etc/passwd", "/etc/passwd", ".lock", "", "con"):
        with pytest.raises(PresetNotFound):
            store.get(probe)


def test_bad_descriptions_and_non_screens_are_refused(store):
    with pytest.raises(PresetError):
        store.save("ok", "x" * 301, Screen())
    with pytest.raises(PresetError):
        store.save("ok", "two\nlines", Screen())
    with pytest.raises(PresetError):
        store.save("ok", "", {"filters": [], "sql": "DROP TABLE stocks"})  # type: ignore[arg-type]
    assert folder_state(store) == {}


# --- broken files ----------------------------------------------------------------------


def test_corrupt_and_hand_edited_files_are_listed_as_broken_never_crash(store):
    store.save("Good one", "", BREAKOUT)
    good = json.loads((store.folder / "good-one.json").read_text())
    hand_edited = dict(good, screen=dict(good["screen"], filters=[{"field": "nope", "op": "gt", "value": 1}]))
    files = {
        "truncated.json": b'{"version": 1, "name": "Trunc',
        "binary.json": b"\xff\xfe\x00garbage",
        "list.json": b"[1, 2, 3]",
        "deep.json": b"[" * 100_000 + b"]" * 100_000,
        "future.json": json.dumps(dict(good, version=2)).encode(),
        "sql.json": json.dumps(dict(good, sql="DROP TABLE stocks")).encode(),
        "hand-edited.json": json.dumps(hand_edited).encode(),
        "Bad Name.json": json.dumps(good).encode(),
        "quality-breakout.json": json.dumps(good).encode(),
    }
    for name, content in files.items():
        (store.folder / name).write_bytes(content)
    listing = store.list_presets()
    assert [p.slug for p in listing.presets if not p.builtin] == ["good-one"]
    reasons = {b.path.name: b.reason for b in listing.broken}
    assert set(reasons) == set(files)
    assert "unknown field 'nope'" in reasons["hand-edited.json"]
    assert "version 2" in reasons["future.json"]
    assert "'sql'" in reasons["sql.json"]
    assert "built-in" in reasons["quality-breakout.json"]
    assert "not valid JSON" in reasons["truncated.json"]
    with pytest.raises(PresetError):
        store.get("hand-edited")
    store.delete("hand-edited")  # a broken file can still be removed
    assert "hand-edited.json" not in {b.path.name for b in store.list_presets().broken}


# --- export / import -------------------------------------------------------------------


def test_export_then_import_into_an_empty_store_restores_everything(tmp_path, store):
    store.save("One", "first", BREAKOUT)
    store.save("Two", "", Screen((Filter("insider_buying", "is_true"),)))
    exported = store.export_all()
    assert [d["name"] for d in json.loads(exported)["presets"]] == ["One", "Two"]
    fresh = PresetStore(tmp_path / "other", readonly=False)
    imported, notes = fresh.import_json(exported)
    assert [p.slug for p in imported] == ["one", "two"] and notes == []
    assert folder_state(fresh) == folder_state(store)
    again, notes = fresh.import_json(exported)
    assert again == [] and len(notes) == 2 and all("unchanged" in n for n in notes)


def test_a_single_preset_document_can_be_imported(store):
    document = {"version": 1, "name": "Solo", "description": "", "screen": to_dict(BREAKOUT)}
    imported, _ = store.import_json(json.dumps(document).encode())
    assert store.get("solo").screen == BREAKOUT and imported[0].slug == "solo"


def good_document(name: str) -> dict:
    return {"version": 1, "name": name, "description": "", "screen": to_dict(BREAKOUT)}


@pytest.mark.parametrize("payload, message", [
    (b"{not json", "not valid JSON"),
    (b"\xff\xfe", "not valid JSON"),
    (b"[" * 50_000, "not valid JSON"),
    (json.dumps({"version": 2, "presets": []}).encode(), "expected"),
    (json.dumps({"version": 1, "presets": {}}).encode(), "not a list"),
    (json.dumps({"version": 1, "presets": [good_document("New A"), {"version": 1, "name": "Bad",
                 "screen": {"filters": [{"field": "roe", "op": "gt", "value": "1; DROP"}]}}]}).encode(),
     "preset #2"),
    (json.dumps({"version": 1, "presets": [good_document("New A"), good_document("")]}).encode(), "empty"),
    (json.dumps({"version": 1, "presets": [good_document("New A"), good_document("new a")]}).encode(),
     "same file name"),
    (json.dumps({"version": 1, "presets": [good_document("Quality breakout")]}).encode(), "built-in"),
    (json.dumps({"version": 1, "presets": [dict(good_document("X"), sql="SELECT 1")]}).encode(), "'sql'"),
    (json.dumps({"version": 1, "presets": [good_document("Existing")]}).encode(), "already saved"),
])
def test_a_bad_import_is_refused_with_its_reason_and_changes_nothing(store, payload, message):
    store.save("Existing", "", Screen())
    before = folder_state(store)
    with pytest.raises(PresetError, match=message):
        store.import_json(payload)
    assert folder_state(store) == before


def test_import_overwrite_replaces_and_says_so(store):
    store.save("Existing", "", Screen())
    payload = json.dumps({"version": 1, "presets": [good_document("Existing"), good_document("Fresh")]}).encode()
    imported, notes = store.import_json(payload, overwrite=True)
    assert [p.slug for p in imported] == ["existing", "fresh"]
    assert store.get("existing").screen == BREAKOUT
    assert notes == ["'Existing' replaced the saved preset existing.json"]


def test_an_import_failing_halfway_is_undone(store, monkeypatch):
    store.save("Existing", "", Screen())
    before = folder_state(store)
    real_write = presets_module.write_json_atomic
    calls = []

    def failing_write(path, payload):
        calls.append(path)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        real_write(path, payload)

    monkeypatch.setattr(presets_module, "write_json_atomic", failing_write)
    payload = json.dumps({"version": 1, "presets": [good_document("Existing"), good_document("Fresh"),
                                                    good_document("Third")]}).encode()
    with pytest.raises(PresetError, match="undone"):
        store.import_json(payload, overwrite=True)
    assert folder_state(store) == before


# --- read-only -------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["flag", "env"])
def test_read_only_mode_refuses_every_write_and_still_reads(tmp_path, monkeypatch, how):
    PresetStore(tmp_path, readonly=False).save("Kept", "", BREAKOUT)
    if how == "env":
        monkeypatch.setenv(READONLY_ENV, "1")
        store = PresetStore(tmp_path)
    else:
        store = PresetStore(tmp_path, readonly=True)
    before = folder_state(store)
    attempts = [
        lambda: store.save("New", "", Screen()),
        lambda: store.rename("kept", "Other"),
        lambda: store.delete("kept"),
        lambda: store.import_json(json.dumps(good_document("Imported")).encode()),
    ]
    for attempt in attempts:
        with pytest.raises(PresetsReadOnly, match=READONLY_ENV):
            attempt()
    assert folder_state(store) == before
    assert store.get("kept").screen == BREAKOUT and len(store.list_presets().presets) == len(BUILTIN_PRESETS) + 1


def test_read_only_env_off_means_writable(tmp_path, monkeypatch):
    monkeypatch.setenv(READONLY_ENV, "0")
    assert PresetStore(tmp_path).save("Fine", "", Screen()).slug == "fine"


# --- concurrency -----------------------------------------------------------------------


def run_threads(count: int, target) -> list[BaseException]:
    errors: list[BaseException] = []

    def guarded(index: int) -> None:
        try:
            target(index)
        except BaseException as exc:  # collected and asserted on by the test
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_eight_threads_saving_at_once_all_land_valid(store):
    def save_many(index: int) -> None:
        for round_ in range(5):
            screen = Screen((Filter("rs_rating", "gte", index * 10 + round_),))
            store.save(f"Thread {index}", f"round {round_}", screen, overwrite=True)
            store.save(f"Thread {index} copy {round_}", "", screen)

    assert run_threads(8, save_many) == []
    listing = store.list_presets()
    assert listing.broken == ()
    saved = {p.slug: p for p in listing.presets if not p.builtin}
    assert len(saved) == 8 + 8 * 5
    for index in range(8):
        assert saved[f"thread-{index}"].screen.filters[0].value == index * 10 + 4
        assert saved[f"thread-{index}"].description == "round 4"
    assert not [p for p in store.folder.iterdir() if p.name.endswith(".tmp")]


def test_same_name_saved_by_eight_threads_without_overwrite_wins_once(store):
    errors = run_threads(8, lambda i: store.save("Contested", str(i), Screen()))
    assert len(errors) == 7 and all(isinstance(e, PresetExists) for e in errors)
    assert store.get("contested").description in {str(i) for i in range(8)}


def test_readers_never_see_a_partial_file_while_a_writer_rewrites(store):
    store.save("Busy", "", BREAKOUT)
    stop = threading.Event()

    def write(_: int) -> None:
        for round_ in range(60):
            store.save("Busy", f"round {round_}", BREAKOUT, overwrite=True)
        stop.set()

    def read(_: int) -> None:
        while not stop.is_set():
            assert store.get("busy").screen == BREAKOUT
            assert store.list_presets().broken == ()

    errors = run_threads(3, lambda i: write(i) if i == 0 else read(i))
    assert errors == []


def _process_saves(data_dir: str, index: int) -> None:
    store = PresetStore(Path(data_dir), readonly=False)
    for round_ in range(10):
        store.save(f"Proc {index} n{round_}", "", Screen((Filter("roe", "gt", float(round_)),)))
        store.save("Shared", f"proc {index}", Screen(), overwrite=True)


def test_processes_saving_at_once_all_land_valid(store):
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_process_saves, args=(str(store.folder.parent), i)) for i in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
    assert [p.exitcode for p in processes] == [0, 0, 0, 0]
    listing = store.list_presets()
    assert listing.broken == ()
    assert len([p for p in listing.presets if not p.builtin]) == 4 * 10 + 1
