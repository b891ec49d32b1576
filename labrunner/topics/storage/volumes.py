"""``volume-state`` and ``default-class``: a PersistentVolume's phase, reclaim policy and claim,
and the cluster's default StorageClass.

Named mistakes: a Released volume whose claimRef still holds the deleted claim (clear it to make
the volume Available again), Delete where Retain keeps the data (and the reverse), two default
classes (a new claim without a class takes the newest), a default annotation misspelt or set to
something other than "true".
"""

from __future__ import annotations

from typing import Literal

from labrunner.cluster import errors
from labrunner.lab.check_args import CheckArgs
from labrunner.lab.fields import KubeName
from labrunner.registry.types import CheckContext, CheckKind, Outcome
from labrunner.topics.storage.claims import DEFAULT_ANNOTATIONS, default_classes


class VolumeState(CheckArgs):
    """The PersistentVolume ``name`` is in ``phase`` (if given), with ``reclaim_policy`` (if given),
    bound to (or reserved for) the claim ``claim`` (``NAMESPACE/NAME``) if given, with
    ``storage_class`` if given."""

    kind: Literal["volume-state"]
    name: KubeName
    phase: Literal["Available", "Bound", "Released", "Failed", "Pending"] | None = None
    reclaim_policy: Literal["Retain", "Delete", "Recycle"] | None = None
    claim: str | None = None
    storage_class: KubeName | None = None


class DefaultClass(CheckArgs):
    """Exactly one StorageClass is the cluster's default, and it is ``name``."""

    kind: Literal["default-class"]
    name: KubeName


def volume_state(args: VolumeState, context: CheckContext) -> Outcome:
    try:
        volume = context.cluster.get("persistentvolumes", args.name)
    except errors.NotFound:
        names = [v["metadata"]["name"] for v in context.cluster.list("persistentvolumes")]
        return "failed", f"PersistentVolume {args.name} does not exist", [f"the volumes are {', '.join(names) or 'none'}"]
    spec, phase = volume.get("spec") or {}, (volume.get("status") or {}).get("phase")
    ref = spec.get("claimRef") or {}
    problems: list[str] = []
    if args.phase and phase != args.phase:
        why = ""
        if phase == "Released" and args.phase == "Available":
            why = (f": its spec.claimRef still names the deleted claim {ref.get('namespace')}/{ref.get('name')}; remove it "
                   f"(kubectl patch pv {args.name} --type=json -p '[{{\"op\":\"remove\",\"path\":\"/spec/claimRef\"}}]')")
        elif phase == "Bound" and args.phase == "Released":
            why = f": the claim {ref.get('namespace')}/{ref.get('name')} still exists"
        problems.append(f"PersistentVolume {args.name} is {phase}; this step wants {args.phase}{why}")
    policy = spec.get("persistentVolumeReclaimPolicy")
    if args.reclaim_policy and policy != args.reclaim_policy:
        meaning = {"Retain": "Retain keeps the volume and its data when the claim goes",
                   "Delete": "Delete removes the volume and its data with the claim"}.get(args.reclaim_policy, "")
        problems.append(f"PersistentVolume {args.name} has persistentVolumeReclaimPolicy {policy}; this step wants "
                        f"{args.reclaim_policy} ({meaning}; kubectl patch pv {args.name} -p "
                        f"'{{\"spec\":{{\"persistentVolumeReclaimPolicy\":\"{args.reclaim_policy}\"}}}}')")
    if args.claim is not None:
        holder = f"{ref.get('namespace')}/{ref.get('name')}" if ref else "(no claim)"
        if holder != args.claim:
            problems.append(f"PersistentVolume {args.name} is held by {holder}; this step wants {args.claim}")
    if args.storage_class and spec.get("storageClassName") != args.storage_class:
        problems.append(f"PersistentVolume {args.name} has storageClassName {spec.get('storageClassName') or '(none)'}; "
                        f"this step wants {args.storage_class}")
    if problems:
        return "failed", f"PersistentVolume {args.name} is not as this step wants it", problems
    return "passed", f"PersistentVolume {args.name} is {phase}, reclaim policy {policy}", []


def default_class(args: DefaultClass, context: CheckContext) -> Outcome:
    classes = context.cluster.list("storageclasses")
    defaults = default_classes(classes)
    names = [c["metadata"]["name"] for c in defaults]
    if names == [args.name]:
        return "passed", f"StorageClass {args.name} is the cluster's only default", []
    if len(names) > 1:
        return "failed", f"{len(names)} StorageClasses are default: {', '.join(names)}", [
            "a claim without storageClassName takes the newest default; mark the others not default: kubectl annotate "
            f"storageclass {' '.join(n for n in names if n != args.name)} storageclass.kubernetes.io/is-default-class=false --overwrite"]
    details: list[str] = []
    for found in classes:
        annotations = (found.get("metadata") or {}).get("annotations") or {}
        near = [key for key in annotations if "default" in key and key not in DEFAULT_ANNOTATIONS]
        odd = [key for key in DEFAULT_ANNOTATIONS if key in annotations and annotations[key] != "true"]
        if near:
            details.append(f"StorageClass {found['metadata']['name']} has the annotation {near[0]}; the default is marked by "
                           f"{DEFAULT_ANNOTATIONS[0]}")
        if odd:
            details.append(f"StorageClass {found['metadata']['name']} has {odd[0]}: {annotations[odd[0]]!r}; only \"true\" marks it")
    if names:
        return "failed", f"the default StorageClass is {names[0]}, not {args.name}", details
    if args.name not in {c["metadata"]["name"] for c in classes}:
        details.insert(0, f"no StorageClass {args.name} exists (classes: {', '.join(c['metadata']['name'] for c in classes) or 'none'})")
    return "failed", "no StorageClass is the cluster's default", details


KINDS = (CheckKind(model=VolumeState, run=volume_state, watches=("persistentvolumes",)),
         CheckKind(model=DefaultClass, run=default_class, watches=("storageclasses",)))
