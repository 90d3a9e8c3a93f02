"""``capsight train --workers -1`` is refused while the arguments are parsed, before any photo.

Why: ``--workers`` took any integer and the training loop refused -1 only once the data folder had
been scanned, checked and split (and torch imported): seconds to minutes on a real photo folder
before "--workers must be 0 or more". Every other count option is checked by argparse.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from capsight.cli import main


@pytest.mark.parametrize(
    ("value", "why"), [("-1", "must be >= 0, got -1"), ("two", "must be a whole number")]
)
def test_a_bad_workers_count_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str, why: str
) -> None:
    missing = tmp_path / "no-such-folder"  # never looked at: the refusal comes first
    with pytest.raises(SystemExit) as refused:
        main(["train", str(missing), "--out", str(tmp_path / "o"), "--workers", value])
    assert refused.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: capsight train")
    assert f"argument --workers: {why}" in err
    assert not (tmp_path / "o").exists()
