"""Helpers shared by the bench scripts: where the workload lives, which model to use, safety checks.

The scripts run as ``python bench/<script>.py`` so this module is imported as a sibling.
"""

from __future__ import annotations

import ipaddress
import math
import socket
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
BUNDLED_MODEL = REPO / "models" / "bottle-status"
# The workload is generated, deterministic and ~600 KB: cache it outside the repo instead of in git.
CACHE_DIR = Path(tempfile.gettempdir()) / "capsight-bench"


def default_workload_path() -> Path:
    return CACHE_DIR / "workload-1080x1920.jpg"


def resolve_model(model: Path | None) -> tuple[Path, str]:
    """The model directory to benchmark and a one-line note on what it is.

    Order: an explicit ``--model``; the bundled bottle-status model; else a stand-in built with the
    test suite's tiny colour model at input size 224. The stand-in makes decode and preprocessing cost
    exactly what they cost for a 224-input model (the decoder scales from the input size), but its
    inference is a global average pool, so end-to-end numbers on it overstate a real CNN's throughput.
    """
    if model is not None:
        if not (model / "model.onnx").exists():
            sys.exit(f"no model.onnx in {model}")
        return model, f"model {model}"
    if (BUNDLED_MODEL / "model.onnx").exists():
        return BUNDLED_MODEL, f"bundled model {BUNDLED_MODEL}"
    stand_in = CACHE_DIR / "colour-model-224"
    if not (stand_in / "model.onnx").exists():
        sys.path.insert(0, str(REPO / "tests"))
        from model_factory import build_colour_model  # needs onnx (dev/train install)

        build_colour_model(stand_in, input_size=224, version="bench-standin")
    return stand_in, (
        "STAND-IN colour model (input 224, GlobalAveragePool+MatMul): decode/preprocess costs are real, "
        "inference is near zero -- not a CNN"
    )


def require_loopback(url: str) -> tuple[str, int, str]:
    """(host, port, path) of an http:// URL, refusing anything that does not resolve to loopback.

    A load generator pointed at someone else's server is an attack, not a benchmark.
    """
    parts = urlsplit(url)
    if parts.scheme != "http":
        raise SystemExit(f"only plain http:// URLs on loopback are supported, got {url!r}")
    host = parts.hostname or ""
    port = parts.port or 80
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise SystemExit(f"cannot resolve {host!r}: {exc}") from exc
    addresses = {str(info[4][0]) for info in infos}
    if not addresses or not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise SystemExit(f"refusing non-loopback host {host!r} ({', '.join(sorted(addresses))})")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return host, port, path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list (q in 0..100); NaN when empty."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), math.ceil(q / 100 * len(sorted_values))))
    return sorted_values[rank - 1]
