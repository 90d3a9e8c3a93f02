"""A CAPSIGHT_STORAGE_URL that is not one stops `capsight serve` (which builds the services) with one
line naming the setting, as the CLI prints a CapsightError, instead of a traceback through uvicorn.

Since e02f56c an s3:// URL without a bucket is refused when the settings are made (every command's
invalid-settings line), before any service is built; the test checks it still names the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from capsight.errors import CapsightError
from capsight.settings import Settings
from capsight.store.services import build_services


@pytest.mark.parametrize("url", ["s3://", "s3:///only-a-prefix"])
def test_build_services_names_the_setting(url: str, tmp_path: Path) -> None:
    with pytest.raises(CapsightError, match="CAPSIGHT_STORAGE_URL") as raised:
        build_services(Settings(data_dir=tmp_path, storage_url=url), start=False)
    assert "s3://BUCKET" in str(raised.value)
