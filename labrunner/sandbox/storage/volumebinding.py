"""kube-scheduler's VolumeBinding plugin (pkg/scheduler/framework/plugins/volumebinding and the PV
controller's scheduler_binder.go), as pure functions over the API's dicts.

- **PreFilter**: every claim the pod's volumes name must exist and not be being deleted
  (``persistentvolumeclaim "data" not found``, ``... is being deleted``), and none of an
  Immediate class may still be unbound (``pod has unbound immediate PersistentVolumeClaims``):
  those fail the pod on every node at once.
- **Filter**, per node: a bound claim's volume must exist and its node affinity hold for the node
  (``node(s) had volume node affinity conflict``, ``node(s) unavailable due to one or more pvc(s)
  bound to non-existent pv(s)``); each unbound WaitForFirstConsumer claim needs an Available
  volume that node can reach, or a class that can provision one there (not
  ``kubernetes.io/no-provisioner``, its allowedTopologies matching the node): else ``node(s)
  didn't find available persistent volumes to bind``.
- **PreBind** (:func:`bindings`): on the node chosen, each such claim is bound to the volume
  found for it (the volume's ``claimRef``) or handed to its provisioner with
  ``volume.kubernetes.io/selected-node``; the pod is bound to the node only once all its claims
  are bound.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from labrunner.sandbox.storage import binding
from labrunner.sandbox.storage.objects import claim_class

NAME = "VolumeBinding"
NO_PROVISIONER = "kubernetes.io/no-provisioner"
SELECTED_NODE = "volume.kubernetes.io/selected-node"
BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind"
NODE_CONFLICT = "node(s) had volume node affinity conflict"
PV_NOT_EXIST = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)"
UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"

Obj = Mapping[str, Any]


@dataclass(frozen=True)
class Storage:
    """What the plugin reads of the cluster: claims by (namespace, name), volumes, classes by name."""
    claims: Mapping[tuple[str, str], Obj] = field(default_factory=dict)
    volumes: Sequence[Obj] = ()
    classes: Mapping[str, Obj] = field(default_factory=dict)

    def volume(self, name: str) -> Obj | None:
        return next((v for v in self.volumes if (v.get("metadata") or {}).get("name") == name), None)


@dataclass(frozen=True)
class Binding:
    """One PreBind step: bind ``claim`` to ``volume`` (a name), or, with no volume, ask for one on ``node``."""
    claim: Obj
    volume: str | None
    node: str


def claim_names(pod: Obj) -> list[str]:
    """The claims the pod's volumes name, in order, each once."""
    names: list[str] = []
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        name = (volume.get("persistentVolumeClaim") or {}).get("claimName")
        if name and name not in names:
            names.append(str(name))
    return names


def _claims(pod: Obj, storage: Storage) -> list[Obj]:
    namespace = str((pod.get("metadata") or {}).get("namespace") or "default")
    return [c for name in claim_names(pod) if (c := storage.claims.get((namespace, name))) is not None]


def _delayed(claim: Obj, storage: Storage) -> bool:
    found = storage.classes.get(claim_class(claim))
    return found is not None and found.get("volumeBindingMode") == "WaitForFirstConsumer"


def _unbound(claim: Obj) -> bool:
    return not (claim.get("spec") or {}).get("volumeName")


def pre_filter(pod: Obj, storage: Storage) -> str | None:
    """PreFilter: the message that makes the pod unschedulable on every node, or None."""
    namespace = str((pod.get("metadata") or {}).get("namespace") or "default")
    for name in claim_names(pod):
        claim = storage.claims.get((namespace, name))
        if claim is None:
            return f'persistentvolumeclaim "{name}" not found'
        if (claim.get("metadata") or {}).get("deletionTimestamp"):
            return f'persistentvolumeclaim "{name}" is being deleted'
    if any(_unbound(c) and not _delayed(c, storage) for c in _claims(pod, storage)):
        return UNBOUND_IMMEDIATE
    return None


def _topology_allows(found: Obj, node: Obj) -> bool:
    """MatchTopologySelectorTerms: a class's allowedTopologies (none: every node)."""
    terms = found.get("allowedTopologies") or []
    if not terms:
        return True
    labels = (node.get("metadata") or {}).get("labels") or {}
    return any(all(labels.get(e.get("key")) in (e.get("values") or []) for e in term.get("matchLabelExpressions") or []) for term in terms)


def plan(pod: Obj, node: Obj, storage: Storage) -> tuple[list[str], list[Binding]]:
    """FindPodVolumes for one node: the reasons it cannot take the pod (none: it can), and the
    bindings PreBind would make there."""
    reasons: list[str] = []
    steps: list[Binding] = []
    node_name = str((node.get("metadata") or {}).get("name", ""))
    chosen: set[str] = set()
    for claim in _claims(pod, storage):
        if not _unbound(claim):
            volume = storage.volume(str(claim["spec"]["volumeName"]))
            if volume is None:
                reasons.append(PV_NOT_EXIST)
            elif not binding.node_affinity_allows(volume, node):
                reasons.append(NODE_CONFLICT)
            continue
        if not _delayed(claim, storage):
            continue  # PreFilter turned these away
        selected = ((claim.get("metadata") or {}).get("annotations") or {}).get(SELECTED_NODE)
        if selected:  # already being provisioned: for this node only
            if selected == node_name:
                steps.append(Binding(claim, None, node_name))
            else:
                reasons.append(BIND_CONFLICT)
            continue
        free = [v for v in storage.volumes if (v.get("metadata") or {}).get("name") not in chosen]
        found = binding.best_match(claim, free, delay_binding=True, node=node)
        if found is not None:
            chosen.add(str(found["metadata"]["name"]))
            steps.append(Binding(claim, str(found["metadata"]["name"]), node_name))
            continue
        cls = storage.classes.get(claim_class(claim)) or {}
        provisioner = str(cls.get("provisioner") or "")
        if not provisioner or provisioner == NO_PROVISIONER or not _topology_allows(cls, node):
            reasons.append(BIND_CONFLICT)
            continue
        steps.append(Binding(claim, None, node_name))
    return list(dict.fromkeys(reasons)), steps


def filter_reasons(pod: Obj, node: Obj, storage: Storage) -> list[str]:
    """Filter: why the node cannot take the pod's volumes (empty: it can)."""
    return plan(pod, node, storage)[0]


def bindings(pod: Obj, node: Obj, storage: Storage) -> list[Binding]:
    """PreBind's steps on the chosen node."""
    return plan(pod, node, storage)[1]


def all_bound(pod: Obj, storage: Storage) -> bool:
    """Whether every claim of the pod is bound (PreBind waits for this before the pod is bound)."""
    return all(not _unbound(claim) for claim in _claims(pod, storage))


# -- the plugin, as the scheduling framework runs it ----------------------------------------------


def _storage_of(cycle: Any) -> Storage:
    found = cycle.snapshot.extras.get(NAME)
    return found if isinstance(found, Storage) else Storage()


def framework_pre_filter(cycle: Any) -> Any:
    """PreFilter: a Status failing the pod on every node, or None (every node is worth filtering)."""
    from labrunner.sandbox.scheduling.framework import UNRESOLVABLE, Status

    if not claim_names(cycle.pod):
        return None
    problem = pre_filter(cycle.pod, _storage_of(cycle))
    return None if problem is None else Status(UNRESOLVABLE, (problem,), NAME)


def framework_filter(cycle: Any, node: Any) -> Any:
    from labrunner.sandbox.scheduling.framework import UNRESOLVABLE, Status

    if not claim_names(cycle.pod):
        return None
    reasons = filter_reasons(cycle.pod, node.node, _storage_of(cycle))
    return Status(UNRESOLVABLE, tuple(reasons), NAME) if reasons else None
