"""Root causes first: when a check finds several things wrong with one object, it says first
the one that causes the others, as an instructor would.

A check collects what it finds as :class:`Finding` values, each tagged with the kind of
:class:`Cause` it is, and :func:`root_first` orders them by an explicit order of causes:
a reference to an object that does not exist (a ServiceAccount, a claim, a ConfigMap or
Secret, an image) comes before a selector that picks no pods or the wrong ones, which comes
before a port where nothing listens, before pods no node takes, a container that crashes, a
probe that fails, and last the counts (replicas, endpoints, a rollout's progress) those leave
short. Within one cause, ``rank`` keeps the order Kubernetes meets things in (the
ServiceAccount admission before the scheduler's claim before the kubelet's volumes, image
and environment), so a pod whose image is misspelt and whose ConfigMap is missing is said
stuck on the image, as ``kubectl get pods`` shows it.

A thing is said once: findings ``about`` the same object (the pod template's missing Secret
and a pod's ``secret "x" not found``) keep only the first, and a sentence repeated by every
replica is said once. The check leads with the first finding's sentence, short (the object,
the field and the value), and keeps the rest as evidence (:func:`evidence`): the first
finding's own details (what the kubelet said, the fix), then the others.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import IntEnum


class Cause(IntEnum):
    """The order of causes: a lower one is said first (it is what causes the higher ones)."""

    MISSING = 10
    """A reference to an object that does not exist: ServiceAccount, claim, ConfigMap, Secret, image."""
    REFUSED = 20
    """The API server or a controller refused to make the pods (a quota, an admission plugin)."""
    SELECTOR = 30
    """A selector that picks no pod, or the wrong pods."""
    PORT = 40
    """A port, targetPort or probe port where nothing listens."""
    SCHEDULING = 50
    """Pods no node takes."""
    CRASH = 60
    """A container that exits (CrashLoopBackOff, an error exit)."""
    NOT_READY = 70
    """A container that runs but fails its readiness probe."""
    COUNT = 80
    """Replicas, endpoints, a rollout's progress: what the causes above leave short."""


@dataclass(frozen=True)
class Finding:
    """One thing wrong, said in the learner's terms (object, field, value)."""

    cause: Cause
    sentence: str
    details: tuple[str, ...] = ()
    """Evidence for this finding (said after its sentence, before other findings)."""
    rank: int = 0
    """Order within one cause: the order Kubernetes meets things in (lower first)."""
    about: str = ""
    """The object it is about (``secret/mysql-root``): one finding per object is said."""
    whole: bool = field(default=False, compare=False)
    """About every pod of a workload (its pod template), not one pod."""
    aside: str = field(default="", compare=False)
    """How it is said after another finding leads (``its pods also read ...``), or alone with its
    details folded in; the sentence when empty."""


_NOT_FOUND = re.compile(r'\b(secret|configmap|persistentvolumeclaim|serviceaccount)s? "([^"]+)" not found')


def about_in(message: str) -> str:
    """The object a Kubernetes message says is missing (``secret "x" not found`` is
    ``secret/x``; the scheduler's ``persistentvolumeclaim "data" not found``, the kubelet's
    ``configmap "page" not found``, the ServiceAccount admission's ``serviceaccount "sa" not
    found``), or ``""``."""
    match = _NOT_FOUND.search(message)
    return f"{match.group(1)}/{match.group(2)}" if match else ""


def root_first(findings: Iterable[Finding]) -> list[Finding]:
    """The findings, the cause of the others first (by cause, then rank, then as found), each
    object and each sentence said once: a later finding about an object already said becomes
    evidence of the first (the pod template's missing Secret keeps the kubelet's ``pod web-1:
    secret "x" not found`` among its details, once)."""
    ordered = sorted(findings, key=lambda f: (f.cause, f.rank))
    said: set[str] = set()
    kept: list[Finding] = []
    by_object: dict[str, int] = {}
    folded: set[str] = set()
    for finding in ordered:
        if finding.sentence in said:
            continue
        said.add(finding.sentence)
        if finding.about and finding.about in by_object:
            if finding.about not in folded:
                folded.add(finding.about)
                index = by_object[finding.about]
                kept[index] = replace(kept[index], details=(*kept[index].details, finding.sentence))
            continue
        if finding.about:
            by_object[finding.about] = len(kept)
        kept.append(finding)
    return kept


def evidence(ordered: Sequence[Finding], then: Sequence[str] = ()) -> list[str]:
    """What follows the first finding's sentence: its own details, then ``then`` (the state of
    the object it explains: a rollout's progress), then each other finding."""
    if not ordered:
        return [*then]
    first, *rest = ordered
    return [*first.details, *then, *(f.aside or f.sentence for f in rest)]
