"""Many files dropped or pasted at once (a whole camera folder's selection), in real headless Chromium.

Only the first 20 files were read by their first bytes: a photo further down was never considered,
so with 22 notes renamed ".jpg" ahead of it the page sent a note and the server refused it, the
photo given with them never classified. A note renamed ".jpg" past the 20th went unmentioned. Every
file's first bytes are read now (Blob.slice: a few bytes each, whatever the file's size), the first
photo by its bytes is classified, and the files that are not photos are named beside it.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from test_page_sniffed_files import GIVE  # drop or paste files on the page
from web_support import photo_jpeg, read_result

from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser

NOTE = base64.b64encode(b"shopping list: milk, eggs, bottle caps\n" * 5).decode()


def _photo(label: str, seed: int) -> str:
    return base64.b64encode(photo_jpeg(LABEL_COLOURS[label], size=(64, 48), seed=seed)).decode()


@pytest.mark.parametrize("how", ["drop", "paste"])
def test_a_note_past_the_twentieth_file_is_named_and_the_first_photo_classified(page: Any, how: str) -> None:
    files = [
        ["n23.jpg", "image/jpeg", NOTE] if i == 23 else [f"p{i:02}.jpg", "image/jpeg", _photo("opened", i)]
        for i in range(1, 26)
    ]
    page.evaluate(GIVE, [how, files])
    assert read_result(page)["label"] == "opened"
    shown = page.inner_text("#file-name")
    assert shown.startswith("p01.jpg · ") and "1 of the 25 files" in shown
    assert shown.endswith("Not a photo: “n23.jpg”.")


def test_a_photo_after_twenty_notes_is_classified_not_a_note(page: Any) -> None:
    files = [[f"n{i:02}.jpg", "image/jpeg", NOTE] for i in range(1, 23)]
    files += [
        ["p23.jpg", "image/jpeg", _photo("closed", 23)],
        ["p24.jpg", "image/jpeg", _photo("opened", 24)],
    ]
    page.evaluate(GIVE, ["drop", files])
    result = read_result(page)
    assert result["label"] == "closed" and result["error_hidden"]
    shown = page.inner_text("#file-name")
    assert shown.startswith("p23.jpg · ") and "1 of the 24 files" in shown
    # The first few are named, the rest counted: the line stays readable on a phone.
    assert shown.endswith("Not photos: “n01.jpg”, “n02.jpg”, “n03.jpg”, “n04.jpg”, “n05.jpg” and 17 more.")
