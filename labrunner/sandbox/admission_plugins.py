"""The admission plugins that read the cluster's state, in kube-apiserver's order, for a create or
update whoever sends it (a learner through the API, or a controller making a ReplicaSet's pods).

On a pod's create: LimitRanger's defaults (mutating), then the pod's resource requirements
validated as ValidateResourceRequirements does (a request above its limit is a 422), the
ServiceAccount plugin (a named account must exist: 403), then
LimitRanger's constraints, the Priority plugin (``spec.priority`` from the pod's PriorityClass,
priority.py), DefaultTolerationSeconds (tolerationseconds.py) and ResourceQuota (validating, 403). A claim: LimitRanger's storage
constraints and ResourceQuota. Anything else: ResourceQuota's object counts.
"""

from __future__ import annotations

from typing import Any

from labrunner.sandbox import limitranges, priority, quota, resources, tolerationseconds
from labrunner.sandbox.quantity import parse
from labrunner.sandbox.resource_hooks import FieldError, Refused, invalid_object
from labrunner.sandbox.resources import ResourceType
from labrunner.sandbox.scheduling import qos_class
from labrunner.sandbox.store import NotFound, Store


def _core(resource: ResourceType, plural: str) -> bool:
    return not resource.group and resource.plural == plural


def _limit_ranges(store: Store, namespace: str) -> list[dict[str, Any]]:
    kind = resources.lookup("", "v1", "limitranges")
    return sorted(store.list(kind, namespace), key=lambda r: r["metadata"]["name"]) if kind is not None and namespace else []


def _aggregate(messages: list[str]) -> str:
    """utilerrors.NewAggregate's Error(): one message alone, several in brackets."""
    return messages[0] if len(messages) == 1 else "[" + ", ".join(messages) + "]"


TEMPLATES: dict[tuple[str, str], tuple[str, ...]] = {
    ("apps", "deployments"): ("spec", "template", "spec"), ("apps", "replicasets"): ("spec", "template", "spec"),
    ("apps", "statefulsets"): ("spec", "template", "spec"), ("apps", "daemonsets"): ("spec", "template", "spec"),
    ("batch", "jobs"): ("spec", "template", "spec"), ("batch", "cronjobs"): ("spec", "jobTemplate", "spec", "template", "spec"),
    ("", "replicationcontrollers"): ("spec", "template", "spec"), ("", "podtemplates"): ("template", "spec"),
}
"""Where a workload keeps the pod spec the API server validates with it (ValidatePodTemplateSpec)."""


def _template_problems(resource: ResourceType, obj: dict[str, Any]) -> list[FieldError]:
    path = TEMPLATES.get((resource.group, resource.plural))
    if path is None:
        return []
    spec: Any = obj
    for key in path:
        spec = spec.get(key) if isinstance(spec, dict) else None
    return resource_problems(spec, ".".join(path)) if isinstance(spec, dict) else []


def resource_problems(spec: dict[str, Any], prefix: str = "spec") -> list[FieldError]:
    """ValidateResourceRequirements' request <= limit, per container of a pod spec."""
    errors: list[FieldError] = []
    for field in ("initContainers", "containers"):
        for index, container in enumerate(spec.get(field) or ()):
            resources_ = (container or {}).get("resources") or {}
            limits, requests = resources_.get("limits") or {}, resources_.get("requests") or {}
            for key, value in requests.items():
                if key not in limits:
                    continue
                try:
                    request, limit = parse(value), parse(limits[key])
                except ValueError:
                    continue
                path = f"{prefix}.{field}[{index}].resources.requests"
                if key.startswith("hugepages-") and request.value != limit.value:
                    errors.append(FieldError("FieldValueInvalid", path, f'Invalid value: "{request}": must be equal to {key} limit'))
                elif request.value > limit.value:
                    errors.append(FieldError("FieldValueInvalid", path,
                                             f'Invalid value: "{request}": must be less than or equal to {key} limit of {limit}'))
    return errors


def admit_create(store: Store, resource: ResourceType, obj: dict[str, Any], *, dry_run: bool = False) -> None:
    """Raises:
        Refused: the API server's 422 or 403.
    """
    namespace = str((obj.get("metadata") or {}).get("namespace") or "")
    if _core(resource, "pods"):
        ranges = _limit_ranges(store, namespace)
        limitranges.default_pod(obj, ranges)
        _service_account(store, resource, obj, namespace)
        if errors := resource_problems(obj.get("spec") or {}):
            raise invalid_object("Pod", "", str(obj["metadata"].get("name", "")), errors)
        if broken := limitranges.violations(obj, "pods", ranges):
            raise quota.forbidden(resource, obj, _aggregate(broken))
        priority.admit_pod(store, obj)
        tolerationseconds.admit_pod(obj)
        obj.setdefault("status", {})["qosClass"] = qos_class(obj)  # the pod strategy's PrepareForCreate, after the mutating plugins
    else:
        _claim_or_template(store, resource, obj, namespace)
    quota.admit(store, resource, obj, None, dry_run=dry_run)


def _service_account(store: Store, resource: ResourceType, obj: dict[str, Any], namespace: str) -> None:
    """The ServiceAccount plugin (plugin/pkg/admission/serviceaccount): a pod's account must exist.
    ``default`` is the serviceaccount controller's to make, and the plugin waits for it (ten lookups
    in a row), so only a named account that does not exist refuses the pod, with the plugin's 403.

    Raises:
        Refused: ``pods "web-x" is forbidden: error looking up service account ns/sa: ...``.
    """
    spec = obj.setdefault("spec", {})
    name = str(spec.get("serviceAccountName") or spec.get("serviceAccount") or "default")
    kind = resources.lookup("", "v1", "serviceaccounts")
    if name == "default" or kind is None or not namespace:
        return
    try:
        store.get(kind, namespace, name)
    except NotFound:
        raise quota.forbidden(resource, obj, f'error looking up service account {namespace}/{name}: serviceaccount "{name}" not found') from None


def _claim_or_template(store: Store, resource: ResourceType, obj: dict[str, Any], namespace: str) -> None:
    """What a create and an update both check: a claim's storage constraints, a workload's pod template."""
    if _core(resource, "persistentvolumeclaims"):
        if broken := limitranges.violations(obj, "persistentvolumeclaims", _limit_ranges(store, namespace)):
            raise quota.forbidden(resource, obj, _aggregate(broken))
    elif errors := _template_problems(resource, obj):
        raise invalid_object(resource.kind, resource.group, str(obj["metadata"].get("name", "")), errors)


def admit_update(store: Store, resource: ResourceType, obj: dict[str, Any], previous: dict[str, Any], *, dry_run: bool = False) -> None:
    """An update: a claim's storage constraints (its request may grow), a workload's pod template,
    then ResourceQuota.

    Raises:
        Refused: the API server's 422 (a pod template) or 403.
    """
    namespace = str((obj.get("metadata") or {}).get("namespace") or "")
    if _core(resource, "pods"):
        priority.keep_on_update(obj, previous)
    _claim_or_template(store, resource, obj, namespace)
    quota.admit(store, resource, obj, previous, dry_run=dry_run)


__all__ = ["Refused", "admit_create", "admit_update"]
