"""``capsight serve`` with ``CAPSIGHT_JOB_WORKERS=0`` and its embedded database warns that no process
will run the jobs it accepts.

Why: ``JOB_WORKERS=0`` means "this process only accepts jobs; another one with workers runs them".
With the embedded SQLite database (no ``CAPSIGHT_DATABASE_URL``) only processes on this machine using
the same file can be that other one, and a lone server so configured (a copied env file of an
API-only replica) answered every ``POST /v1/jobs`` with 202 and ``queued``, for ever, with nothing at
start-up to say so. It is a warning, as the other start-up conflicts are (``settings_unused.py``,
workers without Redis): a second ``capsight serve`` on the same data_dir with workers is a real setup.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from capsight.jobs.idle import no_job_workers_warning
from capsight.settings import Settings
from serve_start import serve_start_lines

pytestmark = pytest.mark.usefixtures("clean_capsight_env")

WARNING = "CAPSIGHT_JOB_WORKERS=0"


def test_serve_without_job_workers_on_its_embedded_database_warns(
    colour_model_dir: Path, tmp_path: Path
) -> None:
    output = serve_start_lines(colour_model_dir, tmp_path, CAPSIGHT_JOB_WORKERS="0")
    assert "capsight serving" in output, output
    warnings = [line for line in output.splitlines() if WARNING in line]
    assert len(warnings) == 1 and "WARNING" in warnings[0], output
    assert "stay queued" in warnings[0] and str(tmp_path / "capsight.db") in warnings[0], warnings


def test_serve_with_job_workers_says_nothing(colour_model_dir: Path, tmp_path: Path) -> None:
    output = serve_start_lines(colour_model_dir, tmp_path)
    assert "capsight serving" in output, output
    assert WARNING not in output, output


@pytest.mark.parametrize(
    ("values", "warned"),
    [
        ({"job_workers": 0}, True),  # the embedded database: only this machine shares it
        ({"job_workers": 0, "database_url": "sqlite:///{data}/other.db"}, True),
        ({"job_workers": 0, "workers": 4}, True),  # none of the 4 processes runs a job
        ({"job_workers": 0, "database_url": "postgresql+psycopg://db.internal/capsight"}, False),
        ({"job_workers": 1}, False),
        ({}, False),
    ],
)
def test_the_warning_is_for_a_queue_no_other_server_can_share(
    tmp_path: Path, values: dict[str, object], warned: bool
) -> None:
    values = {k: v.format(data=tmp_path) if isinstance(v, str) else v for k, v in values.items()}
    warning = no_job_workers_warning(Settings(data_dir=tmp_path, **values))  # type: ignore[arg-type]
    assert (warning is not None) == warned, warning
    if warning is not None:
        assert warning.startswith("CAPSIGHT_JOB_WORKERS=0: this server runs no jobs"), warning
        assert "CAPSIGHT_DATABASE_URL" in warning, warning
