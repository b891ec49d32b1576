"""The sandbox's data plane: names, addresses, and who may connect to whom.

Every connection a simulated program opens goes through :meth:`Network.connect`:
the destination is resolved (a Service's cluster IP to one of its ready
endpoints and the target port, or a pod IP), then decided by the data plane's
hooks topics provide (:mod:`labrunner.sandbox.dataplane`), each only while
what enforces it runs on this cluster. A denied connection is dropped (the
client times out, as with Calico); a port nothing listens on is refused.

DNS is the cluster's CoreDNS, answering as the Corefile its pods loaded says
(:mod:`labrunner.sandbox.coredns`), with the pod's search domains; a lookup is
itself a UDP 53 connection to a kube-dns pod, so egress policies apply.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass
from typing import Any, Literal

from labrunner.sandbox import images, resources
from labrunner.sandbox.dataplane import Attempt, connection_filters, decide
from labrunner.sandbox.store import NotFound, Store

Outcome = Literal["connected", "timeout", "refused", "unreachable"]
CLUSTER_DOMAIN = "cluster.local"
KUBE_DNS = "10.96.0.10"

@dataclass(frozen=True)
class Connection:
    outcome: Outcome
    address: str
    port: int
    pod: dict[str, Any] | None = None
    """The pod that accepted the connection."""
    reason: str = ""
    """Why it did not connect (a data plane hook's sentence for a drop)."""
    target: int = 0
    """The pod's port it reached (a Service's targetPort)."""
    outside: bool = False
    """It reached an address outside the cluster (the sandbox answers for it, saying so)."""


def _rt(group: str, plural: str) -> Any:
    return resources.lookup(group, "v1", plural)


class StoreObjects:
    """The store as the data plane's hooks read it."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def list(self, group: str, plural: str, namespace: str | None = None) -> list[dict[str, Any]]:
        resource = _rt(group, plural)
        return self.store.list(resource, namespace) if resource is not None else []

    def get(self, group: str, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        resource = _rt(group, plural)
        if resource is None:
            return None
        try:
            return self.store.get(resource, namespace if resource.namespaced else "", name)
        except NotFound:
            return None


class Network:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.objects = StoreObjects(store)
        self.data_root = store.path.parent / "data"
        """Where pods' files live (``<namespace>/<pod>/<container>/fs``, volumes)."""
        self.filters = connection_filters()

    # -- what pods carry ----------------------------------------------------------------

    def secret_value(self, namespace: str, name: str, key: str) -> str | None:
        import base64

        try:
            secret = self.store.get(_rt("", "secrets"), namespace, name)
        except NotFound:
            return None
        value = (secret.get("data") or {}).get(key)
        return base64.b64decode(value).decode(errors="replace") if value is not None else None

    def config_map_value(self, namespace: str, name: str, key: str) -> str | None:
        try:
            config_map = self.store.get(_rt("", "configmaps"), namespace, name)
        except NotFound:
            return None
        value = (config_map.get("data") or {}).get(key)
        return str(value) if value is not None else None

    def container_environment(self, pod: dict[str, Any], container: dict[str, Any]) -> dict[str, str]:
        """The environment ``container`` of ``pod`` runs with, as the kubelet builds it when the container starts."""
        from labrunner.sandbox.container_start import kept
        from labrunner.sandbox.environment import container_environment

        namespace = pod["metadata"]["namespace"]

        def take() -> dict[str, str]:
            services = self.objects.list("", "services", namespace)
            if namespace != "default":
                services += [s for s in self.objects.list("", "services", "default") if s["metadata"]["name"] == "kubernetes"]
            return container_environment(pod, container, lambda kind, name: self.objects.get("", kind, namespace, name), services,
                                         lambda node: self.objects.get("", "nodes", "", node))

        # taken when the container starts, kept until it restarts: a later ConfigMap edit does not reach it
        return dict(kept(pod, container, "environment", take))

    def pod_environment(self, pod: dict[str, Any]) -> dict[str, str]:
        """The first container's environment."""
        return self.container_environment(pod, ((pod.get("spec") or {}).get("containers") or [{}])[0])

    def access_log(self, server: dict[str, Any], client: dict[str, Any], method: str, path: str, status: int, size: int, agent: str) -> None:
        """The web server's access line, as Apache or nginx writes it, into its container log."""
        import datetime

        container = ((server.get("spec") or {}).get("containers") or [{}])[0].get("name", "")
        moment = datetime.datetime.now(datetime.timezone.utc).strftime("%d/%b/%Y:%H:%M:%S +0000")
        client_ip = (client.get("status") or {}).get("podIP", "-")
        line = f'{client_ip} - - [{moment}] "{method} {path} HTTP/1.1" {status} {size} "-" "{agent}"'
        self.store.append_log(server["metadata"]["namespace"], server["metadata"]["name"], str(container), [line])

    # -- names ----------------------------------------------------------------------------

    def pods(self) -> list[dict[str, Any]]:
        return [p for p in self.store.list(_rt("", "pods")) if (p.get("status") or {}).get("podIP") and not p["metadata"].get("deletionTimestamp")]

    def pod_by_ip(self, address: str) -> dict[str, Any] | None:
        return next((p for p in self.pods() if p["status"]["podIP"] == address), None)

    def service_by_ip(self, address: str) -> dict[str, Any] | None:
        return next((s for s in self.store.list(_rt("", "services")) if (s.get("spec") or {}).get("clusterIP") == address), None)

    def candidates(self, name: str, namespace: str) -> list[str]:
        """The fully qualified names a resolver in ``namespace`` tries, in order (ndots:5)."""
        name = name.rstrip(".")
        searches = [f"{namespace}.svc.{CLUSTER_DOMAIN}", f"svc.{CLUSTER_DOMAIN}", CLUSTER_DOMAIN]
        if name.count(".") >= 5:
            return [name] + [f"{name}.{s}" for s in searches]
        return [f"{name}.{s}" for s in searches] + [name]

    # -- connections ------------------------------------------------------------------------

    def listens(self, pod: dict[str, Any], protocol: str, port: int) -> bool:
        return self.listener(pod, protocol, port) is not None

    def listener(self, pod: dict[str, Any], protocol: str, port: int) -> tuple[dict[str, Any], Any] | None:
        """The container of ``pod`` whose server listens there, with its main process: the ports
        its image's server listens on as its arguments and configuration say (a containerPort
        declares, it does not make nginx listen on 8080), while that container runs."""
        from labrunner.sandbox.entrypoints import main_process

        status = pod.get("status") or {}
        running = {s.get("name"): "running" in (s.get("state") or {})
                   for s in [*(status.get("containerStatuses") or []), *(status.get("initContainerStatuses") or [])]}
        spec = pod.get("spec") or {}
        sidecars = [c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
        for container in [*(spec.get("containers") or []), *sidecars]:
            if not running.get(container.get("name"), True):
                continue
            image = images.lookup(str(container.get("image", "")))
            if image is None:
                continue
            files = None
            if image.kin == "nginx":
                files = self.container_files(pod, container)
            process = main_process(container, files.get if files is not None else None, (lambda: list(files)) if files is not None else None)
            if process is None or process.kind != "server":
                continue
            served = set(process.ports)
            if image.does == "dns":  # what its Corefile says, once CoreDNS has loaded one
                from labrunner.sandbox.coredns.instances import ports

                served = ports(pod) or served
            if (protocol, port) in served:
                return container, process
        return None

    def container_files(self, pod: dict[str, Any], container: dict[str, Any]) -> Any:
        """The files ``container`` sees (image, writable layer, volumes)."""
        from labrunner.sandbox import processes
        from labrunner.sandbox.filesystem import files_of

        namespace = pod["metadata"]["namespace"]
        box = processes.Container(pod=pod["metadata"]["name"], namespace=namespace, name=str(container.get("name")),
                                  image=str(container.get("image")), env={})
        return files_of(box, pod, container, self.data_root, lambda kind, name: self.objects.get("", kind, namespace, name))

    def _ready(self, pod: dict[str, Any]) -> bool:
        return any(c.get("type") == "Ready" and c.get("status") == "True" for c in (pod.get("status") or {}).get("conditions") or [])

    def connect(self, source: dict[str, Any], address: str, protocol: str, port: int) -> Connection:
        """Open a connection from ``source`` (a pod) to ``address:port``."""
        target_port = port
        destination: dict[str, Any] | None
        if _loopback(address):
            # inside the pod's own network namespace: its containers, and no policy applies
            if not self.listens(source, protocol, port):
                return Connection("refused", address, port, source, f"nothing listens on {protocol} {port} in the pod itself")
            return Connection("connected", address, port, source, target=port)
        service: dict[str, Any] | None = self.service_by_ip(address)
        if service is None and (node_port := self._node_port(address, protocol, port)) is not None:
            # kube-proxy on every node sends a nodePort to the Service's port
            service = node_port[0]
            address, port = str(service["spec"]["clusterIP"]), int(node_port[1]["port"])
        if service is not None:
            spec_port = next((p for p in (service.get("spec") or {}).get("ports") or []
                              if p.get("port") == port and p.get("protocol", "TCP") == protocol), None)
            if spec_port is None:
                return Connection("refused", address, port, reason=f"service {service['metadata']['name']} has no {protocol} port {port}")
            selector = (service.get("spec") or {}).get("selector") or {}
            if not selector:
                return self._without_selector(source, service, spec_port, address, protocol, port)
            backends = [p for p in self.pods() if p["metadata"]["namespace"] == service["metadata"]["namespace"]
                        and all((p["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items()) and self._ready(p)]
            target = spec_port.get("targetPort", port)
            # kube-proxy sends a port only to the endpoints its EndpointSlices give that port: a pod
            # where a named targetPort resolves to nothing is none (the controller's FindPort)
            backends = [p for p in backends if self._resolve_target_port(p, target, protocol) is not None]
            if not backends:
                return Connection("refused", address, port, reason=f"service {service['metadata']['name']} has no ready endpoints")
            destination = random.choice(backends)
            target_port = self._resolve_target_port(destination, target, protocol) or port
        else:
            destination = self.pod_by_ip(address)
            if destination is None and outside(address):
                # beyond the cluster: egress policies decide (ipBlock rules); what answers is the
                # sandbox's stand-in for the host, said as such where it shows
                dropped = self._decide_outside(source, address, protocol, port)
                if dropped is not None:
                    return Connection("timeout", address, port, reason=dropped)
                return Connection("connected", address, port, target=port, outside=True)
            if destination is None:
                return Connection("unreachable", address, port, reason="no pod has this address")
        verdict = self._decide(source, destination, protocol, target_port)
        if verdict is not None:
            return Connection("timeout", address, port, destination, verdict)
        if not self.listens(destination, protocol, target_port):
            return Connection("refused", address, port, destination, f"nothing listens on {protocol} {target_port} in {destination['metadata']['name']}")
        return Connection("connected", address, port, destination, target=target_port)

    def _node_port(self, address: str, protocol: str, port: int) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The Service and port a node's address and nodePort stand for, or None."""
        nodes = self.objects.list("", "nodes")
        if not any(entry.get("address") == address for node in nodes for entry in (node.get("status") or {}).get("addresses") or []):
            return None
        for service in self.store.list(_rt("", "services")):
            for spec_port in (service.get("spec") or {}).get("ports") or []:
                if spec_port.get("nodePort") == port and spec_port.get("protocol", "TCP") == protocol and (service.get("spec") or {}).get("clusterIP"):
                    return service, spec_port
        return None

    def _without_selector(self, source: dict[str, Any], service: dict[str, Any], spec_port: dict[str, Any], address: str, protocol: str,
                          port: int) -> Connection:
        """A Service without a selector reaches the ready endpoints its EndpointSlices list (written by
        someone else: kube-apiserver for ``kubernetes``, a user for an outside database)."""
        name, namespace = service["metadata"]["name"], service["metadata"]["namespace"]
        found: list[tuple[str, int]] = []
        for endpoint_slice in self.objects.list("discovery.k8s.io", "endpointslices", namespace):
            if (endpoint_slice["metadata"].get("labels") or {}).get("kubernetes.io/service-name") != name:
                continue
            slice_port = next((p for p in endpoint_slice.get("ports") or [] if (p.get("name") or "") == (spec_port.get("name") or "")
                               and p.get("protocol", "TCP") == protocol), None)
            if slice_port is None or slice_port.get("port") is None:
                continue
            found += [(str(a), int(slice_port["port"])) for endpoint in endpoint_slice.get("endpoints") or []
                      if (endpoint.get("conditions") or {}).get("ready", True) is not False for a in endpoint.get("addresses") or []]
        if not found:
            return Connection("refused", address, port, reason=f"service {name} has no ready endpoints")
        endpoint_address, target_port = random.choice(found)
        destination = self.pod_by_ip(endpoint_address)
        if destination is None:
            return Connection("unreachable", address, port, reason=(
                f"service {name} sends {port} to {endpoint_address}:{target_port}, which is no pod: the labrunner sandbox does not "
                "simulate what listens there (the API server's own address, a machine outside the cluster)"))
        verdict = self._decide(source, destination, protocol, target_port)
        if verdict is not None:
            return Connection("timeout", address, port, destination, verdict)
        if not self.listens(destination, protocol, target_port):
            return Connection("refused", address, port, destination, f"nothing listens on {protocol} {target_port} in {destination['metadata']['name']}")
        return Connection("connected", address, port, destination, target=target_port)

    def _resolve_target_port(self, pod: dict[str, Any], target: Any, protocol: str) -> int | None:
        if isinstance(target, int):
            return target
        if isinstance(target, str) and target.isdigit():
            return int(target)
        spec = pod.get("spec") or {}
        sidecars = [c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
        for container in [*(spec.get("containers") or []), *sidecars]:
            for declared in container.get("ports") or []:
                if declared.get("name") == target and declared.get("protocol", "TCP") == protocol:
                    return int(declared["containerPort"])
        return None

    def ping(self, source: dict[str, Any], address: str) -> bool:
        """Whether an ICMP echo from ``source`` gets its reply. A Service's cluster IP never
        answers (kube-proxy forwards only its ports); to a pod, the hooks are asked about
        protocol ICMP, port 0."""
        if self.service_by_ip(address) is not None:
            return False
        if _loopback(address):
            return True
        if outside(address) and self.pod_by_ip(address) is None:
            return self._decide_outside(source, address, "ICMP", 0) is None
        destination = self.pod_by_ip(address)
        if destination is None:
            return False
        return self._decide(source, destination, "ICMP", 0) is None

    def _decide_outside(self, source: dict[str, Any], address: str, protocol: str, port: int) -> str | None:
        verdict = decide(self.filters, Attempt(source, None, protocol, port, address), self.objects)
        return None if verdict.allowed else verdict.reason

    def _decide(self, source: dict[str, Any], destination: dict[str, Any], protocol: str, port: int) -> str | None:
        """None when allowed; otherwise the hook's sentence for why it was dropped."""
        verdict = decide(self.filters, Attempt(source, destination, protocol, port), self.objects)
        return None if verdict.allowed else verdict.reason

    def dns_lookup(self, source: dict[str, Any], name: str) -> Any:
        """``name`` looked up from ``source`` through the cluster DNS, as a
        :class:`labrunner.sandbox.coredns.resolver.Lookup` (one call: a container's thread runs it
        on the loop whole)."""
        from labrunner.sandbox.coredns.resolver import lookup

        return lookup(self, source, name)

    def resolve(self, source: dict[str, Any], name: str) -> tuple[str | None, str | None, bool]:
        """(address, fully qualified name, DNS reachable) for ``name`` as seen from ``source``:
        an address as it is, the pod's /etc/hosts (localhost, its own name), then CoreDNS."""
        try:
            ipaddress.ip_address(name)
            return name, name, True
        except ValueError:
            pass
        if name in ("localhost", "localhost.localdomain", "ip6-localhost"):
            return LOOPBACK, name, True
        if name == source["metadata"]["name"] and (source.get("status") or {}).get("podIP"):
            return str(source["status"]["podIP"]), name, True
        found = self.dns_lookup(source, name)
        if not found.reachable:
            return None, None, False
        return (found.addresses[0], found.name, True) if found.addresses else (None, None, True)


LOOPBACK = "127.0.0.1"
OUTSIDE_STAND_INS = ipaddress.ip_network("203.0.113.0/24")
"""TEST-NET-3 (RFC 5737): the addresses names outside the cluster resolve to."""
PUBLIC_SUFFIXES = frozenset({"com", "org", "net", "io", "dev", "app", "edu", "gov", "info", "cloud", "ai", "co", "uk", "de", "fr",
                             "nl", "eu", "us", "ca", "au", "jp", "in", "sh", "me", "tech", "example", "test"})
"""Top-level domains whose names resolve (to a stand-in address); any other name outside the cluster is NXDOMAIN."""


def external_address(name: str) -> str:
    """The stand-in address for a host outside the cluster: the same name, the same address."""
    import hashlib

    number = int.from_bytes(hashlib.sha256(name.rstrip(".").lower().encode()).digest()[:2], "big") % 254 + 1
    return str(OUTSIDE_STAND_INS.network_address + number)


def outside(address: str) -> bool:
    """An address beyond the cluster: a stand-in, or any public address."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return parsed in OUTSIDE_STAND_INS or parsed.is_global


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


