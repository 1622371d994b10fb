"""RetryPolicy / ResumePolicy arithmetic and the resume id tracker (pure logic)."""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest

from chatconduit import ResumePolicy, RetryPolicy
from chatconduit._connection._resume import ResumeTracker, coerce_resume_policy
from chatconduit._connection._retry import (
    coerce_retry_policy,
    is_retryable_status,
    parse_retry_after,
)


@pytest.mark.parametrize(
    ("status", "retry"),
    [(408, True), (429, True), (500, True), (503, True), (599, True), (400, False), (401, False),
     (403, False), (404, False), (409, False), (422, False), (200, False), (600, False)],
)  # fmt: skip
def test_retryable_statuses(status: int, retry: bool) -> None:
    assert is_retryable_status(status) is retry


def test_retry_after_seconds_and_dates() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-4") == 0.0
    now = time.time()
    in_ten = formatdate(now + 10, usegmt=True)
    assert parse_retry_after(in_ten, now=now) == pytest.approx(10, abs=1.0)
    assert parse_retry_after(formatdate(now - 100, usegmt=True), now=now) == 0.0
    for junk in (None, "", "soon", "nan", "inf", "Wed, 99 Foo 2020"):
        assert parse_retry_after(junk) is None


def test_backoff_grows_exponentially_is_capped_and_jittered() -> None:
    no_jitter = RetryPolicy(max_attempts=10, initial_delay=0.5, max_delay=3.0, jitter=0.0)
    assert [no_jitter.backoff(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    low = RetryPolicy(initial_delay=1.0, jitter=0.5, random=lambda: 1.0)
    high = RetryPolicy(initial_delay=1.0, jitter=0.5, random=lambda: 0.0)
    assert (low.backoff(1), high.backoff(1)) == (0.5, 1.0)


def test_delay_for_honours_attempts_and_retry_after_cap() -> None:
    policy = RetryPolicy(max_attempts=3, jitter=0.0, initial_delay=0.1, max_retry_after=5)
    assert policy.delay_for(1) == 0.1
    assert policy.delay_for(2) == pytest.approx(0.2)
    assert policy.delay_for(3) is None  # 3 attempts used
    assert policy.delay_for(1, "2") == 2.0  # the server's wish replaces the backoff
    assert policy.delay_for(1, "60") is None  # longer than the cap: give up, do not sleep
    assert policy.delay_for(1, "garbage") == 0.1


def test_policy_validation_and_coercion() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="jitter"):
        RetryPolicy(jitter=2)
    with pytest.raises(ValueError, match="max_reconnects"):
        ResumePolicy(max_reconnects=-1)
    assert coerce_retry_policy(False).max_attempts == 1
    assert coerce_retry_policy(True) == RetryPolicy()
    assert coerce_resume_policy(False).max_reconnects == 0
    with pytest.raises(TypeError, match="retry must be"):
        coerce_retry_policy("yes")  # type: ignore[arg-type]


def test_resume_delay_doubles_up_to_max() -> None:
    policy = ResumePolicy(delay=0.25, max_delay=1.0)
    assert [policy.delay_for(n) for n in range(1, 5)] == [0.25, 0.5, 1.0, 1.0]


def test_resume_delay_starts_from_the_servers_reconnection_time() -> None:
    policy = ResumePolicy(delay=0.25, max_delay=4.0)
    assert [policy.delay_for(n, 1.0) for n in range(1, 5)] == [1.0, 2.0, 4.0, 4.0]
    assert policy.delay_for(1, 60.0) == 4.0  # capped
    # a shorter wish is granted once; failing again backs off as the policy would
    assert [policy.delay_for(n, 0.0) for n in range(1, 4)] == [0.0, 0.5, 1.0]


def test_tracker_skips_seen_ids_and_counts_no_progress() -> None:
    tracker = ResumeTracker()
    assert not tracker.resumable
    tracker.start_attempt()
    assert tracker.accept(None)  # untagged: always new, not resumable
    assert not tracker.resumable
    assert tracker.accept("1") and tracker.accept("2")
    assert tracker.last_id == "2"
    assert tracker.record_drop() == 1  # progress was made: the count restarts
    tracker.start_attempt()
    assert not tracker.accept("2")  # replayed: skip
    assert tracker.record_drop() == 2  # nothing new
    tracker.start_attempt()
    assert tracker.accept("3")
    assert tracker.record_drop() == 1
    assert tracker.accept("")  # empty id resets the cursor
    assert tracker.last_id is None and tracker.accept("1")
