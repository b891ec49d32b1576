"""Ingresses and IngressClasses as kube-apiserver 1.32 takes them: the DefaultIngressClass
admission plugin on create, then pkg/apis/networking/validation's checks, every invalid field
in one 422 (``Ingress.networking.k8s.io "web" is invalid: spec.rules[0].http.paths[0].pathType:
Required value: pathType must be specified``).
"""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING, Any

from labrunner.sandbox import names, resources
from labrunner.sandbox.resource_hooks import FieldError, invalid_object

if TYPE_CHECKING:
    from labrunner.sandbox.resource_hooks import Writer
    from labrunner.sandbox.store import Store

DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
CLASS_ANNOTATION = "kubernetes.io/ingress.class"
PATH_TYPES = ("Exact", "ImplementationSpecific", "Prefix")
_INVALID_SEQUENCES = ("//", "/./", "/../", "%2f", "%2F")
_INVALID_SUFFIXES = ("/..", "/.")
_WILDCARD_HOST = re.compile(r"^\*\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DOMAIN_PREFIXED = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/\S+$")
_PORT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _classes() -> Any:
    found = resources.lookup("networking.k8s.io", "v1", "ingressclasses")
    assert found is not None
    return found


def is_default_class(ingress_class: dict[str, Any]) -> bool:
    return (ingress_class["metadata"].get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION) == "true"


def default_class_name(store: Store) -> str | None:
    """The class DefaultIngressClass gives an Ingress that names none: the newest of the
    classes marked default (1.28 on; before, several defaults refused the create)."""
    defaults = [c for c in store.list(_classes()) if is_default_class(c)]
    if not defaults:
        return None
    newest = max(defaults, key=lambda c: (str(c["metadata"].get("creationTimestamp", "")), c["metadata"]["name"]))
    return str(newest["metadata"]["name"])


def ingress_defaults(obj: dict[str, Any], store: Store | None, previous: dict[str, Any] | None) -> None:
    """The DefaultIngressClass admission plugin: on create only, and only for an Ingress that
    names no class in either way."""
    if previous is not None or store is None:
        return
    spec = obj.setdefault("spec", {})
    annotations = obj["metadata"].get("annotations") or {}
    if spec.get("ingressClassName") or CLASS_ANNOTATION in annotations:
        return
    name = default_class_name(store)
    if name is not None:
        spec["ingressClassName"] = name


def _backend_errors(backend: Any, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    if not isinstance(backend, dict):
        return [FieldError("FieldValueRequired", path, "Required value")]
    service, resource = backend.get("service"), backend.get("resource")
    if service is not None and resource is not None:
        return [FieldError("FieldValueInvalid", path, 'Invalid value: "": cannot set both resource and service backends')]
    if service is None and resource is None:
        return [FieldError("FieldValueInvalid", path, 'Invalid value: "": resource or service backend is required')]
    if service is not None:
        name = str(service.get("name") or "")
        if not name:
            errors.append(FieldError("FieldValueRequired", f"{path}.service.name", "Required value"))
        elif problem := names.dns1035_label(name):
            errors.append(FieldError("FieldValueInvalid", f"{path}.service.name", problem))
        port = service.get("port") or {}
        has_name, has_number = bool(port.get("name")), port.get("number") is not None
        if has_name and has_number:
            errors.append(FieldError("FieldValueInvalid", f"{path}.service.port", 'Invalid value: "": cannot set both port name & port number'))
        elif has_name:
            if not _PORT_NAME.match(str(port["name"])) or len(str(port["name"])) > 15:
                errors.append(FieldError("FieldValueInvalid", f"{path}.service.port.name",
                                         f'Invalid value: "{port["name"]}": must be no more than 15 characters and a valid IANA_SVC_NAME'))
        elif has_number:
            number = port["number"]
            if not isinstance(number, int) or not 1 <= number <= 65535:
                errors.append(FieldError("FieldValueInvalid", f"{path}.service.port.number",
                                         f"Invalid value: {number}: must be between 1 and 65535, inclusive"))
        else:
            errors.append(FieldError("FieldValueRequired", f"{path}.service.port", "Required value: port name or number is required"))
    return errors


def _host_errors(host: str, path: str) -> list[FieldError]:
    try:
        ipaddress.ip_address(host)
        return [FieldError("FieldValueInvalid", path, f'Invalid value: "{host}": must be a DNS name, not an IP address')]
    except ValueError:
        pass
    if host.startswith("*"):
        if _WILDCARD_HOST.match(host) and len(host) <= 253:
            return []
        return [FieldError("FieldValueInvalid", path, f'Invalid value: "{host}": a wildcard DNS-1123 subdomain must start with \'*.\', '
                           "followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and "
                           "end with an alphanumeric character (e.g. '*.example.com', regex used for validation is "
                           "'\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")]
    problem = names.dns1123_subdomain(host)
    return [FieldError("FieldValueInvalid", path, problem)] if problem else []


def _path_errors(http_path: dict[str, Any], where: str) -> list[FieldError]:
    errors: list[FieldError] = []
    path = http_path.get("path", "")
    path_type = http_path.get("pathType")
    if path_type is None:
        errors.append(FieldError("FieldValueRequired", f"{where}.pathType", "Required value: pathType must be specified"))
    elif path_type not in PATH_TYPES:
        errors.append(FieldError("FieldValueNotSupported", f"{where}.pathType",
                                 f'Unsupported value: "{path_type}": supported values: "Exact", "ImplementationSpecific", "Prefix"'))
    elif path_type in ("Exact", "Prefix"):
        if not str(path).startswith("/"):
            errors.append(FieldError("FieldValueInvalid", f"{where}.path", f'Invalid value: "{path}": must be an absolute path'))
        if path:
            errors += [FieldError("FieldValueInvalid", f"{where}.path", f"Invalid value: \"{path}\": must not contain '{sequence}'")
                       for sequence in _INVALID_SEQUENCES if sequence in path]
            errors += [FieldError("FieldValueInvalid", f"{where}.path", f"Invalid value: \"{path}\": cannot end with '{suffix}'")
                       for suffix in _INVALID_SUFFIXES if str(path).endswith(suffix)]
    elif path and not str(path).startswith("/"):
        errors.append(FieldError("FieldValueInvalid", f"{where}.path", f'Invalid value: "{path}": must be an absolute path'))
    return errors + _backend_errors(http_path.get("backend"), f"{where}.backend")


def ingress_problems(obj: dict[str, Any]) -> list[FieldError]:
    """ValidateIngressSpec and the class checks of ValidateIngressCreate, in their order."""
    spec = obj.get("spec") or {}
    errors: list[FieldError] = []
    rules = spec.get("rules") or []
    if not rules and spec.get("defaultBackend") is None:
        errors.append(FieldError("FieldValueInvalid", "spec", 'Invalid value: "": either `defaultBackend` or `rules` must be specified'))
    if spec.get("defaultBackend") is not None:
        errors += _backend_errors(spec["defaultBackend"], "spec.defaultBackend")
    for index, rule in enumerate(rules):
        if rule.get("host"):
            errors += _host_errors(str(rule["host"]), f"spec.rules[{index}].host")
        http = rule.get("http")
        if http is None:
            continue
        paths = http.get("paths") or []
        if not paths:
            errors.append(FieldError("FieldValueRequired", f"spec.rules[{index}].http.paths", "Required value"))
        for number, http_path in enumerate(paths):
            errors += _path_errors(http_path, f"spec.rules[{index}].http.paths[{number}]")
    class_name = spec.get("ingressClassName")
    if class_name is not None and (problem := names.dns1123_subdomain(str(class_name))):
        errors.append(FieldError("FieldValueInvalid", "spec.ingressClassName", problem))
    annotation = (obj["metadata"].get("annotations") or {}).get(CLASS_ANNOTATION)
    if annotation is not None and class_name is not None and annotation != class_name:
        errors.append(FieldError("FieldValueInvalid", f"annotations.{CLASS_ANNOTATION}",
                                 f'Invalid value: "{annotation}": must match `ingressClassName` when both are specified'))
    return errors


def admit_ingress(obj: dict[str, Any], previous: dict[str, Any] | None, writer: Writer) -> None:
    """Raises:
        Refused: a 422 naming every invalid field."""
    if errors := ingress_problems(obj):
        raise invalid_object("Ingress", "networking.k8s.io", str(obj["metadata"].get("name", "")), errors)


def admit_ingress_class(obj: dict[str, Any], previous: dict[str, Any] | None, writer: Writer) -> None:
    """ValidateIngressClass (and its update: the controller is immutable).

    Raises:
        Refused: a 422 naming every invalid field."""
    controller = str((obj.get("spec") or {}).get("controller") or "")
    errors: list[FieldError] = []
    if not controller:
        errors.append(FieldError("FieldValueRequired", "spec.controller", "Required value"))
    elif len(controller) > 250:
        errors.append(FieldError("FieldValueTooLong", "spec.controller", "Too long: may not be more than 250 bytes"))
    elif not _DOMAIN_PREFIXED.match(controller):
        errors.append(FieldError("FieldValueInvalid", "spec.controller", f'Invalid value: "{controller}": must be a domain-prefixed path (such as "acme.io/foo")'))
    if previous is not None and controller != str((previous.get("spec") or {}).get("controller") or ""):
        errors.append(FieldError("FieldValueInvalid", "spec.controller", f'Invalid value: "{controller}": field is immutable'))
    if errors:
        raise invalid_object("IngressClass", "networking.k8s.io", str(obj["metadata"].get("name", "")), errors)
