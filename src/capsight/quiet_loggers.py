"""Libraries whose debug lines bury capsight's own under ``-v``, held to INFO and up.

Why: ``-v`` is asked for to see what capsight did (which photo was skipped, and why). matplotlib's
import and font search logged ~270 debug lines per report, PIL two or more per PNG it read
("STREAM b'IHDR' 16 13"): 72 for a folder of 36. ``capsight -v batch s3://...`` printed ~200 of
botocore's (event hooks, JSON models loaded, each request's signing) and urllib3's for three objects;
httpx and httpcore (URL jobs, webhooks) log each connection step. A level set for such a logger (a
user's logging configuration, a program embedding capsight that debugs PIL) is theirs, and kept.
"""

from __future__ import annotations

import logging

# Quieted by the CLI at start; matplotlib is quieted where it is imported (training.reports), which a
# library caller of the reports reaches too.
LIBRARIES = ("PIL", "botocore", "boto3", "s3transfer", "urllib3", "httpx", "httpcore")


def quiet_below_info(name: str) -> None:
    """INFO and up from logger ``name`` and its children, unless a level was set for it."""
    logger = logging.getLogger(name)
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)


def quiet_libraries() -> None:
    """INFO and up from each of :data:`LIBRARIES`, unless a level was set for it."""
    for name in LIBRARIES:
        quiet_below_info(name)
