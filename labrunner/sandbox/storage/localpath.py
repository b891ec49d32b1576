"""The sandbox's default storage, as kind installs it (kind's pkg/build/nodeimage/const_storage.go):
rancher's local-path provisioner in the ``local-path-storage`` namespace (its ServiceAccount,
ClusterRole and binding, its ConfigMap, a Deployment of one replica tolerating the control
plane's taint) and the ``standard`` StorageClass, the cluster's default: provisioner
``rancher.io/local-path``, reclaim policy Delete, binding mode WaitForFirstConsumer, no
``allowVolumeExpansion``. Volumes are folders under ``/var/local-path-provisioner`` on the node
the claim's first pod is scheduled to (``controllers/localpath.py``).

A sandbox made before the sandbox served storage gets these once, at its next start
(:func:`ensure_local_path`); a learner's later changes (deleting the class, scaling the
provisioner to zero) are kept, as on a real cluster.
"""

from __future__ import annotations

import json
from typing import Any

from labrunner.sandbox import resources
from labrunner.sandbox.resource_hooks import apply_defaults
from labrunner.sandbox.store import AlreadyExists, Store

NAMESPACE = "local-path-storage"
DEPLOYMENT = "local-path-provisioner"
CONFIG_MAP = "local-path-config"
CLASS = "standard"
PROVISIONER = "rancher.io/local-path"
IMAGE = "docker.io/kindest/local-path-provisioner:v20240813-c6f155d6"
HELPER_IMAGE = "docker.io/kindest/local-path-helper:v20230510-486859a6"
BASE_PATH = "/var/local-path-provisioner"
MARKER = "storage-installed"
"""A file in the sandbox's folder: the storage manifest has been installed once."""

_CONFIG = {"nodePathMap": [{"node": "DEFAULT_PATH_FOR_NON_LISTED_NODES", "paths": [BASE_PATH]}]}


def manifest() -> list[tuple[str, str, dict[str, Any]]]:
    """(group, plural, object) for every object kind's storage manifest creates, in its order."""
    labels = {"app": DEPLOYMENT}
    return [
        ("", "namespaces", {"metadata": {"name": NAMESPACE}}),
        ("", "serviceaccounts", {"metadata": {"name": "local-path-provisioner-service-account", "namespace": NAMESPACE}}),
        ("rbac.authorization.k8s.io", "clusterroles", {"metadata": {"name": "local-path-provisioner-role"}, "rules": [
            {"apiGroups": [""], "resources": ["nodes", "persistentvolumeclaims", "configmaps"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": [""], "resources": ["endpoints", "persistentvolumes", "pods"], "verbs": ["*"]},
            {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
            {"apiGroups": ["storage.k8s.io"], "resources": ["storageclasses"], "verbs": ["get", "list", "watch"]}]}),
        ("rbac.authorization.k8s.io", "clusterrolebindings", {"metadata": {"name": "local-path-provisioner-bind"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "local-path-provisioner-role"},
            "subjects": [{"kind": "ServiceAccount", "name": "local-path-provisioner-service-account", "namespace": NAMESPACE}]}),
        ("apps", "deployments", {"metadata": {"name": DEPLOYMENT, "namespace": NAMESPACE}, "spec": {
            "replicas": 1, "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {
                "nodeSelector": {"kubernetes.io/os": "linux"},
                "tolerations": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Equal", "effect": "NoSchedule"},
                                {"key": "node-role.kubernetes.io/master", "operator": "Equal", "effect": "NoSchedule"}],
                "serviceAccountName": "local-path-provisioner-service-account",
                "containers": [{"name": "local-path-provisioner", "image": IMAGE, "imagePullPolicy": "IfNotPresent",
                                "command": ["local-path-provisioner", "--debug", "start", "--helper-image", HELPER_IMAGE,
                                            "--config", "/etc/config/config.json"],
                                "volumeMounts": [{"name": "config-volume", "mountPath": "/etc/config/"}],
                                "env": [{"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}]}],
                "volumes": [{"name": "config-volume", "configMap": {"name": CONFIG_MAP}}]}}}}),
        ("storage.k8s.io", "storageclasses", {"metadata": {"name": CLASS, "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
                                              "provisioner": PROVISIONER, "volumeBindingMode": "WaitForFirstConsumer", "reclaimPolicy": "Delete"}),
        ("", "configmaps", {"metadata": {"name": CONFIG_MAP, "namespace": NAMESPACE}, "data": {
            "config.json": json.dumps(_CONFIG, indent=8),
            "setup": '#!/bin/sh\nset -eu\nmkdir -m 0777 -p "$VOL_DIR"',
            "teardown": '#!/bin/sh\nset -eu\nrm -rf "$VOL_DIR"',
            "helperPod.yaml": ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: helper-pod\nspec:\n  containers:\n  - name: helper-pod\n"
                               f"    image: {HELPER_IMAGE}\n    imagePullPolicy: IfNotPresent")}}),
    ]


def install_local_path(store: Store) -> None:
    """Create kind's storage objects (those already there are left as they are) and mark the
    sandbox's folder as having them."""
    for group, plural, obj in manifest():
        found = resources.lookup(group, "v1", plural)
        assert found is not None
        obj = {"apiVersion": found.api_version, "kind": found.kind, **obj}
        apply_defaults(found, obj, store)
        try:
            store.create(found, obj)
        except AlreadyExists:
            pass
    (store.path.parent / MARKER).touch()


def ensure_local_path(store: Store) -> None:
    """Install kind's storage in a sandbox that has never had it (one made by an older labrunner)."""
    if not (store.path.parent / MARKER).exists():
        install_local_path(store)
