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
