"""A container's environment variables, as the kubelet builds them.

In the kubelet's order (pkg/kubelet/kubelet_pods.go ``makeEnvironmentVariables``): the
Service variables of the pod's namespace (``MYSQL_SERVICE_HOST``, ``MYSQL_PORT_3306_TCP``...,
unless ``enableServiceLinks: false``; ``KUBERNETES_SERVICE_*`` always), then ``envFrom``
(ConfigMaps and Secrets, with their ``prefix``; keys that are not valid variable names
skipped), then ``env`` (plain values with ``$(VAR)`` references expanded, ``configMapKeyRef``,
``secretKeyRef``, ``fieldRef`` and ``resourceFieldRef``). The image's own variables (PATH,
HOME) come first and the container's override them.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

IMAGE_DEFAULTS = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root"}
_REFERENCE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")

Lookup = Callable[[str, str], Mapping[str, Any] | None]
"""(kind, name) -> a ConfigMap (``configmaps``) or Secret (``secrets``) of the pod's namespace."""


def _data(found: Mapping[str, Any] | None, secret: bool) -> dict[str, str]:
    if found is None:
        return {}
    values = {str(k): (base64.b64decode(v).decode(errors="replace") if secret else str(v)) for k, v in (found.get("data") or {}).items()}
    if secret:
        values.update({str(k): str(v) for k, v in (found.get("stringData") or {}).items()})
    return values


def expand(value: str, environment: Mapping[str, str]) -> str:
    """``$(VAR)`` becomes VAR's value when it is defined earlier, and stays as written when not;
    ``$$`` is a ``$``."""
    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return environment.get(match.group(1), match.group(0))
    return _REFERENCE.sub(replace, value)


def _field(pod: Mapping[str, Any], path: str) -> str | None:
    """A ``fieldRef``: what the downward API volume gives (volumes.field_value), plus the
    fields only variables may name (node, service account, addresses)."""
    from labrunner.sandbox.volumes import MountFailure, field_value

    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    extra = {"spec.nodeName": spec.get("nodeName"), "spec.serviceAccountName": spec.get("serviceAccountName"),
             "status.hostIP": status.get("hostIP"), "status.hostIPs": status.get("hostIP"), "status.podIP": status.get("podIP"),
             "status.podIPs": ",".join(str(entry.get("ip")) for entry in status.get("podIPs") or [])}
    if path in extra:
        return None if extra[path] is None else str(extra[path])
    try:
        return field_value(pod, path)
    except MountFailure:
        return None


def service_variables(services: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Docker-link style variables for each Service with a cluster IP (the kubelet's
    ``getServiceEnvVarMap``)."""
    found: dict[str, str] = {}
    for service in sorted(services, key=lambda s: str((s.get("metadata") or {}).get("name"))):
        spec = service.get("spec") or {}
        address = spec.get("clusterIP")
        ports = spec.get("ports") or []
        if not address or address == "None" or not ports:
            continue
        prefix = str(service["metadata"]["name"]).upper().replace("-", "_")
        found[f"{prefix}_SERVICE_HOST"] = str(address)
        found[f"{prefix}_SERVICE_PORT"] = str(ports[0].get("port"))
        for port in ports:
            if port.get("name"):
                found[f"{prefix}_SERVICE_PORT_{str(port['name']).upper().replace('-', '_')}"] = str(port.get("port"))
        first = ports[0]
        protocol = str(first.get("protocol", "TCP"))
        found[f"{prefix}_PORT"] = f"{protocol.lower()}://{address}:{first.get('port')}"
        for port in ports:
            protocol = str(port.get("protocol", "TCP"))
            base = f"{prefix}_PORT_{port.get('port')}_{protocol}"
            found[base] = f"{protocol.lower()}://{address}:{port.get('port')}"
            found[f"{base}_PROTO"] = protocol.lower()
            found[f"{base}_PORT"] = str(port.get("port"))
            found[f"{base}_ADDR"] = str(address)
    return found


def container_environment(pod: Mapping[str, Any], container: Mapping[str, Any], lookup: Lookup,
                          services: Sequence[Mapping[str, Any]] | None = None,
                          node_lookup: Callable[[str], Mapping[str, Any] | None] | None = None) -> dict[str, str]:
    """The environment the container's processes see. ``services``: the Services of the pod's
    namespace plus ``kubernetes`` in default (for the link variables)."""
    spec = pod.get("spec") or {}
    environment = dict(IMAGE_DEFAULTS)
    environment["HOSTNAME"] = str(spec.get("hostname") or (pod.get("metadata") or {}).get("name", ""))
    chosen = [s for s in services or [] if spec.get("enableServiceLinks", True) or (s.get("metadata") or {}).get("name") == "kubernetes"]
    environment.update(service_variables(chosen))
    environment.setdefault("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    environment.setdefault("KUBERNETES_SERVICE_PORT", "443")
    declared: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        prefix = str(source.get("prefix") or "")
        for field, kind in (("configMapRef", "configmaps"), ("secretRef", "secrets")):
            reference = source.get(field)
            if reference:
                for key, text in _data(lookup(kind, str(reference.get("name", ""))), kind == "secrets").items():
                    if re.fullmatch(r"[-._a-zA-Z][-._a-zA-Z0-9]*", prefix + key):
                        declared[prefix + key] = text
    for variable in container.get("env") or []:
        name = str(variable.get("name"))
        if "value" in variable:
            declared[name] = expand(str(variable["value"]), {**environment, **declared})
            continue
        source = variable.get("valueFrom") or {}
        value: str | None = None
        if source.get("secretKeyRef") or source.get("configMapKeyRef"):
            secret = "secretKeyRef" in source
            reference = source.get("secretKeyRef") or source.get("configMapKeyRef") or {}
            value = _data(lookup("secrets" if secret else "configmaps", str(reference.get("name", ""))), secret).get(str(reference.get("key", "")))
        elif source.get("fieldRef"):
            value = _field(pod, str(source["fieldRef"].get("fieldPath", "")))
        elif source.get("resourceFieldRef"):
            from labrunner.sandbox.volumes import MountFailure, resource_value

            reference = {**source["resourceFieldRef"]}
            reference["containerName"] = reference.get("containerName") or container.get("name")
            try:
                value = resource_value(pod, reference, node_lookup)
            except MountFailure:
                value = None
        if value is not None:
            declared[name] = value
        elif "value" not in variable and not source:
            declared[name] = ""
    environment.update(declared)
    return environment
