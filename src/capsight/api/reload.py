"""Reloading the served model while it serves: coalesced reloads, SIGHUP, retiring the replaced model.

Split from ``runtime.py``, which keeps the runtime object (loading, warm-up, admission, shutdown):
this is how a running server switches to a newly promoted model folder without dropping requests,
merges a burst of reload requests into one load, and frees the replaced model once the last
request that took it is done. :class:`ModelReloads` is a mixin of
:class:`~capsight.api.runtime.ServingRuntime`; the attributes it declares are the runtime's.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import weakref
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from capsight.api.service import ClassificationService
from capsight.errors import CapsightError, ModelNotReady, ModelReloadFailed
from capsight.inference.batcher import MicroBatcher
from capsight.inference.classifier import Classifier
from capsight.inference.metadata import ModelMetadata
from capsight.settings import Settings

# The runtime's logger, as before this module was split from runtime.py: the same name in the log.
logger = logging.getLogger("capsight.api.runtime")


class ModelReloads:
    """The part of :class:`~capsight.api.runtime.ServingRuntime` that reloads the model."""

    settings: Settings
    load_error: str | None
    _service: ClassificationService | None
    _batcher: MicroBatcher | None
    _load_task: asyncio.Task[None] | None
    _reload_lock: asyncio.Lock
    _next_reload: asyncio.Task[tuple[ModelMetadata | None, ModelMetadata]] | None
    _retiring: list[asyncio.Task[None]]
    _replaced: list[MicroBatcher]
    _stopping: bool

    if TYPE_CHECKING:

        def service(self) -> ClassificationService: ...

        async def _load_from_folder(self) -> Classifier: ...

        def _serve(self, classifier: Classifier) -> None: ...

        async def _load(self) -> None: ...

    async def reload(self) -> tuple[ModelMetadata | None, ModelMetadata]:
        """Load the model folder again (after ``capsight promote``) and switch to it once it is warm;
        returns (previous, now served). Requests already in flight finish on the previous model.
        When the first load failed (a server started before its model was in place) this is that
        load again, previous None: fixing the folder must not need a restart.

        A folder that fails to load changes nothing: the previous model keeps serving and the error
        is raised (:class:`ModelReloadFailed`).

        One reload at a time, and those asked for while one runs are merged into one more after it,
        whose outcome each of them gets. Why: a burst (a deploy hook's SIGHUPs, several admin calls
        after one promotion) loaded and warmed up the folder once per request, one after the other
        (8 loads for 8 requests). One reload starting after the last of them reads the folder each
        of them asked to be read; the running one cannot stand in: it may have read it before.
        """
        queued = self._next_reload
        if queued is None:
            queued = self._next_reload = asyncio.get_running_loop().create_task(self._reload_when_free())
        # A caller that gives up (a disconnected client) does not cancel the others' reload.
        return await asyncio.shield(queued)

    async def _reload_when_free(self) -> tuple[ModelMetadata | None, ModelMetadata]:
        async with self._reload_lock:
            # From here on the folder may be read before a new request: that one needs the next reload.
            self._next_reload = None
            return await self._reload_now()

    async def _reload_now(self) -> tuple[ModelMetadata | None, ModelMetadata]:
        """The reload itself (see reload), under the reload lock."""
        self._refuse_when_stopping()
        if self._service is None and self.load_error and self._load_task and self._load_task.done():
            return None, await self._load_again()
        previous_service = self.service()  # 503 while the first load is still running
        previous = previous_service.metadata
        try:
            classifier = await self._load_from_folder()
        except Exception as exc:
            logger.warning(
                "model reload from %s failed; still serving %s %s: %s",
                self.settings.model_dir,
                previous.name,
                previous.version,
                exc,
            )
            raise ModelReloadFailed(
                f"The model in {self.settings.model_dir} failed to load ({type(exc).__name__}: {exc}); "
                f"still serving {previous.name} {previous.version}."
            ) from exc
        # stop() ran while the folder loaded: switching now would serve again after shutdown.
        self._refuse_when_stopping()
        now = classifier.metadata
        if now == previous and now.fingerprint == previous.fingerprint:
            # Nothing was promoted: keep the warm model. A swap loads a fresh session and batcher
            # thread (~6 MB and a thread for the bundled model); while replaced ones were kept for
            # the body timeout, a loop of reloads, anyone's with auth off, grew the server by the
            # call until the OOM killer came (60 calls in 4 s: 152 -> 524 MB).
            logger.info("model reload: %s %s is unchanged; still serving it", now.name, now.version)
            return previous, previous
        old_batcher = self._batcher
        self._serve(classifier)
        if old_batcher is not None:
            self._replaced.append(old_batcher)
            self._track(self._retire(old_batcher, _released(previous_service)))
        logger.info("model reloaded: %s %s -> %s %s", previous.name, previous.version, now.name, now.version)
        return previous, now

    async def _load_again(self) -> ModelMetadata:
        """The first load, once more: on success the runtime becomes ready as at startup."""
        failed = self.load_error
        self.load_error = None
        self._load_task = asyncio.get_running_loop().create_task(self._load())
        await asyncio.shield(self._load_task)
        if self._service is None:
            error = self.load_error or failed
            raise ModelReloadFailed(f"The model in {self.settings.model_dir} failed to load ({error}).")
        return self._service.metadata

    def _refuse_when_stopping(self) -> None:
        if self._stopping:
            raise ModelNotReady("The server is shutting down; the model was not reloaded.")

    def reload_on_sighup(self) -> Callable[[], None]:
        """``kill -HUP`` reloads the model (a single-process ``capsight serve``; with ``--workers`` the
        main process gets SIGHUP and uvicorn restarts the workers, which load it anew). Returns the
        function that removes the handler. Without a main-thread event loop (an app run by a test
        client, or Windows) there is no handler to install."""
        loop = asyncio.get_running_loop()

        def on_hup() -> None:
            self._track(self._reload_logged())

        try:
            loop.add_signal_handler(signal.SIGHUP, on_hup)
        except (NotImplementedError, RuntimeError, ValueError, AttributeError):
            return lambda: None

        def remove() -> None:
            loop.remove_signal_handler(signal.SIGHUP)

        return remove

    def _track(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` as a task that stop() cancels. It leaves the list when it ends: each
        SIGHUP's and each replaced batcher's task stayed there until shutdown, so a server reloaded
        by a periodic hook grew by the reload."""
        task = asyncio.get_running_loop().create_task(work)
        self._retiring.append(task)
        task.add_done_callback(self._retiring.remove)

    async def _reload_logged(self) -> None:
        logger.info("SIGHUP: reloading the model from %s", self.settings.model_dir)
        try:
            await self.reload()
        except CapsightError as exc:  # already logged with its reason where it happened
            logger.warning("SIGHUP reload: %s", exc.message)

    async def _retire(self, batcher: MicroBatcher, released: asyncio.Event) -> None:
        """Stop a replaced batcher once no request can still be on its way to it: when the last
        request holding the replaced service lets go of it (``released``), at the latest after the
        body timeout (a request takes the service before it reads its body).

        Why not simply after the body timeout: the batcher holds the replaced model, so its ONNX
        Runtime session (weights and buffers) stayed in memory for 330 s by default after every
        reload, doubling the server's model memory, although the requests using it were done in
        milliseconds.

        A request that failed (a batch holding a file that is no image, an upload that is none) can
        leave the replaced service in a reference cycle (an exception's traceback holds the frames
        that hold it), which only Python's cyclic garbage collector frees, and on a quiet server it
        may not run for the whole grace period: while ``released`` is not set, a collection runs
        after 1 s, then 2, 4, 8... s later (a handful over the grace period, a few ms each)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.settings.body_timeout_seconds or 600.0) + 30.0
        pause = 1.0
        while not released.is_set() and (left := deadline - loop.time()) > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(released.wait(), min(pause, left))
            if not released.is_set():
                gc.collect()  # its finalizer sets ``released`` once the cycle holding it is freed
                pause *= 2
        await batcher.stop()
        with contextlib.suppress(ValueError):
            self._replaced.remove(batcher)


def _released(service: ClassificationService) -> asyncio.Event:
    """An event set once nothing holds ``service`` any more: every request took it with
    ``runtime.service()`` and keeps it until answered, so its collection is the moment the last
    request that could use its batcher (and model) is done. Set from the event loop's thread
    whichever thread dropped the last reference."""
    released = asyncio.Event()
    loop = asyncio.get_running_loop()

    def set_released() -> None:
        with contextlib.suppress(RuntimeError):  # the loop has closed: stop() stopped the batcher
            loop.call_soon_threadsafe(released.set)

    weakref.finalize(service, set_released).atexit = False
    return released
