"""``logs-saved``: a file on the learner's disk holds a container's log, as ``kubectl logs``
printed it (with or without ``--timestamps``). A wrong file is named by where its lines come
from: another container of the pod (no ``-c``: the default container), the container's
previous run (``--previous``), every container at once, ``kubectl describe``, or only the
log's end (``--tail``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from labrunner.cluster import errors
from labrunner.lab.check_args import CheckArgs
from labrunner.lab.fields import KubeName, Labels, NonEmptyStr
from labrunner.registry.types import CheckContext, CheckKind, Outcome
from labrunner.topics.basics.selectors import labels_text
from labrunner.topics.troubleshooting.common import Obj, quoted, read_learner_file, without_timestamp

DEFAULT_CONTAINER = "kubectl.kubernetes.io/default-container"


class LogsSaved(CheckArgs):
    """The file ``file`` holds the log of the container ``container`` of the pod labelled
    ``labels`` in ``namespace``: its current run's (``previous``: its last finished run's), from
    its first line."""

    kind: Literal["logs-saved"]
    file: NonEmptyStr
    """``~`` expanded; relative paths from where labrunner runs."""
    namespace: KubeName
    labels: Labels
    container: KubeName
    previous: bool = False


def _log(context: CheckContext, pod: str, namespace: str, container: str, previous: bool) -> list[str]:
    try:
        text = context.cluster.logs(pod, namespace, container=container, previous=previous)
    except errors.ClusterError:
        return []
    return text.splitlines()


def _run_of(saved: Sequence[str], log: Sequence[str]) -> int | None:
    """Where ``saved`` sits in ``log`` as one unbroken run of lines, or None."""
    if not saved or len(saved) > len(log):
        return None
    first = saved[0]
    for start in (i for i, line in enumerate(log) if line == first):
        if list(log[start:start + len(saved)]) == list(saved):
            return start
    return None


def _default_container(pod: Mapping[str, Any]) -> str:
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    names = [str(c.get("name")) for c in (pod.get("spec") or {}).get("containers") or []]
    return str(annotations.get(DEFAULT_CONTAINER) or (names[0] if names else ""))


def _which(saved: list[str], pod: Obj, namespace: str, args: LogsSaved, context: CheckContext) -> tuple[str, list[str]] | None:
    """Where the saved lines come from, said as the mistake it is (a clause after the file's name,
    and the details); None when they are the log asked for."""
    name = pod["metadata"]["name"]
    wanted = f"{'the previous run of ' if args.previous else ''}container {args.container} of pod {name}"
    log = _log(context, name, namespace, args.container, args.previous)
    start = _run_of(saved, log)
    if start == 0:
        return None
    if start is not None:
        return f"starts at line {start + 1} of container {args.container}'s log, not at its first line", [
            f"the file's first line: {quoted(saved[0])}; the first line of the log of {wanted}: {quoted(log[0])}",
            "save the whole log, without --tail or --since"]
    other_run = _log(context, name, namespace, args.container, not args.previous)
    if _run_of(saved, other_run) is not None:
        if args.previous:
            return f"holds container {args.container}'s run going on now, not its previous run", [
                "this step wants the log of the run that ended (kubectl logs --previous)"]
        return f"holds container {args.container}'s previous run (kubectl logs --previous), not the run going on now", [
            f"the file holds the log of the run of container {args.container} of pod {name} that ended; this step wants the log of "
            "the run going on now"]
    containers = [str(c.get("name")) for c in (pod.get("spec") or {}).get("containers") or []]
    containers += [str(c.get("name")) for c in (pod.get("spec") or {}).get("initContainers") or []]
    own = set(log) | set(other_run)
    for other in (c for c in containers if c != args.container):
        theirs = _log(context, name, namespace, other, args.previous)
        if _run_of(saved, theirs) is not None:
            default = [f"kubectl logs without -c reads the pod's default container, {other}; -c {args.container} reads "
                       f"{args.container}'s"] if other == _default_container(pod) else []
            return f"holds the log of container {other}, not {args.container}", default
        if set(saved) & set(theirs) and set(saved) & own:
            return f"mixes the logs of containers {args.container} and {other} (kubectl logs --all-containers)", [
                f"this step wants {args.container}'s alone"]
    if any(line.startswith(("Name:", "Namespace:")) for line in saved[:3]) and any(line.startswith("Events:") for line in saved):
        return "holds kubectl describe's output, not the container's own log lines (kubectl logs)", []
    foreign = next((line for line in saved if line not in own), saved[0])
    return f"is not the log of {wanted}", [f"the container never printed {quoted(foreign)}"]


def logs_saved(args: LogsSaved, context: CheckContext) -> Outcome:
    cluster, namespace = context.cluster, args.namespace
    saved_file = read_learner_file(args.file)
    if saved_file.text is None:
        return "failed", saved_file.problem, []
    saved = [without_timestamp(line) for line in saved_file.lines]
    while saved and not saved[-1].strip():
        saved.pop()
    if not saved:
        return "failed", f"{saved_file.shown} is empty", []
    pods = [p for p in cluster.list("pods", namespace, labels=labels_text(args.labels))
            if (p.get("status") or {}).get("phase") in ("Running", "Pending", "Succeeded", "Failed")]
    if not pods:
        return "failed", f"no pod labelled {labels_text(args.labels)} is left in {namespace} to compare {saved_file.shown} with", []
    said: tuple[str, list[str]] | None = None
    for pod in pods:
        if not any(c.get("name") == args.container for c in (pod.get("spec") or {}).get("containers") or []) and \
                not any(c.get("name") == args.container for c in (pod.get("spec") or {}).get("initContainers") or []):
            continue
        problem = _which(saved, pod, namespace, args, context)
        if problem is None:
            run = "previous run" if args.previous else "log"
            return "passed", f"{saved_file.shown} holds the {run} of container {args.container} of pod {pod['metadata']['name']} ({len(saved)} lines)", []
        said = said or problem
    if said is None:
        return "failed", f"no pod labelled {labels_text(args.labels)} in {namespace} has a container {args.container}", []
    return "failed", f"{saved_file.shown} {said[0]}", said[1]


KINDS = (CheckKind(model=LogsSaved, run=logs_saved, watches=("pods",), polled=True),)
