"""The storage topic's check kinds on recorded clusters, with the cases of the Kubernetes docs
(persistent-volumes: binding, reclaiming; storage-classes: the default class, volume binding
mode): each unbound claim explained the way the PV controller decides."""

from __future__ import annotations

from typing import Any

from labrunner.registry.types import CheckContext
from labrunner.topics.storage.claims import ClaimBound, ClaimWaits, claim_bound, claim_waits
from labrunner.topics.storage.volumes import DefaultClass, VolumeState, default_class, volume_state
from tests.fakes import FakeCluster

DEFAULT = {"storageclass.kubernetes.io/is-default-class": "true"}


def storage_class(name: str, mode: str = "Immediate", default: bool = False) -> dict[str, Any]:
    return {"kind": "StorageClass", "metadata": {"name": name, "annotations": DEFAULT if default else {}},
            "provisioner": "rancher.io/local-path", "volumeBindingMode": mode, "reclaimPolicy": "Delete"}


def claim(name: str = "data", phase: str = "Pending", size: str = "1Gi", modes: tuple[str, ...] = ("ReadWriteOnce",),
          **spec: Any) -> dict[str, Any]:
    return {"kind": "PersistentVolumeClaim", "metadata": {"name": name, "namespace": "lab", "uid": f"uid-{name}"},
            "spec": {"accessModes": list(modes), "resources": {"requests": {"storage": size}}, **spec},
            "status": {"phase": phase} | ({"capacity": {"storage": size}, "accessModes": list(modes)} if phase == "Bound" else {})}


def volume(name: str, size: str = "1Gi", modes: tuple[str, ...] = ("ReadWriteOnce",), phase: str = "Available",
           **spec: Any) -> dict[str, Any]:
    return {"kind": "PersistentVolume", "metadata": {"name": name, "labels": spec.pop("labels", {})},
            "spec": {"capacity": {"storage": size}, "accessModes": list(modes), "persistentVolumeReclaimPolicy": "Retain", **spec},
            "status": {"phase": phase}}


def context(**plurals: list[dict[str, Any]]) -> CheckContext:
    return CheckContext(cluster=FakeCluster({"storageclasses": [], "persistentvolumes": [], "pods": [], **plurals}))


def bound(fake: CheckContext, **args: Any) -> tuple[str, str, list[str]]:
    return claim_bound(ClaimBound(kind="claim-bound", says="the claim is bound", namespace="lab", name="data", **args), fake)


def test_a_claim_with_no_class_and_no_default_and_static_volumes_that_miss() -> None:
    fake = context(persistentvolumeclaims=[claim(size="2Gi", storageClassName="")],
                   persistentvolumes=[volume("small", "1Gi", storageClassName=""), volume("rox", "5Gi", ("ReadOnlyMany",), storageClassName=""),
                                      volume("gold", "5Gi", storageClassName="gold")])
    status, sentence, details = bound(fake)
    assert (status, sentence) == ("failed", "PersistentVolumeClaim data is Pending")
    assert details[0] == 'storageClassName "" asks for a volume without a class: only a PersistentVolume without one can take it'
    assert "PersistentVolume small holds 1Gi, less than the claim's request of 2Gi" in details
    assert "PersistentVolume rox offers ReadOnlyMany, not ReadWriteOnce" in details
    assert 'PersistentVolume gold has storageClassName gold, the claim\'s class is "" (none)' in details


def test_a_class_that_does_not_exist_and_one_that_waits_for_a_consumer() -> None:
    missing = context(persistentvolumeclaims=[claim(storageClassName="fast")], storageclasses=[storage_class("standard", default=True)])
    assert bound(missing)[2][0] == ("storageClassName fast: no StorageClass fast exists (classes: standard), so only a "
                                    "PersistentVolume of class fast can take it")
    waiting = context(persistentvolumeclaims=[claim()], storageclasses=[storage_class("standard", "WaitForFirstConsumer", True)])
    details = bound(waiting)[2]
    assert details[0] == "the claim names no storageClassName: the default class standard applies"
    assert "binds when the first pod using the claim is scheduled (WaitForFirstConsumer): create that pod" in details[1]
    assert claim_waits(ClaimWaits(kind="claim-waits", says="x", namespace="lab", name="data"), waiting)[0] == "passed"


def test_a_claim_fixed_that_was_rightly_waiting() -> None:
    pod = {"kind": "Pod", "metadata": {"name": "writer", "namespace": "lab"},
           "spec": {"volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]}}
    fake = context(persistentvolumeclaims=[claim(phase="Bound", volumeName="pvc-1")], pods=[pod],
                   storageclasses=[storage_class("standard", "WaitForFirstConsumer", True)])
    status, sentence, details = claim_waits(ClaimWaits(kind="claim-waits", says="x", namespace="lab", name="data"), fake)
    assert sentence == "PersistentVolumeClaim data is Bound"
    assert details[0] == "pod writer uses it, so it bound: this step waits before any pod does"
    immediate = context(persistentvolumeclaims=[claim(storageClassName="now")], storageclasses=[storage_class("now")])
    assert claim_waits(ClaimWaits(kind="claim-waits", says="x", namespace="lab", name="data"), immediate)[1] == \
        "PersistentVolumeClaim data is Pending, but not waiting for a consumer"


def test_bound_but_smaller_than_asked_and_a_missing_claim_found_elsewhere() -> None:
    fake = context(persistentvolumeclaims=[claim(phase="Bound", size="1Gi", volumeName="pv-1", storageClassName="standard")])
    assert bound(fake, capacity="2Gi")[1:] == (  # the mistake is the sentence
        "PersistentVolumeClaim data: its volume holds 1Gi; this step wants at least 2Gi", [])
    assert bound(fake, capacity="2Gi", storage_class="fast", volume="pv-2")[1:] == (  # each mistake a sentence, the first leads
        "PersistentVolumeClaim data is bound to PersistentVolume pv-1; this step wants pv-2",
        ["PersistentVolumeClaim data: spec.storageClassName is standard; this step wants fast",
         "PersistentVolumeClaim data: its volume holds 1Gi; this step wants at least 2Gi"])
    assert bound(fake, capacity="1024Mi", storage_class="standard")[0] == "passed"
    other = claim()
    other["metadata"]["namespace"] = "default"
    elsewhere = context(persistentvolumeclaims=[other])
    assert bound(elsewhere)[1:] == (
        "PersistentVolumeClaim data is not in lab: there is a PersistentVolumeClaim data in default (applied without -n lab?)", [])


def test_a_released_volume_holds_the_deleted_claim_until_its_claim_ref_goes() -> None:
    released = volume("keep", phase="Released", claimRef={"namespace": "lab", "name": "data", "uid": "old-uid"})
    check = VolumeState(kind="volume-state", says="x", name="keep", phase="Available", reclaim_policy="Retain")
    details = volume_state(check, context(persistentvolumes=[released]))[2]
    assert details[0].startswith("PersistentVolume keep is Released; this step wants Available: its spec.claimRef still names the "
                                 "deleted claim lab/data; remove it")
    fresh = claim()
    assert any("still holds the uid of a deleted claim" in line
               for line in bound(context(persistentvolumeclaims=[fresh], persistentvolumes=[released]))[2])
    deleting = VolumeState(kind="volume-state", says="x", name="keep", reclaim_policy="Delete")
    assert "Delete removes the volume and its data with the claim" in volume_state(deleting, context(persistentvolumes=[released]))[2][0]


def test_two_default_classes_and_a_misspelt_annotation() -> None:
    two = context(storageclasses=[storage_class("standard", default=True), storage_class("fast", default=True)])
    status, sentence, details = default_class(DefaultClass(kind="default-class", says="x", name="fast"), two)
    assert sentence == "2 StorageClasses are default: standard, fast" and "kubectl annotate storageclass standard" in details[0]
    typo = storage_class("fast")
    typo["metadata"]["annotations"] = {"storageclass.kubernetes.io/is-default": "true"}
    assert default_class(DefaultClass(kind="default-class", says="x", name="fast"), context(storageclasses=[typo]))[1:] == (
        "no StorageClass is the cluster's default", ["StorageClass fast has the annotation storageclass.kubernetes.io/is-default; "
                                                     "the default is marked by storageclass.kubernetes.io/is-default-class"])
    odd = storage_class("fast")
    odd["metadata"]["annotations"] = {"storageclass.kubernetes.io/is-default-class": "yes"}
    assert "only \"true\" marks it" in default_class(DefaultClass(kind="default-class", says="x", name="fast"),
                                                     context(storageclasses=[odd]))[2][0]


def test_a_misspelt_class_is_given_the_near_one() -> None:
    fake = context(persistentvolumeclaims=[claim(storageClassName="standrad")], storageclasses=[storage_class("standard", default=True)])
    assert bound(fake)[2][0].endswith("so only a PersistentVolume of class standrad can take it; did you mean standard?")
