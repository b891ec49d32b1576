"""What a pod asks of a node, as the scheduler counts it (``resourcehelper.PodRequests``), and
its QoS class (``qos.GetPodQOS``).

CPU is counted in millicores and every other resource in whole units (bytes for memory and
ephemeral-storage), rounded up as ``Quantity.MilliValue`` and ``Quantity.Value`` round.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Any

CPU, MEMORY, EPHEMERAL, PODS = "cpu", "memory", "ephemeral-storage", "pods"
DEFAULT_MILLI_CPU = 100
"""schedutil.DefaultMilliCPURequest: what a container without a CPU request counts as when scoring."""
DEFAULT_MEMORY = 200 * 1024 * 1024
"""schedutil.DefaultMemoryRequest (200 MiB), the same for memory."""

_SUFFIXES: dict[str, int | Decimal] = {"Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60,
             "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "k": 10 ** 3, "M": 10 ** 6,
             "G": 10 ** 9, "T": 10 ** 12, "P": 10 ** 15, "E": 10 ** 18}
_QUANTITY = re.compile(r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?$")

Resources = dict[str, int]
"""Resource name -> amount (millicores for cpu, units for the rest)."""


def amount(name: str, text: Any) -> int:
    """A quantity in the scheduler's unit for ``name``; 0 for what is no quantity (the API
    server refuses those before a pod is stored)."""
    match = _QUANTITY.match(str(text).strip())
    if not match:
        return 0
    try:
        number = Decimal(match.group(1))
    except InvalidOperation:
        return 0
    suffix = match.group(2) or ""
    if suffix[:1] in ("e", "E"):
        number = number.scaleb(int(suffix[1:]))
    elif suffix:
        number *= _SUFFIXES[suffix]
    if name == CPU:
        number *= 1000
    return int(number.to_integral_value(rounding=ROUND_CEILING))


def _container_requests(container: Mapping[str, Any], non_zero: bool = False) -> Resources:
    """A container's requests; a resource with a limit and no request requests its limit (the API
    server's defaulting); ``non_zero``: cpu and memory never 0 (what scoring counts)."""
    resources = container.get("resources") or {}
    declared = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}
    found = {str(name): amount(str(name), value) for name, value in declared.items()}
    if non_zero:
        found[CPU] = found.get(CPU) or DEFAULT_MILLI_CPU
        found[MEMORY] = found.get(MEMORY) or DEFAULT_MEMORY
    return found


def _add(total: Resources, more: Mapping[str, int]) -> None:
    for name, value in more.items():
        total[name] = total.get(name, 0) + value


def _max(total: Resources, other: Mapping[str, int]) -> None:
    for name, value in other.items():
        total[name] = max(total.get(name, 0), value)


def pod_requests(pod: Mapping[str, Any], non_zero: bool = False) -> Resources:
    """``resourcehelper.PodRequests``: the app containers' sum, sidecars (init containers with
    ``restartPolicy: Always``) added; each regular init container with the sidecars started
    before it; the larger of the two, plus the pod's overhead.

    Args:
        pod: the pod.
        non_zero: count a container without a cpu or memory request as the scheduler's defaults
            (100m, 200Mi), as scoring does.
    """
    spec = pod.get("spec") or {}
    total: Resources = {}
    for container in spec.get("containers") or []:
        _add(total, _container_requests(container, non_zero))
    sidecars: Resources = {}
    init_peak: Resources = {}
    for container in spec.get("initContainers") or []:
        asked = _container_requests(container, non_zero)
        if container.get("restartPolicy") == "Always":
            _add(total, asked)
            _add(sidecars, asked)
            asked = dict(sidecars)
        else:
            _add(asked, sidecars)
        _max(init_peak, asked)
    _max(total, init_peak)
    for name, value in (spec.get("overhead") or {}).items():
        total[str(name)] = total.get(str(name), 0) + amount(str(name), value)
    return total


def qos_class(pod: Mapping[str, Any]) -> str:
    """``qos.GetPodQOS``: Guaranteed when every container limits cpu and memory and every request
    equals its limit, BestEffort when none requests or limits either, Burstable otherwise."""
    spec = pod.get("spec") or {}
    requests: Resources = {}
    limits: Resources = {}
    guaranteed = True
    for container in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        resources = container.get("resources") or {}
        asked = {str(k): amount(str(k), v) for k, v in (resources.get("requests") or {}).items() if k in (CPU, MEMORY)}
        capped = {str(k): amount(str(k), v) for k, v in (resources.get("limits") or {}).items() if k in (CPU, MEMORY)}
        for name, value in capped.items():
            asked.setdefault(name, value)  # the API server defaults a request to its limit
        _add(requests, {k: v for k, v in asked.items() if v > 0})
        found = {k: v for k, v in capped.items() if v > 0}
        _add(limits, found)
        if set(found) != {CPU, MEMORY}:
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if guaranteed and all(limits.get(name) == value for name, value in requests.items()) and len(requests) == len(limits):
        return "Guaranteed"
    return "Burstable"
