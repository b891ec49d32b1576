"""The Troubleshooting lab's checks against the repairs learners get wrong, on a sandbox of this
module's own (the lab scales CoreDNS, rewrites its Corefile, cordons a node and installs the
sandbox's Calico: the shared sandbox's other users must never see that). Each scenario is set up
with the step's own setup, as ``labrunner setup`` runs it; each mistake is made with real kubectl
(or, for the steps that save a file, by writing the file as a shell redirect would), and the
first sentence the learner reads (the first failing check's) must name the object, the field and
the value responsible. Other right answers (a valueFrom instead of a renamed key, a number for a
port name, a template relabelled instead of a selector, an explicit class, CoreDNS at one replica,
a named policy port, a subject added, --timestamps) must pass.

Scenarios that change nothing cluster-wide get a namespace of their own per test; the two that
only read (a sidecar's log, the busiest pod) share one setup between their tests."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from labrunner.cluster.kube import KubeCluster, connect
from labrunner.lab.loader import load_lab
from labrunner.lab.model import Lab
from labrunner.registry import registry
from labrunner.registry.types import CheckContext, Outcome
from labrunner.sandbox.files import SandboxFiles
from labrunner.session.actions import reset_commands, run_commands, setup_commands, solution_commands
from tests.checks.lab_checks import step_results
from tests.conftest import REPO
from tests.sandboxes import KUBECTL, Kubectl, fresh_name, kubectl_for, start_sandbox

pytestmark = [pytest.mark.kubectl, pytest.mark.skipif(KUBECTL is None, reason="needs the kubectl binary on PATH")]

LAB_DIR = REPO / "labs" / "troubleshooting"
NODE, OTHER = "labrunner-sandbox-worker", "labrunner-sandbox-worker2"
Results = list[tuple[str, Outcome]]


# -- a sandbox of the module's own, and a scenario per test ----------------------------------------


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SandboxFiles, Kubectl, KubeCluster]]:
    from labrunner.sandbox.control import stop

    files = start_sandbox(tmp_path_factory.mktemp("troubleshooting-lab"))
    yield files, kubectl_for(files, tmp_path_factory.mktemp("home")), connect(files.kubeconfig)
    stop(files)


class Scenario:
    """One instance of the lab (its own namespaces and folder) on the module's sandbox."""

    def __init__(self, kubectl: Kubectl, cluster: KubeCluster, folder: Path, name: str | None = None) -> None:
        self.kubectl, self.cluster = kubectl, cluster
        self.ns = name or fresh_name("ts")
        self.net = f"{self.ns}-net"
        self.work = folder
        self.lab: Lab = load_lab(LAB_DIR, {"namespace": self.ns, "policy-namespace": self.net, "node": NODE, "workdir": str(folder)})

    def _run(self, commands: list[str]) -> None:
        done = run_commands(commands, self.cluster.info, self.lab.placeholder_values)
        assert all(a.exit_code == 0 for a in done), [(a.command, a.output) for a in done if a.exit_code]

    def setup(self, step_id: str) -> None:
        self._run(setup_commands(self.lab, self.lab.step(step_id), "sandbox"))

    def solve(self, step_id: str) -> None:
        self._run(solution_commands(self.lab, self.lab.step(step_id), "sandbox"))

    def reset(self, step_id: str) -> None:
        run_commands(reset_commands(self.lab, self.lab.step(step_id), "sandbox"), self.cluster.info, self.lab.placeholder_values)

    def results(self, step_id: str) -> Results:
        return step_results(self.lab, self.cluster, step_id)

    def k(self, *argv: str, check: bool = True, stdin: str | None = None) -> Any:
        return self.kubectl(*argv, check=check, stdin=stdin)

    def apply(self, *objects: dict[str, Any], namespace: str | None = None) -> None:
        items = {"apiVersion": "v1", "kind": "List", "items": list(objects)}
        self.k("apply", "-n", namespace or self.ns, "-f", "-", stdin=json.dumps(items))

    def patch(self, kind: str, name: str, *ops: dict[str, Any], namespace: str | None = None) -> None:
        self.k("patch", kind, name, "-n", namespace or self.ns, "--type=json", "-p", json.dumps(list(ops)))

    def until_failing(self, step_id: str) -> list[Outcome]:
        """The step's checks in order up to the first that does not pass: what the learner reads
        first (the probes after it are not started)."""
        kinds = registry()
        context = CheckContext(self.cluster, dict(self.lab.placeholder_values))
        found = []
        for check in self.lab.step(step_id).checks:
            kind = kinds.kind(check.kind)
            assert kind is not None
            found.append(kind.run(kinds.arguments(check), context))
            if found[-1][0] != "passed":
                break
        return found

    def first(self, step_id: str, *texts: str, seconds: float = 30) -> str:
        """The step fails, and the first sentence the learner reads (the first failing check's)
        says each of ``texts`` once the cluster has settled."""
        return self.explain(step_id, *texts, seconds=seconds)[0]

    def explain(self, step_id: str, *texts: str, seconds: float = 30) -> tuple[str, list[str]]:
        """As :meth:`first`: that sentence, and the details below it."""
        deadline = time.monotonic() + seconds
        while True:
            failing = [outcome for outcome in self.until_failing(step_id) if outcome[0] != "passed"]
            said = failing[0][1] if failing else ""
            if said and all(text in said for text in texts):
                return said, list(failing[0][2])
            if time.monotonic() > deadline:
                missing = [text for text in texts if text not in said]
                everything = "\n".join(f"{o[1]}\n  " + "\n  ".join(o[2]) for o in failing)
                pytest.fail(f"{step_id}: {'it passed' if not failing else f'{missing!r} not in the first sentence:'}\n{everything}")
            time.sleep(0.2)

    def passes(self, step_id: str, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while True:
            results = self.results(step_id)
            if all(outcome[0] == "passed" for _, outcome in results):
                return
            if time.monotonic() > deadline:
                pytest.fail(f"{step_id} still fails:\n" + "\n".join(o[1] for _, o in results if o[0] != "passed"))
            time.sleep(0.2)

    def wait(self, what: str, condition: Callable[[], bool], seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            if time.monotonic() > deadline:
                pytest.fail(f"{what} never happened")
            time.sleep(0.1)

    def pods(self, selector: str, namespace: str | None = None) -> list[dict[str, Any]]:
        found = self.k("get", "pods", "-n", namespace or self.ns, "-l", selector, "-o", "json").stdout
        return list(json.loads(found)["items"])


@pytest.fixture
def scenario(own: tuple[SandboxFiles, Kubectl, KubeCluster], tmp_path: Path) -> Iterator[Scenario]:
    made = Scenario(own[1], own[2], tmp_path / "files")
    yield made
    made.k("delete", "namespace", made.ns, made.net, "--ignore-not-found", "--wait=false", check=False)


def crash_looping(s: Scenario, selector: str) -> Callable[[], bool]:
    def looping() -> bool:
        return any(((c.get("state") or {}).get("waiting") or {}).get("reason") == "CrashLoopBackOff"
                   for pod in s.pods(selector) for c in (pod.get("status") or {}).get("containerStatuses") or [])
    return looping


# -- 0 crashloop: a ConfigMap key the app reads under another name ----------------------------------


def test_deleting_the_crashing_pods_changes_nothing_and_the_missing_key_is_named(scenario: Scenario) -> None:
    s = scenario
    s.setup("crashloop")
    s.wait("the crash loop", crash_looping(s, "app=orders"))
    s.k("delete", "pods", "-n", s.ns, "-l", "app=orders")
    assert s.explain("crashloop", "configmap orders-config has no key PAYMENTS_URL") == (
        "configmap orders-config has no key PAYMENTS_URL (its keys: LOG_LEVEL, PAYMENT_URL)",
        ["so spec.template.spec.containers[0].envFrom[0] of deployment orders gives the container LOG_LEVEL, PAYMENT_URL and no PAYMENTS_URL"])


def test_the_value_written_into_the_deployment_then_a_value_typed_wrong(scenario: Scenario) -> None:
    s = scenario
    s.setup("crashloop")
    s.k("set", "env", "deployment/orders", "-n", s.ns, "PAYMENTS_URL=http://payments:8080")
    assert s.explain("crashloop", "env[0] sets PAYMENTS_URL") == (
        "deployment orders: spec.template.spec.containers[0].env[0] sets PAYMENTS_URL to 'http://payments:8080', not from configmap "
        "orders-config",
        ["this step wants it from configmap orders-config, where the app's settings are kept: a copy written into the Deployment drifts "
         "from it"])
    # taken back, and the key added to the ConfigMap with a value typed wrong
    s.k("set", "env", "deployment/orders", "-n", s.ns, "PAYMENTS_URL-")
    s.k("patch", "configmap", "orders-config", "-n", s.ns, "--type=merge", "-p", '{"data": {"PAYMENTS_URL": "http://payment:8080"}}')
    s.first("crashloop", "PAYMENTS_URL comes from configmap orders-config as 'http://payment:8080'",
            "this step wants 'http://payments:8080'")


def test_the_key_added_without_a_restart_leaves_the_crashing_pods_named(scenario: Scenario) -> None:
    s = scenario
    s.setup("crashloop")
    # the kubelet's back-off doubles from 10 s: after four restarts the next is 80 s away (4 s at the
    # tests' time scale), long enough to read the pods still crash-looping with the old environment
    s.wait("four restarts", lambda: all(c.get("restartCount", 0) >= 4 for pod in s.pods("app=orders")
                                        for c in (pod.get("status") or {}).get("containerStatuses") or []) and bool(s.pods("app=orders")))
    s.k("patch", "configmap", "orders-config", "-n", s.ns, "--type=merge", "-p", '{"data": {"PAYMENTS_URL": "http://payments:8080"}}')
    said, details = s.explain("crashloop", "still crash-loops: it started before the fix")
    assert said.startswith("pod orders-")
    assert details[0].startswith("its last run said 'FATAL config: PAYMENTS_URL is not set")
    assert details[1] == "a container reads its environment when it starts"


def test_the_deployment_recreated_under_another_name_is_not_the_repair(scenario: Scenario) -> None:
    s = scenario
    s.setup("crashloop")
    orders = json.loads(s.k("get", "deployment", "orders", "-n", s.ns, "-o", "json").stdout)
    copy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "orders-v2"},
            "spec": {**orders["spec"], "selector": {"matchLabels": {"app": "orders-v2"}}}}
    copy["spec"]["template"]["metadata"]["labels"] = {"app": "orders-v2"}
    copy["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "PAYMENTS_URL", "value": "http://payments:8080"}]
    s.apply(copy)
    s.k("delete", "deployment", "orders", "-n", s.ns)
    said = s.first("crashloop", f"deployment orders does not exist in {s.ns}: this step repairs it, under its own name")
    details = next(o[2] for o in s.until_failing("crashloop") if o[0] != "passed")
    assert f"deployments in {s.ns} now: orders-v2" in details, (said, details)


def test_orders_scaled_to_zero_stops_the_crashes_and_repairs_nothing(scenario: Scenario) -> None:
    s = scenario
    s.setup("crashloop")
    s.k("patch", "configmap", "orders-config", "-n", s.ns, "--type=merge", "-p", '{"data": {"PAYMENTS_URL": "http://payments:8080"}}')
    s.k("scale", "deployment/orders", "-n", s.ns, "--replicas=0")
    s.first("crashloop", "deployment orders has spec.replicas 0: no pod runs it")


def test_correct_a_value_from_the_existing_key_instead_of_a_renamed_key(scenario: Scenario) -> None:
    s = scenario
    s.setup("crashloop")
    s.patch("deployment", "orders", {"op": "add", "path": "/spec/template/spec/containers/0/env", "value": [
        {"name": "PAYMENTS_URL", "valueFrom": {"configMapKeyRef": {"name": "orders-config", "key": "PAYMENT_URL"}}}]})
    s.k("rollout", "status", "deployment/orders", "-n", s.ns, "--timeout=60s")
    s.passes("crashloop")


# -- 1 never-ready: a tag that does not exist, then a probe on the wrong port -------------------------


def test_the_tag_fixed_but_not_the_probe(scenario: Scenario) -> None:
    s = scenario
    s.setup("never-ready")
    s.k("set", "image", "deployment/storefront", "-n", s.ns, "web=nginx:1.27")
    said, details = s.explain("never-ready", "container web of pod storefront-", "fails its readinessProbe (httpGet / on port 8080)")
    assert said.startswith("deployment storefront is rolling out: ")
    assert "dial tcp" in details[0] and ":8080: connect: connection refused" in details[0]
    assert details[1] == "the container declares port(s) http=80"


def test_the_probe_removed_is_named_as_missing(scenario: Scenario) -> None:
    s = scenario
    s.setup("never-ready")
    s.patch("deployment", "storefront", {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "nginx:1.27"},
            {"op": "remove", "path": "/spec/template/spec/containers/0/readinessProbe"})
    s.k("rollout", "status", "deployment/storefront", "-n", s.ns, "--timeout=60s")
    s.first("never-ready", "deployment storefront: spec.template.spec.containers[0].readinessProbe is not set")


def test_the_container_port_moved_to_the_probe_s_instead_of_the_probe(scenario: Scenario) -> None:
    s = scenario
    s.setup("never-ready")
    s.patch("deployment", "storefront", {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "nginx:1.27"},
            {"op": "replace", "path": "/spec/template/spec/containers/0/ports/0/containerPort", "value": 8080})
    # declaring 8080 does not make nginx listen there
    said, details = s.explain("never-ready", "fails its readinessProbe (httpGet / on port 8080)")
    assert "connection refused" in details[0] and details[1] == "the container declares port(s) http=8080"


def test_correct_an_alpine_tag_and_the_probe_on_port_80(scenario: Scenario) -> None:
    s = scenario
    s.setup("never-ready")
    s.patch("deployment", "storefront", {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "nginx:1.27-alpine"},
            {"op": "replace", "path": "/spec/template/spec/containers/0/readinessProbe/httpGet/port", "value": 80})
    s.k("rollout", "status", "deployment/storefront", "-n", s.ns, "--timeout=60s")
    s.passes("never-ready")


# -- 2 no-endpoints: a selector label the pods do not have ------------------------------------------


def test_pods_relabelled_by_hand_are_not_the_repair(scenario: Scenario) -> None:
    s = scenario
    s.setup("no-endpoints")
    s.k("rollout", "status", "deployment/catalog", "-n", s.ns, "--timeout=60s")
    s.k("label", "pods", "-n", s.ns, "-l", "app=catalog", "tier=api", "--overwrite")
    assert s.explain("no-endpoints", "relabelled by hand") == (
        "service catalog: spec.selector app=catalog,tier=api selects the pods of deployment catalog only because they were relabelled by hand",
        ["the Deployment's pod template says app=catalog,tier=backend, so every new pod (a restart, a rollout, a drained node) is left out"])


def test_a_selector_value_misspelt_in_the_repair(scenario: Scenario) -> None:
    s = scenario
    s.setup("no-endpoints")
    s.k("patch", "service", "catalog", "-n", s.ns, "--type=merge", "-p", '{"spec": {"selector": {"tier": "backed"}}}')
    s.first("no-endpoints", "service catalog: spec.selector has tier=backed, where the pods have tier=backend")


def test_correct_the_template_relabelled_instead_of_the_selector(scenario: Scenario) -> None:
    s = scenario
    s.setup("no-endpoints")
    s.patch("deployment", "catalog", {"op": "replace", "path": "/spec/template/metadata/labels/tier", "value": "api"})
    s.k("rollout", "status", "deployment/catalog", "-n", s.ns, "--timeout=60s")
    s.passes("no-endpoints")


# -- 3 target-port: a named targetPort no container declares ----------------------------------------


def test_the_service_port_changed_then_its_own_number_as_the_target_port(scenario: Scenario) -> None:
    s = scenario
    s.setup("target-port")
    s.patch("service", "cart", {"op": "replace", "path": "/spec/ports/0/port", "value": 80},
            {"op": "replace", "path": "/spec/ports/0/targetPort", "value": 80})
    s.first("target-port", "service cart: spec.ports has no port 8080 (it has 80)", "its clients connect to 8080")
    # the Service's port put back, and its own number given as the targetPort
    s.patch("service", "cart", {"op": "replace", "path": "/spec/ports/0/port", "value": 8080},
            {"op": "replace", "path": "/spec/ports/0/targetPort", "value": 8080})
    s.first("target-port", "service cart: spec.ports[0].targetPort is 8080, but the containers of deployment cart declare web=80/TCP")


def test_correct_the_target_port_as_a_number_and_the_container_port_renamed(scenario: Scenario) -> None:
    s = scenario
    s.setup("target-port")
    s.first("target-port", "spec.ports[0].targetPort is 'http', a port name no container of deployment cart declares",
            "(they declare web=80/TCP)")
    s.patch("service", "cart", {"op": "replace", "path": "/spec/ports/0/targetPort", "value": 80})
    s.k("rollout", "status", "deployment/cart", "-n", s.ns, "--timeout=60s")
    s.passes("target-port")
    # the other side: the Service as it was, the container's port named as the Service asks
    s.patch("service", "cart", {"op": "replace", "path": "/spec/ports/0/targetPort", "value": "http"})
    s.patch("deployment", "cart", {"op": "replace", "path": "/spec/template/spec/containers/0/ports/0/name", "value": "http"})
    s.k("rollout", "status", "deployment/cart", "-n", s.ns, "--timeout=60s")
    s.passes("target-port")


# -- 4 pending-pods: a request no node can give -------------------------------------------------------


def test_requests_removed_then_the_deployment_scaled_to_zero(scenario: Scenario) -> None:
    s = scenario
    s.setup("pending-pods")
    s.patch("deployment", "invoicer", {"op": "remove", "path": "/spec/template/spec/containers/0/resources/requests"})
    s.k("rollout", "status", "deployment/invoicer", "-n", s.ns, "--timeout=60s")
    s.first("pending-pods", "deployment invoicer: spec.template.spec.containers[0].resources.requests.cpu is not set; "
            "this step wants 500m")
    # scaled to zero: no pod is Pending any more, and none runs either
    s.k("scale", "deployment/invoicer", "-n", s.ns, "--replicas=0")
    s.first("pending-pods", "0 pod(s) with labels app=invoicer", "this step wants at least 2")


def test_correct_half_a_cpu_written_as_a_decimal(scenario: Scenario) -> None:
    s = scenario
    s.setup("pending-pods")
    s.patch("deployment", "invoicer", {"op": "replace", "path": "/spec/template/spec/containers/0/resources/requests/cpu", "value": "0.5"})
    s.k("rollout", "status", "deployment/invoicer", "-n", s.ns, "--timeout=60s")
    s.passes("pending-pods")


# -- 5 pending-claim: a class this cluster does not have ------------------------------------------


def test_a_storage_class_made_to_fit_the_claim_binds_it_to_the_wrong_class(scenario: Scenario) -> None:
    s = scenario
    s.setup("pending-claim")
    s.apply({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "fast-ssd"},
             "provisioner": "rancher.io/local-path", "volumeBindingMode": "WaitForFirstConsumer", "reclaimPolicy": "Delete"})
    try:
        s.k("rollout", "status", "deployment/uploads", "-n", s.ns, "--timeout=60s")
        s.first("pending-claim", "fast-ssd", "standard")
    finally:
        s.reset("pending-claim")


def test_a_claim_under_another_name_leaves_the_claim_of_the_step_missing(scenario: Scenario) -> None:
    s = scenario
    s.setup("pending-claim")
    s.k("delete", "pvc", "uploads", "-n", s.ns, "--wait=false")
    s.apply({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "uploads-2"},
             "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})
    s.patch("deployment", "uploads", {"op": "replace", "path": "/spec/template/spec/volumes/0/persistentVolumeClaim/claimName",
                                      "value": "uploads-2"})
    s.first("pending-claim", "uploads")


def test_correct_the_claim_made_again_with_the_class_written_out(scenario: Scenario) -> None:
    s = scenario
    s.setup("pending-claim")
    s.k("delete", "pvc", "uploads", "-n", s.ns)
    s.apply({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "uploads", "labels": {"app": "uploads"}},
             "spec": {"storageClassName": "standard", "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})
    s.k("rollout", "status", "deployment/uploads", "-n", s.ns, "--timeout=60s")
    s.passes("pending-claim")


# -- 6 dns-down, 7 dns-corefile: CoreDNS, which every namespace shares ----------------------------------


@pytest.fixture
def dns(scenario: Scenario) -> Iterator[Scenario]:
    """A scenario whose steps change CoreDNS; put back as the lab's reset does, whatever the test did."""
    yield scenario
    scenario.reset("dns-corefile")
    scenario.k("delete", "deployment", "coredns", "-n", scenario.ns, "--ignore-not-found", check=False)
    scenario.k("scale", "deployment", "coredns", "-n", "kube-system", "--replicas=2")
    scenario.k("rollout", "status", "deployment/coredns", "-n", "kube-system", "--timeout=60s")


def test_coredns_scaled_in_the_wrong_namespace_leaves_kube_system_s_at_zero(dns: Scenario) -> None:
    s = dns
    s.setup("dns-down")
    wrong = s.k("scale", "deployment", "coredns", "-n", s.ns, "--replicas=1", check=False)  # forgot -n kube-system
    assert 'deployments.apps "coredns" not found' in wrong.stderr
    s.k("create", "deployment", "coredns", "-n", s.ns, "--image=registry.k8s.io/coredns/coredns:v1.11.3")
    said = s.first("dns-down", "deployment coredns in kube-system has spec.replicas 0: no pod serves service kube-dns")
    details = next(o[2] for o in s.until_failing("dns-down") if o[0] != "passed")
    assert any(f"the deployment coredns in {s.ns} is not a backend of service kube-dns" in line for line in details), (said, details)


def test_correct_coredns_at_one_replica_serves_names(dns: Scenario) -> None:
    s = dns
    s.setup("dns-down")
    s.k("scale", "deployment", "coredns", "-n", "kube-system", "--replicas=1")
    s.k("rollout", "status", "deployment/coredns", "-n", "kube-system", "--timeout=60s")
    s.passes("dns-down")


def corefile(s: Scenario) -> str:
    return str(s.k("get", "configmap", "coredns", "-n", "kube-system", "-o", "jsonpath={.data.Corefile}").stdout)


def write_corefile(s: Scenario, text: str) -> None:
    s.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "coredns"}, "data": {"Corefile": text}}, namespace="kube-system")


STUB = "corp.example.com:53 {\n    errors\n    forward . 10.10.0.53\n}\n"


class TestCorefile:
    """Mistakes made in the Corefile the step hands over, one setup for all (each test writes a
    whole Corefile from the broken one; the checks that name them only read the ConfigMap)."""

    @pytest.fixture(scope="class")
    def broken(self, own: tuple[SandboxFiles, Kubectl, KubeCluster], tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Scenario, str]]:
        made = Scenario(own[1], own[2], tmp_path_factory.mktemp("corefile"))
        made.setup("dns-corefile")
        yield made, corefile(made)
        made.reset("dns-corefile")
        made.k("rollout", "status", "deployment/coredns", "-n", "kube-system", "--timeout=60s")
        made.k("delete", "namespace", made.ns, "--ignore-not-found", "--wait=false", check=False)

    def test_the_upstream_put_back_and_the_corporate_zone_dropped(self, broken: tuple[Scenario, str]) -> None:
        s, text = broken
        write_corefile(s, text.replace("forward . 10.10.0.53", "forward . /etc/resolv.conf"))
        assert s.explain("dns-corefile", "no server block sends") == (
            "configmap coredns in kube-system: no server block sends corp.example.com to 10.10.0.53; .:53 forwards it to /etc/resolv.conf",
            ["the server block .:53 forwards its names to /etc/resolv.conf with every other name",
             "a server block corp.example.com:53 with forward . 10.10.0.53 does"])

    def test_the_stub_domain_added_but_every_name_still_sent_to_the_corporate_server(self, broken: tuple[Scenario, str]) -> None:
        s, text = broken
        write_corefile(s, text + "\n" + STUB)
        assert s.explain("dns-corefile", "forward . (line 13)") == (
            "configmap coredns in kube-system: forward . (line 13) sends every name outside the cluster to 10.10.0.53, a server meant for "
            "corp.example.com only", ["so other names (www.example.com) no longer resolve"])

    def test_a_misspelt_directive_is_coredns_s_own_refusal(self, broken: tuple[Scenario, str]) -> None:
        s, text = broken
        written = text.replace("forward . 10.10.0.53", "forward . /etc/resolv.conf") + "\n" + STUB.replace("forward .", "forwrd .")
        write_corefile(s, written)
        line = written.splitlines().index("    forwrd . 10.10.0.53") + 1
        s.first("dns-corefile", f"configmap coredns in kube-system: CoreDNS refuses the Corefile: /etc/coredns/Corefile:{line} - "
                "Error during parsing: Unknown directive 'forwrd'")

    def test_a_second_forward_in_the_root_block_is_refused_as_coredns_refuses_it(self, broken: tuple[Scenario, str]) -> None:
        s, text = broken
        write_corefile(s, text.replace("forward . 10.10.0.53", "forward corp.example.com 10.10.0.53\n    forward . /etc/resolv.conf"))
        s.first("dns-corefile", "CoreDNS refuses the Corefile: plugin/forward: this plugin can only be used once per Server Block")

    def test_the_coredns_configmap_deleted_is_named_first(self, broken: tuple[Scenario, str]) -> None:
        s, text = broken
        s.k("delete", "configmap", "coredns", "-n", "kube-system")
        try:
            said, details = s.explain("dns-corefile", "configmap coredns was deleted from kube-system; this step keeps it")
            assert details[0] == "CoreDNS mounts its Corefile from it; repair the Corefile in it"
        finally:
            write_corefile(s, text)


def test_correct_the_reference_repair_and_the_reset_puts_kubeadm_s_corefile_back(dns: Scenario) -> None:
    s = dns
    before = corefile(s)
    s.setup("dns-corefile")
    s.solve("dns-corefile")
    s.passes("dns-corefile")
    s.reset("dns-corefile")
    assert corefile(s) == before
    assert s.k("get", "configmap", "coredns-before-troubleshooting", "-n", "kube-system", check=False).returncode != 0


# -- 8 policy-blocks: an allow rule on the Service's port instead of the pod's --------------------------


def test_the_default_deny_deleted_is_named_first(scenario: Scenario) -> None:
    s = scenario
    s.setup("policy-blocks")
    s.k("delete", "networkpolicy", "default-deny", "-n", s.net)
    said, details = s.explain("policy-blocks", f"networkpolicy default-deny was deleted from {s.net}; this step keeps it")
    assert details[0].startswith("it is what keeps every other pod (batch) away from the ledger")


def test_an_allow_rule_opened_to_every_source_lets_batch_in(scenario: Scenario) -> None:
    s = scenario
    s.setup("policy-blocks")
    s.patch("networkpolicy", "allow-web-to-ledger", {"op": "replace", "path": "/spec/ingress/0",
                                                       "value": {"ports": [{"protocol": "TCP", "port": 80}]}}, namespace=s.net)
    s.first("policy-blocks", "allow-web-to-ledger's ingress rule 1 has no from, so it allows anyone; this step allows only from app=web pods")


def test_correct_the_allow_rule_on_the_pod_s_named_port(scenario: Scenario) -> None:
    s = scenario
    s.setup("policy-blocks")
    s.patch("networkpolicy", "allow-web-to-ledger", {"op": "replace", "path": "/spec/ingress/0/ports/0/port", "value": "http"},
            namespace=s.net)
    s.passes("policy-blocks")


# -- 9 forbidden: a binding whose subject is in another namespace -----------------------------------


def test_cluster_admin_bound_instead_passes_access_and_fails_least_privilege(scenario: Scenario) -> None:
    s = scenario
    s.setup("forbidden")
    name = f"{s.ns}-deployer-admin"
    s.k("create", "clusterrolebinding", name, "--clusterrole=cluster-admin", f"--serviceaccount={s.ns}:deployer")
    try:
        said, details = s.explain("forbidden", f"ClusterRoleBinding {name} -> ClusterRole cluster-admin also lets ServiceAccount "
                                  f"{s.ns}/deployer every verb on every resource")
        assert said.endswith(", more than this step asks")
        assert details[0].startswith(f"ServiceAccount {s.ns}/deployer holds more than this step asks in namespace {s.ns}")
    finally:
        s.k("delete", "clusterrolebinding", name, "--ignore-not-found")


def test_a_user_subject_where_the_service_account_was_meant(scenario: Scenario) -> None:
    s = scenario
    s.setup("forbidden")
    # as handed over: the subject's namespace is the mistake, said first
    said, details = s.explain("forbidden", f"RoleBinding {s.ns}/deployer names ServiceAccount default/deployer, in namespace default, "
                              f"not {s.ns}")
    assert f"ServiceAccount {s.ns}/deployer cannot patch deployments.apps in namespace {s.ns}" in details
    s.patch("rolebinding", "deployer", {"op": "replace", "path": "/subjects/0", "value": {
        "kind": "User", "name": "deployer", "apiGroup": "rbac.authorization.k8s.io"}})
    said, details = s.explain("forbidden", f"RoleBinding {s.ns}/deployer names User deployer, a user, not the ServiceAccount {s.ns}/deployer")
    assert f"ServiceAccount {s.ns}/deployer cannot patch deployments.apps in namespace {s.ns}" in details


def test_the_binding_recreated_under_another_name_is_not_the_repair(scenario: Scenario) -> None:
    s = scenario
    s.setup("forbidden")
    s.k("delete", "rolebinding", "deployer", "-n", s.ns)
    s.k("create", "rolebinding", "deployer-fixed", "--role=deployer", f"--serviceaccount={s.ns}:deployer", "-n", s.ns)
    s.first("forbidden", f"rolebinding deployer was deleted from {s.ns}")


def test_correct_the_right_subject_added_with_kubectl_set_subject(scenario: Scenario) -> None:
    s = scenario
    s.setup("forbidden")
    s.k("set", "subject", "rolebinding", "deployer", "-n", s.ns, f"--serviceaccount={s.ns}:deployer")
    s.passes("forbidden")


# -- 10 cordoned-node: a node left cordoned after maintenance -----------------------------------------


@pytest.fixture
def node(scenario: Scenario) -> Iterator[Scenario]:
    yield scenario
    scenario.reset("cordoned-node")
    scenario.k("uncordon", OTHER)


def test_the_wrong_node_uncordoned_leaves_the_node_and_the_replica_waiting(node: Scenario) -> None:
    s = node
    s.setup("cordoned-node")
    s.k("uncordon", OTHER)
    said, details = s.explain("cordoned-node", f"node {NODE} is cordoned (spec.unschedulable: true)")
    assert f"kubectl uncordon {NODE}" in [said.rpartition(": ")[2], *details]  # the fix, in the sentence or after it


def test_the_anti_affinity_removed_instead_of_the_cordon(node: Scenario) -> None:
    s = node
    s.setup("cordoned-node")
    # the new pods, without the rule, still may not join the old one on the other worker (its own rule
    # keeps them off: anti-affinity is symmetric), so they wait for the cordoned node as well
    s.patch("deployment", "cache", {"op": "remove", "path": "/spec/template/spec/affinity"})
    said, details = s.explain("cordoned-node", f"node {NODE} is cordoned (spec.unschedulable: true)")
    assert f"kubectl uncordon {NODE}" in [said.rpartition(": ")[2], *details]  # the fix, in the sentence or after it


# -- 11 sidecar-logs, 12 top-cpu: answers saved to files; one setup each, shared ------------------------


@pytest.fixture(scope="module")
def saved(own: tuple[SandboxFiles, Kubectl, KubeCluster], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    """The checkout (with its restarted shipper) and the media team's pods, running; each test
    writes its own answer files into the shared folder."""
    made = Scenario(own[1], own[2], tmp_path_factory.mktemp("answers"))
    made.setup("sidecar-logs")
    made.setup("top-cpu")
    made.k("wait", "pod", "-n", made.ns, "-l", "app=checkout", "--for=condition=Ready", "--timeout=60s")
    made.wait("the shipper's previous run", lambda: bool(_logs(made, "audit-shipper", "--previous")))
    yield made
    made.k("delete", "namespace", made.ns, "--ignore-not-found", "--wait=false", check=False)


def _logs(s: Scenario, container: str, *flags: str) -> str:
    return str(s.k("logs", "-n", s.ns, "deployment/checkout", "-c", container, *flags, check=False).stdout)


def write(s: Scenario, name: str, text: str) -> None:
    s.work.mkdir(parents=True, exist_ok=True)
    (s.work / name).write_text(text, encoding="utf-8")


LOG = "audit-shipper.log"


def test_the_app_container_s_log_saved_for_the_sidecar_s(saved: Scenario) -> None:
    s = saved
    write(s, LOG, _logs(s, "checkout"))
    # the file named as the lab's workdir gives it (here a folder outside the working directory: in full)
    assert s.explain("sidecar-logs", "container checkout") == (
        f"{s.work / LOG} holds the log of container checkout, not audit-shipper",
        ["kubectl logs without -c reads the pod's default container, checkout; -c audit-shipper reads audit-shipper's"])


def test_the_previous_run_of_the_sidecar_saved(saved: Scenario) -> None:
    s = saved
    write(s, LOG, _logs(s, "audit-shipper", "--previous"))
    said, details = s.explain("sidecar-logs", "previous run")
    assert said == f"{s.work / LOG} holds container audit-shipper's previous run (kubectl logs --previous), not the run going on now"
    assert details[0].endswith("that ended; this step wants the log of the run going on now")


def test_every_container_s_log_saved_at_once(saved: Scenario) -> None:
    s = saved
    write(s, LOG, str(s.k("logs", "-n", s.ns, "deployment/checkout", "--all-containers").stdout))
    assert s.explain("sidecar-logs", "mixes") == (
        f"{s.work / LOG} mixes the logs of containers audit-shipper and checkout (kubectl logs --all-containers)",
        ["this step wants audit-shipper's alone"])


def test_only_the_end_of_the_log_saved(saved: Scenario) -> None:
    s = saved
    s.wait("a few shipped lines", lambda: _logs(s, "audit-shipper").count("shipped:") >= 2)
    write(s, LOG, _logs(s, "audit-shipper", "--tail=1"))
    said, details = s.explain("sidecar-logs", "starts at line", "of container audit-shipper's log, not at its first line")
    assert said.startswith(f"{s.work / LOG} starts at line ")
    assert details[0].startswith("the file's first line: 'shipped: ")
    assert details[0].endswith(": 'audit-shipper 1.4 starting'")
    assert details[1] == "save the whole log, without --tail or --since"


def test_correct_the_sidecar_s_log_saved_with_timestamps(saved: Scenario) -> None:
    s = saved
    write(s, LOG, _logs(s, "audit-shipper", "--timestamps"))
    s.passes("sidecar-logs")


TOP = "busiest-pod.txt"


def media(s: Scenario) -> dict[str, str]:
    """The media pods by their app label (gallery's two as one), once metrics-server has figures for all four."""
    names = {pod["metadata"]["labels"]["app"]: pod["metadata"]["name"] for pod in s.pods("team=media")}
    s.wait("metrics for the media pods", lambda: len(s.k("top", "pods", "-n", s.ns, "-l", "team=media", "--no-headers",
                                                          check=False).stdout.splitlines()) == 4, seconds=60)
    return names


def test_the_pod_using_the_most_memory_named_for_the_most_cpu(saved: Scenario) -> None:
    s = saved
    pods = media(s)
    write(s, TOP, pods["media-db"] + "\n")
    said, details = s.explain("top-cpu", f"names {pods['media-db']}")
    assert said == f"{s.work / TOP} names {pods['media-db']}, the pod using the most memory, not the most CPU"
    assert details[0].startswith("it uses ") and details[0].endswith("m CPU")


def test_the_workload_named_for_its_pod(saved: Scenario) -> None:
    s = saved
    pods = media(s)
    write(s, TOP, "thumbnailer\n")
    s.first("top-cpu", "names 'thumbnailer', the workload; this step wants the name of its pod", pods["thumbnailer"])


def test_the_resource_and_name_as_kubectl_prints_them(saved: Scenario) -> None:
    s = saved
    pods = media(s)
    write(s, TOP, f"pod/{pods['thumbnailer']}\n")
    s.first("top-cpu", f"holds 'pod/{pods['thumbnailer']}'; this step wants the pod's name alone")


def test_kubectl_top_s_whole_table_saved(saved: Scenario) -> None:
    s = saved
    media(s)
    write(s, TOP, s.k("top", "pods", "-n", s.ns, "-l", "team=media", "--sort-by=cpu").stdout)
    said, details = s.explain("top-cpu", "holds 5 lines")
    assert said == f"{s.work / TOP} holds 5 lines; this step wants only the pod's name"
    assert details == ["its first line: 'NAME                           CPU(cores)   MEMORY(bytes)'",
                       "kubectl top prints a table: take the NAME of its first row"]


def test_a_pod_of_another_namespace_named(saved: Scenario) -> None:
    s = saved
    media(s)
    coredns = s.pods("k8s-app=kube-dns", namespace="kube-system")[0]["metadata"]["name"]
    write(s, TOP, coredns + "\n")
    s.first("top-cpu", f"names {coredns}, a pod of namespace kube-system; this step asks about {s.ns}")


def test_correct_the_busiest_pod_as_the_solution_writes_it(saved: Scenario) -> None:
    s = saved
    media(s)
    s.solve("top-cpu")
    s.passes("top-cpu")
