"""Every record the recorder was given is in exactly one of ``stats()``'s counts, at any moment.

Why: ``stats()`` left out the batch the writer thread had taken off the queue and was writing (a
batch of 50 being written read submitted 50, queued 0, written 0: 50 records nowhere), and counted
a record twice for a moment: the overflow thread's records were queued until it had finished, but
spooled as soon as the spool had them; a spool replay counted its records written chunk by chunk
while they were still spooled, until the whole file was done. An operator (or a test) comparing
submitted with where the records went saw records lost, or more records than were sent.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from store_records import make_record

from capsight.store.blobs import LocalBlobStore
from capsight.store.database import Database
from capsight.store.recorder import DatabaseRecorder, RecorderConfig
from capsight.store.recorder_config import RecorderStats


def accounted(stats: RecorderStats) -> int:
    return stats.queued + stats.writing + stats.spooled + stats.written + stats.rejected + stats.lost


class GatedImages(LocalBlobStore):
    """A real image folder whose writes wait for the test's go: the writer thread holds its batch."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.entered = threading.Event()
        self.go = threading.Event()

    def put(self, sha256: str, data: bytes) -> str:
        self.entered.set()
        assert self.go.wait(10), "the test never let the image through"
        return super().put(sha256, data)


def test_the_batch_being_written_is_counted(database: Database, tmp_path: Path) -> None:
    images = GatedImages(tmp_path / "images")
    config = RecorderConfig(batch_size=50, linger_s=0.0, retry_initial_s=0.05, store_images=True)
    recorder = DatabaseRecorder(database, images, tmp_path / "spool", config)
    images.go.set()  # let the start-up probe (and migration) through first
    recorder.start()
    assert recorder.flush(10), recorder.stats()
    images.go.clear()
    images.entered.clear()
    try:
        for n in range(50):
            recorder.submit(make_record(image_sha256=None), n.to_bytes(2, "big") * 8)
        assert images.entered.wait(10), "the writer never took the batch"
        stats = recorder.stats()
        assert stats.submitted == 50
        assert accounted(stats) == 50, stats
        assert stats.writing >= 1, stats
    finally:
        images.go.set()
    assert recorder.flush(10), recorder.stats()
    stats = recorder.stats()
    assert (stats.written, stats.writing, stats.queued, accounted(stats)) == (50, 0, 0, 50), stats
    recorder.close()


def test_no_record_is_ever_counted_twice_or_missed(database: Database, tmp_path: Path) -> None:
    """Traffic through every path at once (queue, overflow to the spool, replay) while a sampler reads
    the counts: each sample must add up to what was submitted, exactly."""
    config = RecorderConfig(
        batch_size=20, linger_s=0.0, queue_max=30, queue_max_bytes=4000, retry_initial_s=0.02
    )
    recorder = DatabaseRecorder(database, LocalBlobStore(tmp_path / "images"), tmp_path / "spool", config)
    recorder.start()
    wrong: list[RecorderStats] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            stats = recorder.stats()
            if accounted(stats) != stats.submitted:
                wrong.append(stats)
            time.sleep(0.0002)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        for n in range(600):
            image = (n % 97).to_bytes(2, "big") * 60  # some repeat: shared copies, cache-hit style
            recorder.submit(make_record(request_id=f"mixed-{n}"), image)
            if n % 50 == 0:
                time.sleep(0.01)
        assert recorder.flush(30), recorder.stats()
    finally:
        done.set()
        sampler.join()
    recorder.close()
    final = recorder.stats()
    assert not wrong, f"{len(wrong)} samples did not add up, first: {wrong[0]}"
    assert (final.submitted, final.written, final.spooled, final.queued) == (600, 600, 0, 0), final
