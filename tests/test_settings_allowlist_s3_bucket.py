"""An s3:// entry without a bucket in an allowlist setting is refused naming the variable.

``CAPSIGHT_JOB_URL_ALLOWLIST='["s3://"]'`` stopped every command with ``capsight: error: 's3://'
names no bucket; write s3://bucket/prefix.``: the check raised the API's 400, not a settings error,
so the line said neither which variable nor that it was a setting."""

from __future__ import annotations

import pytest

from capsight.settings import InvalidSettings, Settings


@pytest.mark.parametrize("field", ["job_url_allowlist", "webhook_allowlist"])
@pytest.mark.parametrize("entry", ["s3://", "s3:///photos/"])
def test_an_s3_entry_without_a_bucket_names_the_setting(field: str, entry: str) -> None:
    with pytest.raises(InvalidSettings) as refused:
        Settings(**{field: ["cdn.example.com", entry]})
    message = str(refused.value)
    assert message.startswith(f"invalid settings: CAPSIGHT_{field.upper()}="), message
    assert "names no bucket" in message, message
