"""``claim-bound`` and ``claim-waits``: a PersistentVolumeClaim bound as the step asks, or waiting
for its first consumer as it should.

A claim that is not bound is explained the way the PV controller decides (pv_controller.go's
findBestMatchForClaim): its class (none, one that does not exist, one that waits for a consumer),
then every volume of that class that could have taken it and why it did not (too small, an access
mode it lacks, another volumeMode, a selector's label, a claimRef to another claim, Released and
still holding the deleted claim's uid). The controller's latest event is quoted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from labrunner.checks.nearmiss import similar
from labrunner.cluster import errors
from labrunner.lab.check_args import CheckArgs
from labrunner.lab.fields import KubeName, NonEmptyStr
from labrunner.registry.types import CheckContext, CheckKind, Outcome
from labrunner.sandbox.quantity import parse
from labrunner.topics.basics.selectors import labels_text, selector_text

DEFAULT_ANNOTATIONS = ("storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class")
AccessMode = Literal["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"]
NO_CLASS = '"" (none)'
NO_PROVISIONER = "kubernetes.io/no-provisioner"
_FREE = """kubectl patch pv {name} --type=json -p '[{{"op":"remove","path":"/spec/claimRef"}}]'"""


class ClaimBound(CheckArgs):
    """The PersistentVolumeClaim ``name`` in ``namespace`` is Bound; with ``storage_class``, of that
    class; with ``capacity``, to a volume of at least that size; with ``access_modes``, offering
    them; with ``volume``, to that PersistentVolume."""

    kind: Literal["claim-bound"]
    namespace: KubeName
    name: KubeName
    storage_class: KubeName | None = None
    capacity: NonEmptyStr | None = None
    access_modes: list[AccessMode] = Field(default_factory=list)
    volume: KubeName | None = None


class ClaimWaits(CheckArgs):
    """The PersistentVolumeClaim ``name`` in ``namespace`` is Pending because its class binds on
    the first consumer (volumeBindingMode WaitForFirstConsumer) and no pod uses it yet: the state
    to leave as it is."""

    kind: Literal["claim-waits"]
    namespace: KubeName
    name: KubeName


Obj = dict[str, Any]


def _size(value: Any) -> int | None:
    try:
        return int(parse(value).value)
    except (ValueError, TypeError):
        return None


def default_classes(classes: list[Obj]) -> list[Obj]:
    return [c for c in classes if any(((c.get("metadata") or {}).get("annotations") or {}).get(a) == "true" for a in DEFAULT_ANNOTATIONS)]


def _find_claim(context: CheckContext, namespace: str, name: str) -> tuple[Obj | None, str, list[str]]:
    """The claim; or the sentence saying it is absent (what exists instead: the near miss) and the
    other claims of the namespace."""
    try:
        return context.cluster.get("persistentvolumeclaims", name, namespace), "", []
    except errors.NotFound:
        pass
    said = context.near_object("persistentvolumeclaims", name, namespace)
    if said:
        return None, said, []
    try:
        here = sorted(c["metadata"]["name"] for c in context.cluster.list("persistentvolumeclaims", namespace))
    except errors.ClusterError:
        here = []
    return None, f"PersistentVolumeClaim {name} does not exist in {namespace}", [f"there is a claim {n} in {namespace}" for n in here[:3]]


def _recency(event: Mapping[str, Any]) -> tuple[str, bool, int]:
    """Newest first by time; within a second, a Warning over a Normal, then the later write."""
    version = str((event.get("metadata") or {}).get("resourceVersion") or "")
    return (str(event.get("lastTimestamp") or event.get("eventTime") or ""), event.get("type") == "Warning",
            int(version) if version.isdigit() else 0)


def _latest_event(context: CheckContext, claim: Mapping[str, Any]) -> str:
    try:
        events = context.cluster.events(claim["metadata"]["namespace"], involved=claim["metadata"]["name"])
    except errors.ClusterError:
        return ""
    uid = (claim.get("metadata") or {}).get("uid")
    mine = [e for e in events if (e.get("involvedObject") or {}).get("kind") in (None, "PersistentVolumeClaim")
            and (not uid or (e.get("involvedObject") or {}).get("uid") in (None, uid))]  # not a deleted namesake's
    if not mine:
        return ""
    last = max(mine, key=_recency)
    return f"the cluster says ({last.get('reason')}): {last.get('message')}"


def _volume_misses(claim: Mapping[str, Any], volume: Mapping[str, Any], class_name: str) -> str:
    """Why ``volume`` could not take ``claim`` ("" when it could)."""
    spec, claim_spec = volume.get("spec") or {}, claim.get("spec") or {}
    name = volume["metadata"]["name"]
    phase = (volume.get("status") or {}).get("phase")
    ref = spec.get("claimRef") or {}
    if ref and (ref.get("name") != claim["metadata"]["name"] or ref.get("namespace") != claim["metadata"]["namespace"]):
        held = f"PersistentVolume {name} is reserved for claim {ref.get('namespace')}/{ref.get('name')} (spec.claimRef)"
        if phase == "Released":
            return (f"{held}: it is Released, still holding that deleted claim; remove the claimRef to make it Available "
                    f"({_FREE.format(name=name)})")
        return held
    if ref and ref.get("uid") and ref.get("uid") != claim["metadata"].get("uid"):
        return (f"PersistentVolume {name} is {phase}: its claimRef still holds the uid of a deleted claim of that name; "
                f"remove spec.claimRef ({_FREE.format(name=name)}) to make it Available")
    if (spec.get("storageClassName") or "") != class_name:
        has_class = spec.get("storageClassName") or '""'
        return f"PersistentVolume {name} has storageClassName {has_class}, the claim's class is {class_name or NO_CLASS}"
    wanted = _size(((claim_spec.get("resources") or {}).get("requests") or {}).get("storage"))
    has = _size((spec.get("capacity") or {}).get("storage"))
    if wanted is not None and has is not None and has < wanted:
        return (f"PersistentVolume {name} holds {(spec.get('capacity') or {}).get('storage')}, less than the claim's request of "
                f"{((claim_spec.get('resources') or {}).get('requests') or {}).get('storage')}")
    missing = [m for m in claim_spec.get("accessModes") or () if m not in (spec.get("accessModes") or ())]
    if missing:
        return (f"PersistentVolume {name} offers {', '.join(spec.get('accessModes') or ()) or 'no access mode'}, not "
                f"{', '.join(missing)}")
    if (spec.get("volumeMode") or "Filesystem") != (claim_spec.get("volumeMode") or "Filesystem"):
        return f"PersistentVolume {name} has volumeMode {spec.get('volumeMode')}, the claim {claim_spec.get('volumeMode')}"
    selector = claim_spec.get("selector") or {}
    labels = (volume.get("metadata") or {}).get("labels") or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return f"the claim's selector {selector_text(selector)} does not match PersistentVolume {name}'s labels ({labels_text(labels) or 'none'})"
    return ""


def why_unbound(context: CheckContext, claim: Obj) -> list[str]:
    spec = claim.get("spec") or {}
    classes = context.cluster.list("storageclasses")
    by_name = {c["metadata"]["name"]: c for c in classes}
    requested = spec.get("storageClassName")
    lines: list[str] = []
    if requested is None:
        defaults = default_classes(classes)
        lines.append("the claim names no storageClassName and the cluster has no default StorageClass" if not defaults else
                     f"the claim names no storageClassName: the default class {defaults[-1]['metadata']['name']} applies")
        class_name = defaults[-1]["metadata"]["name"] if defaults else ""
    else:
        class_name = str(requested)
        if class_name and class_name not in by_name:
            near = similar(class_name, sorted(by_name), cutoff=0.6)
            lines.append(f"storageClassName {class_name}: no StorageClass {class_name} exists (classes: {', '.join(sorted(by_name)) or 'none'}), "
                         f"so only a PersistentVolume of class {class_name} can take it" + (f"; did you mean {near[0]}?" if near else ""))
        elif not class_name:
            lines.append('storageClassName "" asks for a volume without a class: only a PersistentVolume without one can take it')
    storage_class = by_name.get(class_name)
    if storage_class is not None and storage_class.get("volumeBindingMode") == "WaitForFirstConsumer" and not spec.get("volumeName"):
        users = _consumers(context, claim)
        if users:
            lines.append(f"pod {users[0]} uses it, so the class {class_name} (WaitForFirstConsumer) binds it once that pod is "
                         "scheduled and the volume is made: see why not below")
        else:
            lines.append(f"the class {class_name} binds when the first pod using the claim is scheduled (WaitForFirstConsumer): "
                         "create that pod; the claim is not broken")
    try:
        volumes = context.cluster.list("persistentvolumes")
    except errors.ClusterError:
        volumes = []
    if spec.get("volumeName"):
        target = next((v for v in volumes if v["metadata"]["name"] == spec["volumeName"]), None)
        lines.append(f"spec.volumeName {spec['volumeName']}: no such PersistentVolume" if target is None
                     else _volume_misses(claim, target, class_name) or f"it waits for PersistentVolume {spec['volumeName']}")
    else:
        candidates = [v for v in volumes if (v.get("status") or {}).get("phase") in ("Available", "Released")
                      or not (v.get("spec") or {}).get("claimRef")]
        if storage_class is not None and storage_class.get("provisioner") not in (None, "", NO_PROVISIONER):
            # A class that provisions: of other classes' volumes, only those the claim would fit but for the class
            # (the one the learner likely meant) are worth naming.
            candidates = [v for v in candidates if ((v.get("spec") or {}).get("storageClassName") or "") == class_name
                          or not _volume_misses(claim, v, str((v.get("spec") or {}).get("storageClassName") or ""))]
        misses = [miss for v in candidates if (miss := _volume_misses(claim, v, class_name))]
        lines += misses[:4]
    if said := _latest_event(context, claim):
        lines.append(said)
    return [line for line in lines if line]


def claim_bound(args: ClaimBound, context: CheckContext) -> Outcome:
    claim, absent, others = _find_claim(context, args.namespace, args.name)
    if claim is None:
        return "failed", absent, others
    phase = (claim.get("status") or {}).get("phase", "Pending")
    if phase != "Bound":
        return "failed", f"PersistentVolumeClaim {args.name} is {phase}", why_unbound(context, claim)
    spec, status = claim.get("spec") or {}, claim.get("status") or {}
    problems: list[str] = []
    if args.volume and spec.get("volumeName") != args.volume:
        problems.append(f"is bound to PersistentVolume {spec.get('volumeName')}; this step wants {args.volume}")
    if args.storage_class and spec.get("storageClassName") != args.storage_class:
        problems.append(f": spec.storageClassName is {spec.get('storageClassName') or '(none)'}; this step wants {args.storage_class}")
    capacity = (status.get("capacity") or {}).get("storage")
    if args.capacity and (_size(capacity) or 0) < (_size(args.capacity) or 0):
        problems.append(f": its volume holds {capacity}; this step wants at least {args.capacity}")
    missing = [m for m in args.access_modes if m not in (status.get("accessModes") or spec.get("accessModes") or ())]
    if missing:
        problems.append(f"offers {', '.join(status.get('accessModes') or ())}, not {', '.join(missing)}")
    if problems:  # each a sentence of its own, the first leads
        said = [f"PersistentVolumeClaim {args.name}{'' if p.startswith(':') else ' '}{p}" for p in problems]
        return "failed", said[0], said[1:]
    return "passed", f"PersistentVolumeClaim {args.name} is Bound to {spec.get('volumeName')} ({capacity})", []


def claim_waits(args: ClaimWaits, context: CheckContext) -> Outcome:
    claim, absent, others = _find_claim(context, args.namespace, args.name)
    if claim is None:
        return "failed", absent, others
    spec = claim.get("spec") or {}
    phase = (claim.get("status") or {}).get("phase", "Pending")
    if phase == "Bound":
        users = _consumers(context, claim)
        why = (f"pod {users[0]} uses it, so it bound: this step waits before any pod does" if users else
               f"spec.volumeName {spec.get('volumeName')} pre-bound it" if spec.get("volumeName") else
               "its class binds at once (volumeBindingMode Immediate)")
        return "failed", f"PersistentVolumeClaim {args.name} is Bound", [why, "a claim waiting for its first consumer is not "
                                                                          "broken: leave it Pending until a pod uses it"]
    class_name = spec.get("storageClassName")
    classes = {c["metadata"]["name"]: c for c in context.cluster.list("storageclasses")}
    defaults = default_classes(list(classes.values()))
    storage_class = classes.get(str(class_name)) if class_name else (defaults[-1] if defaults else None)
    if storage_class is None or storage_class.get("volumeBindingMode") != "WaitForFirstConsumer":
        return "failed", f"PersistentVolumeClaim {args.name} is {phase}, but not waiting for a consumer", why_unbound(context, claim)
    return "passed", (f"PersistentVolumeClaim {args.name} waits for its first consumer (class "
                      f"{storage_class['metadata']['name']}, WaitForFirstConsumer)"), []


def _consumers(context: CheckContext, claim: Mapping[str, Any]) -> list[str]:
    name = claim["metadata"]["name"]
    return [p["metadata"]["name"] for p in context.cluster.list("pods", claim["metadata"]["namespace"])
            if any((v.get("persistentVolumeClaim") or {}).get("claimName") == name for v in (p.get("spec") or {}).get("volumes") or ())]


KINDS = (CheckKind(model=ClaimBound, run=claim_bound, watches=("persistentvolumeclaims", "persistentvolumes")),
         CheckKind(model=ClaimWaits, run=claim_waits, watches=("persistentvolumeclaims", "pods")))
