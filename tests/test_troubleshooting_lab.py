"""The Troubleshooting lab as shipped: thirteen scenarios, each starting broken from its setup
and described as its symptom; complete, parameterised (its two namespaces, the node it cordons,
the cluster's default class and the folder for saved files), its manifests valid for 1.32 and
broken the way each step teaches, the cluster-wide ones undone by their resets, and every step
proved on the sandbox (failing right after its setup, passing after its solution)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from labrunner.lab.loader import load_lab
from labrunner.lab.model import Lab
from tests.conftest import REPO
from tests.shipped_labs import (
    assert_every_step_has_its_parts,
    assert_manifests_valid,
    assert_selftest_passes,
    assert_valid_through_the_cli,
    documents,
)

LAB_DIR = REPO / "labs" / "troubleshooting"
ASSETS = REPO / "assets" / "troubleshooting"

ORDER = ["crashloop", "never-ready", "no-endpoints", "target-port", "pending-pods", "pending-claim", "dns-down", "dns-corefile",
         "policy-blocks", "forbidden", "cordoned-node", "sidecar-logs", "top-cpu"]
CLUSTER_WIDE = {"dns-down": "kubectl scale deployment coredns -n kube-system --replicas=2",
                "dns-corefile": 'sh "$LAB_ASSETS/corefile-restore.sh"',
                "cordoned-node": "kubectl uncordon kind-worker"}


@pytest.fixture(scope="module")
def lab() -> Lab:
    return load_lab(LAB_DIR)


def test_the_thirteen_scenarios_in_order(lab: Lab) -> None:
    assert [step.id for step in lab.steps] == ORDER
    assert (lab.id, lab.level, lab.tags[0]) == ("troubleshooting", "intermediate", "troubleshooting")
    assert [r.id for r in lab.requirements] == ["kubectl", "cluster-admin", "netpol-cni", "metrics-api"]


def test_every_step_has_its_parts_and_starts_from_a_setup(lab: Lab) -> None:
    assert_every_step_has_its_parts(lab, shows_output=True, explains=True)
    for step in lab.steps:
        assert step.setup, f"{step.id}: a troubleshooting step starts from a prepared state"
        text = lab.instructions(step)
        assert "## The report" in text or "## The request" in text, f"{step.id}: the symptom, as a user reports it"


def test_each_scenario_is_judged_by_its_kinds(lab: Lab) -> None:
    kinds = {step.id: [check.kind for check in step.checks] for step in lab.steps}
    assert kinds == {
        "crashloop": ["env-from-config"],
        "never-ready": ["deployment-rollout", "probes-configured"],
        "no-endpoints": ["service-routes"],
        "target-port": ["service-routes", "probe-http"],
        "pending-pods": ["pods-placed", "container-resources"],
        "pending-claim": ["claim-bound", "deployment-rollout"],
        "dns-down": ["service-routes", "probe-dns"],
        "dns-corefile": ["objects-kept", "corefile-serves", "service-routes", "probe-dns"],
        "policy-blocks": ["objects-kept", "policy-meaning", "probe-http"],
        "forbidden": ["objects-kept", "access", "rbac-grants"],
        "cordoned-node": ["node-state", "pods-placed"],
        "sidecar-logs": ["logs-saved"],
        "top-cpu": ["top-pod-saved"],
    }
    args = {step.id: [dict(check.args) for check in step.checks] for step in lab.steps}
    # the guards against shortcuts: the deny kept, least privilege, the anti-affinity enforced, a CPU top
    assert [o["name"] for o in args["policy-blocks"][0]["objects"]] == ["default-deny", "allow-web-to-ledger"]
    assert args["forbidden"][2]["exactly"] is True
    assert (args["cordoned-node"][1]["spread"], args["cordoned-node"][1]["enforced"]) == (2, True)
    assert args["top-cpu"][0]["resource"] == "cpu" and args["sidecar-logs"][0]["container"] == "audit-shipper"
    assert {zone: list(servers) for zone, servers in args["dns-corefile"][1]["forward_zones"].items()} == {"corp.example.com": ["10.10.0.53"]}


def test_the_parameters_are_used_everywhere() -> None:
    other = load_lab(LAB_DIR, {"namespace": "learner-7", "policy-namespace": "learner-7-net", "node": "kind-worker",
                               "storage-class": "local-path", "workdir": "/srv/learner-7"})
    run: list[str] = []
    shown: list[str] = []
    for step in other.steps:
        shown.append(other.instructions(step))
        run += [command.run for command in step.commands] + list(step.hints)
        run += [str(dict(check.args)) + check.says for check in step.checks]
        run += [action.target for action in (*step.setup, *step.solution, *(step.reset or ()))]
    run += [action.target for action in other.reset or ()]
    everything = "\n".join(run + shown)
    assert "{{" not in everything
    assert not re.search(r"\btroubleshooting-net\b|~/troubleshooting-lab|labrunner-sandbox-worker\b", "\n".join(run))
    assert "kubectl cordon kind-worker" in everything and "/srv/learner-7/busiest-pod.txt" in everything
    assert other.step("pending-claim").checks[0].args["storage_class"] == "local-path"
    assert other.step("policy-blocks").checks[0].args["namespace"] == "learner-7-net"


def test_steps_that_change_the_cluster_put_it_back(lab: Lab) -> None:
    other = load_lab(LAB_DIR, {"node": "kind-worker"})
    for step_id, undo in CLUSTER_WIDE.items():
        step = other.step(step_id)
        assert any(undo in action.target for action in step.reset or ()), step_id
        assert any(undo in action.target for action in other.reset or ()), f"the lab's reset: {step_id}"
    # the sandbox's Calico goes only if this lab installed it
    assert any("labrunner.io/installed-by=troubleshooting" in a.target for a in other.step("policy-blocks").reset or ())


def test_manifests_pass_strict_kubernetes_132_validation_and_name_no_namespace() -> None:
    paths = sorted(ASSETS.glob("*.yaml"))
    assert {path.name for path in paths} == {
        "orders.yaml", "storefront.yaml", "catalog.yaml", "cart.yaml", "invoicer.yaml", "uploads.yaml", "uploads-claim.yaml",
        "ledger.yaml", "default-deny.yaml", "allow-web-to-ledger.yaml", "allow-web-to-ledger-fixed.yaml", "deployer.yaml",
        "cache.yaml", "checkout.yaml", "media.yaml", "calico-sandbox.yaml"}
    assert_manifests_valid([path for path in paths if path.name != "calico-sandbox.yaml"])
    # the sandbox's Calico lives in kube-system, labelled so that the reset removes only what this lab installed
    for document in documents(ASSETS / "calico-sandbox.yaml"):
        assert document["metadata"]["namespace"] == "kube-system"
        assert document["metadata"]["labels"]["labrunner.io/installed-by"] == "troubleshooting"


def test_each_scenario_is_broken_the_way_its_step_teaches() -> None:
    def one(name: str, kind: str) -> dict:
        return next(d for d in documents(ASSETS / name) if d["kind"] == kind)

    orders = one("orders.yaml", "ConfigMap")
    assert "PAYMENTS_URL" not in orders["data"] and orders["data"]["PAYMENT_URL"] == "http://payments:8080"
    web = one("storefront.yaml", "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert web["image"] == "nginx:1.27-alpnie" and web["readinessProbe"]["httpGet"]["port"] == 8080
    assert one("catalog.yaml", "Service")["spec"]["selector"] == {"app": "catalog", "tier": "api"}
    assert one("catalog.yaml", "Deployment")["spec"]["template"]["metadata"]["labels"] == {"app": "catalog", "tier": "backend"}
    assert one("cart.yaml", "Service")["spec"]["ports"] == [{"name": "http", "port": 8080, "targetPort": "http"}]
    assert one("cart.yaml", "Deployment")["spec"]["template"]["spec"]["containers"][0]["ports"] == [{"name": "web", "containerPort": 80}]
    requests = one("invoicer.yaml", "Deployment")["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]
    assert requests == {"cpu": "5", "memory": "512Mi"}
    assert one("uploads.yaml", "PersistentVolumeClaim")["spec"]["storageClassName"] == "fast-ssd"
    assert "storageClassName" not in one("uploads-claim.yaml", "PersistentVolumeClaim")["spec"]
    allow = one("allow-web-to-ledger.yaml", "NetworkPolicy")["spec"]["ingress"][0]["ports"]
    fixed = one("allow-web-to-ledger-fixed.yaml", "NetworkPolicy")["spec"]["ingress"][0]["ports"]
    assert (allow, fixed) == ([{"protocol": "TCP", "port": 8080}], [{"protocol": "TCP", "port": 80}])
    assert one("deployer.yaml", "RoleBinding")["subjects"] == [{"kind": "ServiceAccount", "name": "deployer", "namespace": "default"}]
    assert one("cache.yaml", "Deployment")["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
    assert [c["name"] for c in one("checkout.yaml", "Deployment")["spec"]["template"]["spec"]["containers"]] == ["checkout", "audit-shipper"]
    breaking = (ASSETS / "corefile-break.sh").read_text(encoding="utf-8")
    assert "forward . 10.10.0.53" in breaking and "coredns-before-troubleshooting" in breaking


def test_the_reports_describe_symptoms_and_the_hints_lead_to_the_commands_that_reveal_them(lab: Lab) -> None:
    revealing = ("kubectl describe", "--previous", "kubectl get events", "endpointslices", "auth can-i", "kubectl top",
                 "kubectl logs", "kubectl get nodes", "storageclass", "networkpolicy")
    for step in lab.steps:
        report = lab.instructions(step).split("## ", 2)[1]
        assert len(report.splitlines()) >= 3, step.id
        assert any(word in " ".join(step.hints) for word in revealing), step.id
    # what the setup breaks is never shown as a command to type
    for step in lab.steps:
        typed = " ".join(command.run for command in step.commands)
        assert "corefile-break" not in typed and "cordon {{node}}" not in typed


def test_the_lab_is_valid_through_the_cli() -> None:
    assert_valid_through_the_cli(LAB_DIR)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl must be on PATH (the lab's setups and solutions use it)")
def test_selftest_on_the_sandbox_every_step_fails_after_its_setup_and_passes_after_its_solution(tmp_path: Path) -> None:
    assert_selftest_passes("troubleshooting", ORDER, tmp_path / "state", "namespace=ts-selftest", "policy-namespace=ts-selftest-net",
                           "node=labrunner-sandbox-worker2", f"workdir={tmp_path / 'files'}")
