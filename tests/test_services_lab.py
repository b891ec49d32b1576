"""The Services lab as shipped: complete, parameterised (the shop's, the catalog team's and the
gateway's namespaces), its manifests valid for 1.32, judged by the Services topic's kinds, and every
step proved on the sandbox (failing before its solution, passing after; the last one after its
setup)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from labrunner.lab.loader import load_lab
from labrunner.lab.model import Lab
from labrunner.sandbox.coredns.manifests import COREFILE
from tests.conftest import REPO
from tests.shipped_labs import (
    assert_every_step_has_its_parts,
    assert_manifests_valid,
    assert_selftest_passes,
    assert_valid_through_the_cli,
    documents,
)

LAB_DIR = REPO / "labs" / "services"
ASSETS = REPO / "assets" / "services"

ORDER = ["cluster-ip", "nodeport", "headless", "endpointslices", "cross-namespace", "coredns", "ingress-controller", "ingress",
         "gateway-install", "gateway", "httproute", "reference-grant"]
LAB_ASSETS = {"backend.yaml", "backend-service.yaml", "client.yaml", "api.yaml", "api-service.yaml", "cache.yaml", "backend-canary.yaml",
              "catalog.yaml", "coredns-kubeadm.yaml"}
"""The lab's own manifests (the controllers' beside them are the sandbox's, tested in tests/sandbox)."""


@pytest.fixture(scope="module")
def lab() -> Lab:
    return load_lab(LAB_DIR)


def test_the_twelve_steps_in_order(lab: Lab) -> None:
    assert [step.id for step in lab.steps] == ORDER
    assert (lab.id, lab.level, lab.tags) == ("services", "intermediate", ("services-networking",))
    assert [step.id for step in lab.steps if step.setup] == ["reference-grant"]
    # what a workshop's instructor does for the room: namespaces, the Corefile, the controllers and CRDs
    assert [step.id for step in lab.steps if step.scope == "cluster"] == ["cluster-ip", "cross-namespace", "coredns", "ingress-controller",
                                                                          "gateway-install", "gateway"]


def test_every_step_has_its_five_parts(lab: Lab) -> None:
    assert_every_step_has_its_parts(lab, shows_output=True, explains=True)


def test_steps_are_judged_by_the_services_kinds(lab: Lab) -> None:
    kinds = {step.id: [check.kind for check in step.checks] for step in lab.steps}
    assert kinds["cluster-ip"] == ["namespace-active", "service-backends", "dns-record", "probe-http"]
    assert kinds["nodeport"] == ["service-backends", "probe-http"]
    assert kinds["headless"] == ["service-backends", "dns-record", "dns-record"]
    assert kinds["endpointslices"][0] == "service-endpoints"
    assert kinds["cross-namespace"][:2] == ["dns-record", "dns-record"]
    assert kinds["coredns"] == ["coredns-alias"]
    assert kinds["ingress"] == ["ingress-routes", "probe-http", "probe-http"]
    assert kinds["gateway-install"] == ["deployment-ready", "gateway-class"]
    assert kinds["gateway"] == ["gateway-programmed"]
    assert kinds["httproute"] == kinds["reference-grant"] == ["httproute-routes", "probe-http"]
    nodeport = lab.step("nodeport").checks[0].args
    assert (nodeport["type"], nodeport["target_port"], nodeport["backends"]) == ("NodePort", "http-api", "deployment/api")
    assert lab.step("headless").checks[0].args["headless"] is True
    ingress = lab.step("ingress")
    assert ingress.checks[1].args["headers"] == {"Host": "shop.svcdemo.example"}
    grant = lab.step("reference-grant").checks[0].args["requests"][0]
    assert (grant["service"], grant["service_namespace"]) == ("catalog", "svcdemo-catalog")


def test_the_parameters_are_used_everywhere() -> None:
    other = load_lab(LAB_DIR, {"namespace": "learner-7", "catalog-namespace": "learner-7-cat", "gateway-namespace": "learner-7-gw"})
    texts: list[str] = []
    for step in other.steps:
        texts.append(other.instructions(step))
        texts += [command.run for command in step.commands] + [command.output or "" for command in step.commands]
        texts += list(step.hints) + [str(dict(check.args)) + check.says for check in step.checks]
        texts += [action.target for action in (*step.solution, *(step.setup or ()), *(step.reset or ()))]
    texts += [action.target for action in other.reset or ()]
    joined = "\n".join(texts)
    assert "svcdemo" not in joined and "{{" not in joined
    assert "kubectl create namespace learner-7" in joined and "shop.learner-7.example" in joined
    assert "catalog.learner-7-cat.svc.cluster.local" in joined and "namespace: learner-7-gw" in joined
    assert other.step("coredns").checks[0].args["name"] == "catalog.learner-7.internal"


def test_manifests_pass_strict_kubernetes_132_validation_and_name_no_namespace() -> None:
    assert LAB_ASSETS <= {path.name for path in ASSETS.glob("*.yaml")}
    assert_manifests_valid(ASSETS / name for name in sorted(LAB_ASSETS))


def test_the_assets_are_what_the_steps_teach() -> None:
    [backend] = documents(ASSETS / "backend.yaml")
    container = backend["spec"]["template"]["spec"]["containers"][0]
    assert container["ports"] == [{"name": "http", "containerPort": 80}] and container["readinessProbe"]["httpGet"]["port"] == "http"
    [api] = documents(ASSETS / "api.yaml")
    assert api["spec"]["template"]["spec"]["containers"][0]["ports"] == [{"name": "http-api", "containerPort": 5678}]
    [api_service] = documents(ASSETS / "api-service.yaml")
    assert (api_service["spec"]["type"], api_service["spec"]["ports"][0]["targetPort"]) == ("NodePort", "http-api")
    service, statefulset = documents(ASSETS / "cache.yaml")
    assert service["spec"]["clusterIP"] == "None" and statefulset["spec"]["serviceName"] == service["metadata"]["name"] == "cache"
    [canary] = documents(ASSETS / "backend-canary.yaml")
    assert canary["metadata"]["labels"]["app"] == "backend" and canary["spec"]["containers"][0]["readinessProbe"]["httpGet"]["path"] == "/"
    [corefile] = documents(ASSETS / "coredns-kubeadm.yaml")
    assert corefile["data"]["Corefile"] == COREFILE  # what the coredns step's reset puts back: kubeadm's, as kind has it


def test_the_cluster_s_own_words_are_quoted_where_they_teach(lab: Lab) -> None:
    assert "Readiness probe failed: HTTP probe failed with statuscode: 403" in lab.instructions(lab.step("endpointslices"))
    assert "** server can't find catalog: NXDOMAIN" in lab.instructions(lab.step("cross-namespace"))
    coredns = lab.instructions(lab.step("coredns"))
    assert "[INFO] plugin/reload: Running configuration SHA512 = " in coredns and "Corefile changed but reload failed" in coredns
    assert 'no matches for kind "NginxGateway"' in lab.instructions(lab.step("gateway-install"))
    assert "Waiting for controller" in lab.instructions(lab.step("gateway-install"))
    assert "HTTP/1.1 500 Internal Server Error" in lab.instructions(lab.step("reference-grant"))


def test_the_sandbox_s_limits_are_said_where_a_real_controller_begins(lab: Lab) -> None:
    assert "Where the sandbox stops" in lab.instructions(lab.step("ingress-controller"))
    assert "Where the sandbox stops" in lab.instructions(lab.step("gateway-install"))
    assert "docker exec kind-control-plane" in lab.instructions(lab.step("nodeport"))
    only_on = {kind for step in lab.steps for action in (*step.solution, *(step.reset or ())) for kind in action.only_on}
    assert {"sandbox", "kind", "minikube"} <= only_on


def test_the_step_s_reset_of_coredns_restores_kubeadm_s_corefile(lab: Lab) -> None:
    reset = lab.step("coredns").reset or ()
    assert any("coredns-kubeadm.yaml" in action.target and set(action.only_on) == {"sandbox", "kind"} for action in reset)
    assert yaml.safe_load((ASSETS / "coredns-kubeadm.yaml").read_text())["metadata"] == {"name": "coredns"}


def test_the_lab_is_valid_through_the_cli() -> None:
    assert_valid_through_the_cli(LAB_DIR)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl must be on PATH (the lab's solutions use it)")
def test_selftest_on_the_sandbox_every_step_fails_before_and_passes_after(tmp_path: Path) -> None:
    assert_selftest_passes("services", ORDER, tmp_path / "state", "namespace=services-selftest",
                           "catalog-namespace=services-selftest-catalog", "gateway-namespace=services-selftest-edge")
