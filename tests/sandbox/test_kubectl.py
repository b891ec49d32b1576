"""Real kubectl against the sandbox: the lab's kinds of commands, and what it prints."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from labrunner.sandbox.control import stop
from labrunner.sandbox.files import SandboxFiles
from tests.conftest import REPO
from tests.sandboxes import start_scaled

KUBECTL = shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")
ASSETS = REPO / "assets" / "networkpolicies"


def test_a_new_sandbox_has_the_usual_namespaces_and_three_sandbox_nodes(kubectl) -> None:  # type: ignore[no-untyped-def]
    lines = kubectl("get", "namespaces").stdout.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "AGE"]
    assert {line.split()[0] for line in lines[1:]} >= {"default", "kube-system", "kube-public", "kube-node-lease"}
    nodes = kubectl("get", "nodes", "-o", "json").stdout
    names = [item["metadata"]["name"] for item in json.loads(nodes)["items"]]
    assert names == ["labrunner-sandbox-control-plane", "labrunner-sandbox-worker", "labrunner-sandbox-worker2"]
    table = kubectl("get", "nodes").stdout.splitlines()
    assert [line.split()[:3] for line in table[1:]] == [["labrunner-sandbox-control-plane", "Ready", "control-plane"],
                                                        ["labrunner-sandbox-worker", "Ready", "<none>"], ["labrunner-sandbox-worker2", "Ready", "<none>"]]


def test_api_resources_lists_short_names(kubectl) -> None:  # type: ignore[no-untyped-def]
    table = kubectl("api-resources").stdout
    row = next(line for line in table.splitlines() if line.startswith("networkpolicies"))
    assert row.split()[:4] == ["networkpolicies", "netpol", "networking.k8s.io/v1", "true"]


def test_the_step_18_policy_gets_the_api_servers_strict_decoding_error(kubectl) -> None:  # type: ignore[no-untyped-def]
    completed = kubectl("create", "-f", str(ASSETS / "ingress-egress-policy-broken.yaml"), check=False)
    assert completed.returncode == 1
    assert completed.stderr.strip().endswith(
        'NetworkPolicy in version "v1" cannot be handled as a NetworkPolicy: strict decoding error: unknown field "egress", '
        'unknown field "spec.ingress[1].namespaceSelector", unknown field "spec.ingress[2].podSelector", unknown field "spec.ports"'
    )
    assert completed.stderr.startswith("Error from server (BadRequest): error when creating")


def test_create_apply_unchanged_get_and_delete_a_policy(kubectl, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    namespace = tmp_path / "ns.yaml"
    namespace.write_text("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: policies\n")
    assert kubectl("create", "-f", str(namespace)).stdout == "namespace/policies created\n"
    policy = str(ASSETS / "deny-ingress.yaml")
    assert kubectl("apply", "-n", "policies", "-f", policy).stdout == "networkpolicy.networking.k8s.io/deny-ingress created\n"
    assert kubectl("apply", "-n", "policies", "-f", policy).stdout == "networkpolicy.networking.k8s.io/deny-ingress unchanged\n"
    table = kubectl("get", "netpol", "-n", "policies").stdout.splitlines()
    assert table[0].split() == ["NAME", "POD-SELECTOR", "AGE"] and table[1].split()[:2] == ["deny-ingress", "<none>"]
    stored = json.loads(kubectl("get", "netpol", "deny-ingress", "-n", "policies", "-o", "json").stdout)
    assert stored["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
    assert stored["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    assert kubectl("delete", "netpol", "deny-ingress", "-n", "policies").stdout == 'networkpolicy.networking.k8s.io "deny-ingress" deleted\n'
    missing = kubectl("get", "netpol", "deny-ingress", "-n", "policies", check=False)
    assert missing.stderr.strip() == 'Error from server (NotFound): networkpolicies.networking.k8s.io "deny-ingress" not found'


def test_existing_and_invalid_names(kubectl, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config_map = tmp_path / "cm.yaml"
    config_map.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: page, labels: {app: web}}\ndata: {a: '1', b: '2'}\n")
    kubectl("create", "-f", str(config_map))
    again = kubectl("create", "-f", str(config_map), check=False)
    assert again.stderr.strip().endswith('configmaps "page" already exists')
    assert "(AlreadyExists)" in again.stderr
    assert kubectl("get", "cm", "-l", "app=web", "-o", "name").stdout == "configmap/page\n"
    assert kubectl("get", "cm", "-l", "app=db", "-o", "name").stdout == ""
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: Bad_Name}\n")
    invalid = kubectl("create", "-f", str(bad), check=False)
    assert 'The Namespace "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 label' in invalid.stderr


def test_label_and_unlabel_kube_system_as_step_17_and_19_do(kubectl) -> None:  # type: ignore[no-untyped-def]
    assert kubectl("label", "namespace", "kube-system", "name=kube-system").stdout == "namespace/kube-system labeled\n"
    labels = json.loads(kubectl("get", "ns", "kube-system", "-o", "json").stdout)["metadata"]["labels"]
    assert labels == {"kubernetes.io/metadata.name": "kube-system", "name": "kube-system"}
    kubectl("label", "namespace", "kube-system", "name-")
    labels = json.loads(kubectl("get", "ns", "kube-system", "-o", "json").stdout)["metadata"]["labels"]
    assert labels == {"kubernetes.io/metadata.name": "kube-system"}


def test_deleting_a_namespace_takes_its_contents_with_it(kubectl, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    manifest = tmp_path / "doomed.yaml"
    manifest.write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: doomed}\n---\n"
                        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: doomed}\n")
    kubectl("create", "-f", str(manifest))
    assert kubectl("delete", "namespace", "doomed").stdout == 'namespace "doomed" deleted\n'  # kubectl waits until it is gone
    assert "not found" in kubectl("get", "ns", "doomed", check=False).stderr
    assert "doomed" not in kubectl("get", "cm", "-A").stdout


def test_typed_creates_send_protobuf_and_work(kubectl) -> None:  # type: ignore[no-untyped-def]
    assert kubectl("create", "namespace", "typed").stdout == "namespace/typed created\n"
    namespace = json.loads(kubectl("get", "ns", "typed", "-o", "json").stdout)
    assert namespace["status"]["phase"] == "Active"
    assert namespace["metadata"]["labels"] == {"kubernetes.io/metadata.name": "typed"}
    again = kubectl("create", "namespace", "typed", check=False)
    assert again.stderr.strip() == 'Error from server (AlreadyExists): namespaces "typed" already exists'
    kubectl("create", "secret", "generic", "mysql-root", "-n", "typed", "--from-literal=password=labrunner-demo")
    secret = json.loads(kubectl("get", "secret", "mysql-root", "-n", "typed", "-o", "json").stdout)
    assert secret["data"] == {"password": "bGFicnVubmVyLWRlbW8="} and secret["type"] == "Opaque"
    kubectl("create", "configmap", "page", "-n", "typed", "--from-literal=index.php=<?php echo 1;")
    assert json.loads(kubectl("get", "cm", "page", "-n", "typed", "-o", "json").stdout)["data"] == {"index.php": "<?php echo 1;"}


def test_an_ingress_created_by_kubectl_keeps_its_rules(kubectl) -> None:  # type: ignore[no-untyped-def]
    # IngressRule embeds IngressRuleValue inline: protobuf names the field, JSON does not.
    kubectl("create", "namespace", "typed-ingress")
    kubectl("create", "ingress", "shop", "-n", "typed-ingress", "--class=nginx", "--rule=shop.example.com/api*=api:8080")
    rule = json.loads(kubectl("get", "ingress", "shop", "-n", "typed-ingress", "-o", "json").stdout)["spec"]["rules"][0]
    assert rule == {"host": "shop.example.com", "http": {"paths": [
        {"path": "/api", "pathType": "Prefix", "backend": {"service": {"name": "api", "port": {"number": 8080}}}}]}}


def test_objects_survive_a_restart(sandbox: SandboxFiles, kubectl, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    manifest = tmp_path / "keep.yaml"
    manifest.write_text("apiVersion: v1\nkind: Secret\nmetadata: {name: kept}\nstringData: {password: s3cret}\n")
    kubectl("create", "-f", str(manifest))
    stop(sandbox)
    start_scaled(sandbox)  # the shared cluster comes back on a new port; kubectl re-reads the kubeconfig
    secret = json.loads(kubectl("get", "secret", "kept", "-o", "json").stdout)
    assert secret["data"] == {"password": "czNjcmV0"} and "stringData" not in secret
    table = kubectl("get", "secret", "kept").stdout.splitlines()
    assert table[0].split() == ["NAME", "TYPE", "DATA", "AGE"] and table[1].split()[:3] == ["kept", "Opaque", "1"]


def test_apply_changes_and_patches_merge_as_a_real_server_does(kubectl, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    kubectl("create", "namespace", "writes")
    manifest = (ASSETS / "mysqlpod.yaml").read_text()
    assert "deployment.apps/mysql created" in kubectl("apply", "-n", "writes", "-f", str(ASSETS / "mysqlpod.yaml")).stdout
    assert "deployment.apps/mysql unchanged" in kubectl("apply", "-n", "writes", "-f", str(ASSETS / "mysqlpod.yaml")).stdout
    scaled = tmp_path / "scaled.yaml"
    scaled.write_text(manifest.replace("replicas: 1", "replicas: 2"))
    assert "deployment.apps/mysql configured" in kubectl("apply", "-n", "writes", "-f", str(scaled)).stdout
    # kubectl patch's default is a strategic merge patch: containers merge by name, env survives.
    kubectl("patch", "deployment", "mysql", "-n", "writes", "-p",
            '{"spec":{"template":{"spec":{"containers":[{"name":"mysql","image":"mysql:8.4.3"}]}}}}')
    deployment = json.loads(kubectl("get", "deploy", "mysql", "-n", "writes", "-o", "json").stdout)
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "mysql:8.4.3" and container["env"][0]["name"] == "MYSQL_ROOT_PASSWORD"
    assert deployment["spec"]["replicas"] == 2 and deployment["metadata"]["generation"] == 3
    kubectl("patch", "deployment", "mysql", "-n", "writes", "--type", "json", "-p", '[{"op":"replace","path":"/spec/replicas","value":1}]')
    assert json.loads(kubectl("get", "deploy", "mysql", "-n", "writes", "-o", "json").stdout)["spec"]["replicas"] == 1


def test_kubectl_edit_with_an_editor(kubectl, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    kubectl("create", "namespace", "edits")
    kubectl("create", "configmap", "settings", "-n", "edits", "--from-literal=mode=slow")
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/mode: slow/mode: fast/' \"$1\"\n")
    editor.chmod(0o755)
    edited = kubectl("edit", "configmap", "settings", "-n", "edits", extra_env={"KUBE_EDITOR": str(editor)})
    assert edited.stdout == "configmap/settings edited\n"
    assert json.loads(kubectl("get", "cm", "settings", "-n", "edits", "-o", "json").stdout)["data"] == {"mode": "fast"}


def test_kubectl_get_watch_streams_each_change(kubectl, sandbox: SandboxFiles, namespace: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    kubectl("create", "namespace", namespace)
    environment = {**os.environ, "KUBECONFIG": str(sandbox.kubeconfig), "HOME": str(tmp_path)}
    watcher = subprocess.Popen([KUBECTL or "kubectl", "get", "configmaps", "-n", namespace, "-w", "--request-timeout=20s"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)
    try:
        time.sleep(1.5)  # kubectl's list-then-watch must be under way before the changes
        kubectl("create", "configmap", "w1", "-n", namespace, "--from-literal=a=1")
        kubectl("label", "configmap", "w1", "-n", namespace, "x=y")
        kubectl("delete", "configmap", "w1", "-n", namespace)
        time.sleep(1.0)
    finally:
        watcher.terminate()
        output, _ = watcher.communicate(timeout=10)
    lines = output.splitlines()
    assert lines[0].split() == ["NAME", "DATA", "AGE"]
    # (the namespace's kube-root-ca.crt is listed too, as on a real cluster)
    assert [line.split()[0] for line in lines[1:] if not line.startswith("kube-root-ca.crt")] == ["w1", "w1", "w1"]


def test_kubectl_wait_for_a_namespace_to_go(kubectl) -> None:  # type: ignore[no-untyped-def]
    kubectl("create", "namespace", "ephemeral")
    kubectl("delete", "namespace", "ephemeral", "--wait=false")
    assert kubectl("wait", "--for=delete", "namespace/ephemeral", "--timeout=20s").returncode == 0
