"""The storage kinds' resource types, for the controllers and hooks that read them."""

from __future__ import annotations

from labrunner.sandbox import resources
from labrunner.sandbox.resources import ResourceType


def _rt(group: str, plural: str) -> ResourceType:
    found = resources.lookup(group, "v1", plural)
    assert found is not None
    return found


STORAGE_CLASSES = _rt("storage.k8s.io", "storageclasses")
VOLUMES = _rt("", "persistentvolumes")
CLAIMS = _rt("", "persistentvolumeclaims")
