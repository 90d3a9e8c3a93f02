"""deploy/Dockerfile and .dockerignore, read as data (no Docker engine in CI).

The HEALTHCHECK command is run for real against a local HTTP server, so its exit status is known to
follow the health endpoint's answer.
"""

from __future__ import annotations

import argparse
import http.server
import json
import re
import shlex
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import yaml
from deploy_files import K8S, REPO, Instruction, settings_env_names


def _final_stage(dockerfile: list[Instruction]) -> list[Instruction]:
    last = max(i.stage for i in dockerfile)
    return [i for i in dockerfile if i.stage == last]


def _exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
    return value


def _env(dockerfile: list[Instruction]) -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction in _final_stage(dockerfile):
        if instruction.keyword == "ENV":
            for item in shlex.split(instruction.args):
                key, _, value = item.partition("=")
                env[key] = value
    return env


def _dockerignore_patterns() -> list[str]:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parent folders wins."""
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        regex = _pattern_regex(pattern.lstrip("!").strip("/"))
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            ignored = not negate
    return ignored


def test_dockerignore_matcher_follows_docker_rules() -> None:
    patterns = ["models/*", "!models/bottle-status", "**/__pycache__", ".venv"]
    assert dockerignored("models/other/model.onnx", patterns)
    assert not dockerignored("models/bottle-status/model.onnx", patterns)
    assert dockerignored("src/capsight/__pycache__/x.pyc", patterns)
    assert dockerignored(".venv/bin/python", patterns)
    assert not dockerignored("src/capsight/cli.py", patterns)


def test_two_stages_on_slim_python(dockerfile: list[Instruction]) -> None:
    args = dict(i.args.split("=", 1) for i in dockerfile if i.keyword == "ARG" and "=" in i.args)
    froms = [i.args.split() for i in dockerfile if i.keyword == "FROM"]
    assert len(froms) == 2
    for base, *_ in froms:
        resolved = args.get(base.strip("${}"), base) if base.startswith("$") else base
        assert resolved == "python:3.11-slim"
    assert [f[-1] for f in froms] == ["build", "runtime"]


def test_runtime_runs_as_a_numeric_non_root_user(dockerfile: list[Instruction]) -> None:
    final = _final_stage(dockerfile)
    keywords = [i.keyword for i in final]
    users = [i.args for i in final if i.keyword == "USER"]
    assert users, "runtime stage sets no USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0, "numeric uid lets Kubernetes verify runAsNonRoot"
    assert keywords.index("USER") < keywords.index("CMD")
    assert any(i.keyword == "RUN" and f"--uid {uid}" in i.args for i in final), "uid is never created"


def test_installs_serving_deps_and_backend_extras_only(dockerfile: list[Instruction]) -> None:
    text = " ".join(i.args for i in dockerfile).lower()
    assert "torch" not in text
    installs = [i.args for i in dockerfile if i.keyword == "RUN" and "pip install" in i.args]
    extras = {
        extra.strip()
        for args in installs
        for group in re.findall(r"\[([a-z0-9,_-]+)\]", args)
        for extra in group.split(",")
    }
    assert {"postgres", "redis", "s3"} <= extras
    assert "train" not in extras
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    optional = pyproject["project"]["optional-dependencies"]
    assert extras <= set(optional), f"unknown extras {extras - set(optional)}"
    for extra in extras:
        assert not any("torch" in req for req in optional[extra]), extra
    assert not any("torch" in req for req in pyproject["project"]["dependencies"])


def test_copied_sources_exist_and_are_in_the_build_context(dockerfile: list[Instruction]) -> None:
    patterns = _dockerignore_patterns()
    copies = [i.args.split() for i in dockerfile if i.keyword == "COPY" and "--from" not in i.args]
    assert copies
    for *sources, _dest in copies:
        for source in (s for s in sources if not s.startswith("--")):
            assert (REPO / source).exists(), f"COPY {source}: not in the repository"
            assert not dockerignored(source, patterns), f"COPY {source}: excluded by .dockerignore"


def test_dockerignore_keeps_local_state_out() -> None:
    patterns = _dockerignore_patterns()
    for path in (".git/config", ".venv/bin/python", "tests/conftest.py", "var/capsight.db", ".env"):
        assert dockerignored(path, patterns), path


def test_bundled_model_lands_in_the_model_dir(dockerfile: list[Instruction]) -> None:
    copies = {i.args.split()[-2]: i.args.split()[-1] for i in _final_stage(dockerfile) if i.keyword == "COPY"}
    assert _env(dockerfile)["CAPSIGHT_MODEL_DIR"] == copies["models/bottle-status"]


def test_env_defaults_are_real_settings(dockerfile: list[Instruction]) -> None:
    keys = {k for k in _env(dockerfile) if k.startswith("CAPSIGHT_")}
    assert keys <= settings_env_names(), sorted(keys - settings_env_names())


def test_cmd_serves_on_the_exposed_port(dockerfile: list[Instruction]) -> None:
    final = _final_stage(dockerfile)
    (expose,) = [i.args for i in final if i.keyword == "EXPOSE"]
    (cmd,) = [_exec_form(i.args) for i in final if i.keyword == "CMD"]
    assert cmd == ["capsight", "serve", "--host", "0.0.0.0", "--port", expose]
    deployment = yaml.safe_load((K8S / "deployment.yaml").read_text())
    assert deployment["spec"]["template"]["spec"]["containers"][0]["args"] == cmd


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/health/live" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def _health_server(status: int) -> Iterator[int]:
    handler = type("Handler", (_Health,), {"status": status})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _run_healthcheck(dockerfile: list[Instruction], port: int) -> int:
    (args,) = [i.args for i in _final_stage(dockerfile) if i.keyword == "HEALTHCHECK"]
    command = _exec_form(args.split(" CMD ", 1)[1])
    assert command[:2] == ["python", "-c"], "slim images have no curl: the check must use python"
    assert "127.0.0.1:8000/health/live" in command[2]
    code = command[2].replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30).returncode


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False)])
def test_healthcheck_follows_the_live_endpoint(
    dockerfile: list[Instruction], status: int, healthy: bool
) -> None:
    with _health_server(status) as port:
        assert (_run_healthcheck(dockerfile, port) == 0) is healthy


def test_healthcheck_fails_when_nothing_listens(dockerfile: list[Instruction]) -> None:
    with _health_server(200) as port:
        pass  # closed again: the port is free now
    assert _run_healthcheck(dockerfile, port) != 0


def test_cmd_is_a_valid_capsight_command_line(dockerfile: list[Instruction]) -> None:
    from capsight.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    if "serve" not in commands:
        pytest.skip("`capsight serve` is not registered yet")
    (cmd,) = [_exec_form(i.args) for i in _final_stage(dockerfile) if i.keyword == "CMD"]
    args = parser.parse_args(cmd[1:])
    assert args.command == "serve"
    assert (args.host, int(args.port)) == ("0.0.0.0", 8000)
