"""The one HTTP session every Yahoo and iShares request goes through: paced, counted, backed off.

yfinance 1.7 has no throttle and no retry on 429 (DESIGN.md section 4), so politeness
lives here, below yfinance, where *every* request passes - the cookie and crumb calls,
``yf.download``'s chart calls in its own threads, our quote calls and the holdings
download alike:

- :class:`RateLimiter` hands out send slots at most ``rate`` per second (no bursts).
  A 429 halves the rate and pauses every thread for an exponential, jittered
  cool-down; successes then raise the rate again slowly (AIMD).  After too many 429s
  in a row - or too many network errors in a row, when the network or Yahoo is down -
  it stops the run's traffic altogether (:class:`YahooBlocked`) instead of hammering a
  server that has said no, or waiting out hours of retries.
- :class:`PoliteSession` is a ``curl_cffi`` session (yfinance refuses any other kind)
  that waits for a slot before each attempt, retries 429, 5xx, timeouts and garbled
  JSON a few times, counts every attempt by kind, and remembers the last outcome per
  URL path, because ``yf.download`` swallows errors and leaves only all-NaN columns.
  It also caps the requests in flight: ``yf.download``'s threads come from a pool that
  the ``multitasking`` package sizes once, at import, to the machine's core count, so
  its ``threads=`` argument cannot bound them; the cap has to live here.

Tests and benchmarks swap the network for a fake with ``transport=``; everything
above it (this module, yfinance, the source) runs for real.
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlsplit

from curl_cffi import requests as curl_requests
from curl_cffi.requests.exceptions import RequestException, Timeout

#: ``transport(session, method, url, **kwargs) -> Response``: how a request leaves the process.
#: The default is ``curl_cffi``'s own ``Session.request``; a fake gets the session so it can
#: set cookies the way a server's ``Set-Cookie`` would.
Transport = Callable[..., curl_requests.Response]

#: Statuses worth another attempt after a pause; anything else is the answer.
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

#: Yahoo API paths whose body must be JSON; a 200 with anything else is a garbled answer.
_JSON_PATH_PREFIXES = ("/v7/finance/", "/v8/finance/", "/v10/finance/", "/ws/fundamentals-timeseries/")


class YahooBlocked(RequestException):
    """Yahoo said 429 too many times in a row, or could not be reached: no more requests this run.

    A ``curl_cffi`` ``RequestException`` so yfinance's own error handling treats it
    like any network failure (it records an error and moves on) instead of crashing.
    ``reason`` is the failure reason every request it stops is given.
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass
class RateLimiter:
    """Send slots at most ``rate`` per second, slowed by 429s and recovering slowly.

    ``acquire`` books the next free slot under a lock and sleeps outside it, so any
    number of threads share one pace.  ``clock``, ``sleep`` and ``rng`` are injectable
    so the policy can be tested without waiting.
    """

    rate: float
    min_rate: float = 0.05
    backoff_base_s: float = 2.0
    backoff_cap_s: float = 120.0
    recover_after: int = 20
    recover_step: float = 0.1
    max_consecutive_throttles: int = 8
    max_consecutive_errors: int = 30
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        if self.rate <= 0:
            raise ValueError(f"rate must be positive, got {self.rate}")
        self.target_rate = self.rate
        self.current_rate = self.rate
        self.throttles = 0
        self.backoff_s = 0.0
        self.blocked = False
        self.blocked_reason = ""
        self._errors = 0
        self._next_slot = 0.0
        self._cooldown_until = 0.0
        self._last_throttle_at = float("-inf")
        self._consecutive = 0
        self._successes = 0
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Wait for this caller's send slot; returns the slot time (the request's send time)."""
        with self._lock:
            if self.blocked:
                what = ("Yahoo kept answering 429 (too many requests)" if self.blocked_reason == "rate_limit"
                        else "Yahoo could not be reached (network errors, timeouts or 5xx)")
                raise YahooBlocked(f"{what}; stopped sending requests for this run", self.blocked_reason)
            now = self.clock()
            slot = max(now, self._next_slot, self._cooldown_until)
            self._next_slot = slot + 1.0 / self.current_rate
        if slot > now:
            self.sleep(slot - now)
        return slot

    def throttled(self, sent_at: float, retry_after_s: float | None = None) -> None:
        """A 429 for a request sent at ``sent_at``: halve the rate and pause everyone.

        429s for requests that were already in flight when the previous cool-down began
        are the same event seen twice: counted, but they do not escalate the backoff.
        """
        with self._lock:
            self.throttles += 1
            self._successes = 0
            if sent_at <= self._last_throttle_at:
                return
            now = self.clock()
            self._last_throttle_at = now
            self._consecutive += 1
            if self._consecutive >= self.max_consecutive_throttles:
                self.blocked, self.blocked_reason = True, "rate_limit"
            self.current_rate = max(self.min_rate, self.current_rate / 2)
            delay = min(self.backoff_cap_s, self.backoff_base_s * 2 ** (self._consecutive - 1))
            delay *= self.rng.uniform(0.5, 1.5)
            if retry_after_s is not None:
                delay = max(delay, min(retry_after_s, self.backoff_cap_s))
            self._cooldown_until = max(self._cooldown_until, now + delay)
            self.backoff_s += delay

    def failed(self) -> None:
        """A network error, timeout or 5xx: too many in a row and Yahoo counts as unreachable."""
        with self._lock:
            self._errors += 1
            if self._errors >= self.max_consecutive_errors:
                self.blocked, self.blocked_reason = True, "http_error"

    def succeeded(self) -> None:
        """A real answer (not a 429, not an error): the streaks end; every so often speed up a step."""
        with self._lock:
            self._consecutive = 0
            self._errors = 0
            if self.current_rate >= self.target_rate:
                return
            self._successes += 1
            if self._successes >= self.recover_after:
                self._successes = 0
                self.current_rate = min(self.target_rate, self.current_rate + self.recover_step * self.target_rate)

    def pause(self, attempt: int) -> float:
        """Sleep this thread only (after a 5xx or timeout): exponential with jitter; returns seconds."""
        delay = min(self.backoff_cap_s, self.backoff_base_s * 2 ** (attempt - 1)) * self.rng.uniform(0.5, 1.5)
        self.sleep(delay)
        return delay


def request_kind(url: str) -> str:
    """A short name for what a URL asks for, to count requests by purpose in run.json."""
    parts = urlsplit(url)
    host, path = parts.hostname or "", parts.path
    if "ishares.com" in host:
        return "universe"
    if path.startswith("/v8/finance/chart/"):
        return "chart"
    if path.startswith("/v10/finance/quoteSummary/"):
        return "quote_summary"
    if path.startswith("/v7/finance/quote"):
        return "quote"
    if path.startswith("/ws/fundamentals-timeseries/"):
        return "timeseries"
    if path.startswith("/v1/test/getcrumb") or host in ("fc.yahoo.com",) or "consent" in host:
        return "cookie_crumb"
    return "other"


def outcome_of(response: curl_requests.Response | None, error: BaseException | None, url: str) -> str:
    """``"ok"`` or a failure reason of ``FAILURE_REASONS`` for one attempt."""
    if error is not None:
        if isinstance(error, YahooBlocked):
            return error.reason
        return "timeout" if isinstance(error, Timeout) else "http_error"
    assert response is not None
    status = response.status_code
    if status == 429:
        return "rate_limit"
    if status == 404:
        return "not_found"
    if status >= 400:
        return "http_error"
    if urlsplit(url).path.startswith(_JSON_PATH_PREFIXES) and not _is_json(response.content):
        return "bad_payload"
    return "ok"


def _is_json(content: bytes) -> bool:
    try:
        json.loads(content)
    except ValueError:
        return False
    return True


def _retry_after_s(response: curl_requests.Response | None) -> float | None:
    if response is None:
        return None
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


@dataclass
class RequestStats:
    """Every attempt that left the process, by kind and outcome (thread-safe)."""

    by_kind: Counter = field(default_factory=Counter)
    by_outcome: Counter = field(default_factory=Counter)
    retries: int = 0

    @property
    def total(self) -> int:
        return sum(self.by_kind.values())


class PoliteSession(curl_requests.Session):
    """A ``curl_cffi`` session that paces, retries and counts every request (see module doc).

    After ``max_attempts`` the last answer is handed to the caller as is (yfinance then
    raises ``YFRateLimitError`` on a 429, or records the failure), or the last network
    error is raised.  ``max_in_flight`` caps the requests waiting for their send slot or
    their answer at once, whichever threads send them (None: no cap).
    """

    def __init__(self, limiter: RateLimiter, *, max_attempts: int = 4, timeout_s: float = 20.0,
                 transport: Transport | None = None, max_in_flight: int | None = None) -> None:
        super().__init__(impersonate="chrome", timeout=timeout_s)
        self.limiter = limiter
        self.max_attempts = max_attempts
        self.stats = RequestStats()
        self._transport: Transport = transport or curl_requests.Session.request
        self._outcomes: dict[str, str] = {}
        self._requests_by_path: Counter = Counter()
        self._lock = threading.Lock()
        self._in_flight = threading.BoundedSemaphore(max_in_flight) if max_in_flight else contextlib.nullcontext()

    def request(self, method: Any, url: str, **kwargs: Any) -> curl_requests.Response:  # type: ignore[override]
        kind = request_kind(url)
        path = urlsplit(url).path
        with self._lock:
            self._requests_by_path[path] += 1
        response: curl_requests.Response | None = None
        error: BaseException | None = None
        for attempt in range(1, self.max_attempts + 1):
            # Taken before the send slot, so a request held back by the cap never fires its
            # long-booked slot late, right behind another one.
            with self._in_flight:
                try:
                    sent_at = self.limiter.acquire()
                except YahooBlocked as blocked:
                    with self._lock:
                        self._outcomes[path] = blocked.reason
                    raise
                response, error = None, None
                try:
                    response = self._transport(self, method, url, **kwargs)
                except RequestException as exc:
                    error = exc
            outcome = outcome_of(response, error, url)
            with self._lock:
                self.stats.by_kind[kind] += 1
                self.stats.by_outcome[outcome] += 1
                self.stats.retries += attempt > 1
                self._outcomes[path] = outcome
            retry = (outcome in ("rate_limit", "timeout", "bad_payload")
                     or (outcome == "http_error" and (error is not None or response.status_code in _RETRY_STATUSES)))
            if outcome == "rate_limit":
                self.limiter.throttled(sent_at, _retry_after_s(response))
            elif retry and outcome != "bad_payload":
                self.limiter.failed()
            else:
                self.limiter.succeeded()
            if not retry or attempt == self.max_attempts or self.limiter.blocked:
                break
            if outcome != "rate_limit":  # a 429 already paused everyone
                self.limiter.pause(attempt)
        if error is not None:
            raise error
        assert response is not None
        return response

    def requests_for(self, url_path: str) -> int:
        """How many requests (each with its retries) were made for ``url_path`` so far."""
        with self._lock:
            return self._requests_by_path[url_path]

    def last_outcome(self, url_path: str) -> str | None:
        """The outcome of the latest attempt at ``url_path`` (e.g. ``/v8/finance/chart/AAPL``)."""
        with self._lock:
            return self._outcomes.get(url_path)
