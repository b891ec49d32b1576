"""Server-side apply's field ownership: what a manager applied before and leaves out of its next
apply is removed (a readinessProbe moved from tcpSocket to exec keeps no tcpSocket; a label
dropped from the file goes), unless another applier owns it; managedFields records each
applier's fields as kubectl --show-managed-fields prints them."""

from __future__ import annotations

import json

from tests.sandboxes import Kubectl

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {labels}
spec:
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports: [{{containerPort: 80}}]
        readinessProbe: {probe}
"""


def deployment(labels: str = "{app: web, tier: front}", probe: str = "{tcpSocket: {port: 80}}") -> str:
    return DEPLOYMENT.format(labels=labels, probe=probe)


def live(kubectl: Kubectl, namespace: str) -> dict[str, object]:
    found: dict[str, object] = json.loads(kubectl("get", "deployment", "web", "-n", namespace, "-o", "json", "--show-managed-fields").stdout)
    return found


def test_a_field_left_out_of_the_next_apply_goes(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("apply", "--server-side", "-n", namespace, "-f", "-", stdin=deployment())
    kubectl("apply", "--server-side", "-n", namespace, "-f", "-", stdin=deployment(labels="{app: web}", probe='{exec: {command: ["true"]}}'))
    web = live(kubectl, namespace)
    container = web["spec"]["template"]["spec"]["containers"][0]  # type: ignore[index]
    assert set(container["readinessProbe"]) >= {"exec"} and "tcpSocket" not in container["readinessProbe"]
    assert web["metadata"]["labels"] == {"app": "web"}  # type: ignore[index]
    [entry] = [e for e in web["metadata"]["managedFields"] if e["manager"] == "kubectl"]  # type: ignore[index]
    assert entry["operation"] == "Apply" and entry["fieldsType"] == "FieldsV1"
    probe = entry["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"web"}']["f:readinessProbe"]
    assert probe == {"f:exec": {"f:command": {}}}


def test_a_field_another_applier_owns_stays(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("apply", "--server-side", "-n", namespace, "-f", "-", stdin=deployment())
    # A second applier (a CI tool, say) sets the same tier label as its own.
    kubectl("apply", "--server-side", "--field-manager=ci", "--force-conflicts", "-n", namespace, "-f", "-",
            stdin="apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, labels: {tier: front}}\n")
    kubectl("apply", "--server-side", "-n", namespace, "-f", "-", stdin=deployment(labels="{app: web}"))
    assert live(kubectl, namespace)["metadata"]["labels"] == {"app": "web", "tier": "front"}  # type: ignore[index]
