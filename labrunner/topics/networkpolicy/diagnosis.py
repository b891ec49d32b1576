"""Why the learner's policies do not mean what the step asks, said as an instructor would:
the policy, the field and its value, the line in their file, what the step wanted.

In order: an obsolete annotation standing in for a policy, fields the API server dropped
(a mis-indented manifest applied with ``--validate=false``), then the parts the meaning-diff
blames (:mod:`pinpoint`). The connections that differ follow as evidence, from the check.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from labrunner import yamlsource
from labrunner.cluster import errors
from labrunner.cluster.port import ClusterPort
from labrunner.topics.networkpolicy import manifests
from labrunner.topics.networkpolicy.model import Cluster, Policy

_PEER_KEYS = ("podSelector", "namespaceSelector", "ipBlock")
JUDGING_SECONDS = 4.0
"""How long the search for the field responsible may take on a very large cluster; what it
found by then is said (the connections are always said)."""


def diagnose(cluster: ClusterPort, namespace: str, world: Cluster, objects: Sequence[Mapping[str, Any]],
             mine: Sequence[Policy], reference: Sequence[Policy]) -> list[str]:
    """Sentences, the cause first; empty when nothing more precise than the connections can be said."""
    from labrunner.topics.networkpolicy.lint import OBSOLETE_ANNOTATION
    from labrunner.topics.networkpolicy.pinpoint import judge_of, pinpoint

    said: list[str] = []
    try:
        annotations = (cluster.get("namespaces", namespace).get("metadata") or {}).get("annotations") or {}
    except errors.ClusterError:
        annotations = {}
    weave = None
    if OBSOLETE_ANNOTATION in annotations:
        weave = (f"{namespace}'s annotation {OBSOLETE_ANNOTATION} (Weave's pre-v1 DefaultDeny) isolates nothing today: "
                    "write a NetworkPolicy instead")
        if not mine:  # standing in for a policy; beside the learner's policies it is only a remark
            said.append(weave)
    declared: dict[str, dict[str, Any]] = {}
    by_name = {policy.name: policy for policy in mine}
    for obj in objects:
        name = str((obj.get("metadata") or {}).get("name"))
        manifest = manifests.declared(obj)
        if manifest is None:
            continue
        declared[name] = manifest
        for path in manifests.dropped(manifest)[:1]:
            said.append(_dropped(name, path, by_name.get(name)))
    files: dict[str, manifests.LearnerFile | None] = {}

    def at(policy_name: str, path: tuple[str | int, ...]) -> str:
        if policy_name not in files:
            policy = by_name.get(policy_name)
            files[policy_name] = manifests.learner_file(policy, Path.cwd()) if policy is not None else None
        found = files[policy_name]
        return found.at(path) if found is not None and path else ""

    judge = judge_of(world, reference, JUDGING_SECONDS)

    for culprit in pinpoint(world, mine, reference, judge, declared=declared):
        said.append(culprit.sentence(at(culprit.policy, culprit.path)))
    if weave is not None and mine:
        said.append(weave)
    return said


def _dropped(name: str, path: tuple[str | int, ...], stored: Policy | None) -> str:
    shown = yamlsource.format_path(path)
    if len(path) == 4 and path[0] == "spec" and path[1] in ("ingress", "egress") and isinstance(path[2], int) and path[3] in _PEER_KEYS:
        direction, index = str(path[1]), path[2]
        rules = stored.rules(direction) if stored is not None else ()  # type: ignore[arg-type]
        empty = index < len(rules) and not rules[index].peers and not rules[index].ports
        return (f"{name} lost {shown}: not a field of an {direction} rule (mis-indented; --validate=false let it through)"
                + (f", so rule {index + 1} is {{}} and admits everyone" if empty else ""))
    return f"{name} lost {shown}: the API server dropped it, not a field there (--validate=false let it through)"
