"""``capsight serve`` logs a warning at start for each setting that has no effect with the others.

``CAPSIGHT_CACHE_TTL_SECONDS=60`` without Redis and ``CAPSIGHT_JWT_AUDIENCE=capsight`` with auth
off started without a word; the operator believed answers expired and tokens were checked."""

from __future__ import annotations

from pathlib import Path

from serve_start import serve_start_lines


def test_serve_warns_of_each_setting_without_effect(colour_model_dir: Path, tmp_path: Path) -> None:
    output = serve_start_lines(
        colour_model_dir,
        tmp_path,
        CAPSIGHT_AUTH_ENABLED="false",
        CAPSIGHT_CACHE_TTL_SECONDS="60",
        CAPSIGHT_JWT_AUDIENCE="capsight",
    )
    assert "capsight serving" in output, output
    for name in ("CAPSIGHT_CACHE_TTL_SECONDS", "CAPSIGHT_JWT_AUDIENCE"):
        lines = [line for line in output.splitlines() if f"{name} is set but has no effect" in line]
        assert len(lines) == 1 and "WARNING" in lines[0], output
