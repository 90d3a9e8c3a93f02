"""An image file left short by a crash (written and renamed, its bytes never reaching the disk) is
rewritten when the image comes again; the store skipped any key that existed, so a torn file was
served as the photo, and every later upload of that photo kept it, for as long as the key lived."""

from __future__ import annotations

import hashlib
from pathlib import Path

from capsight.store.blobs import LocalBlobStore, blob_key

IMAGE = b"a stored photo, " * 64
SHA = hashlib.sha256(IMAGE).hexdigest()


def _tear(root: Path, keep: int) -> None:
    path = root / blob_key(SHA)
    path.write_bytes(path.read_bytes()[:keep])


def test_an_image_torn_on_disk_is_rewritten_when_it_comes_again(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "images")
    store.put(SHA, IMAGE)
    for keep in (0, 100):  # empty (delayed allocation lost it all) or cut short
        _tear(tmp_path / "images", keep)
        store.put(SHA, IMAGE)
        assert store.get(SHA) == IMAGE
