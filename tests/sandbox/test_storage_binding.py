"""Which PersistentVolume a claim gets, and what the API server refuses: pure functions, as truth
tables written from the Kubernetes documentation (concepts/storage/persistent-volumes: "Binding",
"Access Modes", "Class", "Volume Mode", "Reserving a PersistentVolume", "Node Affinity";
concepts/storage/storage-classes: "Default StorageClass", "Volume binding mode").

The documentation's rules, in its words where it has them:
- "A control loop ... finds a matching PV (if possible), and binds them together"; "the user will
  always get at least what they asked for, but the volume may be in excess of what was requested".
- "A claim can request a particular class ... Only PVs of the requested class, ones with the
  same storageClassName as the PVC, can be bound to the PVC"; "PVCs that have no
  storageClassName ... can only be bound to PVs that have no class".
- Access modes: a volume offering the modes the claim asks for (and maybe more).
- Volume mode: Filesystem unless said; a Block claim binds only a Block volume.
- "Claims can specify a label selector to further filter the set of volumes".
- Reserving: a volume whose claimRef names the claim is bound to it "regardless of whether some
  volumes match the PVC's criteria" of size is not so: the controller still checks the size; a
  claim naming a volume (volumeName) binds only if the volume satisfies it.
- WaitForFirstConsumer "will delay the binding and provisioning ... until a Pod using the
  PersistentVolumeClaim is created": the controller binds only pre-bound volumes itself.
"""

from __future__ import annotations

from typing import Any

import pytest

from labrunner.sandbox.storage import api, binding, objects, volumebinding


def _pv(name: str, size: str = "1Gi", modes: tuple[str, ...] = ("ReadWriteOnce",), cls: str = "", phase: str = "Available",
        labels: dict[str, str] | None = None, mode: str | None = None, claim_ref: dict[str, Any] | None = None,
        affinity_node: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"capacity": {"storage": size}, "accessModes": list(modes), "hostPath": {"path": f"/mnt/{name}"}}
    if cls:
        spec["storageClassName"] = cls
    if mode:
        spec["volumeMode"] = mode
    if claim_ref is not None:
        spec["claimRef"] = claim_ref
    if affinity_node:
        spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [affinity_node]}]}]}}
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": spec, "status": {"phase": phase}}


def _pvc(size: str = "1Gi", modes: tuple[str, ...] = ("ReadWriteOnce",), cls: str | None = "", selector: dict[str, Any] | None = None,
         mode: str | None = None, name: str = "data", uid: str = "u-1") -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": list(modes), "resources": {"requests": {"storage": size}}}
    if cls is not None:
        spec["storageClassName"] = cls
    if selector is not None:
        spec["selector"] = selector
    if mode:
        spec["volumeMode"] = mode
    return {"metadata": {"name": name, "namespace": "shop", "uid": uid}, "spec": spec}


def _node(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}}}


def _chosen(claim: dict[str, Any], volumes: list[dict[str, Any]], delay: bool = False, node: dict[str, Any] | None = None) -> str | None:
    found = binding.best_match(claim, volumes, delay_binding=delay, node=node)
    return None if found is None else str(found["metadata"]["name"])


CASES = [
    ("the only volume, big enough", _pvc("1Gi"), [_pv("a", "1Gi")], "a"),
    ("at least what was asked: a bigger volume", _pvc("500Mi"), [_pv("a", "2Gi")], "a"),
    ("too small binds nothing", _pvc("2Gi"), [_pv("a", "1Gi")], None),
    ("the smallest that fits", _pvc("1Gi"), [_pv("big", "10Gi"), _pv("fit", "1Gi"), _pv("mid", "5Gi")], "fit"),
    ("1024Mi is 1Gi", _pvc("1Gi"), [_pv("a", "1024Mi")], "a"),
    ("1G is less than 1Gi", _pvc("1Gi"), [_pv("a", "1G")], None),
    ("a class binds only its class", _pvc(cls="fast"), [_pv("slow", cls="slow"), _pv("fast", cls="fast")], "fast"),
    ("no class binds only classless volumes", _pvc(cls=""), [_pv("classy", cls="manual")], None),
    ("a class binds no classless volume", _pvc(cls="manual"), [_pv("plain")], None),
    ("access modes: the volume offers them", _pvc(modes=("ReadWriteMany",)), [_pv("rwo"), _pv("rwx", modes=("ReadWriteMany",))], "rwx"),
    ("access modes: a superset serves", _pvc(modes=("ReadWriteOnce",)), [_pv("both", modes=("ReadWriteOnce", "ReadOnlyMany"))], "both"),
    ("access modes: the fewest modes first, even if bigger", _pvc("1Gi"),
     [_pv("many", "1Gi", modes=("ReadWriteOnce", "ReadWriteMany")), _pv("one", "5Gi")], "one"),
    ("access modes: none offered binds nothing", _pvc(modes=("ReadWriteMany",)), [_pv("rwo")], None),
    ("volume mode Filesystem by default", _pvc(), [_pv("block", mode="Block"), _pv("fs", "5Gi")], "fs"),
    ("a Block claim binds only Block", _pvc(mode="Block"), [_pv("fs"), _pv("block", "5Gi", mode="Block")], "block"),
    ("a selector filters by labels", _pvc(selector={"matchLabels": {"tier": "gold"}}),
     [_pv("plain"), _pv("gold", "5Gi", labels={"tier": "gold"})], "gold"),
    ("a selector's expressions", _pvc(selector={"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["bronze"]}]}),
     [_pv("bronze", labels={"tier": "bronze"}), _pv("silver", "2Gi", labels={"tier": "silver"})], "silver"),
    ("only Available volumes", _pvc(), [_pv("released", phase="Released"), _pv("failed", phase="Failed")], None),
    ("another claim's volume is taken", _pvc(), [_pv("theirs", claim_ref={"name": "other", "namespace": "shop", "uid": "u-9"})], None),
    ("a volume reserved for the claim wins over a smaller one", _pvc("1Gi"),
     [_pv("small", "1Gi"), _pv("reserved", "9Gi", claim_ref={"name": "data", "namespace": "shop"})], "reserved"),
    ("reserved for a claim of that name in another namespace", _pvc(),
     [_pv("elsewhere", claim_ref={"name": "data", "namespace": "other"})], None),
    ("reserved, but for the claim's previous uid", _pvc(uid="u-2"),
     [_pv("old", claim_ref={"name": "data", "namespace": "shop", "uid": "u-1"})], None),
    ("reserved but too small still binds nothing", _pvc("5Gi"), [_pv("reserved", "1Gi", claim_ref={"name": "data", "namespace": "shop"})], None),
]


@pytest.mark.parametrize(("claim", "volumes", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_the_controller_binds_the_best_matching_volume(claim: dict[str, Any], volumes: list[dict[str, Any]], expected: str | None) -> None:
    assert _chosen(claim, volumes) == expected


def test_wait_for_first_consumer_leaves_binding_to_the_scheduler_but_a_reserved_volume() -> None:
    volumes = [_pv("free", cls="local"), _pv("reserved", cls="local", claim_ref={"name": "data", "namespace": "shop"})]
    assert _chosen(_pvc(cls="local"), volumes[:1], delay=True) is None
    assert _chosen(_pvc(cls="local"), volumes, delay=True) == "reserved"


def test_with_a_node_the_volume_must_be_reachable_from_it() -> None:
    volumes = [_pv("on-a", cls="local", affinity_node="node-a"), _pv("on-b", "5Gi", cls="local", affinity_node="node-b")]
    assert _chosen(_pvc(cls="local"), volumes, delay=True, node=_node("node-b")) == "on-b"
    assert _chosen(_pvc(cls="local"), volumes, delay=True, node=_node("node-c")) is None
    reserved = [_pv("pinned", cls="local", affinity_node="node-a", claim_ref={"name": "data", "namespace": "shop"})]
    assert _chosen(_pvc(cls="local"), reserved, delay=True, node=_node("node-b")) is None  # pre-bound, but not from this node


@pytest.mark.parametrize(("volume", "claim", "problem"), [
    (_pv("a", "1Gi"), _pvc("1Gi"), None),
    (_pv("a", "1Gi"), _pvc("2Gi"), "requested PV is too small"),
    (_pv("a", cls="slow"), _pvc(cls="fast"), "storageClassName does not match"),
    (_pv("a", mode="Block"), _pvc(), "incompatible volumeMode"),
    (_pv("a"), _pvc(modes=("ReadWriteMany",)), "incompatible accessMode"),
    ({**_pv("a"), "metadata": {"name": "a", "deletionTimestamp": "2026-01-01T00:00:00Z"}}, _pvc(), 'the volume is marked for deletion "a"'),
], ids=["fits", "too small", "class", "volume mode", "access mode", "being deleted"])
def test_a_claim_naming_its_volume_is_checked_against_it(volume: dict[str, Any], claim: dict[str, Any], problem: str | None) -> None:
    assert binding.satisfies(volume, claim) == problem


def test_the_newest_default_class_is_the_default() -> None:
    def cls(name: str, created: str, default: str | None = "true") -> dict[str, Any]:
        annotations = {objects.DEFAULT_CLASS_ANNOTATION: default} if default is not None else {}
        return {"metadata": {"name": name, "creationTimestamp": created, "annotations": annotations}}

    assert objects.default_class([cls("a", "2026-01-01T00:00:00Z", None)]) is None
    assert objects.default_class([cls("a", "2026-01-01T00:00:00Z", "false")]) is None
    chosen = objects.default_class([cls("old", "2026-01-01T00:00:00Z"), cls("new", "2026-02-01T00:00:00Z"), cls("off", "2026-03-01T00:00:00Z", None)])
    assert chosen is not None and chosen["metadata"]["name"] == "new"
    tie = objects.default_class([cls("b", "2026-01-01T00:00:00Z"), cls("a", "2026-01-01T00:00:00Z")])
    assert tie is not None and tie["metadata"]["name"] == "a"


def _said(errors: list[Any]) -> list[str]:
    return [str(error) for error in errors]


def test_a_volume_is_refused_for_the_common_mistakes() -> None:
    assert _said(api.volume_problems({"metadata": {"name": "pv"}, "spec": {"hostPath": {"path": "/x"}}})) == [
        "spec.accessModes: Required value", "spec.capacity: Required value",
        'spec.capacity: Unsupported value: core.ResourceList(nil): supported values: "storage"']
    assert _said(api.volume_problems({"metadata": {"name": "pv"}, "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"]}})) == [
        "spec: Required value: must specify a volume type"]
    assert _said(api.volume_problems({"metadata": {"name": "pv"}, "spec": {
        "capacity": {"storage": "1Gi"}, "accessModes": ["RWO"], "hostPath": {"path": "/x"}}})) == [
        'spec.accessModes: Unsupported value: "RWO": supported values: "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"']


def test_a_claim_is_refused_for_the_common_mistakes() -> None:
    assert _said(api.claim_spec_problems({})) == ["spec.accessModes: Required value: at least 1 access mode is required",
                                                  "spec.resources[storage]: Required value"]
    assert _said(api.claim_spec_problems({"accessModes": ["ReadWriteOncePod", "ReadWriteOnce"], "resources": {"requests": {"storage": "0"}}})) == [
        "spec.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes",
        'spec.resources[storage]: Invalid value: "0": must be greater than zero']


def test_a_claim_spec_is_immutable_but_for_a_bound_claims_request() -> None:
    claim = _pvc("1Gi", cls="standard")
    claim["status"] = {"phase": "Bound"}
    grown = _pvc("2Gi", cls="standard")
    grown["status"] = {"phase": "Bound"}
    assert api.claim_update_problems(grown, claim) == []
    pending = {**grown, "status": {"phase": "Pending"}}
    assert _said(api.claim_update_problems(pending, {**claim, "status": {"phase": "Pending"}}))[0].startswith(
        "spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n")
    shrunk = {**_pvc("500Mi", cls="standard"), "status": {"phase": "Bound"}}
    assert "spec.resources.requests.storage: Forbidden: field can not be less than previous value" in _said(api.claim_update_problems(shrunk, claim))
    named = {**_pvc("1Gi", cls="standard"), "status": {"phase": "Pending"}}
    named["spec"]["volumeName"] = "pv-1"  # the controller (or a user) names the volume once
    assert api.claim_update_problems(named, {**claim, "status": {"phase": "Pending"}}) == []


def test_a_class_keeps_its_provisioner_parameters_policy_and_binding_mode() -> None:
    old = {"metadata": {"name": "fast"}, "provisioner": "a.io/x", "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"}
    new = {**old, "provisioner": "b.io/y", "reclaimPolicy": "Retain", "volumeBindingMode": "WaitForFirstConsumer", "parameters": {"type": "ssd"},
           "allowVolumeExpansion": True}
    assert _said(api.class_problems(new, old)) == [
        "parameters: Forbidden: updates to parameters are forbidden.", "provisioner: Forbidden: updates to provisioner are forbidden.",
        "reclaimPolicy: Forbidden: updates to reclaimPolicy are forbidden.",
        'volumeBindingMode: Invalid value: "WaitForFirstConsumer": field is immutable']
    assert api.class_problems({**old, "allowVolumeExpansion": True}, old) == []
    assert _said(api.class_problems({"metadata": {"name": "x"}, "reclaimPolicy": "Recycle", "volumeBindingMode": "Later"}, None)) == [
        "provisioner: Required value", 'reclaimPolicy: Unsupported value: "Recycle": supported values: "Delete", "Retain"',
        'volumeBindingMode: Unsupported value: "Later": supported values: "Immediate", "WaitForFirstConsumer"']


# -- the scheduler's VolumeBinding plugin (concepts/storage/storage-classes "Volume binding mode",
# concepts/storage/volumes "local": "the scheduler ... considers the volume's node affinity") ----------


def _volume_pod(*claims: str) -> dict[str, Any]:
    return {"metadata": {"name": "app", "namespace": "shop"},
            "spec": {"volumes": [{"name": c, "persistentVolumeClaim": {"claimName": c}} for c in claims]}}


def _storage(claims: list[dict[str, Any]], volumes: list[dict[str, Any]] = [], classes: list[dict[str, Any]] = []) -> volumebinding.Storage:
    return volumebinding.Storage({("shop", c["metadata"]["name"]): c for c in claims}, volumes,
                                 {c["metadata"]["name"]: c for c in classes})


def _class(name: str, mode: str = "WaitForFirstConsumer", provisioner: str = "rancher.io/local-path", zones: list[str] | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"metadata": {"name": name}, "provisioner": provisioner, "volumeBindingMode": mode}
    if zones:
        found["allowedTopologies"] = [{"matchLabelExpressions": [{"key": "topology.kubernetes.io/zone", "values": zones}]}]
    return found


def _bound(claim: dict[str, Any], volume: str) -> dict[str, Any]:
    return {**claim, "spec": {**claim["spec"], "volumeName": volume}}


def test_pre_filter_turns_a_pod_away_from_every_node() -> None:
    pending = _pvc(cls="fast", name="data")
    assert volumebinding.pre_filter(_volume_pod("data"), _storage([])) == 'persistentvolumeclaim "data" not found'
    deleting = {**pending, "metadata": {**pending["metadata"], "deletionTimestamp": "2026-01-01T00:00:00Z"}}
    assert volumebinding.pre_filter(_volume_pod("data"), _storage([deleting])) == 'persistentvolumeclaim "data" is being deleted'
    assert volumebinding.pre_filter(_volume_pod("data"), _storage([pending], classes=[_class("fast", "Immediate")])) == \
        "pod has unbound immediate PersistentVolumeClaims"
    assert volumebinding.pre_filter(_volume_pod("data"), _storage([pending])) == "pod has unbound immediate PersistentVolumeClaims"  # no class: Immediate
    assert volumebinding.pre_filter(_volume_pod("data"), _storage([pending], classes=[_class("fast")])) is None
    assert volumebinding.pre_filter(_volume_pod("data"), _storage([_bound(pending, "pv")])) is None
    assert volumebinding.pre_filter(_volume_pod(), _storage([])) is None


def test_filter_keeps_a_pod_where_its_volumes_are() -> None:
    claim = _bound(_pvc(cls="local", name="data"), "on-a")
    volumes = [_pv("on-a", cls="local", affinity_node="node-a")]
    assert volumebinding.filter_reasons(_volume_pod("data"), _node("node-a"), _storage([claim], volumes)) == []
    assert volumebinding.filter_reasons(_volume_pod("data"), _node("node-b"), _storage([claim], volumes)) == [volumebinding.NODE_CONFLICT]
    assert volumebinding.filter_reasons(_volume_pod("data"), _node("node-a"), _storage([claim], [])) == [volumebinding.PV_NOT_EXIST]


def test_a_waiting_claim_needs_a_reachable_volume_or_a_provisioner() -> None:
    claim = _pvc(cls="local", name="data")
    static = _storage([claim], [_pv("on-a", cls="local", affinity_node="node-a")], [_class("local", provisioner="kubernetes.io/no-provisioner")])
    assert volumebinding.filter_reasons(_volume_pod("data"), _node("node-a"), static) == []
    assert volumebinding.filter_reasons(_volume_pod("data"), _node("node-b"), static) == [volumebinding.BIND_CONFLICT]
    steps = volumebinding.bindings(_volume_pod("data"), _node("node-a"), static)
    assert [(s.volume, s.node) for s in steps] == [("on-a", "node-a")]
    dynamic = _storage([claim], [], [_class("local")])
    assert [(s.volume, s.node) for s in volumebinding.bindings(_volume_pod("data"), _node("node-b"), dynamic)] == [(None, "node-b")]
    zoned = _storage([claim], [], [_class("local", zones=["east"])])
    east = {"metadata": {"name": "node-e", "labels": {"topology.kubernetes.io/zone": "east"}}}
    assert volumebinding.filter_reasons(_volume_pod("data"), east, zoned) == []
    assert volumebinding.filter_reasons(_volume_pod("data"), _node("node-w"), zoned) == [volumebinding.BIND_CONFLICT]


def test_two_claims_never_take_the_same_volume() -> None:
    first, second = _pvc(cls="local", name="a", uid="u-a"), _pvc(cls="local", name="b", uid="u-b")
    only = _storage([first, second], [_pv("one", cls="local")], [_class("local", provisioner="kubernetes.io/no-provisioner")])
    assert volumebinding.filter_reasons(_volume_pod("a", "b"), _node("node-a"), only) == [volumebinding.BIND_CONFLICT]


def test_a_claim_being_provisioned_for_a_node_keeps_the_pod_there() -> None:
    claim = _pvc(cls="local", name="data")
    claim["metadata"]["annotations"] = {volumebinding.SELECTED_NODE: "node-a"}
    storage = _storage([claim], [], [_class("local")])
    assert volumebinding.filter_reasons(_volume_pod("data"), _node("node-a"), storage) == []
    assert volumebinding.filter_reasons(_volume_pod("data"), _node("node-b"), storage) == [volumebinding.BIND_CONFLICT]
