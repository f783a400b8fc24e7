"""One night's fetch progress on disk, so a killed run resumes where it stopped.

Layout: ``<cache>/checkpoint-<key>/`` holds ``plan.json`` (what tonight fetches, fixed
when the night starts so a resumed run does not re-plan), ``universe.parquet`` and
numbered part files, one per finished batch.  Each part is a Parquet file written to a
temporary name and renamed into place, so it is either complete or absent; its rows are
the batch's results and its key-value metadata names the tickers it settled, their
failures and the request count so far.  A part never needs rewriting, so a checkpoint
costs one small write per batch, not a growing rewrite.

The key is the night (the requested as-of date, else today's New York date): a run
the next day starts a fresh checkpoint.  :meth:`Checkpoint.stale` finds the folders of
earlier nights, so the source can keep the fundamentals they fetched before removing them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from screener.store import write_json_atomic

_META_KEY = b"screener.checkpoint"
_PART = re.compile(r"^part-(\d{6})-([a-z_]+)\.parquet$")
_DIR_PREFIX = "checkpoint-"


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Have ``write`` fill a temporary file beside ``path``, flush it to disk, rename it into place.

    Readers (and a resumed run after a kill) see the file complete or not at all.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        write(tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_parquet_atomic(table: pa.Table, path: Path) -> None:
    write_atomic(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))


@dataclass
class Part:
    """One finished batch: result rows, and what it settled."""

    phase: str
    rows: pd.DataFrame
    tickers: list[str]
    failures: dict[str, str] = field(default_factory=dict)
    requests: int = 0
    run_id: str = ""


class Checkpoint:
    """The checkpoint folder of one night (see module doc)."""

    def __init__(self, cache_dir: Path, key: str) -> None:
        self.path = Path(cache_dir) / f"{_DIR_PREFIX}{key}"
        self.key = key
        self.run_id = uuid.uuid4().hex[:12]
        self._next = 1 + max((int(m.group(1)) for m in self._part_matches()), default=0)

    # -- lifecycle --

    @classmethod
    def stale(cls, cache_dir: Path, key: str) -> list["Checkpoint"]:
        """Checkpoints of other nights still on disk (runs killed and never resumed)."""
        root = Path(cache_dir)
        if not root.exists():
            return []
        return [cls(root, folder.name[len(_DIR_PREFIX):]) for folder in sorted(root.iterdir())
                if folder.is_dir() and folder.name.startswith(_DIR_PREFIX) and folder.name != f"{_DIR_PREFIX}{key}"]

    def exists(self) -> bool:
        return (self.path / "plan.json").exists()

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    # -- plan and universe --

    def save_plan(self, plan: dict[str, Any], universe: pd.DataFrame) -> None:
        """Write the universe, then the plan: a plan on disk always has its universe beside it."""
        write_parquet_atomic(pa.Table.from_pandas(universe, preserve_index=False), self.path / "universe.parquet")
        write_json_atomic(self.path / "plan.json", plan)

    def load_plan(self) -> tuple[dict[str, Any], pd.DataFrame]:
        plan = json.loads((self.path / "plan.json").read_text(encoding="utf-8"))
        return plan, pd.read_parquet(self.path / "universe.parquet")

    # -- parts --

    def write_part(self, part: Part, requests_so_far: int) -> None:
        meta = {"phase": part.phase, "tickers": part.tickers, "failures": part.failures,
                "requests": requests_so_far, "run_id": self.run_id}
        table = pa.Table.from_pandas(part.rows, preserve_index=False)
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), _META_KEY: json.dumps(meta)})
        write_parquet_atomic(table, self.path / f"part-{self._next:06d}-{part.phase}.parquet")
        self._next += 1

    def parts(self, phase: str) -> list[Part]:
        """The parts of ``phase`` in the order they were written."""
        found = []
        for match in self._part_matches():
            if match.group(2) != phase:
                continue
            table = pq.read_table(self.path / match.string)
            meta = json.loads(table.schema.metadata[_META_KEY])
            found.append(Part(phase=phase, rows=table.to_pandas(), tickers=meta["tickers"],
                              failures=meta["failures"], requests=meta["requests"], run_id=meta["run_id"]))
        return found

    def requests_before(self) -> int:
        """Requests counted by earlier runs of this night (up to each one's last part)."""
        last: dict[str, int] = {}
        for phase in {m.group(2) for m in self._part_matches()}:
            for part in self.parts(phase):
                if part.run_id != self.run_id:
                    last[part.run_id] = max(last.get(part.run_id, 0), part.requests)
        return sum(last.values())

    def _part_matches(self) -> list[re.Match[str]]:
        if not self.path.exists():
            return []
        matches = [m for m in (_PART.match(p.name) for p in self.path.iterdir()) if m]
        return sorted(matches, key=lambda m: int(m.group(1)))


def settled(parts: list[Part]) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Each ticker's latest outcome across parts: its rows, or its failure reason."""
    rows: dict[str, pd.DataFrame] = {}
    failures: dict[str, str] = {}
    for part in parts:
        by_ticker = dict(tuple(part.rows.groupby("ticker", sort=False))) if len(part.rows) else {}
        for ticker in part.tickers:
            if ticker in part.failures:
                failures[ticker] = part.failures[ticker]
                rows.pop(ticker, None)
            elif ticker in by_ticker:
                rows[ticker] = by_ticker[ticker]
                failures.pop(ticker, None)
    return rows, failures
