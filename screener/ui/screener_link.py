"""A Screener link (URL query parameters) -> the Screen it means, with notes; preset bookkeeping.

Pure (no Streamlit) so that "opening this URL restores exactly that screen" can be
tested without a browser.  The rules:

- A link carrying ``f`` / ``sort`` / ``cols`` is the screen itself (``screen.from_query``
  drops unusable parts with one note each); a ``preset=slug`` beside them only records
  which preset the screen came from (it names export files and selects the picker).
- A link with only ``preset=slug`` (and maybe ``limit``) loads that preset.
- An unknown or broken preset is dropped with a note; the rest of the link still counts.

The page writes the canonical link back on every run (``screen.to_query_params``), and
:func:`settle` keeps that canonical link unambiguous: a screen with a preset tag but no
filters, sort or columns would otherwise be written as ``preset=slug`` alone, which
reads back as the whole preset.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable, Mapping

from screener.presets import Preset, PresetError, PresetListing, PresetNotFound, PresetStore
from screener.screen import URL_KEYS, Screen, from_query

#: Parameters that make a link carry its own screen (rather than name a preset).
_SCREEN_BODY_KEYS = ("f", "sort", "cols")


def screen_params(params: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    """Only the parameters a Screen owns, every value as a list (repeated ``f``)."""
    picked: dict[str, list[str]] = {}
    for key in URL_KEYS:
        if key in params:
            values = params[key]
            picked[key] = [values] if isinstance(values, str) else [v for v in values if isinstance(v, str)]
    return picked


def settle(screen: Screen) -> Screen:
    """Drop a preset tag that no longer describes anything (see module docstring)."""
    if screen.preset and not (screen.filters or screen.sort or screen.columns):
        return screen.without_preset()
    return screen


def resolve_link(params: Mapping[str, Iterable[str]], store: PresetStore) -> tuple[Screen, list[str]]:
    """The Screen a link means and human notes about what was dropped; never raises."""
    params = screen_params(params)
    screen, notes = from_query(params)
    if screen.preset is None:
        return settle(screen), notes
    try:
        preset = store.get(screen.preset)
    except PresetNotFound:
        notes.append(f"ignored preset {screen.preset!r}: there is no such preset")
        return settle(screen.without_preset()), notes
    except PresetError as exc:
        notes.append(f"ignored preset {screen.preset!r}: {exc}")
        return settle(screen.without_preset()), notes
    if any(key in params for key in _SCREEN_BODY_KEYS):
        return settle(dataclasses.replace(screen, preset=preset.slug)), notes
    limit = screen.limit if "limit" in params else preset.screen.limit
    return dataclasses.replace(preset.screen_with_slug(), limit=limit), notes


def preset_of(screen: Screen, listing: PresetListing) -> Preset | None:
    """The listed preset the screen is tagged with, if it still exists."""
    return next((p for p in listing.presets if p.slug == screen.preset), None) if screen.preset else None


def is_modified(screen: Screen, preset: Preset) -> bool:
    """True once the screen differs from the preset it was loaded from (filters, sort,
    columns or limit)."""
    return screen.without_preset() != preset.screen


def export_stem(screen: Screen, preset: Preset | None, demo: bool) -> str:
    """File-name stem for downloads: the preset's slug, ``-modified`` once changed,
    ``screen`` without a preset, and ``-demo`` on synthetic data so a file that travels
    without the page still says it is not real."""
    if preset is None:
        stem = "screen"
    else:
        stem = preset.slug + ("-modified" if is_modified(screen, preset) else "")
    return stem + ("-demo" if demo else "")
