"""What a batch key names and how its bytes are read: local paths, ``s3://`` URIs and the reader.

Every image is named by one string *key*: an absolute local path or an ``s3://bucket/key`` URI
(``sources.py`` lists them from the SRC arguments). Keys are what results.jsonl records and what
resuming compares; ``file_fingerprint`` and ``file_sha256`` tell a rerun whether a local key still
names the same file.

Reading goes through :class:`ObjectReader`, which is picklable (the boto3 client is rebuilt lazily in
each process), so the same reader serves a thread pool, a process pool and Ray workers.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import shutil
import stat
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from capsight.api.logtext import loggable
from capsight.errors import BadRequest, InvalidImage, PayloadTooLarge
from capsight.imaging.decode import read_image_stream

log = logging.getLogger(__name__)

S3_SCHEME = "s3://"
# botocore waits 60 s to connect and 60 s per read, times its retries: a wedged endpoint held a job,
# its cancel and a graceful shutdown for minutes per request. These match the job URL downloads'.
S3_CONNECT_TIMEOUT_S = 5.0
S3_READ_TIMEOUT_S = 20.0
# A ``--sort copy`` download's tries of an object whose body the endpoint cut off or stalled: boto3
# makes 5, each a read timeout long on a stalled body (100 s per object of a batch, the run held
# before the outage stop); one retry still covers a one-off cut, as botocore's retries cover the rest.
S3_DOWNLOAD_ATTEMPTS = 2
# What an object's error row says when the endpoint did not answer (refused, reset, timed out, gone
# mid-object): a job tells a run of these rows (an outage of the source) from errors about one
# object (NoSuchKey).
S3_UNREACHABLE = "the S3 endpoint cannot be reached"
S3_UNREACHABLE_ROW = f"ConnectionError: {S3_UNREACHABLE}"
# This many objects in a row that the S3 endpoint did not answer for (each after botocore's retries)
# is an outage of the source, not a fault of those objects: a job fails, ``capsight batch`` stops.
S3_OUTAGE_OBJECTS = 5
# A key in a log line is shown whole up to this length (a local path's longest, S3's is 1024 bytes),
# so the line still names the file; only a flood is cut.
LOGGED_KEY_CHARS = 4096


def loggable_key(key: str | os.PathLike[str]) -> str:
    """A key or local path as one log line may show it: keys are user data (an object key or a file
    name may hold a line break, ESC or invisible characters: a forged log line, a terminal escape),
    escaped as the server escapes any client text (:func:`capsight.api.logtext.loggable`)."""
    return loggable(os.fspath(key), LOGGED_KEY_CHARS)


def loggable_error(exc: BaseException) -> str:
    """An error's text for a log line: it quotes keys, and botocore's the S3 server's own words."""
    return loggable(str(exc), LOGGED_KEY_CHARS)


def open_regular(path: str) -> IO[bytes]:
    """``path`` opened for reading, or InvalidImage when it is not a regular file.

    Why: a folder lists named pipes (and links to devices) among its files, and ``open`` of a FIFO
    waits for a writer that never comes: the decode worker, and with it the whole run and its
    Ctrl-C, hung for ever. Opened without blocking, the file is checked before a byte is read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError as exc:
        if not os.path.islink(path):
            raise
        # "No such file or directory" of a name ``ls`` lists: say it is a link, and to what.
        why = f"A symbolic link to {os.readlink(path)}, which does not exist."
        raise FileNotFoundError(errno.ENOENT, why, path) from exc
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):  # what ``open`` says of a folder (a list file can name one)
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
        if not stat.S_ISREG(mode):
            raise InvalidImage("Not a regular file (a named pipe or a device): it is not read.")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def is_s3(key: str) -> bool:
    return key.startswith(S3_SCHEME)


def split_s3(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/key`` -> (``bucket``, ``some/key``)."""
    rest = uri[len(S3_SCHEME) :]
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise BadRequest(f"{uri!r} names no bucket; write s3://bucket/prefix.")
    return bucket, key


class ObjectReader:
    """Reads the bytes behind a key, local or S3, and copies them into the output tree."""

    def __init__(self, s3_endpoint_url: str | None = None, max_s3_object_bytes: int | None = None) -> None:
        self.s3_endpoint_url = s3_endpoint_url
        self.max_s3_object_bytes = max_s3_object_bytes
        self._client: Any = None
        self._lock = threading.Lock()
        self._warned = False  # of an unreachable S3 endpoint

    def __getstate__(self) -> dict[str, Any]:
        # Clients and locks do not cross process boundaries; each process builds its own.
        return {"s3_endpoint_url": self.s3_endpoint_url, "max_s3_object_bytes": self.max_s3_object_bytes}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.s3_endpoint_url = state["s3_endpoint_url"]
        self.max_s3_object_bytes = state.get("max_s3_object_bytes")
        self._client = None
        self._lock = threading.Lock()
        self._warned = False

    @property
    def s3_unreachable(self) -> bool:
        """Whether the S3 endpoint did not answer for an object this reader read or copied (refused,
        cut off, stalled past the read timeout, after the retries)."""
        with self._lock:
            return self._warned

    def s3_client(self) -> Any:
        with self._lock:
            if self._client is None:
                try:
                    import boto3
                    from botocore.config import Config
                except ImportError as exc:  # pragma: no cover - boto3 is in the [s3] extra
                    raise BadRequest("S3 sources need boto3: pip install 'capsight[s3]'.") from exc
                # A low-level client is thread-safe once built; building one is not. Retries stay
                # as the environment or AWS config sets them.
                self._client = boto3.session.Session().client(
                    "s3",
                    endpoint_url=self.s3_endpoint_url,
                    config=Config(connect_timeout=S3_CONNECT_TIMEOUT_S, read_timeout=S3_READ_TIMEOUT_S),
                )
            return self._client

    def read(self, key: str) -> bytes:
        """The image's bytes; InvalidImage from the first bytes of a file that is no image (a video
        beside the photos is not read whole to be refused), PayloadTooLarge for an S3 object over
        ``max_s3_object_bytes`` (a job's per-image limit: a 5 GB object is not read into memory)."""
        if is_s3(key):
            from botocore import exceptions as boto_errors

            try:
                return self._read_s3(key)
            except (
                boto_errors.ConnectionError,
                boto_errors.HTTPClientError,  # ReadTimeoutError (a stalled body), ResponseStreamingError
                # The endpoint went away while it sent the object (its headers came, not all of its
                # bytes): an outage as a refused connection is, not a fault of that object.
                boto_errors.IncompleteReadError,
            ) as exc:
                raise self._unreachable("read", key, exc) from exc
        with open_regular(key) as fh:
            return read_image_stream(fh)

    def _unreachable(self, doing: str, key: str, exc: BaseException) -> ConnectionError:
        """The error of an object the S3 endpoint did not answer for (or cut off, or stalled).

        Why: error rows reach job clients, and botocore's text names the endpoint URL (an internal
        address): the row says what happened, the log says where (once a run: an outage fails every
        object, and one line says it)."""
        with self._lock:
            first, self._warned = not self._warned, True
        level = logging.WARNING if first else logging.DEBUG
        cause = getattr(exc, "last_exception", None) or exc  # boto3's "Max Retries Exceeded" says no more
        log.log(level, "cannot %s %s: %s", doing, loggable_key(key), loggable_error(cause))
        return ConnectionError(S3_UNREACHABLE)

    def _read_s3(self, key: str) -> bytes:
        bucket, name = split_s3(key)
        response = self.s3_client().get_object(Bucket=bucket, Key=name)
        body = response["Body"]
        try:
            size = int(response.get("ContentLength") or 0)
            limit = self.max_s3_object_bytes
            if limit is not None and size > limit:
                raise PayloadTooLarge(f"The object is {size} bytes; the limit is {limit} bytes per image.")
            return bytes(read_image_stream(body))
        finally:
            body.close()  # a refused object's unread rest is not downloaded

    def copy_to(self, key: str, dest: Path) -> None:
        """Copy the object to dest atomically (temp file + rename), so a kill never leaves half a file.

        Any failure is an OSError (ConnectionError when the S3 endpoint did not answer)."""
        tmp = dest.with_name(f".{dest.name}.part")
        try:
            if is_s3(key):
                self._download(key, tmp)
            else:
                shutil.copy2(key, tmp)
            os.replace(tmp, dest)
        except BaseException:
            tmp.unlink(missing_ok=True)  # half a copy on a full disk held the space a rerun needs
            raise

    def _download(self, key: str, tmp: Path) -> None:
        from boto3.exceptions import RetriesExceededError
        from boto3.s3.transfer import TransferConfig
        from botocore import exceptions as boto_errors

        bucket, name = split_s3(key)
        tries = TransferConfig(num_download_attempts=S3_DOWNLOAD_ATTEMPTS)
        try:
            self.s3_client().download_file(bucket, name, str(tmp), Config=tries)
        except (
            boto_errors.ConnectionError,
            boto_errors.HTTPClientError,
            boto_errors.IncompleteReadError,
            # boto3's own, after its tries of a body that was cut off, stalled past the read timeout
            # or reset (it retries only those): an OSError of neither kind below, it ended the run
            # with a traceback.
            RetriesExceededError,
        ) as exc:
            raise self._unreachable("copy", key, exc) from exc
        except (boto_errors.BotoCoreError, boto_errors.ClientError) as exc:
            # An OSError, as a local copy's failures are: the sorter logs it and the run goes
            # on (an object deleted since it was read ended the whole run with a traceback).
            raise OSError(f"S3 could not copy it: {exc}") from exc


def file_fingerprint(key: str) -> str | None:
    """``"<size>:<mtime ns>"`` of a local file, None for S3 keys and files that cannot be stat'ed.

    Why: results are recorded per path, and a path can name another image later (a camera counter
    that wrapped into an inbox emptied by ``--sort move``, a photo edited in place). Comparing this on
    a rerun tells "done" from "another file under the same name" with one stat, without reading files.
    """
    if is_s3(key):
        return None
    try:
        st = os.stat(key)
    except OSError:
        return None
    return f"{st.st_size}:{st.st_mtime_ns}"


def file_sha256(key: str) -> str | None:
    """SHA-256 of a local file's bytes; None for S3 keys and files that cannot be read."""
    if is_s3(key):
        return None
    digest = hashlib.sha256()
    try:
        with open_regular(key) as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    except (OSError, InvalidImage):  # InvalidImage: a named pipe (or device) now has that name
        return None
    return digest.hexdigest()


def any_s3(keys: Sequence[str]) -> bool:
    return any(is_s3(k) for k in keys)
