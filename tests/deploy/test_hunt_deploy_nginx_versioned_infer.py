"""compose's nginx gives every V2 infer path the api's multi-image body limit, versioned ones too.

The api takes bodies up to CAPSIGHT_MAX_BATCH_UPLOAD_BYTES on every ``/v2/.../infer`` path
(capsight.api.app), ``/v2/models/{name}/versions/{version}/infer`` included. nginx raised its 17 MiB
limit for ``/v2/models/<name>/infer`` alone, so a valid 20 MiB request naming a model version got
nginx's own HTML 413 instead of reaching a replica.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from test_nginx import (
    _Echo,
    _send,
    running_proxy,
)

from capsight.settings import Settings


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """nginx with the real config in front of a server reporting the body size that reached it."""
    with running_proxy(tmp_path_factory.mktemp("nginx-infer"), _Echo) as url:
        yield url


@pytest.mark.parametrize(
    "path",
    ["/v2/models/bottle-status/versions/1/infer", "/v2/models/bottle-status/infer"],
)
def test_infer_bodies_up_to_the_batch_limit_reach_the_api(proxy: str, path: str) -> None:
    size = Settings().max_batch_upload_bytes  # the api's own limit for these paths
    status, seen = _send(proxy + path, {"Content-Type": "application/json"}, b"x" * size)
    assert status == 200
    assert seen["body_bytes"] == size


def test_other_v2_paths_keep_the_single_image_limit(proxy: str) -> None:
    status, _ = _send(
        proxy + "/v2/models/bottle-status", {"Content-Type": "application/json"}, b"x" * (20 * 1024**2)
    )
    assert status == 413
