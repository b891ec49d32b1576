"""Drawing an attempt: which tasks, and each task's names, from one seed.

The same seed draws the same tasks with the same names, so an attempt can be replayed
(a grader, a bug report); another seed draws other names, so answers cannot be
memorised. Every value comes from a ``random.Random`` seeded with the attempt's seed and
what is being drawn, never from the global generator.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from labrunner.lab.domains import DOMAINS
from labrunner.lab.model import Draw

WORDS = ("amber", "aspen", "basil", "birch", "cedar", "cobalt", "coral", "delta", "ember", "fable", "fjord", "flint",
         "garnet", "harbor", "hazel", "indigo", "iris", "jasper", "juniper", "kestrel", "larch", "lumen", "maple",
         "meadow", "nectar", "nimbus", "onyx", "orchid", "pebble", "pine", "quartz", "quill", "raven", "rowan",
         "saffron", "sable", "slate", "spruce", "tansy", "thistle", "topaz", "umber", "vale", "willow", "yarrow", "zephyr")
"""Neutral words for names: no product, team or exam vocabulary a candidate could key on."""

TOKEN = re.compile(r"\{(word|hex4|hex6)\}")


def pattern_problem(pattern: str) -> str | None:
    """What is wrong with a draw pattern, or None."""
    unknown = [token for token in re.findall(r"\{([^{}]*)\}", pattern) if token not in ("word", "hex4", "hex6")]
    if unknown:
        return f"unknown token {{{unknown[0]}}} in pattern {pattern!r}; a pattern may use {{word}}, {{hex4}} and {{hex6}}"
    if not TOKEN.search(pattern):
        return f"pattern {pattern!r} draws nothing: use {{word}}, {{hex4}} or {{hex6}} (or give choices)"
    return None


def draw_value(spec: Draw, generator: random.Random) -> str:
    if spec.choices:
        return generator.choice(spec.choices)
    assert spec.pattern is not None

    def token(match: re.Match[str]) -> str:
        kind = match.group(1)
        if kind == "word":
            return generator.choice(WORDS)
        return "".join(generator.choice("0123456789abcdef") for _ in range(int(kind[3:])))

    return TOKEN.sub(token, spec.pattern)


def draw_parameters(task_id: str, draws: Mapping[str, Draw], seed: int) -> dict[str, str]:
    """This attempt's value of each drawn parameter of one task."""
    generator = random.Random(f"{seed}:{task_id}")
    return {name: draw_value(spec, generator) for name, spec in sorted(draws.items())}


@dataclass(frozen=True)
class Candidate:
    """A task the draw may choose: its id, domain and whether the cluster can run it."""

    id: str
    domain: str


@dataclass(frozen=True)
class Drawn:
    ids: tuple[str, ...]
    """The chosen tasks, in exam order (heaviest domain first, as the exam interleaves nothing)."""
    missing_weight: Mapping[str, int]
    """Per domain, the per cent of the exam's weight this draw could not honour (too few tasks
    this cluster can run in it)."""


def draw_tasks(candidates: Sequence[Candidate], count: int, seed: int, domains: Sequence[str] = ()) -> Drawn:
    """``count`` tasks stratified by the curriculum's domain weights (largest remainders),
    among ``candidates`` (those the cluster can run), limited to ``domains`` when given. A
    domain with too few tasks gives its places to the others, and its unmet weight is said."""
    generator = random.Random(f"{seed}:draw")
    wanted = [domain for domain in DOMAINS if not domains or domain.id in domains]
    total_weight = sum(domain.weight for domain in wanted)
    pools = {domain.id: sorted(c.id for c in candidates if c.domain == domain.id) for domain in wanted}
    for pool in pools.values():
        generator.shuffle(pool)
    shares = {domain.id: count * domain.weight / total_weight for domain in wanted}
    quota = {domain: int(share) for domain, share in shares.items()}
    for domain in sorted(shares, key=lambda d: (-(shares[d] - quota[d]), d))[: count - sum(quota.values())]:
        quota[domain] += 1
    chosen = {domain: pools[domain][: quota[domain]] for domain in quota}
    missing = {domain: quota[domain] - len(chosen[domain]) for domain in quota if len(chosen[domain]) < quota[domain]}
    spare = count - sum(len(ids) for ids in chosen.values())
    for domain in sorted(pools, key=lambda d: -shares[d]):  # places left go to the heaviest domains with tasks to spare
        extra = pools[domain][len(chosen[domain]): len(chosen[domain]) + spare]
        chosen[domain] += extra
        spare -= len(extra)
    weights = {domain.id: domain.weight for domain in wanted}
    missing_weight = {domain: round(weights[domain] * 100 / total_weight * places / quota[domain]) for domain, places in missing.items()}
    return Drawn(tuple(task for domain in wanted for task in chosen[domain.id]), missing_weight)
