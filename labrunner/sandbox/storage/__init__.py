"""Storage as a cluster serves it: StorageClasses, PersistentVolumes and PersistentVolumeClaims.

- ``api.py``: what the API server does with the three kinds (defaults, validation in its
  words, the DefaultStorageClass and StorageObjectInUseProtection admission plugins, the
  PersistentVolumeClaimResize check).
- ``binding.py``: which volume a claim gets, as the PV controller's index and
  component-helpers' ``FindMatchingVolume`` choose it (pure functions).
- ``localpath.py``: the default StorageClass of a new sandbox, kind's ``standard`` class and
  rancher's local-path provisioner it names, as kind installs them.

The controllers that act on them are ``controllers/persistentvolume.py`` (binding, reclaim,
protection, expansion) and ``controllers/localpath.py`` (the provisioner).
"""
