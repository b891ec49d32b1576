"""The root CA publisher (kube-controller-manager's ``root-ca-cert-publisher``): every namespace
that is not terminating has a ``kube-root-ca.crt`` ConfigMap holding the cluster's CA, which
pods' projected service-account volumes (``kube-api-access-*``) mount as ``ca.crt``."""

from __future__ import annotations

from typing import Any

from labrunner.sandbox.controllers.shared import CONFIG_MAPS, NAMESPACES, Cluster
from labrunner.sandbox.store import AlreadyExists, NotFound

NAME = "kube-root-ca.crt"


def reconcile(cluster: Cluster) -> None:
    authority = cluster.store.path.parent / "ca.crt"
    try:
        certificate = authority.read_text()
    except OSError:
        return  # a store without the sandbox's folder around it (unit tests): nothing to publish
    cluster.each(NAMESPACES, "root-ca-cert-publisher", lambda namespace: _publish(cluster, namespace, certificate))


def _publish(cluster: Cluster, namespace: dict[str, Any], certificate: str) -> None:
    name = namespace["metadata"]["name"]
    if (namespace.get("status") or {}).get("phase") == "Terminating":
        return
    try:
        found = cluster.store.get(CONFIG_MAPS, name, NAME)
    except NotFound:
        try:
            cluster.store.create(CONFIG_MAPS, {"metadata": {"name": NAME, "namespace": name,
                                                            "annotations": {"kubernetes.io/description": _DESCRIPTION}},
                                               "data": {"ca.crt": certificate}})
        except AlreadyExists:
            pass
        return
    if (found.get("data") or {}).get("ca.crt") != certificate:  # edited or emptied by someone: put back, as the publisher does
        found["data"] = {"ca.crt": certificate}
        cluster.save(CONFIG_MAPS, found)


_DESCRIPTION = ("Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the "
                "internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.")
