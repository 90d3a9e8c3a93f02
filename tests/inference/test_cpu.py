from __future__ import annotations

import logging
from pathlib import Path

import pytest

from capsight.inference import OnnxClassifier, cpu, load_metadata
from capsight.inference.cpu import cpu_flags, int8_overflow_risk
from model_factory import build_colour_model

ZEN3 = (
    "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse2 avx avx2 fma sha_ni\n\nprocessor\t: 1\n"
)
ZEN4 = "processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_vnni\n"
INT8_FULL = {"type": "int8", "weights": "int8", "activations": "uint8"}


def test_cpu_flags_of_the_first_processor() -> None:
    assert cpu_flags(ZEN3) == {"fpu", "sse2", "avx", "avx2", "fma", "sha_ni"}
    assert "avx512_vnni" in cpu_flags(ZEN4)
    assert cpu_flags("processor: 0\n") == frozenset()


@pytest.mark.parametrize(
    ("cpuinfo", "quantization", "risk"),
    [
        (ZEN3, INT8_FULL, True),
        (ZEN4, INT8_FULL, False),  # VNNI adds in 32 bits
        (ZEN3, {**INT8_FULL, "reduce_range": True}, False),  # 7-bit weights cannot overflow
        (ZEN3, None, False),  # an FP32 model
        (ZEN3, {**INT8_FULL, "weights": "uint8"}, False),
        ("", INT8_FULL, False),  # flags unknown: no guessing
    ],
)
def test_int8_overflow_risk(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cpuinfo: str, quantization: object, risk: bool
) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text(cpuinfo)
    monkeypatch.setattr(cpu, "Path", lambda _: info)
    monkeypatch.setattr(cpu.platform, "machine", lambda: "x86_64")
    cpu.x86_without_vnni.cache_clear()
    try:
        assert int8_overflow_risk(quantization) is risk
    finally:
        cpu.x86_without_vnni.cache_clear()


def test_loading_a_full_range_int8_model_on_a_cpu_without_vnni_warns(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model_dir = build_colour_model(tmp_path / "m")
    meta = load_metadata(model_dir)
    meta.extra["quantization"] = INT8_FULL
    meta.save(model_dir)
    monkeypatch.setattr(cpu, "x86_without_vnni", lambda: True)
    with caplog.at_level(logging.WARNING, logger="capsight.inference.classifier"):
        OnnxClassifier(model_dir)
    assert "no VNNI" in caplog.text and "capsight quantize" in caplog.text
    caplog.clear()
    meta.extra["quantization"] = {**INT8_FULL, "reduce_range": True}
    meta.save(model_dir)
    with caplog.at_level(logging.WARNING, logger="capsight.inference.classifier"):
        OnnxClassifier(model_dir)
    assert "VNNI" not in caplog.text
