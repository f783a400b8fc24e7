"""The polite HTTP layer: pacing, 429 backoff and recovery, retries, counting, outcomes per URL.

The limiter runs on a fake clock (no sleeping, no timing assertions); the session runs on a
scripted transport that answers each attempt as told.
"""

from __future__ import annotations

import random
import threading
import time

import pytest
from curl_cffi import requests as curl_requests
from curl_cffi.requests.exceptions import ConnectionError as CurlConnectionError
from curl_cffi.requests.exceptions import Timeout
from curl_cffi.requests.headers import Headers

from screener.sources.yahoo_http import PoliteSession, RateLimiter, YahooBlocked, outcome_of, request_kind

CHART = "https://query2.finance.yahoo.com/v8/finance/chart/AAPL"


class FakeClock:
    """time.monotonic and time.sleep for a limiter: sleeping moves the clock."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def limiter(rate: float = 10.0, **kwargs) -> tuple[RateLimiter, FakeClock]:
    clock = FakeClock()
    return RateLimiter(rate, clock=clock.clock, sleep=clock.sleep, rng=random.Random(7), **kwargs), clock


def response(status: int, body: bytes = b"{}", headers: dict | None = None) -> curl_requests.Response:
    r = curl_requests.Response()
    r.status_code, r.content, r.ok = status, body, status < 400
    r.headers = Headers(headers or {})
    return r


class Scripted:
    """A transport answering attempt i with script[i] (a status, (status, body), or an exception)."""

    def __init__(self, *script) -> None:
        self.script = list(script)
        self.calls = 0

    def __call__(self, session, method, url, **kwargs):
        step = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        if isinstance(step, BaseException):
            raise step
        status, body = step if isinstance(step, tuple) else (step, b"{}")
        return response(status, body)


def session(transport, rate: float = 10.0, **limiter_kwargs) -> tuple[PoliteSession, FakeClock]:
    lim, clock = limiter(rate, backoff_base_s=1.0, **limiter_kwargs)
    return PoliteSession(lim, max_attempts=4, transport=transport), clock


# --- the limiter -----------------------------------------------------------------------------


def test_slots_are_spaced_one_over_rate_apart_from_the_first_request():
    lim, clock = limiter(rate=4.0)
    slots = [lim.acquire() for _ in range(5)]
    assert slots == pytest.approx([1000.0, 1000.25, 1000.5, 1000.75, 1001.0])
    # An idle pause does not bank credit for a burst afterwards.
    clock.now = 1100.0
    assert [lim.acquire(), lim.acquire()] == pytest.approx([1100.0, 1100.25])


def test_a_429_halves_the_rate_and_pauses_everyone_with_growing_jittered_backoff():
    lim, clock = limiter(rate=8.0, backoff_base_s=2.0, recover_after=1000)
    cooldowns = []
    for expected_base in (2.0, 4.0, 8.0):
        sent = lim.acquire()
        start = clock.now
        lim.throttled(sent)
        next_slot = lim.acquire()
        cooldowns.append((next_slot - start, expected_base))
    for waited, base in cooldowns:
        assert 0.5 * base <= waited <= 1.5 * base  # jitter is +-50 %
    assert lim.current_rate == pytest.approx(1.0)  # 8 -> 4 -> 2 -> 1
    assert lim.throttles == 3


def test_429s_of_requests_already_in_flight_count_once():
    lim, clock = limiter(rate=8.0)
    sent = [lim.acquire() for _ in range(4)]  # four requests on the wire
    for stamp in sent:
        lim.throttled(stamp)
    assert lim.throttles == 4
    assert lim.current_rate == pytest.approx(4.0)  # halved once, not four times
    assert lim._consecutive == 1


def test_rate_recovers_slowly_after_successes_up_to_the_configured_rate():
    lim, clock = limiter(rate=10.0, recover_after=5, recover_step=0.1)
    lim.throttled(lim.acquire())
    assert lim.current_rate == pytest.approx(5.0)
    rates = []
    for _ in range(60):
        lim.succeeded()
        rates.append(lim.current_rate)
    # +1 req/s (10 % of the target) per 5 successes, never above the target.
    assert rates[3] == pytest.approx(5.0) and rates[4] == pytest.approx(6.0)
    assert rates[24] == pytest.approx(10.0) and max(rates) == pytest.approx(10.0)


def test_too_many_429s_in_a_row_stop_all_traffic():
    lim, clock = limiter(rate=10.0, max_consecutive_throttles=3)
    for _ in range(3):
        lim.throttled(lim.acquire())
    assert lim.blocked
    with pytest.raises(YahooBlocked):
        lim.acquire()


def test_a_success_between_429s_resets_the_streak():
    lim, clock = limiter(rate=10.0, max_consecutive_throttles=3)
    for _ in range(5):
        lim.throttled(lim.acquire())
        lim.throttled(lim.acquire())
        lim.succeeded()
    assert not lim.blocked


# --- the session -----------------------------------------------------------------------------


def test_retries_429_then_5xx_then_succeeds_counting_every_attempt():
    transport = Scripted(429, 503, (200, b'{"chart": {}}'))
    polite, clock = session(transport)
    answer = polite.get(CHART)
    assert answer.status_code == 200 and transport.calls == 3
    assert polite.stats.total == 3 and polite.stats.retries == 2
    assert polite.stats.by_kind == {"chart": 3}
    assert polite.stats.by_outcome == {"rate_limit": 1, "http_error": 1, "ok": 1}
    assert polite.limiter.throttles == 1
    assert polite.last_outcome("/v8/finance/chart/AAPL") == "ok"


def test_garbled_json_from_an_api_path_is_retried_but_a_404_is_the_answer():
    garbled = Scripted((200, b'{"chart": {"res'), (200, b'{"chart": {}}'))
    polite, _ = session(garbled)
    assert polite.get(CHART).content == b'{"chart": {}}' and garbled.calls == 2

    missing = Scripted(404)
    polite, _ = session(missing)
    assert polite.get(CHART).status_code == 404 and missing.calls == 1
    assert polite.last_outcome("/v8/finance/chart/AAPL") == "not_found"


def test_persistent_timeouts_are_raised_after_the_last_attempt_with_backoff_between():
    transport = Scripted(Timeout("slow"))
    polite, clock = session(transport)
    with pytest.raises(Timeout):
        polite.get(CHART)
    assert transport.calls == 4
    assert polite.last_outcome("/v8/finance/chart/AAPL") == "timeout"
    pauses = [s for s in clock.slept if s > 0.2]  # pacing slots are 0.1 s apart at 10 req/s
    assert len(pauses) == 3
    for attempt, pause in enumerate(pauses, start=1):
        assert 0.5 * 2 ** (attempt - 1) <= pause <= 1.5 * 2 ** (attempt - 1)


def test_the_last_429_is_handed_to_yfinance_after_max_attempts():
    transport = Scripted(429)
    polite, _ = session(transport)
    assert polite.get(CHART).status_code == 429
    assert transport.calls == 4 and polite.last_outcome("/v8/finance/chart/AAPL") == "rate_limit"


def test_retry_after_header_is_honoured_as_the_minimum_cooldown():
    lim, clock = limiter(rate=10.0, backoff_base_s=0.1)
    polite = PoliteSession(lim, transport=lambda s, m, u, **k: response(429, b"", {"Retry-After": "30"})
                           if lim.throttles == 0 else response(200))
    start = clock.now
    polite.get(CHART)
    assert clock.now - start >= 30.0


def test_a_blocked_limiter_fails_fast_and_records_rate_limit_for_the_url():
    polite, _ = session(Scripted(429), max_consecutive_throttles=2)
    assert polite.get(CHART).status_code == 429  # the streak ends the retries early
    with pytest.raises(YahooBlocked):
        polite.get("https://query2.finance.yahoo.com/v8/finance/chart/MSFT")
    assert polite.last_outcome("/v8/finance/chart/MSFT") == "rate_limit"


def test_an_unreachable_yahoo_stops_the_run_instead_of_retrying_for_hours():
    transport = Scripted(CurlConnectionError("Could not resolve host"))
    polite, _ = session(transport, max_consecutive_errors=10)
    for _ in range(3):  # 4 attempts each: the 10th consecutive error blocks
        with pytest.raises(CurlConnectionError):
            polite.get(CHART)
    assert polite.limiter.blocked and transport.calls == 10
    with pytest.raises(YahooBlocked) as stopped:
        polite.get("https://query2.finance.yahoo.com/v8/finance/chart/MSFT")
    assert stopped.value.reason == "http_error" and transport.calls == 10
    assert polite.last_outcome("/v8/finance/chart/MSFT") == "http_error"


def test_real_answers_between_errors_keep_the_run_going():
    transport = Scripted(503, 503, 503, 200)
    polite, _ = session(transport, max_consecutive_errors=4)
    for _ in range(5):
        transport.calls = 0
        assert polite.get(CHART).status_code == 200
    assert not polite.limiter.blocked



class Gate:
    """A transport that holds every request until released, counting how many are inside at once."""

    def __init__(self) -> None:
        self.inside = 0
        self.peak = 0
        self.lock = threading.Lock()
        self.release = threading.Event()

    def __call__(self, session, method, url, **kwargs):
        with self.lock:
            self.inside += 1
            self.peak = max(self.peak, self.inside)
        self.release.wait(timeout=10)
        with self.lock:
            self.inside -= 1
        return response(200)


@pytest.mark.parametrize("cap, expected_peak", [(None, 6), (2, 2)])
def test_requests_in_flight_are_capped_whatever_threads_send_them(cap, expected_peak):
    """yf.download's thread pool ignores our worker count, so the session itself holds the cap."""
    gate = Gate()
    polite = PoliteSession(RateLimiter(1e6), transport=gate, max_in_flight=cap)
    senders = [threading.Thread(target=polite.get, args=(f"{CHART}{i}",)) for i in range(6)]
    for sender in senders:
        sender.start()
    deadline = time.monotonic() + 5
    while gate.inside < expected_peak and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # room for any sender the cap should be holding back to get in
    gate.release.set()
    for sender in senders:
        sender.join()
    assert gate.peak == expected_peak
    assert polite.stats.total == 6

def test_outcomes_and_kinds():
    assert outcome_of(None, Timeout("t"), CHART) == "timeout"
    assert outcome_of(None, CurlConnectionError("reset"), CHART) == "http_error"
    assert outcome_of(response(500), None, CHART) == "http_error"
    assert outcome_of(response(200, b""), None, CHART) == "bad_payload"
    assert outcome_of(response(200, b"<html>"), None, "https://fc.yahoo.com") == "ok"  # not an API path
    assert request_kind("https://www.ishares.com/us/products/239710/x.ajax?fileType=csv") == "universe"
    assert request_kind("https://query1.finance.yahoo.com/v7/finance/quote?symbols=A") == "quote"
    assert request_kind("https://query2.finance.yahoo.com/v10/finance/quoteSummary/A") == "quote_summary"
    assert request_kind("https://query1.finance.yahoo.com/v1/test/getcrumb") == "cookie_crumb"
