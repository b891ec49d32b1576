"""The objects a workshop is made of, as manifests (pure: dicts in the API's JSON).

What each learner may do is decided here:

- in each of their lab namespaces, a RoleBinding to the built-in ClusterRole ``admin`` (pods,
  exec, deployments, services, policies, roles and bindings in that namespace; never the
  namespace itself, its quota or anything cluster-scoped);
- in the workshop's namespace, a Role naming their objects alone: ``get, update, patch`` on the
  ConfigMap ``progress-ID`` and the Lease ``heartbeat-ID`` (``create`` cannot be limited to a
  name, hence the instructor makes them), and ``get, watch`` on the ConfigMap ``workshop``.

Their ServiceAccount lives in the workshop's namespace, where ``admin`` in their own namespace
gives them nothing: they cannot delete it or mint its tokens.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labrunner.workshop import names
from labrunner.workshop.records import ProgressRecord, Verification, WorkshopRecord
from labrunner.workshop.sizing import Sizing


def labels(workshop: str, learner: str | None = None) -> dict[str, str]:
    found = {names.LABEL: workshop}
    if learner is not None:
        found[names.LEARNER_LABEL] = learner
    return found


def _meta(name: str, workshop: str, learner: str | None = None, namespace: str | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "labels": labels(workshop, learner)}
    if namespace is not None:
        metadata["namespace"] = namespace
    return metadata


def workshop_namespace(workshop: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(names.namespace(workshop), workshop)}


def learner_namespace(workshop: str, learner: str, name: str) -> dict[str, Any]:
    metadata = _meta(name, workshop, learner)
    # Warned, not enforced: a lab may rightly run a pod the baseline level refuses (a hostPath volume).
    metadata["labels"]["pod-security.kubernetes.io/warn"] = "baseline"
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}


def quota(workshop: str, learner: str, namespace: str, sizing: Sizing) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": _meta(names.GUARDS, workshop, learner, namespace),
            "spec": {"hard": sizing.quota()}}


def limit_range(workshop: str, learner: str, namespace: str, sizing: Sizing) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "LimitRange", "metadata": _meta(names.GUARDS, workshop, learner, namespace),
            "spec": {"limits": sizing.limits()}}


def _account(workshop: str, learner: str) -> dict[str, str]:
    return {"kind": "ServiceAccount", "name": names.service_account(learner), "namespace": names.namespace(workshop)}


def admin_binding(workshop: str, learner: str, namespace: str) -> dict[str, Any]:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": _meta(names.LEARNER_BINDING, workshop, learner, namespace),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"},
            "subjects": [_account(workshop, learner)]}


def service_account(workshop: str, learner: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": _meta(names.service_account(learner), workshop, learner, names.namespace(workshop)),
            # No legacy token Secret is ever mounted or made for it: tokens come from TokenRequest.
            "automountServiceAccountToken": False}


def token_secret(workshop: str, learner: str) -> dict[str, Any]:
    """What the learner's tokens are bound to. Opaque, never ``service-account-token`` (the
    tokens controller would fill that with a token that never expires)."""
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": _meta(names.token_secret(learner), workshop, learner, names.namespace(workshop))}


def records_role(workshop: str, learner: str) -> dict[str, Any]:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": _meta(names.role(learner), workshop, learner, names.namespace(workshop)),
            "rules": [
                {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": [names.progress(learner)],
                 "verbs": ["get", "update", "patch"]},
                {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "resourceNames": [names.heartbeat(learner)],
                 "verbs": ["get", "update", "patch"]},
                {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": [names.WORKSHOP_CONFIGMAP],
                 "verbs": ["get", "watch"]},
            ]}


def records_binding(workshop: str, learner: str) -> dict[str, Any]:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": _meta(names.role(learner), workshop, learner, names.namespace(workshop)),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": names.role(learner)},
            "subjects": [_account(workshop, learner)]}


def configmap(workshop: str, learner: str | None, name: str, data: Mapping[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(name, workshop, learner, names.namespace(workshop)),
            "data": dict(data)}


def progress_record(workshop: str, learner: str, lab_instance: str) -> dict[str, Any]:
    return configmap(workshop, learner, names.progress(learner), ProgressRecord(lab=lab_instance, learner=learner).encode())


def verification_record(workshop: str, learner: str) -> dict[str, Any]:
    return configmap(workshop, learner, names.verified(learner), Verification().encode())


def workshop_record(record: WorkshopRecord) -> dict[str, Any]:
    return configmap(record.workshop, None, names.WORKSHOP_CONFIGMAP, record.encode())


def heartbeat(workshop: str, learner: str) -> dict[str, Any]:
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": _meta(names.heartbeat(learner), workshop, learner, names.namespace(workshop)),
            "spec": {"leaseDurationSeconds": 60}}


def learner_objects(workshop: str, learner: str) -> list[dict[str, Any]]:
    """What one learner has in the workshop's namespace, but their records (made once, never rewritten)."""
    return [service_account(workshop, learner), token_secret(workshop, learner),
            records_role(workshop, learner), records_binding(workshop, learner)]


def namespace_objects(workshop: str, learner: str, namespace: str, sizing: Sizing) -> list[dict[str, Any]]:
    """What goes into each of a learner's lab namespaces."""
    return [quota(workshop, learner, namespace, sizing), limit_range(workshop, learner, namespace, sizing),
            admin_binding(workshop, learner, namespace)]


def differs(wanted: Mapping[str, Any], found: Mapping[str, Any]) -> bool:
    """Whether ``found`` lacks or changed something ``wanted`` says (its labels, spec, rules,
    roleRef, subjects, data; what the server adds is ignored)."""
    for key, value in wanted.items():
        if key in ("apiVersion", "kind"):
            continue
        if key == "metadata":
            have = (found.get("metadata") or {}).get("labels") or {}
            if any(have.get(k) != v for k, v in (value.get("labels") or {}).items()):
                return True
            continue
        if not _covers(value, found.get(key)):
            return True
    return False


def _covers(wanted: Any, found: Any) -> bool:
    if isinstance(wanted, dict):
        return isinstance(found, dict) and all(_covers(v, found.get(k)) for k, v in wanted.items())
    if isinstance(wanted, list):
        return isinstance(found, list) and len(wanted) == len(found) and all(_covers(w, f) for w, f in zip(wanted, found))
    if isinstance(wanted, str) and isinstance(found, str) and wanted != found:
        a, b = _quantity(wanted), _quantity(found)
        return a is not None and a == b  # the server writes 4000m as 4, 8192Mi as 8Gi
    return bool(wanted == found)


_SUFFIXES = {"m": 0.001, "": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4}


def _quantity(text: str) -> float | None:
    import re

    match = re.fullmatch(r"(\d+(?:\.\d+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?", text)
    return float(match.group(1)) * _SUFFIXES[match.group(2) or ""] if match else None
