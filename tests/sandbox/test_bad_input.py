"""Faults and bad input: what kube-apiserver refuses is refused with its own words, and one
bad object never stops the cluster (issue 12, items 4-7)."""

from __future__ import annotations

import http.client
import json
import ssl
import textwrap
from typing import Any

import pytest

from labrunner.sandbox.files import SandboxFiles
from tests.sandboxes import Kubectl


def raw(sandbox: SandboxFiles, method: str, path: str, body: bytes | str | None = None,
        content_type: str = "application/json", timeout: float = 30) -> tuple[int, str, Any]:
    """One request as a client that kubectl is not would send it: (status, content type, body as JSON or text)."""
    server = json.loads(sandbox.kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
    host, port = server.removeprefix("https://").split(":")
    context = ssl.create_default_context(cafile=str(sandbox.ca_certificate))
    connection = http.client.HTTPSConnection(host, int(port), context=context, timeout=timeout)
    token = sandbox.token.read_text().strip()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": content_type}
    try:
        connection.request(method, path, body=body.encode() if isinstance(body, str) else body, headers=headers)
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    kind = response.getheader("Content-Type", "")
    try:
        return response.status, kind, json.loads(data)
    except ValueError:
        return response.status, kind, data.decode(errors="replace")


def make_namespace(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)


# -- item 7: a group-version the server does not serve ------------------------------------------


def test_a_wrong_api_version_gets_kubectls_no_matches_for_kind(kubectl: Kubectl, sandbox: SandboxFiles, namespace: str) -> None:
    make_namespace(kubectl, namespace)
    manifest = textwrap.dedent(f"""\
        apiVersion: networking.k8s.io/v1beta1
        kind: NetworkPolicy
        metadata: {{name: np, namespace: {namespace}}}
        spec: {{podSelector: {{}}}}
        """)
    result = kubectl("apply", "-f", "-", stdin=manifest, check=False)
    assert result.returncode != 0
    assert ('error: resource mapping not found for name: "np" namespace: "' + namespace + '" from "STDIN": '
            'no matches for kind "NetworkPolicy" in version "networking.k8s.io/v1beta1"') in result.stderr
    assert "validate=false" not in result.stderr
    code, _, body = raw(sandbox, "GET", "/openapi/v3/apis/networking.k8s.io/v1beta1")
    assert code == 404 and body["reason"] == "NotFound"
    code, kind, _ = raw(sandbox, "GET", "/openapi/v2")
    assert code == 200 and kind.startswith("application/com.github.proto-openapi.spec.v2")


# -- item 4: a wrong-typed field is refused, and the control plane survives any object ---------

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec: {{containers: [{{name: web, image: nginx}}]}}
"""


def test_a_wrong_typed_field_is_refused_in_the_api_servers_words(kubectl: Kubectl, namespace: str) -> None:
    make_namespace(kubectl, namespace)
    result = kubectl("apply", "-f", "-", stdin=DEPLOYMENT.format(name="three", namespace=namespace, replicas='"three"'), check=False)
    assert result.returncode != 0
    assert ('Error from server (BadRequest): error when creating "STDIN": Deployment in version "v1" cannot be handled as a Deployment: '
            "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32") in result.stderr
    assert kubectl("get", "deploy", "-n", namespace, "-o", "name").stdout == ""
    # Other deployments still get their pods.
    kubectl("apply", "-f", "-", stdin=DEPLOYMENT.format(name="two", namespace=namespace, replicas=2))
    kubectl("rollout", "status", "deploy/two", "-n", namespace, "--timeout=60s")


def test_a_patch_that_changes_a_fields_type_is_refused(kubectl: Kubectl, namespace: str) -> None:
    make_namespace(kubectl, namespace)
    kubectl("create", "configmap", "settings", "-n", namespace, "--from-literal=a=b")
    strategic = kubectl("patch", "cm", "settings", "-n", namespace, "-p", '{"data":{"a":5}}', check=False)
    assert strategic.returncode != 0
    assert 'The request is invalid: patch: Invalid value: "map[data:map[a:5]]": cannot convert int64 to string' in strategic.stderr
    merge = kubectl("patch", "cm", "settings", "-n", namespace, "--type=merge", "-p", '{"metadata":"x"}', check=False)
    assert merge.returncode != 0 and "json: cannot unmarshal string into Go struct field ConfigMap.metadata of type v1.ObjectMeta" in merge.stderr
    as_json = kubectl("patch", "cm", "settings", "-n", namespace, "--type=json", "-p", '{"op":"add"}', check=False)
    assert as_json.returncode != 0
    assert ("Error from server (BadRequest): error decoding patch: json: cannot unmarshal object into Go value of type "
            "[]handlers.jsonPatchOp") in as_json.stderr
    assert kubectl("get", "cm", "settings", "-n", namespace, "-o", "jsonpath={.data.a}").stdout == "b"


def test_one_broken_object_is_skipped_and_reported_and_the_others_are_reconciled(tmp_path: Any) -> None:
    from labrunner.sandbox.controllers import ControlPlane
    from labrunner.sandbox.controllers.shared import DEPLOYMENTS, PODS, REPLICASETS
    from labrunner.sandbox.resources import lookup
    from labrunner.sandbox.seed import seed
    from labrunner.sandbox.store import Store

    store = Store(tmp_path / "objects.db")
    seed(store)
    template = {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}}
    # As a sandbox before the API refused it stored it: written past admission, straight to the store.
    for name, replicas in (("broken", "three"), ("good", 2)):
        store.create(DEPLOYMENTS, {"metadata": {"name": name, "namespace": "default"},
                                   "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "x"}}, "template": template}})
    plane = ControlPlane(store)
    for _ in range(4):
        plane.reconcile()
    owned = [rs for rs in store.list(REPLICASETS, "default") if rs["metadata"]["name"].startswith("good-")]
    assert len(owned) == 1 and owned[0]["spec"]["replicas"] == 2
    assert len([p for p in store.list(PODS, "default") if p["metadata"]["name"].startswith("good-")]) == 2
    events = lookup("", "v1", "events")
    assert events is not None
    reported = [e for e in store.list(events, "default") if e["involvedObject"]["name"] == "broken"]
    assert [(e["type"], e["reason"]) for e in reported] == [("Warning", "ReconcileError")]  # once, not once per pass
    assert "deployment-controller cannot reconcile this object (ValueError" in reported[0]["message"]
    store.close()


# -- item 5: values JSON cannot carry are refused at the door -----------------------------------


def test_nan_and_labels_that_are_no_map_are_refused(kubectl: Kubectl, sandbox: SandboxFiles, namespace: str) -> None:
    make_namespace(kubectl, namespace)
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    body = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"nan"},"data":{"a":NaN}}'
    code, _, answer = raw(sandbox, "POST", path, body)
    assert code == 400 and answer["reason"] == "BadRequest"
    assert answer["message"] == ("the object provided is unrecognized (must be of type ConfigMap): couldn't get version/kind; "
                                 "json parse error: invalid character 'N' looking for beginning of value "
                                 '({"apiVersion":"v1","kind":"Con ...)')
    code, _, answer = raw(sandbox, "POST", path, '{"metadata":{"name":"inf"},"data":{"a":-Infinity}}')
    assert code == 400 and "invalid character 'I' in numeric literal" in answer["message"]
    code, _, answer = raw(sandbox, "POST", path, '{"metadata":{"name":"labelled","labels":"app=web"}}')
    assert code == 400
    assert answer["message"] == ('ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal string '
                                 "into Go struct field ObjectMeta.metadata.labels of type map[string]string")
    assert "No resources found" in kubectl("get", "cm", "-n", namespace, "-l", "app=web").stderr
    kubectl("get", "cm", "-n", namespace)  # nothing stored that a client cannot read back
