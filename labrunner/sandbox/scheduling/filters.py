"""The default profile's filter plugins, in kube-scheduler 1.32's order, each with its reason
strings and status code as its Go source has them.

:data:`FILTERS` is the profile: a further filter (the volume plugins) is one more
:class:`~labrunner.sandbox.scheduling.framework.Plugin` in the tuple, at its place in the order
(VolumeRestrictions, NodeVolumeLimits, VolumeBinding and VolumeZone come after NodeResourcesFit).
"""

from __future__ import annotations

from typing import Any

from labrunner.sandbox.scheduling import interpod, spread
from labrunner.sandbox.storage import volumebinding
from labrunner.sandbox.scheduling.framework import UNRESOLVABLE, UNSCHEDULABLE, Cycle, NodeInfo, Plugin, Status
from labrunner.sandbox.scheduling.matching import node_selector_matches, tolerated, untolerated_taint
from labrunner.sandbox.scheduling.requests import CPU, EPHEMERAL, MEMORY, PODS, pod_requests

UNSCHEDULABLE_TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}


def node_unschedulable(cycle: Cycle, node: NodeInfo) -> Status | None:
    """NodeUnschedulable: a cordoned node, unless the pod tolerates ``node.kubernetes.io/unschedulable:NoSchedule``."""
    if (node.node.get("spec") or {}).get("unschedulable") and not tolerated(cycle.spec.get("tolerations") or [], UNSCHEDULABLE_TAINT):
        return Status(UNRESOLVABLE, ("node(s) were unschedulable",), "NodeUnschedulable")
    return None


def node_name(cycle: Cycle, node: NodeInfo) -> Status | None:
    """NodeName: a pod that names its node fits that node only."""
    wanted = cycle.spec.get("nodeName")
    if wanted and wanted != node.name:
        return Status(UNRESOLVABLE, ("node(s) didn't match the requested node name",), "NodeName")
    return None


def taint_toleration(cycle: Cycle, node: NodeInfo) -> Status | None:
    """TaintToleration: the node's first NoSchedule or NoExecute taint the pod does not tolerate."""
    taint = untolerated_taint(node.taints, cycle.spec.get("tolerations") or [], ("NoSchedule", "NoExecute"))
    if taint is None:
        return None
    return Status(UNRESOLVABLE, (f"node(s) had untolerated taint {{{taint.get('key', '')}: {taint.get('value', '')}}}",), "TaintToleration")


def _required_affinity(spec: dict[str, Any]) -> dict[str, Any] | None:
    return (((spec.get("affinity") or {}).get("nodeAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution"))


def required_node_affinity_matches(spec: dict[str, Any], node: dict[str, Any]) -> bool:
    """``GetRequiredNodeAffinity(pod).Match(node)``: the nodeSelector's labels and the required
    node affinity's terms (ORed) both hold."""
    labels = (node.get("metadata") or {}).get("labels") or {}
    if any(labels.get(key) != value for key, value in (spec.get("nodeSelector") or {}).items()):
        return False
    required = _required_affinity(spec)
    return required is None or node_selector_matches(required, node)


def node_affinity_pre_filter(cycle: Cycle) -> set[str] | None:
    """NodeAffinity's PreFilter: required terms that each name nodes (``matchFields``
    metadata.name In, a DaemonSet pod's) narrow the nodes worth filtering to those."""
    required = _required_affinity(cycle.spec)
    if not required:
        return None
    names: set[str] = set()
    for term in required.get("nodeSelectorTerms") or []:
        named: set[str] | None = None
        for requirement in term.get("matchFields") or []:
            if requirement.get("key") == "metadata.name" and requirement.get("operator") == "In":
                values = {str(v) for v in requirement.get("values") or []}
                named = values if named is None else named & values
        if named is None:
            return None
        names |= named
    return names


def node_affinity(cycle: Cycle, node: NodeInfo) -> Status | None:
    """NodeAffinity: nodeSelector and requiredDuringSchedulingIgnoredDuringExecution."""
    if not required_node_affinity_matches(cycle.spec, node.node):
        return Status(UNRESOLVABLE, ("node(s) didn't match Pod's node affinity/selector",), "NodeAffinity")
    return None


def host_ports(pod: dict[str, Any]) -> list[tuple[str, str, int]]:
    """(hostIP, protocol, hostPort) of the containers' ports that claim a host port."""
    found = []
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if int(port.get("hostPort") or 0) > 0:
                found.append((str(port.get("hostIP") or "0.0.0.0"), str(port.get("protocol") or "TCP"), int(port["hostPort"])))
    return found


def _ports_conflict(wanted: tuple[str, str, int], used: tuple[str, str, int]) -> bool:
    """HostPortInfo.CheckConflict: the same protocol and port, on the same IP or either on 0.0.0.0."""
    return wanted[1:] == used[1:] and (wanted[0] == used[0] or "0.0.0.0" in (wanted[0], used[0]))


def node_ports(cycle: Cycle, node: NodeInfo) -> Status | None:
    """NodePorts: a host port another pod on the node already holds."""
    wanted = host_ports(cycle.pod)
    if not wanted:
        return None
    used = [port for pod in node.pods for port in host_ports(pod)]
    if any(_ports_conflict(w, u) for w in wanted for u in used):
        return Status(UNSCHEDULABLE, ("node(s) didn't have free ports for the requested pod ports",), "NodePorts")
    return None


def insufficient(asked: dict[str, int], node: NodeInfo) -> list[str]:
    """``fitsRequest``: each resource the node's allocatable, less what its pods request, cannot give."""
    allocatable = node.allocatable()
    reasons = []
    if len(node.pods) + 1 > allocatable.get(PODS, 0):
        reasons.append("Too many pods")
    others = sorted(name for name in asked if name not in (CPU, MEMORY, EPHEMERAL, PODS))
    for name in (CPU, MEMORY, EPHEMERAL, *others):
        value = asked.get(name, 0)
        if value > 0 and value > allocatable.get(name, 0) - node.requested.get(name, 0):
            reasons.append(f"Insufficient {name}")
    return reasons


def node_resources_fit(cycle: Cycle, node: NodeInfo) -> Status | None:
    """NodeResourcesFit: the pod's requests (init containers' peak, sidecars, overhead) against
    the node's allocatable less its pods' requests, and the node's pod count."""
    asked = cycle.state.get("NodeResourcesFit")
    if asked is None:
        asked = cycle.state["NodeResourcesFit"] = pod_requests(cycle.pod)
    reasons = insufficient(asked, node)
    return Status(UNSCHEDULABLE, tuple(reasons), "NodeResourcesFit") if reasons else None


FILTERS: tuple[Plugin, ...] = (
    Plugin("NodeUnschedulable", node_unschedulable),
    Plugin("NodeName", node_name),
    Plugin("TaintToleration", taint_toleration),
    Plugin("NodeAffinity", node_affinity, node_affinity_pre_filter),
    Plugin("NodePorts", node_ports),
    Plugin("NodeResourcesFit", node_resources_fit),
    Plugin(volumebinding.NAME, volumebinding.framework_filter, volumebinding.framework_pre_filter),
    Plugin("PodTopologySpread", spread.filter, spread.pre_filter),
    Plugin("InterPodAffinity", interpod.filter, interpod.pre_filter),
)
"""The default profile's filters, in its order."""
