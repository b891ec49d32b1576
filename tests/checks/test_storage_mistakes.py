"""The Storage lab's own checks against the mistakes learners make, on a sandbox of this module's
own (the lab makes PersistentVolumes, a StorageClass and default-class annotations, which are
cluster-wide: the shared sandbox keeps its single default class). Each mistake is made with real
kubectl, the step's checks run through the registry, and the diagnosis the learner reads must name
the object, the field and the value responsible. Correct answers written other ways (an explicit
storageClassName, volumeName pre-binding, a selector, a merge patch, kubectl edit, a grown volume,
YAML instead of kubectl) must pass.

Earlier steps are caught up by running their solutions, as ``labrunner solve --through`` does."""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from labrunner.lab.loader import load_lab
from labrunner.lab.model import Lab
from labrunner.registry.types import Outcome
from labrunner.session.actions import run_commands, solution_commands
from tests.checks.lab_checks import failing_text, step_results
from tests.conftest import REPO
from tests.sandboxes import KUBECTL, Kubectl, eventually, fresh_name, kubectl_for, start_sandbox

pytestmark = [pytest.mark.kubectl, pytest.mark.skipif(KUBECTL is None, reason="needs the kubectl binary on PATH")]

LAB_DIR = REPO / "labs" / "storage"
ASSETS = REPO / "assets" / "storage"
Results = list[tuple[str, Outcome]]


# -- a sandbox of the module's own, a lab per test ------------------------------------------------


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Kubectl, Any]]:
    """A sandbox whose volumes, classes and default annotation the tests may change."""
    from labrunner.cluster.kube import connect
    from labrunner.sandbox.control import stop

    files = start_sandbox(tmp_path_factory.mktemp("storage"))
    yield kubectl_for(files, tmp_path_factory.mktemp("home")), connect(files.kubeconfig)
    stop(files)


@pytest.fixture
def kubectl(own: tuple[Kubectl, Any]) -> Kubectl:
    return own[0]


@pytest.fixture
def ns(kubectl: Kubectl) -> Iterator[str]:
    """The test's namespace; it, the volumes named after it and the class resizable go afterwards."""
    name = fresh_name("st")
    yield name
    kubectl("delete", "namespace", name, "--ignore-not-found", "--wait=false", check=False)
    kubectl("delete", "storageclass", "resizable", "--ignore-not-found", check=False)
    volumes = json.loads(kubectl("get", "pv", "-o", "json").stdout)["items"]
    mine = [v["metadata"]["name"] for v in volumes
            if v["metadata"]["name"].startswith(name) or (v["spec"].get("claimRef") or {}).get("namespace") == name]
    if mine:
        kubectl("delete", "pv", *mine, "--ignore-not-found", "--wait=false", check=False)


@pytest.fixture
def lab(ns: str) -> Lab:
    return load_lab(LAB_DIR, {"namespace": ns})


@pytest.fixture
def checks(lab: Lab, own: tuple[Kubectl, Any]) -> Callable[[str], Results]:
    """Run a step's checks through the registry, as the session does: (says, outcome) each."""

    def run(step_id: str) -> Results:
        return step_results(lab, own[1], step_id)

    return run


@pytest.fixture
def solve(lab: Lab, own: tuple[Kubectl, Any]) -> Callable[..., None]:
    """Run the solutions of the steps named (all of them, in order)."""

    def run(*step_ids: str) -> None:
        for step_id in step_ids:
            done = run_commands(solution_commands(lab, lab.step(step_id), "sandbox"), own[1].info, lab.placeholder_values)
            assert all(a.exit_code == 0 for a in done), [(a.command, a.output) for a in done]

    return run


def said(results: Results) -> str:
    return failing_text(results)


def failed(checks: Callable[[str], Results], step_id: str, *texts: str, attempts: int = 60) -> str:
    """The step fails and, once the cluster has settled, its failing checks say each of ``texts``."""
    for _ in range(attempts):
        text = said(checks(step_id))
        if text and all(t in text for t in texts):
            return text
        time.sleep(0.1)
    assert text, f"the step {step_id} passed"
    missing = [t for t in texts if t not in text]
    raise AssertionError(f"{missing!r} not in:\n{text}")


def passed(checks: Callable[[str], Results], step_id: str, attempts: int = 100) -> None:
    for _ in range(attempts):
        results = checks(step_id)
        if all(outcome[0] == "passed" for _, outcome in results):
            return
        time.sleep(0.1)
    raise AssertionError(said(results))


def quoted(lab: Lab, step_id: str, text: str, lines: int = 99) -> None:
    """The step's instructions quote the diagnosis as the learner reads it (its first ``lines`` lines, but a shell
    check's exit code, which says only that the script failed)."""
    wanted = [line for line in text.splitlines() if line and not line.startswith(("the script exited with", "(the script exited with"))][:lines]
    instructions = lab.instructions(lab.step(step_id))
    for line in wanted:
        assert line in instructions, f"{step_id}'s instructions do not quote: {line}"


def apply(kubectl: Kubectl, manifest: str, namespace: str | None = None, check: bool = True) -> Any:
    where = ["-n", namespace] if namespace else []
    return kubectl("apply", *where, "-f", "-", stdin=textwrap.dedent(manifest), check=check)


def claim(name: str, size: str = "1Gi", cls: str | None = None, modes: str = "[ReadWriteOnce]", extra: str = "") -> str:
    line = f"\n  storageClassName: {cls}" if cls is not None else ""
    return (f"apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: {name}}}\nspec:\n  accessModes: {modes}\n"
            f"  resources: {{requests: {{storage: {size}}}}}{line}{extra}\n")


def volume(name: str, cls: str = "manual", size: str = "2Gi", policy: str = "Retain", labels: str = "{}") -> str:
    return (f"apiVersion: v1\nkind: PersistentVolume\nmetadata: {{name: {name}, labels: {labels}}}\nspec:\n"
            f"  storageClassName: \"{cls}\"\n  capacity: {{storage: {size}}}\n  accessModes: [ReadWriteOnce]\n"
            f"  persistentVolumeReclaimPolicy: {policy}\n  hostPath: {{path: /srv/{name}, type: DirectoryOrCreate}}\n")


def asset(name: str, *replacements: tuple[str, str]) -> str:
    text = (ASSETS / name).read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    return text


def phase(kubectl: Kubectl, *what: str) -> str:
    return str(kubectl("get", *what, "-o", "jsonpath={.status.phase}", check=False).stdout)


# -- the default class (steps 0 and 7) -------------------------------------------------------------


def test_two_default_classes_are_named_with_the_annotation_that_fixes_them(kubectl: Kubectl, checks: Any, solve: Any,
                                                                            lab: Lab) -> None:
    solve("create-namespace", "storage-class")
    kubectl("annotate", "storageclass", "resizable", "storageclass.kubernetes.io/is-default-class=true")
    quoted(lab, "storage-class", failed(checks, "storage-class", "2 StorageClasses are default: resizable, standard",
           "a claim without storageClassName takes the newest default",
           "kubectl annotate storageclass resizable storageclass.kubernetes.io/is-default-class=false --overwrite"))
    kubectl("annotate", "storageclass", "resizable", "storageclass.kubernetes.io/is-default-class=false", "--overwrite")
    passed(checks, "storage-class")


def test_a_default_moved_with_a_misspelt_annotation_leaves_no_default(kubectl: Kubectl, checks: Any, ns: str) -> None:
    kubectl("create", "namespace", ns)
    kubectl("annotate", "storageclass", "standard", "storageclass.kubernetes.io/is-default-class=false", "--overwrite")
    kubectl("annotate", "storageclass", "standard", "storageclass.kubernetes.io/default-class=true")
    try:
        failed(checks, "create-namespace", "no StorageClass is the cluster's default",
               "StorageClass standard has the annotation storageclass.kubernetes.io/default-class; the default is marked by "
               "storageclass.kubernetes.io/is-default-class",
               "StorageClass standard has storageclass.kubernetes.io/is-default-class: 'false'; only \"true\" marks it")
    finally:
        kubectl("annotate", "storageclass", "standard", "storageclass.kubernetes.io/default-class-")
        kubectl("annotate", "storageclass", "standard", "storageclass.kubernetes.io/is-default-class=true", "--overwrite")
    passed(checks, "create-namespace")


def test_a_class_with_the_defaults_delete_and_no_expansion_is_named_field_by_field(kubectl: Kubectl, checks: Any, lab: Lab,
                                                                                   solve: Any) -> None:
    solve("create-namespace")
    apply(kubectl, asset("resizable-class.yaml", ("reclaimPolicy: Retain\n", ""), ("allowVolumeExpansion: true\n", ""),
                         ("WaitForFirstConsumer", "Immediate")))
    failed(checks, "storage-class", "StorageClass resizable: reclaimPolicy is Delete; this step wants Retain\n"
                                    "with Delete the volume and its data would go with the claim; Retain keeps them\n"
                                    "also its volumeBindingMode is Immediate; this step wants WaitForFirstConsumer: "
                                    "a local volume must be made on the node its first pod goes to\n"
                                    "also its allowVolumeExpansion is not set; this step wants true: without it, claims of the class could not grow\n"
                                    "provisioner, reclaimPolicy and volumeBindingMode cannot be changed: kubectl delete sc resizable, then create it again")
    refused = kubectl("patch", "sc", "resizable", "-p", '{"reclaimPolicy":"Retain"}', check=False)
    assert refused.returncode == 1
    assert 'The StorageClass "resizable" is invalid: reclaimPolicy: Forbidden: updates to reclaimPolicy are forbidden.' in refused.stderr
    kubectl("patch", "sc", "resizable", "-p", '{"allowVolumeExpansion":true}')  # this one may change
    kubectl("delete", "sc", "resizable")
    solve("storage-class")
    passed(checks, "storage-class")


def test_a_class_naming_another_provisioner_is_said(kubectl: Kubectl, checks: Any, solve: Any) -> None:
    solve("create-namespace")
    apply(kubectl, asset("resizable-class.yaml", ("provisioner: rancher.io/local-path", "provisioner: kubernetes.io/aws-ebs")))
    failed(checks, "storage-class", "StorageClass resizable: provisioner is kubernetes.io/aws-ebs; this cluster's volumes come from "
                                    "rancher.io/local-path\nkubectl get sc standard shows it")


# -- step 1: the claim that waits ----------------------------------------------------------------


def test_a_waiting_claim_fixed_by_a_pod_is_named(kubectl: Kubectl, checks: Any, solve: Any, ns: str) -> None:
    solve("create-namespace", "claim-waits")
    passed(checks, "claim-waits")
    kubectl("run", "fix", "-n", ns, "--image=busybox:1.36", "--overrides", json.dumps({"spec": {
        "containers": [{"name": "fix", "image": "busybox:1.36", "command": ["sleep", "3600"],
                        "volumeMounts": [{"name": "v", "mountPath": "/v"}]}],
        "volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": "notes"}}]}}))
    failed(checks, "claim-waits", "PersistentVolumeClaim notes is Bound", "pod fix uses it, so it bound: this step waits before any pod does",
           "a claim waiting for its first consumer is not broken: leave it Pending until a pod uses it")


def test_a_waiting_claim_fixed_by_volume_name_is_named(kubectl: Kubectl, checks: Any, solve: Any, ns: str) -> None:
    solve("create-namespace")
    apply(kubectl, volume(f"{ns}-spare", cls="standard", size="1Gi"))
    apply(kubectl, claim("notes", extra=f"\n  volumeName: {ns}-spare"), ns)
    failed(checks, "claim-waits", "PersistentVolumeClaim notes is Bound", f"spec.volumeName {ns}-spare pre-bound it")


def test_a_claim_of_a_class_that_does_not_wait_is_not_waiting_for_a_consumer(kubectl: Kubectl, checks: Any, solve: Any,
                                                                             ns: str) -> None:
    solve("create-namespace")
    apply(kubectl, claim("notes", cls="standrad"), ns)
    failed(checks, "claim-waits", "PersistentVolumeClaim notes is Pending, but not waiting for a consumer",
           "storageClassName standrad: no StorageClass standrad exists (classes: standard)",
           'the cluster says (ProvisioningFailed): storageclass.storage.k8s.io "standrad" not found')


def test_a_claim_made_in_another_namespace_is_found_there(kubectl: Kubectl, checks: Any, solve: Any, ns: str) -> None:
    solve("create-namespace")
    elsewhere = fresh_name("other")
    kubectl("create", "namespace", elsewhere)
    try:
        kubectl("apply", "-n", elsewhere, "-f", str(ASSETS / "notes-claim.yaml"))  # forgot -n NAMESPACE
        failed(checks, "claim-waits", f"PersistentVolumeClaim notes is not in {ns}: there is a PersistentVolumeClaim notes in {elsewhere} "
                                      f"(applied without -n {ns}?)")
    finally:
        kubectl("delete", "namespace", elsewhere, "--wait=false")


# -- steps 2 and 3: the first consumer, data that survives ---------------------------------------


def test_a_volume_mounted_at_the_wrong_path_is_named_and_loses_the_data(kubectl: Kubectl, checks: Any, solve: Any, ns: str,
                                                                        lab: Lab) -> None:
    solve("create-namespace", "claim-waits")
    apply(kubectl, asset("notes-app.yaml", ("mountPath: /data", "mountPath: /var/data")), ns)
    kubectl("rollout", "status", "deployment/notes", "-n", ns, "--timeout=60s")
    quoted(lab, "first-consumer", failed(checks, "first-consumer",
                                         "the volume notes (the claim notes) is mounted at /var/data, but the program writes /data/starts.log",
                                         "what it writes goes to the container's own layer and is lost with the pod; set mountPath: /data"))
    # the pod runs and writes: the file is there, in the container's layer
    assert kubectl("exec", "deploy/notes", "-n", ns, "--", "cat", "/data/starts.log").stdout.endswith("started\n")
    kubectl("delete", "pod", "-n", ns, "-l", "app=notes", "--wait=true")
    kubectl("rollout", "status", "deployment/notes", "-n", ns, "--timeout=60s")
    failed(checks, "data-survives", "nothing is mounted at /data in the Deployment notes\n"
                                    "the file is in the container's own layer and goes with each pod")
    assert len(kubectl("exec", "deploy/notes", "-n", ns, "--", "cat", "/data/starts.log").stdout.splitlines()) == 1


def test_a_claim_asking_read_write_many_of_the_local_path_class_stays_pending(kubectl: Kubectl, checks: Any, solve: Any,
                                                                             ns: str) -> None:
    solve("create-namespace")
    apply(kubectl, asset("notes-claim.yaml", ("- ReadWriteOnce", "- ReadWriteMany")), ns)
    kubectl("apply", "-n", ns, "-f", str(ASSETS / "notes-app.yaml"))
    eventually(lambda: "ProvisioningFailed" in kubectl("get", "events", "-n", ns, "--field-selector", "involvedObject.name=notes").stdout,
               "the provisioner's refusal")
    failed(checks, "first-consumer", "PersistentVolumeClaim notes is Pending", "deployment notes has 0/1 ready replica(s)")


def test_a_claim_asking_read_write_many_quotes_the_provisioner_s_refusal(kubectl: Kubectl, checks: Any, solve: Any, ns: str) -> None:
    solve("create-namespace")
    apply(kubectl, asset("notes-claim.yaml", ("- ReadWriteOnce", "- ReadWriteMany")), ns)
    kubectl("apply", "-n", ns, "-f", str(ASSETS / "notes-app.yaml"))
    text = failed(checks, "first-consumer", 'failed to provision volume with StorageClass "standard": NodePath only supports '
                                            "ReadWriteOnce and ReadWriteOncePod (1.22+) access modes", attempts=3)
    assert "create that pod" not in text


def test_a_deployment_naming_a_claim_that_does_not_exist(kubectl: Kubectl, checks: Any, solve: Any, ns: str) -> None:
    solve("create-namespace", "claim-waits")
    apply(kubectl, asset("notes-app.yaml", ("claimName: notes", "claimName: note")), ns)
    # The cause first: the pods mount a claim that does not exist (their not being ready follows from it).
    text = failed(checks, "first-consumer", "the Deployment notes has no volume of the claim notes",
                  f"deployment notes's pods cannot start: they mount persistentvolumeclaim note (volume notes), which does not exist in {ns}")
    assert "PersistentVolumeClaim notes is Pending" in text  # and the real claim still waits


def test_data_lost_with_its_claim_leaves_only_the_running_pod_in_the_log(kubectl: Kubectl, checks: Any, solve: Any, ns: str) -> None:
    solve("create-namespace", "claim-waits", "first-consumer")
    # "starting afresh": the Deployment and the claim deleted, then both made again
    kubectl("delete", "deployment", "notes", "-n", ns, "--wait=true")
    kubectl("delete", "pvc", "notes", "-n", ns, "--wait=true")
    solve("claim-waits", "first-consumer")
    failed(checks, "data-survives", "only the pod running now (notes-", "is in /data/starts.log: delete that pod and let the Deployment replace it")


# -- steps 4 to 6: a static volume, Retain, the rescue -------------------------------------------


def test_a_claim_without_the_volume_s_class_gets_the_default_class_and_a_new_volume(kubectl: Kubectl, checks: Any, solve: Any,
                                                                                     ns: str) -> None:
    solve("create-namespace")
    apply(kubectl, volume(f"{ns}-archive", cls=""))  # a hostPath PV without a class
    apply(kubectl, claim("archive"), ns)  # and a claim without one: the default class is written in
    failed(checks, "static-volume", "PersistentVolumeClaim archive is Pending",
           "the class standard binds when the first pod using the claim is scheduled (WaitForFirstConsumer)",
           f"PersistentVolume {ns}-archive is Available; this step wants Bound")
    kubectl("apply", "-n", ns, "-f", str(ASSETS / "archiver.yaml"))
    failed(checks, "static-volume", "PersistentVolumeClaim archive is bound to PersistentVolume pvc-",
           f"; this step wants {ns}-archive\nPersistentVolumeClaim archive: spec.storageClassName is standard; this step wants manual")
    assert phase(kubectl, "pv", f"{ns}-archive") == "Available"  # a new volume was provisioned beside it


def test_a_claim_without_the_volume_s_class_names_the_volume_it_missed(kubectl: Kubectl, checks: Any, solve: Any, ns: str) -> None:
    solve("create-namespace")
    apply(kubectl, volume(f"{ns}-archive", cls=""))
    apply(kubectl, claim("archive"), ns)
    failed(checks, "static-volume", f'PersistentVolume {ns}-archive has storageClassName "", the claim\'s class is standard', attempts=3)


def test_a_misspelt_class_names_both_the_missing_class_and_the_volume_s(kubectl: Kubectl, checks: Any, solve: Any, ns: str,
                                                                         lab: Lab) -> None:
    solve("create-namespace")
    apply(kubectl, volume(f"{ns}-archive"))
    apply(kubectl, claim("archive", cls="manuel"), ns)
    quoted(lab, "static-volume", failed(checks, "static-volume", "storageClassName manuel: no StorageClass manuel exists (classes: standard)",
           f"PersistentVolume {ns}-archive has storageClassName manual, the claim's class is manuel",
           'the cluster says (ProvisioningFailed): storageclass.storage.k8s.io "manuel" not found'), lines=3)


def test_a_claim_bigger_than_the_volume_is_said_in_sizes(kubectl: Kubectl, checks: Any, solve: Any, ns: str) -> None:
    solve("create-namespace")
    apply(kubectl, volume(f"{ns}-archive"))
    apply(kubectl, claim("archive", size="5Gi", cls="manual"), ns)
    failed(checks, "static-volume", f"PersistentVolume {ns}-archive holds 2Gi, less than the claim's request of 5Gi")


def test_delete_where_retain_was_meant_is_named_and_fails_the_hostpath_volume(kubectl: Kubectl, checks: Any, solve: Any,
                                                                              ns: str) -> None:
    solve("create-namespace", "static-volume")
    kubectl("patch", "pv", f"{ns}-archive", "-p", '{"spec":{"persistentVolumeReclaimPolicy":"Delete"}}')
    failed(checks, "static-volume", f"PersistentVolume {ns}-archive has persistentVolumeReclaimPolicy Delete; this step wants Retain "
                                    "(Retain keeps the volume and its data when the claim goes")
    kubectl("delete", "pod", "archiver", "-n", ns, "--wait=true")
    kubectl("delete", "pvc", "archive", "-n", ns, "--wait=true")
    eventually(lambda: phase(kubectl, "pv", f"{ns}-archive") == "Failed", "the hostPath volume Failed")
    failed(checks, "release-volume", f"PersistentVolume {ns}-archive is Failed; this step wants Released",
           "has persistentVolumeReclaimPolicy Delete; this step wants Retain")
    assert "host_path deleter only supports /tmp/.+ but received provided /srv/" in kubectl("describe", "pv", f"{ns}-archive").stdout


def test_a_claim_deleted_while_its_pod_runs_stays_terminating_and_the_pod_is_named(kubectl: Kubectl, checks: Any, solve: Any,
                                                                                   ns: str, lab: Lab) -> None:
    solve("create-namespace", "static-volume")
    kubectl("delete", "pvc", "archive", "-n", ns, "--wait=false")  # the pod archiver still uses it
    quoted(lab, "release-volume", failed(checks, "release-volume",
           "the claim archive is Terminating: the kubernetes.io/pvc-protection finalizer keeps it while a pod uses it (archiver).",
           f"delete that pod and the claim goes by itself: kubectl delete pod archiver -n {ns}",
           f"PersistentVolume {ns}-archive is Bound; this step wants Released: the claim {ns}/archive still exists"), lines=2)
    kubectl("delete", "pod", "archiver", "-n", ns, "--wait=true")
    passed(checks, "release-volume")


def test_a_new_claim_beside_a_released_volume_waits_for_its_claim_ref(kubectl: Kubectl, checks: Any, solve: Any, ns: str) -> None:
    solve("create-namespace", "static-volume", "release-volume")
    apply(kubectl, claim("archive-restored", size="2Gi", cls="manual", extra=f"\n  volumeName: {ns}-archive"), ns)
    failed(checks, "rescue-volume", "PersistentVolumeClaim archive-restored is Pending",
           f"PersistentVolume {ns}-archive is reserved for claim {ns}/archive (spec.claimRef)",
           f"PersistentVolume {ns}-archive is Released; this step wants Bound",
           f"PersistentVolume {ns}-archive is held by {ns}/archive; this step wants {ns}/archive-restored")


def test_a_new_claim_beside_a_released_volume_is_given_the_patch(kubectl: Kubectl, checks: Any, solve: Any, ns: str) -> None:
    solve("create-namespace", "static-volume", "release-volume")
    apply(kubectl, claim("archive-restored", size="2Gi", cls="manual", extra=f"\n  volumeName: {ns}-archive"), ns)
    failed(checks, "rescue-volume", "Released", '"op":"remove","path":"/spec/claimRef"', attempts=3)


def test_the_claim_made_again_under_its_old_name_is_told_to_clear_the_claim_ref(kubectl: Kubectl, checks: Any, solve: Any,
                                                                                ns: str) -> None:
    solve("create-namespace", "static-volume", "release-volume")
    kubectl("apply", "-n", ns, "-f", str(ASSETS / "archive-claim.yaml"))  # the old claim back, same name
    failed(checks, "rescue-volume", f"PersistentVolumeClaim archive-restored does not exist in {ns}", f"there is a claim archive in {ns}")
    failed(checks, "static-volume", "PersistentVolumeClaim archive is Pending",
           f"PersistentVolume {ns}-archive is Released: its claimRef still holds the uid of a deleted claim of that name; remove spec.claimRef",
           '"op":"remove","path":"/spec/claimRef"')


# -- step 8: expansion ---------------------------------------------------------------------------


def test_a_claim_of_the_default_class_cannot_grow_and_cannot_shrink(kubectl: Kubectl, checks: Any, solve: Any, ns: str) -> None:
    solve("create-namespace", "storage-class")
    apply(kubectl, asset("reports.yaml", ("  storageClassName: resizable\n", "")), ns)  # the class forgotten
    kubectl("wait", "--for=condition=Ready", "pod/reporter", "-n", ns, "--timeout=60s")
    refused = kubectl("patch", "pvc", "reports", "-n", ns, "-p", '{"spec":{"resources":{"requests":{"storage":"2Gi"}}}}', check=False)
    assert refused.stderr == ('Error from server (Forbidden): persistentvolumeclaims "reports" is forbidden: only dynamically provisioned '
                              "pvc can be resized and the storageclass that provisions the pvc must support resize\n")
    failed(checks, "expand-claim", "PersistentVolumeClaim reports: spec.storageClassName is standard; this step wants resizable",
           "the claim reports: spec.resources.requests.storage is 1Gi; this step wants 2Gi\nchange it on the bound claim")
    kubectl("delete", "pod", "reporter", "-n", ns, "--wait=true")
    kubectl("delete", "pvc", "reports", "-n", ns, "--wait=true")
    solve("expand-claim")
    passed(checks, "expand-claim")
    shrink = kubectl("patch", "pvc", "reports", "-n", ns, "-p", '{"spec":{"resources":{"requests":{"storage":"1Gi"}}}}', check=False)
    assert "spec.resources.requests.storage: Forbidden: field can not be less than previous value" in shrink.stderr


# -- step 9: the StatefulSet ---------------------------------------------------------------------


SHARED = """
      volumes:
        - name: data
          persistentVolumeClaim:
            claimName: shared
"""


def test_replicas_sharing_one_claim_are_named(kubectl: Kubectl, checks: Any, solve: Any, ns: str) -> None:
    solve("create-namespace")
    apply(kubectl, claim("shared"), ns)
    text = (ASSETS / "ledger-statefulset.yaml").read_text(encoding="utf-8")
    text = text[:text.index("  volumeClaimTemplates:")].replace("              mountPath: /data\n", "              mountPath: /data\n" + SHARED)
    # one node, as a ReadWriteOnce claim shared by two pods would have it
    text = text.replace("    spec:\n      containers:", "    spec:\n      nodeSelector: {kubernetes.io/hostname: labrunner-sandbox-worker}\n      containers:")
    apply(kubectl, text, ns)
    kubectl("rollout", "status", "statefulset/ledger", "-n", ns, "--timeout=60s")
    failed(checks, "statefulset", f"PersistentVolumeClaim data-ledger-0 does not exist in {ns}", f"there is a claim shared in {ns}",
           "the replicas share the claim shared.",
           "a claim per replica comes from volumeClaimTemplates, not from a volumes entry in the pod template")


def test_a_claim_template_of_another_name_makes_claims_of_other_names(kubectl: Kubectl, checks: Any, solve: Any, ns: str) -> None:
    solve("create-namespace")
    apply(kubectl, asset("ledger-statefulset.yaml", ("- name: data\n", "- name: storage\n"),
                         ("        name: data\n", "        name: storage\n")), ns)
    kubectl("rollout", "status", "statefulset/ledger", "-n", ns, "--timeout=60s")
    failed(checks, "statefulset", f"PersistentVolumeClaim data-ledger-0 does not exist in {ns}", f"there is a claim storage-ledger-0 in {ns}")


# -- step 10: the claim that will not bind -------------------------------------------------------


def test_the_broken_claim_is_explained_size_first_then_access_mode(kubectl: Kubectl, checks: Any, solve: Any, lab: Lab, ns: str) -> None:
    solve("create-namespace")
    apply(kubectl, volume(f"{ns}-uploads", size="512Mi"))
    kubectl("apply", "-n", ns, "-f", str(ASSETS / "uploads-claim-broken.yaml"))
    quoted(lab, "repair-claim", failed(checks, "repair-claim", "PersistentVolumeClaim uploads is Pending",
                                       f"PersistentVolume {ns}-uploads holds 512Mi, less than the claim's request of 1Gi",
                                       'the cluster says (ProvisioningFailed): storageclass.storage.k8s.io "manual" not found'))
    refused = kubectl("patch", "pvc", "uploads", "-n", ns, "-p", '{"spec":{"resources":{"requests":{"storage":"512Mi"}}}}', check=False)
    assert "spec: Forbidden: spec is immutable after creation" in refused.stderr
    # only the size repaired: the access mode is next
    kubectl("delete", "pvc", "uploads", "-n", ns, "--wait=true")
    kubectl("apply", "-n", ns, "-f", "-", stdin=asset("uploads-claim-broken.yaml", ("storage: 1Gi", "storage: 512Mi")))
    failed(checks, "repair-claim", f"PersistentVolume {ns}-uploads offers ReadWriteOnce, not ReadWriteMany")


def test_a_storage_class_made_to_silence_the_event_changes_nothing(kubectl: Kubectl, checks: Any, solve: Any, ns: str) -> None:
    solve("create-namespace")
    apply(kubectl, volume(f"{ns}-uploads", size="512Mi"))
    kubectl("apply", "-n", ns, "-f", str(ASSETS / "uploads-claim-broken.yaml"))
    apply(kubectl, "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: manual}\nprovisioner: kubernetes.io/no-provisioner\n")
    try:
        failed(checks, "repair-claim", f"PersistentVolume {ns}-uploads holds 512Mi, less than the claim's request of 1Gi")
    finally:
        kubectl("delete", "sc", "manual")


# -- step 11: clean-up ---------------------------------------------------------------------------


def test_deleting_the_namespace_leaves_the_retained_volumes_which_are_listed(kubectl: Kubectl, checks: Any, solve: Any,
                                                                             ns: str) -> None:
    solve("create-namespace", "static-volume", "storage-class")
    kubectl("delete", "namespace", ns, "--timeout=60s")
    eventually(lambda: phase(kubectl, "pv", f"{ns}-archive") == "Released", "the volume Released with its namespace")
    text = failed(checks, "clean-up", f"PersistentVolume(s) of {ns} left: {ns}-archive Released",
                  f"Retain keeps them after their claims: kubectl delete pv {ns}-archive",
                  "the StorageClass resizable is still there\nkubectl delete storageclass resizable")
    assert text.count(f"{ns}-archive Released") == 1, text  # each volume once


# -- correct variants ----------------------------------------------------------------------------


def test_variant_an_explicit_default_class_and_a_claim_written_as_yaml(kubectl: Kubectl, checks: Any, solve: Any, ns: str) -> None:
    solve("create-namespace")
    apply(kubectl, claim("notes", size="1024Mi", cls="standard"), ns)
    passed(checks, "claim-waits")
    solve("first-consumer", "data-survives")
    passed(checks, "first-consumer")
    passed(checks, "data-survives")


def test_variant_the_deployment_deleted_and_made_again_keeps_the_data(kubectl: Kubectl, checks: Any, solve: Any, ns: str) -> None:
    solve("create-namespace", "claim-waits", "first-consumer")
    kubectl("delete", "deployment", "notes", "-n", ns, "--wait=true")
    solve("first-consumer")
    passed(checks, "data-survives")


PINNED = ("spec:\n  containers:", "spec:\n  nodeSelector: {kubernetes.io/hostname: labrunner-sandbox-worker}\n  containers:")


def test_variant_volume_name_pre_binding_and_a_selector_rescue(kubectl: Kubectl, checks: Any, solve: Any, ns: str) -> None:
    solve("create-namespace")
    apply(kubectl, volume(f"{ns}-archive", labels="{purpose: archive}").replace(
        "  hostPath:", "  nodeAffinity: {required: {nodeSelectorTerms: [{matchExpressions: [{key: kubernetes.io/hostname, operator: In, "
                       "values: [labrunner-sandbox-worker]}]}]}}\n  hostPath:"))
    apply(kubectl, claim("archive", cls="manual", extra=f"\n  volumeName: {ns}-archive"), ns)  # pre-bound by name
    kubectl("apply", "-n", ns, "-f", "-", stdin=asset("archiver.yaml", PINNED))  # a learner's pods may name the node too
    kubectl("wait", "--for=condition=Ready", "pod/archiver", "-n", ns, "--timeout=60s")
    passed(checks, "static-volume")
    solve("release-volume")
    # the rescue by a selector on the volume's label, and a merge patch that nulls the claimRef
    apply(kubectl, claim("archive-restored", size="2Gi", cls="manual", extra="\n  selector: {matchLabels: {purpose: archive}}"), ns)
    kubectl("patch", "pv", f"{ns}-archive", "-p", '{"spec":{"claimRef":null}}')
    kubectl("apply", "-n", ns, "-f", "-", stdin=asset("auditor.yaml", PINNED))
    kubectl("wait", "--for=condition=Ready", "pod/auditor", "-n", ns, "--timeout=60s")
    passed(checks, "rescue-volume")


def test_variant_expansion_with_kubectl_edit(kubectl: Kubectl, checks: Any, solve: Any, ns: str) -> None:
    solve("create-namespace", "storage-class")
    kubectl("apply", "-n", ns, "-f", str(ASSETS / "reports.yaml"))
    kubectl("wait", "--for=condition=Ready", "pod/reporter", "-n", ns, "--timeout=60s")
    failed(checks, "expand-claim", "the claim reports: spec.resources.requests.storage is 1Gi; this step wants 2Gi")
    kubectl("edit", "pvc", "reports", "-n", ns, extra_env={"KUBE_EDITOR": "sed -i s/storage:\\ 1Gi/storage:\\ 2Gi/"})
    passed(checks, "expand-claim")
    assert checks("expand-claim")[2][1][0] == "passed"  # and the advisory one: the sandbox's provisioner resizes


def test_variant_the_volume_grown_instead_of_the_claim_shrunk(kubectl: Kubectl, checks: Any, solve: Any, ns: str) -> None:
    solve("create-namespace")
    apply(kubectl, volume(f"{ns}-uploads", size="512Mi"))
    kubectl("patch", "pv", f"{ns}-uploads", "-p", '{"spec":{"capacity":{"storage":"1Gi"}}}')
    kubectl("apply", "-n", ns, "-f", "-", stdin=asset("uploads-claim-broken.yaml", ("- ReadWriteMany", "- ReadWriteOnce")))
    passed(checks, "repair-claim")


def test_variant_a_class_written_with_an_explicit_non_default_annotation(kubectl: Kubectl, checks: Any, solve: Any) -> None:
    solve("create-namespace")
    apply(kubectl, asset("resizable-class.yaml", ("  name: resizable\n", "  name: resizable\n  annotations:\n"
                                                  "    storageclass.kubernetes.io/is-default-class: \"false\"\n")))
    passed(checks, "storage-class")


def test_variant_a_statefulset_naming_the_default_class_and_the_whole_lab_cleaned_up(kubectl: Kubectl, checks: Any, solve: Any,
                                                                                     ns: str) -> None:
    solve("create-namespace")
    apply(kubectl, asset("ledger-statefulset.yaml", ("            storage: 1Gi\n", "            storage: 1Gi\n        storageClassName: standard\n")),
          ns)
    kubectl("rollout", "status", "statefulset/ledger", "-n", ns, "--timeout=60s")
    passed(checks, "statefulset")
    solve("clean-up")
    passed(checks, "clean-up")
