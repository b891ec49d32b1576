"""rancher's local-path provisioner, as kind runs it (``storage/localpath.py``), through
sig-storage-lib-external-provisioner's controller.

It works only while its Deployment's pod runs and is ready (``local-path-storage``): scaled to
zero or deleted, claims wait with nothing but the PV controller's ``ExternalProvisioning`` to
read, as on a real cluster.

- **Provisioning** a claim the PV controller handed to ``rancher.io/local-path`` (its
  ``volume.kubernetes.io/storage-provisioner`` annotation) whose class names that provisioner:
  a WaitForFirstConsumer claim once the scheduler has picked its node
  (``volume.kubernetes.io/selected-node``); an Immediate one fails (``configuration error, no
  node was specified``). A selector, an access mode other than ReadWriteOnce or
  ReadWriteOncePod, and volumeMode Block are refused in the provisioner's words. Otherwise the
  folder ``/var/local-path-provisioner/pvc-<uid>_<namespace>_<claim>`` is made on that node and
  the PersistentVolume ``pvc-<claim uid>`` created, pre-bound to the claim: a hostPath of that
  folder (DirectoryOrCreate), node affinity to the node, the claim's access modes and request
  as capacity, the class's reclaim policy, ``pv.kubernetes.io/provisioned-by``. Events:
  ``Provisioning``, then ``ProvisioningSucceeded`` or ``ProvisioningFailed``, from
  ``rancher.io/local-path_<provisioner pod>_<id>``.
- **Deleting** a Released volume it provisioned whose policy is Delete: the folder and then
  the PersistentVolume go. Retain leaves both.
- **Resizing** (the provisioner's resizer, as newer releases ship it, with the CSI
  external-resizer's events): a bound claim asking for more than its volume holds grows at
  once, the volume's capacity and then the claim's (``Resizing``, ``VolumeResizeSuccessful``);
  a folder has no size, so nothing is written to the node. The helper pods a real provisioner
  runs for each folder (``helper-pod-create-pvc-...``) are not simulated.
"""

from __future__ import annotations

import shutil
import uuid
from typing import Any

from labrunner.sandbox.controllers.persistentvolume import PROVISIONED_BY, SELECTED_NODE, STORAGE_PROVISIONER, say_once
from labrunner.sandbox.controllers.shared import DEPLOYMENTS, NODES, PODS, Cluster, is_ready, terminating
from labrunner.sandbox.storage.objects import claim_class, storage_request
from labrunner.sandbox.storage.kinds import CLAIMS, STORAGE_CLASSES, VOLUMES
from labrunner.sandbox.storage.localpath import BASE_PATH, DEPLOYMENT, NAMESPACE, PROVISIONER
from labrunner.sandbox.store import AlreadyExists, NotFound
from labrunner.sandbox.volumes import node_folder


def reconcile(cluster: Cluster) -> None:
    identity = _identity(cluster)
    if identity is None:
        return  # the provisioner is not running
    classes = {c["metadata"]["name"]: c for c in cluster.store.list(STORAGE_CLASSES)}
    cluster.each(CLAIMS, PROVISIONER, lambda claim: _provision(cluster, claim, classes, identity))
    cluster.each(VOLUMES, PROVISIONER, lambda volume: _delete(cluster, volume))
    cluster.each(CLAIMS, PROVISIONER, lambda claim: _resize(cluster, claim, identity))


def _identity(cluster: Cluster) -> str | None:
    """The provisioner's identity (``<provisioner>_<its pod>_<id>``), if a pod of its Deployment is ready."""
    try:
        deployment = cluster.store.get(DEPLOYMENTS, NAMESPACE, DEPLOYMENT)
    except NotFound:
        return None
    labels = ((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    for pod in cluster.store.list(PODS, NAMESPACE):
        pod_labels = pod["metadata"].get("labels") or {}
        if all(pod_labels.get(k) == v for k, v in labels.items()) and is_ready(pod) and not terminating(pod):
            started = uuid.uuid5(uuid.NAMESPACE_URL, str(pod["metadata"].get("uid")))
            return f"{PROVISIONER}_{pod['metadata']['name']}_{started}"
    return None


def _volume_name(claim: dict[str, Any]) -> str:
    return f"pvc-{claim['metadata']['uid']}"


def _provision(cluster: Cluster, claim: dict[str, Any], classes: dict[str, dict[str, Any]], identity: str) -> None:
    metadata = claim["metadata"]
    annotations = metadata.get("annotations") or {}
    spec = claim.get("spec") or {}
    if annotations.get(STORAGE_PROVISIONER) != PROVISIONER or spec.get("volumeName") or terminating(claim):
        return
    found = classes.get(claim_class(claim))
    if found is None or found.get("provisioner") != PROVISIONER:
        return
    name = _volume_name(claim)
    try:
        cluster.store.get(VOLUMES, "", name)
        return  # provisioned already: the PV controller binds it
    except NotFound:
        pass
    node_name = annotations.get(SELECTED_NODE)
    waits_for_consumer = found.get("volumeBindingMode") == "WaitForFirstConsumer"
    if waits_for_consumer and not node_name:
        return  # the scheduler has not picked a node yet

    def failed(why: str) -> None:
        say_once(cluster, claim, "ProvisioningFailed", why, "Warning", component=identity)

    say_once(cluster, claim, "Provisioning", f'External provisioner is provisioning volume for claim "{metadata["namespace"]}/{metadata["name"]}"',
             component=identity)
    if spec.get("volumeMode") == "Block":
        failed(f"{PROVISIONER} does not support block volume provisioning")
        return
    prefix = f'failed to provision volume with StorageClass "{found["metadata"]["name"]}": '
    if spec.get("selector") is not None:
        failed(prefix + "claim.Spec.Selector is not supported")
        return
    if any(mode not in ("ReadWriteOnce", "ReadWriteOncePod") for mode in spec.get("accessModes") or []):
        failed(prefix + "NodePath only supports ReadWriteOnce and ReadWriteOncePod (1.22+) access modes")
        return
    if not node_name:
        failed(prefix + "configuration error, no node was specified")
        return
    try:
        node = cluster.store.get(NODES, "", node_name)
    except NotFound:
        failed(prefix + f'nodes "{node_name}" not found')
        return
    folder_name = f"{name}_{metadata['namespace']}_{metadata['name']}"
    path = f"{BASE_PATH}/{folder_name}"
    (node_folder(cluster.store.path.parent / "data", node_name) / path.lstrip("/")).mkdir(parents=True, exist_ok=True)
    hostname = (node["metadata"].get("labels") or {}).get("kubernetes.io/hostname", node_name)
    volume = {
        "metadata": {"name": name, "annotations": {PROVISIONED_BY: PROVISIONER}, "finalizers": ["kubernetes.io/pv-protection"]},
        "spec": {
            "accessModes": list(spec.get("accessModes") or []),
            "capacity": {"storage": storage_request(claim)},
            "claimRef": {"kind": "PersistentVolumeClaim", "namespace": metadata["namespace"], "name": metadata["name"],
                         "uid": metadata["uid"], "apiVersion": "v1", "resourceVersion": metadata.get("resourceVersion")},
            "hostPath": {"path": path, "type": "DirectoryOrCreate"},
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "kubernetes.io/hostname", "operator": "In", "values": [hostname]}]}]}},
            "persistentVolumeReclaimPolicy": found.get("reclaimPolicy") or "Delete",
            "storageClassName": found["metadata"]["name"],
            "volumeMode": "Filesystem",
        },
        "status": {"phase": "Pending"},
    }
    try:
        cluster.store.create(VOLUMES, volume)
    except AlreadyExists:
        return
    say_once(cluster, claim, "ProvisioningSucceeded", f"Successfully provisioned volume {name}", component=identity)


def _delete(cluster: Cluster, volume: dict[str, Any]) -> None:
    """The library's deleteVolumeOperation for a Released volume of this provisioner."""
    spec = volume.get("spec") or {}
    if (volume["metadata"].get("annotations") or {}).get(PROVISIONED_BY) != PROVISIONER or terminating(volume):
        return
    if (volume.get("status") or {}).get("phase") != "Released" or spec.get("persistentVolumeReclaimPolicy") != "Delete":
        return
    path = str((spec.get("hostPath") or {}).get("path") or "")
    terms = ((spec.get("nodeAffinity") or {}).get("required") or {}).get("nodeSelectorTerms") or []
    nodes = [v for term in terms for e in term.get("matchExpressions") or [] if e.get("key") == "kubernetes.io/hostname"
             for v in e.get("values") or []]
    if path.startswith(BASE_PATH + "/") and nodes:
        folder = node_folder(cluster.store.path.parent / "data", nodes[0]) / path.lstrip("/")
        shutil.rmtree(folder, ignore_errors=True)
    cluster.store.delete_raw("", "persistentvolumes", "", volume["metadata"]["name"])


def _resize(cluster: Cluster, claim: dict[str, Any], identity: str) -> None:
    """The resizer: a bound claim of a local-path volume asking for more grows to what it asks."""
    from labrunner.sandbox.quantity import parse

    status = claim.get("status") or {}
    volume_name = (claim.get("spec") or {}).get("volumeName")
    if status.get("phase") != "Bound" or not volume_name:
        return
    wanted = storage_request(claim)
    try:
        if parse(wanted).value <= parse((status.get("capacity") or {}).get("storage")).value:
            return
    except ValueError:
        return
    try:
        volume = cluster.store.get(VOLUMES, "", str(volume_name))
    except NotFound:
        return
    if (volume["metadata"].get("annotations") or {}).get(PROVISIONED_BY) != PROVISIONER:
        return
    annotations = claim["metadata"].setdefault("annotations", {})
    annotations["volume.kubernetes.io/storage-resizer"] = PROVISIONER
    cluster.event(claim, "Resizing", f"External resizer is resizing volume {volume_name}", component=identity)
    volume["spec"]["capacity"] = {"storage": wanted}
    cluster.save(VOLUMES, volume)
    claim["status"] = {**status, "capacity": {"storage": wanted}}
    claim["status"].pop("conditions", None)
    cluster.save(CLAIMS, claim)
    cluster.event(claim, "VolumeResizeSuccessful", "Resize volume succeeded", component=identity)

