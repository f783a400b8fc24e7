"""Keep a clicked download until the browser has fetched it (works around a Streamlit 1.67 race).

The Screener and Presets pages build their files only when a download button is
clicked (``st.download_button(data=callable)``), so a rerun stays cheap.  Streamlit
1.67 generates such a file on the click (``MediaFileManager.execute_deferred``) and
stores it WITHOUT recording which session uses it.  Every script run that ends,
in any session, sweeps unreferenced files: the first sweep marks a download file,
the second deletes it.  With a handful of people using the app at once, two runs
end before the clicking browser's ``GET /media/<file>`` arrives, and the download
fails (404; Chromium reports the download as "canceled").  The load test
(``tests/test_load_short.py``, ``benchmarks/load_app.py``) found it: 3 of 16
downloads failed at 10 sessions, 7 of 12 real-Chromium downloads failed beside 6
busy sessions.

:func:`keep_clicked_downloads` replaces ``execute_deferred`` by the same steps plus
one: the generated file is recorded as used by the clicking session at the button's
place, under the same lock that stores it.  That is exactly how Streamlit keeps a
file built eagerly (``data=bytes``): it lives until that session's next run clears
its references (or the session ends), then the sweeps remove it.  Nothing else
changes; the patch applies only to the Streamlit version it was written against and
is a no-op otherwise (re-check the upstream code before extending the list).
"""

from __future__ import annotations

import streamlit
from streamlit.runtime.download_data_util import convert_data_to_bytes_and_infer_mime
from streamlit.runtime.media_file_manager import MediaFileManager, MediaFileMetadata
from streamlit.runtime.media_file_storage import MediaFileKind, MediaFileStorageError

#: Streamlit versions whose ``execute_deferred`` leaves the generated file unreferenced.
AFFECTED_VERSIONS = frozenset({"1.67.0"})
#: Suffix of the reference a generated file gets beside its button's coordinates.
GENERATED_SUFFIX = "#generated"
ORIGINAL_EXECUTE_DEFERRED = MediaFileManager.execute_deferred


def _execute_deferred_and_keep(self: MediaFileManager, file_id: str) -> str:
    """Streamlit 1.67's ``execute_deferred``, plus: reference the file for the clicking session."""
    with self._lock:
        if file_id not in self._deferred_callables:
            raise MediaFileStorageError(f"Deferred file {file_id} not found")
        deferred = self._deferred_callables[file_id]
    try:
        data = deferred["callable"]()  # outside the lock, as upstream: building a file may take a while
    except Exception as exc:
        raise MediaFileStorageError(f"Callable execution failed: {exc}") from exc
    data_as_bytes, inferred_mime_type = convert_data_to_bytes_and_infer_mime(
        data, unsupported_error=MediaFileStorageError(f"Callable returned unsupported type: {type(data)}"))
    mime_type: str = deferred["mimetype"] or inferred_mime_type
    with self._lock:
        generated_id = self._storage.load_and_get_id(
            data_as_bytes, mime_type, MediaFileKind.DOWNLOADABLE, deferred["filename"])
        self._file_metadata[generated_id] = MediaFileMetadata(kind=MediaFileKind.DOWNLOADABLE)
        session_refs = self._files_by_session_and_coord.get(deferred["session_id"])
        if session_refs is not None:  # the session is still connected: keep the file for it
            session_refs[deferred["coordinates"] + GENERATED_SUFFIX] = generated_id
        return self._storage.get_url(generated_id)


def keep_clicked_downloads() -> bool:
    """Install the fix once per process (idempotent); True when it is active."""
    if streamlit.__version__ not in AFFECTED_VERSIONS:
        return False
    MediaFileManager.execute_deferred = _execute_deferred_and_keep  # type: ignore[method-assign]
    return True
