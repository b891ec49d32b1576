"""API objects (dicts, as ``kubectl get -o yaml`` prints them) to the engine's model.

Parsing is lenient about what the API server would prune (unknown fields are
ignored here; :mod:`labrunner.topics.networkpolicy.lint` reports them) and strict about what
would change a verdict silently (an invalid CIDR, an unknown operator): those
raise :class:`ObjectError` with the field's path.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from labrunner.topics.networkpolicy.model import (
    NAME_LABEL,
    PROTOCOLS,
    Cluster,
    ContainerPort,
    Direction,
    IPAddress,
    IPBlock,
    Namespace,
    Peer,
    Pod,
    Policy,
    PortRule,
    Requirement,
    Rule,
    Selector,
)

KINDS = ("Namespace", "Pod", "NetworkPolicy")


class ObjectError(ValueError):
    """An object the engine cannot read; ``path`` uses the API server's syntax."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.message = message
        self.path = path


def _mapping(value: Any, path: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ObjectError("expected a mapping", path)
    return value


def _list(value: Any, path: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ObjectError("expected a list", path)
    return value


def _labels(value: Any, path: str) -> dict[str, str]:
    return {str(key): "" if item is None else str(item) for key, item in _mapping(value, path).items()}


def selector(value: Any, path: str) -> Selector:
    data = _mapping(value, path)
    requirements = []
    for index, expression in enumerate(_list(data.get("matchExpressions"), f"{path}.matchExpressions")):
        where = f"{path}.matchExpressions[{index}]"
        expression = _mapping(expression, where)
        operator = expression.get("operator")
        values = frozenset(str(v) for v in _list(expression.get("values"), f"{where}.values"))
        if operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            raise ObjectError(f"unknown operator {operator!r}; expected In, NotIn, Exists or DoesNotExist", f"{where}.operator")
        if operator in ("In", "NotIn") and not values:
            raise ObjectError(f"operator {operator} needs at least one value", f"{where}.values")
        if operator in ("Exists", "DoesNotExist") and values:
            raise ObjectError(f"operator {operator} takes no values", f"{where}.values")
        if not expression.get("key"):
            raise ObjectError("a key is required", f"{where}.key")
        requirements.append(Requirement(str(expression["key"]), operator, values))
    match_labels = tuple(sorted(_labels(data.get("matchLabels"), f"{path}.matchLabels").items()))
    return Selector(match_labels=match_labels, match_expressions=tuple(requirements))


def network(text: Any, path: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(str(text), strict=False)
    except ValueError:
        raise ObjectError(f"{text!r} is not a valid CIDR (like 10.0.0.0/24 or fd00::/64)", path) from None


def _ip_block(value: Any, path: str) -> IPBlock:
    data = _mapping(value, path)
    if "cidr" not in data:
        raise ObjectError("an ipBlock needs a cidr", f"{path}.cidr")
    cidr = network(data["cidr"], f"{path}.cidr")
    excepts = tuple(network(item, f"{path}.except[{i}]") for i, item in enumerate(_list(data.get("except"), f"{path}.except")))
    return IPBlock(cidr=cidr, excepts=excepts)


def _peer(value: Any, path: str) -> Peer:
    data = _mapping(value, path)
    pods = selector(data["podSelector"], f"{path}.podSelector") if data.get("podSelector") is not None else None
    namespaces = (
        selector(data["namespaceSelector"], f"{path}.namespaceSelector")
        if data.get("namespaceSelector") is not None
        else None
    )
    block = _ip_block(data["ipBlock"], f"{path}.ipBlock") if data.get("ipBlock") is not None else None
    return Peer(pod_selector=pods, namespace_selector=namespaces, ip_block=block)


def _port_rule(value: Any, path: str) -> PortRule:
    data = _mapping(value, path)
    protocol = str(data.get("protocol") or "TCP")
    if protocol not in PROTOCOLS:
        raise ObjectError(f"unknown protocol {protocol!r}; expected TCP, UDP or SCTP", f"{path}.protocol")
    port = data.get("port")
    if port is not None and not isinstance(port, int):
        port = int(port) if str(port).isdigit() else str(port)
    end_port = data.get("endPort")
    if end_port is not None and not isinstance(end_port, int):
        raise ObjectError("endPort must be a number", f"{path}.endPort")
    return PortRule(protocol=protocol, port=port, end_port=end_port)


def _rules(value: Any, path: str, peers_key: str) -> tuple[Rule, ...]:
    rules = []
    for index, item in enumerate(_list(value, path)):
        where = f"{path}[{index}]"
        data = _mapping(item, where)
        peers = tuple(_peer(p, f"{where}.{peers_key}[{i}]") for i, p in enumerate(_list(data.get(peers_key), f"{where}.{peers_key}")))
        ports = tuple(_port_rule(p, f"{where}.ports[{i}]") for i, p in enumerate(_list(data.get("ports"), f"{where}.ports")))
        rules.append(Rule(peers=peers, ports=ports))
    return tuple(rules)


def policy_types(spec: Mapping[str, Any]) -> frozenset[Direction]:
    """The directions a policy isolates, defaulted exactly as the API server does.

    With ``policyTypes`` absent or empty, Ingress always, and Egress only when the
    ``egress`` list is non-empty: ``egress: []`` without policyTypes does NOT
    isolate egress. (kubernetes pkg/apis/networking/v1/defaults.go,
    SetDefaults_NetworkPolicy; the NetworkPolicySpec.policyTypes API reference.)
    """
    declared = spec.get("policyTypes") or []
    if declared:
        return frozenset(str(t).lower() for t in declared if str(t) in ("Ingress", "Egress"))  # type: ignore[misc]
    types: set[Direction] = {"ingress"}
    if spec.get("egress"):
        types.add("egress")
    return frozenset(types)


def policy_from_object(obj: Mapping[str, Any], source: str | None = None) -> Policy:
    metadata = _mapping(obj.get("metadata"), "metadata")
    spec = _mapping(obj.get("spec"), "spec")
    for declared in _list(spec.get("policyTypes"), "spec.policyTypes"):
        if declared not in ("Ingress", "Egress"):
            raise ObjectError(f"unknown policy type {declared!r}; expected Ingress or Egress", "spec.policyTypes")
    return Policy(
        namespace=str(metadata.get("namespace") or "default"),
        name=str(metadata.get("name") or "<unnamed>"),
        pod_selector=selector(spec.get("podSelector"), "spec.podSelector"),
        types=policy_types(spec),
        ingress=_rules(spec.get("ingress"), "spec.ingress", "from"),
        egress=_rules(spec.get("egress"), "spec.egress", "to"),
        source=source,
    )


def namespace_from_object(obj: Mapping[str, Any]) -> Namespace:
    metadata = _mapping(obj.get("metadata"), "metadata")
    name = str(metadata.get("name") or "")
    if not name:
        raise ObjectError("a namespace needs a name", "metadata.name")
    labels = _labels(metadata.get("labels"), "metadata.labels")
    labels.setdefault(NAME_LABEL, name)
    return Namespace(name=name, labels=labels)


def pod_from_object(obj: Mapping[str, Any]) -> Pod:
    metadata = _mapping(obj.get("metadata"), "metadata")
    spec = _mapping(obj.get("spec"), "spec")
    status = _mapping(obj.get("status"), "status")
    ips: list[IPAddress] = []
    texts = [entry.get("ip") for entry in _list(status.get("podIPs"), "status.podIPs") if isinstance(entry, Mapping)]
    texts += [status.get("podIP")]
    for text in texts:
        if text:
            try:
                address = ipaddress.ip_address(str(text))
            except ValueError:
                raise ObjectError(f"{text!r} is not an IP address", "status.podIP") from None
            if address not in ips:
                ips.append(address)
    ports = []
    for c_index, container in enumerate(_list(spec.get("containers"), "spec.containers")):
        where = f"spec.containers[{c_index}].ports"
        for p_index, port in enumerate(_list(_mapping(container, f"spec.containers[{c_index}]").get("ports"), where)):
            port = _mapping(port, f"{where}[{p_index}]")
            protocol = str(port.get("protocol") or "TCP")
            if protocol not in PROTOCOLS or not isinstance(port.get("containerPort"), int):
                raise ObjectError("a container port needs a containerPort number and TCP, UDP or SCTP", f"{where}[{p_index}]")
            ports.append(ContainerPort(port=port["containerPort"], protocol=protocol, name=port.get("name")))
    return Pod(
        namespace=str(metadata.get("namespace") or "default"),
        name=str(metadata.get("name") or ""),
        labels=_labels(metadata.get("labels"), "metadata.labels"),
        ips=tuple(ips),
        ports=tuple(ports),
    )


def cluster_from_objects(objects: Iterable[Mapping[str, Any]]) -> Cluster:
    """A cluster from Namespace, Pod and NetworkPolicy objects (others ignored;
    ``kind: List`` is flattened)."""
    namespaces: dict[str, Namespace] = {}
    pods: list[Pod] = []
    policies: list[Policy] = []
    for obj in _flatten(objects):
        kind = obj.get("kind")
        if kind == "Namespace":
            namespace = namespace_from_object(obj)
            namespaces[namespace.name] = namespace
        elif kind == "Pod":
            pods.append(pod_from_object(obj))
        elif kind == "NetworkPolicy":
            policies.append(policy_from_object(obj))
    return Cluster(namespaces=namespaces, pods=tuple(pods), policies=tuple(policies))


def _flatten(objects: Iterable[Mapping[str, Any]]) -> Iterable[Mapping[str, Any]]:
    for obj in objects:
        if obj.get("kind") == "List" or (str(obj.get("kind", "")).endswith("List") and "items" in obj):
            yield from _flatten(obj.get("items") or [])
        else:
            yield obj
