"""The cluster port against the sandbox, and every way a connection fails, in words."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import yaml

from labrunner.cluster import errors
from labrunner.cluster.kube import KubeCluster, connect
from labrunner.sandbox.files import SandboxFiles
from tests.conftest import REPO

ASSETS = REPO / "assets" / "networkpolicies"


def kubeconfig(tmp_path: Path, name: str, server: str, user: dict, context: str = "ctx", namespace: str | None = None) -> Path:
    context_body = {"cluster": "c", "user": "u", **({"namespace": namespace} if namespace else {})}
    document = {"apiVersion": "v1", "kind": "Config", "current-context": context,
                "clusters": [{"name": "c", "cluster": {"server": server, "insecure-skip-tls-verify": True}}],
                "users": [{"name": "u", "user": user}], "contexts": [{"name": context, "context": context_body}]}
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document))
    return path


def test_reads_writes_exec_and_logs(cluster: KubeCluster) -> None:
    assert cluster.info.is_sandbox and cluster.version()["minor"] == "32"
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "porting"}})
    for document in yaml.safe_load_all((ASSETS / "mysqlpod.yaml").read_text()):
        cluster.apply(document, "porting")
    import time

    deadline = time.monotonic() + 20
    while not any(c.get("status") == "True" and c.get("type") == "Ready"
                  for p in cluster.list("pods", "porting", labels="app=mysql") for c in (p.get("status") or {}).get("conditions") or []):
        if time.monotonic() > deadline:
            pytest.fail("mysql did not become ready")
        time.sleep(0.2)
    pod = cluster.list("pods", "porting", labels="app=mysql")[0]["metadata"]["name"]
    seeded = cluster.exec(pod, "porting", ["sh", "-c", 'mysql -uroot -p"$MYSQL_ROOT_PASSWORD"'], stdin=(ASSETS / "db.txt").read_text())
    assert seeded.exit_code == 0
    counted = cluster.exec(pod, "porting", ["sh", "-c", 'mysql -N -uroot -p"$MYSQL_ROOT_PASSWORD" -e "SELECT COUNT(*) FROM db1.users"; exit 3'])
    assert (counted.stdout, counted.exit_code) == ("10\n", 3)
    assert "ready for connections" in cluster.logs(pod, "porting", tail=1)
    assert any(e["reason"] == "Scheduled" for e in cluster.events("porting", involved=pod))
    policy = yaml.safe_load((ASSETS / "deny-ingress.yaml").read_text())
    assert cluster.apply(policy, "porting")["spec"]["podSelector"] == {}
    cluster.delete("networkpolicies", "deny-ingress", "porting")
    with pytest.raises(errors.NotFound, match='networkpolicies.networking.k8s.io "deny-ingress" not found'):
        cluster.get("networkpolicies", "deny-ingress", "porting")


def test_no_kubeconfig_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(errors.NoKubeconfig) as raised:
        connect(tmp_path / "missing")
    assert f"looked in: {tmp_path / 'missing'}" in raised.value.message and "labrunner sandbox start" in raised.value.hint


def test_a_missing_credential_plugin_is_named_with_its_install_hint(tmp_path: Path) -> None:
    path = kubeconfig(tmp_path, "eks", "https://127.0.0.1:1",
                      {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "no-such-aws-iam-authenticator",
                                "installHint": "Install aws-iam-authenticator: https://example.com/install"}})
    with pytest.raises(errors.CredentialPluginMissing) as raised:
        connect(path)
    assert "exec: executable no-such-aws-iam-authenticator not found" in raised.value.message
    assert raised.value.hint == "Install aws-iam-authenticator: https://example.com/install"


def test_an_unreachable_server_reads_as_kubectl_says_it(tmp_path: Path) -> None:
    cluster = connect(kubeconfig(tmp_path, "down", "https://127.0.0.1:1", {"token": "x"}))
    with pytest.raises(errors.Unreachable) as raised:
        cluster.list("pods", "default")
    assert raised.value.message == "The connection to the server 127.0.0.1:1 was refused - did you specify the right host or port?"


def test_a_wrong_token_is_unauthorized(sandbox: SandboxFiles, tmp_path: Path) -> None:
    config = json.loads(sandbox.kubeconfig.read_text())
    config["users"][0]["user"]["token"] = "expired"
    wrong = tmp_path / "wrong"
    wrong.write_text(json.dumps(config))
    with pytest.raises(errors.Unauthorized) as raised:
        connect(wrong).list("pods", "default")
    assert raised.value.message.startswith("error: You must be logged in to the server")
    assert "labrunner-sandbox" in raised.value.hint


def test_a_certificate_from_another_ca_is_said_as_kubectl_says_it(sandbox: SandboxFiles, tmp_path: Path) -> None:
    import base64

    from labrunner.sandbox.certs import ensure_certificates
    from labrunner.sandbox.files import SandboxFiles as Files

    other = Files(tmp_path / "other")  # a cluster recreated: a new CA the old kubeconfig does not trust
    other.folder.mkdir()
    ensure_certificates(other)
    config = json.loads(sandbox.kubeconfig.read_text())
    config["clusters"][0]["cluster"]["certificate-authority-data"] = base64.b64encode(other.ca_certificate.read_bytes()).decode()
    stale = tmp_path / "stale"
    stale.write_text(json.dumps(config))
    with pytest.raises(errors.CertificateRejected) as raised:
        connect(stale).version()
    assert raised.value.message == ("Unable to connect to the server: tls: failed to verify certificate: "
                                    "x509: certificate signed by unknown authority")
    assert "Fetch its kubeconfig again" in raised.value.hint and raised.value.cluster_lost


def test_forbidden_names_user_verb_resource_and_namespace(tmp_path: Path) -> None:
    message = 'pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "lab"'

    class Forbidding(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "reason": "Forbidden", "code": 403}).encode()
            self.send_response(403)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Forbidding)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        cluster = connect(kubeconfig(tmp_path, "rbac", f"http://127.0.0.1:{server.server_port}", {"token": "t"}))
        with pytest.raises(errors.Forbidden) as raised:
            cluster.list("pods", "lab")
    finally:
        server.shutdown()
    failure = raised.value
    assert failure.message == f"Error from server (Forbidden): {message}"
    assert (failure.user, failure.verb, failure.resource, failure.namespace) == ("alice", "list", "pods", "lab")


def test_the_first_kubeconfig_files_current_context_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = kubeconfig(tmp_path, "a", "https://127.0.0.1:1", {"token": "a"}, context="first", namespace="team-a")
    second = kubeconfig(tmp_path, "b", "https://127.0.0.1:2", {"token": "b"}, context="second")
    monkeypatch.setenv("KUBECONFIG", f"{first}:{second}")
    cluster = connect()
    assert (cluster.info.context, cluster.info.namespace) == ("first", "team-a")
    assert connect(context="second").info.context == "second"
    with pytest.raises(errors.ContextNotFound) as raised:
        connect(context="third")
    assert raised.value.message == "Error in configuration: context was not found for specified context: third"  # kubectl's words
    assert "first, second" in raised.value.hint
