"""A protocol-level Streamlit client: one browser tab, without the browser.

Why: a load test needs 25 "users" on a 2-core machine, and 25 Chromiums would measure
Chromium.  The work the *server* does for a user is driven entirely by what the
browser sends over the websocket, so this client speaks that protocol the way
Streamlit's own frontend does (read from the installed package:
``web/server/starlette/starlette_websocket.py``, ``runtime/app_session.py`` and the
frontend bundle's ``sendRerunBackMsg`` / download button / message cache):

- HTTP first: ``GET /<page>?<query>`` (the HTML), ``/_stcore/health`` and
  ``/_stcore/host-config``, then a websocket to ``/_stcore/stream`` with the
  ``streamlit`` subprotocol.
- One ``BackMsg.rerun_script`` per user action, carrying the URL's query string,
  the page (``page_name`` = URL path on the first run, then the ``page_script_hash``
  the server announced in its ``navigation`` message), the value of EVERY widget on the page
  (``widget_states``; a button click adds a one-shot ``trigger_value``), the hashes
  of the messages already cached, and the browser context.
- Widget values follow the frontend's rule: the value the server pushes
  (``set_value``) wins, else the value this tab already holds for that widget id,
  else the widget's default; widgets gone from the page are forgotten, and widgets
  inside a form are sent only when the form is submitted (never here).
- The server's ``page_info_changed`` rewrites the address bar (``query_string``),
  which the next rerun sends back, exactly like the browser's URL.
- Cacheable messages are kept and their hashes reported, so the server answers with
  ``ref_hash`` references as it does to a browser; entries older than
  ``new_session.config.max_cached_message_age`` runs are dropped, as the frontend does.
- A download button built with a callable (``deferred_file_id``) is clicked like the
  frontend does it: a ``backend_operation_request`` for the file, then
  ``GET /media/<file>`` on the URL the server answers with.

A finished run is a :class:`PageView`: the elements in page order, widgets by key,
texts, alerts and exceptions, and the address bar.  Every action returns the
round trip as the browser would experience it: from sending to ``script_finished``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.NumberInput_pb2 import NumberInput
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.runtime.state.common import user_key_from_element_id
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

#: Element types that hold a value the frontend keeps and resends on every rerun.
VALUE_WIDGETS = frozenset({"selectbox", "multiselect", "number_input", "checkbox", "text_input", "text_area",
                           "date_input"})
#: Element types that are widgets without a persistent value (a click is a one-shot trigger).
TRIGGER_WIDGETS = frozenset({"button", "download_button"})
#: What ``script_finished`` says when a run ended; "early for rerun" is not an end.
_FINISHED = {ForwardMsg.FINISHED_SUCCESSFULLY: "ok", ForwardMsg.FINISHED_WITH_COMPILE_ERROR: "compile error",
             ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY: "fragment ok"}
#: Threads for the blocking HTTP GETs of many sessions at once (the default pool has cpu+4).
_HTTP_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=64, thread_name_prefix="stclient-http")


class ProtocolError(RuntimeError):
    """The server said something a browser would not accept, or the client cannot emulate it."""


@dataclass(frozen=True)
class Element:
    """One element of a finished run, where it sits (``delta_path``), its type and protobuf."""

    path: tuple[int, ...]
    kind: str
    proto: Any

    @property
    def key(self) -> str | None:
        """The widget's user key (``key=`` in the script), or None."""
        widget_id = getattr(self.proto, "id", "")
        return user_key_from_element_id(widget_id) if widget_id else None


@dataclass(frozen=True)
class PageView:
    """What the browser shows after one run: elements in page order and the address bar."""

    elements: tuple[Element, ...]
    query_string: str
    status: str

    def of_kind(self, *kinds: str) -> list[Element]:
        return [e for e in self.elements if e.kind in kinds]

    def widget(self, key: str) -> Element:
        found = [e for e in self.elements if e.key == key]
        if len(found) != 1:
            raise LookupError(f"{len(found)} widgets with key {key!r} on the page")
        return found[0]

    def widgets(self, prefix: str = "", suffix: str = "") -> list[Element]:
        """Widgets whose key starts with ``prefix`` and ends with ``suffix``, in page order."""
        return [e for e in self.elements if e.key and e.key.startswith(prefix) and e.key.endswith(suffix)]

    def headings(self) -> list[str]:
        return [e.proto.body for e in self.of_kind("heading")]

    def markdown(self) -> list[str]:
        return [e.proto.body for e in self.of_kind("markdown")]

    def alerts(self, level: int | None = None) -> list[str]:
        """Alert bodies (st.error / warning / info / success); ``level`` is an ``Alert.Format`` value."""
        return [e.proto.body for e in self.of_kind("alert") if level is None or e.proto.format == level]

    def exceptions(self) -> list[str]:
        """Exception boxes (a traceback or a deprecation warning), as "Type: message"."""
        return [f"{e.proto.type}: {e.proto.message}" for e in self.of_kind("exception")]

    def problems(self) -> list[str]:
        """What a user would see as an error on the page: exception boxes and st.error alerts."""
        return [*self.exceptions(), *(f"error alert: {body}" for body in self.alerts(Alert.ERROR))]


@dataclass(frozen=True)
class Download:
    url: str
    body: bytes
    content_type: str


class _MessageCache:
    """The frontend's ForwardMsg cache: cacheable messages by hash, aged by script runs."""

    def __init__(self) -> None:
        self.max_age = 2
        self._runs = 0
        self.references = 0
        self._entries: dict[str, tuple[ForwardMsg, int]] = {}

    def hashes(self) -> list[str]:
        return list(self._entries)

    def resolve(self, message: ForwardMsg) -> ForwardMsg:
        """Keep a cacheable message; replace a reference by the cached message (with new metadata)."""
        if message.WhichOneof("type") == "ref_hash":
            cached = self._entries.get(message.ref_hash)
            if cached is None:
                raise ProtocolError(f"server referenced message {message.ref_hash} that this tab never cached")
            full = ForwardMsg()
            full.CopyFrom(cached[0])
            full.metadata.CopyFrom(message.metadata)
            self._entries[message.ref_hash] = (cached[0], self._runs)
            self.references += 1
            return full
        if message.metadata.cacheable and message.hash:
            self._entries[message.hash] = (message, self._runs)
        return message

    def script_finished(self) -> None:
        self._runs += 1
        self._entries = {h: (m, run) for h, (m, run) in self._entries.items() if self._runs - run <= self.max_age}


def _widget_state(element: Element, held: WidgetState | None) -> WidgetState | None:
    """The value the frontend holds for a value widget after this run rendered it (see module doc)."""
    proto, kind = element.proto, element.kind
    state = WidgetState(id=proto.id)
    if not proto.set_value and held is not None:
        return held
    if kind == "selectbox":
        if proto.set_value:
            if not proto.HasField("raw_value"):
                return None
            state.string_value = proto.raw_value
        elif proto.HasField("default"):
            state.string_value = proto.options[proto.default]
        else:
            return None
    elif kind == "multiselect":
        values = list(proto.raw_values) if proto.set_value else [proto.options[i] for i in proto.default]
        state.string_array_value.data[:] = values
    elif kind == "number_input":
        source = "value" if proto.set_value else "default"
        if not proto.HasField(source):
            return None
        number = getattr(proto, source)
        if proto.data_type == NumberInput.INT:
            state.int_value = int(number)
        else:
            state.double_value = number
    elif kind == "checkbox":
        state.bool_value = proto.value if proto.set_value else proto.default
    elif kind in ("text_input", "text_area"):
        source = "value" if proto.set_value else "default"
        if not proto.HasField(source):
            return None
        state.string_value = getattr(proto, source)
    elif kind == "date_input":
        state.string_array_value.data[:] = list(proto.value if proto.set_value else proto.default)
    else:
        raise ProtocolError(f"no value rule for {kind}")
    return state


def encode_value(element: Element, value: Any) -> WidgetState:
    """A user's new value for a widget, in the wire form the frontend sends.

    Selectbox and multiselect values are the option LABELS the user sees (what
    ``format_func`` printed), numbers are numbers, checkboxes booleans.
    """
    proto, kind = element.proto, element.kind
    state = WidgetState(id=proto.id)
    if kind == "selectbox":
        if value not in proto.options:
            raise ValueError(f"{value!r} is not an option of {element.key!r}")
        state.string_value = value
    elif kind == "multiselect":
        missing = [v for v in value if v not in proto.options]
        if missing:
            raise ValueError(f"{missing!r} are not options of {element.key!r}")
        state.string_array_value.data[:] = list(value)
    elif kind == "number_input":
        if proto.data_type == NumberInput.INT:
            state.int_value = int(value)
        else:
            state.double_value = float(value)
    elif kind == "checkbox":
        state.bool_value = bool(value)
    elif kind in ("text_input", "text_area"):
        state.string_value = str(value)
    else:
        raise ProtocolError(f"setting a {kind} is not supported by this client")
    return state


def _http_get(url: str, timeout: float) -> tuple[int, bytes, str]:
    request = urllib.request.Request(url, headers={"User-Agent": "stclient (smallcap-screener load test)"})
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        return answer.status, answer.read(), answer.headers.get("Content-Type", "")


class BrowserSession:
    """One tab on one page of a served app.  Use ``async with BrowserSession(...)`` or close()."""

    def __init__(self, base_url: str, timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.query_string = ""
        self.view: PageView | None = None
        self._page_name = ""
        self._page_hash = ""
        self._session_id = ""
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._cache = _MessageCache()
        self._held: dict[str, WidgetState] = {}
        self._run_elements: dict[tuple[int, ...], Element] = {}
        self._run_done: asyncio.Future[PageView] | None = None
        self._operations: dict[str, asyncio.Future[Any]] = {}
        self._closed_reason: str | None = None

    async def __aenter__(self) -> BrowserSession:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    # --- actions a user takes; each returns (view, milliseconds) ---------------------

    async def open(self, page: str, query: str = "") -> tuple[PageView, float]:
        """Load ``/<page>?<query>`` as a browser does; the time runs until the first script_finished."""
        started = time.perf_counter()
        self._page_name, self.query_string = page.strip("/"), query
        loop = asyncio.get_running_loop()
        address = f"{self.base_url}/{self._page_name}" + (f"?{query}" if query else "")
        for url in (address, f"{self.base_url}/_stcore/health", f"{self.base_url}/_stcore/host-config"):
            status, _body, _type = await loop.run_in_executor(_HTTP_POOL, _http_get, url, self.timeout)
            if status != 200:
                raise ProtocolError(f"GET {url} answered {status}")
        netloc = urlsplit(self.base_url).netloc
        self._ws = await asyncio.wait_for(connect(
            f"ws://{netloc}/_stcore/stream", subprotocols=[Subprotocol("streamlit")], max_size=None,
            user_agent_header="stclient (smallcap-screener load test)"), self.timeout)
        self._reader = asyncio.create_task(self._read_forever(), name=f"stclient-reader-{id(self)}")
        view = await self._rerun(trigger=None)
        return view, (time.perf_counter() - started) * 1000

    async def set_value(self, key: str, value: Any) -> tuple[PageView, float]:
        """Change one widget (by key) as a user would; the server reruns the script."""
        element = self._current().widget(key)
        self._held[element.proto.id] = encode_value(element, value)
        return await self._timed_rerun(trigger=None)

    async def click(self, key: str) -> tuple[PageView, float]:
        """Press a button (by key): a one-shot trigger beside every widget's value."""
        element = self._current().widget(key)
        if element.kind != "button":
            raise ProtocolError(f"{key!r} is a {element.kind}, not a button")
        if element.proto.is_form_submitter:
            raise ProtocolError(f"{key!r} submits a form: forms are not emulated by this client")
        return await self._timed_rerun(trigger=WidgetState(id=element.proto.id, trigger_value=True))

    async def rerun(self) -> tuple[PageView, float]:
        """The browser's "Rerun": same widgets, same address bar."""
        return await self._timed_rerun(trigger=None)

    def held_value(self, key: str) -> Any:
        """The value this tab holds (and would send) for a widget: what the user sees in it."""
        element = self._current().widget(key)
        state = self._held.get(element.proto.id)
        if state is None:
            return None
        kind = state.WhichOneof("value")
        value = getattr(state, kind)
        return list(value.data) if kind in ("string_array_value", "int_array_value", "double_array_value") else value

    @property
    def references_resolved(self) -> int:
        """Messages the server sent as a reference to this tab's cache (proof the cache is used)."""
        return self._cache.references

    async def download(self, key: str) -> tuple[Download, float]:
        """Click a download button and fetch the file like the frontend (no rerun when on_click="ignore")."""
        element = self._current().widget(key)
        if element.kind != "download_button":
            raise ProtocolError(f"{key!r} is a {element.kind}, not a download button")
        proto = element.proto
        started = time.perf_counter()
        # Like the frontend: a button without on_click="ignore" also triggers a rerun, concurrently.
        run = None if proto.ignore_rerun else asyncio.ensure_future(
            self._rerun(trigger=WidgetState(id=proto.id, trigger_value=True)))
        url = await self._deferred_file_url(proto.deferred_file_id) if proto.deferred_file_id else proto.url
        if not url:
            raise ProtocolError(f"download button {key!r} has neither a URL nor a deferred file")
        target = url if url.startswith("http") else f"{self.base_url}/{url.lstrip('/')}"
        loop = asyncio.get_running_loop()
        status, body, content_type = await loop.run_in_executor(_HTTP_POOL, _http_get, target, self.timeout)
        if status != 200:
            raise ProtocolError(f"GET {target} answered {status}")
        if run is not None:
            await run
        return Download(target, body, content_type), (time.perf_counter() - started) * 1000

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            try:
                await self._reader
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - closing anyway
                pass
        self._ws = self._reader = None

    # --- protocol ------------------------------------------------------------------------

    def _current(self) -> PageView:
        if self.view is None:
            raise ProtocolError("no page yet: open() first")
        return self.view

    async def _timed_rerun(self, trigger: WidgetState | None) -> tuple[PageView, float]:
        started = time.perf_counter()
        view = await self._rerun(trigger)
        return view, (time.perf_counter() - started) * 1000

    def _widget_states(self, trigger: WidgetState | None) -> list[WidgetState]:
        states = list(self._held.values())
        return [*states, trigger] if trigger is not None else states

    async def _send(self, message: BackMsg) -> None:
        if self._ws is None or self._closed_reason:
            raise ProtocolError(f"connection closed: {self._closed_reason or 'not open'}")
        await self._ws.send(message.SerializeToString())

    async def _rerun(self, trigger: WidgetState | None) -> PageView:
        if self._run_done is not None and not self._run_done.done():
            raise ProtocolError("a run is still in progress (a user waits for the page before acting)")
        message = BackMsg()
        request = message.rerun_script
        request.query_string = self.query_string
        request.widget_states.widgets.extend(self._widget_states(trigger))
        if self._page_hash:
            request.page_script_hash = self._page_hash
        else:
            request.page_name = self._page_name
        request.cached_message_hashes.extend(self._cache.hashes())
        context = request.context_info
        context.timezone, context.timezone_offset, context.locale = "UTC", 0, "en-US"
        context.url = f"{self.base_url}/{self._page_name}" + (f"?{self.query_string}" if self.query_string else "")
        self._run_done = asyncio.get_running_loop().create_future()
        await self._send(message)
        return await asyncio.wait_for(asyncio.shield(self._run_done), self.timeout)

    async def _deferred_file_url(self, file_id: str) -> str:
        request_id = uuid.uuid4().hex
        answer = asyncio.get_running_loop().create_future()
        self._operations[request_id] = answer
        message = BackMsg()
        message.backend_operation_request.request_id = request_id
        message.backend_operation_request.session_id = self._session_id
        message.backend_operation_request.deferred_file.file_id = file_id
        try:
            await self._send(message)
            response = await asyncio.wait_for(answer, self.timeout)
        finally:
            self._operations.pop(request_id, None)
        if response.error_msg:
            raise ProtocolError(f"deferred download refused: {response.error_msg}")
        return response.deferred_file.url

    async def _read_forever(self) -> None:
        assert self._ws is not None
        try:
            async for raw in self._ws:
                message = ForwardMsg()
                message.ParseFromString(raw if isinstance(raw, bytes) else raw.encode())
                self._handle(self._cache.resolve(message))
        except Exception as exc:  # noqa: BLE001 - any failure ends the tab; waiters are told why
            self._fail(f"{type(exc).__name__}: {exc}")
            return
        self._fail("server closed the websocket")

    def _fail(self, reason: str) -> None:
        self._closed_reason = reason
        error = ProtocolError(reason)
        for waiter in [self._run_done, *self._operations.values()]:
            if waiter is not None and not waiter.done():
                waiter.set_exception(error)

    def _handle(self, message: ForwardMsg) -> None:
        kind = message.WhichOneof("type")
        if kind == "new_session":
            self._run_elements = {}
            self._session_id = message.new_session.initialize.session_id or self._session_id
            self._cache.max_age = message.new_session.config.max_cached_message_age or self._cache.max_age
        elif kind == "navigation":  # the frontend's current page comes from here, not new_session
            self._page_hash = message.navigation.page_script_hash
        elif kind == "delta":
            self._delta(message)
        elif kind == "page_info_changed":
            self.query_string = message.page_info_changed.query_string
        elif kind == "script_finished":
            if message.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                return
            self._finish(_FINISHED.get(message.script_finished, str(message.script_finished)))
        elif kind == "backend_operation_response":
            response = message.backend_operation_response
            waiter = self._operations.get(response.request_id)
            if waiter is not None and not waiter.done():
                waiter.set_result(response)

    def _delta(self, message: ForwardMsg) -> None:
        delta = message.delta
        path = tuple(message.metadata.delta_path)
        if delta.WhichOneof("type") != "new_element":
            return  # blocks only give structure; their children carry full paths
        element = delta.new_element
        kind = element.WhichOneof("type")
        self._run_elements[path] = Element(path, kind, getattr(element, kind))

    def _finish(self, status: str) -> None:
        elements = tuple(self._run_elements[p] for p in sorted(self._run_elements))
        held: dict[str, WidgetState] = {}
        for element in elements:
            widget_id, form_id = getattr(element.proto, "id", ""), getattr(element.proto, "form_id", "")
            if widget_id and not form_id and element.kind not in VALUE_WIDGETS | TRIGGER_WIDGETS:
                # the browser would hold and resend its value; sending nothing would change the app's behaviour
                raise ProtocolError(f"the page has a {element.kind} widget ({element.key!r}) this client cannot emulate")
            if element.kind in VALUE_WIDGETS and not form_id:
                state = _widget_state(element, self._held.get(element.proto.id))
                if state is not None:
                    held[element.proto.id] = state
        self._held = held
        self._cache.script_finished()
        self.view = PageView(elements, self.query_string, status)
        if self._run_done is not None and not self._run_done.done():
            self._run_done.set_result(self.view)

