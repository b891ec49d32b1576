"""The Storage lab as shipped: complete, parameterised (namespace, default class, provisioner and
node), its manifests valid for 1.32 and what the steps teach, and every step proved on the
sandbox (failing before its solution, passing after)."""

from __future__ import annotations

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

LAB_DIR = REPO / "labs" / "storage"
ASSETS = REPO / "assets" / "storage"

ORDER = ["create-namespace", "claim-waits", "first-consumer", "data-survives", "static-volume", "release-volume",
         "rescue-volume", "storage-class", "expand-claim", "statefulset", "repair-claim", "clean-up"]


@pytest.fixture(scope="module")
def lab() -> Lab:
    return load_lab(LAB_DIR)


def test_the_twelve_steps_in_order(lab: Lab) -> None:
    assert [step.id for step in lab.steps] == ORDER
    assert (lab.id, lab.level, lab.tags, lab.minutes) == ("storage", "intermediate", ("storage", "troubleshooting"), 75)


def test_every_step_has_its_five_parts(lab: Lab) -> None:
    assert_every_step_has_its_parts(lab, shows_output=True, explains=True)


def test_claims_volumes_and_classes_are_judged_by_the_storage_kinds(lab: Lab) -> None:
    kinds = {step.id: [check.kind for check in step.checks] for step in lab.steps}
    assert kinds["create-namespace"] == ["namespace-active", "default-class"]
    assert kinds["claim-waits"] == ["claim-waits"]
    assert kinds["first-consumer"] == ["claim-bound", "deployment-ready", "shell"]
    assert kinds["static-volume"][:2] == ["claim-bound", "volume-state"]
    assert "volume-state" in kinds["release-volume"] and "volume-state" in kinds["rescue-volume"]
    assert "default-class" in kinds["storage-class"]
    assert kinds["statefulset"][:2] == ["claim-bound", "claim-bound"] and kinds["repair-claim"] == ["claim-bound"]
    assert kinds["clean-up"][0] == "namespace-absent"
    static = lab.step("static-volume").checks[0].args
    assert (static["storage_class"], static["volume"], static["capacity"]) == ("manual", "storagedemo-archive", "2Gi")
    released = lab.step("release-volume").checks[1].args
    assert (released["phase"], released["reclaim_policy"]) == ("Released", "Retain")
    rescued = {c.kind: c.args for c in lab.step("rescue-volume").checks}
    assert rescued["volume-state"]["claim"] == "storagedemo/archive-restored"
    grown = [c for c in lab.step("expand-claim").checks if c.kind == "claim-bound"]
    assert [(c.args.get("capacity"), c.advisory) for c in grown] == [(None, False), ("2Gi", True)]


def test_the_parameters_are_used_everywhere() -> None:
    other = load_lab(LAB_DIR, {"namespace": "learner-7", "default-class": "local-path", "provisioner": "example.com/disk",
                               "node": "kind-control-plane"})
    texts: list[str] = []
    for step in other.steps:
        texts.append(other.instructions(step))
        texts += [command.run for command in step.commands] + [command.output or "" for command in step.commands]
        texts += list(step.hints) + [str(dict(check.args)) + check.says for check in step.checks]
        texts += [action.target for action in (*step.solution, *(step.reset or ()))]
    texts += [action.target for action in other.reset or ()]
    joined = "\n".join(texts)
    assert "storagedemo" not in joined and "labrunner-sandbox-worker" not in joined and "{{" not in joined
    assert "kubectl create namespace learner-7" in joined and "name: learner-7-archive" in joined
    assert "values: [kind-control-plane]" in joined
    assert other.step("create-namespace").checks[1].args["name"] == "local-path"
    assert other.step("first-consumer").checks[0].args["storage_class"] == "local-path"
    assert "{'name': 'learner-7-archive'" in str(dict(other.step("release-volume").checks[1].args))


def test_manifests_pass_strict_kubernetes_132_validation_and_name_no_namespace() -> None:
    paths = sorted(ASSETS.glob("*.yaml"))
    assert {path.name for path in paths} == {"notes-claim.yaml", "notes-app.yaml", "archive-claim.yaml", "archiver.yaml",
                                             "auditor.yaml", "resizable-class.yaml", "reports.yaml", "ledger-statefulset.yaml",
                                             "uploads-claim-broken.yaml", "uploads-claim.yaml"}
    assert_manifests_valid(paths)


def test_the_assets_are_what_the_steps_teach() -> None:
    [claim] = documents(ASSETS / "notes-claim.yaml")
    assert "storageClassName" not in claim["spec"]  # the default class is written in by the API server
    [app] = documents(ASSETS / "notes-app.yaml")
    pod = app["spec"]["template"]["spec"]
    assert pod["volumes"] == [{"name": "notes", "persistentVolumeClaim": {"claimName": "notes"}}]
    assert pod["containers"][0]["volumeMounts"] == [{"name": "notes", "mountPath": "/data"}]
    assert "/data/starts.log" in pod["containers"][0]["command"][2] and app["spec"]["strategy"] == {"type": "Recreate"}
    [cls] = documents(ASSETS / "resizable-class.yaml")
    assert (cls["reclaimPolicy"], cls["volumeBindingMode"], cls["allowVolumeExpansion"]) == ("Retain", "WaitForFirstConsumer", True)
    assert "annotations" not in cls["metadata"]
    service, statefulset = documents(ASSETS / "ledger-statefulset.yaml")
    assert service["spec"]["clusterIP"] == "None" and statefulset["spec"]["serviceName"] == "ledger"
    assert [t["metadata"]["name"] for t in statefulset["spec"]["volumeClaimTemplates"]] == ["data"]
    assert "volumes" not in statefulset["spec"]["template"]["spec"]
    [broken] = documents(ASSETS / "uploads-claim-broken.yaml")
    [fixed] = documents(ASSETS / "uploads-claim.yaml")
    assert (broken["spec"]["accessModes"], broken["spec"]["resources"]["requests"]["storage"]) == (["ReadWriteMany"], "1Gi")
    assert (fixed["spec"]["accessModes"], fixed["spec"]["resources"]["requests"]["storage"]) == (["ReadWriteOnce"], "512Mi")
    assert broken["spec"]["storageClassName"] == fixed["spec"]["storageClassName"] == "manual"


def test_the_cluster_s_own_words_are_quoted_where_they_teach(lab: Lab) -> None:
    assert "waiting for first consumer to be created before binding" in lab.instructions(lab.step("claim-waits"))
    assert "NodePath only supports ReadWriteOnce and ReadWriteOncePod (1.22+) access modes" in lab.instructions(lab.step("first-consumer"))
    assert 'volume "storagedemo-archive" already bound to a different claim.' in lab.instructions(lab.step("rescue-volume"))
    assert "reclaimPolicy: Forbidden: updates to reclaimPolicy are forbidden." in lab.instructions(lab.step("storage-class"))
    expand = lab.instructions(lab.step("expand-claim"))
    assert "only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize" in expand
    assert "spec.resources.requests.storage: Forbidden: field can not be less than previous value" in expand
    assert 'storageclass.storage.k8s.io "manual" not found' in lab.instructions(lab.step("repair-claim"))
    assert "host_path deleter only supports /tmp/.+" in lab.instructions(lab.step("release-volume"))


def test_the_lab_is_valid_through_the_cli() -> None:
    assert_valid_through_the_cli(LAB_DIR)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl must be on PATH (the lab's solutions use it)")
def test_selftest_on_the_sandbox_every_step_fails_before_and_passes_after(tmp_path: Path) -> None:
    assert_selftest_passes("storage", ORDER, tmp_path / "state", "namespace=storage-selftest")
