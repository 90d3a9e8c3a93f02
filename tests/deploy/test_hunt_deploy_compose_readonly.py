"""compose's api replicas run on a read-only root filesystem, as the Kubernetes pods do.

With a writable one, anything that gets code execution in the api could rewrite the installed
venv or the baked-in model for the life of the container. Read-only needs a writable mount at every
path the process writes: its data folder (spool, job files; also its home) and /tmp (Python's
temporary files, the metrics folder of ``capsight serve --workers N``).
"""

from __future__ import annotations

import re
from typing import Any

from deploy_files import DOCKERFILE, interpolate

# /tmp holds only small files (the api parses uploads in memory, never spooling them to disk), and a
# tmpfs is memory counted against the replica's memory limit: it must stay a small part of it.
TMP_MAX_SHARE_OF_MEMORY = 1 / 4


def _mounts(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The service's mounts by container path, in compose's long syntax."""
    mounts: dict[str, dict[str, Any]] = {}
    for entry in service.get("volumes", []):
        if isinstance(entry, str):
            parts = entry.split(":")
            if len(parts) == 1:
                entry = {"type": "volume", "target": parts[0]}
            else:
                kind = "bind" if parts[0].startswith((".", "/")) else "volume"
                entry = {"type": kind, "source": parts[0], "target": parts[1]}
        mounts[entry["target"]] = entry
    for target in service.get("tmpfs", []) if isinstance(service.get("tmpfs"), list) else []:
        path, _, options = target.partition(":")
        mounts[path] = {"type": "tmpfs", "target": path, "options": options}
    return mounts


def _dockerfile_env(name: str) -> str | None:
    found = re.findall(rf"\b{name}=(\S+)", DOCKERFILE.read_text())
    return found[-1] if found else None


def _data_dir(api: dict[str, Any]) -> str:
    env = {key: interpolate(str(value)) for key, value in api["environment"].items()}
    data_dir = env.get("CAPSIGHT_DATA_DIR") or _dockerfile_env("CAPSIGHT_DATA_DIR")
    assert data_dir, "no CAPSIGHT_DATA_DIR in compose or the Dockerfile"
    return data_dir


def _memory_bytes(text: str) -> int:
    units = {"k": 1024, "m": 1024**2, "g": 1024**3}
    text = str(text).lower().rstrip("b")
    return int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text)


def test_api_root_filesystem_is_read_only(compose: dict[str, Any]) -> None:
    assert compose["services"]["api"].get("read_only") is True


def test_api_data_dir_is_a_volume_of_each_replica(compose: dict[str, Any]) -> None:
    """Spool and job inputs take gigabytes (CAPSIGHT_SPOOL_MAX_IMAGE_BYTES + _MAX_JOB_DISK_BYTES):
    a disk volume, not a tmpfs in the replica's memory. Anonymous, so each replica gets its own: a
    named volume would be shared, and two replicas would replay (and delete) the same spool."""
    api = compose["services"]["api"]
    mount = _mounts(api).get(_data_dir(api))
    assert mount is not None, "the data folder is not mounted: the api cannot write it"
    assert mount["type"] == "volume"
    assert not mount.get("source"), "a named volume is shared by every replica"


def test_api_home_is_the_data_dir(compose: dict[str, Any]) -> None:
    """Libraries that write under ~ (caches, config) find a writable folder."""
    home = re.search(r"--home-dir\s+(\S+)", DOCKERFILE.read_text())
    assert home is not None
    assert home.group(1) == _data_dir(compose["services"]["api"])


def test_api_tmp_is_a_small_tmpfs(compose: dict[str, Any]) -> None:
    api = compose["services"]["api"]
    assert "TMPDIR" not in api["environment"] and _dockerfile_env("TMPDIR") is None  # Python uses /tmp
    mount = _mounts(api).get("/tmp")
    assert mount is not None, "/tmp is not mounted: Python's temporary files cannot be written"
    assert mount["type"] == "tmpfs"
    options = dict(option.partition("=")[::2] for option in mount.get("options", "").split(",") if option)
    size = mount.get("tmpfs", {}).get("size") or options.get("size")
    assert size is not None, "an unbounded tmpfs may take half the host's memory"
    memory = _memory_bytes(api["deploy"]["resources"]["limits"]["memory"])
    assert 0 < _memory_bytes(size) <= memory * TMP_MAX_SHARE_OF_MEMORY
