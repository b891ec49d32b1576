"""LimitRanges as kube-apiserver defaults, validates and enforces them.

- A LimitRange's own defaults (SetDefaults_LimitRangeItem): for type Container, a ``max``
  without a ``default`` is the default limit; a default limit without a ``defaultRequest`` is
  the default request, else ``min`` is.
- Its validation (ValidateLimitRange): the type, ``default``/``defaultRequest`` forbidden for
  type Pod, a PVC item needing a storage min or max, and min <= defaultRequest <= default <= max,
  ``maxLimitRequestRatio`` >= 1 and within max/min, each in the API server's words.
- The LimitRanger admission plugin, on a pod's create: every container (and init container)
  without a request or limit for a resource gets the LimitRange's default, the pod is annotated
  ``kubernetes.io/limit-ranger: LimitRanger plugin set: cpu request for container web``; then
  min, max and ratio per Container and per Pod, and a claim's storage request per
  PersistentVolumeClaim. A refusal is ``pods "x" is forbidden: maximum cpu usage per Container
  is 500m, but limit is 1``, every broken constraint said (Go lists them in map order; here
  they are sorted by resource).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from labrunner.sandbox.quantity import Quantity, parse
from labrunner.sandbox.resource_hooks import FieldError

ANNOTATION = "kubernetes.io/limit-ranger"
TYPES = ("Pod", "Container", "PersistentVolumeClaim")
NO_OVERCOMMIT_PREFIXES = ("hugepages-",)


def _quantities(raw: Any) -> dict[str, Quantity]:
    found: dict[str, Quantity] = {}
    for key, value in (raw or {}).items() if isinstance(raw, Mapping) else ():
        try:
            found[str(key)] = parse(value)
        except ValueError:
            continue  # the API server refused it when the object was written
    return found


def set_defaults(obj: dict[str, Any]) -> None:
    """SetDefaults_LimitRangeItem for every item of type Container."""
    for item in (obj.get("spec") or {}).get("limits") or ():
        if not isinstance(item, dict) or item.get("type") != "Container":
            continue
        default = item.setdefault("default", {})
        request = item.setdefault("defaultRequest", {})
        for key, value in (item.get("max") or {}).items():
            default.setdefault(key, value)
        for key, value in default.items():
            request.setdefault(key, value)
        for key, value in (item.get("min") or {}).items():
            request.setdefault(key, value)
        if not default:
            del item["default"]
        if not request:
            del item["defaultRequest"]


def _invalid(path: str, shown: Quantity, detail: str) -> FieldError:
    return FieldError("FieldValueInvalid", path, f'Invalid value: "{shown}": {detail}')


def problems(obj: dict[str, Any]) -> list[FieldError]:
    """ValidateLimitRange's spec rules (resource names are taken as given)."""
    errors: list[FieldError] = []
    for index, item in enumerate((obj.get("spec") or {}).get("limits") or ()):
        path = f"spec.limits[{index}]"
        item = item if isinstance(item, dict) else {}
        kind = str(item.get("type") or "")
        if kind not in TYPES:
            errors.append(FieldError("FieldValueNotSupported" if kind else "FieldValueRequired", f"{path}.type",
                                     f'Unsupported value: "{kind}": supported values: "Container", "PersistentVolumeClaim", "Pod"'
                                     if kind else "Required value"))
        for field in ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio"):
            for key, value in (item.get(field) or {}).items():
                try:
                    parse(value)
                except ValueError as error:
                    errors.append(FieldError("FieldValueInvalid", f"{path}.{field}[{key}]", f'Invalid value: "{value}": {error}'))
        low, high = _quantities(item.get("min")), _quantities(item.get("max"))
        default, request, ratio = {}, {}, _quantities(item.get("maxLimitRequestRatio"))
        if kind == "Pod":
            for field in ("default", "defaultRequest"):
                if item.get(field):
                    errors.append(FieldError("FieldValueForbidden", f"{path}.{field}", "Forbidden: may not be specified when `type` is 'Pod'"))
        else:
            default, request = _quantities(item.get("default")), _quantities(item.get("defaultRequest"))
        if kind == "PersistentVolumeClaim" and "storage" not in low and "storage" not in high:
            errors.append(FieldError("FieldValueRequired", f"{path}.limits",
                                     "Required value: either minimum or maximum storage value is required, but neither was provided"))
        for key in sorted({*low, *high, *default, *request, *ratio}):
            errors += _resource_problems(path, key, low.get(key), high.get(key), default.get(key), request.get(key), ratio.get(key))
    return errors


def _resource_problems(path: str, key: str, low: Quantity | None, high: Quantity | None, default: Quantity | None,
                       request: Quantity | None, ratio: Quantity | None) -> list[FieldError]:
    errors: list[FieldError] = []
    if low and high and low.value > high.value:
        errors.append(_invalid(f"{path}.min[{key}]", low, f"min value {low} is greater than max value {high}"))
    if request and low and low.value > request.value:
        errors.append(_invalid(f"{path}.defaultRequest[{key}]", request, f"min value {low} is greater than default request value {request}"))
    if request and high and request.value > high.value:
        errors.append(_invalid(f"{path}.defaultRequest[{key}]", request, f"default request value {request} is greater than max value {high}"))
    if request and default and request.value > default.value:
        errors.append(_invalid(f"{path}.defaultRequest[{key}]", request,
                               f"default request value {request} is greater than default limit value {default}"))
    if default and low and low.value > default.value:
        errors.append(_invalid(f"{path}.default[{key}]", low, f"min value {low} is greater than default value {default}"))
    if default and high and default.value > high.value:
        errors.append(_invalid(f"{path}.default[{key}]", high, f"default value {default} is greater than max value {high}"))
    if ratio and ratio.value < 1:
        errors.append(_invalid(f"{path}.maxLimitRequestRatio[{key}]", ratio, f"ratio {ratio} is less than 1"))
    if ratio and low and high and low.value > 0 and ratio.value > high.value / low.value:
        errors.append(_invalid(f"{path}.maxLimitRequestRatio[{key}]", ratio,
                               f"ratio {ratio} is greater than max/min = {float(high.value / low.value):f}"))
    if key.startswith(NO_OVERCOMMIT_PREFIXES) and default and request and default.value != request.value:
        errors.append(_invalid(f"{path}.defaultRequest[{key}]", request,
                               f"default value {default} must equal to defaultRequest value {request} in {key}"))
    return errors


# -- the admission plugin ------------------------------------------------------------------------


def _containers(pod: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    spec = pod.get("spec") or {}
    return ([("container", c) for c in spec.get("containers") or () if isinstance(c, dict)]
            + [("init container", c) for c in spec.get("initContainers") or () if isinstance(c, dict)])


def default_pod(pod: dict[str, Any], ranges: Iterable[Mapping[str, Any]]) -> None:
    """PodMutateLimitFunc for each LimitRange in turn: missing requests and limits defaulted,
    and the annotation saying which."""
    for limit_range in ranges:
        limits: dict[str, Any] = {}
        requests: dict[str, Any] = {}
        for item in (limit_range.get("spec") or {}).get("limits") or ():
            if isinstance(item, dict) and item.get("type") == "Container":
                requests.update(item.get("defaultRequest") or {})
                limits.update(item.get("default") or {})
        said: list[str] = []
        for label, container in _containers(pod):
            resources = container.get("resources")
            if not isinstance(resources, dict):
                resources = container["resources"] = {}
            own_limits, own_requests = resources.setdefault("limits", {}), resources.setdefault("requests", {})
            set_limits = sorted(key for key in limits if key not in own_limits)
            set_requests = sorted(key for key in requests if key not in own_requests)
            own_limits.update({key: limits[key] for key in set_limits})
            own_requests.update({key: requests[key] for key in set_requests})
            if set_requests:
                said.append(f"{', '.join(set_requests)} request for {label} {container.get('name', '')}")
            if set_limits:
                said.append(f"{', '.join(set_limits)} limit for {label} {container.get('name', '')}")
            for key in ("limits", "requests"):
                if not resources[key]:
                    del resources[key]
        if said:
            pod.setdefault("metadata", {}).setdefault("annotations", {})[ANNOTATION] = "LimitRanger plugin set: " + "; ".join(said)


def _comparable(*quantities: Quantity | None) -> list[Decimal]:
    """requestLimitEnforcedValues: the values compared in milli-units (Go's int64 arithmetic
    rounds each up to a milli-unit first)."""
    return [Decimal(q.milli) if q is not None else Decimal(0) for q in quantities]


def _min(kind: str, key: str, enforced: Quantity, requests: Mapping[str, Quantity], limits: Mapping[str, Quantity]) -> str:
    request, limit = requests.get(key), limits.get(key)
    observed_request, observed_limit, value = _comparable(request, limit, enforced)
    if request is None:
        return f"minimum {key} usage per {kind} is {enforced}.  No request is specified"
    if observed_request < value:
        return f"minimum {key} usage per {kind} is {enforced}, but request is {request}"
    if limit is not None and observed_limit < value:
        return f"minimum {key} usage per {kind} is {enforced}, but limit is {limit}"
    return ""


def _max(kind: str, key: str, enforced: Quantity, requests: Mapping[str, Quantity], limits: Mapping[str, Quantity]) -> str:
    request, limit = requests.get(key), limits.get(key)
    observed_request, observed_limit, value = _comparable(request, limit, enforced)
    if limit is None:
        return f"maximum {key} usage per {kind} is {enforced}.  No limit is specified"
    if observed_limit > value:
        return f"maximum {key} usage per {kind} is {enforced}, but limit is {limit}"
    if request is not None and observed_request > value:
        return f"maximum {key} usage per {kind} is {enforced}, but request is {request}"
    return ""


def _max_request(kind: str, key: str, enforced: Quantity, requests: Mapping[str, Quantity]) -> str:
    request = requests.get(key)
    if request is None:
        return f"maximum {key} usage per {kind} is {enforced}.  No request is specified"
    observed, _, value = _comparable(request, None, enforced)
    return f"maximum {key} usage per {kind} is {enforced}, but request is {request}" if observed > value else ""


def _ratio(kind: str, key: str, enforced: Quantity, requests: Mapping[str, Quantity], limits: Mapping[str, Quantity]) -> str:
    request, limit = requests.get(key), limits.get(key)
    observed_request, observed_limit, _ = _comparable(request, limit, enforced)
    if request is None or observed_request == 0:
        return f"{key} max limit to request ratio per {kind} is {enforced}, but no request is specified or request is 0"
    if limit is None or observed_limit == 0:
        return f"{key} max limit to request ratio per {kind} is {enforced}, but no limit is specified or limit is 0"
    observed = observed_limit / observed_request
    if observed * 1000 > enforced.milli:
        return f"{key} max limit to request ratio per {kind} is {enforced}, but provided ratio is {float(observed):f}"
    return ""


def _check(kind: str, item: Mapping[str, Any], requests: Mapping[str, Quantity], limits: Mapping[str, Quantity]) -> list[str]:
    found = [_min(kind, key, value, requests, limits) for key, value in sorted(_quantities(item.get("min")).items())]
    found += [_max(kind, key, value, requests, limits) for key, value in sorted(_quantities(item.get("max")).items())]
    found += [_ratio(kind, key, value, requests, limits) for key, value in sorted(_quantities(item.get("maxLimitRequestRatio")).items())]
    return [text for text in found if text]


def pod_totals(pod: Mapping[str, Any], field: str) -> dict[str, Quantity]:
    """The pod's requests or limits as the scheduler and quota count them: the app containers and
    restartable (sidecar) init containers summed, each other init container's own taken instead
    where larger, then the pod's overhead added."""
    spec = pod.get("spec") or {}

    def own(container: Mapping[str, Any]) -> dict[str, Quantity]:
        return _quantities((container.get("resources") or {}).get(field))

    def add(into: dict[str, Quantity], more: Mapping[str, Quantity]) -> None:
        for key, value in more.items():
            into[key] = into[key] + value if key in into else value

    totals: dict[str, Quantity] = {}
    for container in spec.get("containers") or ():
        add(totals, own(container))
    sidecars: dict[str, Quantity] = {}
    largest: dict[str, Quantity] = {}
    for container in spec.get("initContainers") or ():
        if container.get("restartPolicy") == "Always":
            add(totals, own(container))
            add(sidecars, own(container))
            running = dict(sidecars)
        else:
            running = dict(sidecars)
            add(running, own(container))
        for key, value in running.items():
            if key not in largest or value.value > largest[key].value:
                largest[key] = value
    for key, value in largest.items():
        if key not in totals or value.value > totals[key].value:
            totals[key] = value
    add(totals, _quantities(spec.get("overhead")))
    return totals


def violations(obj: Mapping[str, Any], plural: str, ranges: Iterable[Mapping[str, Any]]) -> list[str]:
    """PodValidateLimitFunc or PersistentVolumeClaimValidateLimitFunc over every LimitRange."""
    found: list[str] = []
    for limit_range in ranges:
        for item in (limit_range.get("spec") or {}).get("limits") or ():
            if not isinstance(item, dict):
                continue
            kind = item.get("type")
            if plural == "pods" and kind == "Container":
                for _, container in _containers(obj):
                    resources = container.get("resources") or {}
                    found += _check("Container", item, _quantities(resources.get("requests")), _quantities(resources.get("limits")))
            elif plural == "pods" and kind == "Pod":
                found += _check("Pod", item, pod_totals(obj, "requests"), pod_totals(obj, "limits"))
            elif plural == "persistentvolumeclaims" and kind == "PersistentVolumeClaim":
                requests = _quantities(((obj.get("spec") or {}).get("resources") or {}).get("requests"))
                found += [_min("PersistentVolumeClaim", key, value, requests, {})
                          for key, value in sorted(_quantities(item.get("min")).items())]
                found += [_max_request("PersistentVolumeClaim", key, value, requests)
                          for key, value in sorted(_quantities(item.get("max")).items())]
    return [text for text in found if text]
