"""ResourceQuota: what each object counts for, the admission check, and the controller's sums.

Written from kube-apiserver's ResourceQuota admission plugin (apiserver's
admission/plugin/resourcequota/controller.go, CheckRequest) and kube-controller-manager's
resourcequota controller, with pkg/quota/v1/evaluator/core's evaluators:

- a pod counts ``pods`` and ``count/pods``, and while it is not Succeeded or Failed its requests
  and limits (``requests.cpu`` and ``cpu``, ``limits.memory``, ``requests.ephemeral-storage``, ...)
  summed as the scheduler sums them; a Service ``services``, ``services.nodeports`` and
  ``services.loadbalancers``; a claim ``persistentvolumeclaims``, ``requests.storage`` and the same
  per storage class (``gold.storageclass.storage.k8s.io/requests.storage``); every object
  ``count/<resource>[.<group>]``, and ConfigMaps, Secrets, ReplicationControllers and
  ResourceQuotas their legacy names too;
- a quota with scopes (Terminating, NotTerminating, BestEffort, NotBestEffort, or a
  ``scopeSelector`` on PriorityClass) counts only the pods they select;
- admission: a quota that limits cpu or memory requires every container to say it
  (``failed quota: q: must specify limits.cpu,requests.memory``); a quota whose status the
  controller has not filled yet refuses (``status unknown for quota: q, resources: pods``);
  a create (and a Service's or claim's update) that would take a quota over its hard limit is
  ``exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2``; otherwise the usage
  is charged to the quota's status at once, before the controller recounts.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

from labrunner.sandbox import resources
from labrunner.sandbox.limitranges import pod_totals
from labrunner.sandbox.quantity import Quantity, parse
from labrunner.sandbox.resource_hooks import Refused
from labrunner.sandbox.resources import ResourceType
from labrunner.sandbox.store import Store

ONE = Quantity(parse("1").value)
ZERO = Quantity(parse("0").value)
LEGACY = {"configmaps": "configmaps", "secrets": "secrets", "replicationcontrollers": "replicationcontrollers",
          "resourcequotas": "resourcequotas"}
COMPUTE = ("cpu", "memory", "ephemeral-storage")
VALIDATED = {"cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory"}
"""What every container must say when a quota limits it (the pod evaluator's validationSet)."""
POD_SCOPES = ("Terminating", "NotTerminating", "BestEffort", "NotBestEffort", "PriorityClass", "CrossNamespacePodAffinity")
POD_SCOPED = {"pods", "count/pods", *COMPUTE, *(f"{kind}.{name}" for kind in ("requests", "limits") for name in COMPUTE)}
"""What a scoped quota may track: the pod evaluator's resources (BestEffort: pods only)."""
STORAGE_CLASS = ".storageclass.storage.k8s.io/"


def _count_name(resource: ResourceType) -> str:
    return f"count/{resource.plural}" + (f".{resource.group}" if resource.group else "")


def _terminal(pod: Mapping[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def _best_effort(pod: Mapping[str, Any]) -> bool:
    for container in [*((pod.get("spec") or {}).get("containers") or ()), *((pod.get("spec") or {}).get("initContainers") or ())]:
        resources = container.get("resources") or {}
        if any(key in ("cpu", "memory") for field in ("requests", "limits") for key in (resources.get(field) or {})):
            return False
    return True


def usage(resource: ResourceType, obj: Mapping[str, Any]) -> dict[str, Quantity]:
    """What one object counts for, under every name a quota may track."""
    found = {_count_name(resource): ONE}
    plural = resource.plural if not resource.group else ""
    if plural == "pods":
        if _terminal(obj):
            return found
        found["pods"] = ONE
        for field, prefix in (("requests", "requests."), ("limits", "limits.")):
            for key, value in pod_totals(obj, field).items():
                if key in COMPUTE or key.startswith("hugepages-"):
                    found[prefix + key] = value
                    if field == "requests":
                        found.setdefault(key, value)
    elif plural == "services":
        spec = obj.get("spec") or {}
        found["services"] = ONE
        kind = spec.get("type") or "ClusterIP"
        if kind in ("NodePort", "LoadBalancer"):
            found["services.nodeports"] = Quantity(parse(len(spec.get("ports") or ())).value)
        if kind == "LoadBalancer":
            found["services.loadbalancers"] = ONE
    elif plural == "persistentvolumeclaims":
        spec = obj.get("spec") or {}
        found["persistentvolumeclaims"] = ONE
        storage_class = spec.get("storageClassName") or ""
        if storage_class:
            found[f"{storage_class}{STORAGE_CLASS}persistentvolumeclaims"] = ONE
        request = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
        if request is not None:
            try:
                size = parse(request)
            except ValueError:
                size = None
            if size is not None:
                found["requests.storage"] = size
                if storage_class:
                    found[f"{storage_class}{STORAGE_CLASS}requests.storage"] = size
    elif plural in LEGACY:
        found[LEGACY[plural]] = ONE
    return found


def _scope_matches(quota: Mapping[str, Any], pod: Mapping[str, Any]) -> bool:
    spec = quota.get("spec") or {}
    scopes: list[tuple[str, str, list[Any]]] = [(scope, "Exists", []) for scope in spec.get("scopes") or ()]
    scopes += [(str(term.get("scopeName")), str(term.get("operator")), list(term.get("values") or ()))
               for term in ((spec.get("scopeSelector") or {}).get("matchExpressions") or ())]
    pod_spec = pod.get("spec") or {}
    for scope, operator, values in scopes:
        if scope == "PriorityClass":
            name = pod_spec.get("priorityClassName") or ""
            holds = {"Exists": bool(name), "DoesNotExist": not name, "In": name in values,
                     "NotIn": bool(name) and name not in values}.get(operator, False)
        elif scope in ("Terminating", "NotTerminating", "BestEffort", "NotBestEffort"):
            terminating = pod_spec.get("activeDeadlineSeconds") is not None
            holds = {"Terminating": terminating, "NotTerminating": not terminating, "BestEffort": _best_effort(pod),
                     "NotBestEffort": not _best_effort(pod)}[scope]
            holds = not holds if operator == "DoesNotExist" else holds
        else:
            return False
        if not holds:
            return False
    return True


def _scoped(quota: Mapping[str, Any]) -> bool:
    spec = quota.get("spec") or {}
    return bool(spec.get("scopes") or (spec.get("scopeSelector") or {}).get("matchExpressions"))


def matches(quota: Mapping[str, Any], resource: ResourceType, obj: Mapping[str, Any]) -> bool:
    """generic.Matches: the quota tracks something this kind of object counts for, within its scopes."""
    if _scoped(quota):
        return resource.plural == "pods" and not resource.group and _scope_matches(quota, obj)
    return True


def _hard(quota: Mapping[str, Any], where: str = "spec") -> dict[str, Quantity]:
    found: dict[str, Quantity] = {}
    for key, value in ((quota.get(where) or {}).get("hard") or {}).items():
        try:
            found[str(key)] = parse(value)
        except ValueError:
            continue
    return found


def _tracked(quota: Mapping[str, Any], counted: Mapping[str, Quantity]) -> dict[str, Quantity]:
    hard = _hard(quota)
    allowed = POD_SCOPED if _scoped(quota) else None
    return {key: value for key, value in counted.items() if key in hard and (allowed is None or key in allowed)}


def _pretty(values: Mapping[str, Quantity]) -> str:
    return ",".join(f"{key}={values[key]}" for key in sorted(values))


def _delta(after: Mapping[str, Quantity], before: Mapping[str, Quantity]) -> dict[str, Quantity]:
    keys = {*after, *before}
    changed = {key: (after.get(key, ZERO) - before.get(key, ZERO)) for key in keys}
    return {key: Quantity(value.value, (after.get(key) or before.get(key) or ZERO).format) for key, value in changed.items()}


def _display_name(obj: Mapping[str, Any]) -> str:
    """extractResourceName: the name, or before one is generated, the generateName."""
    metadata = obj.get("metadata") or {}
    return str(metadata.get("name") or metadata.get("generateName") or "Unknown")


def forbidden(resource: ResourceType, obj: Mapping[str, Any], why: str) -> Refused:
    """admission.NewForbidden: ``pods "web-" is forbidden: <why>``."""
    name = _display_name(obj)
    return Refused(403, "Forbidden", f'{resource.describe()} "{name}" is forbidden: {why}',
                   {"name": name, **({"group": resource.group} if resource.group else {}), "kind": resource.plural})


def admit(store: Store, resource: ResourceType, obj: Mapping[str, Any], previous: Mapping[str, Any] | None = None,
          *, dry_run: bool = False) -> None:
    """CheckRequest for a create (``previous`` None) or an update, then the quotas charged.

    Raises:
        Refused: the API server's 403 for the first quota the write would break.
    """
    if previous is not None and (resource.group or resource.plural not in ("services", "persistentvolumeclaims")):
        return  # the evaluators handle only creates, and updates of Services and claims
    quotas_type = resources.lookup("", "v1", "resourcequotas")
    namespace = str((obj.get("metadata") or {}).get("namespace") or "")
    if quotas_type is None or not resource.namespaced or not namespace:
        return
    quotas = [quota for quota in store.list(quotas_type, namespace) if matches(quota, resource, obj)]
    if not quotas:
        return
    counted = usage(resource, obj)
    delta = _delta(counted, usage(resource, previous)) if previous is not None else counted
    charged: list[tuple[dict[str, Any], dict[str, Quantity]]] = []
    for quota in sorted(quotas, key=lambda q: q["metadata"]["name"]):
        name = quota["metadata"]["name"]
        requested = _tracked(quota, delta)
        if not requested:
            continue
        if previous is None and not resource.group and resource.plural == "pods":
            required = sorted(VALIDATED & set(_hard(quota)))
            missing = _missing(obj, required)
            if missing:
                raise forbidden(resource, obj, f"failed quota: {name}: must specify {','.join(missing)}")
        status_hard, used = _hard(quota, "status"), _used(quota)
        unknown = sorted(key for key in requested if key not in status_hard or key not in used)
        if unknown:
            raise forbidden(resource, obj, f"status unknown for quota: {name}, resources: {','.join(unknown)}")
        new_usage = {key: used[key] + value for key, value in requested.items()}
        exceeded = sorted(key for key, value in new_usage.items() if value.value > status_hard[key].value)
        if exceeded:
            raise forbidden(resource, obj, f"exceeded quota: {name}, requested: {_pretty({k: requested[k] for k in exceeded})}, "
                                           f"used: {_pretty({k: used[k] for k in exceeded})}, "
                                           f"limited: {_pretty({k: status_hard[k] for k in exceeded})}")
        charged.append((quota, {**used, **new_usage}))
    if dry_run:
        return
    for quota, new_used in charged:
        quota.setdefault("status", {})["used"] = {key: str(value) for key, value in new_used.items()}
        store.update(quotas_type, quota)


def _used(quota: Mapping[str, Any]) -> dict[str, Quantity]:
    return _hard({"status": {"hard": (quota.get("status") or {}).get("used") or {}}}, "status")


def _missing(pod: Mapping[str, Any], required: list[str]) -> list[str]:
    """enforcePodContainerConstraints over every container: the required names its own
    requests and limits do not count for."""
    if not required:
        return []
    missing: set[str] = set()
    spec = pod.get("spec") or {}
    for container in [*(spec.get("containers") or ()), *(spec.get("initContainers") or ())]:
        resources = container.get("resources") or {}
        own: set[str] = set()
        for key in (resources.get("requests") or {}):
            own |= {key, f"requests.{key}"}
        for key in (resources.get("limits") or {}):
            own.add(f"limits.{key}")
        missing |= set(required) - own
    return sorted(missing)


def recount(store: Store, quota: Mapping[str, Any], kinds: Iterable[ResourceType]) -> dict[str, Any]:
    """The status the resourcequota controller writes: ``hard`` as the spec says, ``used`` summed
    over every object of the namespace the quota counts (a zero for what nothing uses)."""
    hard = (quota.get("spec") or {}).get("hard") or {}
    namespace = quota["metadata"]["namespace"]
    totals: dict[str, Quantity] = {}
    for resource in kinds:
        for obj in store.list(resource, namespace):
            if not matches(quota, resource, obj):
                continue
            for key, value in _tracked(quota, usage(resource, obj)).items():
                totals[key] = totals[key] + value if key in totals else value
    used = {key: str(totals.get(key, ZERO)) for key in hard}
    return {"hard": dict(hard), "used": used}


def counted_kinds(quota: Mapping[str, Any]) -> list[ResourceType]:
    """The kinds whose objects the quota's hard names could count."""
    return list(_counted_kinds(frozenset((quota.get("spec") or {}).get("hard") or {})))


@functools.lru_cache(maxsize=256)
def _counted_kinds(names: frozenset[str]) -> tuple[ResourceType, ...]:
    """Remembered per set of names: the resourcequota controller asks for every quota at every
    pass (a workshop's 100 learner namespaces made it most of a pass)."""
    kinds: list[ResourceType] = []
    for resource in resources.RESOURCES:
        if not resource.namespaced:
            continue
        if _count_name(resource) in names or any(name in usage_names(resource) for name in names) \
                or (resource.plural == "persistentvolumeclaims" and not resource.group and any(STORAGE_CLASS in name for name in names)):
            kinds.append(resource)
    return tuple(kinds)


def usage_names(resource: ResourceType) -> set[str]:
    """The names other than ``count/...`` an object of this kind may count for."""
    if resource.group:
        return set()
    return {"pods": POD_SCOPED - {"count/pods"}, "services": {"services", "services.nodeports", "services.loadbalancers"},
            "persistentvolumeclaims": {"persistentvolumeclaims", "requests.storage"}}.get(resource.plural, {LEGACY.get(resource.plural, "")} - {""})
