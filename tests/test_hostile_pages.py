"""Hostile text on every page: preset names and descriptions, link notes, tickers, company names
from the data and the nightly report's notes render as literal text, never as Markdown/HTML.

The check does not trust the pages' own escaping: it walks every element AppTest sees, reads
every string field of its protobuf, and for the fields Streamlit renders as Markdown (bodies of
markdown, captions, headings and alerts; labels and help of widgets, expanders, tabs, metrics)
requires each payload's markup to be absent or backslash-escaped.  Fields shown as plain text
(code blocks, JSON, table cells, select options) may hold the raw text.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from google.protobuf.message import Message
from streamlit.testing.v1 import AppTest

from screener import store
from screener.presets import PresetStore
from screener.screen import Filter, Screen
from tests.support.apptest import open_page
from tests.support.faults import write_result

PAGES = ("app.py", "pages/1_Screener.py", "pages/2_Quality_vs_Junk.py", "pages/3_Stock.py", "pages/4_Presets.py",
         "pages/5_Data.py")

#: Markup that would do something if rendered: (payload, the part that must never appear unescaped).
PAYLOADS = {
    "bold": ("**PWNED**", "**PWNED"),
    "link": ("[click](https://evil.example/x)", "](https://evil.example"),
    "image": ("![i](https://evil.example/i.png)", "![i]"),
    "html": ("<img src=x onerror=alert(1)>", "<img"),
    "colour": (":red[RED]", ":red["),
    "latex": ("$x^2$", "$x^2"),
    "icon": (":material/delete:", ":material/delete"),
}
HOSTILE_NAME = "**PWNED** [click](https://evil.example/x) :red[RED]"  # 53 characters: a valid name
HOSTILE_TEXT = " ".join(payload for payload, _ in PAYLOADS.values())
#: Fields rendered as plain text whatever they hold.
PLAIN_TYPES = {"Code", "Json", "Text", "Dataframe", "Arrow", "Exception"}
PLAIN_FIELDS = {"options", "default", "value", "raw_value", "placeholder", "code_text", "id", "icon",
                "page_script_hash", "url", "language", "set_value", "deferred_file_id", "form_id"}


def string_fields(message: Message, path: str = "") -> list[tuple[str, str, str]]:
    """(proto type, field path, text) for every string in a protobuf message, nested ones included."""
    found = []
    for descriptor, value in message.ListFields():
        name = f"{path}.{descriptor.name}" if path else descriptor.name
        values = value if descriptor.is_repeated else [value]
        for item in values:
            if isinstance(item, Message):
                found += string_fields(item, name)
            elif isinstance(item, str):
                found.append((type(message).__name__, name, item))
    return found


def markdown_texts(at: AppTest) -> list[tuple[str, str]]:
    """(where, text) for every string AppTest holds that Streamlit renders as Markdown."""
    texts = []

    def walk(node) -> None:
        children = getattr(node, "children", None)
        for child in children.values() if isinstance(children, dict) else []:
            proto = getattr(child, "proto", None)
            if isinstance(proto, Message) and type(proto).__name__ not in PLAIN_TYPES:
                for proto_type, field, text in string_fields(proto):
                    if field.rsplit(".", 1)[-1] not in PLAIN_FIELDS:
                        texts.append((f"{child.type}:{proto_type}.{field}", text))
            walk(child)

    walk(at._tree)
    return texts


def unescaped(text: str, marker: str) -> bool:
    """Whether ``marker`` occurs in ``text`` without a backslash before its first character."""
    start = text.find(marker)
    while start != -1:
        if start == 0 or text[start - 1] != "\\":
            return True
        start = text.find(marker, start + 1)
    return False


def raw_markup(at: AppTest) -> list[str]:
    return [f"{where}: {kind} in {text[:120]!r}" for where, text in markdown_texts(at)
            for kind, (_, marker) in PAYLOADS.items() if unescaped(text, marker)]


def shows_escaped(at: AppTest, text: str) -> bool:
    """Some Markdown field shows ``text`` literally: every ASCII punctuation backslash-escaped."""
    wanted = "".join("\\" + c if c in "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~" else c for c in text)
    return any(wanted in shown for _, shown in markdown_texts(at))


@pytest.fixture
def hostile_dir(fresh_data_dir) -> Path:
    """The demo data with hostile presets, a hostile company, a hostile broken preset file and a
    hostile (failed) nightly report."""
    presets = PresetStore(fresh_data_dir, readonly=False)
    presets.save(HOSTILE_NAME, HOSTILE_TEXT, Screen((Filter("sector", "ne", "<b>x</b> **y**"),)))
    (presets.folder / "[x](javascript:alert(1)).json").write_text("{")
    snapshot = store.latest_snapshot(fresh_data_dir)[0]
    table = pq.read_table(snapshot.stocks_path)
    frame = table.to_pandas()
    frame.loc[0, "name"] = HOSTILE_TEXT
    frame.loc[0, "industry"] = "**PWNED** <img src=x onerror=alert(1)>"
    frame.loc[0, "sector"] = ":red[RED] $x^2$"
    pq.write_table(table.from_pandas(frame, schema=table.schema, preserve_index=False), snapshot.stocks_path)
    run = json.loads((fresh_data_dir / "last_run.json").read_text())
    run.update(status="failed", error=f"universe row 7: {HOSTILE_TEXT}", notes=[f"note {HOSTILE_TEXT}"],
               stale_tickers=["**T**", "<img src=x onerror=alert(1)>"], stale_count=2,
               failures={"not_found": ["[click](https://evil.example/x)"]}, failures_by_reason={"not_found": 1})
    (fresh_data_dir / "last_run.json").write_text(json.dumps(run))
    return fresh_data_dir


def test_hostile_text_is_literal_on_every_page(hostile_dir, monkeypatch):
    first_ticker = pq.read_table(store.latest_snapshot(hostile_dir)[0].stocks_path, columns=["ticker"])[0][0].as_py()
    slug = [p.slug for p in PresetStore(hostile_dir).list_presets().presets if p.name == HOSTILE_NAME][0]
    link = {"f": ["**x**:gt:1", "sector:eq:[click](https://evil.example/x)", f"name:ne:{HOSTILE_NAME}",
                  "roe:gt::red[RED]"], "sort": "**s**,-roe", "cols": "<img src=x onerror=alert(1)>"}
    runs = {
        "Screener with the hostile preset": ("pages/1_Screener.py", {"preset": slug}, [HOSTILE_TEXT]),
        "Screener with a hostile link": ("pages/1_Screener.py", link, ["**x**:gt:1"]),
        "Presets page": ("pages/4_Presets.py", {}, ["[x](javascript:alert(1)).json"]),
        "Stock page, hostile ticker in the link": ("pages/3_Stock.py", {"ticker": HOSTILE_TEXT}, []),
        "Stock page, hostile company": ("pages/3_Stock.py", {"ticker": first_ticker}, [HOSTILE_TEXT]),
        "Data page, hostile run report": ("pages/5_Data.py", {}, [f"note {HOSTILE_TEXT}", "**T**"]),
        "Overview": ("app.py", {}, []),
        "Quality vs Junk": ("pages/2_Quality_vs_Junk.py", {}, []),
    }
    problems, fields_checked = [], 0
    for label, (page, params, visible) in runs.items():
        at = open_page(page, hostile_dir, monkeypatch, params, timeout=60)
        fields_checked += len(markdown_texts(at))
        problems += [f"{label}: {problem}" for problem in raw_markup(at)]
        problems += [f"{label}: {text!r} not shown literally" for text in visible if not shows_escaped(at, text)]
    write_result("hostile_pages", "hostile preset names, descriptions, link notes, tickers, company names and "
                 "run notes on every page (AppTest)", runs=len(runs), inputs=len(PAYLOADS) * len(runs),
                 faults=len(runs), survived=len(runs) - len({p.split(':')[0] for p in problems}), lost=0,
                 figures={"markdown_fields_checked": fields_checked, "payload_kinds": len(PAYLOADS),
                          "raw_markup_found": len(problems)},
                 command="pytest tests/test_hostile_pages.py -s")
    print(f"\n[hostile_pages] {len(runs)} page runs, {fields_checked:,} Markdown fields checked for "
          f"{len(PAYLOADS)} kinds of markup: {len(problems)} problems")
    assert problems == [], "\n".join(problems)
