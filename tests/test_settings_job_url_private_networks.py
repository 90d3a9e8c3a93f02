"""CAPSIGHT_JOB_URL_PRIVATE_NETWORKS: IP networks, checked at start-up like the allowlists."""

from __future__ import annotations

import pytest

from capsight.settings import InvalidSettings, Settings

pytestmark = pytest.mark.usefixtures("clean_capsight_env")


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "images.corp", "10.1.2.3/8", ""])
def test_a_bad_network_stops_start_up_naming_it(monkeypatch: pytest.MonkeyPatch, entry: str) -> None:
    monkeypatch.setenv("CAPSIGHT_JOB_URL_PRIVATE_NETWORKS", f'["10.20.0.0/16", "{entry}"]')
    with pytest.raises(InvalidSettings) as raised:
        Settings()
    message = raised.value.message
    assert message.startswith("invalid settings: CAPSIGHT_JOB_URL_PRIVATE_NETWORKS=")
    assert f"{entry!r} is no IP network" in message and "\n" not in message


def test_networks_and_single_addresses_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAPSIGHT_JOB_URL_PRIVATE_NETWORKS", '["10.20.0.0/16", "fd00::/8", "192.168.1.7"]')
    assert Settings().job_url_private_networks == ["10.20.0.0/16", "fd00::/8", "192.168.1.7"]


def test_the_webhook_networks_are_checked_the_same_way(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAPSIGHT_WEBHOOK_PRIVATE_NETWORKS", '["hooks.internal"]')
    with pytest.raises(
        InvalidSettings, match=r"CAPSIGHT_WEBHOOK_PRIVATE_NETWORKS=.*'hooks.internal' is no IP"
    ):
        Settings()
