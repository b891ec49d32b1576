"""The ``kubernetes`` Service kube-apiserver keeps in ``default``, and two ways to reach a Service
that are not its selector: a node's address with a nodePort (kube-proxy on every node), and a
Service without a selector whose EndpointSlices someone else writes."""

from __future__ import annotations

import json
from pathlib import Path

from labrunner.sandbox import resources
from labrunner.sandbox.seed import ensure_kubernetes_service, seed
from labrunner.sandbox.store import Store
from tests.sandboxes import Kubectl


def _get(kubectl: Kubectl, *argv: str) -> dict:  # type: ignore[type-arg]
    return json.loads(kubectl("get", *argv, "-o", "json").stdout)  # type: ignore[no-any-return]


def test_the_kubernetes_service_as_kube_apiserver_creates_it(kubectl: Kubectl) -> None:
    service = _get(kubectl, "service", "kubernetes", "-n", "default")
    assert service["metadata"]["labels"] == {"component": "apiserver", "provider": "kubernetes"}
    spec = service["spec"]
    assert (spec["type"], spec["clusterIP"], spec.get("selector"), spec["sessionAffinity"]) == ("ClusterIP", "10.96.0.1", None, "None")
    assert spec["ports"] == [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]
    endpoints = _get(kubectl, "endpoints", "kubernetes", "-n", "default")
    assert endpoints["metadata"]["labels"] == {"endpointslice.kubernetes.io/skip-mirror": "true"}
    assert endpoints["subsets"] == [{"addresses": [{"ip": "10.89.0.2"}], "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}]
    endpoint_slice = _get(kubectl, "endpointslice", "kubernetes", "-n", "default")
    assert endpoint_slice["metadata"]["labels"] == {"kubernetes.io/service-name": "kubernetes"}
    assert endpoint_slice["endpoints"] == [{"addresses": ["10.89.0.2"], "conditions": {"ready": True}}]
    control_plane = _get(kubectl, "node", "labrunner-sandbox-control-plane")["status"]["addresses"]
    assert {"type": "InternalIP", "address": "10.89.0.2"} in control_plane
    table = kubectl("get", "service", "kubernetes", "-n", "default").stdout.splitlines()
    assert table[1].split()[:5] == ["kubernetes", "ClusterIP", "10.96.0.1", "<none>", "443/TCP"]


def test_kubernetes_default_resolves_from_any_namespace(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("run", "client", "-n", namespace, "--image=busybox:1.36", "--", "sleep", "3600")
    kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/client", "--timeout=60s")
    for name in ("kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"):
        answer = kubectl("exec", "-n", namespace, "client", "--", "nslookup", name).stdout
        assert "Name:\tkubernetes.default.svc.cluster.local\nAddress: 10.96.0.1\n" in answer, answer
    assert "10.96.0.1" in kubectl("exec", "-n", namespace, "client", "--", "printenv", "KUBERNETES_SERVICE_HOST").stdout
    # the API server is no pod: the sandbox says so rather than send the connection to default's pods
    refused = kubectl("exec", "-n", namespace, "client", "--", "nc", "-zv", "-w", "2", "kubernetes.default", "443", check=False)
    assert refused.returncode == 1


def test_a_node_port_on_a_nodes_address_reaches_the_service(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "deployment", "echo", "-n", namespace, "--image=hashicorp/http-echo", "--", "/http-echo", "-text=echo", "-listen=:5678")
    kubectl("expose", "deployment", "echo", "-n", namespace, "--type=NodePort", "--port=80", "--target-port=5678")
    kubectl("run", "client", "-n", namespace, "--image=busybox:1.36", "--", "sleep", "3600")
    kubectl("wait", "-n", namespace, "--for=condition=Available", "deployment/echo", "--timeout=60s")
    kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/client", "--timeout=60s")
    node_port = _get(kubectl, "service", "echo", "-n", namespace)["spec"]["ports"][0]["nodePort"]
    for node in ("10.89.0.2", "10.89.0.3", "10.89.0.4"):  # every node, the control plane's too
        got = kubectl("exec", "-n", namespace, "client", "--", "wget", "-qO-", "-T", "3", f"http://{node}:{node_port}")
        assert got.stdout == "echo\n"
    elsewhere = kubectl("exec", "-n", namespace, "client", "--", "wget", "-qO-", "-T", "3", f"http://10.89.0.3:{node_port + 1}", check=False)
    assert elsewhere.returncode == 1 and "Connection refused" in elsewhere.stderr


def test_a_service_without_a_selector_reaches_the_endpoints_it_is_given(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("run", "db", "-n", namespace, "--image=redis:7.4", "--labels=role=db")
    kubectl("run", "client", "-n", namespace, "--image=busybox:1.36", "--", "sleep", "3600")
    kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/db", "pod/client", "--timeout=60s")
    db = _get(kubectl, "pod", "db", "-n", namespace)["status"]["podIP"]
    kubectl("apply", "-n", namespace, "-f", "-", stdin=f"""
apiVersion: v1
kind: Service
metadata: {{name: legacy}}
spec: {{ports: [{{name: redis, port: 6379}}]}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {{name: legacy-1, labels: {{kubernetes.io/service-name: legacy}}}}
addressType: IPv4
ports: [{{name: redis, port: 6379, protocol: TCP}}]
endpoints: [{{addresses: ["{db}"], conditions: {{ready: true}}}}]
""")
    reached = kubectl("exec", "-n", namespace, "client", "--", "nc", "-zv", "-w", "2", "legacy", "6379", check=False)
    assert reached.returncode == 0, reached.stderr
    kubectl("delete", "endpointslice", "legacy-1", "-n", namespace)
    # and never the namespace's other pods, which no selector chose
    assert kubectl("exec", "-n", namespace, "client", "--", "nc", "-zv", "-w", "2", "legacy", "6379", check=False).returncode == 1


def test_the_service_is_put_back_at_start_and_a_learners_own_is_left_alone(tmp_path: Path) -> None:
    store = Store(tmp_path / "objects.db")
    seed(store)
    services = resources.lookup("", "v1", "services")
    slices = resources.lookup("discovery.k8s.io", "v1", "endpointslices")
    assert services is not None and slices is not None
    store.delete(services, "default", "kubernetes")
    store.delete(slices, "default", "kubernetes")
    ensure_kubernetes_service(store)
    assert store.get(services, "default", "kubernetes")["spec"]["clusterIP"] == "10.96.0.1"
    assert store.get(slices, "default", "kubernetes")["endpoints"][0]["addresses"] == ["10.89.0.2"]
    edited = store.get(services, "default", "kubernetes")
    edited["metadata"]["labels"]["team"] = "platform"
    store.update(services, edited)
    ensure_kubernetes_service(store)
    assert store.get(services, "default", "kubernetes")["metadata"]["labels"]["team"] == "platform"


def test_an_external_name_service_has_no_address_and_no_endpoints(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "service", "externalname", "catalog", "-n", namespace, "--external-name=catalog.shop.svc.cluster.local")
    spec = _get(kubectl, "service", "catalog", "-n", namespace)["spec"]
    assert "clusterIP" not in spec and "ipFamilies" not in spec and spec["externalName"] == "catalog.shop.svc.cluster.local"
    row = kubectl("get", "service", "catalog", "-n", namespace).stdout.splitlines()[1].split()
    assert row[:5] == ["catalog", "ExternalName", "<none>", "catalog.shop.svc.cluster.local", "<none>"]
    assert "No resources found" in kubectl("get", "endpointslices", "-n", namespace).stderr
