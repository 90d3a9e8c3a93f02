"""The one gate behind every once-a-minute log line (rate limiter failures, records the spool could
not take, request log overflow)."""

from __future__ import annotations

from capsight.log_gate import LogGate


def test_repeats_within_the_interval_are_held_back_and_counted_per_kind() -> None:
    now = [0.0]
    gate = LogGate(interval_s=60, clock=lambda: now[0])
    assert gate.admit("a") == 0  # the first of a kind goes through at once
    assert gate.admit("a") is None
    assert gate.admit("b") == 0  # another kind has its own minute
    now[0] = 59.9
    assert gate.admit("a") is None
    now[0] = 60.0
    assert gate.admit("a") == 2  # the two held back ride on the next line
    assert gate.admit("a") is None
    now[0] = 200.0
    assert gate.admit("a") == 1
    assert gate.admit("b") == 0
