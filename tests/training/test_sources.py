from __future__ import annotations

import json
from pathlib import Path

from capsight.training.sources import sources_summary


def _write(folder: Path, files: list[dict[str, object]]) -> None:
    payload = {"generator": "capsight prepare-data", "parameters": {"seed": 0}, "files": files}
    payload["rejected_cutouts"] = [{"file": "a/x.jpg", "reason": "ragged"}]
    (folder / "SOURCES.json").write_text(json.dumps(payload))


def test_counts_only_used_files_by_source_licence_and_kind(tmp_path: Path) -> None:
    _write(
        tmp_path,
        [
            {"file": "a/1.jpg", "source": "x/one", "commit": "abc", "licence": "MIT (see notes)"},
            {"file": "a/1__crop-synth0.jpg", "source": "composite", "licence": "MIT", "synthetic": True},
            {
                "file": "b/2.jpg",
                "source": "pkg",
                "package": "p",
                "package_version": "1.0",
                "licence": "GPL-2+",
            },
            {"file": "b/3.jpg", "source": "pkg", "package": "p", "licence": "GPL-2+"},
            {"file": "a/r__render.jpg", "source": "rendered", "licence": "scene: MIT", "synthetic": True,
             "rendered": True},
        ],
    )  # fmt: skip
    summary = sources_summary(
        tmp_path, used={"a/1.jpg", "a/1__crop-synth0.jpg", "b/2.jpg", "a/r__render.jpg"}
    )
    assert summary["images"] == 4
    assert summary["by_source"] == {"x/one": 1, "composite": 1, "pkg": 1, "rendered": 1}
    assert summary["by_licence"] == {"MIT": 2, "GPL-2+": 1, "scene: MIT": 1}
    assert summary["by_kind"] == {"real": 2, "composite": 1, "rendered": 1}
    assert summary["origins"] == {"x/one": "commit abc", "pkg": "package p 1.0"}
    assert summary["rejected_cutouts"] == 1 and summary["parameters"] == {"seed": 0}


def test_absent_or_broken_file_gives_nothing(tmp_path: Path) -> None:
    assert sources_summary(tmp_path) == {}
    (tmp_path / "SOURCES.json").write_text("{not json")
    assert sources_summary(tmp_path) == {}
    (tmp_path / "SOURCES.json").write_text(json.dumps({"no": "files"}))
    assert sources_summary(tmp_path) == {}
