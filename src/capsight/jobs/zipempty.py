"""The words of a zip upload refused because nothing in it can be extracted as an image.

Why its own module: the client must learn what was in the zip and why none of it counted. A bare
"The zip holds no images." sent a client whose zip held password-protected photos looking for a
fault in the photos, and one whose zip held PDF scans or a zip inside the zip guessing which
entries were read at all.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

NOT_AN_IMAGE = "not an image"
NAMED_AT_MOST = 5


def no_images_message(skipped: Sequence[tuple[str, str]]) -> str:
    """For ``(member name, skip reason)`` pairs: reasons other than "not an image" are counted (they
    are what the client can fix); a zip only of non-images names its first few members."""
    reasons = Counter(reason for _, reason in skipped if reason != NOT_AN_IMAGE)
    if reasons:
        detail = ", ".join(f"{count} {reason}" for reason, count in reasons.most_common())
        return f"The zip holds no images that can be extracted; skipped: {detail}."
    if not skipped:
        return "The zip is empty: it holds no files."
    names = ", ".join(repr(name[:100]) for name, _ in skipped[:NAMED_AT_MOST])
    more = f" and {len(skipped) - NAMED_AT_MOST} more" if len(skipped) > NAMED_AT_MOST else ""
    files = "its 1 file is not an image" if len(skipped) == 1 else f"its {len(skipped)} files are not images"
    return f"The zip holds no images: {files} (by name or first bytes): {names}{more}."
