"""ingress-nginx's controller as its pods run it: which Ingresses it takes (its flags and the
IngressClasses), the address it publishes in their status, and its ``Sync`` events.

Only a ready pod of a controller acts, and what it takes follows its own arguments
(``--ingress-class``, ``--controller-class``, ``--watch-ingress-without-class``,
``--ingress-class-by-name``, ``--watch-namespace``, ``--publish-status-address``,
``--publish-service``); two controllers of different classes share a cluster as they would. The
status is written at once (the real leader writes it on start and then every 60 s); without a
ready controller the status is left as the last one wrote it, as on a real cluster.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from labrunner.sandbox import images, resources
from labrunner.sandbox.controllers.shared import NODES, PODS, SERVICES, Cluster, is_ready, terminating
from labrunner.sandbox.resources import ResourceType
from labrunner.sandbox.store import NotFound

COMPONENT = "nginx-ingress-controller"
CLASS_ANNOTATION = "kubernetes.io/ingress.class"


def networking(plural: str) -> ResourceType:
    found = resources.lookup("networking.k8s.io", "v1", plural)
    assert found is not None
    return found


def _true(value: str | None, default: bool = False) -> bool:
    return default if value is None else value.lower() in ("true", "1", "t")


def listening_ports(flags: dict[str, str]) -> tuple[tuple[str, int], ...]:
    """The controller's listeners: HTTP, HTTPS, the health/metrics server, and the admission
    webhook when ``--validating-webhook`` names an address."""
    ports = [int(flags.get("http-port", "80") or 80), int(flags.get("https-port", "443") or 443), int(flags.get("healthz-port", "10254") or 10254)]
    webhook = flags.get("validating-webhook", "")
    if webhook and webhook.rsplit(":", 1)[-1].isdigit():
        ports.append(int(webhook.rsplit(":", 1)[-1]))
    return tuple(("TCP", port) for port in ports)


@dataclass(frozen=True)
class Config:
    """What one controller pod was told by its arguments (ingress-nginx's flag defaults)."""
    pod: dict[str, Any]
    ingress_class: str = "nginx"
    controller_class: str = "k8s.io/ingress-nginx"
    watch_without_class: bool = False
    class_by_name: bool = False
    watch_namespace: str = ""
    publish_service: str = ""
    publish_status_address: str = ""
    update_status: bool = True
    http_port: int = 80
    healthz_port: int = 10254

    @property
    def namespace(self) -> str:
        return str(self.pod["metadata"]["namespace"])


def _expand(value: str, pod: dict[str, Any]) -> str:
    """The kubelet's ``$(VAR)`` expansion of the two variables the manifests use."""
    return value.replace("$(POD_NAMESPACE)", str(pod["metadata"]["namespace"])).replace("$(POD_NAME)", str(pod["metadata"]["name"]))


def config_of(pod: dict[str, Any], options: dict[str, str]) -> Config:
    flags = {key: _expand(value, pod) for key, value in options.items()}
    return Config(
        pod=pod, ingress_class=flags.get("ingress-class") or "nginx", controller_class=flags.get("controller-class") or "k8s.io/ingress-nginx",
        watch_without_class=_true(flags.get("watch-ingress-without-class")), class_by_name=_true(flags.get("ingress-class-by-name")),
        watch_namespace=flags.get("watch-namespace", ""), publish_service=flags.get("publish-service", ""),
        publish_status_address=flags.get("publish-status-address", ""), update_status=_true(flags.get("update-status"), True),
        http_port=int(flags.get("http-port", "80") or 80), healthz_port=int(flags.get("healthz-port", "10254") or 10254))


def controllers(pods: list[dict[str, Any]]) -> list[Config]:
    """Every ready, running pod of the ingress-nginx image, with what its arguments say."""
    from labrunner.sandbox.l7.servers import running_servers

    return [config_of(pod, options) for pod, options in running_servers(pods, "ingress-nginx")]


def takes(config: Config, ingress: dict[str, Any], classes: dict[str, dict[str, Any]]) -> bool:
    """Whether this controller serves ``ingress``, as ingress-nginx's class check decides."""
    if config.watch_namespace and ingress["metadata"].get("namespace") != config.watch_namespace:
        return False
    class_name = (ingress.get("spec") or {}).get("ingressClassName")
    if class_name:
        found = classes.get(str(class_name))
        if found is not None and (found.get("spec") or {}).get("controller") == config.controller_class:
            return True
        return config.class_by_name and class_name == config.ingress_class
    annotation = (ingress["metadata"].get("annotations") or {}).get(CLASS_ANNOTATION)
    if annotation is not None:
        return bool(annotation == config.ingress_class)
    return config.watch_without_class


def served(config: Config, ingresses: list[dict[str, Any]], classes: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [ingress for ingress in ingresses if not terminating(ingress) and takes(config, ingress, classes)]


def _address(value: str) -> dict[str, str]:
    try:
        ipaddress.ip_address(value)
        return {"ip": value}
    except ValueError:
        return {"hostname": value}


def published_addresses(config: Config, cluster: Cluster, controller_pods: list[dict[str, Any]]) -> list[dict[str, str]]:
    """status.go's runningAddresses: the publish-status-address, else the publish-service's
    addresses by its type, else the nodes its pods run on (ExternalIP before InternalIP)."""
    if config.publish_status_address:
        return [_address(part.strip()) for part in config.publish_status_address.split(",") if part.strip()]
    if config.publish_service:
        namespace, _, name = config.publish_service.rpartition("/")
        try:
            service = cluster.store.get(SERVICES, namespace or config.namespace, name)
        except NotFound:
            return []
        spec = service.get("spec") or {}
        kind = spec.get("type", "ClusterIP")
        if kind == "ExternalName":
            return [{"hostname": str(spec.get("externalName", ""))}]
        found: list[dict[str, str]] = []
        if kind == "LoadBalancer":
            found = [dict(entry) for entry in ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []]
        elif spec.get("clusterIP") and spec.get("clusterIP") != "None":
            found = [{"ip": str(spec["clusterIP"])}]
        return found + [{"ip": str(ip)} for ip in spec.get("externalIPs") or []]
    addresses: list[dict[str, str]] = []
    for pod in controller_pods:
        try:
            node = cluster.store.get(NODES, "", str((pod.get("spec") or {}).get("nodeName", "")))
        except NotFound:
            continue
        known = {a.get("type"): a.get("address") for a in (node.get("status") or {}).get("addresses") or []}
        chosen = known.get("ExternalIP") or known.get("InternalIP")
        if chosen and {"ip": chosen} not in addresses:
            addresses.append({"ip": str(chosen)})
    return addresses


def _sorted(addresses: list[dict[str, str]]) -> list[dict[str, str]]:
    return sorted(addresses, key=lambda entry: (entry.get("ip", ""), entry.get("hostname", "")))


_synced: dict[str, tuple[int, str]] = {}
"""The generation and controller an Ingress was last announced for (its ``Sync`` event)."""


def reconcile(cluster: Cluster) -> None:
    pods = cluster.store.list(PODS)
    configs = controllers(pods)
    if not configs:
        return
    ingresses = cluster.store.list(networking("ingresses"))
    classes = {c["metadata"]["name"]: c for c in cluster.store.list(networking("ingressclasses"))}
    for config in configs:
        same = [c.pod for c in configs if c.controller_class == config.controller_class and c.ingress_class == config.ingress_class]
        addresses = _sorted(published_addresses(config, cluster, same))
        for ingress in served(config, ingresses, classes):
            _announce(cluster, ingress, config)
            if config.update_status:
                _publish(cluster, ingress, addresses)


def _announce(cluster: Cluster, ingress: dict[str, Any], config: Config) -> None:
    uid = str(ingress["metadata"].get("uid"))
    seen = (int(ingress["metadata"].get("generation", 1)), str(config.pod["metadata"].get("uid")))
    if _synced.get(uid) == seen:
        return
    _synced[uid] = seen
    cluster.event(ingress, "Sync", "Scheduled for sync", component=COMPONENT)


def _publish(cluster: Cluster, ingress: dict[str, Any], addresses: list[dict[str, str]]) -> None:
    status = ingress.setdefault("status", {})
    wanted = {"ingress": addresses} if addresses else {}
    if (status.get("loadBalancer") or {}) == wanted:
        return
    status["loadBalancer"] = wanted
    cluster.save(networking("ingresses"), ingress)
