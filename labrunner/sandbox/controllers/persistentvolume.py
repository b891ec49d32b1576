"""kube-controller-manager's storage controllers, as pkg/controller/volume runs them.

- **persistentvolume-binder** (pv_controller.go): a claim without ``spec.volumeName`` binds to
  the best matching volume (``storage/binding.py``); with none, a claim of a
  WaitForFirstConsumer class waits for its first consumer (``WaitForFirstConsumer``, or
  ``WaitForPodScheduled`` naming the pods that wait), a claim of another class is handed to its
  provisioner (``ExternalProvisioning``, or ``ProvisioningFailed`` when the class does not
  exist), and a claim of no class says ``no persistent volumes available for this claim and no
  storage class is set``. A claim naming its volume binds to it if the volume
  ``satisfies`` it (``VolumeMismatch`` otherwise), and waits while the volume is another
  claim's. A claim created with no class while no class was default gets the default class
  once there is one. Binding writes the volume's ``claimRef`` (and ``bound-by-controller``) and
  phase Bound, then the claim's ``volumeName``, ``bind-completed`` and status (phase, access
  modes, capacity). A bound claim whose volume goes is Lost (``ClaimLost``).
- **Volumes**: no claimRef (or one without a uid): Available; the claim gone (or another of
  the same name): Released, then the reclaim policy: Retain leaves it Released until its
  claimRef is cleared; Delete hands a provisioned volume to its provisioner and deletes a
  hostPath volume under /tmp (the controller's own /tmp: the node's folder keeps its files),
  and fails any other (``VolumeFailedDelete``, phase Failed, the message in status); Recycle
  empties a hostPath or nfs volume and makes it Available (``VolumeRecycled``).
- **pvc-protection** and **pv-protection**: a claim being deleted keeps
  ``kubernetes.io/pvc-protection`` while a scheduled pod that has not finished uses it; a volume
  keeps ``kubernetes.io/pv-protection`` while it is Bound.
- **persistentvolume-expander**: a bound claim asking for more than its capacity, whose volume
  no resizer the sandbox runs can grow, is ``waiting for an external controller to expand this
  PVC`` (``ExternalExpanding``); local-path volumes are grown by ``controllers/localpath.py``.

Events are said once per claim or volume and text (a real controller repeats them at every
resync, which ``kubectl describe`` counts as ``(x4 over 60s)``).
"""

from __future__ import annotations

import re
import weakref
from typing import Any

from labrunner.sandbox.controllers.shared import PODS, Cluster, terminating
from labrunner.sandbox.storage import binding
from labrunner.sandbox.storage.api import PV_PROTECTION, PVC_PROTECTION
from labrunner.sandbox.storage.objects import claim_class, default_class, storage_request
from labrunner.sandbox.storage.kinds import CLAIMS, STORAGE_CLASSES, VOLUMES
from labrunner.sandbox.store import NotFound, now

COMPONENT = "persistentvolume-controller"
EXPANDER = "volume_expand"
BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
SELECTED_NODE = "volume.kubernetes.io/selected-node"
STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner"
BETA_STORAGE_PROVISIONER = "volume.beta.kubernetes.io/storage-provisioner"
STORAGE_RESIZER = "volume.kubernetes.io/storage-resizer"
MIGRATED = {"kubernetes.io/aws-ebs": "ebs.csi.aws.com", "kubernetes.io/gce-pd": "pd.csi.storage.gke.io",
            "kubernetes.io/azure-disk": "disk.csi.azure.com", "kubernetes.io/azure-file": "file.csi.azure.com",
            "kubernetes.io/cinder": "cinder.csi.openstack.org", "kubernetes.io/vsphere-volume": "csi.vsphere.vmware.com"}
"""In-tree provisioners whose volumes CSI drivers provision since CSI migration (1.32: all of these)."""
RESIZED_BY_SANDBOX = ("rancher.io/local-path",)
"""Provisioners whose volumes a resizer the sandbox runs can grow."""
_TMP = re.compile("/tmp/.+")
_SAID: weakref.WeakKeyDictionary[Cluster, set[tuple[str, str, str]]] = weakref.WeakKeyDictionary()
"""Per control plane: the events each claim or volume has had."""


def reconcile(cluster: Cluster) -> None:
    cluster.each(CLAIMS, COMPONENT, lambda claim: _sync_claim(cluster, claim))
    cluster.each(VOLUMES, COMPONENT, lambda volume: _sync_volume(cluster, volume))
    cluster.each(CLAIMS, "pvc-protection-controller", lambda claim: _claim_protection(cluster, claim))
    cluster.each(VOLUMES, "pv-protection-controller", lambda volume: _volume_protection(cluster, volume))
    cluster.each(CLAIMS, "expand-controller", lambda claim: _expand(cluster, claim))


# -- helpers ------------------------------------------------------------------------------------


def say_once(cluster: Cluster, obj: dict[str, Any], reason: str, message: str, kind: str = "Normal", component: str = COMPONENT) -> None:
    """An event, unless this object already had it (see the module's note on repeats)."""
    said = _SAID.setdefault(cluster, set())
    key = (str(obj["metadata"].get("uid")), reason, message)
    if key in said:
        return
    said.add(key)
    cluster.event(_involved(obj), reason, message, kind, component=component)


def _involved(obj: dict[str, Any]) -> dict[str, Any]:
    kinds = {"persistentvolumeclaims": ("PersistentVolumeClaim", "v1"), "persistentvolumes": ("PersistentVolume", "v1")}
    if obj.get("kind"):
        return obj
    kind, version = kinds["persistentvolumes" if "namespace" not in obj["metadata"] else "persistentvolumeclaims"]
    return {**obj, "kind": kind, "apiVersion": version}


def _classes(cluster: Cluster) -> dict[str, dict[str, Any]]:
    return {c["metadata"]["name"]: c for c in cluster.store.list(STORAGE_CLASSES)}


def _annotations(obj: dict[str, Any]) -> dict[str, str]:
    return obj["metadata"].get("annotations") or {}


def delay_binding(claim: dict[str, Any], classes: dict[str, dict[str, Any]]) -> bool:
    """``IsDelayBindingMode``: the claim's class exists and is WaitForFirstConsumer."""
    found = classes.get(claim_class(claim))
    return found is not None and found.get("volumeBindingMode") == "WaitForFirstConsumer"


def pods_using(pods: list[dict[str, Any]], namespace: str, claim_name: str) -> list[dict[str, Any]]:
    """The pods of the namespace with a volume of the claim, not finished."""
    found = []
    for pod in pods:
        if pod["metadata"].get("namespace") != namespace or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        if any((v.get("persistentVolumeClaim") or {}).get("claimName") == claim_name for v in (pod.get("spec") or {}).get("volumes") or []):
            found.append(pod)
    return found


def _set_claim_status(cluster: Cluster, claim: dict[str, Any], phase: str, volume: dict[str, Any] | None) -> dict[str, Any]:
    """updateClaimStatus: the phase, and the volume's access modes and capacity (capacity only as it becomes Bound)."""
    status = dict(claim.get("status") or {})
    before = dict(status)
    if volume is None:
        status.pop("accessModes", None)
        status.pop("capacity", None)
    else:
        status["accessModes"] = list((volume.get("spec") or {}).get("accessModes") or [])
        if status.get("phase") != phase:
            status["capacity"] = dict((volume.get("spec") or {}).get("capacity") or {})
    status["phase"] = phase
    if status != before:
        claim["status"] = status
        cluster.save(CLAIMS, claim)
    return claim


def _set_volume_phase(cluster: Cluster, volume: dict[str, Any], phase: str, message: str = "") -> bool:
    """updateVolumePhase: True when it changed."""
    status = volume.setdefault("status", {})
    if status.get("phase") == phase:
        return False
    status["phase"] = phase
    status["lastPhaseTransitionTime"] = now()
    if message:
        status["message"] = message
    else:
        status.pop("message", None)
    cluster.save(VOLUMES, volume)
    return True


def _volume(cluster: Cluster, name: str) -> dict[str, Any] | None:
    try:
        return cluster.store.get(VOLUMES, "", name)
    except NotFound:
        return None


def _claim(cluster: Cluster, namespace: str, name: str) -> dict[str, Any] | None:
    try:
        return cluster.store.get(CLAIMS, namespace, name)
    except NotFound:
        return None


# -- claims -------------------------------------------------------------------------------------


def _sync_claim(cluster: Cluster, claim: dict[str, Any]) -> None:
    if BIND_COMPLETED in _annotations(claim):
        _sync_bound_claim(cluster, claim)
    else:
        _sync_unbound_claim(cluster, claim)


def _sync_unbound_claim(cluster: Cluster, claim: dict[str, Any]) -> None:
    spec = claim.get("spec") or {}
    volume_name = spec.get("volumeName")
    if not volume_name:
        classes = _classes(cluster)
        delayed = delay_binding(claim, classes)
        volume = binding.best_match(claim, cluster.store.list(VOLUMES), delay_binding=delayed)
        if volume is not None:
            bind(cluster, volume, claim)
            return
        if "storageClassName" not in spec and (chosen := default_class(list(classes.values()))) is not None:
            claim.setdefault("spec", {})["storageClassName"] = chosen["metadata"]["name"]  # assignDefaultStorageClass
            cluster.save(CLAIMS, claim)
            return
        if delayed and SELECTED_NODE not in _annotations(claim):
            _wait_for_first_consumer(cluster, claim)
        elif claim_class(claim):
            _provision(cluster, claim, classes)
        else:
            say_once(cluster, claim, "FailedBinding", "no persistent volumes available for this claim and no storage class is set")
        _set_claim_status(cluster, claim, "Pending", None)
        return
    volume = _volume(cluster, str(volume_name))
    if volume is None:
        _set_claim_status(cluster, claim, "Pending", None)
        return
    if (volume.get("spec") or {}).get("claimRef") is None:
        problem = binding.satisfies(volume, claim)
        if problem is not None:
            say_once(cluster, claim, "VolumeMismatch", f'Cannot bind to requested volume "{volume_name}": {problem}', "Warning")
            _set_claim_status(cluster, claim, "Pending", None)
        else:
            bind(cluster, volume, claim)
    elif binding.bound_to(volume, claim):
        bind(cluster, volume, claim)
    else:
        say_once(cluster, claim, "FailedBinding", f'volume "{volume_name}" already bound to a different claim.', "Warning")
        _set_claim_status(cluster, claim, "Pending", None)


def _wait_for_first_consumer(cluster: Cluster, claim: dict[str, Any]) -> None:
    """emitEventForUnboundDelayBindingClaim."""
    waiting = [p["metadata"]["name"] for p in pods_using(cluster.store.list(PODS), claim["metadata"]["namespace"], claim["metadata"]["name"])
               if not (p.get("spec") or {}).get("nodeName")]
    if not waiting:
        say_once(cluster, claim, "WaitForFirstConsumer", "waiting for first consumer to be created before binding")
    elif len(waiting) == 1:
        say_once(cluster, claim, "WaitForPodScheduled", f"waiting for pod {waiting[0]} to be scheduled")
    else:
        say_once(cluster, claim, "WaitForPodScheduled", f"waiting for pods {','.join(waiting)} to be scheduled")


def _provision(cluster: Cluster, claim: dict[str, Any], classes: dict[str, dict[str, Any]]) -> None:
    """provisionClaim: an external provisioner is asked through the claim's annotations; an
    in-tree one the sandbox does not have, or a class that does not exist, fails."""
    name = claim_class(claim)
    found = classes.get(name)
    if found is None:
        say_once(cluster, claim, "ProvisioningFailed", f'storageclass.storage.k8s.io "{name}" not found', "Warning")
        return
    provisioner = str(found.get("provisioner") or "")
    provisioner = MIGRATED.get(provisioner, provisioner)
    if provisioner.startswith("kubernetes.io/"):
        say_once(cluster, claim, "ProvisioningFailed", f"no volume plugin matched name: {provisioner}", "Warning")
        return
    annotations = claim["metadata"].setdefault("annotations", {})
    if annotations.get(STORAGE_PROVISIONER) != provisioner or annotations.get(BETA_STORAGE_PROVISIONER) != provisioner:
        annotations[STORAGE_PROVISIONER] = annotations[BETA_STORAGE_PROVISIONER] = provisioner  # setClaimProvisioner
        cluster.save(CLAIMS, claim)
    say_once(cluster, claim, "ExternalProvisioning",
             f"Waiting for a volume to be created either by the external provisioner '{provisioner}' or manually by the system "
             "administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.")


def _sync_bound_claim(cluster: Cluster, claim: dict[str, Any]) -> None:
    volume_name = (claim.get("spec") or {}).get("volumeName")
    if not volume_name:
        _lose(cluster, claim, "ClaimLost", "Bound claim has lost reference to PersistentVolume. Data on the volume is lost!")
        return
    volume = _volume(cluster, str(volume_name))
    if volume is None:
        _lose(cluster, claim, "ClaimLost", "Bound claim has lost its PersistentVolume. Data on the volume is lost!")
        return
    ref = (volume.get("spec") or {}).get("claimRef")
    if ref is None or ref.get("uid") == claim["metadata"].get("uid"):
        bind(cluster, volume, claim)
    else:
        _lose(cluster, claim, "ClaimMisbound", "Two claims are bound to the same volume, this one is bound incorrectly")


def _lose(cluster: Cluster, claim: dict[str, Any], reason: str, message: str) -> None:
    if (claim.get("status") or {}).get("phase") != "Lost":
        _set_claim_status(cluster, claim, "Lost", None)
        cluster.event(_involved(claim), reason, message, "Warning", component=COMPONENT)


def bind(cluster: Cluster, volume: dict[str, Any], claim: dict[str, Any]) -> None:
    """bind: the volume's claimRef and phase first, then the claim's volumeName, annotations and status."""
    metadata = claim["metadata"]
    ref = (volume.get("spec") or {}).get("claimRef")
    if not binding.bound_to(volume, claim) or not (ref or {}).get("uid"):
        if not binding.bound_to(volume, claim):
            volume["metadata"].setdefault("annotations", {})[BOUND_BY_CONTROLLER] = "yes"
        volume.setdefault("spec", {})["claimRef"] = {"kind": "PersistentVolumeClaim", "namespace": metadata["namespace"], "name": metadata["name"],
                                                     "uid": metadata.get("uid"), "apiVersion": "v1",
                                                     "resourceVersion": metadata.get("resourceVersion")}
        cluster.save(VOLUMES, volume)
        fresh = _volume(cluster, volume["metadata"]["name"])
        if fresh is None:
            return
        volume = fresh
    _set_volume_phase(cluster, volume, "Bound")
    annotations = metadata.setdefault("annotations", {})
    if (claim.get("spec") or {}).get("volumeName") != volume["metadata"]["name"] or BIND_COMPLETED not in annotations:
        if (claim.get("spec") or {}).get("volumeName") != volume["metadata"]["name"]:
            claim.setdefault("spec", {})["volumeName"] = volume["metadata"]["name"]
            annotations.setdefault(BOUND_BY_CONTROLLER, "yes")
        annotations[BIND_COMPLETED] = "yes"
        cluster.save(CLAIMS, claim)
        fresh_claim = _claim(cluster, metadata["namespace"], metadata["name"])
        if fresh_claim is None:
            return
        claim = fresh_claim
    _set_claim_status(cluster, claim, "Bound", volume)


# -- volumes ------------------------------------------------------------------------------------


def _sync_volume(cluster: Cluster, volume: dict[str, Any]) -> None:
    spec = volume.get("spec") or {}
    ref = spec.get("claimRef")
    if ref is None or not ref.get("uid"):
        _set_volume_phase(cluster, volume, "Available")
        return
    claim = _claim(cluster, str(ref.get("namespace", "")), str(ref.get("name", "")))
    if claim is not None and claim["metadata"].get("uid") != ref.get("uid"):
        claim = None  # the claim it was bound to is gone; another has its name
    if claim is None:
        if (volume.get("status") or {}).get("phase") not in ("Released", "Failed"):
            _set_volume_phase(cluster, volume, "Released")
        _reclaim(cluster, volume)
        return
    claim_volume = (claim.get("spec") or {}).get("volumeName")
    if not claim_volume:
        if binding.volume_mode(spec) != binding.volume_mode(claim.get("spec") or {}):
            say_once(cluster, volume, "VolumeMismatch",
                     f'Cannot bind PersistentVolume to requested PersistentVolumeClaim "{claim["metadata"]["name"]}" due to incompatible volumeMode.',
                     "Warning")
            say_once(cluster, claim, "VolumeMismatch",
                     f'Cannot bind PersistentVolume "{volume["metadata"]["name"]}" to requested PersistentVolumeClaim due to incompatible volumeMode.',
                     "Warning")
        return
    if claim_volume == volume["metadata"]["name"]:
        _set_volume_phase(cluster, volume, "Bound")
        return
    if PROVISIONED_BY in _annotations(volume) and spec.get("persistentVolumeReclaimPolicy") == "Delete":
        if (volume.get("status") or {}).get("phase") not in ("Released", "Failed"):
            _set_volume_phase(cluster, volume, "Released")
        _reclaim(cluster, volume)
        return
    _unbind(cluster, volume)


def _unbind(cluster: Cluster, volume: dict[str, Any]) -> None:
    """unbindVolume: a binding the controller made is undone; a user's pre-binding loses only its uid."""
    if BOUND_BY_CONTROLLER in _annotations(volume):
        volume["spec"].pop("claimRef", None)
        del volume["metadata"]["annotations"][BOUND_BY_CONTROLLER]
    else:
        volume["spec"]["claimRef"].pop("uid", None)
    cluster.save(VOLUMES, volume)
    fresh = _volume(cluster, volume["metadata"]["name"])
    if fresh is not None:
        _set_volume_phase(cluster, fresh, "Available")


def _reclaim(cluster: Cluster, volume: dict[str, Any]) -> None:
    """reclaimVolume, as the volume's policy says."""
    spec = volume.get("spec") or {}
    policy = spec.get("persistentVolumeReclaimPolicy")
    name = volume["metadata"]["name"]
    if policy == "Retain":
        return
    if policy == "Recycle":
        _recycle(cluster, volume)
        return
    if policy != "Delete":
        if _set_volume_phase(cluster, volume, "Failed", "Volume has unrecognized PersistentVolumeReclaimPolicy"):
            cluster.event(_involved(volume), "VolumeUnknownReclaimPolicy", "Volume has unrecognized PersistentVolumeReclaimPolicy", "Warning",
                          component=COMPONENT)
        return
    if terminating(volume):
        return
    provisioner = _annotations(volume).get(PROVISIONED_BY, "")
    if (provisioner and not provisioner.startswith("kubernetes.io/")) or spec.get("csi") is not None:
        return  # its external provisioner deletes it
    if isinstance(spec.get("hostPath"), dict):
        path = str(spec["hostPath"].get("path") or "")
        if _TMP.search(path):
            cluster.store.delete_raw("", "persistentvolumes", "", name)
            return
        failure = f"host_path deleter only supports /tmp/.+ but received provided {path}"
    else:
        failure = f'error getting deleter volume plugin for volume "{name}": no deletable volume plugin matched'
    if _set_volume_phase(cluster, volume, "Failed", failure):
        cluster.event(_involved(volume), "VolumeFailedDelete", failure, "Warning", component=COMPONENT)


def _recycle(cluster: Cluster, volume: dict[str, Any]) -> None:
    """recycleVolumeOperation: the hostPath and nfs recyclers scrub the volume (``rm -rf`` of its
    contents, by a recycler pod on a real cluster), then it is Available again."""
    spec = volume.get("spec") or {}
    name = volume["metadata"]["name"]
    if not isinstance(spec.get("hostPath"), dict) and not isinstance(spec.get("nfs"), dict):
        if _set_volume_phase(cluster, volume, "Failed", "No recycler plugin found for the volume!"):
            cluster.event(_involved(volume), "VolumeFailedRecycle", "No recycler plugin found for the volume!", "Warning", component=COMPONENT)
        return
    import shutil

    from labrunner.sandbox.volumes import volume_folders

    for folder in volume_folders(cluster.store.path.parent / "data", volume):
        if folder.is_dir():
            for child in folder.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()
    say_once(cluster, volume, "VolumeRecycled", "Volume recycled")
    volume["metadata"].get("annotations", {}).pop(BOUND_BY_CONTROLLER, None)
    volume["spec"].pop("claimRef", None)
    cluster.save(VOLUMES, volume)
    fresh = _volume(cluster, name)
    if fresh is not None:
        _set_volume_phase(cluster, fresh, "Available")


# -- protection ---------------------------------------------------------------------------------


def _remove_finalizer(cluster: Cluster, resource: Any, obj: dict[str, Any], finalizer: str) -> None:
    """Remove ``finalizer``; an object being deleted with none left goes, as the API server removes it."""
    remaining = [f for f in obj["metadata"].get("finalizers") or [] if f != finalizer]
    if remaining:
        obj["metadata"]["finalizers"] = remaining
        cluster.save(resource, obj)
        return
    obj["metadata"].pop("finalizers", None)
    cluster.store.delete_raw(resource.group, resource.plural, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])


def _claim_protection(cluster: Cluster, claim: dict[str, Any]) -> None:
    """pvc-protection: a claim being deleted waits while a scheduled, unfinished pod uses it."""
    if not terminating(claim) or PVC_PROTECTION not in (claim["metadata"].get("finalizers") or []):
        return
    users = [p for p in pods_using(cluster.store.list(PODS), claim["metadata"]["namespace"], claim["metadata"]["name"])
             if (p.get("spec") or {}).get("nodeName")]
    if not users:
        _remove_finalizer(cluster, CLAIMS, claim, PVC_PROTECTION)


def _volume_protection(cluster: Cluster, volume: dict[str, Any]) -> None:
    """pv-protection: a volume being deleted waits while it is Bound."""
    if not terminating(volume) or PV_PROTECTION not in (volume["metadata"].get("finalizers") or []):
        return
    if (volume.get("status") or {}).get("phase") != "Bound":
        _remove_finalizer(cluster, VOLUMES, volume, PV_PROTECTION)


# -- expansion ----------------------------------------------------------------------------------


def _expand(cluster: Cluster, claim: dict[str, Any]) -> None:
    """The expand controller's look at a bound claim asking for more than it has."""
    from labrunner.sandbox.quantity import parse

    status = claim.get("status") or {}
    if status.get("phase") != "Bound":
        return
    try:
        wanted, has = parse(storage_request(claim)).value, parse((status.get("capacity") or {}).get("storage")).value
    except ValueError:
        return
    if wanted <= has:
        return
    volume = _volume(cluster, str((claim.get("spec") or {}).get("volumeName") or ""))
    if volume is None:
        return
    provisioner = _annotations(volume).get(PROVISIONED_BY, "")
    if provisioner in RESIZED_BY_SANDBOX:
        return  # its resizer grows it (controllers/localpath.py)
    annotations = claim["metadata"].setdefault("annotations", {})
    resizer = provisioner or str(((volume.get("spec") or {}).get("csi") or {}).get("driver") or "")
    if resizer and annotations.get(STORAGE_RESIZER) != resizer:
        annotations[STORAGE_RESIZER] = resizer
        cluster.save(CLAIMS, claim)
    say_once(cluster, claim, "ExternalExpanding", "waiting for an external controller to expand this PVC", component=EXPANDER)



# -- the scheduler's volume binder (scheduler_binder.go), for the scheduler's cycle ----------------


def scheduler_storage(cluster: Cluster) -> Any:
    """What the VolumeBinding plugin reads: claims, volumes and classes as they are now."""
    from labrunner.sandbox.storage.volumebinding import Storage

    claims = {(c["metadata"]["namespace"], c["metadata"]["name"]): c for c in cluster.store.list(CLAIMS)}
    return Storage(claims, cluster.store.list(VOLUMES), _classes(cluster))


def bind_pod_volumes(cluster: Cluster, pod: dict[str, Any], node_name: str) -> bool:
    """AssumePodVolumes and BindPodVolumes on the node chosen: each waiting claim bound to the
    volume found for it there (the volume's claimRef) or handed to its provisioner with
    ``volume.kubernetes.io/selected-node``. True once every claim of the pod is bound: the
    scheduler binds the pod only then (PreBind waits), so until a volume is provisioned the pod
    stays Pending without a node."""
    from labrunner.sandbox.controllers.shared import NODES
    from labrunner.sandbox.storage import volumebinding

    storage = scheduler_storage(cluster)
    if not volumebinding.claim_names(pod) or volumebinding.all_bound(pod, storage):
        return True
    try:
        node = cluster.store.get(NODES, "", node_name)
    except NotFound:
        return False
    for step in volumebinding.bindings(pod, node, storage):
        claim = dict(step.claim)
        if step.volume is None:
            claim["metadata"].setdefault("annotations", {})[SELECTED_NODE] = node_name
            cluster.save(CLAIMS, claim)
            continue
        volume = _volume(cluster, step.volume)
        if volume is None:
            continue
        volume["metadata"].setdefault("annotations", {})[BOUND_BY_CONTROLLER] = "yes"
        volume["spec"]["claimRef"] = {"kind": "PersistentVolumeClaim", "namespace": claim["metadata"]["namespace"],
                                      "name": claim["metadata"]["name"], "uid": claim["metadata"].get("uid"), "apiVersion": "v1",
                                      "resourceVersion": claim["metadata"].get("resourceVersion")}
        cluster.save(VOLUMES, volume)
    cluster.pending = True  # the PV controller and the provisioner finish it; the pod is tried again
    return volumebinding.all_bound(pod, scheduler_storage(cluster))
