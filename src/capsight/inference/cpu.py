"""Which integer kernels this CPU gives ONNX Runtime, for models quantized to INT8.

Why it matters: without VNNI (AVX-512 VNNI or AVX-VNNI), ONNX Runtime's uint8 x int8 kernels on
x86 add pairs of products in 16 bits. Weights quantized to the full 8-bit range overflow there, and
the model answers differently from the same file on a VNNI machine (measured on the bottle model:
test accuracy 0.916 with VNNI, 0.860 on an AVX2-only AMD Zen 3). ``capsight quantize`` now writes
7-bit weights, which cannot overflow; older INT8 models get a warning at load time on such CPUs.

It also reads how many CPUs a container may use (its cgroup CPU quota), which the automatic thread
counts must not exceed, and gives those counts (default_threads) to the classifier, the decode pools
and batch.
"""

from __future__ import annotations

import functools
import math
import os
import platform
from pathlib import Path

VNNI_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8"})
CGROUP_ROOT = Path("/sys/fs/cgroup")


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


def cgroup_cpu_limit(root: Path = CGROUP_ROOT) -> int | None:
    """CPUs this process's cgroup CPU quota allows, rounded up; None when unlimited or unknown.

    Why: a container's CPU limit (docker --cpus, a Kubernetes CPU limit) is a quota, not an affinity
    mask, so the container still sees every core of its host; one thread per core seen ran dozens of
    threads throttled on two CPUs' worth of time. Reads cgroup v2's ``cpu.max`` ("200000 100000",
    or "max 100000" for none), else cgroup v1's ``cpu.cfs_quota_us`` (-1 for none) and
    ``cpu.cfs_period_us``."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        try:
            quota = (root / "cpu" / "cpu.cfs_quota_us").read_text().strip()
            period = (root / "cpu" / "cpu.cfs_period_us").read_text().strip()
        except OSError:
            return None
    try:
        quota_us, period_us = int(quota), int(period)
    except ValueError:  # "max": no quota
        return None
    if quota_us <= 0 or period_us <= 0:
        return None
    return max(1, math.ceil(quota_us / period_us))


def default_threads(cgroup_root: Path = CGROUP_ROOT) -> int:
    """One per CPU this process may use: the cores it may run on, capped by its container's CPU
    quota (see cgroup_cpu_limit)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    limit = cgroup_cpu_limit(cgroup_root)
    return max(1, min(cores, limit) if limit is not None else cores)
