"""``capsight serve --workers N`` with rate limits on and no Redis warns that each worker counts apart.

Why: without CAPSIGHT_REDIS_URL every worker process keeps its own rate-limit counts, and the
kernel spreads one client's connections over all of them: a client limited to 5 a minute got up to
N times that, and nothing at start said so. The warning names the setting that fixes it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from capsight.api.startup_checks import per_worker_limits_warning
from capsight.settings import Settings
from serve_start import serve_start_lines

WARNING = "each of the 2 workers counts rate limits on its own"


def test_workers_with_a_rate_limit_and_no_redis_are_warned_about(
    colour_model_dir: Path, tmp_path: Path
) -> None:
    output = serve_start_lines(colour_model_dir, tmp_path, "--workers", "2", CAPSIGHT_RATE_LIMIT="5/minute")
    assert "capsight serving" in output, output
    warnings = [line for line in output.splitlines() if WARNING in line]
    assert len(warnings) == 1 and "WARNING" in warnings[0], output
    assert "CAPSIGHT_REDIS_URL" in warnings[0] and "up to 10 per window" in warnings[0], warnings


@pytest.mark.parametrize(
    ("values", "warned"),
    [
        ({"workers": 2, "rate_limit": "5/minute"}, True),
        ({"workers": 3, "auth_enabled": True, "auth_failure_limit": "60/minute"}, True),
        ({"workers": 3, "auth_failure_limit": "60/minute"}, False),  # auth off: no effect (settings_unused)
        ({"workers": 1, "rate_limit": "5/minute"}, False),  # one process: one count
        ({"workers": 2}, False),  # no limits to multiply
        ({"workers": 2, "auth_enabled": True}, True),  # keys' and tokens' own rates
        ({"workers": 2, "rate_limit": "5/minute", "redis_url": "redis://localhost:6379/0"}, False),
    ],
)
def test_the_warning_names_what_is_multiplied(values: dict[str, object], warned: bool) -> None:
    warning = per_worker_limits_warning(Settings(**values))  # type: ignore[arg-type]
    assert (warning is not None) == warned, warning
    if warning is not None:
        assert "CAPSIGHT_REDIS_URL" in warning
        assert ("CAPSIGHT_RATE_LIMIT" in warning) == ("rate_limit" in values)
        assert ("CAPSIGHT_AUTH_FAILURE_LIMIT" in warning) == ("auth_failure_limit" in values)
        assert ("capsight keys create --rate" in warning) == ("auth_enabled" in values)
