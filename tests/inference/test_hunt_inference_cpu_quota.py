"""Thread counts under a container's CPU limit (docker --cpus, a Kubernetes CPU limit).

Such a limit is a cgroup CPU quota, not an affinity mask: the container still sees every core of
the host. The automatic thread counts (ONNX Runtime's intra-op threads, the decode pools, batch
workers) were one per host core, so a server limited to 2 CPUs on a 64-core node ran 64 inference
threads and 128 decode threads on them, throttled by the quota, instead of the one inference thread
serving_intra_op_threads picks for a 2-core machine."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from capsight.inference.cpu import cgroup_cpu_limit, default_threads


def _affinity() -> int:
    return len(os.sched_getaffinity(0))


def _cgroup_v2(root: Path, cpu_max: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "cpu.max").write_text(cpu_max + "\n")
    return root


def _cgroup_v1(root: Path, quota: int, period: int = 100_000) -> Path:
    (root / "cpu").mkdir(parents=True, exist_ok=True)
    (root / "cpu" / "cpu.cfs_quota_us").write_text(f"{quota}\n")
    (root / "cpu" / "cpu.cfs_period_us").write_text(f"{period}\n")
    return root


@pytest.mark.parametrize(
    ("cpu_max", "limit"),
    [
        ("100000 100000", 1),
        ("200000 100000", 2),
        ("150000 100000", 2),
        ("50000 100000", 1),
        ("max 100000", None),
    ],
)
def test_a_cgroup_v2_quota_is_read_rounded_up(tmp_path: Path, cpu_max: str, limit: int | None) -> None:
    assert cgroup_cpu_limit(_cgroup_v2(tmp_path, cpu_max)) == limit


@pytest.mark.parametrize(("quota", "limit"), [(300_000, 3), (-1, None)])
def test_a_cgroup_v1_quota_is_read(tmp_path: Path, quota: int, limit: int | None) -> None:
    assert cgroup_cpu_limit(_cgroup_v1(tmp_path, quota)) == limit


def test_no_cgroup_files_is_no_limit(tmp_path: Path) -> None:
    assert cgroup_cpu_limit(tmp_path) is None
    assert default_threads(tmp_path) == _affinity()


def test_the_automatic_thread_count_stays_within_the_quota(tmp_path: Path) -> None:
    assert default_threads(_cgroup_v2(tmp_path / "v2", "100000 100000")) == 1
    assert default_threads(_cgroup_v1(tmp_path / "v1", 100_000)) == 1
    # A quota above the cores this process may run on does not add threads.
    assert (
        default_threads(_cgroup_v2(tmp_path / "big", f"{(_affinity() + 8) * 100_000} 100000")) == _affinity()
    )
