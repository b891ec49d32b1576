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


# -- item 6: 400s where kube answers 400, and the limits kube keeps ---------------------------


def test_bodies_kube_refuses_are_refused_in_its_words(kubectl: Kubectl, sandbox: SandboxFiles, namespace: str) -> None:
    make_namespace(kubectl, namespace)
    configmaps = f"/api/v1/namespaces/{namespace}/configmaps"
    code, _, answer = raw(sandbox, "POST", configmaps, '{"apiVersion":"v1","kind":"ConfigMap","metadata":"x"}')
    assert (code, answer["message"]) == (400, 'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal string '
                                              "into Go struct field ConfigMap.metadata of type v1.ObjectMeta")
    code, _, answer = raw(sandbox, "POST", configmaps, '{"metadata":{"name":"five"},"data":{"a":5}}')
    assert (code, answer["message"]) == (400, 'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal number '
                                              "into Go struct field ConfigMap.data of type string")
    deployments = f"/apis/apps/v1/namespaces/{namespace}/deployments"
    code, _, answer = raw(sandbox, "POST", deployments, '{"apiVersion":"apps/v1beta1","kind":"Deployment","metadata":{"name":"d"}}')
    assert (code, answer["message"]) == (400, "the API version in the data (apps/v1beta1) does not match the expected API version (apps/v1)")
    code, _, answer = raw(sandbox, "POST", deployments, '{"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"d"}}')
    assert (code, answer["message"]) == (400, 'ReplicaSet in version "v1" cannot be handled as a Deployment: '
                                              "converting (v1.ReplicaSet) to (apps.Deployment): unknown conversion")
    code, _, answer = raw(sandbox, "POST", deployments, '{"apiVersion":"apps/v1","kind":"Pod","metadata":{"name":"d"}}')
    assert code == 400 and answer["message"].startswith('Pod in version "v1" cannot be handled as a Deployment: no kind "Pod" is registered')
    code, _, answer = raw(sandbox, "POST", "/api/v1/namespaces", b"k8s\x00\x0a\xff\xff\xff\x0f", content_type="application/vnd.kubernetes.protobuf")
    assert code == 400 and answer["message"].startswith("the object provided is unrecognized (must be of type Namespace): ")
    assert kubectl("get", "cm", "-n", namespace, "-o", "name").stdout.strip() in ("", "configmap/kube-root-ca.crt")


def test_json_ten_thousand_levels_deep_is_read_and_deeper_is_refused(kubectl: Kubectl, sandbox: SandboxFiles, namespace: str) -> None:
    make_namespace(kubectl, namespace)
    configmaps = f"/api/v1/namespaces/{namespace}/configmaps"

    def nested(levels: int) -> str:  # the object itself is one level; the value adds the rest
        return '{"metadata":{"name":"deep"},"extra":' + "[" * (levels - 1) + "]" * (levels - 1) + "}"

    code, _, answer = raw(sandbox, "POST", configmaps, nested(1000))
    assert code == 201, answer  # an unknown field: dropped with a warning, as kube does without Strict
    code, _, answer = raw(sandbox, "POST", configmaps, nested(10_001))
    assert code == 400 and "json parse error: invalid character '[' exceeded max depth" in answer["message"]
    kubectl("delete", "cm", "deep", "-n", namespace)
    code, _, answer = raw(sandbox, "POST", configmaps, nested(10_000).replace('"deep"', '"deepest"'))
    assert code == 201, answer


def test_bodies_up_to_three_mebibytes_are_read_and_larger_ones_get_a_status(kubectl: Kubectl, sandbox: SandboxFiles, namespace: str) -> None:
    import base64

    make_namespace(kubectl, namespace)
    secret = {"metadata": {"name": "big"}, "data": {"blob": base64.b64encode(b"x" * 1_000_000).decode()}}
    code, _, answer = raw(sandbox, "POST", f"/api/v1/namespaces/{namespace}/secrets", json.dumps(secret))
    assert code == 201, answer
    limit = 3 * 1024 * 1024
    body = '{"metadata":{"name":"padded"}}'
    code, _, answer = raw(sandbox, "POST", f"/api/v1/namespaces/{namespace}/configmaps", body + " " * (limit - len(body)))
    assert code == 201, answer
    code, kind, answer = raw(sandbox, "POST", f"/api/v1/namespaces/{namespace}/configmaps", body + " " * (limit + 1 - len(body)))
    assert (code, kind) == (413, "application/json; charset=utf-8")
    assert (answer["kind"], answer["reason"], answer["message"]) == ("Status", "RequestEntityTooLarge", "Request entity too large: limit is 3145728")


def test_a_watch_from_a_future_resource_version_times_out_as_kubes(sandbox: SandboxFiles) -> None:
    import time

    began = time.monotonic()
    code, _, answer = raw(sandbox, "GET", "/api/v1/namespaces?watch=true&resourceVersion=999999999")
    waited = time.monotonic() - began
    assert code == 504 and 2.8 <= waited < 10
    assert answer["reason"] == "Timeout" and answer["message"].startswith("Timeout: Too large resource version: 999999999, current: ")
    assert answer["details"]["causes"] == [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}]


def test_label_selectors_with_invalid_values_are_a_bad_request(sandbox: SandboxFiles) -> None:
    code, _, answer = raw(sandbox, "GET", "/api/v1/pods?labelSelector=app%3Dweb%24")
    assert code == 400
    assert answer["message"] == ('unable to parse requirement: values[0][app]: Invalid value: "web$": a valid label must be an empty string '
                                 "or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
                                 "character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is "
                                 "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
    code, _, answer = raw(sandbox, "GET", "/api/v1/pods?labelSelector=app%20in%20web")
    assert (code, answer["message"]) == (400, "unable to parse requirement: found 'web' expected: '('")


def test_a_request_whose_headers_never_end_is_dropped() -> None:
    import asyncio
    import time

    from aiohttp import web

    from labrunner.sandbox.deadlines import HEADER_TIMEOUT, with_header_deadline

    assert HEADER_TIMEOUT == 32.0  # kube-apiserver's ReadHeaderTimeout; the test uses a shorter one

    async def scenario() -> tuple[float, bytes, bytes]:
        async def ok(request: web.Request) -> web.Response:
            return web.Response(text="ok")

        app = web.Application()
        app.router.add_get("/", ok)
        runner = web.AppRunner(app)
        await runner.setup()
        assert runner.server is not None
        server = await asyncio.get_running_loop().create_server(with_header_deadline(runner.server, 0.5), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
            began = time.monotonic()
            stalled = await asyncio.wait_for(reader.read(), timeout=5)
            waited = time.monotonic() - began
            writer.close()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")
            await asyncio.sleep(0.3)  # slow, but within the deadline
            writer.write(b"\r\n")
            answered = await asyncio.wait_for(reader.readuntil(b"ok"), timeout=5)
            writer.close()
            return waited, stalled, answered
        finally:
            server.close()
            await runner.cleanup()

    waited, stalled, answered = asyncio.run(scenario())
    assert stalled == b"" and 0.4 <= waited < 3
    assert answered.startswith(b"HTTP/1.1 200 OK")


def test_null_fields_and_control_characters_in_field_names_are_no_internal_error(kubectl: Kubectl, sandbox: SandboxFiles, namespace: str) -> None:
    make_namespace(kubectl, namespace)
    configmaps = f"/api/v1/namespaces/{namespace}/configmaps"
    code, _, answer = raw(sandbox, "POST", configmaps, '{"apiVersion":"v1","kind":"ConfigMap","metadata":null}')
    assert code == 422 and "name or generateName is required" in answer["message"]
    code, _, answer = raw(sandbox, "POST", configmaps, '{"metadata":{"name":"odd","labels":null},"\\f":1,"x\\ny":2}')
    assert code == 201, answer  # unknown fields, warned about in a header that can carry them


def test_an_unknown_field_whose_name_is_empty_or_dotted_is_dropped_alone(kubectl: Kubectl, sandbox: SandboxFiles, namespace: str) -> None:
    """Found by the fuzz test: pruning by the field's text dropped all of metadata for a key ""."""
    make_namespace(kubectl, namespace)
    configmaps = f"/api/v1/namespaces/{namespace}/configmaps"
    code, _, answer = raw(sandbox, "POST", configmaps, '{"metadata":{"name":"odd"},"data":{"a":"1"}}')
    assert code == 201, answer
    code, _, answer = raw(sandbox, "PUT", f"{configmaps}/odd", '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"":false,"a.b":1},"data":{"a":"2"}}')
    assert code == 200 and answer["metadata"]["name"] == "odd" and answer["data"] == {"a": "2"}, answer
