"""``capsight report OUT/summary.json`` (the file beside results.jsonl, easy to pick by mistake) must
be refused in one line, not after a warning for every line of the pretty-printed document."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from capsight.cli import main


def test_the_summary_instead_of_the_results_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    summary = tmp_path / "summary.json"
    document = {"total": 2, "classified": 2, "errors": 0, "counts": {"closed": 1, "opened": 1}}
    summary.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")

    assert main(["report", str(summary)]) == 2
    err = capsys.readouterr().err
    assert "holds no batch results" in err and len(err.strip().splitlines()) == 1, err
    warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warned == [], f"{len(warned)} warnings before the refusal, e.g. {warned[:1]}"
    assert not (tmp_path / "report.html").exists()
