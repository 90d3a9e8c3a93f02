"""Which integer kernels this CPU gives ONNX Runtime, for models quantized to INT8.

Why it matters: without VNNI (AVX-512 VNNI or AVX-VNNI), ONNX Runtime's uint8 x int8 kernels on
x86 add pairs of products in 16 bits. Weights quantized to the full 8-bit range overflow there, and
the model answers differently from the same file on a VNNI machine (measured on the bottle model:
test accuracy 0.916 with VNNI, 0.860 on an AVX2-only AMD Zen 3). ``capsight quantize`` now writes
7-bit weights, which cannot overflow; older INT8 models get a warning at load time on such CPUs.
"""

from __future__ import annotations

import functools
import platform
from pathlib import Path

VNNI_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8"})


def cpu_flags(cpuinfo: str) -> frozenset[str]:
    """The feature flags of the first processor listed in a /proc/cpuinfo text."""
    for line in cpuinfo.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "flags":
            return frozenset(value.split())
    return frozenset()


@functools.cache
def x86_without_vnni() -> bool:
    """True on an x86-64 Linux CPU whose flags lack every VNNI variant; False when unknown."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        flags = cpu_flags(Path("/proc/cpuinfo").read_text())
    except OSError:
        return False
    return bool(flags) and not (flags & VNNI_FLAGS)


def int8_overflow_risk(quantization: object) -> bool:
    """Does a model with this ``extra["quantization"]`` risk 16-bit overflow on this CPU?"""
    if not isinstance(quantization, dict) or quantization.get("type") != "int8":
        return False
    full_range_s8 = quantization.get("weights") == "int8" and not quantization.get("reduce_range")
    return full_range_s8 and x86_without_vnni()
