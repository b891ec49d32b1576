"""What kube-apiserver does with StorageClasses, PersistentVolumes and PersistentVolumeClaims.

- Defaults (pkg/apis/core/v1 and storage/v1 defaults.go): a class's ``reclaimPolicy`` Delete and
  ``volumeBindingMode`` Immediate; a volume's ``persistentVolumeReclaimPolicy`` Retain, its
  ``volumeMode`` Filesystem, a hostPath's ``type`` ""; a claim's ``volumeMode`` Filesystem. A new
  volume is Pending and a new claim Pending (the registries' PrepareForCreate empties status);
  an update keeps the stored status (PrepareForUpdate).
- Admission: DefaultStorageClass gives a new claim without ``storageClassName`` the default
  class (the newest, if more than one is marked, as 1.32's ``GetDefaultClass`` picks);
  StorageObjectInUseProtection adds ``kubernetes.io/pvc-protection`` and
  ``kubernetes.io/pv-protection``; PersistentVolumeClaimResize refuses to grow a claim whose
  class does not allow expansion (403).
- Validation (pkg/apis/core/validation, pkg/apis/storage/validation): every invalid field in
  one 422, in the API server's words and order: access modes, capacity or the storage
  request, class names, volume modes, a volume's source, reclaim policies, a class's immutable
  fields, a claim's immutable spec.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from labrunner.sandbox.names import dns1123_subdomain
from labrunner.sandbox.quantity import parse as parse_quantity
from labrunner.sandbox.resource_hooks import FieldError, Refused, Writer, invalid_object
from labrunner.sandbox.store import Store, now
from labrunner.sandbox.storage.objects import BETA_CLASS_ANNOTATION, claim_class, default_class, storage_request

STORAGE_GROUP = "storage.k8s.io"
PVC_PROTECTION = "kubernetes.io/pvc-protection"
PV_PROTECTION = "kubernetes.io/pv-protection"
ACCESS_MODES = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")
"""supportedAccessModes, sorted as ``sets.List`` lists them in messages."""
VOLUME_MODES = ("Block", "Filesystem")
RECLAIM_POLICIES = ("Delete", "Recycle", "Retain")
CLASS_RECLAIM_POLICIES = ("Delete", "Retain")
BINDING_MODES = ("Immediate", "WaitForFirstConsumer")
VOLUME_SOURCES = ("gcePersistentDisk", "awsElasticBlockStore", "hostPath", "glusterfs", "nfs", "rbd", "quobyte", "cinder",
                  "cephfs", "fc", "flocker", "flexVolume", "azureFile", "vsphereVolume", "azureDisk", "photonPersistentDisk",
                  "portworxVolume", "scaleIO", "local", "storageos", "csi", "iscsi")


# -- defaults and mutating admission ---------------------------------------------------------------


def class_defaults(obj: dict[str, Any], store: Store | None, previous: dict[str, Any] | None) -> None:
    """SetDefaults_StorageClass."""
    obj.setdefault("reclaimPolicy", "Delete")
    obj.setdefault("volumeBindingMode", "Immediate")


def volume_defaults(obj: dict[str, Any], store: Store | None, previous: dict[str, Any] | None) -> None:
    """SetDefaults_PersistentVolume and the registry's PrepareForCreate/PrepareForUpdate; the
    StorageObjectInUseProtection plugin's finalizer on a new volume."""
    spec = obj.setdefault("spec", {})
    spec.setdefault("persistentVolumeReclaimPolicy", "Retain")
    spec.setdefault("volumeMode", "Filesystem")
    if isinstance(spec.get("hostPath"), dict):
        spec["hostPath"].setdefault("type", "")
    if previous is None:
        obj["status"] = {"phase": "Pending", "lastPhaseTransitionTime": now()}
        _protect(obj, PV_PROTECTION)
    else:
        obj["status"] = copy.deepcopy(previous.get("status") or {})


def claim_defaults(obj: dict[str, Any], store: Store | None, previous: dict[str, Any] | None) -> None:
    """SetDefaults_PersistentVolumeClaim(Spec), PrepareForCreate/PrepareForUpdate, and on a
    create the DefaultStorageClass and StorageObjectInUseProtection admission plugins."""
    spec = obj.setdefault("spec", {})
    spec.setdefault("volumeMode", "Filesystem")
    if previous is not None:
        obj["status"] = copy.deepcopy(previous.get("status") or {})
        return
    obj["status"] = {"phase": "Pending"}
    _protect(obj, PVC_PROTECTION)
    annotations = obj["metadata"].get("annotations") or {}
    if "storageClassName" not in spec and BETA_CLASS_ANNOTATION not in annotations and store is not None:
        from labrunner.sandbox.storage.kinds import STORAGE_CLASSES

        chosen = default_class(store.list(STORAGE_CLASSES))
        if chosen is not None:
            spec["storageClassName"] = chosen["metadata"]["name"]


def _protect(obj: dict[str, Any], finalizer: str) -> None:
    finalizers = obj["metadata"].setdefault("finalizers", [])
    if finalizer not in finalizers:
        finalizers.append(finalizer)


# -- validation ------------------------------------------------------------------------------------


def _required(path: str, detail: str = "") -> FieldError:
    return FieldError("FieldValueRequired", path, f"Required value: {detail}" if detail else "Required value")


def _unsupported(path: str, value: Any, supported: tuple[str, ...]) -> FieldError:
    shown = json.dumps(value) if isinstance(value, str) else _go_value(value)
    return FieldError("FieldValueNotSupported", path, f"Unsupported value: {shown}: supported values: "
                      + ", ".join(f'"{s}"' for s in supported))


def _invalid(path: str, value: Any, detail: str) -> FieldError:
    shown = json.dumps(value) if isinstance(value, str) else str(value)
    return FieldError("FieldValueInvalid", path, f"Invalid value: {shown}: {detail}")


def _forbidden(path: str, detail: str) -> FieldError:
    return FieldError("FieldValueForbidden", path, f"Forbidden: {detail}")


def _go_value(value: Any) -> str:
    """A resource list as Go's ``%#v`` starts it (the sandbox abridges the quantities)."""
    if value is None:
        return "core.ResourceList(nil)"
    if isinstance(value, dict):
        return "core.ResourceList{" + ", ".join(f'"{k}":resource.Quantity{{...}}' for k in value) + "}"
    return str(value)


def _class_name_problems(path: str, name: str) -> list[FieldError]:
    problem = dns1123_subdomain(name)
    return [FieldError("FieldValueInvalid", path, problem)] if problem else []


def _access_mode_problems(path: str, modes: list[Any], required_detail: str) -> list[FieldError]:
    errors: list[FieldError] = []
    if not modes:
        errors.append(_required(path, required_detail))
    once_pod = other = False
    for mode in modes:
        if mode not in ACCESS_MODES:
            errors.append(_unsupported(path, mode, ACCESS_MODES))
        if mode == "ReadWriteOncePod":
            once_pod = True
        else:
            other = True
    if once_pod and other:
        errors.append(_forbidden(path, "may not use ReadWriteOncePod with other access modes"))
    return errors


def _quantity_problems(path: str, value: Any) -> list[FieldError]:
    try:
        amount = parse_quantity(value)
    except ValueError as error:
        return [_invalid(path, str(value), str(error))]
    if amount.value <= 0:
        return [_invalid(path, str(amount), "must be greater than zero")]
    return []


def class_problems(obj: dict[str, Any], previous: dict[str, Any] | None) -> list[FieldError]:
    """ValidateStorageClass, or ValidateStorageClassUpdate on an update."""
    errors: list[FieldError] = []
    if previous is not None:
        if (obj.get("parameters") or {}) != (previous.get("parameters") or {}):
            errors.append(_forbidden("parameters", "updates to parameters are forbidden."))
        if obj.get("provisioner") != previous.get("provisioner"):
            errors.append(_forbidden("provisioner", "updates to provisioner are forbidden."))
        if obj.get("reclaimPolicy") != previous.get("reclaimPolicy"):
            errors.append(_forbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden."))
        if obj.get("volumeBindingMode") != previous.get("volumeBindingMode"):
            errors.append(_invalid("volumeBindingMode", obj.get("volumeBindingMode"), "field is immutable"))
        return errors
    provisioner = str(obj.get("provisioner") or "")
    if not provisioner:
        errors.append(_required("provisioner"))
    policy = obj.get("reclaimPolicy")
    if policy and policy not in CLASS_RECLAIM_POLICIES:
        errors.append(_unsupported("reclaimPolicy", policy, CLASS_RECLAIM_POLICIES))
    mode = obj.get("volumeBindingMode")
    if mode not in BINDING_MODES:
        errors.append(_unsupported("volumeBindingMode", mode, BINDING_MODES))
    return errors


def volume_problems(obj: dict[str, Any]) -> list[FieldError]:
    """ValidatePersistentVolume's spec checks (a PersistentVolume's spec is mutable)."""
    spec = obj.get("spec") or {}
    errors = _access_mode_problems("spec.accessModes", list(spec.get("accessModes") or []), "")
    capacity = spec.get("capacity")
    if not capacity:
        errors.append(_required("spec.capacity"))
    if not isinstance(capacity, dict) or "storage" not in capacity or len(capacity) > 1:
        errors.append(_unsupported("spec.capacity", capacity or None, ("storage",)))
    for resource, value in (capacity or {}).items() if isinstance(capacity, dict) else ():
        errors.extend(_quantity_problems(f"spec.capacity[{resource}]", value))
    if name := spec.get("storageClassName"):
        errors.extend(_class_name_problems("spec.storageClassName", str(name)))
    if (mode := spec.get("volumeMode")) is not None and mode not in VOLUME_MODES:
        errors.append(_unsupported("spec.volumeMode", mode, VOLUME_MODES))
    sources = [name for name in VOLUME_SOURCES if spec.get(name) is not None]
    if not sources:
        errors.append(_required("spec", "must specify a volume type"))
    elif len(sources) > 1:
        errors.append(_forbidden(f"spec.{sources[1]}", "may not specify more than 1 volume type"))
    if isinstance(spec.get("hostPath"), dict) and not spec["hostPath"].get("path"):
        errors.append(_required("spec.hostPath.path"))
    if isinstance(spec.get("local"), dict):
        if not spec["local"].get("path"):
            errors.append(_required("spec.local.path"))
        if not spec.get("nodeAffinity"):
            errors.append(_required("spec.nodeAffinity", "Local volume requires node affinity"))
    policy = spec.get("persistentVolumeReclaimPolicy")
    if policy and policy not in RECLAIM_POLICIES:
        errors.append(_unsupported("spec.persistentVolumeReclaimPolicy", policy, RECLAIM_POLICIES))
    return errors


def claim_spec_problems(spec: dict[str, Any], path: str = "spec") -> list[FieldError]:
    """ValidatePersistentVolumeClaimSpec (a StatefulSet's claim templates are checked with it too)."""
    errors = _access_mode_problems(f"{path}.accessModes", list(spec.get("accessModes") or []), "at least 1 access mode is required")
    requests = (spec.get("resources") or {}).get("requests") or {}
    if "storage" not in requests:
        errors.append(_required(f"{path}.resources[storage]"))
    else:
        errors.extend(_quantity_problems(f"{path}.resources[storage]", requests["storage"]))
    if name := spec.get("storageClassName"):
        errors.extend(_class_name_problems(f"{path}.storageClassName", str(name)))
    if (mode := spec.get("volumeMode")) is not None and mode not in VOLUME_MODES:
        errors.append(_unsupported(f"{path}.volumeMode", mode, VOLUME_MODES))
    return errors


_SPEC_FIELDS = (("accessModes", "AccessModes"), ("selector", "Selector"), ("resources", "Resources"), ("volumeName", "VolumeName"),
                ("storageClassName", "StorageClassName"), ("volumeMode", "VolumeMode"), ("dataSource", "DataSource"),
                ("dataSourceRef", "DataSourceRef"), ("volumeAttributesClassName", "VolumeAttributesClassName"))


def _spec_diff(old: dict[str, Any], new: dict[str, Any]) -> str:
    """cmp.Diff of two claim specs, abridged to the fields that differ."""
    lines = ["  core.PersistentVolumeClaimSpec{"]
    same = 0
    for key, go_name in _SPEC_FIELDS:
        if old.get(key) == new.get(key):
            same += 1
            continue
        if same:
            lines.append(f"  \t... // {same} identical field{'s' if same > 1 else ''}")
            same = 0
        for sign, value in (("-", old.get(key)), ("+", new.get(key))):
            if value is not None:
                shown = f'&"{value}"' if key in ("storageClassName", "volumeMode", "volumeAttributesClassName") else json.dumps(value)
                lines.append(f"{sign} \t{go_name}: {shown},")
    if same:
        lines.append(f"  \t... // {same} identical field{'s' if same > 1 else ''}")
    lines.append("  }")
    return "\n".join(lines)


def claim_update_problems(obj: dict[str, Any], previous: dict[str, Any]) -> list[FieldError]:
    """ValidatePersistentVolumeClaimUpdate: the spec is immutable but for the volume name (set
    once), the storage request of a bound claim, and a class given to a claim that had none."""
    errors = claim_spec_problems(obj.get("spec") or {})
    new, old = copy.deepcopy(obj.get("spec") or {}), copy.deepcopy(previous.get("spec") or {})
    if not old.get("volumeName"):
        old["volumeName"] = new.get("volumeName")
    if old.get("storageClassName") is None and BETA_CLASS_ANNOTATION not in (previous["metadata"].get("annotations") or {}):
        old["storageClassName"] = new.get("storageClassName")  # the retroactive default class (validateStorageClassUpgradeFromNil)
    old_request = storage_request(previous)
    if (obj.get("status") or {}).get("phase") == "Bound" and new.get("resources", {}).get("requests"):
        new["resources"]["requests"]["storage"] = old_request
    if {k: v for k, v in new.items() if v is not None} != {k: v for k, v in old.items() if v is not None}:
        errors.append(_forbidden("spec", "spec is immutable after creation except resources.requests and volumeAttributesClassName "
                                         "for bound claims\n" + _spec_diff(old, new)))
    try:
        shrunk = parse_quantity(storage_request(obj)).value < parse_quantity(old_request).value
    except ValueError:
        shrunk = False
    if shrunk:
        errors.append(_forbidden("spec.resources.requests.storage", "field can not be less than previous value"))
    return errors


# -- the admission a write passes --------------------------------------------------------------------


def admit_class(obj: dict[str, Any], previous: dict[str, Any] | None, writer: Writer) -> None:
    """Raises: Refused: the 422 naming every invalid field."""
    if errors := class_problems(obj, previous):
        raise invalid_object("StorageClass", STORAGE_GROUP, str(obj["metadata"].get("name", "")), errors)


def admit_volume(obj: dict[str, Any], previous: dict[str, Any] | None, writer: Writer) -> None:
    """Raises: Refused: the 422 naming every invalid field."""
    if errors := volume_problems(obj):
        raise invalid_object("PersistentVolume", "", str(obj["metadata"].get("name", "")), errors)


def admit_claim(obj: dict[str, Any], previous: dict[str, Any] | None, writer: Writer) -> None:
    """Validation, then the PersistentVolumeClaimResize plugin on an update that grows the claim.

    Raises:
        Refused: the 422 naming every invalid field, or the plugin's 403.
    """
    name = str(obj["metadata"].get("name", ""))
    errors = claim_spec_problems(obj.get("spec") or {}) if previous is None else claim_update_problems(obj, previous)
    if errors:
        raise invalid_object("PersistentVolumeClaim", "", name, errors)
    if previous is None:
        return
    try:
        grows = parse_quantity(storage_request(obj)).value > parse_quantity(storage_request(previous)).value
    except ValueError:
        grows = False
    if not grows:
        return
    if (previous.get("status") or {}).get("phase") != "Bound":
        raise _forbidden_claim(name, "Only bound persistent volume claims can be expanded")
    if not _allows_resize(obj, previous, writer.store):
        raise _forbidden_claim(name, "only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc "
                                     "must support resize")


def _forbidden_claim(name: str, why: str) -> Refused:
    return Refused(403, "Forbidden", f'persistentvolumeclaims "{name}" is forbidden: {why}',
                   {"name": name, "kind": "persistentvolumeclaims"})


def _allows_resize(obj: dict[str, Any], previous: dict[str, Any], store: Store) -> bool:
    from labrunner.sandbox.storage.kinds import STORAGE_CLASSES
    from labrunner.sandbox.store import NotFound

    name, old_name = claim_class(obj), claim_class(previous)
    if not name or name != old_name:
        return False
    try:
        found = store.get(STORAGE_CLASSES, "", name)
    except NotFound:
        return False
    return bool(found.get("allowVolumeExpansion"))
