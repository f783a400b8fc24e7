"""A screen as one immutable value with four forms: URL, JSON, DuckDB SQL and English.

A :class:`Screen` is filters + sort + shown columns + limit.  Every field comes from
the catalog (``screener.fields``) and every value is typed and checked against its
field when the :class:`Filter` is built, so a Screen that exists is valid, and the
four forms cannot disagree about what it means:

- **URL** (:func:`to_query` / :func:`from_query`): a shareable link such as
  ``f=revenue_growth:gt:0.1&f=sector:in:Energy|Financials&sort=-rs_rating&limit=100``.
  Values are in STORED units (fractions: ``0.1`` means 10%, ratios as ratios, market
  cap in dollars), so a link means the same thing whatever a widget displays.
  Filter tokens are ``field:op`` or ``field:op:value``; ``between``, ``in`` and
  ``not_in`` separate their values with ``|``; ``sort`` lists fields with ``-`` for
  descending; ``cols`` lists shown columns; ``limit`` and ``preset`` are optional.
  Defaults are left out, so the canonical form is short and stable.
- **JSON** (:func:`to_dict` / :func:`from_dict`): the ``screen`` object inside a
  versioned preset document (see ``screener.presets``).
- **SQL** (:func:`to_sql`): parameterised DuckDB SQL.  Identifiers only come from the
  catalog and are quoted; every value is a ``?`` parameter.
- **English** (:func:`to_english`): "Debt/equity < 1× and revenue growth > 10%".

Parsing never raises: whatever arrives in a URL or a JSON file (unknown fields, SQL
fragments, NaN, 10,000 parameters), what cannot be used is dropped with one human
note each, and the rest is kept.

Null semantics (stated once here, relied on by the SQL, the funnel and the tests):
a null never passes a filter that asks for something (``gt``, ``between``, ``eq``,
``in``, ``is_true``, ``is_false``, ``not_null`` ...).  The two *exclusion* operators,
``ne`` and ``not_in``, keep nulls: "sector is not Energy" removes the stocks known to
be Energy and keeps a stock whose sector is unknown, because nothing says it is
Energy.  Add ``sector:not_null`` to drop unknowns as well.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence
from urllib.parse import parse_qsl, urlencode

from screener.fields import FIELD_BY_NAME, FIELDS, Field

# --- operators and limits --------------------------------------------------------------

OPS: tuple[str, ...] = (
    "gt", "gte", "lt", "lte", "between", "eq", "ne", "in", "not_in", "is_true", "is_false", "not_null",
)

#: Which operators each field kind accepts: the one table every check reads.  Floats
#: get no equality (a measured 0.1 + 0.2 is not 0.3); booleans are asked yes/no.
OPS_BY_KIND: dict[str, tuple[str, ...]] = {
    "float": ("gt", "gte", "lt", "lte", "between", "not_null"),
    "int": ("gt", "gte", "lt", "lte", "between", "eq", "ne", "in", "not_in", "not_null"),
    "bool": ("is_true", "is_false", "eq", "not_null"),
    "str": ("eq", "ne", "in", "not_in", "not_null"),
    "date": ("gt", "gte", "lt", "lte", "between", "eq", "ne", "not_null"),
}

VALUELESS_OPS = frozenset({"is_true", "is_false", "not_null"})
LIST_OPS = frozenset({"in", "not_in"})

MAX_FILTERS = 50
MAX_SORT_KEYS = 5
DEFAULT_LIMIT = 200
MAX_LIMIT = 5_000
MAX_LIST_ITEMS = 50
MAX_TEXT_CHARS = 100
MAX_ABS_NUMBER = 1e15
#: One URL parameter value; an ``in`` list of 50 long names still fits.
MAX_PARAM_CHARS = 6_000
#: A whole query string; anything longer is cut at the last complete parameter.
MAX_QUERY_CHARS = 100_000
#: Parameters looked at in one URL; the rest are ignored with a single note.
MAX_PARAMS = 1_000
#: Notes returned by one parse; a flood of garbage is summarised, not echoed.
MAX_NOTES = 30

#: Columns shown when a screen names none, before its filter and sort fields.
DEFAULT_COLUMNS: tuple[str, ...] = ("ticker", "name", "sector", "market_cap")

_NUMBER_TEXT = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?$")
_DATE_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PRESET_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?$")
_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
#: The query-string keys a Screen owns; every other parameter belongs to someone else.
URL_KEYS = ("f", "sort", "cols", "limit", "preset")

Scalar = float | int | bool | str | dt.date
Value = Scalar | tuple[Scalar, ...] | None


class ScreenError(ValueError):
    """A filter, sort key or screen that cannot exist; the message is shown to people."""


# --- the value -------------------------------------------------------------------------


def _catalog_field(name: object) -> Field:
    if not isinstance(name, str) or name not in FIELD_BY_NAME:
        raise ScreenError(f"unknown field {_show(name)}")
    return FIELD_BY_NAME[name]


def _scalar(spec: Field, value: object) -> Scalar:
    """One value checked and normalised for ``spec``'s kind (ints stay ints, -0.0 is 0.0)."""
    kind = spec.kind
    if kind in ("float", "int"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ScreenError(f"{spec.name} needs a number, not {_show(value)}")
        try:
            number = float(value)
        except OverflowError:
            raise ScreenError(f"{_show(value)} is too large (limit ±1e15)") from None
        if not math.isfinite(number):
            raise ScreenError(f"{_show(value)} is not a finite number")
        if abs(number) > MAX_ABS_NUMBER:
            raise ScreenError(f"{_show(value)} is too large (limit ±1e15)")
        if kind == "int":
            if not number.is_integer():
                raise ScreenError(f"{spec.name} holds whole numbers, not {_show(value)}")
            return int(number)
        return number + 0.0  # folds -0.0 into 0.0 so equal screens print alike
    if kind == "bool":
        if not isinstance(value, bool):
            raise ScreenError(f"{spec.name} needs true or false, not {_show(value)}")
        return value
    if kind == "date":
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            raise ScreenError(f"{spec.name} needs a date (YYYY-MM-DD), not {_show(value)}")
        return value
    if not isinstance(value, str):
        raise ScreenError(f"{spec.name} needs text, not {_show(value)}")
    text = unicodedata.normalize("NFC", value).strip()
    if not text:
        raise ScreenError(f"{spec.name} needs a non-empty text value")
    if len(text) > MAX_TEXT_CHARS:
        raise ScreenError(f"text values are limited to {MAX_TEXT_CHARS} characters")
    if not text.isprintable() or "|" in text:
        raise ScreenError(f"{_show(text)} holds control characters or '|'")
    if spec.choices and text not in spec.choices:
        raise ScreenError(f"{spec.name} is one of {', '.join(spec.choices)}, not {_show(text)}")
    return text


def _value(spec: Field, op: str, value: object) -> Value:
    """The whole filter value for ``op``: None, a scalar, a (lo, hi) pair or a list."""
    if op in VALUELESS_OPS:
        if value is not None:
            raise ScreenError(f"{op} takes no value")
        return None
    if op == "between" or op in LIST_OPS:
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            raise ScreenError(f"{op} needs a list of values")
        if op == "between":
            if len(value) != 2:
                raise ScreenError("between needs exactly two values, low|high")
            low, high = _scalar(spec, value[0]), _scalar(spec, value[1])
            if low > high:  # type: ignore[operator]
                raise ScreenError(f"between needs low <= high, got {_show(low)} > {_show(high)}")
            return (low, high)
        if not 1 <= len(value) <= MAX_LIST_ITEMS:
            raise ScreenError(f"{op} takes 1 to {MAX_LIST_ITEMS} values")
        items = [_scalar(spec, item) for item in value]
        return tuple(dict.fromkeys(items))  # duplicates add nothing; first order kept
    return _scalar(spec, value)


@dataclass(frozen=True)
class Filter:
    """``field op value``; built only from catalog fields and values valid for them.

    ``value`` is None for is_true / is_false / not_null, a (low, high) tuple for
    between, a tuple for in / not_in, else one scalar in STORED units.
    """

    field: str
    op: str
    value: Value = None

    def __post_init__(self) -> None:
        spec = _catalog_field(self.field)
        if not spec.filterable:
            raise ScreenError(f"{spec.label} cannot be filtered")
        if self.op not in OPS:
            raise ScreenError(f"unknown operator {_show(self.op)} (use one of {', '.join(OPS)})")
        if self.op not in OPS_BY_KIND[spec.kind]:
            raise ScreenError(
                f"{self.op} does not apply to {spec.name} ({spec.kind}; use {', '.join(OPS_BY_KIND[spec.kind])})")
        object.__setattr__(self, "value", _value(spec, self.op, self.value))

    @property
    def spec(self) -> Field:
        return FIELD_BY_NAME[self.field]


@dataclass(frozen=True)
class SortKey:
    field: str
    descending: bool = False

    def __post_init__(self) -> None:
        _catalog_field(self.field)
        if not isinstance(self.descending, bool):
            raise ScreenError("sort direction must be true or false")

    @property
    def spec(self) -> Field:
        return FIELD_BY_NAME[self.field]

    @property
    def token(self) -> str:
        """``-rs_rating`` for descending, ``rs_rating`` for ascending (URL form)."""
        return f"-{self.field}" if self.descending else self.field


@dataclass(frozen=True)
class Screen:
    """Filters (applied in order: the funnel follows it), sort keys, shown columns, limit.

    Empty ``columns`` means the defaults: ticker, name, sector, market cap, then the
    fields filtered and sorted on.  ``preset`` is the slug of the preset the screen
    came from (for export file names and the UI), never part of the preset itself.
    """

    filters: tuple[Filter, ...] = ()
    sort: tuple[SortKey, ...] = ()
    columns: tuple[str, ...] = ()
    limit: int = DEFAULT_LIMIT
    preset: str | None = None

    def __post_init__(self) -> None:
        for name in ("filters", "sort", "columns"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if len(self.filters) > MAX_FILTERS:
            raise ScreenError(f"a screen holds at most {MAX_FILTERS} filters")
        if not all(isinstance(f, Filter) for f in self.filters):
            raise ScreenError("filters must be Filter values")
        if len(set(self.filters)) != len(self.filters):
            raise ScreenError("a screen cannot repeat the same filter")
        if len(self.sort) > MAX_SORT_KEYS:
            raise ScreenError(f"a screen sorts on at most {MAX_SORT_KEYS} fields")
        if not all(isinstance(key, SortKey) for key in self.sort):
            raise ScreenError("sort keys must be SortKey values")
        if len({key.field for key in self.sort}) != len(self.sort):
            raise ScreenError("a screen cannot sort on the same field twice")
        for name in self.columns:
            _catalog_field(name)
        if len(set(self.columns)) != len(self.columns):
            raise ScreenError("a screen cannot show the same column twice")
        if isinstance(self.limit, bool) or not isinstance(self.limit, int) or not 1 <= self.limit <= MAX_LIMIT:
            raise ScreenError(f"limit must be a whole number from 1 to {MAX_LIMIT}")
        if self.preset is not None and not (isinstance(self.preset, str) and _PRESET_SLUG.match(self.preset)):
            raise ScreenError(f"{_show(self.preset)} is not a preset slug")

    def shown_columns(self) -> tuple[str, ...]:
        """Result columns: ticker first, then the chosen columns (or the defaults)."""
        chosen = self.columns or (
            *DEFAULT_COLUMNS, *(f.field for f in self.filters), *(key.field for key in self.sort))
        return tuple(dict.fromkeys(("ticker", *chosen)))

    def without_preset(self) -> Screen:
        return dataclasses.replace(self, preset=None)


# --- notes -----------------------------------------------------------------------------


def _show(value: object, width: int = 60) -> str:
    """A bounded, quoted echo of user input for notes and errors."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) > width:
        text = text[:width] + "…"
    return repr(text) if isinstance(value, str) else text


class _Notes:
    """Human notes about dropped input, capped so garbage cannot flood the page."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.suppressed = 0

    def add(self, note: str) -> None:
        if len(self.items) < MAX_NOTES:
            self.items.append(note)
        else:
            self.suppressed += 1

    def result(self) -> list[str]:
        if self.suppressed:
            return [*self.items, f"... and {self.suppressed} more problems not listed"]
        return list(self.items)


# --- URL form --------------------------------------------------------------------------


def _number_text(value: float | int) -> str:
    """Shortest text that reads back as the same number: 0.1, 2, -0.25, 1e-05."""
    if isinstance(value, int) or (value.is_integer() and abs(value) < MAX_ABS_NUMBER):
        return str(int(value))
    return repr(value)


def _scalar_text(spec: Field, value: Scalar) -> str:
    if spec.kind == "bool":
        return "true" if value else "false"
    if spec.kind in ("float", "int"):
        return _number_text(value)  # type: ignore[arg-type]
    if spec.kind == "date":
        return value.isoformat()  # type: ignore[union-attr]
    return str(value)


def _scalar_from_text(spec: Field, text: str) -> Scalar:
    """URL text -> a native value of the field's kind (then checked by Filter)."""
    if spec.kind in ("float", "int"):
        if len(text) > 40 or not _NUMBER_TEXT.match(text):
            hint = " (values are stored units: write 0.1 for 10%)" if text.endswith("%") else ""
            raise ScreenError(f"{_show(text)} is not a plain number{hint}")
        number = float(text)
        if not math.isfinite(number) or abs(number) > MAX_ABS_NUMBER:
            raise ScreenError(f"{_show(text)} is too large (limit ±1e15)")
        if spec.kind == "int" and number.is_integer() and abs(number) <= MAX_ABS_NUMBER:
            return int(number)
        return number
    if spec.kind == "bool":
        lowered = text.lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        raise ScreenError(f"{spec.name} needs true or false, not {_show(text)}")
    if spec.kind == "date":
        try:
            if not _DATE_TEXT.match(text):
                raise ValueError
            return dt.date.fromisoformat(text)
        except ValueError:
            raise ScreenError(f"{_show(text)} is not a date (YYYY-MM-DD)") from None
    return text


def filter_token(item: Filter) -> str:
    """``field:op[:value]``, the URL form of one filter."""
    spec = item.spec
    if item.value is None:
        return f"{item.field}:{item.op}"
    if isinstance(item.value, tuple):
        text = "|".join(_scalar_text(spec, v) for v in item.value)
    else:
        text = _scalar_text(spec, item.value)
    return f"{item.field}:{item.op}:{text}"


def _filter_from_token(token: str) -> Filter:
    parts = token.split(":", 2)
    if len(parts) < 2:
        raise ScreenError("expected field:operator:value")
    name, op = parts[0], parts[1]
    spec = _catalog_field(name)
    if op not in OPS:
        raise ScreenError(f"unknown operator {_show(op)} (use one of {', '.join(OPS)})")
    if op in VALUELESS_OPS:
        if len(parts) == 3 and parts[2] != "":
            raise ScreenError(f"{op} takes no value")
        return Filter(name, op)
    if len(parts) < 3 or parts[2] == "":
        raise ScreenError(f"{op} needs a value")
    if op == "between" or op in LIST_OPS:
        pieces = parts[2].split("|")
        if len(pieces) > MAX_LIST_ITEMS:
            raise ScreenError(f"{op} takes 1 to {MAX_LIST_ITEMS} values")
        return Filter(name, op, tuple(_scalar_from_text(spec, p) for p in pieces))
    return Filter(name, op, _scalar_from_text(spec, parts[2]))


def to_query_pairs(screen: Screen) -> list[tuple[str, str]]:
    """The screen as ordered URL parameters (canonical: defaults left out)."""
    pairs = [("f", filter_token(f)) for f in screen.filters]
    if screen.sort:
        pairs.append(("sort", ",".join(key.token for key in screen.sort)))
    if screen.columns:
        pairs.append(("cols", ",".join(screen.columns)))
    if screen.limit != DEFAULT_LIMIT:
        pairs.append(("limit", str(screen.limit)))
    if screen.preset:
        pairs.append(("preset", screen.preset))
    return pairs


def to_query_params(screen: Screen) -> dict[str, str | list[str]]:
    """For ``st.query_params.from_dict``: repeated ``f`` as a list, the rest as text."""
    pairs = to_query_pairs(screen)
    params: dict[str, str | list[str]] = {}
    filters = [value for key, value in pairs if key == "f"]
    if filters:
        params["f"] = filters
    params.update((key, value) for key, value in pairs if key != "f")
    return params


def to_query(screen: Screen) -> str:
    """The shareable query string, e.g. ``f=revenue_growth:gt:0.1&sort=-rs_rating``."""
    return urlencode(to_query_pairs(screen), safe=":|,")


def _query_pairs(query: object, notes: _Notes) -> list[tuple[str, str]]:
    """Any accepted input shape -> (key, value) text pairs, bounded in size and count."""
    pairs: list[tuple[str, str]] = []
    if isinstance(query, (str, bytes)):
        text = query.decode("utf-8", "replace") if isinstance(query, bytes) else query
        if len(text) > MAX_QUERY_CHARS:
            notes.add(f"the link is longer than {MAX_QUERY_CHARS:,} characters; the rest was ignored")
            text = text[:MAX_QUERY_CHARS].rsplit("&", 1)[0]
        pairs = parse_qsl(text.lstrip("?"), keep_blank_values=True, errors="replace")
    elif isinstance(query, Mapping):
        for key, value in query.items():
            values = [value] if isinstance(value, str) else value
            if isinstance(values, Iterable):
                pairs.extend((key, v) for v in values if isinstance(v, str))
    elif isinstance(query, Iterable):
        pairs = [item for item in query if isinstance(item, tuple) and len(item) == 2]
    pairs = [(k, v) for k, v in pairs if isinstance(k, str) and isinstance(v, str)]
    if len(pairs) > MAX_PARAMS:
        notes.add(f"ignored {len(pairs) - MAX_PARAMS:,} parameters beyond the first {MAX_PARAMS:,}")
        pairs = pairs[:MAX_PARAMS]
    return pairs


def _field_list(text: str, what: str, limit: int, notes: _Notes, signed: bool) -> list[str]:
    """Comma-separated field names (``-name`` when ``signed``), unknown/repeated ones noted."""
    tokens: list[str] = []
    seen: set[str] = set()
    for raw in text.split(","):
        token = raw.strip()
        name = token[1:] if signed and token.startswith("-") else token
        if not token:
            continue
        if name not in FIELD_BY_NAME:
            notes.add(f"dropped {what} {_show(token)}: unknown field")
        elif name in seen:
            notes.add(f"dropped {what} {_show(token)}: listed twice")
        elif len(tokens) >= limit:
            notes.add(f"dropped {what} {_show(token)}: at most {limit} allowed")
        else:
            seen.add(name)
            tokens.append(token)
    return tokens


def from_query(query: str | bytes | Mapping[str, Any] | Iterable[tuple[str, str]]) -> tuple[Screen, list[str]]:
    """Parse a query string (or a mapping of key -> value(s), or pairs); never raises.

    From Streamlit pass ``{k: st.query_params.get_all(k) for k in st.query_params}``:
    indexing ``st.query_params`` returns only the last of repeated ``f`` values.

    Unknown parameters belong to other widgets and are ignored silently; everything
    else that cannot be used is dropped with a note.  Only the first ``sort``,
    ``cols``, ``limit`` and ``preset`` count.
    """
    notes = _Notes()
    filters: list[Filter] = []
    single: dict[str, str] = {}
    extra_filters = 0
    for key, value in _query_pairs(query, notes):
        if key not in URL_KEYS:
            continue
        if len(value) > MAX_PARAM_CHARS:
            notes.add(f"dropped {key} {_show(value)}: longer than {MAX_PARAM_CHARS:,} characters")
            continue
        if key != "f":
            if key in single:
                notes.add(f"ignored repeated {key}={_show(value)}: the first one counts")
            else:
                single[key] = value
            continue
        if len(filters) >= MAX_FILTERS:
            extra_filters += 1
            continue
        try:
            item = _filter_from_token(value)
        except ScreenError as exc:
            notes.add(f"dropped filter {_show(value)}: {exc}")
            continue
        if item in filters:
            notes.add(f"dropped filter {_show(value)}: same as an earlier filter")
            continue
        filters.append(item)
    if extra_filters:
        notes.add(f"dropped {extra_filters:,} filters beyond the first {MAX_FILTERS}")
    sort = tuple(SortKey(t.removeprefix("-"), t.startswith("-"))
                 for t in _field_list(single.get("sort", ""), "sort key", MAX_SORT_KEYS, notes, signed=True))
    columns = _field_list(single.get("cols", ""), "column", len(FIELDS), notes, signed=False)
    limit = DEFAULT_LIMIT
    if "limit" in single:
        text = single["limit"].strip()
        if text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_LIMIT:
            limit = int(text)
        else:
            notes.add(f"ignored limit {_show(text)}: use a whole number from 1 to {MAX_LIMIT}")
    preset = single.get("preset")
    if preset is not None and not _PRESET_SLUG.match(preset):
        notes.add(f"ignored preset {_show(preset)}: not a preset name")
        preset = None
    screen = Screen(tuple(filters), sort, tuple(columns), limit, preset)
    return screen, notes.result()


# --- JSON form -------------------------------------------------------------------------


def _scalar_json(spec: Field, value: Scalar) -> Any:
    return value.isoformat() if spec.kind == "date" else value  # type: ignore[union-attr]


def _scalar_from_json(spec: Field, value: object) -> object:
    """JSON has no date type: dates travel as ISO text; other kinds are checked by Filter."""
    if spec.kind == "date" and isinstance(value, str):
        return _scalar_from_text(spec, value)
    return value


def to_dict(screen: Screen) -> dict[str, Any]:
    """The JSON-ready ``screen`` object of a preset (its ``preset`` slug is not part of it)."""
    filters = []
    for item in screen.filters:
        entry: dict[str, Any] = {"field": item.field, "op": item.op}
        if isinstance(item.value, tuple):
            entry["value"] = [_scalar_json(item.spec, v) for v in item.value]
        elif item.value is not None:
            entry["value"] = _scalar_json(item.spec, item.value)
        filters.append(entry)
    return {
        "filters": filters,
        "sort": [{"field": key.field, "descending": key.descending} for key in screen.sort],
        "columns": list(screen.columns),
        "limit": screen.limit,
    }


def _filter_from_json(entry: object) -> Filter:
    if not isinstance(entry, Mapping):
        raise ScreenError("a filter must be an object with field, op and value")
    unknown = set(entry) - {"field", "op", "value"}
    if unknown:
        raise ScreenError(f"unexpected keys {', '.join(sorted(map(_show, unknown)))}")
    spec = _catalog_field(entry.get("field"))
    op = entry.get("op")
    if not isinstance(op, str) or op not in OPS:
        raise ScreenError(f"unknown operator {_show(op)}")
    value = entry.get("value")
    if isinstance(value, list):
        if len(value) > MAX_LIST_ITEMS:
            raise ScreenError(f"{op} takes 1 to {MAX_LIST_ITEMS} values")
        value = tuple(_scalar_from_json(spec, v) for v in value)
    elif value is not None:
        value = _scalar_from_json(spec, value)
    return Filter(spec.name, op, value)


def from_dict(obj: object) -> tuple[Screen, list[str]]:
    """Parse a ``screen`` JSON object with the URL's validation; never raises.

    Unknown keys (``sql`` included: a screen never carries SQL) are ignored with a note.
    """
    notes = _Notes()
    if not isinstance(obj, Mapping):
        notes.add("the screen is not a JSON object; using an empty screen")
        return Screen(), notes.result()
    for key in obj:
        if key not in ("filters", "sort", "columns", "limit"):
            notes.add(f"ignored unknown key {_show(key)}")
    raw_filters = obj.get("filters", [])
    if not isinstance(raw_filters, list):
        notes.add("ignored filters: not a list")
        raw_filters = []
    filters: list[Filter] = []
    for position, entry in enumerate(raw_filters, start=1):
        if len(filters) >= MAX_FILTERS:
            notes.add(f"dropped {len(raw_filters) - position + 1} filters beyond the first {MAX_FILTERS}")
            break
        try:
            item = _filter_from_json(entry)
        except ScreenError as exc:
            notes.add(f"dropped filter #{position} {_show(entry)}: {exc}")
            continue
        if item in filters:
            notes.add(f"dropped filter #{position}: same as an earlier filter")
            continue
        filters.append(item)
    sort: list[SortKey] = []
    raw_sort = obj.get("sort", [])
    for entry in raw_sort if isinstance(raw_sort, list) else []:
        try:
            if not isinstance(entry, Mapping) or set(entry) - {"field", "descending"}:
                raise ScreenError("expected {field, descending}")
            key = SortKey(entry.get("field"), entry.get("descending", False))  # type: ignore[arg-type]
            if any(k.field == key.field for k in sort) or len(sort) >= MAX_SORT_KEYS:
                raise ScreenError(f"repeated, or more than {MAX_SORT_KEYS} sort keys")
            sort.append(key)
        except ScreenError as exc:
            notes.add(f"dropped sort key {_show(entry)}: {exc}")
    if not isinstance(raw_sort, list):
        notes.add("ignored sort: not a list")
    raw_columns = obj.get("columns", [])
    columns: list[str] = []
    for name in raw_columns if isinstance(raw_columns, list) else []:
        if isinstance(name, str) and name in FIELD_BY_NAME and name not in columns:
            columns.append(name)
        else:
            notes.add(f"dropped column {_show(name)}: unknown or repeated")
    if not isinstance(raw_columns, list):
        notes.add("ignored columns: not a list")
    limit = obj.get("limit", DEFAULT_LIMIT)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        notes.add(f"ignored limit {_show(limit)}: use a whole number from 1 to {MAX_LIMIT}")
        limit = DEFAULT_LIMIT
    return Screen(tuple(filters), tuple(sort), tuple(columns), limit), notes.result()


# --- SQL form --------------------------------------------------------------------------


def quote_identifier(name: str) -> str:
    """A catalog field name, double-quoted; anything else is a programming error."""
    if name not in FIELD_BY_NAME:
        raise ValueError(f"{name!r} is not a catalog field")
    return f'"{name}"'


def quote_table(table: str) -> str:
    if not _TABLE_NAME.match(table):
        raise ValueError(f"{table!r} is not a plain table name")
    return f'"{table}"'


def filter_sql(item: Filter) -> tuple[str, list[Any]]:
    """A TWO-valued predicate (never NULL) for one filter, with its parameters.

    Two-valued so that ``NOT p`` and ``count(*) FILTER (WHERE p)`` in the funnel mean
    what they say; nulls follow the module docstring (only ne / not_in keep them).
    """
    column = quote_identifier(item.field)
    value = item.value
    if item.op in ("gt", "gte", "lt", "lte", "eq"):
        symbol = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "eq": "="}[item.op]
        return f"coalesce({column} {symbol} ?, false)", [value]
    if item.op == "between":
        return f"coalesce({column} BETWEEN ? AND ?, false)", list(value)  # type: ignore[arg-type]
    if item.op == "ne":
        return f"({column} IS NULL OR {column} <> ?)", [value]
    if item.op in LIST_OPS:
        marks = ", ".join("?" for _ in value)  # type: ignore[union-attr]
        if item.op == "in":
            return f"coalesce({column} IN ({marks}), false)", list(value)  # type: ignore[arg-type]
        return f"({column} IS NULL OR {column} NOT IN ({marks}))", list(value)  # type: ignore[arg-type]
    if item.op == "is_true":
        return f"coalesce({column}, false)", []
    if item.op == "is_false":
        return f"coalesce(NOT {column}, false)", []
    return f"({column} IS NOT NULL)", []


def where_sql(screen: Screen) -> tuple[str, list[Any]]:
    """All filters ANDed in order (``true`` for none), with parameters in order."""
    parts, params = [], []
    for item in screen.filters:
        sql, values = filter_sql(item)
        parts.append(sql)
        params.extend(values)
    return (" AND ".join(parts) if parts else "true"), params


def order_sql(screen: Screen) -> str:
    """Sort keys with nulls last either way, then ticker so equal keys keep a stable order."""
    keys = [f"{quote_identifier(k.field)} {'DESC' if k.descending else 'ASC'} NULLS LAST" for k in screen.sort]
    if not any(k.field == "ticker" for k in screen.sort):
        keys.append(f"{quote_identifier('ticker')} ASC")
    return ", ".join(keys)


def to_sql(screen: Screen, table: str = "stocks") -> tuple[str, list[Any]]:
    """Parameterised DuckDB SQL returning the screen's rows, sorted and limited."""
    where, params = where_sql(screen)
    columns = ", ".join(quote_identifier(name) for name in screen.shown_columns())
    sql = (f"SELECT {columns} FROM {quote_table(table)} WHERE {where} "
           f"ORDER BY {order_sql(screen)} LIMIT ?")
    return sql, [*params, screen.limit]


# --- English form ----------------------------------------------------------------------

_SYMBOLS = {"gt": ">", "gte": "≥", "lt": "<", "lte": "≤", "eq": "=", "ne": "≠"}


def _label(spec: Field, sentence_start: bool) -> str:
    """The catalog label, lower-cased mid-sentence unless it starts with an acronym."""
    label = spec.label
    if sentence_start:
        return label[0].upper() + label[1:]
    if len(label) > 1 and label[1].islower():
        return label[0].lower() + label[1:]
    return label


def english_value(spec: Field, value: Scalar) -> str:
    """A stored value in the field's display unit without rounding it away: 0.1234 -> 12.34%."""
    if spec.kind in ("str", "date", "bool") or not isinstance(value, (int, float)):
        return spec.format(value)
    unit = spec.unit_info
    if unit.name == "usd_m":
        scale, prefix, suffix = (1e-9, "$", "B") if abs(value) >= 1e9 else (1e-6, "$", "M")
    else:
        scale, prefix, suffix = unit.scale, unit.prefix, unit.suffix
    shown = value * scale
    body = f"{abs(shown):,.12g}" if prefix else f"{shown:,.12g}"
    sign = "-" if prefix and shown < 0 else ""
    return f"{sign}{prefix}{body}{suffix}"


def filter_english(item: Filter, sentence_start: bool = False) -> str:
    """One filter as a phrase: "revenue growth > 10%", "sector is one of (Energy, Financials)"."""
    spec = item.spec
    label = _label(spec, sentence_start)
    value = item.value
    if item.op == "is_true":
        return label
    if item.op == "is_false":
        return f"{'Not' if sentence_start else 'not'} {_label(spec, False)}"
    if item.op == "not_null":
        return f"{label} is known"
    if item.op == "between":
        low, high = value  # type: ignore[misc]
        return f"{label} from {english_value(spec, low)} to {english_value(spec, high)}"
    if item.op in LIST_OPS:
        shown = [english_value(spec, v) for v in value]  # type: ignore[union-attr]
        if len(shown) == 1:
            return f"{label} is {'not ' if item.op == 'not_in' else ''}{shown[0]}"
        return f"{label} is {'one' if item.op == 'in' else 'none'} of ({', '.join(shown)})"
    if spec.kind == "bool":  # eq true / eq false read like is_true / is_false
        return filter_english(Filter(item.field, "is_true" if value else "is_false"), sentence_start)
    if spec.kind == "str" and item.op in ("eq", "ne"):
        verb = "is" if item.op == "eq" else "is not"
        return f"{label} {verb} {english_value(spec, value)}"  # type: ignore[arg-type]
    return f"{label} {_SYMBOLS[item.op]} {english_value(spec, value)}"  # type: ignore[arg-type]


def to_english(screen: Screen) -> str:
    """The whole screen as one sentence; sort order appended when there is one."""
    if screen.filters:
        phrases = [filter_english(f, sentence_start=i == 0) for i, f in enumerate(screen.filters)]
        sentence = phrases[0] if len(phrases) == 1 else f"{', '.join(phrases[:-1])} and {phrases[-1]}"
    else:
        sentence = "All stocks"
    if screen.sort:
        keys = [f"{_label(k.spec, False)} ({'highest' if k.descending else 'lowest'} first)"
                for k in screen.sort]
        sentence += f"; sorted by {', then '.join(keys)}"
    return sentence
