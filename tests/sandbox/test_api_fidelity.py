"""The API as kubectl and the official Python client use it (issue 14 item 3): deleting a
collection, a node's full status, the CA every namespace is given, and Status bodies as
kube-apiserver writes them."""

from __future__ import annotations

import json

from labrunner.sandbox.files import SandboxFiles
from tests.sandboxes import Kubectl, eventually


def test_delete_a_collection_with_and_without_a_selector(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    for name in ("keep", "drop-1", "drop-2"):
        kubectl("create", "configmap", name, "-n", namespace, "--from-literal=k=v")
    kubectl("label", "configmap", "drop-1", "drop-2", "-n", namespace, "tier=old")
    deleted = json.loads(kubectl("delete", "--raw", f"/api/v1/namespaces/{namespace}/configmaps?labelSelector=tier%3Dold").stdout)
    assert deleted["kind"] == "ConfigMapList" and sorted(i["metadata"]["name"] for i in deleted["items"]) == ["drop-1", "drop-2"]
    names = kubectl("get", "configmaps", "-n", namespace, "-o", "name").stdout.split()
    assert "configmap/keep" in names and not any("drop" in n for n in names)
    refused = kubectl("delete", "--raw", "/api/v1/namespaces", check=False)
    assert refused.returncode != 0 and "the server does not allow this method on the requested resource" in refused.stderr


def test_every_namespace_gets_the_clusters_ca(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    eventually(lambda: kubectl("get", "configmap", "kube-root-ca.crt", "-n", namespace, check=False).returncode == 0,
               "kube-root-ca.crt published in the new namespace")
    data = json.loads(kubectl("get", "configmap", "kube-root-ca.crt", "-n", namespace, "-o", "json").stdout)["data"]
    assert data["ca.crt"].startswith("-----BEGIN CERTIFICATE-----")


def test_nodes_carry_the_status_clients_read(kubectl: Kubectl) -> None:
    node = json.loads(kubectl("get", "nodes", "-o", "json").stdout)["items"][0]
    info = node["status"]["nodeInfo"]
    assert {"machineID", "systemUUID", "bootID", "kernelVersion", "osImage", "containerRuntimeVersion", "kubeletVersion",
            "kubeProxyVersion", "operatingSystem", "architecture"} <= set(info)
    assert [c["type"] for c in node["status"]["conditions"]] == ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"]


def test_a_status_body_is_kube_apiservers_bytes(sandbox: SandboxFiles) -> None:
    import ssl
    import urllib.error
    import urllib.request

    from labrunner.sandbox.control import running

    info = running(sandbox)
    assert info is not None
    context = ssl.create_default_context(cafile=str(sandbox.ca_certificate))
    token = sandbox.token.read_text().strip()
    request = urllib.request.Request(f"{info.server}/api/v1/namespaces/default/pods/nope", headers={"Authorization": f"Bearer {token}"})
    try:
        urllib.request.urlopen(request, context=context, timeout=10)
    except urllib.error.HTTPError as error:
        body = error.read().decode()
    assert body == ('{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \\"nope\\" not found",'
                    '"reason":"NotFound","details":{"name":"nope","kind":"pods"},"code":404}\n')


def test_the_python_clients_list_node_and_port_forward(sandbox: SandboxFiles, kubectl: Kubectl, namespace: str) -> None:
    """The official client reads every node (its models require nodeInfo's IDs) and forwards a
    port over its channel protocol (v4.channel.k8s.io), getting nginx's page."""
    from kubernetes import client, config
    from kubernetes.stream import portforward

    kubectl("create", "namespace", namespace)
    kubectl("run", "web", "-n", namespace, "--image=nginx:1.27")
    kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/web", "--timeout=60s")
    api = client.CoreV1Api(config.new_client_from_config(str(sandbox.kubeconfig)))
    assert {n.metadata.name for n in api.list_node().items} == {"labrunner-sandbox-control-plane", "labrunner-sandbox-worker", "labrunner-sandbox-worker2"}
    forward = portforward(api.connect_get_namespaced_pod_portforward, "web", namespace, ports="80,8080")
    try:
        connection = forward.socket(80)
        connection.setblocking(True)
        connection.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        page = b""
        while b"</html>" not in page and (chunk := connection.recv(4096)):
            page += chunk
        assert page.startswith(b"HTTP/1.1 200 OK\r\n") and b"Welcome to nginx!" in page
        nothing = forward.socket(8080)  # nginx does not listen there: the error channel says so
        nothing.setblocking(True)
        nothing.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        eventually(lambda: forward.error(8080) is not None, "the error channel answering for port 8080")
        assert "connect: connection refused" in str(forward.error(8080))
    finally:
        forward.close()
