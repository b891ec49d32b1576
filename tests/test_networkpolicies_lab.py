"""The NetworkPolicy lab as shipped: complete, parameterised, and its assets real."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import kubernetes_validate
import yaml

from labrunner.lab.loader import load_lab
from labrunner.lab.model import Lab
from tests.conftest import REPO

LAB_DIR = REPO / "labs" / "networkpolicies"
ASSETS = REPO / "assets" / "networkpolicies"

OUTLINE_ORDER = [
    "preflight", "create-namespace", "deploy-mysql", "expose-mysql", "deploy-app", "expose-app", "seed-db",
    "install-calico", "baseline-probe", "deny-ingress", "allow-ingress-webserver", "nodeport", "delete-policies",
    "deny-ingress-db", "allow-ingress-db", "deploy-app2", "deny-all-egress", "allow-dns", "fix-broken-policy", "cleanup",
]


@pytest.fixture(scope="module")
def lab() -> Lab:
    return load_lab(LAB_DIR)


def manifests(name: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all((ASSETS / name).read_text(encoding="utf-8")) if doc]


def test_all_twenty_steps_in_the_outlines_order(lab: Lab) -> None:
    assert [step.id for step in lab.steps] == OUTLINE_ORDER


def test_every_step_is_complete(lab: Lab) -> None:
    for step in lab.steps:
        text = lab.instructions(step)
        assert text.startswith("# "), f"{step.id}: instructions start with a heading"
        assert len(text.splitlines()) >= 20, f"{step.id}: instructions are more than a stub"
        assert step.commands and 1 <= len(step.hints) <= 3 and step.solution and step.checks
        assert all(check.says for check in step.checks)


def test_policy_steps_check_meaning_and_live_behaviour(lab: Lab) -> None:
    kinds = {step.id: {check.kind for check in step.checks} for step in lab.steps}
    for step_id in ("deny-ingress", "allow-ingress-webserver", "deny-ingress-db", "allow-ingress-db"):
        assert {"policy-meaning", "probe-http"} <= kinds[step_id], step_id
    assert {"policy-meaning", "probe-dns"} <= kinds["deny-all-egress"]
    assert {"policy-meaning", "probe-dns"} <= kinds["allow-dns"]
    assert "policy-meaning" in kinds["fix-broken-policy"]
    assert {"sql-rows", "probe-http"} <= kinds["seed-db"]


def test_namespace_is_a_parameter_everywhere(lab: Lab) -> None:
    other = load_lab(LAB_DIR, {"namespace": "learner-7"})
    texts: list[str] = []
    for step in other.steps:
        texts.append(other.instructions(step))
        texts += [command.run for command in step.commands] + list(step.hints)
        texts += [str(dict(check.args)) + check.says for check in step.checks]
        texts += [action.target for action in step.solution]
    joined = "\n".join(texts)
    assert "networkdemo" not in joined
    assert "{{" not in joined
    assert "kubectl create namespace learner-7" in joined
    assert lab.namespace == "networkdemo" and other.namespace == "learner-7"


def test_busybox_commands_are_marked_as_typed_inside_the_pod(lab: Lab) -> None:
    for step in lab.steps:
        for command in step.commands:
            if command.run.startswith(("wget ", "nslookup ")):
                assert command.inside == "the busybox shell", f"{step.id}: {command.run}"


def test_every_valid_manifest_passes_strict_kubernetes_132_validation() -> None:
    for path in sorted(ASSETS.glob("*.yaml")):
        if path.name == "ingress-egress-policy-broken.yaml":
            continue
        for document in manifests(path.name):
            kubernetes_validate.validate(document, "1.32.0", strict=True)


def test_the_broken_policy_is_broken_exactly_as_the_outline_says() -> None:
    [broken] = manifests("ingress-egress-policy-broken.yaml")
    spec = broken["spec"]
    assert "egress" in broken and "egress" not in spec  # egress fell out of spec
    assert "ports" in spec  # ports fell out of the ingress rule
    assert [set(rule) for rule in spec["ingress"]] == [{"from"}, {"namespaceSelector"}, {"podSelector"}]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, "1.32.0", strict=True)


def test_the_fixed_policy_means_what_the_broken_one_was_written_to_mean() -> None:
    [fixed] = manifests("ingress-egress-policy.yaml")
    spec = fixed["spec"]
    assert fixed["metadata"] == {"name": "ingress-egress-policy", "namespace": "default"}
    [ingress] = spec["ingress"]
    assert ingress["from"] == [
        {"ipBlock": {"cidr": "172.17.0.0/16", "except": ["172.17.1.0/24"]}},
        {"namespaceSelector": {"matchLabels": {"project": "myproject"}}},
        {"podSelector": {"matchLabels": {"role": "frontend"}}},
    ]
    assert ingress["ports"] == [{"protocol": "TCP", "port": 6379}]
    assert spec["egress"] == [{"to": [{"ipBlock": {"cidr": "10.0.0.0/24"}}], "ports": [{"protocol": "TCP", "port": 5978}]}]


def test_only_the_step_18_policies_and_calico_name_a_namespace() -> None:
    fixed_namespace = {"ingress-egress-policy-broken.yaml", "ingress-egress-policy.yaml", "calico-sandbox.yaml"}
    for path in sorted(ASSETS.glob("*.yaml")):
        for document in manifests(path.name):
            has_namespace = "namespace" in document["metadata"]
            assert has_namespace == (path.name in fixed_namespace), f"{path.name}: {document['kind']}"


def test_reference_policies_are_named_after_their_file() -> None:
    for path in sorted(ASSETS.glob("*.yaml")):
        for document in manifests(path.name):
            if document["kind"] == "NetworkPolicy" and "broken" not in path.name:
                assert document["metadata"]["name"] == path.stem.removesuffix("-classic")


def test_seed_file_creates_at_least_eight_rows_with_four_columns() -> None:
    script = (ASSETS / "db.txt").read_text(encoding="utf-8")
    # SQLite has no databases to create or switch to; everything else is plain SQL.
    portable = re.sub(r"(?im)^\s*(CREATE DATABASE|USE)\b[^;]*;", "", script)
    database = sqlite3.connect(":memory:")
    database.executescript(portable)
    database.executescript(portable)  # seeding twice must not fail
    columns = [row[1] for row in database.execute("PRAGMA table_info(users)")]
    assert columns == ["id", "name", "email", "city"]
    assert database.execute("SELECT COUNT(*) FROM users").fetchone()[0] >= 8
    assert "CREATE DATABASE IF NOT EXISTS db1" in script and "USE db1" in script


def test_web_app_uses_a_php_image_with_mysqli_and_reads_the_page_from_a_configmap() -> None:
    documents = {document["kind"]: document for document in manifests("app.yaml")}
    page = documents["ConfigMap"]["data"]["index.php"]
    assert "mysqli_real_connect" in page and "MYSQLI_OPT_CONNECT_TIMEOUT" in page
    assert "MySQL connection failed: " in page
    deployment = documents["Deployment"]
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["template"]["metadata"]["labels"] == {"app": "interpoddemo"}
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert not container["image"].startswith("php:")  # the official image lacks mysqli
    assert any(volume.get("configMap", {}).get("name") == "interpoddemo-page" for volume in deployment["spec"]["template"]["spec"]["volumes"])


def test_probe_checks_look_for_the_marker_the_page_prints(lab: Lab) -> None:
    page = manifests("app.yaml")[0]["data"]["index.php"]
    for step in lab.steps:
        for check in step.checks:
            for text in check.args.get("contains", ()):
                assert text in page, f"{step.id}: the page never prints {text!r}"


def test_mysql_deployment_reads_its_password_from_the_secret() -> None:
    documents = {document["kind"]: document for document in manifests("mysqlpod.yaml")}
    assert documents["Deployment"]["spec"]["replicas"] == 1
    [container] = documents["Deployment"]["spec"]["template"]["spec"]["containers"]
    [password] = [env for env in container["env"] if env["name"] == "MYSQL_ROOT_PASSWORD"]
    assert password["valueFrom"]["secretKeyRef"]["name"] == documents["Secret"]["metadata"]["name"]
    assert "readinessProbe" in container


def test_the_weave_history_note_and_calico_notes_are_there(lab: Lab) -> None:
    everything = "\n".join(lab.instructions(step) for step in lab.steps)
    assert "net.beta.kubernetes.io/network-policy" in everything and "DefaultDeny" in everything
    calico = lab.instructions(lab.step("install-calico"))
    for cluster in ("kind", "minikube", "k3d", "calico-sandbox.yaml"):
        assert cluster in calico


def test_shipped_lab_file_is_valid_through_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    from labrunner.cli import main

    assert main(["validate", str(REPO / "labs")]) == 0
    assert Path(LAB_DIR / "lab.yaml").read_text(encoding="utf-8").startswith("# yaml-language-server: $schema=../lab.schema.json")
