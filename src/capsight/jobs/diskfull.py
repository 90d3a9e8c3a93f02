"""A full data disk is the server's trouble, never a fact about the client's images.

Why a module of its own: before it, ``extract`` turned the ``ENOSPC`` of every member into that
member's error row ("CorruptArchiveMember: No space left on device"), deleted the upload and let
the job *succeed*, telling the client its zip was corrupt; a download or a results write that hit
a full disk failed the job with "Internal error: OSError: [Errno 28] ...". Both now fail the job with
one message that says what happened and what to do.
"""

from __future__ import annotations

from capsight.batch.diskfull import is_disk_full
from capsight.errors import CapsightError

__all__ = ["MESSAGE", "DiskFull", "is_disk_full"]  # one test of a full disk, batch's, for jobs too
MESSAGE = (
    "The server ran out of disk space for this job's files; nothing is wrong with the images. "
    "Create the job again later."
)


class DiskFull(CapsightError):
    """Fails the job (a worker is not a request: the status code is never sent)."""

    status_code = 507
    default_message = MESSAGE
