"""The server's automatic ONNX Runtime thread count (see serving_intra_op_threads for the why)."""

from __future__ import annotations

from capsight.api.runtime import serving_intra_op_threads


def test_small_machines_get_one_inference_thread() -> None:
    assert serving_intra_op_threads(0, cores=1) == 1
    assert serving_intra_op_threads(0, cores=2) == 1


def test_larger_machines_get_one_per_core() -> None:
    assert serving_intra_op_threads(0, cores=8) == 8


def test_a_configured_count_always_wins() -> None:
    assert serving_intra_op_threads(2, cores=2) == 2
    assert serving_intra_op_threads(3, cores=64) == 3
