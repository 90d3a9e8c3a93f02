"""``capsight serve`` on a non-loopback address with auth off warns what that opens up.

Why: with auth off (the default) everyone who reaches the server may read the request log,
download every stored photo and reload the model; bound to 127.0.0.1 (the default) that is this
machine only, but ``--host 0.0.0.0`` (or CAPSIGHT_HOST, as a container needs) opened all of it to
the network without a word in the log.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from serve_start import serve_start_lines

WARNING = "auth is off (CAPSIGHT_AUTH_ENABLED=false)"


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_an_open_address_without_auth_is_warned_about(
    colour_model_dir: Path, tmp_path: Path, host: str
) -> None:
    output = serve_start_lines(colour_model_dir, tmp_path, "--host", host)
    assert "WARNING" in output and WARNING in output, output
    assert "request log" in output and "stored photos" in output


def test_loopback_or_auth_on_is_not_warned_about(colour_model_dir: Path, tmp_path: Path) -> None:
    assert WARNING not in serve_start_lines(colour_model_dir, tmp_path / "a", "--host", "127.0.0.1")
    keyed = serve_start_lines(
        colour_model_dir, tmp_path / "b", "--host", "0.0.0.0", CAPSIGHT_AUTH_ENABLED="true"
    )
    assert "capsight serving" in keyed and WARNING not in keyed
