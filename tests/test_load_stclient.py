"""The protocol client against a scripted fake Streamlit server: what it sends is what a browser sends.

The fake answers each ``rerun_script`` with a hand-written page (new_session,
navigation, deltas, a page_info_changed, script_finished) and records every
BackMsg, so each test reads the client's messages field by field.  The real server
is exercised by tests/test_load_short.py and tests/test_load_client.py.
"""

from __future__ import annotations

import asyncio
from typing import Callable

import pytest
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.NumberInput_pb2 import NumberInput
from websockets.asyncio.server import serve

from tests.support.stclient import BrowserSession, ProtocolError

SESSION_ID = "session-1"
PAGE_HASH = "page-hash-screener"


def _delta(path: list[int], kind: str, **fields) -> ForwardMsg:
    message = ForwardMsg()
    message.metadata.delta_path[:] = path
    element = message.delta.new_element
    proto = getattr(element, kind)
    for name, value in fields.items():
        if isinstance(value, list):
            getattr(proto, name)[:] = value
        else:
            setattr(proto, name, value)
    return message


def standard_page(run: int, hashes: set[str]) -> list[ForwardMsg]:
    """A page with one widget of each kind the client keeps, and a cacheable element."""
    start = ForwardMsg()
    start.new_session.initialize.session_id = SESSION_ID
    start.new_session.page_script_hash = "main-script-hash"  # the frontend does not use this one
    start.new_session.config.max_cached_message_age = 2
    navigation = ForwardMsg()
    navigation.navigation.page_script_hash = PAGE_HASH
    messages = [start, navigation,
                _delta([1, 0], "alert", body="DEMO · snapshot 2026-11-20", format=2),
                _delta([0, 0], "heading", body=f"{run} of 10 stocks match"),
                _delta([0, 1], "selectbox", id="$$ID-aa-pick", options=["a", "b", "c"], default=1),
                _delta([0, 3], "button", id="$$ID-cc-go", label="Go"),
                _delta([0, 4], "download_button", id="$$ID-dd-dl", deferred_file_id="file-1", ignore_rerun=True),
                _delta([0, 5], "text_input", id="$$ID-ee-name", form_id="save-form", default="draft")]
    if run < 3:  # the number input leaves the page from run 3 on
        number = _delta([0, 2], "number_input", id="$$ID-bb-num", data_type=NumberInput.FLOAT, default=1.5)
        if run == 2:  # the script pushes a value (st.session_state set before the widget)
            number.delta.new_element.number_input.value = 9.0
            number.delta.new_element.number_input.set_value = True
        messages.append(number)
    if "H1" in hashes:
        reference = ForwardMsg(ref_hash="H1")
        reference.metadata.delta_path[:] = [0, 6]
        messages.append(reference)
    else:
        cached = _delta([0, 6], "markdown", body="a large cacheable element")
        cached.hash, cached.metadata.cacheable = "H1", True
        messages.append(cached)
    info = ForwardMsg()
    info.page_info_changed.query_string = f"f=x&run={run}"
    finished = ForwardMsg(script_finished=ForwardMsg.FINISHED_SUCCESSFULLY)
    return [*messages, info, finished]


class FakeStreamlit:
    """Serves ``page(run, cached_hashes)`` for each rerun; records BackMsgs and HTTP paths."""

    def __init__(self, page: Callable[[int, set[str]], list[ForwardMsg]] = standard_page,
                 close_on_run: int | None = None) -> None:
        self.page, self.close_on_run = page, close_on_run
        self.received: list[BackMsg] = []
        self.http_paths: list[str] = []

    def _http(self, connection, request):
        if request.path == "/_stcore/stream":
            return None
        self.http_paths.append(request.path)
        return connection.respond(200, "ticker\nAAA\nBBB\n" if request.path.startswith("/media/") else "ok")

    async def _socket(self, websocket) -> None:
        runs = 0
        async for raw in websocket:
            message = BackMsg()
            message.ParseFromString(raw)
            self.received.append(message)
            if message.WhichOneof("type") == "rerun_script":
                runs += 1
                if runs == self.close_on_run:
                    await websocket.close()
                    return
                for answer in self.page(runs, set(message.rerun_script.cached_message_hashes)):
                    await websocket.send(answer.SerializeToString())
            elif message.WhichOneof("type") == "backend_operation_request":
                request = message.backend_operation_request
                answer = ForwardMsg()
                answer.backend_operation_response.request_id = request.request_id
                if request.session_id == SESSION_ID and request.deferred_file.file_id == "file-1":
                    answer.backend_operation_response.deferred_file.url = "/media/abc.csv"
                else:
                    answer.backend_operation_response.error_msg = "Invalid session ID for backend operation request"
                await websocket.send(answer.SerializeToString())

    def reruns(self) -> list:
        return [m.rerun_script for m in self.received if m.WhichOneof("type") == "rerun_script"]


def run_against(fake: FakeStreamlit, scenario) -> None:
    async def main() -> None:
        async with serve(fake._socket, "127.0.0.1", 0, process_request=fake._http,
                         subprotocols=["streamlit"]) as server:
            port = server.sockets[0].getsockname()[1]
            async with BrowserSession(f"http://127.0.0.1:{port}", timeout=10) as tab:
                await scenario(tab)

    asyncio.run(main())


def _states(rerun) -> dict[str, tuple[str, object]]:
    """widget id -> (value kind, value) of one rerun_script, as sent."""
    found = {}
    for state in rerun.widget_states.widgets:
        kind = state.WhichOneof("value")
        value = getattr(state, kind)
        found[state.id] = (kind, list(value.data) if kind.endswith("array_value") else value)
    return found


def test_open_loads_the_page_like_a_browser_then_reruns_on_the_announced_page():
    fake = FakeStreamlit()
    views = []

    async def scenario(tab: BrowserSession) -> None:
        views.append((await tab.open("Screener", "preset=quality-compounders"))[0])
        views.append((await tab.rerun())[0])

    run_against(fake, scenario)
    first, second = fake.reruns()
    assert fake.http_paths[:3] == ["/Screener?preset=quality-compounders", "/_stcore/health", "/_stcore/host-config"]
    assert (first.page_name, first.page_script_hash, first.query_string) == (
        "Screener", "", "preset=quality-compounders")
    # later runs name the page by the hash from `navigation` and send the URL the server wrote back
    assert (second.page_name, second.page_script_hash, second.query_string) == ("", PAGE_HASH, "f=x&run=1")
    assert views[0].headings() == ["1 of 10 stocks match"] and views[1].headings() == ["2 of 10 stocks match"]
    assert [e.path for e in views[0].elements] == sorted(e.path for e in views[0].elements)


def test_every_widget_value_is_sent_and_a_click_is_a_one_shot_trigger():
    fake = FakeStreamlit()

    async def scenario(tab: BrowserSession) -> None:
        await tab.open("Screener")
        await tab.set_value("pick", "c")
        await tab.click("go")
        await tab.rerun()

    run_against(fake, scenario)
    _open, changed, clicked, after_click = (_states(r) for r in fake.reruns())
    assert _open == {}  # nothing is held before the first page arrives
    # defaults from the page, the changed one with its new label; no form widget, no button
    assert changed == {"$$ID-aa-pick": ("string_value", "c"), "$$ID-bb-num": ("double_value", 1.5)}
    # run 2 pushed 9.0 into the number input (set_value), which the browser then holds
    assert clicked == {"$$ID-aa-pick": ("string_value", "c"), "$$ID-bb-num": ("double_value", 9.0),
                       "$$ID-cc-go": ("trigger_value", True)}
    # run 3 no longer draws the number input: it is forgotten; the trigger was sent once only
    assert after_click == {"$$ID-aa-pick": ("string_value", "c")}


def test_values_are_checked_against_the_widget_before_sending():
    async def scenario(tab: BrowserSession) -> None:
        await tab.open("Screener")
        with pytest.raises(ValueError, match="not an option"):
            await tab.set_value("pick", "zzz")
        with pytest.raises(ProtocolError, match="not a button"):
            await tab.click("pick")
        with pytest.raises(LookupError):
            await tab.set_value("missing", 1)

    run_against(FakeStreamlit(), scenario)


def test_cached_messages_are_reported_and_references_resolved():
    fake = FakeStreamlit()
    seen = []

    async def scenario(tab: BrowserSession) -> None:
        await tab.open("Screener")
        view, _ms = await tab.rerun()
        seen.append(([e.proto.body for e in view.of_kind("markdown")], tab.references_resolved))

    run_against(fake, scenario)
    first, second = fake.reruns()
    assert list(first.cached_message_hashes) == [] and list(second.cached_message_hashes) == ["H1"]
    assert seen == [(["a large cacheable element"], 1)]


def test_a_reference_to_an_uncached_message_fails_instead_of_showing_a_hole():
    def page(run: int, hashes: set[str]) -> list[ForwardMsg]:
        return standard_page(run, {"H1"})  # the server believes the tab caches H1 from the start

    async def scenario(tab: BrowserSession) -> None:
        with pytest.raises(ProtocolError, match="never cached"):
            await tab.open("Screener")

    run_against(FakeStreamlit(page), scenario)


def test_a_deferred_download_asks_for_the_file_then_fetches_it_without_a_rerun():
    fake = FakeStreamlit()
    files = []

    async def scenario(tab: BrowserSession) -> None:
        await tab.open("Screener")
        files.append((await tab.download("dl"))[0])

    run_against(fake, scenario)
    requests = [m.backend_operation_request for m in fake.received if m.WhichOneof("type") == "backend_operation_request"]
    assert [(r.session_id, r.deferred_file.file_id) for r in requests] == [(SESSION_ID, "file-1")]
    assert len(fake.reruns()) == 1  # on_click="ignore": no rerun
    assert files[0].body == b"ticker\nAAA\nBBB\n" and files[0].url.endswith("/media/abc.csv")


def test_a_server_that_drops_the_socket_fails_the_action_promptly():
    async def scenario(tab: BrowserSession) -> None:
        await tab.open("Screener")
        with pytest.raises(ProtocolError, match="closed"):
            await asyncio.wait_for(tab.rerun(), 5)

    run_against(FakeStreamlit(close_on_run=2), scenario)


def test_a_widget_the_client_cannot_hold_fails_loudly_instead_of_being_left_out():
    def page(run: int, hashes: set[str]) -> list[ForwardMsg]:
        messages = standard_page(run, hashes)
        return [*messages[:-2], _delta([0, 7], "slider", id="$$ID-ff-range", label="Range"), *messages[-2:]]

    async def scenario(tab: BrowserSession) -> None:
        with pytest.raises(ProtocolError, match="slider widget"):
            await tab.open("Screener")

    run_against(FakeStreamlit(page), scenario)
