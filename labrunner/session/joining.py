"""A learner joining a workshop: their kubeconfig context says so (its ``labrunner.dev/workshop``
extension, written by ``labrunner workshop kubeconfigs``), and labrunner then runs the workshop's
lab with the learner's own namespaces and publishes their progress into the cluster beside the
local record, with no flag to remember."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from labrunner.cluster.port import ClusterPort
from labrunner.session.progress import FanOut, ProgressStore
from labrunner.workshop.kubeconfigs import WorkshopContext, workshop_context


def workshop_of(files: Sequence[Path], context: str | None) -> WorkshopContext | None:
    """The workshop the context belongs to; None for any other context (or unreadable files)."""
    try:
        return workshop_context(files, context)
    except (OSError, ValueError):
        return None


def workshop_for_kubeconfig(kubeconfig: Path | None, context: str | None) -> WorkshopContext | None:
    """The same, from the kubeconfig kubectl would read (``--kubeconfig``, ``KUBECONFIG``, ~/.kube/config),
    without opening the cluster: ``labrunner hint`` and ``status`` key progress by it."""
    from labrunner.cluster.kubeconfig import kubeconfig_files

    files, _ = kubeconfig_files({**os.environ, "KUBECONFIG": str(kubeconfig)} if kubeconfig else None)
    return workshop_of([path for path in files if path.is_file()], context)


def parameters_for(workshop: WorkshopContext | None, lab_id: str, given: Mapping[str, str]) -> dict[str, str]:
    """The lab's parameters: the learner's from the workshop when it runs this lab, then those
    given on the command line (which win)."""
    if workshop is None or workshop.lab != lab_id:
        return dict(given)
    return {**workshop.parameters, **given}


@dataclass
class Joined:
    workshop: WorkshopContext
    store: ProgressStore
    """The learner's record in the cluster (a ClusterProgressStore); close it to publish what is queued."""
    progress: ProgressStore
    """The local store and the cluster's, written together, read from the local one."""


def join(workshop: WorkshopContext, cluster: ClusterPort, local: ProgressStore) -> Joined:
    from labrunner.workshop.store import ClusterProgressStore

    store = ClusterProgressStore(cluster, workshop.workshop, workshop.learner)
    return Joined(workshop, store, FanOut(local, store))
