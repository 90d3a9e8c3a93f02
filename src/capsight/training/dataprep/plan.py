"""How many composites to make from each cut-out: balance material across the bottle classes.

The shared photos confound material with cap state (opened: 104 glass / 16 plastic; closed: 56
glass / 105 plastic), and a model learns "glass => opened". Composites are the one lever we
have, so they are spent where they cut that shortcut: one at a time, each goes to the
(label, material) group whose growth most reduces

    (gap in glass share between labels, real photos + composites)^2
  + (gap in glass share between labels, composites alone)^2      <- no "pasted + plastic" shortcut
  + 0.25 * (relative size gap between the bottle labels)^2
  + 0.002 * (mean squared repeats per cut-out)                    <- prefer new cut-outs

with no cut-out used more than ``max_per_item`` times. The budget is ``per_item`` times the number
of bottle cut-outs of known material. Other cut-outs (background items, unknown material) get
``per_item`` each on average, spread evenly, so a pasted look never signals "bottle".
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

Group = tuple[str, str]  # (label, material)
_PRIOR = 5.0


@dataclass(frozen=True)
class Candidate:
    key: str  # unique, e.g. the shared file "closed/x.jpg"
    label: str
    material: str | None


def max_repeats(per_item: float) -> int:
    return max(1, math.ceil(4 * per_item))


def _glass_share(counts: Mapping[Group, int], label: str) -> float:
    glass, plastic = counts.get((label, "glass"), 0), counts.get((label, "plastic"), 0)
    # A prior of a few glass and plastic items keeps one step from swinging an empty share 0.5 -> 1.
    return (glass + _PRIOR) / (glass + plastic + 2 * _PRIOR)


def _cost(real: Mapping[Group, int], added: Mapping[Group, int], sizes: Mapping[Group, int]) -> float:
    labels = sorted({label for label, _ in sizes})
    total = {g: real.get(g, 0) + added.get(g, 0) for g in set(real) | set(added)}
    overall = [_glass_share(total, label) for label in labels]
    synthetic = [_glass_share(added, label) for label in labels]
    label_sizes = [sum(v for (lab, _), v in total.items() if lab == label) for label in labels]
    size_gap = (max(label_sizes) - min(label_sizes)) / max(sum(label_sizes), 1)
    repeats = sum(added[g] ** 2 / sizes[g] for g in added if sizes.get(g)) / max(sum(added.values()), 1)
    return (
        (max(overall) - min(overall)) ** 2
        + (max(synthetic) - min(synthetic)) ** 2
        + 0.25 * size_gap**2
        + 0.002 * repeats
    )


def group_budget(
    real: Mapping[Group, int], sizes: Mapping[Group, int], budget: int, cap: int
) -> dict[Group, int]:
    """Composites per (label, material) group, greedily as described in the module docstring."""
    added = dict.fromkeys(sizes, 0)
    for _ in range(budget):
        best: tuple[float, Group] | None = None
        for group in sorted(sizes):
            if added[group] >= cap * sizes[group]:
                continue
            added[group] += 1
            cost = _cost(real, added, sizes)
            added[group] -= 1
            if best is None or cost < best[0] - 1e-12:
                best = (cost, group)
        if best is None:
            break
        added[best[1]] += 1
    return added


def _spread(keys: Sequence[str], count: int, rng: np.random.Generator) -> dict[str, int]:
    """``count`` composites over ``keys`` as evenly as possible; who gets the extra one is random."""
    if not keys:
        return {}
    base, extra = divmod(count, len(keys))
    lucky = set(rng.permutation(len(keys))[:extra].tolist())
    return {key: base + (1 if i in lucky else 0) for i, key in enumerate(keys)}


def plan_composites(
    candidates: Sequence[Candidate],
    real: Mapping[Group, int],
    per_item: float,
    rng: np.random.Generator,
) -> dict[str, int]:
    """Composites to make per candidate key (zero-count keys included)."""
    cap = max_repeats(per_item)
    bottle_labels = {label for label, _ in real}
    by_group: dict[Group, list[str]] = {}
    others: list[str] = []
    for item in sorted(candidates, key=lambda c: c.key):
        if item.material is not None and item.label in bottle_labels:
            by_group.setdefault((item.label, item.material), []).append(item.key)
        else:
            others.append(item.key)
    sizes = {group: len(keys) for group, keys in by_group.items()}
    budget = round(per_item * sum(sizes.values()))
    plan: dict[str, int] = {}
    if len({label for label, _ in sizes}) >= 2:
        for group, count in sorted(group_budget(real, sizes, budget, cap).items()):
            plan.update(_spread(by_group[group], count, rng))
    else:  # nothing to balance against: treat bottles like the rest
        others = sorted(others + [k for keys in by_group.values() for k in keys])
    plan.update(_spread(others, round(per_item * len(others)), rng))
    return plan


def real_counts(items: Sequence[Candidate]) -> dict[Group, int]:
    """(label, material) counts of real photos with a known material."""
    return dict(Counter((c.label, c.material) for c in items if c.material is not None))
