"""The outputs a V2 inference request asks for (``outputs``, by name, each once) and the
classification extension's answer, ``"<probability>:<index>:<label>"`` strings best first.

Its own module so that :mod:`capsight.api.routes.v2` stays the routes; both are checked or built
from the request and the model's scores only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from capsight.api.routes.v2_schemas import (
    CLASSIFICATION,
    OUTPUT_NAMES,
    PROBABILITIES,
    InferenceRequest,
)
from capsight.errors import BadRequest


def requested_outputs(req: InferenceRequest) -> list[tuple[str, int | None]]:
    """The outputs to answer, in order, each with its classification count (None: the tensor itself).

    Checked before inference, so a request that cannot be answered costs no model time. A name
    asked for twice is refused, as Triton does: the answer would hold two outputs of that name,
    and a client reading an output by name (tritonclient's ``as_numpy``) gets whichever comes first.
    """
    if not req.outputs:
        return [(name, None) for name in OUTPUT_NAMES]
    wanted: list[tuple[str, int | None]] = []
    for output in req.outputs:
        if output.name not in OUTPUT_NAMES:
            raise BadRequest(f"Unknown output {output.name!r}; this model outputs {list(OUTPUT_NAMES)}.")
        if any(name == output.name for name, _ in wanted):
            raise BadRequest(f"Output '{output.name}' is requested twice.")
        count = (output.parameters or {}).get(CLASSIFICATION)
        if count is not None:
            if output.name != PROBABILITIES:
                raise BadRequest(
                    f"Output '{output.name}' holds labels, not scores: ask for '{PROBABILITIES}' with "
                    f"parameters.{CLASSIFICATION}."
                )
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise BadRequest(
                    f"Output '{PROBABILITIES}' parameters.{CLASSIFICATION} must be a positive integer "
                    f"(how many top classes), not {count!r}."
                )
        wanted.append((output.name, count))
    return wanted


def classification(rows: list[list[float]], labels: Sequence[str], count: int) -> dict[str, Any]:
    """The classification extension's answer: per image its top ``count`` classes, best first, as
    ``"<probability>:<index>:<label>"`` (the probability printed as Triton does, ``%f``)."""
    k = min(count, len(labels))
    data: list[str] = []
    for row in rows:
        best = sorted(range(len(row)), key=lambda j: row[j], reverse=True)[:k]
        data.extend(f"{row[j]:f}:{j}:{labels[j]}" for j in best)
    return {"name": PROBABILITIES, "datatype": "BYTES", "shape": [len(rows), k], "data": data}
