"""A rate limiter that fails in a way that is not an outage logs it once a minute, not per request.

Redis answering the limiter's script with an error that is not an outage (here ``WRONGTYPE``: the
window's key holds another program's value, as when two programs share a Redis database and a key
prefix) let every request through, as designed (fail open), but logged a full traceback for each
one: at a few hundred requests a second, a log flood that buries everything else. The first failure
of a kind is logged with its traceback; repeats within a minute are counted, and said with the next
log line of that kind.
"""

from __future__ import annotations

import logging

import pytest
import redis

from api.helpers import AppFactory, unique_png
from capsight.api.failure_log import FailureLog
from servers import start_redis

pytestmark = pytest.mark.redis


def test_a_failing_limiter_lets_requests_through_and_logs_once(
    make_client: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    with start_redis() as server:
        other = redis.Redis.from_url(server.url)
        other.set("capsight:rl:2:60000000:ip:testclient", "not a sorted set")
        other.close()
        client = make_client(store=True, redis_url=server.url, rate_limit="2/minute")
        with caplog.at_level(logging.ERROR, logger="capsight.api.security"):
            statuses = [
                client.post(
                    "/v1/classify", files={"file": ("a.png", unique_png("opened"), "image/png")}
                ).status_code
                for _ in range(6)
            ]
    assert statuses == [200] * 6  # fails open: a broken limiter does not take the service down
    failures = [r for r in caplog.records if "rate limiter failed" in r.getMessage()]
    assert len(failures) == 1, [r.getMessage() for r in failures]
    assert failures[0].exc_info is not None and "WRONGTYPE" in str(failures[0].exc_info[1])


def test_repeats_are_counted_and_said_with_the_next_line(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    failures = FailureLog(interval_s=60, clock=lambda: now[0])
    log = logging.getLogger("capsight.test.failure_log")
    with caplog.at_level(logging.ERROR, logger=log.name):
        for _ in range(3):
            failures.exception(log, "limiter failed", redis.ResponseError("WRONGTYPE one"))
        failures.exception(log, "limiter failed", KeyError("another kind"))  # its own first line
        now[0] = 61
        failures.exception(log, "limiter failed", redis.ResponseError("WRONGTYPE again"))
    assert [r.getMessage() for r in caplog.records] == [
        "limiter failed",
        "limiter failed",
        "limiter failed (and 2 more times since the last such line)",
    ]
    assert [type(r.exc_info[1]).__name__ for r in caplog.records if r.exc_info] == [
        "ResponseError",
        "KeyError",
        "ResponseError",
    ]
