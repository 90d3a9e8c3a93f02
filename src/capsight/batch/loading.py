"""Read + decode + preprocess one image: the per-image work that runs in parallel workers.

It is a plain module-level function over picklable arguments so the same code runs in a thread
pool, a process pool and a Ray actor. It never raises for a bad image: the failure travels back as
text and becomes an error row, because one unreadable file must not stop a run of a million.
"""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

import numpy as np

from capsight.batch.objects import ObjectReader
from capsight.batch.records import describe_error
from capsight.imaging import PreprocessSpec, decode_image, preprocess

ExecutorKind = Literal["thread", "process"]
EXECUTOR_KINDS: tuple[ExecutorKind, ...] = ("thread", "process")


@dataclass(frozen=True)
class LoadedImage:
    key: str
    pixels: np.ndarray | None  # (3, S, S) float32, None when the image failed
    width: int = 0
    height: int = 0
    error: str | None = None
    sha256: str | None = None  # of the bytes read: how a rerun knows a touched photo is the same one


def load_image(key: str, reader: ObjectReader, spec: PreprocessSpec, max_pixels: int) -> LoadedImage:
    try:
        data = reader.read(key)
        digest = hashlib.sha256(data).hexdigest()  # releases the GIL, ~1 ms for a 3 MB photo
        decoded = decode_image(data, min_side=spec.decode_hint(), max_pixels=max_pixels)
        pixels = preprocess(decoded.image, spec)
    except Exception as exc:  # every failure of one image is that image's error row
        return LoadedImage(key=key, pixels=None, error=describe_error(exc))
    return LoadedImage(key=key, pixels=pixels, width=decoded.width, height=decoded.height, sha256=digest)


def _worker_init(parent: int) -> None:
    # Ctrl-C goes to the whole process group; only the parent should react and shut the pool down.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A parent killed with SIGKILL cannot shut its pool down: without this, its workers lived on
    # under PID 1 for good (one blocked writing a result nobody reads). Polling the parent's pid
    # works whichever thread started the worker (PR_SET_PDEATHSIG follows that thread, not the process).
    # ``parent`` comes from the parent itself: a worker still importing when the parent was killed
    # would otherwise read PID 1 as its parent and never notice.

    def watch() -> None:
        while True:
            time.sleep(PARENT_CHECK_S)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="capsight-parent-watch", daemon=True).start()


PARENT_CHECK_S = 1.0


def make_executor(kind: ExecutorKind, workers: int) -> Executor:
    """Decode workers. Threads are the default: Pillow's JPEG decoder and resize release the GIL, and
    threads avoid pickling every preprocessed array back to the parent (see bench/bench_batch.py)."""
    if kind == "thread":
        return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="capsight-decode")
    if kind == "process":
        import multiprocessing

        # spawn, not fork: the parent already runs ONNX Runtime and tqdm threads, and forking a
        # threaded process can deadlock a child on a lock some thread held.
        return ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_init,
            initargs=(os.getpid(),),
        )
    raise ValueError(f"unknown executor {kind!r}")
