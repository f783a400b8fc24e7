"""A damaged newest snapshot, in every way we could think of: readers fall back to the newest
good one and say why (store, CLI, every app page), and the next nightly run publishes as usual;
a same-date rerun replaces the damaged folder.

The damage is done by hand to a copy of a good folder, one kind per folder, so each reason
can be checked against what was broken.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from screener import store
from screener.cli import main as cli_main
from screener.nightly import EXIT_OK, NightlyOptions, run_nightly
from screener.ui.text import escape_markdown
from tests.support.apptest import open_page
from tests.support.faults import folder_digest, write_result
from tests.test_nightly import tiny_market

PAGES = ("app.py", "pages/1_Screener.py", "pages/2_Quality_vs_Junk.py", "pages/3_Stock.py", "pages/4_Presets.py",
         "pages/5_Data.py")


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _wrong_type(path: Path) -> None:
    table = pq.read_table(path)
    index = table.schema.get_field_index("roe")
    pq.write_table(table.set_column(index, "roe", table.column("roe").cast(pa.string())), path)


def _row_count(path: Path) -> None:
    run = json.loads(path.read_text())
    run["tickers_written"] = run["tickers_written"] + 1
    path.write_text(json.dumps(run))


#: kind -> (file damaged, how, words the skip reason must hold)
DAMAGE = {
    "truncated stocks.parquet": ("stocks.parquet", _truncate, "stocks.parquet is unreadable"),
    "truncated prices.parquet": ("prices.parquet", _truncate, "prices.parquet is unreadable"),
    "empty stocks.parquet": ("stocks.parquet", lambda p: p.write_bytes(b""), "stocks.parquet is unreadable"),
    "missing stocks.parquet": ("stocks.parquet", Path.unlink, "stocks.parquet is missing"),
    "missing run.json": ("run.json", Path.unlink, "run.json is missing"),
    "garbage run.json": ("run.json", lambda p: p.write_bytes(b"\x00\xff{garbage"), "run.json is unreadable"),
    "run.json not an object": ("run.json", lambda p: p.write_text("[1, 2]"), "not a JSON object"),
    "wrong column type": ("stocks.parquet", _wrong_type, "does not match the catalog schema: roe"),
    "row count differs from run.json": ("run.json", _row_count, "but run.json says"),
}


def damage(good: Path, target: Path, kind: str) -> None:
    """``target`` = a copy of the good folder ``good`` with one kind of damage."""
    shutil.copytree(good, target)
    name, how, _ = DAMAGE[kind]
    how(target / name)


def nightly(data_dir: Path, as_of: dt.date, seed: int) -> int:
    options = NightlyOptions(source="files", as_of=as_of, data_dir=data_dir)
    market = tiny_market(as_of, seed=seed)
    return run_nightly(options, progress=lambda *_: None, out=io.StringIO(),
                       loader=lambda _o, _p: market).exit_code


GOOD_DAY, BAD_DAY, NEXT_DAY = dt.date(2024, 3, 7), dt.date(2024, 3, 8), dt.date(2024, 3, 11)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> tuple[Path, Path]:
    """A data folder with two good snapshots, and a good folder for BAD_DAY to damage copies of."""
    data_dir = tmp_path_factory.mktemp("corrupt-template")
    assert nightly(data_dir, dt.date(2024, 3, 6), seed=1) == EXIT_OK
    assert nightly(data_dir, GOOD_DAY, seed=2) == EXIT_OK
    scratch = tmp_path_factory.mktemp("corrupt-scratch")
    assert nightly(scratch, BAD_DAY, seed=3) == EXIT_OK
    return data_dir, store.snapshot_path(scratch, BAD_DAY)


def problems_with(kind: str, data_dir: Path, capsys) -> list[str]:
    """What goes wrong when the newest snapshot has this kind of damage (empty: nothing)."""
    problems = []
    good_before = folder_digest(store.snapshot_path(data_dir, GOOD_DAY))
    latest, skipped = store.latest_snapshot(data_dir)
    if latest is None or latest.date != GOOD_DAY:
        problems.append(f"latest_snapshot gave {latest and latest.date}, not {GOOD_DAY}")
    if [s.path.name for s in skipped] != [f"date={BAD_DAY}"] or DAMAGE[kind][2] not in skipped[0].reason:
        problems.append(f"skip reason: {[(s.path.name, s.reason) for s in skipped]}")
    capsys.readouterr()
    code = cli_main(["screen", "--preset", "quality-breakout", "--data-dir", str(data_dir)])
    out, err = capsys.readouterr()
    if code != 0 or f"warning: skipped damaged snapshot date={BAD_DAY}" not in err or DAMAGE[kind][2] not in err:
        problems.append(f"CLI did not warn: exit {code}, stderr {err[:200]!r}")
    if f"snapshot {GOOD_DAY}" not in out or "of 30 stocks match" not in out:
        problems.append(f"CLI did not use the good snapshot: {out[:200]!r}")
    if nightly(data_dir, NEXT_DAY, seed=4) != EXIT_OK or store.latest_snapshot(data_dir)[0].date != NEXT_DAY:
        problems.append("the next nightly run did not publish")
    if nightly(data_dir, BAD_DAY, seed=5) != EXIT_OK:  # same date: swaps the damaged folder out
        problems.append("the same-date rerun failed")
    good, skipped = store.list_snapshots(data_dir)
    if skipped or BAD_DAY not in [s.date for s in good]:
        problems.append(f"the same-date rerun left {[(s.path.name, s.reason) for s in skipped]}")
    if folder_digest(store.snapshot_path(data_dir, GOOD_DAY)) != good_before:
        problems.append("the good snapshot changed")
    return problems


def test_store_and_cli_fall_back_and_the_next_runs_recover(template, tmp_path, capsys):
    data_template, good_bad_day = template
    problems = {}
    for index, kind in enumerate(DAMAGE):
        data_dir = tmp_path / f"case-{index}"
        shutil.copytree(data_template, data_dir)
        damage(good_bad_day, store.snapshot_path(data_dir, BAD_DAY), kind)
        found = problems_with(kind, data_dir, capsys)
        if found:
            problems[kind] = found
    lost = sum("good snapshot changed" in p for found in problems.values() for p in found)
    write_result("faults_snapshot_corrupt", f"{len(DAMAGE)} kinds of damaged newest snapshot: store fallback, "
                 "`screen` warning, next run, same-date rerun", runs=4 * len(DAMAGE), faults=len(DAMAGE),
                 survived=len(DAMAGE) - len(problems), lost=lost,
                 figures={"kinds": ", ".join(DAMAGE)}, command="pytest tests/test_faults_snapshot_corrupt.py -s")
    with capsys.disabled():
        print(f"\n[faults_snapshot_corrupt] {len(DAMAGE)} kinds: {len(DAMAGE) - len(problems)} survived, "
              f"lost {lost}")
    assert problems == {}


def test_every_page_falls_back_and_says_so(fresh_data_dir, monkeypatch):
    """Every kind at once: nine damaged folders newer than the demo snapshot, one per kind."""
    good = store.latest_snapshot(fresh_data_dir)[0]
    damaged = {}
    day = good.date
    for kind in DAMAGE:
        day += dt.timedelta(days=1)
        damaged[kind] = f"date={day.isoformat()}"
        damage(good.path, store.snapshots_dir(fresh_data_dir) / damaged[kind], kind)
    (store.snapshots_dir(fresh_data_dir) / "date=2026-13-45").mkdir()  # not a date at all
    notes_seen = 0
    problems = []
    for page in PAGES:
        at = open_page(page, fresh_data_dir, monkeypatch, timeout=60, check=False)
        if at.exception:
            problems.append(f"{page}: {[e.value for e in at.exception]}")
            continue
        errors = [e.value for e in at.sidebar.error]
        for kind, folder in [*damaged.items(), ("not a date", "date=2026-13-45")]:
            # The note is Markdown with every punctuation mark escaped (it can quote a tampered file).
            note = [e for e in errors if escape_markdown(folder) in e]
            reason = DAMAGE[kind][2] if kind in DAMAGE else "is not a valid date"
            if not (note and escape_markdown(reason) in note[0]
                    and f"Showing {good.date:%Y-%m-%d} instead" in note[0]):
                problems.append(f"{page}: no fallback note for {kind}")
            else:
                notes_seen += 1
        if not at.title or at.title[0].value not in (
                "Overview", "Screener", "Quality vs Junk", "Stock", "Presets", "Data"):
            problems.append(f"{page}: no page title")
    expected = len(PAGES) * (len(DAMAGE) + 1)  # each page: one note per damaged folder, and the bad name
    write_result("faults_snapshot_pages", f"every app page with {len(DAMAGE) + 1} damaged snapshots newer "
                 "than the good one", runs=len(PAGES), faults=len(DAMAGE) + 1,
                 survived=len(DAMAGE) + 1 if not problems else 0, lost=0,
                 figures={"pages": len(PAGES), "fallback_notes_seen": notes_seen, "notes_expected": expected},
                 command="pytest tests/test_faults_snapshot_corrupt.py -s -k page")
    print(f"\n[faults_snapshot_pages] {len(DAMAGE) + 1} damaged folders x {len(PAGES)} pages: {notes_seen} of "
          f"{expected} fallback notes, {len(problems)} problems")
    assert problems == []
