"""The Scheduling lab's own checks against the mistakes learners make, on a sandbox of this
module's own (the steps taint, label, cordon, drain and delete a node, which the shared sandbox's
other users must never see): each mistake is made with real kubectl, the step's checks run
through the registry, and the diagnosis must name the node, the field and the value responsible.
Correct answers written other ways (node affinity for a nodeSelector, an Exists toleration or one
without effect, topologySpreadConstraints for anti-affinity, YAML for kubectl flags, deleted pods
for a restart, quantities spelt otherwise) must pass.

Earlier steps are put in place with the lab's own solutions, as ``labrunner solve`` runs them."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from labrunner.cluster.kube import KubeCluster, connect
from labrunner.lab.loader import load_lab
from labrunner.lab.model import Lab
from labrunner.registry.types import Outcome
from labrunner.sandbox.files import SandboxFiles
from labrunner.session.actions import run_commands, solution_commands
from tests.checks.lab_checks import failing_text, step_results
from tests.conftest import REPO
from tests.sandboxes import KUBECTL, Kubectl, fresh_name, kubectl_for, start_sandbox, start_scaled

pytestmark = [pytest.mark.kubectl, pytest.mark.skipif(KUBECTL is None, reason="needs the kubectl binary on PATH")]

LAB_DIR = REPO / "labs" / "scheduling"
ASSETS = REPO / "assets" / "scheduling"
CONTROL_PLANE, NODE, OTHER = "labrunner-sandbox-control-plane", "labrunner-sandbox-worker", "labrunner-sandbox-worker2"
Results = list[tuple[str, Outcome]]


# -- a sandbox of the module's own, a namespace per test, the node put back after each ---------------


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SandboxFiles, Kubectl]]:
    from labrunner.sandbox.control import stop

    files = start_sandbox(tmp_path_factory.mktemp("scheduling-lab"))
    yield files, kubectl_for(files, tmp_path_factory.mktemp("home"))
    stop(files)


@pytest.fixture
def k(own: tuple[SandboxFiles, Kubectl]) -> Kubectl:
    return own[1]


@pytest.fixture
def ns(k: Kubectl) -> Iterator[str]:
    """The test's namespace; afterwards it is deleted, its pods at once (so that they free the
    nodes' resources for the next test without waiting out their grace period), and the nodes
    are put back as the lab found them."""
    name = fresh_name("sched")
    yield name
    k("delete", "namespace", name, "--ignore-not-found", "--wait=false", check=False)
    k("delete", "pods", "--all", "-n", name, "--force", "--grace-period=0", check=False)
    k("delete", "priorityclass", "business-critical", "--ignore-not-found", check=False)
    for node in json.loads(k("get", "nodes", "-o", "json").stdout)["items"]:
        node_name, spec = node["metadata"]["name"], node.get("spec") or {}
        if spec.get("unschedulable"):
            k("uncordon", node_name, check=False)
        if any(taint.get("key") == "dedicated" for taint in spec.get("taints") or ()):
            k("taint", "node", node_name, "dedicated-", check=False)
        if "dedicated" in (node["metadata"].get("labels") or {}):
            k("label", "node", node_name, "dedicated-", check=False)


@pytest.fixture
def cluster(own: tuple[SandboxFiles, Kubectl]) -> KubeCluster:
    return connect(own[0].kubeconfig)


@pytest.fixture
def lab(ns: str) -> Lab:
    return load_lab(LAB_DIR, {"namespace": ns, "node": NODE})


@pytest.fixture
def checks(lab: Lab, cluster: KubeCluster) -> Callable[[str], Results]:
    """Run a step's checks through the registry, as the session does: (says, outcome) each."""

    def run(step_id: str) -> Results:
        return step_results(lab, cluster, step_id)

    return run


@pytest.fixture
def solve(lab: Lab, cluster: KubeCluster, k: Kubectl) -> Callable[..., None]:
    """Run steps' solutions, as ``labrunner solve`` does; without their ``rollout status`` waits
    (a check waits for what it needs) except for the steps named in ``settle``. Each workload is
    waited for until its pods are bound to nodes, so that a taint or cordon that follows finds
    them where the scheduler put them."""

    def run(*step_ids: str, settle: tuple[str, ...] = ()) -> None:
        for step_id in step_ids:
            for command in solution_commands(lab, lab.step(step_id), "sandbox"):
                if "rollout status" in command and step_id not in settle:
                    continue
                [result] = run_commands([command], cluster.info, lab.placeholder_values)
                assert result.exit_code == 0, f"{step_id}: {command}: {result.output}"
            if step_id in BOUND:
                app, count = BOUND[step_id]
                deadline = time.monotonic() + 20
                while len(nodes_of(k, lab.placeholder_values["namespace"], app)) < count and time.monotonic() < deadline:
                    time.sleep(0.05)

    return run


BOUND = {"read-nodes": ("web", 4), "batch-on-node": ("batch", 2), "spread": ("cache", 2)}
"""The pods each step's solution makes, waited for until the scheduler has bound them."""


def said_by(results: Results) -> str:
    return "\n".join(f"{outcome[1]}\n" + "\n".join(outcome[2]) for _, outcome in results if outcome[0] != "passed")


def fails(checks: Callable[[str], Results], step_id: str, *texts: str, seconds: float = 20) -> str:
    """The step fails, and (once the cluster has settled) its failing checks say each of ``texts``."""
    deadline = time.monotonic() + seconds
    while True:
        said = said_by(checks(step_id))
        if said and all(text in said for text in texts):
            return said
        if time.monotonic() > deadline:
            missing = [text for text in texts if text not in said]
            pytest.fail(f"{step_id}: {'it passed' if not said else f'{missing!r} not in:'}\n{said}")
        time.sleep(0.1)


def passes(checks: Callable[[str], Results], step_id: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while True:
        results = checks(step_id)
        if all(outcome[0] == "passed" for _, outcome in results):
            return
        if time.monotonic() > deadline:
            pytest.fail(f"{step_id} still fails:\n{said_by(results)}")
        time.sleep(0.1)


def apply(k: Kubectl, ns: str, *objects: dict[str, Any]) -> None:
    k("apply", "-n", ns, "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)}))


def deployment(name: str, replicas: int, image: str = "busybox:1.36", **pod_spec: Any) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "main", "image": image, **pod_spec.pop("container", {})}
    if image.startswith("busybox"):
        container.setdefault("command", ["sh", "-c", "sleep 3600"])
    labels = pod_spec.pop("labels", {"app": name})
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [container], **pod_spec}}}}


def batch(**pod_spec: Any) -> dict[str, Any]:
    return deployment("batch", 2, **pod_spec)


TOLERATE = {"key": "dedicated", "operator": "Equal", "value": "batch", "effect": "NoSchedule"}
SELECT = {"dedicated": "batch"}


def nodes_of(k: Kubectl, ns: str, app: str) -> list[str]:
    found = k("get", "pods", "-n", ns, "-l", f"app={app}", "-o", "jsonpath={.items[*].spec.nodeName}").stdout
    return sorted(found.split())


# -- step 1: where pods go ------------------------------------------------------------------------


def test_web_tolerating_the_control_plane_lands_there_and_web_elsewhere_is_not_found(k: Kubectl, checks: Any, ns: str,
                                                                                    solve: Any) -> None:
    solve("create-namespace")
    # Copied from a manifest that tolerates everything: some replicas go to the control plane.
    apply(k, ns, deployment("web", 4, "nginx:1.27", labels={"app": "web"}, tolerations=[{"operator": "Exists"}]))
    said = fails(checks, "read-nodes", f"runs on node {CONTROL_PLANE}, which has node-role.kubernetes.io/control-plane=",
                 "this step keeps it off such nodes",
                 "the pods tolerate the node's taint node-role.kubernetes.io/control-plane:NoSchedule, so it does not keep them off")
    assert CONTROL_PLANE in nodes_of(k, ns, "web"), said
    # Made in the default namespace (no -n): nothing in the lab's.
    k("delete", "deployment", "web", "-n", ns)
    k("create", "deployment", f"{ns}-web", "--image=nginx:1.27", "--replicas=4", "-n", "default")
    try:
        fails(checks, "read-nodes", f"0 pod(s) with labels app=web in {ns}; this step wants at least 4")
    finally:
        k("delete", "deployment", f"{ns}-web", "-n", "default", "--wait=false", check=False)


# -- step 2: the dedicated node ---------------------------------------------------------------------


def test_a_taint_of_another_effect_or_value_and_a_label_where_a_taint_was_meant(k: Kubectl, checks: Any) -> None:
    k("label", "node", NODE, "dedicated=batch")
    fails(checks, "dedicate-node", f"node {NODE} has the label dedicated=batch but not the taint dedicated=batch:NoSchedule\n"
                                   f"a label lets pods choose the node, a taint keeps the others off\n"
                                   f"kubectl taint node {NODE} dedicated=batch:NoSchedule")
    k("taint", "node", NODE, "dedicated=batch:PreferNoSchedule")
    fails(checks, "dedicate-node", f"node {NODE} has the taint dedicated=batch:PreferNoSchedule: this step wants effect NoSchedule\n"
                                   "PreferNoSchedule only discourages the scheduler; NoSchedule forbids")
    k("taint", "node", NODE, "dedicated-")
    k("taint", "node", NODE, "dedicated=batch-team:NoSchedule")
    fails(checks, "dedicate-node", f"node {NODE} has the taint dedicated=batch-team:NoSchedule: this step wants the value batch")
    k("taint", "node", NODE, "dedicated=batch:NoSchedule", "--overwrite")
    passes(checks, "dedicate-node")


def test_a_taint_without_its_label_and_both_on_the_other_worker(k: Kubectl, checks: Any) -> None:
    k("taint", "node", NODE, "dedicated=batch:NoSchedule")
    fails(checks, "dedicate-node", f"node {NODE} has no label dedicated")
    k("taint", "node", NODE, "dedicated-")
    k("taint", "node", OTHER, "dedicated=batch:NoSchedule")
    k("label", "node", OTHER, "dedicated=batch")
    fails(checks, "dedicate-node", f"node {NODE} has no taint dedicated=batch:NoSchedule (its taints: none)",
          f"node {NODE} has no label dedicated")


# -- step 3: the team's workload on its node ----------------------------------------------------------


@pytest.fixture
def dedicated(solve: Any) -> None:
    solve("create-namespace", "read-nodes", "dedicate-node")


def test_a_toleration_without_a_selector_lets_pods_on_but_does_not_send_them(k: Kubectl, checks: Any, ns: str,
                                                                             dedicated: None) -> None:
    apply(k, ns, batch(tolerations=[TOLERATE]))
    fails(checks, "batch-on-node", f"runs on node {OTHER}, which lacks dedicated=batch",
          f"the pods tolerate dedicated=batch:NoSchedule, but nothing draws them to {NODE}: a toleration lets a pod onto a "
          "tainted node, it never attracts it there; add nodeSelector dedicated=batch (or required node affinity)")
    assert nodes_of(k, ns, "batch") == [NODE, OTHER]


def test_a_selector_without_a_toleration_waits_and_the_taint_is_named(k: Kubectl, checks: Any, ns: str, dedicated: None) -> None:
    apply(k, ns, batch(nodeSelector=SELECT))
    said = fails(checks, "batch-on-node", "2 of 2 pod(s) with labels app=batch wait for a node",
                 f"node {NODE}: it has the taint dedicated=batch:NoSchedule, which the pod does not tolerate: ",
                 f"node {OTHER}: nodeSelector dedicated=batch: the node has no label dedicated",
                 f"node {CONTROL_PLANE}: it is a control plane (node-role.kubernetes.io/control-plane:NoSchedule)",
                 "the scheduler says: 0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
                 "1 node(s) had untolerated taint {dedicated: batch}")
    # The API server's DefaultTolerationSeconds gives every pod tolerations for not-ready and unreachable nodes.
    assert ("none of the pod's tolerations names its key dedicated" in said) or ("the pod has no tolerations" in said), said


def test_an_effect_mismatch_and_a_value_mismatch_in_the_toleration(k: Kubectl, checks: Any, ns: str, dedicated: None,
                                                                   lab: Lab) -> None:
    apply(k, ns, batch(nodeSelector=SELECT, tolerations=[{**TOLERATE, "effect": "NoExecute"}]))
    said = fails(checks, "batch-on-node", "your toleration dedicated=batch:NoExecute has effect NoExecute, the taint's is NoSchedule: "
                                          "an effect must match (or be left out to match every effect)")
    # The scheduler's own sentence is the one the instructions quote.
    message = said.split("the scheduler says: ")[1].splitlines()[0]
    assert message in lab.instructions(lab.step("batch-on-node"))
    apply(k, ns, batch(nodeSelector=SELECT, tolerations=[{**TOLERATE, "value": "true"}]))
    fails(checks, "batch-on-node", 'your toleration dedicated=true:NoSchedule has value true, the taint\'s is batch '
                                   "(operator Equal compares values; Exists ignores them)")


def test_a_misspelt_selector_value_is_compared_with_the_node_s_label(k: Kubectl, checks: Any, ns: str, dedicated: None) -> None:
    apply(k, ns, batch(nodeSelector={"dedicated": "btach"}, tolerations=[TOLERATE]))
    fails(checks, "batch-on-node", f"node {NODE}: nodeSelector dedicated=btach: the node has dedicated=batch")


def test_correct_variants_node_affinity_an_exists_toleration_and_one_without_effect(k: Kubectl, checks: Any, ns: str,
                                                                                    dedicated: None) -> None:
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "dedicated", "operator": "In", "values": ["batch"]}]}]}}}
    apply(k, ns, batch(affinity=affinity, tolerations=[{"key": "dedicated", "operator": "Exists"}]))
    passes(checks, "batch-on-node")
    k("delete", "deployment", "batch", "-n", ns)
    apply(k, ns, batch(nodeSelector=SELECT, tolerations=[{"key": "dedicated", "operator": "Equal", "value": "batch"}]))
    passes(checks, "batch-on-node")
    assert nodes_of(k, ns, "batch") == [NODE, NODE]


# -- step 4: everyone else off ---------------------------------------------------------------------


@pytest.fixture
def team_on_node(solve: Any) -> None:
    solve("create-namespace", "read-nodes", "dedicate-node", "batch-on-node")


def test_a_taint_moves_no_running_pod(k: Kubectl, checks: Any, ns: str, team_on_node: None) -> None:
    said = fails(checks, "others-off", f"runs on node {NODE}, which has dedicated=batch: this step keeps it off such nodes")
    assert NODE in nodes_of(k, ns, "web"), said


def test_a_noexecute_taint_throws_the_team_off_its_own_node(k: Kubectl, checks: Any, ns: str, team_on_node: None) -> None:
    k("taint", "node", NODE, "dedicated=batch:NoExecute")
    fails(checks, "others-off", "pod(s) with labels app=batch wait for a node",
          f"node {NODE}: it has the taint dedicated=batch:NoExecute, which the pod does not tolerate: your toleration "
          "dedicated=batch:NoSchedule has effect NoSchedule, the taint's is NoExecute")
    assert NODE not in nodes_of(k, ns, "web")


def test_correct_variant_deleting_web_s_pods_on_the_node(k: Kubectl, checks: Any, ns: str, team_on_node: None) -> None:
    k("delete", "pods", "-n", ns, "-l", "app=web", "--field-selector", f"spec.nodeName={NODE}")
    passes(checks, "others-off")


# -- step 5: requests from allocatable ---------------------------------------------------------------


def test_1g_is_not_a_quarter_requests_without_limits_and_a_limit_below_its_request(k: Kubectl, checks: Any, ns: str,
                                                                                     team_on_node: None, lab: Lab) -> None:
    k("set", "resources", "deployment/batch", "-n", ns, "--requests=cpu=500m,memory=1G", "--limits=cpu=500m,memory=1G")
    fails(checks, "requests", "deployment batch: spec.template.spec.containers[0].resources.requests.memory is '1G'; this step "
                              "wants 1Gi\nM, G are powers of ten; Mi, Gi powers of two: 1G is 1,000,000,000 bytes, 1Gi is 1,073,741,824")
    k("patch", "deployment", "batch", "-n", ns, "--type=json",
      "-p", '[{"op": "replace", "path": "/spec/template/spec/containers/0/resources", "value": {"requests": {"cpu": "500m", "memory": "1Gi"}}}]')
    fails(checks, "requests", "limits.cpu is not set; this step wants 500m")
    # A request above its limit: the API server refuses the pod (the lab quotes its words).
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "over"},
           "spec": {"containers": [{"name": "main", "image": "busybox:1.36",
                                    "resources": {"requests": {"cpu": "1"}, "limits": {"cpu": "500m"}}}]}}
    refused = k("apply", "-n", ns, "-f", "-", stdin=json.dumps(pod), check=False)
    assert refused.returncode == 1
    assert 'spec.containers[0].resources.requests: Invalid value: "1": must be less than or equal to cpu limit of 500m' in refused.stderr
    assert refused.stderr.split("is invalid: ")[1].strip() in lab.instructions(lab.step("requests"))


def test_a_limit_below_its_request_is_refused_for_the_deployment_too(k: Kubectl, ns: str, team_on_node: None) -> None:
    refused = k("set", "resources", "deployment/batch", "-n", ns, "--requests=cpu=1,memory=1Gi", "--limits=cpu=500m,memory=1Gi",
                check=False)
    assert refused.returncode == 1 and "spec.template.spec.containers[0].resources.requests" in refused.stderr


def test_correct_variant_half_a_cpu_written_as_0_5_in_yaml(k: Kubectl, checks: Any, ns: str, team_on_node: None) -> None:
    resources = {"requests": {"cpu": "0.5", "memory": "1024Mi"}, "limits": {"cpu": "0.5", "memory": "1Gi"}}
    apply(k, ns, batch(nodeSelector=SELECT, tolerations=[TOLERATE],
                       container={"command": ["sh", "-c", "sleep 3600"], "name": "worker", "resources": resources}))
    passes(checks, "requests")
    qos = k("get", "pods", "-n", ns, "-l", "app=batch", "-o", "jsonpath={.items[*].status.qosClass}").stdout.split()
    assert set(qos) == {"Guaranteed"}


# -- step 6: the Pending report -----------------------------------------------------------------------


@pytest.fixture
def report(k: Kubectl, ns: str, dedicated: None) -> None:
    """batch on the node with the requests of step 5 (applied at once, not rolled out), and the report as handed over."""
    k("apply", "-n", ns, "-f", str(ASSETS / "batch.yaml"))
    k("set", "resources", "deployment/batch", "-n", ns, "--requests=cpu=500m,memory=1Gi", "--limits=cpu=500m,memory=1Gi")
    k("apply", "-n", ns, "-f", str(ASSETS / "report.yaml"))


def patch_report(k: Kubectl, ns: str, *operations: dict[str, Any]) -> None:
    k("patch", "deployment", "report", "-n", ns, "--type=json", "-p", json.dumps(list(operations)))


EFFECT = {"op": "replace", "path": "/spec/template/spec/tolerations/0/effect", "value": "NoSchedule"}


def test_the_report_s_event_is_read_one_mistake_at_a_time(k: Kubectl, checks: Any, ns: str, report: None, lab: Lab) -> None:
    instructions = lab.instructions(lab.step("pending-pod"))
    said = fails(checks, "pending-pod",
                 f"node {NODE}: it has the taint dedicated=batch:NoSchedule, which the pod does not tolerate: your toleration "
                 "dedicated=batch:NoExecute has effect NoExecute, the taint's is NoSchedule")
    assert said.split("the scheduler says: ")[1].splitlines()[0] in instructions
    described = k("describe", "pod", "-n", ns, "-l", "app=report").stdout
    assert "Tolerations:     dedicated=batch:NoExecute" in described and "Warning  FailedScheduling" in described
    patch_report(k, ns, EFFECT)
    said = fails(checks, "pending-pod", f"node {NODE}: the pod requests memory 512Gi; the node has 2Gi left of 4Gi allocatable",
                 "pod(s) on it request 2Gi)")
    assert "1 Insufficient memory" in said
    assert said.split("the scheduler says: ")[-1].splitlines()[0] in instructions
    patch_report(k, ns, {"op": "replace", "path": "/spec/template/spec/containers/0/resources/requests/memory", "value": "512Mi"})
    passes(checks, "pending-pod")


def test_dropping_the_selector_or_the_requests_is_not_a_repair_and_the_file_fixed_is(k: Kubectl, checks: Any, ns: str,
                                                                                       report: None, tmp_path: Path) -> None:
    patch_report(k, ns, {"op": "remove", "path": "/spec/template/spec/nodeSelector"},
                 {"op": "remove", "path": "/spec/template/spec/tolerations"},
                 {"op": "replace", "path": "/spec/template/spec/containers/0/resources/requests/memory", "value": "512Mi"})
    fails(checks, "pending-pod", f"runs on node {OTHER}, which lacks dedicated=batch",
          "the pods ask for no node with dedicated=batch: add a nodeSelector or required node affinity")
    patch_report(k, ns, {"op": "add", "path": "/spec/template/spec/nodeSelector", "value": SELECT},
                 {"op": "add", "path": "/spec/template/spec/tolerations", "value": [TOLERATE]},
                 {"op": "remove", "path": "/spec/template/spec/containers/0/resources"})
    fails(checks, "pending-pod", "deployment report: spec.template.spec.containers[0].resources.requests.cpu is not set")
    # Correct: the file edited and applied again, the toleration without effect, half a Gi written as 0.5Gi.
    fixed = (ASSETS / "report.yaml").read_text(encoding="utf-8").replace("        effect: NoExecute\n", "")
    (tmp_path / "report.yaml").write_text(fixed.replace("memory: 512Gi", "memory: 0.5Gi"), encoding="utf-8")
    k("apply", "-n", ns, "-f", str(tmp_path / "report.yaml"))
    passes(checks, "pending-pod")


# -- step 7: the node given back ----------------------------------------------------------------------


def test_the_taint_left_behind_and_the_team_s_workload_left_running(k: Kubectl, checks: Any, ns: str, team_on_node: None,
                                                                    lab: Lab) -> None:
    k("label", "node", NODE, "dedicated-")
    fails(checks, "release-node", f"node {NODE} still has the taint dedicated=batch:NoSchedule\nkubectl taint node {NODE} dedicated- removes it",
          f"deployments batch still exists in {ns}")
    k("taint", "node", NODE, "dedicated-")
    # What the instructions say of a workload left behind: its next pod has nowhere to go.
    k("rollout", "restart", "deployment/batch", "-n", ns)
    fails(checks, "release-node", f"deployments batch still exists in {ns}")
    events = json.loads(k("get", "events", "-n", ns, "--field-selector", "reason=FailedScheduling", "-o", "json").stdout)["items"]
    deadline = time.monotonic() + 20
    while not any("2 node(s) didn't match Pod's node affinity/selector" in e["message"] for e in events) and time.monotonic() < deadline:
        time.sleep(0.1)
        events = json.loads(k("get", "events", "-n", ns, "--field-selector", "reason=FailedScheduling", "-o", "json").stdout)["items"]
    message = next(e["message"] for e in events if "2 node(s) didn't match Pod's node affinity/selector" in e["message"])
    assert message in lab.instructions(lab.step("release-node"))


# -- step 8: replicas kept apart -----------------------------------------------------------------------


def cache(**pod_spec: Any) -> dict[str, Any]:
    return deployment("cache", 2, "redis:7.4", **pod_spec)


def anti(selector: dict[str, Any], key: str = "kubernetes.io/hostname", how: str = "required") -> dict[str, Any]:
    term = {"labelSelector": selector, "topologyKey": key}
    if how == "required":
        return {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}}
    return {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "podAffinityTerm": term}]}}


@pytest.fixture
def released(solve: Any) -> None:
    solve("create-namespace", "read-nodes")


def test_replicas_apart_by_luck_or_by_preference_are_not_kept_apart(k: Kubectl, checks: Any, ns: str, released: None) -> None:
    apply(k, ns, cache())
    said = fails(checks, "spread", "nothing in cache's pod template keeps its replicas apart\nthey are on different nodes now only "
                                   "because the scheduler's scores spread them")
    assert nodes_of(k, ns, "cache") == [NODE, OTHER], said  # the scores did spread them
    apply(k, ns, cache(affinity=anti({"matchLabels": {"app": "cache"}}, how="preferred")))
    fails(checks, "spread", "cache's podAntiAffinity is only preferred; this step wants requiredDuringSchedulingIgnoredDuringExecution\n"
                            "the scheduler may still put both replicas on one node")


def test_a_selector_missing_the_pods_labels_and_a_zone_key(k: Kubectl, checks: Any, ns: str, released: None) -> None:
    apply(k, ns, cache(affinity=anti({"matchLabels": {"app": "redis"}})))
    fails(checks, "spread", 'cache\'s required podAntiAffinity selects {"app":"redis"}, but its pods are labelled {"app":"cache"}\n'
                            "a selector that misses the pods' own labels keeps nothing apart")
    apply(k, ns, cache(affinity=anti({"matchLabels": {"app": "cache"}}, key="topology.kubernetes.io/zone")))
    fails(checks, "spread", "cache's required podAntiAffinity has topologyKey topology.kubernetes.io/zone; this step wants kubernetes.io/hostname\n"
                            "a zone key keeps replicas in different zones, not on different nodes")


def test_a_third_replica_waits_and_the_event_is_the_one_quoted(k: Kubectl, checks: Any, ns: str, released: None, lab: Lab) -> None:
    k("apply", "-n", ns, "-f", str(ASSETS / "cache.yaml"))
    passes(checks, "spread")
    k("scale", "deployment/cache", "--replicas=3", "-n", ns)
    said = fails(checks, "spread", "1 of 3 pod(s) with labels app=cache wait for a node")
    assert said.split("the scheduler says: ")[1].splitlines()[0] in lab.instructions(lab.step("spread"))


def test_correct_variant_match_expressions(k: Kubectl, checks: Any, ns: str, released: None) -> None:
    apply(k, ns, cache(affinity=anti({"matchExpressions": [{"key": "app", "operator": "In", "values": ["cache"]}]})))
    passes(checks, "spread")


def test_correct_variant_a_spread_constraint(k: Kubectl, checks: Any, ns: str, released: None) -> None:
    constraint = {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule",
                  "labelSelector": {"matchLabels": {"app": "cache"}}}
    apply(k, ns, cache(topologySpreadConstraints=[constraint]))
    k("rollout", "status", "deployment/cache", "-n", ns, "--timeout=60s")
    assert nodes_of(k, ns, "cache") == [NODE, OTHER]
    passes(checks, "spread", seconds=2)


# -- step 9: the drain ---------------------------------------------------------------------------------


@pytest.fixture
def spread(k: Kubectl, ns: str, solve: Any) -> None:
    solve("create-namespace", "read-nodes", "spread", settle=("spread",))  # a budget counts ready pods
    k("apply", "-n", ns, "-f", str(ASSETS / "node-agent.yaml"))


def test_a_drain_without_ignore_daemonsets_cordons_and_stops(k: Kubectl, checks: Any, ns: str, spread: None, lab: Lab) -> None:
    k("create", "pdb", "cache", "-n", ns, "--selector=app=cache", "--min-available=1")
    drained = k("drain", NODE, check=False)
    assert drained.returncode == 1
    assert "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore)" in drained.stderr
    assert f"node/{NODE} cordoned" in drained.stdout
    said = fails(checks, "drain", f"pod {ns}/cache-", f"still runs on {NODE}")
    assert "SchedulingDisabled" in k("get", "node", NODE).stdout, said
    assert "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore)" in lab.instructions(lab.step("drain"))


def test_a_budget_that_allows_no_disruption_blocks_the_drain(k: Kubectl, checks: Any, ns: str, spread: None, lab: Lab) -> None:
    k("create", "pdb", "cache", "-n", ns, "--selector=app=cache", "--min-available=2")
    # drain retries every 5 s until stopped: read its first refusal, then stop it as a learner does.
    environment = {**os.environ, **k.environment}  # type: ignore[attr-defined]
    draining = subprocess.Popen([KUBECTL or "kubectl", "drain", NODE, "--ignore-daemonsets"], stderr=subprocess.PIPE, text=True,
                                env=environment, stdout=subprocess.DEVNULL)
    try:
        refusal = next(line for line in draining.stderr or () if "error when evicting" in line)
    finally:
        draining.kill()
        draining.wait()
    assert refusal.strip().endswith("(will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget.")
    assert "Cannot evict pod as it would violate the pod's disruption budget." in lab.instructions(lab.step("drain"))
    fails(checks, "drain", f"still runs on {NODE}", "PodDisruptionBudget cache has minAvailable: 2; this step wants 1")


def test_a_budget_for_the_wrong_pods_and_a_cordon_for_a_drain(k: Kubectl, checks: Any, ns: str, spread: None) -> None:
    k("create", "pdb", "cache", "-n", ns, "--selector=app=redis", "--min-available=1")
    k("cordon", NODE)
    fails(checks, "drain", "PodDisruptionBudget cache selects app=redis, not the pods with app=cache",
          f"pod {ns}/cache-", f"still runs on {NODE}")


def test_correct_variant_the_budget_as_yaml_and_drain_with_more_flags(k: Kubectl, checks: Any, ns: str, spread: None) -> None:
    apply(k, ns, {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "keep-one-cache"},
                  "spec": {"minAvailable": 1, "selector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["cache"]}]}}})
    k("drain", NODE, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=60s")
    passes(checks, "drain")
    # The uncordon step: the waiting replica lands again; before it, the cordon is named.
    fails(checks, "uncordon", f"node {NODE} is cordoned (spec.unschedulable: true): kubectl uncordon {NODE}",
          f"node {NODE}: it is cordoned (spec.unschedulable: true): kubectl uncordon {NODE} lets pods on again")
    k("uncordon", NODE)
    passes(checks, "uncordon")


# -- step 11: quota and defaults --------------------------------------------------------------------


@pytest.fixture
def web(solve: Any) -> None:
    solve("create-namespace", "read-nodes")


def test_a_quota_before_its_defaults_stalls_the_rollout(k: Kubectl, checks: Any, ns: str, web: None, lab: Lab) -> None:
    k("apply", "-n", ns, "-f", str(ASSETS / "quota.yaml"))
    k("rollout", "restart", "deployment/web", "-n", ns)
    said = fails(checks, "quota-limits", "3 pod(s) with labels app=web", "could not create them",
                 "failed quota: compute: must specify limits.cpu,limits.memory,requests.cpu,requests.memory", f"no LimitRange in {ns}")
    assert "must specify limits.cpu,limits.memory,requests.cpu,requests.memory" in lab.instructions(lab.step("quota-limits")), said
    k("apply", "-n", ns, "-f", str(ASSETS / "limits.yaml"))
    passes(checks, "quota-limits", seconds=40)


def test_default_where_default_request_was_meant_and_2g_for_2gi(k: Kubectl, checks: Any, ns: str, web: None) -> None:
    apply(k, ns, {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "container-defaults"},
                  "spec": {"limits": [{"type": "Container", "default": {"cpu": "100m", "memory": "128Mi"}}]}})
    k("create", "quota", "compute", "-n", ns, "--hard=requests.cpu=2,requests.memory=2G,limits.cpu=4,limits.memory=4Gi,pods=10")
    fails(checks, "quota-limits", "ResourceQuota compute limits requests.memory: 2G; this step wants requests.memory: 2Gi "
                                  "(2G and 2Gi differ: M is 10^6 bytes, Mi is 2^20)",
          # The request's values written as `default` (the limit): the API server copies them into defaultRequest too.
          "LimitRange container-defaults has default.cpu: 100m; this step wants 200m")


def test_defaults_that_came_after_the_pods_and_the_quota_in_another_namespace(k: Kubectl, checks: Any, ns: str, web: None) -> None:
    k("apply", "-n", ns, "-f", str(ASSETS / "limits.yaml"))
    k("apply", "-n", "default", "-f", str(ASSETS / "quota.yaml"))
    try:
        fails(checks, "quota-limits", "have no resources.requests.cpu\nthey were created before the LimitRange, which only fills in new pods",
              f"kubectl rollout restart deployment/web -n {ns}")
        fails(checks, "quota-limits", "ResourceQuota compute is in namespace default: it applies only there")
    finally:
        k("delete", "resourcequota", "compute", "-n", "default", check=False)


def test_correct_variant_the_quota_s_cpu_shorthand_and_resources_in_the_template(k: Kubectl, checks: Any, ns: str, web: None) -> None:
    k("apply", "-n", ns, "-f", str(ASSETS / "limits.yaml"))
    apply(k, ns, {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "team-budget"},
                  "spec": {"hard": {"cpu": "2", "memory": "2Gi", "limits.cpu": "4000m", "limits.memory": "4096Mi", "pods": "10"}}})
    k("set", "resources", "deployment/web", "-n", ns, "--requests=cpu=50m,memory=64Mi", "--limits=cpu=100m,memory=128Mi")
    k("rollout", "status", "deployment/web", "-n", ns, "--timeout=60s")
    passes(checks, "quota-limits")


# -- step 12: a PriorityClass ---------------------------------------------------------------------------


WEB_CLASS = '{"spec":{"template":{"spec":{"priorityClassName":"business-critical"}}}}'


def test_a_global_default_class_and_pods_made_before_the_class(k: Kubectl, checks: Any, ns: str, web: None) -> None:
    k("create", "priorityclass", "business-critical", "--value=100000", "--global-default")
    fails(checks, "priority", "PriorityClass business-critical has globalDefault: True; every new pod without a class would take it",
          "has priorityClassName (none); pods take a class when they are created: let the rollout replace them")
    k("delete", "priorityclass", "business-critical")
    k("create", "priorityclass", "business-critical", "--value=100000")
    k("patch", "deployment", "web", "-n", ns, "-p", WEB_CLASS)
    passes(checks, "priority")


def test_another_value_cannot_be_applied_over_and_a_misspelt_class_stalls_the_rollout(k: Kubectl, checks: Any, ns: str,
                                                                                      web: None, lab: Lab) -> None:
    k("create", "priorityclass", "business-critical", "--value=10000")
    fails(checks, "priority", "PriorityClass business-critical has value 10000; this step wants 100000 "
                              "(a class's value cannot be changed: delete it and create it again)")
    refused = k("apply", "-f", str(ASSETS / "priority-class.yaml"), check=False)
    assert refused.returncode == 1
    assert 'The PriorityClass "business-critical" is invalid: value: Forbidden: may not be changed in an update.' in refused.stderr
    assert refused.stderr.strip().splitlines()[-1] in lab.instructions(lab.step("priority"))
    k("delete", "priorityclass", "business-critical")
    k("apply", "-f", str(ASSETS / "priority-class.yaml"))
    k("patch", "deployment", "web", "-n", ns, "-p", WEB_CLASS.replace("business-critical", "busines-critical"))
    said = fails(checks, "priority", "has priorityClassName (none)")
    events = k("get", "events", "-n", ns, "--field-selector", "reason=FailedCreate", "-o", "jsonpath={.items[*].message}").stdout
    assert "is forbidden: no PriorityClass with name busines-critical was found" in events, said


def test_correct_variant_the_class_in_yaml_and_the_template_applied_whole(k: Kubectl, checks: Any, ns: str, web: None) -> None:
    apply(k, "default", {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "business-critical"},
                         "value": 100000, "preemptionPolicy": "PreemptLowerPriority", "description": "customers first"})
    manifest = json.loads(k("get", "deployment", "web", "-n", ns, "-o", "json").stdout)
    manifest["spec"]["template"]["spec"]["priorityClassName"] = "business-critical"
    for field in ("resourceVersion", "uid", "creationTimestamp", "generation", "managedFields"):
        manifest["metadata"].pop(field, None)
    manifest.pop("status", None)
    k("replace", "-n", ns, "-f", "-", stdin=json.dumps(manifest))
    passes(checks, "priority")


# -- deleting the Node instead of draining it (last: the sandbox is restarted to register it again) ---


def test_deleting_the_node_is_not_draining_it(own: tuple[SandboxFiles, Kubectl], k: Kubectl, checks: Any, ns: str,
                                              spread: None) -> None:
    k("create", "pdb", "cache", "-n", ns, "--selector=app=cache", "--min-available=1")
    k("delete", "node", NODE)
    try:
        fails(checks, "drain", f"node {NODE} does not exist", f"the nodes are {CONTROL_PLANE}, {OTHER}",
              "deleting a Node object is not draining it")
    finally:
        from labrunner.sandbox.control import stop

        stop(own[0])
        start_scaled(own[0])  # its kubelet registers it again as it starts
    deadline = time.monotonic() + 30
    while k("get", "node", NODE, check=False).returncode != 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert k("get", "node", NODE).returncode == 0
