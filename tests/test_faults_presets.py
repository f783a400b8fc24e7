"""Presets under faults: 8 threads saving, renaming and deleting at once; hand-edited and
corrupt files; a full disk.  No preset that was reported saved is lost, no partial file is
ever seen or left behind.

The thread test keeps its own model of what must be on disk: each thread owns a few
names (so the last successful operation on a name is known exactly) and all threads also
overwrite a few shared names (whose final content must be one of the versions saved).

    RELIABILITY_PRESET_SECONDS=30 pytest tests/test_faults_presets.py -s    # a longer run
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from pathlib import Path

import duckdb
import pytest

from screener.cli import main as cli_main
from screener.fields import stocks_schema
from screener.presets import (
    MAX_FILE_BYTES, PresetError, PresetExists, PresetNotFound, PresetStore, slug_for_name,
)
from screener.screen import Filter, Screen, to_sql
from tests.support.faults import fill_disk, folder_digest, private_tmpfs_or_skip, temp_files, write_result

THREADS = 8
SECONDS = float(os.environ.get("RELIABILITY_PRESET_SECONDS", "2"))
SEED = int(os.environ.get("RELIABILITY_SEED", "20261120"))
OWN_NAMES = 4
SHARED_NAMES = ("Shared alpha", "Shared beta", "Shared gamma")


def screen_for(version: int) -> Screen:
    """A screen that carries its version, so a file's content says which save wrote it."""
    return Screen((Filter("roe", "gt", version / 1000),), limit=1 + version % 5000)


class Worker(threading.Thread):
    """Random saves (overwrite), renames, deletes and listings on the thread's own names and the shared ones."""

    def __init__(self, store: PresetStore, index: int, stop: threading.Event, start: threading.Barrier) -> None:
        super().__init__(name=f"preset-worker-{index}")
        self.store, self.index, self.stop, self.start_line = store, index, stop, start
        self.rng = random.Random(SEED + index)
        self.own: dict[str, tuple[int, str] | None] = {f"T{index} preset {k}": None for k in range(OWN_NAMES)}
        self.shared_saved: dict[str, set[int]] = {name: set() for name in SHARED_NAMES}
        self.ops = {"save": 0, "rename": 0, "delete": 0, "shared": 0, "list": 0, "refused": 0}
        self.seen_broken: list[str] = []
        self.errors: list[str] = []
        self.version = index * 1_000_000

    def run(self) -> None:
        self.start_line.wait()
        try:
            while not self.stop.is_set():
                self.step()
        except Exception as exc:  # noqa: BLE001 - reported by the test, with the thread's name
            self.errors.append(f"{self.name}: {type(exc).__name__}: {exc}")

    def step(self) -> None:
        action = self.rng.choice(["save", "save", "rename", "delete", "shared", "list"])
        name = self.rng.choice(list(self.own))
        self.version += 1
        if action == "save":
            self.store.save(name, f"v{self.version}", screen_for(self.version), overwrite=True)
            self.own[name] = (self.version, name)
        elif action == "rename":
            target = self.rng.choice([n for n in self.own if n != name])
            try:
                self.store.rename(slug_for_name(name), target)
            except (PresetNotFound, PresetExists):
                self.ops["refused"] += 1  # the model says why: absent source or taken target
                assert self.own[name] is None or self.own[target] is not None, (name, target)
                return
            self.own[target], self.own[name] = self.own[name], None
        elif action == "delete":
            try:
                self.store.delete(slug_for_name(name))
            except PresetNotFound:
                self.ops["refused"] += 1
                assert self.own[name] is None, name
                return
            self.own[name] = None
        elif action == "shared":
            shared = self.rng.choice(SHARED_NAMES)
            self.store.save(shared, f"v{self.version}", screen_for(self.version), overwrite=True)
            self.shared_saved[shared].add(self.version)
        else:
            listing = self.store.list_presets()
            self.seen_broken += [f"{b.path.name}: {b.reason}" for b in listing.broken]
        self.ops[action] += 1


def test_eight_threads_saving_renaming_and_deleting_lose_nothing(tmp_path):
    store = PresetStore(tmp_path, readonly=False)
    stop, start = threading.Event(), threading.Barrier(THREADS + 1)
    workers = [Worker(store, index, stop, start) for index in range(THREADS)]
    for worker in workers:
        worker.start()
    start.wait()
    time.sleep(SECONDS)
    stop.set()
    for worker in workers:
        worker.join(timeout=60)

    lost, resurrected = [], []
    on_disk = {p.slug: p for p in store.list_presets().presets if not p.builtin}
    for worker in workers:
        for name, state in worker.own.items():
            slug = slug_for_name(name)
            if state is None:
                if slug in on_disk:
                    resurrected.append(name)
                continue
            version, _ = state
            preset = on_disk.get(slug)
            if preset is None or preset.name != name or preset.screen != screen_for(version) \
                    or preset.description != f"v{version}":
                lost.append(f"{name}: expected v{version}, found {preset and preset.description}")
    for name in SHARED_NAMES:
        versions = set().union(*(w.shared_saved[name] for w in workers))
        preset = on_disk.get(slug_for_name(name))
        if versions and (preset is None or int(preset.description[1:]) not in versions
                         or preset.screen != screen_for(int(preset.description[1:]))):
            lost.append(f"{name}: {preset and preset.description} is none of the {len(versions)} versions saved")
    leftovers = [p.name for p in temp_files(tmp_path)]
    broken_now = [b.path.name for b in store.list_presets().broken]
    seen_broken = [b for w in workers for b in w.seen_broken]
    errors = [e for w in workers for e in w.errors]
    ops = {key: sum(w.ops[key] for w in workers) for key in workers[0].ops}
    total = sum(v for k, v in ops.items() if k != "refused")
    survived = total if not (lost or resurrected or leftovers or broken_now or seen_broken or errors) else 0
    write_result("faults_presets_threads", f"{THREADS} threads saving, renaming, deleting and listing presets "
                 f"for {SECONDS:g} s", runs=total, faults=total, survived=survived,
                 lost=len(lost) + len(leftovers) + len(broken_now),
                 figures={"ops_per_s": round(total / SECONDS), **ops, "presets_at_end": len(on_disk),
                          "partial_files_seen": len(seen_broken), "resurrected": len(resurrected)},
                 variant="full" if SECONDS >= 10 else "ci", command="pytest tests/test_faults_presets.py -s -k threads")
    print(f"\n[faults_presets_threads] {THREADS} threads, {SECONDS:g} s: {total:,} operations ({ops}); "
          f"lost {len(lost)}, resurrected {len(resurrected)}, partial files seen {len(seen_broken)}, "
          f"left {len(leftovers)}")
    assert errors == [] and lost == [] and resurrected == [] and leftovers == [] and broken_now == []
    assert seen_broken == []
    assert min(ops.values()) > 0, ops


# --- hand-edited and corrupt files --------------------------------------------------------------

GOOD = {"version": 1, "name": "Hand made", "description": "edited by hand",
        "screen": {"filters": [{"field": "roe", "op": "gt", "value": 0.1}], "sort": [], "columns": [], "limit": 50}}
SQL_TEXT = "x'); DROP TABLE stocks; --"


def edited(**changes) -> dict:
    document = json.loads(json.dumps(GOOD))
    document.update(changes)
    return document


def with_filter(entry: dict) -> dict:
    return edited(screen={**GOOD["screen"], "filters": [entry]})


#: case -> (file name, bytes, expected: ("loaded", check) or ("broken", words of the reason))
#: Why each way: a preset must never run with part of it silently dropped, so anything the
#: program does not understand makes the file broken (listed with the reason, deletable);
#: what is merely unusual but fully understood is loaded.
HAND_EDITED = {
    # Loaded: all of it is understood.
    "SQL text as a name value (only ever a parameter)": (
        "sql-in-value.json", json.dumps(with_filter({"field": "name", "op": "eq", "value": SQL_TEXT})), "loaded"),
    "SQL text as a sector (free text too)": (
        "sql-sector.json", json.dumps(with_filter({"field": "sector", "op": "in", "value": [SQL_TEXT, "Energy"]})),
        "loaded"),
    "file renamed by hand (the file name is the key)": ("renamed-by-hand.json", json.dumps(GOOD), "loaded"),
    "UTF-8 BOM from a Windows editor": ("with-bom.json", "\ufeff" + json.dumps(GOOD), "loaded"),
    "pretty-printed with unicode": ("unicode.json", json.dumps(edited(name="Qualité – 成長"), indent=4,
                                                               ensure_ascii=False), "loaded"),
    # Broken: something would be dropped, or it is not a preset of this version.
    "extra top-level key": ("extra-key.json", json.dumps(edited(author="me")), "unexpected keys 'author'"),
    "extra key in a filter": ("filter-key.json", json.dumps(with_filter({"field": "roe", "op": "gt", "value": 0.1,
                                                                        "note": "x"})), "unexpected keys"),
    "unknown field": ("unknown-field.json", json.dumps(with_filter({"field": "roe_5y", "op": "gt", "value": 1})),
                      "unknown field"),
    "SQL as a field name": ("sql-field.json", json.dumps(with_filter({"field": "roe; DROP TABLE stocks", "op": "gt",
                                                                      "value": 1})), "unknown field"),
    "SQL as a quality bucket": ("sql-bucket.json", json.dumps(with_filter({"field": "quality_bucket", "op": "eq",
                                                                           "value": SQL_TEXT})),
                                "quality_bucket is one of"),
    "a sql key in the screen": ("sql-key.json", json.dumps(edited(screen={**GOOD["screen"], "sql": "SELECT 1"})),
                                "ignored unknown key 'sql'"),
    "version 2": ("version-2.json", json.dumps(edited(version=2)), "unsupported preset version 2"),
    "version as text": ("version-text.json", json.dumps(edited(version="1")), "unsupported preset version '1'"),
    "version true": ("version-true.json", json.dumps(edited(version=True)), "unsupported preset version True"),
    "no version": ("no-version.json", json.dumps({k: v for k, v in GOOD.items() if k != "version"}),
                   "unsupported preset version None"),
    "NaN value": ("nan.json", json.dumps(GOOD).replace("0.1", "NaN"), "not a finite number"),
    "overflowing number": ("overflow.json", json.dumps(GOOD).replace("0.1", "1e999"), "not a finite number"),
    "limit out of range": ("limit.json", json.dumps(edited(screen={**GOOD["screen"], "limit": 10**9})),
                           "ignored limit"),
    "truncated JSON": ("truncated.json", json.dumps(GOOD)[:40], "not valid JSON"),
    "empty file": ("empty.json", "", "not valid JSON"),
    "binary garbage": ("garbage.json", b"\x89PNG\r\n\x1a\n\x00\xff\xfe", "not valid JSON"),
    "nesting bomb": ("deep.json", "[" * 100_000 + "]" * 100_000, "not valid JSON"),
    "larger than the limit": ("huge.json", json.dumps(edited(description="x" * (MAX_FILE_BYTES + 1))),
                              "larger than"),
    "control character in the name": ("control.json", json.dumps(edited(name="bad\u0007name")),
                                      "control characters"),
    "name too long": ("long-name.json", json.dumps(edited(name="n" * 61)), "at most 60 characters"),
    "not a JSON object": ("a-list.json", "[1, 2, 3]", "expected a JSON object"),
    "file name not a slug": ("My Preset.json", json.dumps(GOOD), "file name is not a preset slug"),
    "shadows a built-in": ("quality-breakout.json", json.dumps(GOOD), "shadow the built-in preset"),
}


def write_cases(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for file_name, content, _ in HAND_EDITED.values():
        data = content.encode("utf-8") if isinstance(content, str) else content
        (folder / file_name).write_bytes(data)
    (folder / "a-folder.json").mkdir()  # a directory where a file should be
    (folder / "dangling.json").symlink_to(folder / "does-not-exist.json")


def test_hand_edited_files_are_loaded_safely_or_listed_as_broken(tmp_path, capsys):
    store = PresetStore(tmp_path, readonly=False)
    write_cases(store.folder)
    listing = store.list_presets()  # must not raise, whatever is in the folder
    loaded = {p.slug: p for p in listing.presets if not p.builtin}
    broken = {b.path.name: b.reason for b in listing.broken}
    wrong = []
    for case, (file_name, _, expected) in HAND_EDITED.items():
        slug = file_name.removesuffix(".json")
        if expected == "loaded":
            if slug not in loaded:
                wrong.append(f"{case}: not loaded ({broken.get(file_name)})")
        elif expected not in broken.get(file_name, ""):
            wrong.append(f"{case}: expected broken with {expected!r}, got {broken.get(file_name)!r}")
        elif slug in loaded:
            wrong.append(f"{case}: loaded although broken")
    for extra in ("a-folder.json", "dangling.json"):
        if extra not in broken:
            wrong.append(f"{extra} not listed as broken")
    assert wrong == [], wrong
    # Broken files are refused by name too, never half-used; loaded ones behave.
    for name in ("extra-key", "version-2", "truncated"):
        with pytest.raises(PresetError):
            store.get(name)
    assert loaded["renamed-by-hand"].name == "Hand made"
    assert loaded["with-bom"].screen == loaded["renamed-by-hand"].screen
    # The SQL text is a value: the SQL names only catalog fields and the table still exists afterwards.
    screen = loaded["sql-in-value"].screen
    sql, params = to_sql(screen)
    assert SQL_TEXT not in sql and SQL_TEXT in params and "DROP" not in sql
    with duckdb.connect() as con:
        con.register("empty", stocks_schema().empty_table())
        con.execute("CREATE TABLE stocks AS SELECT * FROM empty")
        con.execute("INSERT INTO stocks (ticker, name) VALUES ('ABC', ?)", [SQL_TEXT])
        assert con.execute(sql, params).fetchall()[0][0] == "ABC"
        assert con.execute("SELECT count(*) FROM stocks").fetchone() == (1,)
    # Export carries only the usable ones; the CLI lists every file without crashing.
    exported = json.loads(store.export_all())
    assert sorted(p["name"] for p in exported["presets"]) == sorted(p.name for p in loaded.values())
    capsys.readouterr()
    assert cli_main(["presets", "list", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert all(f"{name}  [broken]" in out for name in broken)
    files = len(HAND_EDITED) + 2
    write_result("faults_presets_hand_edited", "hand-edited, corrupt and odd preset files in the presets folder",
                 inputs=files, faults=files, survived=files, lost=0,
                 figures={"loaded": len(loaded), "broken_with_reason": len(broken)},
                 command="pytest tests/test_faults_presets.py -s -k hand_edited")
    with capsys.disabled():
        print(f"\n[faults_presets_hand_edited] {files} files: {len(loaded)} loaded safely, {len(broken)} listed "
              "as broken with a reason")


def test_full_disk_refuses_every_write_and_changes_nothing(tmp_path):
    tmpfs = private_tmpfs_or_skip(tmp_path / "mnt", "1m")
    with tmpfs:
        store = PresetStore(tmpfs.path, readonly=False)
        for version, name in enumerate(("Alpha", "Beta", "Gamma"), start=1):
            store.save(name, f"v{version}", screen_for(version))
        before = folder_digest(store.folder)
        document = {"version": 1, "presets": [
            {"version": 1, "name": "New one", "description": "", "screen": {"filters": []}},
            {"version": 1, "name": "Alpha", "description": "replaced", "screen": {"filters": []}}]}
        filler = fill_disk(tmpfs.path)
        attempts = {
            "save a new preset": lambda: store.save("Delta", "", screen_for(4)),
            "overwrite a preset": lambda: store.save("Beta", "v9", screen_for(9), overwrite=True),
            "rename a preset": lambda: store.rename("gamma", "Gamma two"),
            "import with overwrite": lambda: store.import_json(json.dumps(document).encode(), overwrite=True),
        }
        outcomes = {}
        for label, attempt in attempts.items():
            with pytest.raises(PresetError) as refused:
                attempt()
            outcomes[label] = str(refused.value)
            assert "No space left on device" in outcomes[label], outcomes[label]
            assert folder_digest(store.folder) == before, label
            assert temp_files(tmpfs.path) == [], label
        store.delete("alpha")  # deleting needs no space and works on a full disk
        assert "alpha.json" not in folder_digest(store.folder)
        filler.unlink()
        store.save("Delta", "", screen_for(4))  # space is back
        kept = {p.slug: p.description for p in store.list_presets().presets if not p.builtin}
    assert kept == {"beta": "v2", "gamma": "v3", "delta": ""}
    write_result("faults_presets_disk_full", "preset save, overwrite, rename and import on a full 1 MB tmpfs",
                 runs=len(attempts) + 2, faults=len(attempts), survived=len(attempts), lost=0,
                 figures={"message": outcomes["save a new preset"]},
                 command="pytest tests/test_faults_presets.py -s -k full_disk")
    print(f"\n[faults_presets_disk_full] {len(attempts)} writes refused on a full disk, nothing changed: "
          f"{outcomes['save a new preset']}")
