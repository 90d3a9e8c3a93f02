"""A dot segment with path parameters (``..;``) is a dot segment: it cannot leave a URL prefix.

Servlet containers (Tomcat, Jetty, Spring) drop ``;params`` from each path segment before they
resolve dot segments, so ``/photos/..;/admin`` is ``/admin`` to them. The allowlist compared the
segment ``..;`` with ``..``, found no dot segment, and let a job fetch outside the allow-listed
prefix ``https://cdn.example.com/photos/``.
"""

from __future__ import annotations

import pytest

from capsight.jobs.allowlist import Allowlist

PREFIX = Allowlist(["https://cdn.example.com/photos/"])


@pytest.mark.parametrize(
    "url",
    [
        "https://cdn.example.com/photos/..;/admin/secret.jpg",
        "https://cdn.example.com/photos/..;jsessionid=1/admin/secret.jpg",
        "https://cdn.example.com/photos/.;x/..;y/admin.jpg",
        "https://cdn.example.com/photos/%2e%2e;/admin.jpg",
    ],
)
def test_dot_segments_with_path_parameters_are_refused(url: str) -> None:
    refusal = PREFIX.refusal(url)
    assert refusal is not None and "'..'" in refusal


def test_path_parameters_on_ordinary_segments_stay_allowed() -> None:
    assert PREFIX.refusal("https://cdn.example.com/photos/a.jpg;v=2") is None
