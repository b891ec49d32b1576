"""Which volume a claim gets, as the PV controller decides it: pure functions over the API's dicts.

``best_match`` is the controller's ``findBestMatchForClaim``: its index groups the volumes by
their access modes and tries the groups that hold every mode the claim asks for, the group with
the fewest modes first (index.go's ``allPossibleMatchingAccessModes``); within a group,
component-helpers' ``FindMatchingVolume`` takes a volume pre-bound to the claim (its
``claimRef`` naming it) at once, else the smallest Available volume of the claim's class whose
capacity holds the request, whose volume mode is the claim's and whose labels the claim's
selector selects. A claim of a WaitForFirstConsumer class takes only a pre-bound volume here:
the others are the scheduler's to choose, on the node it picks (``node``: then the volume's node
affinity must hold for that node too).

``satisfies`` is ``checkVolumeSatisfyClaim``, what a claim naming its volume (``spec.volumeName``)
is checked against, in its words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from labrunner.sandbox.quantity import parse as parse_quantity
from labrunner.sandbox.storage.objects import claim_class, storage_request, volume_class

Obj = Mapping[str, Any]
V = TypeVar("V", bound=Mapping[str, Any])


def _size(value: Any) -> Any:
    try:
        return parse_quantity(value).value
    except ValueError:
        return None


def volume_mode(spec: Obj) -> str:
    return str(spec.get("volumeMode") or "Filesystem")


def bound_to(volume: Obj, claim: Obj) -> bool:
    """``IsVolumeBoundToClaim``: the volume's claimRef names the claim (and its uid, once set)."""
    ref = (volume.get("spec") or {}).get("claimRef")
    if not isinstance(ref, dict):
        return False
    metadata = claim.get("metadata") or {}
    return (ref.get("name") == metadata.get("name") and ref.get("namespace") == metadata.get("namespace")
            and (not ref.get("uid") or ref.get("uid") == metadata.get("uid")))


def label_selector_matches(selector: Obj | None, labels: Mapping[str, str]) -> bool:
    """``metav1.LabelSelectorAsSelector(selector).Matches``; no selector matches everything."""
    if selector is None:
        return True
    if any(labels.get(key) != value for key, value in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        present = key in labels
        if (operator == "In" and (not present or labels[key] not in values)) or (operator == "NotIn" and present and labels[key] in values) \
                or (operator == "Exists" and not present) or (operator == "DoesNotExist" and present):
            return False
    return True


def _requirement(requirement: Obj, labels: Mapping[str, str]) -> bool:
    key, operator = str(requirement.get("key") or ""), requirement.get("operator")
    values = [str(v) for v in requirement.get("values") or []]
    present = key in labels
    if operator == "In":
        return present and labels[key] in values
    if operator == "NotIn":
        return not present or labels[key] not in values
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    if operator in ("Gt", "Lt") and present and len(values) == 1:
        try:
            mine, bound = int(labels[key]), int(values[0])
        except ValueError:
            return False
        return mine > bound if operator == "Gt" else mine < bound
    return False


def node_affinity_allows(volume: Obj, node: Obj) -> bool:
    """``CheckNodeAffinity``: the volume's required node affinity holds for the node (its terms
    ORed, a term's expressions ANDed; ``matchFields`` name the node); no affinity allows every node."""
    required = (((volume.get("spec") or {}).get("nodeAffinity") or {}).get("required")) or None
    if required is None:
        return True
    metadata = node.get("metadata") or {}
    labels = dict(metadata.get("labels") or {})
    fields = {"metadata.name": str(metadata.get("name", ""))}
    for term in required.get("nodeSelectorTerms") or []:
        expressions, matched_fields = term.get("matchExpressions") or [], term.get("matchFields") or []
        if (expressions or matched_fields) and all(_requirement(e, labels) for e in expressions) \
                and all(_requirement(f, fields) for f in matched_fields):
            return True
    return False


def access_modes_hold(claim: Obj, volume: Obj) -> bool:
    """``CheckAccessModes``: the volume offers every mode the claim asks for."""
    offered = set((volume.get("spec") or {}).get("accessModes") or [])
    return all(mode in offered for mode in (claim.get("spec") or {}).get("accessModes") or [])


def satisfies(volume: Obj, claim: Obj) -> str | None:
    """``checkVolumeSatisfyClaim``: why the volume a claim names cannot be its volume, or None."""
    if (volume.get("metadata") or {}).get("deletionTimestamp"):
        return f'the volume is marked for deletion "{volume["metadata"]["name"]}"'
    requested, offered = _size(storage_request(claim)), _size(((volume.get("spec") or {}).get("capacity") or {}).get("storage"))
    if offered is None or (requested is not None and offered < requested):
        return "requested PV is too small"
    if volume_class(volume) != claim_class(claim):
        return "storageClassName does not match"
    if volume_mode(volume.get("spec") or {}) != volume_mode(claim.get("spec") or {}):
        return "incompatible volumeMode"
    if not access_modes_hold(claim, volume):
        return "incompatible accessMode"
    return None


def _mode_groups(volumes: Iterable[V], wanted: list[str]) -> list[list[V]]:
    """The index's access-mode groups that hold every wanted mode, fewest modes first."""
    groups: dict[frozenset[str], list[V]] = {}
    for volume in volumes:
        groups.setdefault(frozenset((volume.get("spec") or {}).get("accessModes") or []), []).append(volume)
    fitting = [(modes, members) for modes, members in groups.items() if all(mode in modes for mode in wanted)]
    fitting.sort(key=lambda pair: (len(pair[0]), sorted(pair[0])))
    return [members for _, members in fitting]


def matching_volume(claim: Obj, volumes: Iterable[V], *, delay_binding: bool, node: Obj | None = None) -> V | None:
    """``FindMatchingVolume`` over one group of volumes."""
    spec = claim.get("spec") or {}
    requested = _size(storage_request(claim))
    wanted_class = claim_class(claim)
    selector = spec.get("selector")
    smallest: V | None = None
    smallest_size: Any = None
    for volume in volumes:
        volume_spec = volume.get("spec") or {}
        if volume_spec.get("claimRef") is not None and not bound_to(volume, claim):
            continue
        size = _size((volume_spec.get("capacity") or {}).get("storage"))
        if size is None or (requested is not None and size < requested):
            continue
        if volume_mode(volume_spec) != volume_mode(spec):
            continue
        if (volume.get("metadata") or {}).get("deletionTimestamp"):
            continue
        affinity_holds = node is None or node_affinity_allows(volume, node)
        if bound_to(volume, claim):
            return volume if affinity_holds else None
        if node is None and delay_binding:
            continue  # the scheduler binds it, on the node it chooses
        if (volume.get("status") or {}).get("phase") != "Available":
            continue
        if not label_selector_matches(selector, (volume.get("metadata") or {}).get("labels") or {}):
            continue
        if volume_class(volume) != wanted_class or not affinity_holds:
            continue
        if node is not None and not access_modes_hold(claim, volume):
            continue
        if smallest is None or smallest_size > size:
            smallest, smallest_size = volume, size
    return smallest


def best_match(claim: Obj, volumes: Iterable[V], *, delay_binding: bool, node: Obj | None = None) -> V | None:
    """``findBestMatchForClaim``: the volume the claim binds to, or None."""
    wanted = list((claim.get("spec") or {}).get("accessModes") or [])
    for group in _mode_groups(volumes, wanted):
        found = matching_volume(claim, group, delay_binding=delay_binding, node=node)
        if found is not None:
            return found
    return None
