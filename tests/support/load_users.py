"""Simulated Screener users for the load tests: the main path, every page checked exactly.

A :class:`ScreenerUser` drives one :class:`~tests.support.stclient.BrowserSession`
the way a person uses the Screener, finding widgets by the key or label a person
would act on, and keeps its own idea of the screen it should be looking at (plain
``(field, op, value)`` conditions).  Every page the server sends back is checked:

- no exception box and no ``st.error`` alert, and the run finished normally;
- the sidebar badge names exactly one snapshot date;
- the headline "N of T stocks match" equals the pandas count of the expected
  conditions on THAT snapshot's ``stocks.parquet`` (:mod:`tests.support.pandas_screen`),
  and T its row count.  So a page that mixed two snapshots (badge from one, query
  on the other), lost a filter or applied a stale one is caught, not just a crash;
- a download holds as many rows as the page shows (the count, capped by the limit).

A failed check or a protocol failure is recorded as an error sample and ends the
visit (the tab is closed and a new one opened), as a person would reload.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import random
import re
import time
from dataclasses import dataclass
from typing import Awaitable, NoReturn

import pyarrow.parquet as pq
from openpyxl import load_workbook

from screener.fields import FIELD_BY_NAME
from screener.presets import BUILTIN_PRESETS, Preset
from tests.support.pandas_screen import Condition, SnapshotCounts
from tests.support.stclient import BrowserSession, Element, PageView, ProtocolError

SNAPSHOT_DATE = re.compile(r"snapshot (\d{4}-\d{2}-\d{2})")
HEADLINE = re.compile(r"^([\d,]+) of ([\d,]+) stocks match(?:es)?$")
#: How a filter row labels its threshold input: "Return on equity >".
OP_SYMBOLS = {"gt": ">", "gte": "≥", "lt": "<", "lte": "≤", "eq": "=", "ne": "≠"}
#: Actions that change the screen's filters (the issue's "filter-change round trip").
FILTER_CHANGES = ("sectors", "threshold", "add filter", "remove filter", "clear filters")
DOWNLOAD_FORMATS = ("csv", "xlsx", "parquet")
PAGE = "Screener"


class CheckFailed(AssertionError):
    """A page or download differs from what the user should see."""


class VisitAborted(Exception):
    """The current tab is unusable (its error is already recorded); open a new one."""


@dataclass(frozen=True)
class Sample:
    """One user action: how long the browser waited and what the page showed."""

    user: int
    action: str
    started: float  # time.monotonic()
    ms: float
    error: str | None = None
    snapshot: dt.date | None = None
    count: int | None = None

    @property
    def finished(self) -> float:
        return self.started + self.ms / 1000


def preset_conditions(preset: Preset) -> list[Condition]:
    return [(f.field, f.op, f.value) for f in preset.screen.filters]


def row_label(condition: Condition) -> str | None:
    """The label of the threshold input a filter row shows for ``condition`` (None: no input)."""
    field, op, _value = condition
    spec = FIELD_BY_NAME[field]
    return f"{spec.label} {OP_SYMBOLS[op]}" if spec.is_numeric and op in OP_SYMBOLS else None


def stored_from_shown(field: str, shown: float) -> float | int:
    """A typed number in display units -> stored units (17 -> 0.17 for a percent field)."""
    spec = FIELD_BY_NAME[field]
    if spec.kind == "int":
        return int(round(shown))
    return float(f"{shown / spec.unit_info.scale:.12g}")


def shown_from_stored(field: str, stored: float | int) -> float:
    return round(float(stored) * FIELD_BY_NAME[field].unit_info.scale, 9)


def read_page(view: PageView) -> tuple[dt.date, int, int]:
    """(snapshot date, match count, universe size) from a finished page, or CheckFailed."""
    if view.status != "ok":
        raise CheckFailed(f"run ended with {view.status}")
    problems = view.problems()
    if problems:
        raise CheckFailed("; ".join(problems)[:500])
    dates = {m.group(1) for body in view.alerts() for m in SNAPSHOT_DATE.finditer(body)}
    if len(dates) != 1:
        raise CheckFailed(f"the badge names {len(dates)} snapshot dates: {sorted(dates)}")
    headlines = [m for m in (HEADLINE.match(h) for h in view.headings()) if m]
    if len(headlines) != 1:
        raise CheckFailed(f"{len(headlines)} match headlines on the page: {view.headings()}")
    count, total = (int(headlines[0].group(i).replace(",", "")) for i in (1, 2))
    return dt.date.fromisoformat(dates.pop()), count, total


def download_rows(fmt: str, body: bytes) -> int:
    """Data rows in an exported file (header excluded)."""
    if fmt == "csv":
        return sum(1 for _ in csv.reader(io.StringIO(body.decode("utf-8")))) - 1
    if fmt == "parquet":
        return pq.read_metadata(io.BytesIO(body)).num_rows
    sheet = load_workbook(io.BytesIO(body), read_only=True).worksheets[0]
    return sum(1 for row in sheet.iter_rows(values_only=True) if any(v is not None for v in row)) - 1


class ScreenerUser:
    """One person on the Screener page (see module docstring); ``samples`` is what they lived through."""

    def __init__(self, index: int, base_url: str, counts: SnapshotCounts, *, think: float = 1.0,
                 seed: int = 0, timeout: float = 60.0) -> None:
        self.index = index
        self.base_url = base_url
        self.counts = counts
        self.think = think
        self.timeout = timeout
        self.rng = random.Random(seed * 1000 + index)
        self.samples: list[Sample] = []
        self.visits = 0
        self.expected: list[Condition] = []
        self.limit = 200
        self.added: Condition | None = None
        self._downloads = 0
        self._last: tuple[dt.date, int] | None = None

    # --- bookkeeping ----------------------------------------------------------------

    def _record(self, action: str, started: float, ms: float, error: str | None = None,
                snapshot: dt.date | None = None, count: int | None = None) -> None:
        self.samples.append(Sample(self.index, action, started, ms, error, snapshot, count))

    async def _step(self, action: str, doing: Awaitable[tuple[PageView, float]]) -> PageView:
        """Run one action, check the page against ``self.expected`` (already updated) and record it."""
        started = time.monotonic()
        try:
            view, ms = await doing
            date, count, total = read_page(view)
            want_total, want = self.counts.total(date), self.counts.count(date, self.expected)
            if (count, total) != (want, want_total):
                raise CheckFailed(f"page shows {count:,} of {total:,} on {date}; pandas counts {want:,} of "
                                  f"{want_total:,} for {self.expected}")
        except (CheckFailed, ProtocolError, LookupError, ValueError, OSError, TimeoutError) as exc:
            self._record(action, started, (time.monotonic() - started) * 1000, f"{type(exc).__name__}: {exc}")
            raise VisitAborted from exc
        self._last = (date, count)
        self._record(action, started, ms, snapshot=date, count=count)
        return view

    def _fail(self, action: str, message: str) -> NoReturn:
        self._record(action, time.monotonic(), 0.0, f"CheckFailed: {message}")
        raise VisitAborted

    async def pause(self) -> None:
        """Think time between actions: uniform around ``think`` seconds (0 = no pause, but other users get a turn)."""
        await asyncio.sleep(self.think * self.rng.uniform(0.5, 1.5) if self.think > 0 else 0)

    # --- the main path ----------------------------------------------------------------

    async def open(self, tab: BrowserSession, preset: Preset) -> PageView:
        self.expected, self.limit, self.added = preset_conditions(preset), preset.screen.limit, None
        return await self._step("open", tab.open(PAGE, f"preset={preset.slug}"))

    async def pick_sectors(self, tab: BrowserSession) -> None:
        picker = tab.view.widget("scr.pick.sector")
        options = list(picker.proto.options)
        held = set(tab.held_value(picker.key) or ())
        first = self.rng.randrange(len(options))
        chosen = [options[first], options[(first + 1) % len(options)]]
        if set(chosen) == held:
            chosen = chosen[:1]
        conditions = [c for c in self.expected if c[:2] != ("sector", "in")]
        self.expected = [*conditions, ("sector", "in", tuple(chosen))]
        await self._step("sectors", tab.set_value(picker.key, chosen))

    def _row_inputs(self, tab: BrowserSession) -> list[tuple[Element, Condition]]:
        """Threshold inputs on filter rows, each with the expected condition it shows."""
        pairs = []
        for widget in tab.view.widgets("scr.row.", ".v"):
            shown = tab.held_value(widget.key)
            for condition in self.expected:
                if row_label(condition) == widget.proto.label and shown is not None and \
                        abs(shown_from_stored(condition[0], condition[2]) - shown) < 1e-6:
                    pairs.append((widget, condition))
                    break
        return pairs

    async def edit_threshold(self, tab: BrowserSession) -> None:
        pairs = self._row_inputs(tab)
        if not pairs:
            return  # nothing editable on this screen (e.g. only yes/no filters): a person moves on
        widget, condition = pairs[self.rng.randrange(len(pairs))]
        field, op, value = condition
        shown = shown_from_stored(field, value) + self.rng.choice((-2, 2)) * widget.proto.step
        edited = (field, op, stored_from_shown(field, shown))
        if edited in self.expected:
            return
        self.expected = [edited if c == condition else c for c in self.expected]
        await self._step("threshold", tab.set_value(widget.key, round(shown, 9)))

    async def add_filter(self, tab: BrowserSession) -> None:
        """Type a value into the Add-filter control (a rerun), then press Add (another)."""
        inputs = [w for w in tab.view.widgets("scr.add.value.", ".v") if w.kind == "number_input"]
        if len(inputs) != 1:
            self._fail("add filter", f"expected one number input in the Add-filter control, found {len(inputs)}")
        widget = inputs[0]
        field, op = widget.key[len("scr.add.value."):-len(".v")].rsplit(".", 1)
        shown = float(tab.held_value(widget.key)) + widget.proto.step
        while (field, op, stored_from_shown(field, shown)) in self.expected:
            shown += widget.proto.step
        await self._step("type a value", tab.set_value(widget.key, round(shown, 9)))
        self.added = (field, op, stored_from_shown(field, shown))
        self.expected = [*self.expected, self.added]
        await self._step("add filter", tab.click("scr.add.go"))

    async def remove_added(self, tab: BrowserSession) -> None:
        """Press the remove button on the row of the filter this user added."""
        rows = [w for w, c in self._row_inputs(tab) if c == self.added]
        if len(rows) != 1:
            self._fail("remove filter", f"found {len(rows)} rows for the added filter {self.added}")
        row = rows[0].path[:-2]
        buttons = [b for b in tab.view.widgets("scr.row.", ".rm") if b.path[:-2] == row]
        if len(buttons) != 1:
            self._fail("remove filter", "no remove button beside the added filter's row")
        self.expected = [c for c in self.expected if c != self.added]
        self.added = None
        await self._step("remove filter", tab.click(buttons[0].key))

    async def switch_preset(self, tab: BrowserSession, preset: Preset) -> None:
        picker = tab.view.widget("scr.preset")
        labels = [o for o in picker.proto.options if o.startswith(f"{preset.name} · ")]
        if len(labels) != 1:
            self._fail("preset", f"the picker offers {len(labels)} options for {preset.name!r}")
        self.expected, self.limit, self.added = preset_conditions(preset), preset.screen.limit, None
        await self._step("preset", tab.set_value(picker.key, labels[0]))

    async def download(self, tab: BrowserSession) -> None:
        """Click a download button (formats in turn) and count the file's rows."""
        fmt = DOWNLOAD_FORMATS[self._downloads % len(DOWNLOAD_FORMATS)]
        key = f"scr.download.{fmt}"
        if not tab.view.widgets(key) or self._last is None:
            return  # no rows, no download buttons
        self._downloads += 1
        started = time.monotonic()
        try:
            file, ms = await tab.download(key)
            rows = download_rows(fmt, file.body)
            date, count = self._last
            if rows != min(count, self.limit):
                raise CheckFailed(f"{fmt} download holds {rows} rows; the page shows {count} (limit {self.limit})")
        except (CheckFailed, ProtocolError, LookupError, ValueError, OSError, TimeoutError) as exc:
            self._record("download", started, (time.monotonic() - started) * 1000, f"{type(exc).__name__}: {exc}")
            raise VisitAborted from exc
        self._record("download", started, ms, snapshot=date, count=rows)

    async def clear(self, tab: BrowserSession) -> None:
        button = tab.view.widget("scr.clear")
        if button.proto.disabled:
            return
        self.expected, self.added = [], None
        await self._step("clear filters", tab.click(button.key))

    # --- sessions ---------------------------------------------------------------------

    def preset_for(self, offset: int) -> Preset:
        """Users start on different presets and move through them, so all five are exercised."""
        return BUILTIN_PRESETS[(self.index + self.visits + offset) % len(BUILTIN_PRESETS)]

    async def visit(self, deadline: float) -> None:
        """One tab from open to close along the main path, stopping at ``deadline``."""
        steps = (self.pick_sectors, self.edit_threshold, self.add_filter, self.remove_added,
                 lambda tab: self.switch_preset(tab, self.preset_for(1)), self.download, self.clear)
        async with BrowserSession(self.base_url, timeout=self.timeout) as tab:
            try:
                await self.open(tab, self.preset_for(0))
                for step in steps:
                    if time.monotonic() >= deadline:
                        break
                    await self.pause()
                    await step(tab)
            except VisitAborted:
                pass
        self.visits += 1

    async def run_until(self, deadline: float) -> None:
        """Visit after visit until ``deadline`` (time.monotonic())."""
        while time.monotonic() < deadline:
            await self.visit(deadline)

    async def change_filter(self, tab: BrowserSession) -> None:
        """After a pause, the filter change people repeat most: other sectors or another threshold."""
        await self.pause()
        await (self.pick_sectors(tab) if self.rng.random() < 0.5 else self.edit_threshold(tab))

    async def rerun(self, tab: BrowserSession) -> None:
        """The browser's Rerun: same widgets, same address bar (the screen must not change)."""
        await self._step("rerun", tab.rerun())
