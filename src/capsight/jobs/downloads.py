"""Fetching a URL job's images into its folder, resumably, with every failure kept as a row.

Each outcome (file written, or why not) is appended to ``downloads.jsonl`` as it happens, so a job
interrupted mid-download resumes with the URLs it has not tried yet and never fetches (or reports)
one twice. A file is fsynced, and its folder, before the line naming it is written: after a power cut
the manifest never names a file the disk lost (one it names but cannot find is fetched again). A
download cut short by a cancel or a shutdown is no outcome and is not recorded: the resumed job
fetches it again (recording it made a rolling update leave error rows in a job that then
"succeeded"). Requests go out without environment proxies and without following redirects: a redirect
could lead off the allow-listed host, so a 3xx is reported as that image's error; connections go to
the address ``jobs/addresses.py`` checked (a listed name resolving inside the network is refused).
Each download is size-capped (checked against Content-Length and again while streaming) and
time-capped (connect, per-read and whole-download deadlines), so a slow-drip or endless server costs
one row, not the job.
Each download also reserves its bytes (Content-Length, else the per-image cap; the cap too once a
compressed response inflates past its Content-Length) in this replica's disk budget for job files
before it writes (``jobs/diskbudget.py``); a job whose images do not fit fails, saying so, instead
of filling the data disk. A gzip or deflate response is inflated a bounded piece at a time
(``jobs/inflate.py``), not by httpx. An answer that says "later" (429, 502, 503, 504) and a try the
network cut short (refused, reset, timed out) are tried again (``jobs/fetchretry.py``).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from capsight.jobs.allowlist import Allowlist, fetched_url
from capsight.jobs.diskbudget import DiskBudget
from capsight.jobs.fetchretry import NOT_KEPT, HostTrouble, Outcome, fetch_retrying, is_blip
from capsight.jobs.inflate import ACCEPT_ENCODING, UnsupportedEncoding, inflated
from capsight.jobs.retryafter import retry_after_seconds
from capsight.store.blobs import fsync_dir

if TYPE_CHECKING:  # httpx loads with the first URL job, not with the server
    import httpx

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DownloadLimits:
    max_bytes: int
    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    total_timeout: float = 60.0
    concurrency: int = 4
    attempts: int = 3  # for "later" answers and network blips only (jobs/fetchretry.py)
    retry_delay: float = 1.0  # before the second try; doubled before each one after


@dataclass
class DownloadReport:
    complete: bool
    files: dict[str, str] = field(default_factory=dict)  # file name -> URL
    errors: list[tuple[str, str]] = field(default_factory=list)  # (URL, error)


def file_name(index: int) -> str:
    return f"u{index:07d}"


def read_manifest(path: Path) -> dict[int, Outcome]:
    outcomes: dict[int, Outcome] = {}
    if not path.exists():
        return outcomes
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            data = json.loads(line)
            outcome = Outcome(int(data["index"]), str(data["url"]), data.get("file"), data.get("error"))
        except (ValueError, KeyError, TypeError):
            continue  # a torn last line from a killed run: that URL is fetched again
        outcomes.setdefault(outcome.index, outcome)
    return outcomes


def _fetch(
    client: httpx.Client,
    allowlist: Allowlist,
    limits: DownloadLimits,
    index: int,
    url: str,
    dest: Path,
    cancel: threading.Event | None = None,
    budget: DiskBudget | None = None,
) -> Outcome:
    import httpx

    from capsight.jobs.addresses import AddressRefused

    refusal = allowlist.refusal(url)
    if refusal is not None:
        return Outcome(index, url, None, f"NotAllowed: {refusal}")
    name = file_name(index)
    tmp = dest / f".{name}.part"
    deadline = time.monotonic() + limits.total_timeout
    folder = dest.parent  # the job folder, which holds the reservation
    reserved = kept = 0
    try:
        with client.stream("GET", fetched_url(url)) as response:  # the URL the allowlist checked
            if response.status_code != 200:
                hint = " (redirects are not followed)" if response.is_redirect else ""
                error = f"DownloadError: HTTP {response.status_code}{hint}"
                asked = retry_after_seconds(response.headers.get("retry-after"))
                return Outcome(index, url, None, error, retry_after=asked)
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limits.max_bytes:
                return Outcome(index, url, None, f"DownloadError: larger than {limits.max_bytes} bytes")
            if budget is not None:  # raises (the job fails) when this image does not fit
                want = int(declared) if declared.isdigit() else limits.max_bytes
                budget.grow(folder, want, f"the download of {url[:200]!r}")
                reserved = want
            size = 0
            with open(tmp, "wb") as fh:
                # No chunk size: each network read is handed over as it arrives, so the deadline and a
                # cancel are checked even against a server that drips a byte every few seconds (a
                # fixed 64 KB chunk would wait for 64 KB first, and the 60 s limit never fired).
                encoding = response.headers.get("content-encoding", "")
                for chunk in inflated(response.iter_raw(), encoding):
                    if cancel is not None and cancel.is_set():
                        return Outcome(index, url, None, None, interrupted=True)
                    size += len(chunk)
                    if size > limits.max_bytes:
                        return Outcome(
                            index, url, None, f"DownloadError: larger than {limits.max_bytes} bytes"
                        )
                    if time.monotonic() > deadline:
                        return Outcome(
                            index, url, None, f"DownloadError: took longer than {limits.total_timeout:g} s"
                        )
                    if budget is not None and size > reserved:
                        # More than declared: a Content-Encoding (gzip) response declares its
                        # compressed length, and inflated() hands over the inflated bytes. Reserve up to
                        # the per-image cap, which bounds what is written, once.
                        budget.grow(folder, limits.max_bytes - reserved, f"the download of {url[:200]!r}")
                        reserved = limits.max_bytes
                    fh.write(chunk)
                fh.flush()
                os.fsync(fh.fileno())  # before the manifest names it (download_all): a power cut
        if size == 0:
            return Outcome(index, url, None, "DownloadError: empty response")
        os.replace(tmp, dest / name)
        kept = size
        return Outcome(index, url, name, None)
    except AddressRefused as exc:  # the host's address, checked as the connection was made
        return Outcome(index, url, None, f"NotAllowed: {exc}")
    except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:  # InvalidURL is no HTTPError
        return Outcome(index, url, None, f"DownloadError: {type(exc).__name__}: {exc}", blip=is_blip(exc))
    except zlib.error as exc:  # worded as httpx worded its own inflating's failure
        return Outcome(index, url, None, f"DownloadError: DecodingError: {exc}")
    except UnsupportedEncoding as exc:
        return Outcome(index, url, None, f"DownloadError: unsupported {exc}")
    finally:
        tmp.unlink(missing_ok=True)
        if budget is not None and reserved > kept:
            budget.shrink(folder, reserved - kept)  # a smaller file than declared, or none at all


def _kept(path: Path) -> bool:
    """A download on disk as it was written: never empty (an empty response is an error row)."""
    try:
        return path.stat().st_size > 0
    except OSError:
        return False


def download_all(
    urls: Sequence[str],
    dest: Path,
    manifest: Path,
    allowlist: Allowlist,
    limits: DownloadLimits,
    cancel: threading.Event | None = None,
    on_progress: Callable[[int], None] | None = None,
    budget: DiskBudget | None = None,
) -> DownloadReport:
    """Fetch every URL not in the manifest yet; ``on_progress(tried)`` after each one. With a
    ``budget``, the reservation of the job folder (``dest``'s parent) counts the files written."""
    import httpx

    from capsight.jobs.addresses import USER_AGENT, guarded_transport

    dest.mkdir(parents=True, exist_ok=True)
    if budget is not None and budget.enabled:  # a resumed job: what its earlier runs kept, measured
        budget.settle(dest.parent, sum(f.stat().st_size for f in dest.iterdir() if f.is_file()))
    # A file the manifest names but the disk lost (an earlier release did not fsync downloads, then a
    # power cut) is fetched again: its URL silently had no row in the "succeeded" job.
    known = {i: o for i, o in read_manifest(manifest).items() if o.file is None or _kept(dest / o.file)}
    todo = [(i, u) for i, u in enumerate(urls) if i not in known]
    timeout = httpx.Timeout(limits.read_timeout, connect=limits.connect_timeout)
    with (
        httpx.Client(
            transport=guarded_transport(allowlist.private_networks),  # connects to checked addresses
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
            headers={"Accept-Encoding": ACCEPT_ENCODING, "User-Agent": USER_AGENT},
        ) as client,
        ThreadPoolExecutor(max_workers=limits.concurrency, thread_name_prefix="capsight-download") as pool,
        open(manifest, "a", encoding="utf-8") as log,
    ):
        pending: set[Future[Outcome]] = set()
        trouble = HostTrouble()  # hosts that are down get one try a URL
        queue = iter(todo)
        stopped = cancel is not None and cancel.is_set()  # a job cancelled before it ran starts nothing
        while True:
            while not stopped and len(pending) < 2 * limits.concurrency:
                item = next(queue, None)
                if item is None:
                    break
                fetch = partial(_fetch, client, allowlist, limits, item[0], item[1], dest, cancel, budget)
                host = urlsplit(item[1].strip()).netloc.lower()
                pending.add(pool.submit(fetch_retrying, fetch, limits, cancel, host, trouble))
            if not pending:
                break
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            if any(f.result().file is not None for f in finished):
                fsync_dir(dest)  # the new files' names, before the manifest lines naming them
            for future in finished:
                outcome = future.result()
                if outcome.interrupted:
                    continue  # not in the manifest: a graceful shutdown must not turn it into an error row
                known[outcome.index] = outcome
                log.write(json.dumps({k: v for k, v in outcome.__dict__.items() if k not in NOT_KEPT}) + "\n")
                log.flush()
            if on_progress is not None:
                on_progress(len(known))
            if cancel is not None and cancel.is_set():
                stopped = True  # finish the downloads in flight (bounded by the timeouts), start none
    report = DownloadReport(complete=len(known) >= len(urls))
    for index in sorted(known):
        outcome = known[index]
        if outcome.file is not None:
            report.files[outcome.file] = outcome.url
        else:
            report.errors.append((outcome.url, outcome.error or "DownloadError"))
    return report
