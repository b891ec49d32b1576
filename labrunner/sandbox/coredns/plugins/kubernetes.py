"""The kubernetes plugin: the cluster's names from its Services and pods, as its setup parses
``kubernetes [ZONES...] { pods ..., fallthrough ..., ttl ..., namespaces ... }``.

Records: ``svc.ns.svc.ZONE`` (the cluster IP; a headless Service's ready pods; an ExternalName's
CNAME, resolved on through this server as the plugin's upstream does), ``host.svc.ns.svc.ZONE``
(a pod with that hostname and subdomain, or a dashed endpoint address, of a headless Service),
``a-b-c-d.ns.pod.ZONE`` (as ``pods`` says: insecure answers any address, verified only a pod's,
disabled none) and the reverse names of Service and endpoint addresses. A name in its zones it
has no record for is NXDOMAIN, unless ``fallthrough`` covers it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from labrunner.sandbox.coredns.dispenser import Controller
from labrunner.sandbox.coredns.messages import NOERROR, NXDOMAIN, Query, Record, Reply
from labrunner.sandbox.coredns.names import best_zone, normalize, split_host_port, transport
from labrunner.sandbox.coredns.plugins.base import Context, Next, Plugin
from labrunner.sandbox.coredns.corefile import CorefileError

CONNECTION = frozenset({"endpoint", "tls", "kubeconfig", "startup_timeout", "apiserver_qps", "apiserver_burst", "apiserver_max_inflight"})
"""Options about reaching the API server: the sandbox's CoreDNS reads the store, so they change nothing."""
UNSIMULATED = frozenset({"labels", "namespace_labels", "noendpoints", "ignore", "multicluster"})


def origins(arguments: list[str], server_block_keys: list[str]) -> list[str]:
    """plugin.OriginsFromArgsOrServerBlock: the zones named, else the server block's."""
    zones: list[str] = []
    for key in arguments or server_block_keys:
        try:
            hosts, _ = split_host_port(transport(key)[1])
        except ValueError:
            continue
        zones += [normalize(host) for host in hosts]
    return zones


def fall_zones(arguments: list[str]) -> tuple[str, ...]:
    """fall.SetZonesFromArgs: no zones means every name."""
    return tuple(normalize(zone) for zone in arguments) if arguments else (".",)


@dataclass
class Kubernetes(Plugin):
    name = "kubernetes"
    zones: list[str] = field(default_factory=list)
    pod_mode: str = "disabled"
    fallthrough: tuple[str, ...] = ()
    ttl: int = 5
    namespaces: frozenset[str] = frozenset()
    endpoint_pod_names: bool = False

    def serve(self, query: Query, context: Context, following: Next) -> Reply:
        zone = best_zone(self.zones, query.name)
        if not zone:
            return following(query)
        if query.type == "PTR":
            found = self._reverse(query.name, context)
            answer = tuple(Record(query.name, "PTR", name, self.ttl) for name in found)
        else:
            records = self._forward(query, zone, context)
            if records is None:
                answer = ()
            else:
                answer = records
                if not answer:
                    return Reply(NOERROR, authoritative=True, soa=zone)
        if not answer:
            if best_zone(self.fallthrough, query.name):
                return following(query)
            return Reply(NXDOMAIN, authoritative=True, soa=zone)
        cname = next((r for r in answer if r.type == "CNAME"), None)
        if cname is not None and query.type in ("A", "AAAA"):
            further = context.upstream(query.renamed(cname.value))
            return Reply(NOERROR, (cname, *further.answer), authoritative=True)
        return Reply(NOERROR, answer, authoritative=True)

    # -- names ------------------------------------------------------------------------------------

    def _exposed(self, namespace: str, context: Context) -> bool:
        if self.namespaces and namespace not in self.namespaces:
            return False
        return context.network.objects.get("", "namespaces", "", namespace) is not None

    def _forward(self, query: Query, zone: str, context: Context) -> tuple[Record, ...] | None:
        """The records for the name; () when it exists with none of the type asked (NODATA),
        None when it does not exist."""
        head = query.name.lower().removesuffix(zone).removesuffix(".").split(".") if query.name.lower() != zone else []
        head = [label for label in head if label]
        if len(head) == 3 and head[2] == "svc":
            return self._service(query, head[0], head[1], context)
        if len(head) == 4 and head[3] == "svc":
            return self._endpoint(query, head[0], head[1], head[2], context)
        if len(head) == 3 and head[2] == "pod":
            return self._pod(query, head[0], head[1], context)
        if len(head) == 2 and head[1] in ("svc", "pod") and self._exposed(head[0], context):
            return ()
        if head in ([], ["svc"], ["pod"]):
            return ()
        return None

    def _service(self, query: Query, name: str, namespace: str, context: Context) -> tuple[Record, ...] | None:
        if not self._exposed(namespace, context):
            return None
        service = context.network.objects.get("", "services", namespace, name)
        if service is None:
            return None
        spec = service.get("spec") or {}
        if spec.get("type") == "ExternalName" and spec.get("externalName"):
            return (Record(query.name, "CNAME", normalize(str(spec["externalName"])), self.ttl),)
        if query.type != "A":
            return ()
        address = spec.get("clusterIP")
        if address and address != "None":
            return (Record(query.name, "A", str(address), self.ttl),)
        pods = _ready_backends(context, namespace, spec.get("selector") or {})
        if not pods:
            return None
        addresses = sorted((str(p["status"]["podIP"]) for p in pods), key=ipaddress.ip_address)
        return tuple(Record(query.name, "A", address, self.ttl) for address in addresses)

    def _endpoint(self, query: Query, host: str, name: str, namespace: str, context: Context) -> tuple[Record, ...] | None:
        if not self._exposed(namespace, context):
            return None
        service = context.network.objects.get("", "services", namespace, name)
        if service is None or (service.get("spec") or {}).get("clusterIP") != "None":
            return None
        selector = (service.get("spec") or {}).get("selector") or {}
        found = [str(p["status"]["podIP"]) for p in _ready_backends(context, namespace, selector)
                 if _endpoint_name(p, name, self.endpoint_pod_names) == host]
        found += [str(p["status"]["podIP"]) for p in context.network.pods() if p["metadata"]["namespace"] == namespace
                  and (p.get("spec") or {}).get("hostname") == host and (p.get("spec") or {}).get("subdomain") == name
                  and str(p["status"]["podIP"]) not in found]
        if not found:
            return None
        return tuple(Record(query.name, "A", address, self.ttl) for address in found) if query.type == "A" else ()

    def _pod(self, query: Query, dashed: str, namespace: str, context: Context) -> tuple[Record, ...] | None:
        if self.pod_mode == "disabled" or not self._exposed(namespace, context):
            return None
        candidate = dashed.replace("-", ".")
        try:
            ipaddress.IPv4Address(candidate)
        except ValueError:
            return None
        if self.pod_mode == "verified" and not any(p["metadata"]["namespace"] == namespace and p["status"]["podIP"] == candidate
                                                   for p in context.network.pods()):
            return None
        return (Record(query.name, "A", candidate, self.ttl),) if query.type == "A" else ()

    def _reverse(self, name: str, context: Context) -> list[str]:
        """The names of a reverse lookup: a Service's cluster IP, or an endpoint of a Service."""
        labels = name.lower().removesuffix(".in-addr.arpa.").split(".")
        if len(labels) != 4:
            return []
        address = ".".join(reversed(labels))
        zone = next((z for z in self.zones if not z.endswith(".arpa.")), "cluster.local.")
        network = context.network
        for service in network.objects.list("", "services"):
            if (service.get("spec") or {}).get("clusterIP") == address and self._exposed(service["metadata"]["namespace"], context):
                return [f"{service['metadata']['name']}.{service['metadata']['namespace']}.svc.{zone}"]
        for service in network.objects.list("", "services"):
            spec, namespace = service.get("spec") or {}, service["metadata"]["namespace"]
            if not spec.get("selector") or not self._exposed(namespace, context):
                continue
            for pod in _ready_backends(context, namespace, spec["selector"]):
                if pod["status"]["podIP"] == address:
                    host = _endpoint_name(pod, service["metadata"]["name"], self.endpoint_pod_names)
                    return [f"{host}.{service['metadata']['name']}.{namespace}.svc.{zone}"]
        return []


def _ready_backends(context: Context, namespace: str, selector: Mapping[str, Any]) -> list[dict[str, Any]]:
    if not selector:
        return []
    return [p for p in context.network.pods() if p["metadata"]["namespace"] == namespace and _ready(p)
            and all((p["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())]


def _ready(pod: Mapping[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in (pod.get("status") or {}).get("conditions") or [])


def _endpoint_name(pod: Mapping[str, Any], service: str, pod_names: bool) -> str:
    """An endpoint's name: its hostname when its subdomain is the Service, the pod's name with
    endpoint_pod_names, else its address dashed."""
    spec = pod.get("spec") or {}
    if spec.get("hostname") and spec.get("subdomain") == service:
        return str(spec["hostname"])
    if pod_names:
        return str(pod["metadata"]["name"])
    return str(pod["status"]["podIP"]).replace(".", "-")


def setup(c: Controller, warnings: list[str]) -> Kubernetes:
    """ParseStanza, with its refusals in the plugin's words."""
    plugin: Kubernetes | None = None
    while c.next():
        if plugin is not None:
            raise CorefileError("this plugin can only be used once per Server Block")
        plugin = Kubernetes(zones=origins(c.remaining_args(), c.server_block_keys))
        if all(zone.endswith(".arpa.") for zone in plugin.zones):
            raise CorefileError("non-reverse zone name must be used")
        namespaces: set[str] = set()
        while c.next_block():
            option = c.val()
            if option == "pods":
                arguments = c.remaining_args()
                if len(arguments) != 1:
                    raise c.arg_err()
                if arguments[0] not in ("disabled", "insecure", "verified"):
                    raise CorefileError(f"wrong value for pods: {arguments[0]},  must be one of: disabled, verified, insecure")
                plugin.pod_mode = arguments[0]
            elif option == "namespaces":
                arguments = c.remaining_args()
                if not arguments:
                    raise c.arg_err()
                namespaces.update(arguments)
            elif option == "fallthrough":
                plugin.fallthrough = fall_zones(c.remaining_args())
            elif option == "ttl":
                arguments = c.remaining_args()
                if not arguments:
                    raise c.arg_err()
                try:
                    ttl = int(arguments[0])
                except ValueError:
                    raise CorefileError(f'strconv.Atoi: parsing "{arguments[0]}": invalid syntax') from None
                if not 0 <= ttl <= 3600:
                    raise c.err(f"ttl must be in range [0, 3600]: {ttl}")
                plugin.ttl = ttl
            elif option == "endpoint_pod_names":
                if c.remaining_args():
                    raise c.arg_err()
                plugin.endpoint_pod_names = True
            elif option in CONNECTION:
                c.remaining_args()
            elif option in UNSIMULATED:
                c.remaining_args()
                warnings.append(f"[WARNING] plugin/kubernetes: the labrunner sandbox does not simulate '{option}': "
                                "every Service and pod of the exposed namespaces is answered")
            else:
                raise c.err(f"unknown property '{option}'")
        plugin.namespaces = frozenset(namespaces)
    assert plugin is not None
    return plugin
