"""A Service's ports resolved per pod as the EndpointSlice controller's FindPort does: a named
targetPort no container declares gives the pods no endpoint for that port (Endpoints empty,
the pods in a slice without ports, kubectl's ``<unset>``), and kube-proxy then has no backend,
so a client is refused; a selector that matches nothing leaves a placeholder slice without
ports; slices carry the Service's labels."""

from __future__ import annotations

import json

from tests.sandboxes import Kubectl, eventually

APP = """
apiVersion: apps/v1
kind: Deployment
metadata: {{name: cart, labels: {{app: cart}}}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: cart}}}}
  template:
    metadata: {{labels: {{app: cart}}}}
    spec:
      containers:
      - name: cart
        image: httpd:2.4
        ports: [{{name: web, containerPort: 80}}]
---
apiVersion: v1
kind: Service
metadata: {{name: cart, labels: {{app: cart, team: shop}}}}
spec:
  selector: {{app: {selected}}}
  ports: [{{name: http, port: 8080, targetPort: {target}}}]
"""


def _slices(kubectl: Kubectl, namespace: str) -> list[dict]:
    found = kubectl("get", "endpointslices", "-n", namespace, "-l", "kubernetes.io/service-name=cart", "-o", "json").stdout
    return json.loads(found)["items"]


def _wget(kubectl: Kubectl, namespace: str) -> str:
    done = kubectl("exec", "client", "-n", namespace, "--", "wget", "-qO-", "-T", "2", "http://cart:8080/", check=False)
    return done.stdout + done.stderr


def test_a_named_target_port_no_container_declares_gives_no_endpoint_and_a_refusal(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("apply", "-n", namespace, "-f", "-", stdin=APP.format(selected="cart", target="http"))
    kubectl("run", "client", "-n", namespace, "--image=busybox:1.36", "--", "sleep", "3600")
    kubectl("wait", "pod", "--all", "-n", namespace, "--for=condition=Ready", "--timeout=60s")
    eventually(lambda: [len(s["endpoints"]) for s in _slices(kubectl, namespace)] == [2], "both pods in the slice")
    [only] = _slices(kubectl, namespace)
    assert not only.get("ports") and all(e["conditions"]["ready"] for e in only["endpoints"])
    listed = kubectl("get", "endpointslices,endpoints", "-n", namespace, "-l", "app=cart", "--no-headers").stdout.split("\n")
    assert listed[0].split()[2] == "<unset>" and listed[1].split()[1] == "<none>", listed  # the Service's labels are the slice's
    assert "Connection refused" in _wget(kubectl, namespace)
    kubectl("patch", "service", "cart", "-n", namespace, "--type=json", "-p",
            '[{"op": "replace", "path": "/spec/ports/0/targetPort", "value": "web"}]')
    eventually(lambda: [p.get("port") for s in _slices(kubectl, namespace) for p in s.get("ports") or []] == [80], "port 80 resolved")
    assert kubectl("get", "endpoints", "cart", "-n", namespace, "-o", "jsonpath={.subsets[0].ports[0].port}").stdout == "80"
    assert "It works!" in _wget(kubectl, namespace)


def test_a_selector_matching_nothing_leaves_a_placeholder_slice_without_ports(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("apply", "-n", namespace, "-f", "-", stdin=APP.format(selected="basket", target="web"))
    eventually(lambda: len(_slices(kubectl, namespace)) == 1, "the placeholder slice")
    [placeholder] = _slices(kubectl, namespace)
    assert placeholder["endpoints"] == [] and not placeholder.get("ports")
    assert "ClusterIP" in kubectl("describe", "service", "cart", "-n", namespace).stdout  # kubectl describe reads it whole
