"""When and how long to wait before retrying the initial request.

Only the request that opens a stream is retried, and only while nothing has
been delivered: connect failures, 408, 429 and 5xx. Once an event reached the
consumer a new request could duplicate it, so from then on a drop is resume's
job (``_resume``) or an error. Other 4xx mean the request itself is wrong
(or unauthorised): retrying cannot help, so they are raised at once.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

__all__ = ["RetryPolicy", "is_retryable_status", "parse_retry_after"]


def is_retryable_status(status_code: int) -> bool:
    """408 Request Timeout, 429 Too Many Requests and every 5xx."""
    return status_code in (408, 429) or 500 <= status_code <= 599


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delay-seconds or an HTTP date.

    Returns ``None`` when the header is absent or unparseable (then the normal
    backoff applies); a date in the past gives ``0.0``.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if seconds != seconds or seconds in (float("inf"), float("-inf")):  # NaN / inf
            return None
        return max(0.0, seconds)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP date is always GMT; be lenient with a missing zone
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How the initial request of a stream is retried.

    ``max_attempts`` counts every request, the first included (3 = up to two
    retries). The n-th retry waits ``initial_delay * multiplier**(n-1)``, capped
    at ``max_delay``, then scaled by a random factor in ``[1 - jitter, 1]`` so
    that many clients failing together do not come back together. A
    ``Retry-After`` header replaces that delay; one longer than
    ``max_retry_after`` is not waited out: the error is raised at once (with its
    ``retry_after`` available) instead of sleeping into a likely second refusal.
    """

    max_attempts: int = 3
    initial_delay: float = 0.5
    multiplier: float = 2.0
    max_delay: float = 8.0
    jitter: float = 0.5
    max_retry_after: float = 30.0
    retry_connect_errors: bool = True
    random: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.max_attempts, int) or self.max_attempts < 1:
            raise ValueError(
                f"RetryPolicy.max_attempts must be an int >= 1, got {self.max_attempts!r}"
            )
        for name in ("initial_delay", "max_delay", "max_retry_after"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or value < 0:
                raise ValueError(f"RetryPolicy.{name} must be a number >= 0, got {value!r}")
        if not isinstance(self.multiplier, int | float) or self.multiplier < 1:
            raise ValueError(f"RetryPolicy.multiplier must be >= 1, got {self.multiplier!r}")
        if not isinstance(self.jitter, int | float) or not 0 <= self.jitter <= 1:
            raise ValueError(f"RetryPolicy.jitter must be between 0 and 1, got {self.jitter!r}")

    @classmethod
    def disabled(cls) -> RetryPolicy:
        """One attempt, no retries."""
        return cls(max_attempts=1)

    def backoff(self, retry_number: int) -> float:
        """The jittered delay before retry number ``retry_number`` (1 for the first retry)."""
        if retry_number < 1:
            raise ValueError("retry_number starts at 1")
        base = min(self.max_delay, self.initial_delay * self.multiplier ** (retry_number - 1))
        return base * (1.0 - self.jitter * self.random())

    def delay_for(self, retry_number: int, retry_after: str | None = None) -> float | None:
        """Seconds to sleep before retry ``retry_number``, or ``None`` to give up now.

        ``None`` when attempts are used up, or when the server asked for a longer
        wait than ``max_retry_after``.
        """
        if retry_number >= self.max_attempts:
            return None
        asked = parse_retry_after(retry_after)
        if asked is not None:
            return asked if asked <= self.max_retry_after else None
        return self.backoff(retry_number)


# Frozen, so one of each serves every stream (validating a new one per stream showed up in
# a conversation's setup profile).
_DEFAULT = RetryPolicy()
_DISABLED = RetryPolicy.disabled()


def coerce_retry_policy(value: RetryPolicy | bool | None) -> RetryPolicy:
    """``True``/``None`` → the default policy, ``False`` → no retries, a policy → itself."""
    if value is None or value is True:
        return _DEFAULT
    if value is False:
        return _DISABLED
    if isinstance(value, RetryPolicy):
        return value
    raise TypeError(f"retry must be a RetryPolicy or a bool, got {type(value).__name__}")
