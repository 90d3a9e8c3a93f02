"""Counts in words for the CLI's summaries and the logs: "1 image", "2 images", "1 day", "1.5 days".

Why one place: summaries said "1 images", "1 corrections" and "older than 1 days", each line having
put an "s" on its own.
"""

from __future__ import annotations


def counted(count: float, noun: str, plural: str | None = None) -> str:
    """``count`` with ``noun``, in the plural unless the count is one (``plural``: an irregular one,
    "feedback" for "feedback")."""
    many = plural if plural is not None else f"{noun}s"
    number = str(count) if isinstance(count, int) else f"{count:g}"  # 1234567 rows, not 1.23457e+06
    return f"{number} {noun if count == 1 else many}"


def days(count: float) -> str:
    """A number of days as the settings and flags take it (``1``, ``1.5``, ``30``)."""
    return counted(count, "day")
