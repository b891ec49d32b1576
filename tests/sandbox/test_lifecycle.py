"""The sandbox as a learner starts it: a background process on 127.0.0.1 with TLS
and a token, that real kubectl and the kubernetes client accept."""

from __future__ import annotations

import json
import os
import shutil
import ssl
import stat
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from labrunner.cli import main
from labrunner.sandbox.control import running
from labrunner.sandbox.control import stop as stop_sandbox
from labrunner.sandbox.files import SandboxFiles

KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[SandboxFiles]:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    files = SandboxFiles.default()
    assert main(["sandbox", "start"]) == 0
    yield files
    stop_sandbox(files)


def request(files: SandboxFiles, path: str, token: str | None) -> tuple[int, dict]:
    info = running(files)
    assert info is not None
    context = ssl.create_default_context(cafile=str(files.ca_certificate))
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(f"{info.server}{path}", headers=headers), context=context, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def kubectl(files: SandboxFiles, *argv: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "KUBECONFIG": str(files.kubeconfig)}
    return subprocess.run([KUBECTL or "kubectl", *argv], capture_output=True, text=True, env=environment, timeout=60)


def test_start_prints_the_export_line_and_a_second_start_says_it_runs(sandbox: SandboxFiles, capsys: pytest.CaptureFixture[str]) -> None:
    first = capsys.readouterr()
    assert first.out == f"export KUBECONFIG={sandbox.kubeconfig}\n"
    assert "sandbox started at https://127.0.0.1:" in first.err
    assert main(["sandbox", "start"]) == 0
    second = capsys.readouterr()
    assert second.out == first.out and "already running" in second.err
    assert main(["sandbox", "env"]) == 0
    assert capsys.readouterr().out == first.out


@needs_kubectl
def test_kubectl_sees_a_132_server_labelled_as_the_sandbox(sandbox: SandboxFiles) -> None:
    completed = kubectl(sandbox, "version", "-o", "json")
    assert completed.returncode == 0, completed.stderr
    server = json.loads(completed.stdout)["serverVersion"]
    assert (server["major"], server["minor"]) == ("1", "32")
    assert "labrunner-sandbox" in server["gitVersion"]


@needs_kubectl
def test_a_wrong_token_is_refused_as_kubectl_words_it(sandbox: SandboxFiles, tmp_path: Path) -> None:
    config = json.loads(sandbox.kubeconfig.read_text())
    config["users"][0]["user"]["token"] = "not-the-token"
    wrong = tmp_path / "wrong-kubeconfig"
    wrong.write_text(json.dumps(config))
    completed = subprocess.run([KUBECTL or "kubectl", "get", "namespaces"], capture_output=True, text=True,
                               env={**os.environ, "KUBECONFIG": str(wrong)}, timeout=60)
    assert completed.returncode != 0
    assert "You must be logged in to the server" in completed.stderr


def test_only_version_and_health_answer_without_credentials(sandbox: SandboxFiles) -> None:
    """As on a kubeadm cluster: anonymous requests are system:anonymous, whom RBAC lets read
    /version and the health endpoints only; a token that is not valid is 401."""
    token = sandbox.token.read_text().strip()
    assert request(sandbox, "/version", None)[0] == 200
    info = running(sandbox)
    assert info is not None
    context = ssl.create_default_context(cafile=str(sandbox.ca_certificate))
    for path in ("/healthz", "/livez", "/readyz"):
        with urllib.request.urlopen(f"{info.server}{path}", context=context, timeout=5) as response:
            assert response.read() == b"ok"
    code, body = request(sandbox, "/api", None)
    assert code == 403 and body["kind"] == "Status" and body["message"] == 'forbidden: User "system:anonymous" cannot get path "/api"'
    code, body = request(sandbox, "/api", "not-the-token")
    assert code == 401 and body["kind"] == "Status" and body["reason"] == "Unauthorized"
    code, body = request(sandbox, "/metrics", token)
    assert code == 404 and body["kind"] == "Status"
    assert body["message"] == "the labrunner sandbox does not support GET /metrics yet"
    code, body = request(sandbox, "/api/v1/namespaces/default/pods/web/eviction", token)
    assert (code, body["message"]) == (404, "the labrunner sandbox does not support the eviction subresource of pods yet")


def test_the_kubernetes_client_talks_to_it(sandbox: SandboxFiles) -> None:
    from kubernetes import client, config

    api_client = config.new_client_from_config(config_file=str(sandbox.kubeconfig))
    version = client.VersionApi(api_client).get_code()
    assert (version.major, version.minor) == ("1", "32")


def test_it_listens_on_loopback_only(sandbox: SandboxFiles) -> None:
    info = running(sandbox)
    assert info is not None
    listening = [
        line.split()[1] for name in ("/proc/net/tcp", "/proc/net/tcp6") if Path(name).exists()
        for line in Path(name).read_text().splitlines()[1:]
        if line.split()[3] == "0A" and int(line.split()[1].rsplit(":", 1)[1], 16) == info.port
    ]
    assert listening == [f"0100007F:{info.port:04X}"]


def test_secrets_are_private_and_home_kubeconfig_is_untouched(sandbox: SandboxFiles, tmp_path: Path) -> None:
    for secret in (sandbox.kubeconfig, sandbox.token, sandbox.ca_key, sandbox.server_key):
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600, secret
    assert not (tmp_path / "home" / ".kube" / "config").exists()


def test_stop_then_restart_keeps_the_token_and_ca(sandbox: SandboxFiles, capsys: pytest.CaptureFixture[str]) -> None:
    before = (sandbox.token.read_text(), sandbox.ca_certificate.read_text())
    assert main(["sandbox", "stop"]) == 0
    assert running(sandbox) is None and not sandbox.server_info.exists()
    assert main(["sandbox", "status"]) == 3
    assert "not running" in capsys.readouterr().out
    assert main(["sandbox", "env"]) == 3
    assert "labrunner sandbox start" in capsys.readouterr().err
    assert main(["sandbox", "start"]) == 0
    assert (sandbox.token.read_text(), sandbox.ca_certificate.read_text()) == before
    capsys.readouterr()
    assert main(["sandbox", "status", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["running"] is True and report["server"] == f"https://127.0.0.1:{report['port']}"


def test_a_stale_server_file_after_a_crash_is_not_taken_for_a_running_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = SandboxFiles.default()
    files.folder.mkdir(parents=True)
    files.server_info.write_text(json.dumps({"pid": 2**22 + 12345, "port": 1, "started": 0}))
    assert running(files) is None
    assert stop_sandbox(files) is False and not files.server_info.exists()


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")
def test_status_counts_objects_and_reset_empties_the_cluster(sandbox: SandboxFiles, capsys: pytest.CaptureFixture[str]) -> None:
    config_map = kubectl(sandbox, "create", "configmap", "keep-me", "--from-literal=a=1")
    assert config_map.returncode == 0, config_map.stderr
    capsys.readouterr()
    assert main(["sandbox", "status", "--json"]) == 0
    counts = json.loads(capsys.readouterr().out)["objects"]
    # keep-me, the kube-root-ca.crt the root CA publisher puts in each of the 5 namespaces (kind's
    # local-path-storage among them), the local-path provisioner's configuration and CoreDNS's Corefile
    assert counts["configmaps"] == 1 + 5 + 1 + 1 and counts["namespaces"] == 5
    assert counts["nodes"] == 3
    token = sandbox.token.read_text()
    assert main(["sandbox", "reset"]) == 0
    assert "sandbox emptied and restarted" in capsys.readouterr().err
    assert sandbox.token.read_text() == token
    assert "NotFound" in kubectl(sandbox, "get", "configmap", "keep-me").stderr
    assert kubectl(sandbox, "get", "namespaces", "-o", "name").stdout.count("namespace/") == 5
