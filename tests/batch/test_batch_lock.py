"""Two ``capsight batch`` runs into one ``--out`` at once: the second is refused, not interleaved."""

from __future__ import annotations

from pathlib import Path

import pytest
from batch_helpers import ImageFolder

from capsight.batch import BatchOptions, run_batch
from capsight.batch.options import BatchProgress
from capsight.batch.runlock import LOCK_FILE
from capsight.errors import Conflict
from capsight.inference import OnnxClassifier


def test_a_second_run_into_the_same_out_is_refused_while_the_first_runs(
    image_folder: ImageFolder, classifier: OnnxClassifier, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    refused: list[str] = []

    def second_run(progress: BatchProgress) -> None:
        if progress.done == 0:  # the first run has started and holds the folder
            with pytest.raises(Conflict) as caught:
                run_batch([str(image_folder.root)], out, classifier, BatchOptions(sort="move"))
            refused.append(caught.value.message)

    first = run_batch(
        [str(image_folder.root)], out, classifier, BatchOptions(sort="move"), progress_callback=second_run
    )

    assert refused and "Another capsight batch is writing to" in refused[0]
    assert first.complete and first.processed_this_run == image_folder.total
    assert not (out / LOCK_FILE).exists()  # released and removed at the end
    assert run_batch([str(image_folder.root)], out, classifier, BatchOptions(sort="move")).complete
