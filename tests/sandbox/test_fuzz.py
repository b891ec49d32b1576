"""Whatever a client sends, the sandbox answers: never a 500, never a hang, always a
Kubernetes Status for a refusal. Hypothesis writes the requests (bounded in number and
time); the paths and content types are the ones kubectl and the client use."""

from __future__ import annotations

import http.client
import json
import ssl
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labrunner.sandbox.control import running
from labrunner.sandbox.files import SandboxFiles
from tests.sandboxes import Kubectl

NAMESPACE = "fuzzed"
PATHS = [
    "/api/v1/namespaces/fuzzed/configmaps",
    "/api/v1/namespaces/fuzzed/configmaps/one",
    "/api/v1/namespaces/fuzzed/pods",
    "/api/v1/namespaces/fuzzed/services/web",
    "/apis/apps/v1/namespaces/fuzzed/deployments",
    "/apis/apps/v1/namespaces/fuzzed/deployments/web",
    "/apis/networking.k8s.io/v1/namespaces/fuzzed/networkpolicies",
    "/api/v1/namespaces",
]
CONTENT_TYPES = [
    "application/json",
    "application/merge-patch+json",
    "application/json-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
    "application/vnd.kubernetes.protobuf",
]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True, allow_infinity=True),
                    st.text(max_size=20))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(st.text(max_size=12), inner, max_size=4)), max_leaves=20)
# Bodies shaped like objects (so they reach past the first checks), and anything at all.
object_like = st.fixed_dictionaries(
    {"apiVersion": st.sampled_from(["v1", "apps/v1", "networking.k8s.io/v1", "v2", ""]),
     "kind": st.sampled_from(["ConfigMap", "Pod", "Deployment", "Service", "NetworkPolicy", "Namespace", "Nope"]),
     "metadata": st.one_of(values, st.fixed_dictionaries({"name": st.sampled_from(["one", "web", "x" * 300, ""]),
                                                          "labels": values, "annotations": values}))},
    optional={"spec": values, "data": values, "status": values},
)


def body_text(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()  # NaN and Infinity on purpose: not JSON, some clients send them


bodies = st.one_of(object_like.map(body_text), values.map(body_text), st.binary(max_size=200),
                   st.lists(values, max_size=3).map(body_text))


@pytest.fixture(scope="module")
def connection_to(sandbox: SandboxFiles, kubectl: Kubectl) -> Any:
    kubectl("create", "namespace", NAMESPACE, check=False)
    context = ssl.create_default_context(cafile=str(sandbox.ca_certificate))
    token = sandbox.token.read_text().strip()

    def send(method: str, path: str, content_type: str, body: bytes) -> tuple[int, bytes, str]:
        info = running(sandbox)
        assert info is not None
        connection = http.client.HTTPSConnection("127.0.0.1", info.port, context=context, timeout=15)
        try:
            connection.request(method, path, body=body, headers={"Authorization": f"Bearer {token}", "Content-Type": content_type,
                                                                 "Accept": "application/json"})
            response = connection.getresponse()
            return response.status, response.read(), response.getheader("Content-Type") or ""
        finally:
            connection.close()

    yield send
    kubectl("delete", "namespace", NAMESPACE, "--wait=false", check=False)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(method=st.sampled_from(["POST", "PUT", "PATCH"]), path=st.sampled_from(PATHS),
       content_type=st.sampled_from(CONTENT_TYPES), body=bodies)
def test_no_request_body_makes_the_server_fail(connection_to: Any, method: str, path: str, content_type: str, body: bytes) -> None:
    status, answer, answered_as = connection_to(method, path, content_type, body)  # a hang fails on the 15 s timeout
    assert status < 500, (status, answer[:500])
    if status >= 400:
        assert answered_as.startswith("application/json") and json.loads(answer)["kind"] == "Status", answer[:300]
    else:
        json.loads(answer)  # what it stored reads back as JSON (no NaN)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(path=st.sampled_from(PATHS[::2]), parameter=st.sampled_from(["labelSelector", "fieldSelector", "resourceVersion", "limit",
                                                                    "continue", "timeoutSeconds", "propagationPolicy"]),
       value=st.text(max_size=40))
def test_no_query_makes_the_server_fail(connection_to: Any, path: str, parameter: str, value: str) -> None:
    from urllib.parse import quote

    if parameter == "resourceVersion" and value.isdigit():
        value = "0"  # a future version waits 3 s before its 504 (kube's behaviour, tested elsewhere)
    status, answer, answered_as = connection_to("GET", f"{path}?{parameter}={quote(value)}", "application/json", b"")
    assert status < 500, (status, answer[:500])
    if status >= 400:
        assert answered_as.startswith("application/json") and json.loads(answer)["kind"] == "Status", answer[:300]


def test_a_null_json_patch_operation_is_refused_not_a_failure(connection_to: Any, kubectl: Kubectl) -> None:
    """Found by the fuzz test: ``[null]`` as a JSON patch of an existing object was a 500."""
    kubectl("create", "configmap", "nulled", "-n", NAMESPACE, check=False)
    status, answer, _ = connection_to("PATCH", f"/api/v1/namespaces/{NAMESPACE}/configmaps/nulled", "application/json-patch+json", b"[null]")
    assert 400 <= status < 500 and json.loads(answer)["kind"] == "Status", answer[:300]
