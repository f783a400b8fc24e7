"""Built-in and saved screen presets: filters, sort, columns and limit only, never SQL.

Built-ins live in code (:data:`BUILTIN_PRESETS`, stable slugs).  Saved presets are
one JSON document each under ``data/presets/<slug>.json``::

    {"version": 1, "name": "My breakout", "description": "...", "screen": {...}}

Why the care: presets are written by the app (possibly two browser sessions at once)
and by the CLI, and hand-edited by people.  So every write is atomic (temp file +
rename, via ``store.write_json_atomic``) and every read-modify-write holds an
exclusive ``fcntl.flock`` on ``data/presets/.lock`` (threads and processes alike);
readers take no lock because they can only ever see whole files.  A file that fails
validation is listed as broken with its reason instead of crashing the list or being
half-used.  An import is all-or-nothing.  A disk error (full, read-only) while
writing is a :class:`PresetError` saying so, never a half-written file.

Deployment (README "Deployment and safety"): presets can be made read-only
(``SCREENER_PRESETS_READONLY=1`` or ``PresetStore(..., readonly=True)``) or per user:
``PresetStore(data_dir, namespace=user_namespace(user_id))`` keeps one user's presets
in ``data/presets/users/<hash>/``, and :func:`store_for_visitor` picks the store for a
visitor from the login state (the UI passes Streamlit's ``st.user``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import re
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

from screener.screen import Filter, Screen, SortKey, from_dict, to_dict
from screener.store import write_json_atomic

PRESET_VERSION = 1
NAME_MAX_CHARS = 60
DESCRIPTION_MAX_CHARS = 300
#: A preset file or import larger than this is refused unread (a screen is ~2 KB).
MAX_FILE_BYTES = 256 * 1024
MAX_IMPORT_BYTES = 4 * 1024 * 1024
MAX_IMPORT_PRESETS = 500
READONLY_ENV = "SCREENER_PRESETS_READONLY"
READONLY_REASON = f"Presets are read-only on this server ({READONLY_ENV}=1)"
LOGIN_REASON = "Log in to save presets of your own; until then presets are read-only"
#: Sub-folder of ``data/presets`` holding one folder per logged-in user.
USERS_FOLDER = "users"
_NAMESPACE = re.compile(r"^[0-9a-f]{32}$")

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?$")
#: Device names Windows refuses as file names, whatever the extension.
RESERVED_SLUGS = frozenset({"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)),
                            *(f"lpt{i}" for i in range(1, 10))})


class PresetError(ValueError):
    """A preset operation refused; the message says why and is shown to people as is."""


class PresetNotFound(PresetError, KeyError):
    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class PresetExists(PresetError):
    pass


class PresetsReadOnly(PresetError):
    pass


@dataclass(frozen=True)
class Preset:
    slug: str
    name: str
    description: str
    screen: Screen
    builtin: bool = False

    def to_document(self) -> dict[str, Any]:
        """The versioned JSON document (what a saved file and an export hold)."""
        return {"version": PRESET_VERSION, "name": self.name, "description": self.description,
                "screen": to_dict(self.screen)}

    def screen_with_slug(self) -> Screen:
        """The screen tagged with this preset's slug (for URLs and export file names)."""
        return dataclasses.replace(self.screen, preset=self.slug)


@dataclass(frozen=True)
class BrokenPreset:
    """A saved file that cannot be used, and why (listed, never half-loaded)."""

    path: Path
    reason: str


@dataclass(frozen=True)
class PresetListing:
    presets: tuple[Preset, ...]
    broken: tuple[BrokenPreset, ...]


# --- names and slugs -------------------------------------------------------------------


def slugify(text: str) -> str:
    """Lower-case ASCII letters, digits and single dashes; '' when nothing is left.

    Accents are folded (Qualité -> qualite); every other character, path separators
    and dots included, becomes a dash, so a slug can never name another folder.
    """
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", folded).strip("-")
    return slug[:NAME_MAX_CHARS].rstrip("-")


def _clean_text(value: object, what: str, max_chars: int, allow_empty: bool) -> str:
    """``value`` stripped and NFC-normalised; refused unless printable text of at most ``max_chars``."""
    if not isinstance(value, str):
        raise PresetError(f"a preset {what} must be text")
    cleaned = unicodedata.normalize("NFC", value).strip()
    if not cleaned and not allow_empty:
        raise PresetError(f"a preset {what} cannot be empty")
    if len(cleaned) > max_chars:
        raise PresetError(f"a preset {what} is at most {max_chars} characters (got {len(cleaned)})")
    if not cleaned.isprintable():
        raise PresetError(f"a preset {what} cannot hold control characters, tabs or line breaks")
    return cleaned


def clean_name(name: object) -> str:
    """A preset name: 1..60 printable characters."""
    return _clean_text(name, "name", NAME_MAX_CHARS, allow_empty=False)


def clean_description(description: object) -> str:
    """A preset description: up to 300 printable characters on one line, possibly empty."""
    return _clean_text(description, "description", DESCRIPTION_MAX_CHARS, allow_empty=True)


def slug_for_name(name: str) -> str:
    """The file slug of a (clean) name; names without any a-z/0-9 get a stable hash slug."""
    slug = slugify(name) or "preset-" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:10]
    if slug in RESERVED_SLUGS:
        raise PresetError(f"{name!r} would be saved as {slug!r}, a reserved file name; choose another name")
    return slug


def is_slug(text: object) -> bool:
    return isinstance(text, str) and bool(_SLUG.match(text)) and text not in RESERVED_SLUGS


# --- documents -------------------------------------------------------------------------


def preset_from_document(obj: object, slug: str | None = None, builtin: bool = False) -> Preset:
    """A Preset from its JSON document, strictly: anything the screen parser would drop
    makes the whole document invalid, so a preset never runs with a filter missing."""
    if not isinstance(obj, dict):
        raise PresetError("not a preset: expected a JSON object")
    version = obj.get("version")
    if version != PRESET_VERSION or isinstance(version, bool):
        raise PresetError(f"unsupported preset version {version!r} (this program reads version {PRESET_VERSION})")
    unknown = set(obj) - {"version", "name", "description", "screen"}
    if unknown:
        raise PresetError(f"unexpected keys {', '.join(sorted(map(repr, unknown)))} (a preset holds only "
                          "name, description and screen)")
    name = clean_name(obj.get("name"))
    description = clean_description(obj.get("description", ""))
    if "screen" not in obj:
        raise PresetError(f"preset {name!r} has no screen")
    screen, notes = from_dict(obj["screen"])
    if notes:
        raise PresetError(f"preset {name!r}: " + "; ".join(notes))
    return Preset(slug or slug_for_name(name), name, description, screen, builtin)


def _builtin(slug: str, name: str, description: str, filters: tuple[Filter, ...],
             sort: tuple[SortKey, ...], columns: tuple[str, ...] = ()) -> Preset:
    return Preset(slug, name, description, Screen(filters, sort, columns), builtin=True)


BUILTIN_PRESETS: tuple[Preset, ...] = (
    _builtin(
        "quality-breakout", "Quality small-cap breakout",
        "Growing, modestly indebted small caps that insiders are buying, beating IWM over six "
        "months on a volume surge of at least twice the 50-day average.",
        (Filter("earnings_growth", "gt", 0.0), Filter("debt_to_equity", "lt", 1.0),
         Filter("revenue_growth", "gt", 0.10), Filter("insider_buying", "is_true"),
         Filter("rs_6m", "gt", 0.0), Filter("volume_surge", "gte", 2.0)),
        (SortKey("volume_surge", descending=True),)),
    _builtin(
        "quality-compounders", "Quality compounders",
        "Profitable, high-return businesses in the quality bucket with low debt and growing "
        "sales, in a long-term uptrend.",
        (Filter("quality_bucket", "eq", "quality"), Filter("is_profitable", "is_true"),
         Filter("roe", "gt", 0.15), Filter("debt_to_equity", "lt", 0.5),
         Filter("revenue_growth", "gt", 0.05), Filter("above_sma_200", "is_true")),
        (SortKey("quality_score", descending=True),)),
    _builtin(
        "insider-momentum", "Insider buying with momentum",
        "Insiders are net buyers with repeat purchases while the stock leads the index "
        "(RS rating 70+) and trades above its 50-day average.",
        (Filter("insider_buying", "is_true"), Filter("insider_buys_6m", "gte", 2),
         Filter("rs_rating", "gte", 70), Filter("above_sma_50", "is_true")),
        (SortKey("insider_net_pct_6m", descending=True),)),
    _builtin(
        "oversold-quality", "Oversold quality",
        "Profitable quality-bucket names at least 25% below their 52-week high after a losing "
        "month: good businesses on sale.",
        (Filter("quality_bucket", "eq", "quality"), Filter("is_profitable", "is_true"),
         Filter("pct_from_52w_high", "lte", -0.25), Filter("return_1m", "lt", 0.0)),
        (SortKey("pct_from_52w_high"),)),
    _builtin(
        "junk-rally", "Junk rally to avoid",
        "Unprofitable junk-bucket names up 30%+ in three months with heavy short interest: "
        "squeezes and hype that rarely last.",
        (Filter("quality_bucket", "eq", "junk"), Filter("is_profitable", "is_false"),
         Filter("return_3m", "gt", 0.30), Filter("short_pct_float", "gt", 0.10)),
        (SortKey("return_3m", descending=True),)),
)

BUILTIN_BY_SLUG: dict[str, Preset] = {p.slug: p for p in BUILTIN_PRESETS}


# --- the store -------------------------------------------------------------------------


def user_namespace(user_id: str) -> str:
    """The folder name of one user's presets: a hash of the identity, so no e-mail address
    (or any other user text) ever becomes part of a path."""
    if not isinstance(user_id, str) or not user_id:
        raise ValueError("a user id must be non-empty text")
    return hashlib.sha256(user_id.encode("utf-8")).hexdigest()[:32]


def user_id_from_claims(claims: Mapping[str, Any]) -> str | None:
    """A stable identity from OpenID Connect claims (what ``st.user`` holds once logged in).

    ``sub`` is unique only per issuer, so issuer and subject together; the e-mail address
    when a provider sends no subject; None when there is nothing to tell users apart.
    """
    subject, issuer, email = claims.get("sub"), claims.get("iss"), claims.get("email")
    if isinstance(subject, str) and subject:
        return f"{issuer if isinstance(issuer, str) else ''}|{subject}"
    if isinstance(email, str) and email:
        return f"email|{email.strip().lower()}"
    return None


def store_for_visitor(data_dir: Path, auth_configured: bool, claims: Mapping[str, Any]) -> PresetStore:
    """The presets one visitor sees and may change.

    - No login configured: the shared ``data/presets`` (read-only with
      ``SCREENER_PRESETS_READONLY=1``), as for a single user or a trusted team.
    - Login configured and the visitor logged in: their own ``data/presets/users/<hash>``
      (still read-only when the variable says so).
    - Login configured but not logged in (or no usable identity): the shared presets,
      read-only, with a reason that says to log in.
    """
    if not auth_configured:
        return PresetStore(data_dir)
    user_id = user_id_from_claims(claims) if claims.get("is_logged_in") is True else None
    if user_id is None:
        return PresetStore(data_dir, readonly=True, readonly_reason=LOGIN_REASON)
    return PresetStore(data_dir, namespace=user_namespace(user_id))


class PresetStore:
    """Built-in presets plus the saved ones under ``<data_dir>/presets`` (or one user's folder).

    ``namespace`` (from :func:`user_namespace`) selects ``<data_dir>/presets/users/<namespace>``;
    None is the shared folder.  ``readonly_reason`` is what refusals and the UI say.
    """

    def __init__(self, data_dir: Path, readonly: bool | None = None, namespace: str | None = None,
                 readonly_reason: str = READONLY_REASON) -> None:
        if namespace is not None and not (isinstance(namespace, str) and _NAMESPACE.match(namespace)):
            raise ValueError(f"{namespace!r} is not a user namespace (see user_namespace)")
        shared = Path(data_dir) / "presets"
        self.namespace = namespace
        self.folder = shared if namespace is None else shared / USERS_FOLDER / namespace
        self.readonly = os.environ.get(READONLY_ENV, "") == "1" if readonly is None else readonly
        self.readonly_reason = readonly_reason

    # reading (no lock: files only ever appear whole) ----------------------------------

    def _path(self, slug: str) -> Path:
        if not is_slug(slug):
            raise PresetNotFound(f"no preset {slug!r}")
        return self.folder / f"{slug}.json"

    def _load(self, path: Path) -> Preset:
        slug = path.name[: -len(".json")]
        if not is_slug(slug):
            raise PresetError("the file name is not a preset slug (a-z, 0-9 and dashes)")
        if slug in BUILTIN_BY_SLUG:
            raise PresetError(f"the file would shadow the built-in preset {slug!r}")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise PresetError(f"larger than {MAX_FILE_BYTES // 1024} KB")
        try:
            document = json.loads(path.read_bytes().decode("utf-8-sig"))  # editors may add a BOM
        except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
            raise PresetError(f"not valid JSON: {exc}") from None
        return preset_from_document(document, slug=slug)

    def list_presets(self) -> PresetListing:
        """Built-ins first, then saved presets by name; unusable files listed as broken."""
        saved: list[Preset] = []
        broken: list[BrokenPreset] = []
        paths = sorted(self.folder.glob("*.json")) if self.folder.is_dir() else []
        for path in paths:
            if path.name.startswith("."):
                continue
            try:
                saved.append(self._load(path))
            except FileNotFoundError as exc:
                # Deleted or renamed by another session since the folder was listed: gone, not
                # broken.  A dangling symlink is still there, and is broken.
                if os.path.lexists(path):
                    broken.append(BrokenPreset(path, str(exc)))
            except (PresetError, OSError) as exc:
                broken.append(BrokenPreset(path, str(exc)))
        saved.sort(key=lambda p: (p.name.casefold(), p.slug))
        return PresetListing((*BUILTIN_PRESETS, *saved), tuple(broken))

    def get(self, slug_or_name: str) -> Preset:
        """A preset by slug, or by name; PresetNotFound if none, PresetError if its file is broken."""
        if not isinstance(slug_or_name, str):
            raise PresetNotFound(f"no preset {slug_or_name!r}")
        if slug_or_name in BUILTIN_BY_SLUG:
            return BUILTIN_BY_SLUG[slug_or_name]
        by_name = [p for p in BUILTIN_PRESETS if p.name.casefold() == slug_or_name.strip().casefold()]
        if by_name:
            return by_name[0]
        candidates = [slug_or_name]
        with contextlib.suppress(PresetError):
            candidates.append(slug_for_name(clean_name(slug_or_name)))
        for slug in candidates:
            if is_slug(slug) and self._path(slug).exists():
                try:
                    return self._load(self._path(slug))
                except OSError as exc:
                    raise PresetError(f"preset {slug!r} cannot be read: {exc}") from None
        raise PresetNotFound(f"no preset {slug_or_name!r}; `python -m screener presets list` shows them")

    # writing (exclusive lock around every read-modify-write) ---------------------------

    def _check_writable(self) -> None:
        if self.readonly:
            raise PresetsReadOnly(f"{self.readonly_reason}: saving, renaming, deleting and importing are disabled")

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the folder's lock; a disk error inside becomes a PresetError that people can read.

        Every write is atomic, so when one fails (disk full, read-only mount) the files on
        disk are as they were: the message can say so.
        """
        self._check_writable()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with open(self.folder / ".lock", "a") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
        except OSError as exc:
            raise PresetError(f"presets could not be written ({exc.strerror or exc}); "
                              "the saved presets are unchanged") from None

    def _new_slug(self, name: str) -> str:
        slug = slug_for_name(name)
        if slug in BUILTIN_BY_SLUG:
            raise PresetExists(f"{name!r} would replace the built-in preset "
                               f"{BUILTIN_BY_SLUG[slug].name!r}; choose another name")
        return slug

    def save(self, name: str, description: str, screen: Screen, overwrite: bool = False) -> Preset:
        """Save ``screen`` under ``name``; PresetExists unless ``overwrite``."""
        if not isinstance(screen, Screen):
            raise PresetError("only a Screen can be saved as a preset")
        name, description = clean_name(name), clean_description(description)
        preset = Preset(self._new_slug(name), name, description, screen.without_preset())
        with self._locked():
            path = self._path(preset.slug)
            if path.exists() and not overwrite:
                raise PresetExists(f"a preset named {name!r} already exists ({path.name}); "
                                   "overwrite it or choose another name")
            write_json_atomic(path, preset.to_document())
        return preset

    def rename(self, slug: str, new_name: str) -> Preset:
        """Give a saved preset a new name (and so a new file); built-ins cannot be renamed."""
        if slug in BUILTIN_BY_SLUG:
            raise PresetError(f"built-in preset {slug!r} cannot be renamed; save a copy instead")
        new_name = clean_name(new_name)
        new_slug = self._new_slug(new_name)
        with self._locked():
            old_path = self._path(slug)
            if not old_path.exists():
                raise PresetNotFound(f"no saved preset {slug!r}")
            current = self._load(old_path)
            new_path = self._path(new_slug)
            if new_slug != slug and new_path.exists():
                raise PresetExists(f"a preset named {new_name!r} already exists ({new_path.name})")
            renamed = dataclasses.replace(current, slug=new_slug, name=new_name)
            write_json_atomic(new_path, renamed.to_document())
            if new_slug != slug:
                old_path.unlink()
        return renamed

    def delete(self, slug: str) -> None:
        """Delete a saved preset (a broken one too); built-ins cannot be deleted."""
        if slug in BUILTIN_BY_SLUG:
            raise PresetError(f"built-in preset {slug!r} cannot be deleted")
        with self._locked():
            path = self._path(slug)
            if not path.exists():
                raise PresetNotFound(f"no saved preset {slug!r}")
            path.unlink()

    def export_all(self) -> bytes:
        """Every usable saved preset as one JSON document (built-ins live in code)."""
        saved = [p for p in self.list_presets().presets if not p.builtin]
        document = {"version": PRESET_VERSION, "presets": [p.to_document() for p in saved]}
        return json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8")

    def import_json(self, data: bytes, overwrite: bool = False) -> tuple[list[Preset], list[str]]:
        """Import an ``export_all`` document or a single preset document, all or nothing.

        Any problem (bad JSON, bad version, a preset that fails validation, a name
        clash with a built-in, a clash with a different saved preset unless
        ``overwrite``) raises PresetError with the reason and changes nothing.
        Returns the presets written and informational notes (unchanged duplicates).
        """
        self._check_writable()
        incoming = _parse_import(data)
        notes: list[str] = []
        with self._locked():
            planned: list[Preset] = []
            clashes: list[str] = []
            for preset in incoming:
                path = self._path(preset.slug)
                if path.exists():
                    try:
                        same = self._load(path).to_document() == preset.to_document()
                    except (PresetError, OSError):
                        same = False
                    if same:
                        notes.append(f"{preset.name!r} is already saved, unchanged")
                        continue
                    if not overwrite:
                        clashes.append(preset.name)
                        continue
                    notes.append(f"{preset.name!r} replaced the saved preset {path.name}")
                planned.append(preset)
            if clashes:
                raise PresetExists("import refused, nothing changed: presets already saved with other "
                                   f"content: {', '.join(map(repr, clashes))} (import with overwrite to replace)")
            self._write_all(planned)
        return planned, notes

    def _write_all(self, presets: list[Preset]) -> None:
        """Write several files; if one fails, put every file back as it was.

        Each existing file is first hard-linked to a hidden backup name, so undoing is an
        atomic rename that needs no free space (the disk may be what just failed).
        """
        undo: list[tuple[Path, Path | None]] = []
        try:
            for preset in presets:
                path = self._path(preset.slug)
                backup = None
                if path.exists():
                    backup = path.with_name(f".{path.name}.{uuid.uuid4().hex}.undo")
                    os.link(path, backup)
                undo.append((path, backup))
                write_json_atomic(path, preset.to_document())
        except OSError as exc:
            for path, backup in reversed(undo):
                if backup is None:
                    path.unlink(missing_ok=True)
                else:
                    os.replace(backup, path)
            raise PresetError(f"import failed and was undone, nothing changed: {exc}") from None
        for _path, backup in undo:
            if backup is not None:
                backup.unlink(missing_ok=True)


def _parse_import(data: bytes) -> list[Preset]:
    """Validate a whole import before anything is written."""
    if not isinstance(data, (bytes, bytearray)):
        raise PresetError("import expects the bytes of a JSON file")
    if len(data) > MAX_IMPORT_BYTES:
        raise PresetError(f"import refused: larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB")
    try:
        document = json.loads(bytes(data).decode("utf-8-sig"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise PresetError(f"import refused: not valid JSON ({exc})") from None
    if isinstance(document, dict) and "presets" in document:
        if document.get("version") != PRESET_VERSION or set(document) != {"version", "presets"}:
            raise PresetError(f"import refused: expected {{\"version\": {PRESET_VERSION}, \"presets\": [...]}}")
        items = document["presets"]
        if not isinstance(items, list):
            raise PresetError("import refused: 'presets' is not a list")
    else:
        items = [document]
    if len(items) > MAX_IMPORT_PRESETS:
        raise PresetError(f"import refused: more than {MAX_IMPORT_PRESETS} presets")
    presets: list[Preset] = []
    seen: dict[str, str] = {}
    for position, item in enumerate(items, start=1):
        try:
            preset = preset_from_document(item)
        except PresetError as exc:
            raise PresetError(f"import refused, nothing changed: preset #{position}: {exc}") from None
        if preset.slug in BUILTIN_BY_SLUG:
            raise PresetError(f"import refused, nothing changed: preset #{position} {preset.name!r} would "
                              f"replace a built-in preset")
        if preset.slug in seen:
            raise PresetError(f"import refused, nothing changed: {preset.name!r} and {seen[preset.slug]!r} "
                              "would be saved under the same file name")
        seen[preset.slug] = preset.name
        presets.append(preset)
    return presets
