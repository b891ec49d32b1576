"""``priority-class``: a PriorityClass, and the pods that use it.

Named mistakes: a class of another value, a pod template naming a class that does not exist (the
API server refuses such pods: the ReplicaSet's FailedCreate event is quoted), pods created before
the template changed (a rollout not finished), and ``globalDefault`` set where it was not asked
(every new pod of the cluster would take it).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from labrunner.cluster import errors
from labrunner.lab.check_args import CheckArgs
from labrunner.lab.fields import KubeName, Labels
from labrunner.registry.types import CheckContext, CheckKind, Outcome
from labrunner.topics.basics.selectors import labels_text


class PriorityClassArgs(CheckArgs):
    """The PriorityClass ``name`` exists with ``value`` (and ``global_default`` as given); with
    ``labels`` and ``namespace``, the pods with those labels run at that priority
    (``spec.priorityClassName`` and the ``spec.priority`` the API server resolved)."""

    kind: Literal["priority-class"]
    name: KubeName
    value: int | None = None
    global_default: bool | None = None
    namespace: KubeName | None = None
    labels: Labels = Field(default_factory=dict)


def priority_class(args: PriorityClassArgs, context: CheckContext) -> Outcome:
    try:
        found = context.cluster.get("priorityclasses", args.name)
    except errors.NotFound:
        names = [c["metadata"]["name"] for c in context.cluster.list("priorityclasses")
                 if not c["metadata"]["name"].startswith("system-")]
        return "failed", f"PriorityClass {args.name} does not exist", [f"the cluster's own classes aside, there are: {', '.join(names) or 'none'}"]
    problems: list[str] = []
    if args.value is not None and found.get("value") != args.value:
        problems.append(f"PriorityClass {args.name} has value {found.get('value')}; this step wants {args.value} "
                        "(a class's value cannot be changed: delete it and create it again)")
    if args.global_default is not None and bool(found.get("globalDefault")) != args.global_default:
        problems.append(f"PriorityClass {args.name} has globalDefault: {bool(found.get('globalDefault'))}"
                        + ("; every new pod without a class would take it" if found.get("globalDefault") else ""))
    if args.labels and args.namespace:
        pods = [p for p in context.cluster.list("pods", args.namespace)
                if all(((p.get("metadata") or {}).get("labels") or {}).get(k) == v for k, v in args.labels.items())
                and not (p.get("metadata") or {}).get("deletionTimestamp")]
        if not pods:
            problems.append(f"no pod in {args.namespace} has labels {labels_text(args.labels)}")
        for pod in pods:
            spec = pod.get("spec") or {}
            if spec.get("priorityClassName") != args.name:
                problems.append(f"pod {pod['metadata']['name']} has priorityClassName {spec.get('priorityClassName') or '(none)'}"
                                + ("; pods take a class when they are created: let the rollout replace them" if not spec.get("priorityClassName") else ""))
                if len(problems) >= 3:
                    break
            elif spec.get("priority") != found.get("value"):
                problems.append(f"pod {pod['metadata']['name']} runs at priority {spec.get('priority')}, made before the class had "
                                f"value {found.get('value')}")
    if problems and args.labels and args.namespace and not any(line.startswith("the controller says") for line in problems):
        problems += _refused(context, args.namespace)
    if problems:
        return "failed", f"PriorityClass {args.name} is not used as this step asks", problems
    users = f", and the pods with {labels_text(args.labels)} use it" if args.labels else ""
    return "passed", f"PriorityClass {args.name} has value {found.get('value')}{users}", []


def _refused(context: CheckContext, namespace: str) -> list[str]:
    """A ReplicaSet's FailedCreate: a class the API server cannot find refuses the pods."""
    try:
        events = context.cluster.events(namespace)
    except errors.ClusterError:
        return []
    said = sorted((e for e in events if e.get("reason") == "FailedCreate" and "priority" in str(e.get("message")).lower()),
                  key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))
    if not said:
        return []
    owner = said[-1].get("involvedObject") or {}
    return [f"the controller says ({owner.get('kind', '')} {owner.get('name', '')}): {said[-1].get('message')}; the rollout "
            "cannot replace the pods until the class exists under that name"]


KINDS = (CheckKind(model=PriorityClassArgs, run=priority_class, watches=("priorityclasses", "pods")),)
