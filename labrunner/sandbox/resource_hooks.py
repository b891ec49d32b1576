"""What the API server does for a resource beyond storing it, one row per resource.

A row says which name rule applies, what is defaulted and allocated on every
write (create, and every update or patch, as the registry's strategies do), what
a create takes from who sends it, what a write must pass that depends on who
sends it, and what deleting means. A resource without a
row is stored as sent, its names checked as RFC 1123 subdomains; so a kind added
to ``resources.py`` needs a row here only if it behaves differently, and the
router never names a resource.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from labrunner.sandbox import names, resources
from labrunner.sandbox.batch_validation import cronjob_defaults, job_defaults
from labrunner.sandbox.defaults import (
    network_policy_defaults,
    secret_defaults,
    service_defaults,
    workload_defaults,
)
from labrunner.sandbox.resources import ResourceType
from labrunner.sandbox.store import Store, now

if TYPE_CHECKING:
    from labrunner.sandbox.authorization import Authorizer, User

Defaults = Callable[[dict[str, Any], "Store | None", "dict[str, Any] | None"], None]
"""(object, the store, the stored object on an update); may raise ``defaults.InvalidService``."""
Requester = Callable[[dict[str, Any], "User"], None]
"""(the new object, who sends it); may raise :class:`Refused`."""
Admit = Callable[[dict[str, Any], "dict[str, Any] | None", "Writer"], None]
"""(the object, the stored one on an update, who writes it); may raise :class:`Refused`."""


class Refused(Exception):
    """A write the API server refuses, as the Status it answers: a 422 that names every invalid
    field (``InvalidService`` names one), an admission plugin's 403, a decoder's 400."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details


@dataclass(frozen=True)
class FieldError:
    """One ``field.Error``: its type (a cause's reason), the field's path and ``ErrorBody()``."""
    reason: str
    field: str
    body: str

    def __str__(self) -> str:
        return f"{self.field}: {self.body}"


def invalid_object(kind: str, group: str, name: str, errors: list[FieldError]) -> Refused:
    """``errors.NewInvalid``: the message aggregates the errors (each said once), the causes list them all."""
    said = list(dict.fromkeys(str(error) for error in errors))
    message = said[0] if len(said) == 1 else f"[{', '.join(said)}]"
    qualified = f"{kind}.{group}" if group else kind
    return Refused(422, "Invalid", f'{qualified} "{name}" is invalid: {message}',
                   {"name": name, **({"group": group} if group else {}), "kind": kind,
                    "causes": [{"reason": error.reason, "message": error.body, "field": error.field} for error in errors]})


def path_segment_problems(name: str) -> list[str]:
    """IsValidPathSegmentName: a name is part of the object's storage key and of its URL."""
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{text}'" for text in ("/", "%") if text in name]


@dataclass(frozen=True)
class Writer:
    """Who sends a write, and what the registry may ask about them: the authoriser (RBAC's
    escalation checks ask it about ``escalate`` and ``bind``) and the store (the role a binding
    refers to)."""
    user: User
    authorizer: Authorizer
    store: Store
    name: str = ""
    """The object's name as the request's URL gives it: none on a POST, the object's on an
    update, a patch, or a server-side apply that creates (what ``escalate`` is asked about)."""


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
    requester: Requester | None = None
    """A create's own steps that need the request's user, after the defaults: what the strategy's
    PrepareForCreate takes from the user, then the create's validation and admission (a CSR's
    ``spec.username``, ``uid``, ``groups`` and ``extra``; certificates.py)."""
    admit: Admit | None = None
    """A create's and every update's checks that need who writes, after the defaults (and the
    requester): what the registry's storage authorises, then the strategy's validation (RBAC
    objects' escalation checks and validation; rbac_validation.py)."""
    finalizers: bool = False
    """Deleting an object that has finalizers only marks it (``deletionTimestamp``); it goes when
    the last is removed, as the API server's graceful deletion does (claims and volumes, whose
    protection finalizers their controllers remove; ``kubectl patch`` removing them by hand)."""


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


def _any_csr_name(name: str) -> str | None:
    """ValidateCertificateRequestName: "We don't care what you call your certificate requests"
    (the one rule left, a name that can be a path segment, is a 400 of the create: certificates.py)."""
    return None


def _csr_create(obj: dict[str, Any], user: User) -> None:
    from labrunner.sandbox.certificates import prepare_create

    prepare_create(obj, user)


def _csr_update(obj: dict[str, Any], store: Store | None, previous: dict[str, Any] | None) -> None:
    from labrunner.sandbox.certificates import keep_on_update

    keep_on_update(obj, previous)


def _rbac_defaults(kind: str) -> Defaults:
    def defaults(obj: dict[str, Any], store: Store | None, previous: dict[str, Any] | None) -> None:
        from labrunner.sandbox.rbac_validation import set_defaults

        set_defaults(kind, obj)

    return defaults


def _rbac_admit(kind: str) -> Admit:
    def admit(obj: dict[str, Any], previous: dict[str, Any] | None, writer: Writer) -> None:
        from labrunner.sandbox.rbac_validation import admit as admit_rbac

        admit_rbac(kind, obj, previous, writer)

    return admit


def _any_rbac_name(name: str) -> str | None:
    """RBAC names are checked as path segments (``system:aggregate-to-admin`` is a name), in the
    422 that lists every invalid field (rbac_validation.py)."""
    return None


def _storage(name: str) -> Defaults:
    def defaults(obj: dict[str, Any], store: Store | None, previous: dict[str, Any] | None) -> None:
        from labrunner.sandbox.storage import api

        getattr(api, name)(obj, store, previous)

    return defaults


def _storage_admit(name: str) -> Admit:
    def admit(obj: dict[str, Any], previous: dict[str, Any] | None, writer: Writer) -> None:
        from labrunner.sandbox.storage import api

        getattr(api, name)(obj, previous, writer)

    return admit


def _limit_range_defaults(obj: dict[str, Any], store: Store | None, previous: dict[str, Any] | None) -> None:
    from labrunner.sandbox.limitranges import set_defaults

    set_defaults(obj)


def _limit_range_admit(obj: dict[str, Any], previous: dict[str, Any] | None, writer: Writer) -> None:
    from labrunner.sandbox.limitranges import problems

    if errors := problems(obj):
        raise invalid_object("LimitRange", "", str(obj["metadata"].get("name", "")), errors)


def _resource_quota_admit(obj: dict[str, Any], previous: dict[str, Any] | None, writer: Writer) -> None:
    """ValidateResourceQuota's quantities: each hard limit a quantity, never negative."""
    from labrunner.sandbox.quantity import parse

    errors: list[FieldError] = []
    for key, value in ((obj.get("spec") or {}).get("hard") or {}).items():
        try:
            if parse(value).value < 0:
                errors.append(FieldError("FieldValueInvalid", f"spec.hard[{key}]", f'Invalid value: "{value}": must be greater than or equal to 0'))
        except ValueError as error:
            errors.append(FieldError("FieldValueInvalid", f"spec.hard[{key}]", f'Invalid value: "{value}": {error}'))
    if errors:
        raise invalid_object("ResourceQuota", "", str(obj["metadata"].get("name", "")), errors)


def _priority_class_defaults(obj: dict[str, Any], store: Store | None, previous: dict[str, Any] | None) -> None:
    from labrunner.sandbox.priority import class_defaults

    class_defaults(obj, store, previous)


def _admit_priority_class(obj: dict[str, Any], previous: dict[str, Any] | None, writer: Writer) -> None:
    from labrunner.sandbox.priority import admit_class

    admit_class(obj, previous, writer.store)


def _ingress(name: str) -> Any:
    def call(*args: Any) -> None:
        from labrunner.sandbox.l7.ingress import objects

        getattr(objects, name)(*args)

    return call


def refresh_custom_resources(store: Store) -> None:
    """Discovery and the router learn the kinds the stored definitions define."""
    definitions = resources.lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions")
    assert definitions is not None
    found: list[ResourceType] = []
    from labrunner.sandbox import customresources

    crds = store.list(definitions)
    for crd in crds:
        found.extend(resources.from_crd(crd))
    resources.set_custom_resources(tuple(found))
    customresources.refresh(crds)


def _custom_defaults(resource: ResourceType) -> Defaults:
    def defaults(obj: dict[str, Any], store: Store | None, previous: dict[str, Any] | None) -> None:
        from labrunner.sandbox import customresources

        version = customresources.version_of(resource.group, resource.version, resource.plural)
        if version is not None:
            customresources.apply_defaults(obj, version.schema)

    return defaults


def _custom_admit(resource: ResourceType) -> Admit:
    def admit(obj: dict[str, Any], previous: dict[str, Any] | None, writer: Writer) -> None:
        from labrunner.sandbox import customresources

        version = customresources.version_of(resource.group, resource.version, resource.plural)
        if version is not None and (errors := customresources.validate(obj, version.schema)):
            raise invalid_object(resource.kind, resource.group, str(obj["metadata"].get("name", "")), errors)

    return admit


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
    ("batch", "jobs"): Hooks(defaults=job_defaults, foreground_deletion=True),
    ("batch", "cronjobs"): Hooks(defaults=cronjob_defaults, foreground_deletion=True),
    ("apiextensions.k8s.io", "customresourcedefinitions"): Hooks(
        defaults=_crd_status, after_delete=_delete_crd_instances, on_change=refresh_custom_resources),
    ("storage.k8s.io", "storageclasses"): Hooks(defaults=_storage("class_defaults"), admit=_storage_admit("admit_class")),
    ("", "persistentvolumes"): Hooks(defaults=_storage("volume_defaults"), admit=_storage_admit("admit_volume"), finalizers=True),
    ("", "persistentvolumeclaims"): Hooks(defaults=_storage("claim_defaults"), admit=_storage_admit("admit_claim"), finalizers=True),
    ("", "limitranges"): Hooks(defaults=_limit_range_defaults, admit=_limit_range_admit),
    ("", "resourcequotas"): Hooks(admit=_resource_quota_admit),
    ("networking.k8s.io", "networkpolicies"): Hooks(defaults=lambda obj, store, previous: network_policy_defaults(obj)),
    ("networking.k8s.io", "ingresses"): Hooks(defaults=_ingress("ingress_defaults"), admit=_ingress("admit_ingress")),
    ("networking.k8s.io", "ingressclasses"): Hooks(admit=_ingress("admit_ingress_class")),
    ("scheduling.k8s.io", "priorityclasses"): Hooks(defaults=_priority_class_defaults, admit=_admit_priority_class),
    ("certificates.k8s.io", "certificatesigningrequests"): Hooks(name_rule=_any_csr_name, defaults=_csr_update, requester=_csr_create),
    **{("rbac.authorization.k8s.io", plural): Hooks(name_rule=_any_rbac_name, defaults=_rbac_defaults(kind), admit=_rbac_admit(kind))
       for plural, kind in (("roles", "Role"), ("clusterroles", "ClusterRole"), ("rolebindings", "RoleBinding"),
                            ("clusterrolebindings", "ClusterRoleBinding"))},
}
COMMON = Hooks()


def hooks(group: str, plural: str) -> Hooks:
    return HOOKS.get((group, plural), COMMON)


def for_resource(resource: ResourceType) -> Hooks:
    if (resource.group, resource.plural) not in HOOKS and resource in resources.custom_resources():
        # a CRD's schema defaults and validates its objects, as apiextensions-apiserver does (customresources.py)
        return Hooks(defaults=_custom_defaults(resource), admit=_custom_admit(resource))
    return hooks(resource.group, resource.plural)


def apply_defaults(resource: ResourceType, obj: dict[str, Any], store: Store | None = None, previous: dict[str, Any] | None = None) -> None:
    """The API server's defaulting and allocations for ``obj`` (on create and on every update).

    Raises:
        InvalidService: a Service asks for an IP or node port it cannot have.
    """
    defaults = for_resource(resource).defaults
    if defaults is not None:
        defaults(obj, store, previous)


def take_requester(resource: ResourceType, obj: dict[str, Any], user: User) -> None:
    """What a create of ``obj`` takes from ``user`` and checks before it is stored (the row's ``requester``).

    Raises:
        Refused: the API server's answer to a create it refuses.
    """
    requester = for_resource(resource).requester
    if requester is not None:
        requester(obj, user)


def admit_write(resource: ResourceType, obj: dict[str, Any], previous: dict[str, Any] | None, writer: Writer) -> None:
    """The checks a create (``previous`` None) or an update of ``obj`` must pass that depend on who
    writes it (the row's ``admit``).

    Raises:
        Refused: the API server's answer to a write it refuses.
    """
    admit = for_resource(resource).admit
    if admit is not None:
        admit(obj, previous, writer)


def name_problem(resource: ResourceType, name: Any) -> str | None:
    if not isinstance(name, str) or not name:
        return "name or generateName is required"
    return for_resource(resource).name_rule(name)

