"""Storage: claims, volumes and classes, judged the way the PV controller decides.

The check kinds (:mod:`.kinds`, loaded when first needed): ``claim-bound`` (a claim bound as the
step asks; one that is not, explained by its class and every volume that could have taken it),
``claim-waits`` (a claim rightly waiting for its first consumer, not to be "fixed"),
``volume-state`` (a volume's phase, reclaim policy and claim; a Released one to rescue) and
``default-class`` (one default StorageClass).
"""

from __future__ import annotations

from labrunner.registry.types import Resource, Topic

TOPIC = Topic(
    name="storage",
    kinds="labrunner.topics.storage.kinds:KINDS",
    resources=(
        Resource(plural="persistentvolumeclaims", kind="PersistentVolumeClaim"),
        Resource(plural="persistentvolumes", kind="PersistentVolume", namespaced=False),
        Resource(plural="storageclasses", kind="StorageClass", group="storage.k8s.io", namespaced=False),
    ),
)
