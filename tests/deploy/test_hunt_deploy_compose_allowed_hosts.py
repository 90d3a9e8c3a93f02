"""The compose stack lets its operator set CAPSIGHT_ALLOWED_HOSTS.

Why: with auth off (the stack's default) the api refuses dotted Host names it was not told about
(DNS-rebinding protection), and a stack reached by a name such as capsight.lan must list it. The
api's environment is spelled out in the file, so a variable it does not pass never reaches the
api, whatever the shell or deploy/.env says.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from deploy_files import interpolate

from capsight.settings import Settings


def test_the_api_takes_allowed_hosts_from_the_shell(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = compose["services"]["api"]["environment"]
    assert "CAPSIGHT_ALLOWED_HOSTS" in env
    raw = str(env["CAPSIGHT_ALLOWED_HOSTS"])
    assert re.fullmatch(r"\$\{CAPSIGHT_ALLOWED_HOSTS:-[^}]*\}", raw), raw  # taken from the shell or .env
    monkeypatch.setenv("CAPSIGHT_ALLOWED_HOSTS", interpolate(raw))  # its default, nothing set
    assert Settings().allowed_hosts == []
