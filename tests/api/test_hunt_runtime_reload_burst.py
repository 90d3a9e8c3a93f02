"""Reloads asked for while one is running (a burst of SIGHUPs from a deploy hook, several admin
calls after a promotion) are merged into one more reload after it: each one loaded the model folder
and warmed it up again, one after the other, for nothing (the same files every time)."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from api.helpers import make_settings
from capsight.api.runtime import ServingRuntime
from capsight.inference.classifier import Classifier
from capsight.inference.metadata import ModelMetadata
from capsight.store.services import Services
from model_factory import build_colour_model


def test_reloads_asked_for_during_a_reload_are_merged_into_one_more(tmp_path: Path) -> None:
    folder = build_colour_model(tmp_path / "model")

    async def scenario() -> tuple[int, list[str], str]:
        runtime = ServingRuntime(make_settings(folder, tmp_path / "var"), Services())
        await runtime.wait_ready(timeout=30)
        remove = runtime.reload_on_sighup()
        loads = 0
        loading = asyncio.Event()
        release = asyncio.Event()
        real_load = runtime._load_from_folder

        async def counted_load() -> Classifier:
            nonlocal loads
            loads += 1
            classifier = await real_load()
            loading.set()
            await release.wait()  # the first reload is still warming up
            return classifier

        asked = 0
        all_asked = asyncio.Event()
        real_reload = runtime.reload

        async def counted_reload() -> tuple[ModelMetadata | None, ModelMetadata]:
            nonlocal asked
            asked += 1
            if asked == 8:
                all_asked.set()
            return await real_reload()

        runtime._load_from_folder = counted_load  # type: ignore[method-assign]
        runtime.reload = counted_reload  # type: ignore[method-assign]
        try:
            build_colour_model(folder, version="test-2")
            first = asyncio.create_task(runtime.reload())
            await loading.wait()
            build_colour_model(folder, version="test-3")  # promoted while test-2 loads
            later = [asyncio.create_task(runtime.reload()) for _ in range(3)]
            for _ in range(4):
                os.kill(os.getpid(), signal.SIGHUP)
            await all_asked.wait()  # the 3 calls and the 4 SIGHUPs' tasks have asked
            release.set()
            answers = await asyncio.gather(first, *later)
            await asyncio.gather(*list(runtime._retiring))  # the SIGHUPs' own reload tasks
            return loads, [now.version for _, now in answers], runtime.metadata.version
        finally:
            remove()
            await runtime.stop()

    loads, versions, served = asyncio.run(scenario())
    # The first reload, then one for everything asked for while it ran: each caller is answered
    # by a reload that read the folder after it asked.
    assert versions == ["test-2", "test-3", "test-3", "test-3"]
    assert served == "test-3"
    assert loads == 2
