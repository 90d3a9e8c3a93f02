"""``capsight serve --host ::`` names a URL that works: an IPv6 address goes in brackets.

Why: the start line said ``capsight serving ... at http://:::8000 (docs http://:::8000/docs)``,
which no browser or curl reads as an address and port.
"""

from __future__ import annotations

from pathlib import Path

from serve_start import serve_start_lines


def test_an_ipv6_address_is_bracketed_in_the_start_line(colour_model_dir: Path, tmp_path: Path) -> None:
    output = serve_start_lines(colour_model_dir, tmp_path, "--host", "::", CAPSIGHT_AUTH_ENABLED="true")
    line = next(line for line in output.splitlines() if "capsight serving" in line)
    assert " at http://[::]:" in line and "(docs http://[::]:" in line, line
