"""Probe pods never stay in the learner's namespace: a check ended by SIGTERM or SIGHUP
deletes its pod on the way out, and one left by a SIGKILL is ended by its own deadline and
removed by the next probe there."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labrunner.cluster.kube import KubeCluster
from labrunner.sandbox.files import SandboxFiles
from labrunner.topics.basics.probes import PROBE_LABEL, remove_leftover_probes
from tests.sandboxes import Kubectl

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH")
SELECTOR = ",".join(f"{k}={v}" for k, v in PROBE_LABEL.items())


def probe_pods(kubectl: Kubectl, namespace: str) -> list[dict]:
    listed = json.loads(kubectl("get", "pods", "-n", namespace, "-l", SELECTOR, "-o", "json").stdout)["items"]
    return [pod for pod in listed if not pod["metadata"].get("deletionTimestamp")]


@pytest.mark.parametrize("ending", [signal.SIGTERM, signal.SIGHUP])
def test_a_check_ended_mid_probe_deletes_its_pod(ending: signal.Signals, sandbox: SandboxFiles, kubectl: Kubectl,
                                                 namespace: str, tmp_path: Path) -> None:
    kubectl("create", "namespace", namespace)
    environment = {**os.environ, "KUBECONFIG": str(sandbox.kubeconfig), "LABRUNNER_STATE_DIR": str(tmp_path / "state"),
                   "HOME": str(tmp_path)}
    check = subprocess.Popen([sys.executable, "-m", "labrunner", "check", "networkpolicies", "baseline-probe",
                              "-p", f"namespace={namespace}", "--json"],
                             env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Until its probe pod exists (the check itself ends in any case: its probe times out), then end it mid-probe.
        while not probe_pods(kubectl, namespace):
            assert check.poll() is None, "the check ended without making a probe pod"
            time.sleep(0.1)
        check.send_signal(ending)
        assert check.wait(30) == 128 + ending
    finally:
        check.kill()
        check.communicate()
    assert probe_pods(kubectl, namespace) == []


def test_leftover_probes_are_removed_and_a_running_one_is_not(cluster: KubeCluster, kubectl: Kubectl, namespace: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from labrunner.topics.basics import probes

    monkeypatch.setattr(probes, "PROBE_LIFETIME_SECONDS", 3)  # a probe's life, shortened for the test
    kubectl("create", "namespace", namespace)
    labels = ",".join(f"{k}={v}" for k, v in {**PROBE_LABEL, "run": "demopod"}.items())
    kubectl("run", "left-behind", "-n", namespace, "--image", "busybox:1.36", "--restart=Never", "--labels", labels, "--", "sleep", "600")
    time.sleep(4.5)  # older than a probe lives: its check was killed
    kubectl("run", "running-now", "-n", namespace, "--image", "busybox:1.36", "--restart=Never", "--labels", labels, "--", "sleep", "600")
    assert remove_leftover_probes(cluster, namespace) == ["left-behind"]
    assert [pod["metadata"]["name"] for pod in probe_pods(kubectl, namespace)] == ["running-now"]


def test_a_probe_pod_ends_itself(cluster: KubeCluster, kubectl: Kubectl, namespace: str) -> None:
    """A SIGKILL leaves no one to delete it: its own deadline does (kubelet's activeDeadlineSeconds)."""
    from labrunner.topics.basics.probes import PROBE_LIFETIME_SECONDS, run_in_probe_pod

    kubectl("create", "namespace", namespace)
    applied: list[dict] = []
    original = cluster.apply

    def recording(obj: dict, where: str | None = None) -> dict:
        applied.append(obj)
        return original(obj, where)

    cluster.apply = recording  # type: ignore[method-assign]
    run_in_probe_pod(cluster, namespace, {"run": "demopod"}, ["true"])
    [pod] = applied
    assert pod["spec"]["activeDeadlineSeconds"] == PROBE_LIFETIME_SECONDS
    assert pod["spec"]["containers"][0]["command"] == ["sleep", str(PROBE_LIFETIME_SECONDS)]


def test_a_dns_probe_compares_the_addresses_of_two_names(cluster: KubeCluster, kubectl: Kubectl, namespace: str) -> None:
    from labrunner.registry.types import CheckContext
    from labrunner.topics.basics.probes import ProbeDns, probe_dns

    kubectl("create", "namespace", namespace)
    kubectl("create", "service", "clusterip", "web", "--tcp=80", "-n", namespace)
    web = kubectl("get", "service", "web", "-n", namespace, "-o", "jsonpath={.spec.clusterIP}").stdout
    context = CheckContext(cluster, {})

    def probe(name: str, same_as: str) -> tuple[str, str, list[str]]:
        args = ProbeDns(kind="probe-dns", says="x", namespace=namespace, from_labels={"app": "probe"}, name=name,
                        expect="resolves", same_as=same_as)
        return probe_dns(args, context)

    status, message, _ = probe("web", f"web.{namespace}.svc.cluster.local")
    assert (status, message) == ("passed", f"from a pod labelled app=probe, web resolves to {web}, as web.{namespace}.svc.cluster.local does")
    status, message, _ = probe("web", "kube-dns.kube-system")
    assert status == "failed"
    assert message == f"from a pod labelled app=probe, web resolves to {web}, not to the address of kube-dns.kube-system (10.96.0.10)"
    status, message, details = probe("api.nowhere.internal", "web")
    assert status == "failed" and message == "from a pod labelled app=probe, api.nowhere.internal does not resolve"
    assert details == ["** server can't find api.nowhere.internal: NXDOMAIN"]
