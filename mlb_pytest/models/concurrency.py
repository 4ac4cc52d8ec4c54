"""An adjustable limit on requests in flight: additive increase, multiplicative decrease (AIMD).

Why: a server with few slots (llama.cpp with one) queues what it cannot serve, so a client that
keeps 64 requests in flight sees timeouts that count the server's queue, and its retries pile onto
work the server still does for the abandoned attempts. The limiter lets each *attempt* wait on the
client side instead (where no timeout runs), halves the limit on a timeout or HTTP 429/503 and adds one
after a window of successes, never above the configured maximum and never below one. It halves what
was in flight when the limit is above that (as TCP halves its flight size, RFC 5681): with 12 requests
under a limit of 32, halving the limit alone would change nothing for several rounds of timeouts.

Windows: every attempt holds the limiter's epoch from when it was let in. A decrease starts a new
epoch, and an overload of an attempt let in before it does not decrease again (the burst of failures
from one overload counts once); only successes of attempts let in since the last decrease count
towards an increase, one per ``limit`` of them (about one per round trip, as TCP's congestion window).
Asyncio only, one loop at a time, no locks: every method runs on the loop's thread.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, Literal

# "timeout" and "rate_limit" (HTTP 429 or 503) are overloads counted apart, so the summary can say which it was
Outcome = Literal["success", "overload", "timeout", "rate_limit", "neutral"]
_OVERLOADS = ("overload", "timeout", "rate_limit")


class AdaptiveLimiter:
    """A semaphore whose size moves within [1, maximum]: ``token = await acquire()`` then ``release(token, outcome)``."""

    def __init__(self, maximum: int, *, adaptive: bool = True) -> None:
        self.maximum = max(1, int(maximum))
        self.adaptive = adaptive  # False: a plain semaphore that still counts (--mlb-fixed-concurrency)
        self.limit = self.maximum
        self.lowest = self.maximum
        self.backoffs = 0  # decreases made (one per overload window)
        self.overloads = 0  # attempts that timed out or got 429/503, including those of a window already counted
        self.timeouts = 0  # of those, the timeouts
        self.rate_limits = 0  # and the HTTP 429 or 503 answers
        self.in_flight = 0
        self._epoch = 0  # bumped by every decrease
        self._successes = 0  # successes of this epoch's attempts since the last change of the limit
        self._waiters: deque[asyncio.Future[None]] = deque()

    # --- admission ---------------------------------------------------------------------------

    def try_acquire(self) -> int | None:
        """A slot now, as its epoch token, or None when the limit is reached (or others wait first)."""
        if self.in_flight < self.limit and not self._waiters:
            self.in_flight += 1
            return self._epoch
        return None

    async def acquire(self) -> int:
        """Wait for a slot (first come, first served); returns the token ``release`` wants back."""
        token = self.try_acquire()
        if token is not None:
            return token
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():  # granted just as it was cancelled: pass the slot on
                self.in_flight -= 1
                self._wake()
            else:
                try:
                    self._waiters.remove(fut)
                except ValueError:
                    pass
            raise
        return self._epoch

    def release(self, token: int, outcome: Outcome = "neutral") -> None:
        """Give the slot back and say how the attempt went: ``success``, an overload (``timeout``, ``rate_limit``
        for HTTP 429/503, or ``overload`` unnamed) or ``neutral``."""
        flight = self.in_flight  # this attempt included
        self.in_flight = max(0, self.in_flight - 1)
        if outcome in _OVERLOADS:
            self.on_overload(token, flight, cause=outcome)
        elif outcome == "success":
            self.on_success(token)
        self._wake()

    # --- adaptation --------------------------------------------------------------------------

    def on_overload(self, token: int, flight: int | None = None, cause: Outcome = "overload") -> bool:
        """Halve the limit, or ``flight`` (attempts in flight) when fewer, floor 1, unless this overload's window
        was already counted (or the limit is fixed); True if it was halved."""
        self.overloads += 1
        self.timeouts += cause == "timeout"
        self.rate_limits += cause == "rate_limit"
        if not self.adaptive or token != self._epoch:
            return False
        self._epoch += 1
        self._successes = 0
        self.backoffs += 1
        self.limit = max(1, min(self.limit, flight if flight is not None else self.limit) // 2)
        self.lowest = min(self.lowest, self.limit)
        return True

    def on_success(self, token: int) -> bool:
        """Count a success of this epoch; after ``limit`` of them add one (up to the maximum). True if it grew."""
        if not self.adaptive or token != self._epoch or self.limit >= self.maximum:
            return False
        self._successes += 1
        if self._successes < self.limit:
            return False
        self._successes = 0
        self.limit += 1
        return True

    def _wake(self) -> None:
        while self._waiters and self.in_flight < self.limit:
            fut = self._waiters.popleft()
            if fut.done():  # cancelled while waiting
                continue
            self.in_flight += 1
            fut.set_result(None)

    def snapshot(self) -> dict[str, Any]:
        """``run.concurrency`` of the report: the configured maximum, where the limit ended and how low it went."""
        return {
            "configured": self.maximum,
            "final": self.limit,
            "lowest": self.lowest,
            "backoffs": self.backoffs,
            "overloads": self.overloads,
            "timeouts": self.timeouts,
            "rate_limits": self.rate_limits,
            "adaptive": self.adaptive,
        }
