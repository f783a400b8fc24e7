"""Filter widgets of the Screener page, generated from the catalog and the current Screen.

The Screen is the single state; widgets only mirror it.  Before a mirroring widget is
drawn its session-state value is set from the Screen, and its callback turns the new
value into the next Screen (``screener_state.set_screen``).  So a preset load, a link
or "clear all" resets every widget without version counters, and a widget never shows
a value the Screen does not hold.  Row widgets are keyed by a digest of their filter's
URL token, so removing one row cannot hand its state to the next.

Values are typed in display units (10 means 10%, 500 means $500M); conversions live in
``screener_inputs``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib

import streamlit as st

from screener.fields import FIELD_BY_NAME, FIELDS, GROUPS, Field
from screener.screen import (
    LIST_OPS, MAX_LIST_ITEMS, VALUELESS_OPS, Filter, Screen, ScreenError, Value, filter_english, filter_token,
)
from screener.ui.screener_facts import SnapshotFacts, industry_options, picker_options, spread_caption
from screener.ui.screener_inputs import (
    OP_LABELS, input_format, input_step, parse_list_text, picks_from_list, rounded_default, to_shown, to_stored,
    ui_ops,
)
from screener.ui.screener_state import flash, screen_now, set_screen
from screener.ui.text import escape_markdown

#: Fields with a dedicated multiselect above the filter rows.
PICKER_FIELDS: tuple[str, ...] = ("sector", "industry")
#: Add-filter groups in the order the issue lists them (what traders reach for first);
#: any catalog group missing here follows at the end.
_GROUP_ORDER: tuple[str, ...] = ("growth", "balance_sheet", "profitability", "valuation", "ownership", "trend",
                                 "volume", "quality", "identity")
#: Single-value comparisons whose threshold can be edited in place on a filter row.
_EDITABLE_SINGLE = frozenset({"gt", "gte", "lt", "lte", "eq", "ne"})


# --- shared helpers ---------------------------------------------------------------------


def _unit_text(spec: Field) -> str:
    """What a typed number means: %, ×, $M, $ (empty for plain counts)."""
    unit = spec.unit_info
    return f"{unit.prefix}{unit.suffix}".strip()


def _replace_filters(screen: Screen, filters: list[Filter], failure: str) -> None:
    """Commit new filters, or flash why the Screen refused them (e.g. a duplicate)."""
    try:
        set_screen(dataclasses.replace(screen, filters=tuple(filters)))
    except ScreenError as exc:
        flash("error", escape_markdown(f"{failure}: {exc}"))


def picker_index(screen: Screen, field_name: str) -> int | None:
    """Position of the ``field in (...)`` filter a picker manages: the first one, if any."""
    return next((i for i, f in enumerate(screen.filters) if f.field == field_name and f.op == "in"), None)


# --- sector and industry pickers --------------------------------------------------------


def _apply_pick(field_name: str, key: str) -> None:
    screen = screen_now()
    values = tuple(st.session_state.get(key) or ())
    index = picker_index(screen, field_name)
    filters = list(screen.filters)
    if not values:
        if index is not None:
            del filters[index]
    else:
        try:
            item = Filter(field_name, "in", values)
        except ScreenError as exc:
            flash("error", escape_markdown(f"Could not use that choice: {exc}"))
            return
        if index is None:
            filters.append(item)
        else:
            filters[index] = item
    _replace_filters(screen, filters, f"Could not change the {field_name} filter")


def render_pickers(screen: Screen, facts: SnapshotFacts) -> None:
    """Sector and industry multiselects; industries narrow to the chosen sectors."""
    chosen: dict[str, tuple[str, ...]] = {}
    for name in PICKER_FIELDS:
        index = picker_index(screen, name)
        chosen[name] = tuple(screen.filters[index].value) if index is not None else ()  # type: ignore[arg-type]
    options = {
        "sector": picker_options(FIELD_BY_NAME["sector"], facts, chosen["sector"]),
        "industry": industry_options(facts, chosen["sector"], chosen["industry"]),
    }
    labels = {"sector": ("Sectors", "All sectors"), "industry": ("Industries", "All industries")}
    for column, name in zip(st.columns(2), PICKER_FIELDS):
        key = f"scr.pick.{name}"
        st.session_state[key] = list(chosen[name])
        label, placeholder = labels[name]
        column.multiselect(
            label, options[name], key=key, placeholder=placeholder,
            max_selections=MAX_LIST_ITEMS, on_change=_apply_pick, args=(name, key),
            help=FIELD_BY_NAME[name].help)


# --- active filter rows -----------------------------------------------------------------


def _row_key(item: Filter) -> str:
    return "scr.row." + hashlib.sha1(filter_token(item).encode("utf-8")).hexdigest()[:12]


def _remove(item: Filter) -> None:
    screen = screen_now()
    _replace_filters(screen, [f for f in screen.filters if f != item], "Could not remove the filter")


def _edit(item: Filter, key: str) -> None:
    """Apply an in-place threshold edit; refuse (and let the mirror restore) a bad one."""
    spec = item.spec
    try:
        if item.op == "between":
            low, high = st.session_state[f"{key}.lo"], st.session_state[f"{key}.hi"]
            if low is None or high is None:
                raise ScreenError("type both numbers")
            value: Value = (to_stored(spec, low), to_stored(spec, high))
        else:
            shown = st.session_state[f"{key}.v"]
            if shown is None:
                raise ScreenError("type a number")
            value = to_stored(spec, shown)
        edited = Filter(item.field, item.op, value)
    except ScreenError as exc:
        flash("error", escape_markdown(f"Kept '{filter_english(item)}': {exc}"))
        return
    screen = screen_now()
    filters = [edited if f == item else f for f in screen.filters]
    _replace_filters(screen, filters, "Could not change the filter")


def _is_editable(item: Filter) -> bool:
    return item.spec.is_numeric and (item.op in _EDITABLE_SINGLE or item.op == "between")


def _render_editor(item: Filter, key: str) -> None:
    spec = item.spec
    common = dict(step=input_step(spec), format=input_format(spec), label_visibility="collapsed",
                  on_change=_edit, args=(item, key))
    if item.op == "between":
        low_column, high_column = st.columns(2)
        st.session_state[f"{key}.lo"] = to_shown(spec, item.value[0])  # type: ignore[index]
        st.session_state[f"{key}.hi"] = to_shown(spec, item.value[1])  # type: ignore[index]
        low_column.number_input(f"{spec.label} from", key=f"{key}.lo", **common)
        high_column.number_input(f"{spec.label} to", key=f"{key}.hi", **common)
    else:
        st.session_state[f"{key}.v"] = to_shown(spec, item.value)  # type: ignore[arg-type]
        st.number_input(f"{spec.label} {OP_LABELS[item.op]}", key=f"{key}.v", **common)


def render_filter_rows(screen: Screen) -> None:
    """One row per filter (picker-managed ones excepted): sentence, threshold, remove."""
    managed = {picker_index(screen, name) for name in PICKER_FIELDS}
    rows = [item for index, item in enumerate(screen.filters) if index not in managed]
    if not rows:
        st.caption("No other filters: add one below, or pick a preset.")
        return
    for item in rows:
        key = _row_key(item)
        sentence, editor, unit, remove = st.columns([5, 3, 0.6, 0.6], vertical_alignment="center")
        sentence.markdown(escape_markdown(filter_english(item, sentence_start=True)))
        if _is_editable(item):
            with editor:
                _render_editor(item, key)
            unit.markdown(escape_markdown(_unit_text(item.spec)))
        remove.button(":material/close:", key=f"{key}.rm", help="Remove this filter", on_click=_remove,
                      args=(item,))


# --- add a filter -----------------------------------------------------------------------


def _filterable(group: str) -> list[str]:
    return [f.name for f in FIELDS if f.group == group and f.filterable]


def _render_value_inputs(spec: Field, op: str, key: str, facts: SnapshotFacts, default_date: dt.date) -> None:
    """The value widget(s) for ``op`` on ``spec``, starting from this snapshot's typical values."""
    if op in VALUELESS_OPS:
        st.caption("No value needed.")
        return
    if spec.is_numeric and op not in LIST_OPS:
        spread = facts.spreads.get(spec.name)
        starts = (spread.p25, spread.p75) if op == "between" and spread else (
            (spread.median,) if spread else (0.0,))
        shown = [rounded_default(spec, float(to_shown(spec, s))) for s in starts]
        unit = _unit_text(spec)
        common = dict(step=input_step(spec), format=input_format(spec))
        if op == "between":
            low, high = st.columns(2)
            low.number_input(f"From ({unit})" if unit else "From", value=shown[0], key=f"{key}.lo", **common)
            high.number_input(f"To ({unit})" if unit else "To", value=shown[1], key=f"{key}.hi", **common)
        else:
            st.number_input(f"Value ({unit})" if unit else "Value", value=shown[0], key=f"{key}.v", **common)
        return
    if spec.kind == "date":
        if op == "between":
            low, high = st.columns(2)
            low.date_input("From", value=default_date, key=f"{key}.lo")
            high.date_input("To", value=default_date, key=f"{key}.hi")
        else:
            st.date_input("Date", value=default_date, key=f"{key}.v")
        return
    if op in LIST_OPS and picks_from_list(spec):
        st.multiselect("Values", picker_options(spec, facts), key=f"{key}.v", max_selections=MAX_LIST_ITEMS)
    elif op in LIST_OPS:
        example = "e.g. AAPL, MSFT" if spec.name == "ticker" else "comma-separated"
        st.text_input("Values", key=f"{key}.v", placeholder=example)
    else:
        st.text_input("Value", key=f"{key}.v")


def _read_value(spec: Field, op: str, key: str) -> Value:
    """The stored value the Add-filter inputs describe; ScreenError says what is missing."""
    if op in VALUELESS_OPS:
        return None
    state = st.session_state
    if op == "between":
        low, high = state.get(f"{key}.lo"), state.get(f"{key}.hi")
        if low is None or high is None:
            raise ScreenError("fill in both ends of the range")
        if spec.is_numeric:
            return (to_stored(spec, low), to_stored(spec, high))
        return (low, high)
    raw = state.get(f"{key}.v")
    if raw is None or raw == "" or raw == []:
        raise ScreenError("fill in a value first")
    if op in LIST_OPS:
        return tuple(raw) if isinstance(raw, list) else parse_list_text(spec, raw)
    if spec.is_numeric:
        return to_stored(spec, raw)
    return raw


def _add() -> None:
    """Add the filter the control describes, read from widget state (not from values bound
    when the button was drawn, which would be stale if the condition changed since)."""
    state = st.session_state
    field_name = state.get(f"scr.add.field.{state.get('scr.add.group')}")
    op = state.get(f"scr.add.op.{field_name}")
    if field_name not in FIELD_BY_NAME or op is None:
        flash("error", "Choose a field and a condition first.")
        return
    spec = FIELD_BY_NAME[field_name]
    try:
        item = Filter(field_name, op, _read_value(spec, op, _value_key(field_name, op)))
    except ScreenError as exc:
        flash("error", escape_markdown(f"Could not add the filter on {spec.label}: {exc}"))
        return
    screen = screen_now()
    _replace_filters(screen, [*screen.filters, item], "Could not add the filter")


def _value_key(field_name: str, op: str) -> str:
    """Value widgets are keyed per field and condition, so each starts from its own default."""
    return f"scr.add.value.{field_name}.{op}"


def render_add_filter(facts: SnapshotFacts, default_date: dt.date) -> None:
    """Group -> field -> condition -> value(s) -> Add, with the field's meaning and spread."""
    with st.container(border=True):
        st.markdown("**Add a filter**")
        group_column, field_column, op_column, value_column, add_column = st.columns(
            [2, 3, 2, 4, 1.2], vertical_alignment="bottom")
        ordered = [*_GROUP_ORDER, *(g for g in GROUPS if g not in _GROUP_ORDER)]
        groups = [g for g in ordered if _filterable(g)]
        group = group_column.selectbox("Group", groups, format_func=GROUPS.get, key="scr.add.group")
        field_name = field_column.selectbox(
            "Field", _filterable(group), format_func=lambda n: FIELD_BY_NAME[n].label, key=f"scr.add.field.{group}")
        spec = FIELD_BY_NAME[field_name]
        op = op_column.selectbox("Condition", ui_ops(spec), format_func=OP_LABELS.get, key=f"scr.add.op.{field_name}")
        with value_column:
            _render_value_inputs(spec, op, _value_key(field_name, op), facts, default_date)
        add_column.button("Add", key="scr.add.go", type="primary", icon=":material/add:", on_click=_add)
        hint = spec.help
        if spec.is_numeric:
            hint += " " + spread_caption(spec, facts.spreads.get(spec.name), facts.total)
        st.caption(escape_markdown(hint))
