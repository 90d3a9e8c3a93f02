"""The benchmark workload is what the README says it is: a deterministic ~600 KB phone-sized JPEG."""

from __future__ import annotations

from capsight.imaging.decode import decode_image
from make_workload import SIZE_WINDOW, make_workload_bytes


def test_workload_is_a_deterministic_phone_photo_of_about_600_kb() -> None:
    data = make_workload_bytes()
    assert SIZE_WINDOW[0] <= len(data) <= SIZE_WINDOW[1]
    decoded = decode_image(data)
    assert (decoded.width, decoded.height, decoded.format) == (1080, 1920, "JPEG")
    assert make_workload_bytes() == data
