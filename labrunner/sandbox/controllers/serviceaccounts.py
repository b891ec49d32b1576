"""The service account controller: every namespace that is not terminating has a ``default`` ServiceAccount."""

from __future__ import annotations

from typing import Any

from labrunner.sandbox.controllers.shared import NAMESPACES, SERVICE_ACCOUNTS, Cluster
from labrunner.sandbox.store import AlreadyExists, NotFound


def reconcile(cluster: Cluster) -> None:
    cluster.each(NAMESPACES, "serviceaccount-controller", lambda namespace: _default_account(cluster, namespace))


def _default_account(cluster: Cluster, namespace: dict[str, Any]) -> None:
    name = namespace["metadata"]["name"]
    if (namespace.get("status") or {}).get("phase") == "Terminating":
        return
    try:
        cluster.store.get(SERVICE_ACCOUNTS, name, "default")
    except NotFound:
        try:
            cluster.store.create(SERVICE_ACCOUNTS, {"metadata": {"name": "default", "namespace": name}})
        except AlreadyExists:
            pass
