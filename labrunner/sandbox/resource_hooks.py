"""What the API server does for a resource beyond storing it, one row per resource.

A row says which name rule applies, what is defaulted and allocated on every
write (create, and every update or patch, as the registry's strategies do), and
what deleting means. A resource without a row is stored as sent, its names
checked as RFC 1123 subdomains; so a kind added to ``resources.py`` needs a row
here only if it behaves differently, and the router never names a resource.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from labrunner.sandbox import names, resources
from labrunner.sandbox.defaults import secret_defaults, service_defaults, workload_defaults
from labrunner.sandbox.resources import ResourceType
from labrunner.sandbox.store import Store, now

Defaults = Callable[[dict[str, Any], "Store | None", "dict[str, Any] | None"], None]
"""(object, the store, the stored object on an update); may raise ``defaults.InvalidService``."""


@dataclass(frozen=True)
class Hooks:
    name_rule: Callable[[str], str | None] = names.dns1123_subdomain
    """The API server's complaint about a name, or None."""
    defaults: Defaults | None = None
    foreground_deletion: bool = False
    """``propagationPolicy: Foreground`` keeps the owner, with the ``foregroundDeletion``
    finalizer, until the garbage collector has removed its dependents."""
    terminates: bool = False
    """Deleting starts a termination (namespaces: Terminating, then gone with their contents)."""
    after_delete: Callable[[Store, dict[str, Any]], None] | None = None
    on_change: Callable[[Store], None] | None = None
    """After any write of an object of this resource."""


def _namespace_defaults(obj: dict[str, Any], store: Store | None, previous: dict[str, Any] | None) -> None:
    obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    obj.setdefault("status", {}).setdefault("phase", "Active")


def _workload(plural: str) -> Defaults:
    def defaults(obj: dict[str, Any], store: Store | None, previous: dict[str, Any] | None) -> None:
        workload_defaults(plural, obj)

    return defaults


def _service_defaults(obj: dict[str, Any], store: Store | None, previous: dict[str, Any] | None) -> None:
    services = resources.lookup("", "v1", "services")
    existing = store.list(services) if store is not None and services is not None else []
    service_defaults(obj, existing, previous)


def _crd_status(obj: dict[str, Any], store: Store | None, previous: dict[str, Any] | None) -> None:
    """Accepted and Established at once: the sandbox serves a definition's kinds as soon as it is stored."""
    spec = obj.get("spec") or {}
    stamp = now()
    obj["status"] = {
        "acceptedNames": spec.get("names") or {},
        "storedVersions": [v.get("name") for v in spec.get("versions") or [] if v.get("storage")],
        "conditions": [{"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": stamp},
                       {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": stamp}],
    }


def _delete_crd_instances(store: Store, crd: dict[str, Any]) -> None:
    """A definition's objects go with it, as on a real cluster."""
    for defined in resources.from_crd(crd):
        for instance in store.list(defined):
            store.delete_raw(defined.group, defined.plural, instance["metadata"].get("namespace", ""), instance["metadata"]["name"])


def refresh_custom_resources(store: Store) -> None:
    """Discovery and the router learn the kinds the stored definitions define."""
    definitions = resources.lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions")
    assert definitions is not None
    found: list[ResourceType] = []
    for crd in store.list(definitions):
        found.extend(resources.from_crd(crd))
    resources.set_custom_resources(tuple(found))


HOOKS: dict[tuple[str, str], Hooks] = {
    ("", "namespaces"): Hooks(name_rule=names.dns1123_label, defaults=_namespace_defaults, terminates=True),
    ("", "services"): Hooks(name_rule=names.dns1035_label, defaults=_service_defaults),
    ("", "secrets"): Hooks(defaults=lambda obj, store, previous: secret_defaults(obj)),
    ("", "pods"): Hooks(defaults=_workload("pods")),
    ("apps", "deployments"): Hooks(defaults=_workload("deployments"), foreground_deletion=True),
    ("apps", "replicasets"): Hooks(defaults=_workload("replicasets"), foreground_deletion=True),
    ("apps", "daemonsets"): Hooks(defaults=_workload("daemonsets"), foreground_deletion=True),
    ("apps", "statefulsets"): Hooks(defaults=_workload("statefulsets"), foreground_deletion=True),
    ("", "replicationcontrollers"): Hooks(defaults=_workload("replicationcontrollers"), foreground_deletion=True),
    ("autoscaling", "horizontalpodautoscalers"): Hooks(defaults=_workload("horizontalpodautoscalers")),
    ("apiextensions.k8s.io", "customresourcedefinitions"): Hooks(
        defaults=_crd_status, after_delete=_delete_crd_instances, on_change=refresh_custom_resources),
}
COMMON = Hooks()


def hooks(group: str, plural: str) -> Hooks:
    return HOOKS.get((group, plural), COMMON)


def for_resource(resource: ResourceType) -> Hooks:
    return hooks(resource.group, resource.plural)


def apply_defaults(resource: ResourceType, obj: dict[str, Any], store: Store | None = None, previous: dict[str, Any] | None = None) -> None:
    """The API server's defaulting and allocations for ``obj`` (on create and on every update).

    Raises:
        InvalidService: a Service asks for an IP or node port it cannot have.
    """
    defaults = for_resource(resource).defaults
    if defaults is not None:
        defaults(obj, store, previous)


def name_problem(resource: ResourceType, name: Any) -> str | None:
    if not isinstance(name, str) or not name:
        return "name or generateName is required"
    return for_resource(resource).name_rule(name)

