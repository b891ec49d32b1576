"""`kubectl get` columns for the storage kinds, as kube-apiserver's printers (pkg/printers/internalversion)
give them: printStorageClass, printPersistentVolume, printPersistentVolumeClaim."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from labrunner.sandbox.quantity import parse
from labrunner.sandbox.tables import Column, Row, age

NAME: Column = ("Name", "string", 0)
AGE: Column = ("Age", "string", 0)
_MODES = (("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"), ("ReadWriteOncePod", "RWOP"))


def access_modes(modes: list[Any] | None) -> str:
    """GetAccessModesAsString: RWO, ROX, RWX, RWOP in that order, each once."""
    given = set(modes or [])
    return ",".join(short for mode, short in _MODES if mode in given)


def quantity_text(value: Any) -> str:
    """A quantity as ``Quantity.String()`` prints it (``1Gi``, ``1536Mi``, ``500M``); absent: ``0``."""
    if value is None:
        return "0"
    try:
        return str(parse(value))
    except ValueError:
        return str(value)


def _storage_classes(obj: dict[str, Any]) -> Row:
    from labrunner.sandbox.storage.objects import is_default_class

    name = obj["metadata"]["name"] + (" (default)" if is_default_class(obj) else "")
    return [name, obj.get("provisioner", ""), obj.get("reclaimPolicy") or "Delete", obj.get("volumeBindingMode") or "Immediate",
            bool(obj.get("allowVolumeExpansion")), age(obj)]


def _persistent_volumes(obj: dict[str, Any]) -> Row:
    from labrunner.sandbox.storage.objects import volume_class

    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    ref = spec.get("claimRef")
    claim = f"{ref.get('namespace', '')}/{ref.get('name', '')}" if isinstance(ref, dict) else ""
    phase = "Terminating" if obj["metadata"].get("deletionTimestamp") else status.get("phase", "")
    return [obj["metadata"]["name"], quantity_text((spec.get("capacity") or {}).get("storage")), access_modes(spec.get("accessModes")),
            spec.get("persistentVolumeReclaimPolicy", ""), phase, claim, volume_class(obj),
            spec.get("volumeAttributesClassName") or "<unset>", status.get("reason", ""), age(obj), spec.get("volumeMode") or "<unset>"]


def _persistent_volume_claims(obj: dict[str, Any]) -> Row:
    from labrunner.sandbox.storage.objects import claim_class

    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    phase = "Terminating" if obj["metadata"].get("deletionTimestamp") else status.get("phase", "")
    capacity = modes = ""
    if spec.get("volumeName"):
        modes = access_modes(status.get("accessModes"))
        capacity = quantity_text((status.get("capacity") or {}).get("storage"))
    return [obj["metadata"]["name"], phase, spec.get("volumeName", ""), capacity, modes, claim_class(obj),
            spec.get("volumeAttributesClassName") or "<unset>", age(obj), spec.get("volumeMode") or "<unset>"]


PRINTERS: dict[str, tuple[list[Column], Callable[[dict[str, Any]], Row]]] = {
    "storageclasses": ([NAME, ("Provisioner", "string", 0), ("ReclaimPolicy", "string", 0), ("VolumeBindingMode", "string", 0),
                        ("AllowVolumeExpansion", "string", 0), AGE], _storage_classes),
    "persistentvolumes": ([NAME, ("Capacity", "string", 0), ("Access Modes", "string", 0), ("Reclaim Policy", "string", 0),
                           ("Status", "string", 0), ("Claim", "string", 0), ("StorageClass", "string", 0),
                           ("VolumeAttributesClass", "string", 0), ("Reason", "string", 0), AGE, ("VolumeMode", "string", 1)],
                          _persistent_volumes),
    "persistentvolumeclaims": ([NAME, ("Status", "string", 0), ("Volume", "string", 0), ("Capacity", "string", 0),
                                ("Access Modes", "string", 0), ("StorageClass", "string", 0), ("VolumeAttributesClass", "string", 0),
                                AGE, ("VolumeMode", "string", 1)], _persistent_volume_claims),
}
