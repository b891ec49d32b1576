"""What the storage kinds' objects say, read as component-helpers' storage helpers read them
(pure functions over the API's dicts: the scheduler's plugins use them too)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
BETA_DEFAULT_CLASS_ANNOTATION = "storageclass.beta.kubernetes.io/is-default-class"
BETA_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"
C = TypeVar("C", bound=Mapping[str, Any])


def is_default_class(storage_class: Mapping[str, Any]) -> bool:
    """``IsDefaultAnnotation``: the GA or beta annotation set to "true"."""
    annotations = (storage_class.get("metadata") or {}).get("annotations") or {}
    return annotations.get(DEFAULT_CLASS_ANNOTATION) == "true" or annotations.get(BETA_DEFAULT_CLASS_ANNOTATION) == "true"


def default_class(classes: Iterable[C]) -> C | None:
    """``GetDefaultClass``: of the classes marked default, the newest (ties: the first name)."""
    marked = [c for c in classes if is_default_class(c)]
    if not marked:
        return None
    marked.sort(key=lambda c: c["metadata"]["name"])
    marked.sort(key=lambda c: str(c["metadata"].get("creationTimestamp", "")), reverse=True)
    return marked[0]


def claim_class(claim: Mapping[str, Any]) -> str:
    """``GetPersistentVolumeClaimClass``: the beta annotation, else ``storageClassName``, else ""."""
    annotations = (claim.get("metadata") or {}).get("annotations") or {}
    if BETA_CLASS_ANNOTATION in annotations:
        return str(annotations[BETA_CLASS_ANNOTATION])
    return str((claim.get("spec") or {}).get("storageClassName") or "")


def volume_class(volume: Mapping[str, Any]) -> str:
    """``GetPersistentVolumeClass``."""
    annotations = (volume.get("metadata") or {}).get("annotations") or {}
    if BETA_CLASS_ANNOTATION in annotations:
        return str(annotations[BETA_CLASS_ANNOTATION])
    return str((volume.get("spec") or {}).get("storageClassName") or "")


def storage_request(claim: Mapping[str, Any]) -> Any:
    return (((claim.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage")
