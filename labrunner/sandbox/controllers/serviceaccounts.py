"""Two of kube-controller-manager's service account controllers.

- ``serviceaccount-controller``: every namespace that is not terminating has a ``default`` ServiceAccount.
- ``serviceaccount-token-controller`` (pkg/controller/serviceaccount/tokens_controller.go). A Secret of
  type ``kubernetes.io/service-account-token`` whose ``kubernetes.io/service-account.name``
  annotation names a ServiceAccount gets its fields filled in: a legacy token in ``data.token``, the
  cluster's CA in ``data.ca.crt``, its namespace in ``data.namespace``, and the account's uid in the
  ``kubernetes.io/service-account.uid`` annotation. The controller deletes such a Secret when its
  account is missing, or has a uid other than the one the annotation gives. That deletion is also
  how a deleted ServiceAccount's token Secrets go. A Secret without the annotation is never looked at.
"""

from __future__ import annotations

import base64
from typing import Any

from labrunner.sandbox.controllers.shared import NAMESPACES, SECRETS, SERVICE_ACCOUNTS, Cluster
from labrunner.sandbox.store import AlreadyExists, NotFound

TOKEN_SECRET_TYPE = "kubernetes.io/service-account-token"
NAME_ANNOTATION = "kubernetes.io/service-account.name"
UID_ANNOTATION = "kubernetes.io/service-account.uid"


def reconcile(cluster: Cluster) -> None:
    cluster.each(NAMESPACES, "serviceaccount-controller", lambda namespace: _default_account(cluster, namespace))
    try:
        authority = (cluster.store.path.parent / "ca.crt").read_bytes()
    except OSError:
        authority = b""  # a store without the sandbox's folder around it (unit tests): no CA to hand out
    cluster.each(SECRETS, "serviceaccount-token-controller", lambda secret: _token_secret(cluster, secret, authority))


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


def _token_secret(cluster: Cluster, secret: dict[str, Any], authority: bytes) -> None:
    """Fill in a token Secret, or delete it when its account is gone (``syncSecret``)."""
    if secret.get("type") != TOKEN_SECRET_TYPE:
        return
    metadata = secret["metadata"]
    annotations = metadata.get("annotations") or {}
    account_name = annotations.get(NAME_ANNOTATION)
    if not account_name:
        return
    namespace = metadata["namespace"]
    try:
        account = cluster.store.get(SERVICE_ACCOUNTS, namespace, account_name)
    except NotFound:
        account = None
    if account is None or annotations.get(UID_ANNOTATION, "") not in ("", account["metadata"].get("uid")):
        try:
            cluster.store.delete(SECRETS, namespace, metadata["name"])
        except NotFound:
            pass
        return
    data = secret.get("data") or {}
    needs_ca = bool(authority) and _decoded(data.get("ca.crt")) != authority
    needs_namespace = not data.get("namespace")
    needs_token = not data.get("token")
    if not (needs_ca or needs_namespace or needs_token):
        return
    from labrunner.sandbox import tokens

    data = secret["data"] = dict(data)
    if needs_ca:
        data["ca.crt"] = _encoded(authority)
    if needs_namespace:
        data["namespace"] = _encoded(namespace.encode())
    if needs_token:
        token = tokens.sign(cluster.store.path.parent, tokens.legacy_claims(account, metadata["name"]))
        data["token"] = _encoded(token.encode())
    metadata["annotations"] = {**annotations, NAME_ANNOTATION: account_name, UID_ANNOTATION: account["metadata"].get("uid", "")}
    cluster.save(SECRETS, secret)


def _decoded(value: Any) -> bytes:
    try:
        return base64.b64decode(str(value or ""))
    except ValueError:
        return b""


def _encoded(value: bytes) -> str:
    return base64.b64encode(value).decode()
