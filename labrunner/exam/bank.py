"""The task bank: exam tasks found on the search path, their summaries, and a task loaded
with one attempt's drawn names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from labrunner import paths
from labrunner.exam.draw import draw_parameters
from labrunner.lab.catalog import LabEntry, discover
from labrunner.lab.domains import primary_domain
from labrunner.lab.model import Lab
from labrunner.lab.problems import LabInvalid, Problem

RUNS_ON = {
    "sandbox": ("sandbox",),
    "kind": ("sandbox", "cluster", "node"),   # `docker exec` reaches a kind node
    "minikube": ("sandbox", "cluster", "node"),  # `minikube ssh`
    "k3d": ("sandbox", "cluster", "node"),
    "other": ("sandbox", "cluster"),
}
"""Which task runtimes each kind of cluster can run: the sandbox simulates no node's disk or
kubelet, and labrunner cannot tell how to reach another cluster's nodes."""


@dataclass(frozen=True)
class TaskSummary:
    id: str
    title: str
    domain: str
    points: int
    runtime: str
    legacy: bool
    directory: Path

    def as_json(self) -> dict[str, object]:
        return {"id": self.id, "title": self.title, "domain": self.domain, "points": self.points,
                "runtime": self.runtime, "legacy": self.legacy}


def entries() -> list[LabEntry]:
    return discover(paths.exam_roots())


def load_task(directory: Path, parameters: Mapping[str, str] | None = None) -> Lab:
    """The task, with ``parameters`` (an attempt's draw) instead of its defaults.

    Raises:
        LabInvalid: the file is broken, or it has no ``exam:`` section.
    """
    from labrunner.lab.loader import load_lab

    task = load_lab(directory, dict(parameters or {}))
    if task.exam is None:
        where = task.directory / "lab.yaml"
        raise LabInvalid([Problem(path=where, line=1, column=1, field="exam",
                                  message="an exam task needs an 'exam:' section (runtime, sub-tasks with points); this is a lab")])
    return task


def summary(task: Lab) -> TaskSummary:
    assert task.exam is not None
    domain = primary_domain(task.tags)
    return TaskSummary(task.id, task.title, domain.id if domain else task.tags[0], task.exam.points, task.exam.runtime,
                       task.exam.legacy, task.directory)


def bank() -> tuple[list[TaskSummary], list[LabInvalid]]:
    """Every task's summary, and the problems of those that could not be loaded."""
    found, broken = [], []
    for entry in entries():
        try:
            found.append(summary(load_task(entry.directory)))
        except LabInvalid as invalid:
            broken.append(invalid)
    return found, broken


def drawn(task: TaskSummary | Lab, seed: int) -> Lab:
    """The task as this seed draws it: its drawn parameters filled in everywhere."""
    directory = task.directory
    defaults = load_task(directory)
    assert defaults.exam is not None
    return load_task(directory, draw_parameters(defaults.id, defaults.exam.draw, seed))
