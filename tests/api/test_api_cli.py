"""``capsight classify`` (no server) and ``capsight serve`` (a real uvicorn process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest

from api.helpers import jpeg, png, truncated_jpeg
from capsight.cli import main
from live_app import serve_process


@pytest.fixture
def images(tmp_path: Path) -> dict[str, Path]:
    paths = {
        "red": tmp_path / "red.jpg",
        "blue": tmp_path / "blue.png",
        "text": tmp_path / "notes.jpg",
        "cut": tmp_path / "cut.jpg",
        "missing": tmp_path / "missing.jpg",
    }
    paths["red"].write_bytes(jpeg("background"))
    paths["blue"].write_bytes(png("opened"))
    paths["text"].write_text("not an image")
    paths["cut"].write_bytes(truncated_jpeg())
    return paths


def test_classify_prints_one_line_per_image(
    colour_model_dir: Path, images: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["classify", str(images["red"]), str(images["blue"]), "--model", str(colour_model_dir)])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[0].startswith(f"{images['red']}: background (")
    assert out[1].startswith(f"{images['blue']}: opened (")
    assert 0.5 < float(out[1].rsplit("(", 1)[1].rstrip(")")) <= 1.0


def test_classify_reports_bad_files_and_still_classifies_the_good_ones(
    colour_model_dir: Path, images: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    order = ["missing", "red", "text", "cut", "blue"]
    code = main(["classify", *(str(images[k]) for k in order), "--model", str(colour_model_dir)])
    captured = capsys.readouterr()
    assert code == 1
    assert [line.split(":")[0] for line in captured.out.splitlines()] == [
        str(images["red"]),
        str(images["blue"]),
    ]
    err = captured.err
    assert f"{images['missing']}: no such file" in err
    assert f"{images['text']}: The file is not a supported image" in err
    assert f"{images['cut']}: The image could not be decoded" in err


def test_classify_json(
    colour_model_dir: Path, images: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["classify", str(images["blue"]), str(images["missing"]), "--json", "--model", str(colour_model_dir)]
    )
    result = json.loads(capsys.readouterr().out)
    assert code == 1
    assert result[0]["path"] == str(images["blue"])
    assert result[0]["label"] == "opened"
    assert set(result[0]["probabilities"]) == {"background", "closed", "opened"}
    assert result[1] == {"path": str(images["missing"]), "error": "no such file"}


def test_classify_without_a_model_is_a_clear_error(
    tmp_path: Path, images: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["classify", str(images["red"]), "--model", str(tmp_path / "nowhere")])
    assert code == 2
    assert "No model at" in capsys.readouterr().err


def test_classify_with_a_broken_model_is_one_line(
    colour_model_dir: Path, tmp_path: Path, images: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.json").write_text((colour_model_dir / "model.json").read_text())
    (broken / "model.onnx").write_bytes((colour_model_dir / "model.onnx").read_bytes()[:100])
    assert main(["classify", str(images["red"]), "--model", str(broken)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("capsight: error: ") and "is not a valid ONNX model" in err
    assert len(err.strip().splitlines()) == 1


def test_classify_into_a_closed_pipe_exits_quietly(colour_model_dir: Path, images: dict[str, Path]) -> None:
    """`capsight classify --json ... | head -c 10`: the reader leaves early; no BrokenPipeError traceback."""
    many = [str(images["red"])] * 3000  # far more output than the pipe buffer holds
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(
        [sys.executable, "-m", "capsight", "classify", "--json", "--model", str(colour_model_dir), *many],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.read(10)
        proc.stdout.close()  # the reader is gone
        err = proc.stderr.read().decode()
        code = proc.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipeError" not in err
    assert code == 141


def test_an_unwritable_output_is_one_line_not_a_traceback(
    colour_model_dir: Path, images: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a-file").write_text("x")
    out = tmp_path / "a-file" / "out"  # its parent is a file: mkdir fails in the file system
    code = main(["batch", str(images["red"]), "--out", str(out), "--model", str(colour_model_dir)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("capsight: error: Not a directory") and "Traceback" not in err


@pytest.mark.slow
def test_serve_starts_uvicorn_and_becomes_ready(colour_model_dir: Path, tmp_path: Path) -> None:
    with serve_process(colour_model_dir, tmp_path) as server:
        deadline = time.monotonic() + 30
        ready = None
        while time.monotonic() < deadline and server.proc.poll() is None:
            try:
                ready = httpx2.get(f"{server.url}/health/ready", timeout=1)
                if ready.status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            time.sleep(0.05)
        assert ready is not None and ready.status_code == 200, "server never became ready"
        r = httpx2.post(
            f"{server.url}/classify", files={"file": ("a.jpg", jpeg("closed"), "image/jpeg")}, timeout=5
        )
        assert r.json()["bottle_status"] == "closed"
        assert r.headers["x-request-id"]
    assert f"at {server.url}" in server.output[0]  # the URL is logged at startup


def test_serve_refuses_a_missing_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("HOST", "PORT", "WORKERS", "MODEL_DIR"):  # serve exports its flags for worker processes
        monkeypatch.delenv(f"CAPSIGHT_{key}", raising=False)
    code = main(["serve", "--model", str(tmp_path / "nowhere"), "--port", "1"])
    assert code == 2
    assert "No model at" in capsys.readouterr().err


def test_serve_refuses_an_unreadable_model_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("HOST", "PORT", "WORKERS", "MODEL_DIR"):
        monkeypatch.delenv(f"CAPSIGHT_{key}", raising=False)
    (tmp_path / "model.onnx").write_bytes(b"never read: model.json is checked first")
    (tmp_path / "model.json").write_text('{"name": ')
    code = main(["serve", "--model", str(tmp_path), "--port", "1"])
    assert code == 2
    assert "is not a valid capsight model.json" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("variable", "value", "module", "extra"),
    [
        ("CAPSIGHT_JWT_SECRET", "x" * 40, "jwt", "jwt"),
        ("CAPSIGHT_REDIS_URL", "redis://127.0.0.1:1/0", "redis", "redis"),
        ("CAPSIGHT_DATABASE_URL", "postgresql://u:p@127.0.0.1:1/x", "psycopg", "postgres"),
        ("CAPSIGHT_STORAGE_URL", "s3://bucket/prefix", "boto3", "s3"),
    ],
)
def test_serve_names_the_extra_a_setting_needs(
    variable: str,
    value: str,
    module: str,
    extra: str,
    colour_model_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`make serve` installs the core only: a setting that needs PyJWT, redis, psycopg or boto3 must
    stop start-up with one line naming the pip extra, not a worker's ModuleNotFoundError traceback."""
    import uvicorn

    for key in ("HOST", "PORT", "WORKERS", "MODEL_DIR"):
        monkeypatch.delenv(f"CAPSIGHT_{key}", raising=False)
    monkeypatch.setenv("CAPSIGHT_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv(variable, value)
    monkeypatch.setitem(sys.modules, module, None)  # as on the core install: `import <module>` fails
    started: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: started.append(a))
    code = main(["serve", "--model", str(colour_model_dir), "--port", "1"])
    err = capsys.readouterr().err
    assert code == 2
    assert not started, "the server started without the package its settings need"
    assert f"{variable} needs" in err and f"capsight[{extra}]" in err
    assert "Traceback" not in err
