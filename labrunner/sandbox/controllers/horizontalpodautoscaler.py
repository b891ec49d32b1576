"""The horizontal pod autoscaler, as kube-controller-manager's (pkg/controller/podautoscaler:
horizontal.go and replica_calculator.go, with its default flags).

Every sync period (15 s, scaled) each HPA reads its target's scale (a Deployment, ReplicaSet,
StatefulSet or ReplicationController), asks metrics.k8s.io (:mod:`labrunner.sandbox.metrics`)
for its pods' usage, computes the replicas its Resource and ContainerResource metrics want
(utilization of requests or an average value, within the 0.1 tolerance, unready and missing
pods handled as the replica calculator does), stabilizes and limits the recommendation by its
behavior, writes the target's spec.replicas and records status, conditions and events in the
controller's own words. Custom, object and external metrics are not served in the sandbox: an
HPA that names them says so as a real cluster without those APIs does.
"""

from __future__ import annotations

import copy
import math
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

from labrunner.sandbox import metrics, resources
from labrunner.sandbox.controllers.events import EVENTS
from labrunner.sandbox.controllers.shared import PODS, Cluster
from labrunner.sandbox.selectors import SelectorError, label_selector
from labrunner.sandbox.store import NotFound, now, seconds
from labrunner.sandbox.timescale import TIME_SCALE

HPAS = resources.lookup("autoscaling", "v2", "horizontalpodautoscalers")
COMPONENT = "horizontal-pod-autoscaler"

SYNC_PERIOD = 15.0
"""--horizontal-pod-autoscaler-sync-period."""
TOLERANCE = 0.1
"""--horizontal-pod-autoscaler-tolerance."""
CPU_INITIALIZATION_PERIOD = 300.0
"""--horizontal-pod-autoscaler-cpu-initialization-period (5 minutes)."""
INITIAL_READINESS_DELAY = 30.0
"""--horizontal-pod-autoscaler-initial-readiness-delay."""
DOWNSCALE_STABILIZATION = 300.0
"""--horizontal-pod-autoscaler-downscale-stabilization: a scaleDown rule without a window."""
IDLE_TICK = 5.0
"""The control loop's longest sleep (loop.IDLE): a sync due sooner keeps it ticking."""


class MetricError(Exception):
    """A metric the controller cannot compute a replica count from; the message is the controller's."""


@dataclass
class ScaleEvent:
    change: int
    at: float
    outdated: bool = False


@dataclass
class Memory:
    """What the controller keeps between syncs, by HPA (namespace/name), as HorizontalController's maps."""

    next_sync: dict[str, float] = field(default_factory=dict)
    recommendations: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    scale_up: dict[str, list[ScaleEvent]] = field(default_factory=dict)
    scale_down: dict[str, list[ScaleEvent]] = field(default_factory=dict)
    events: dict[tuple[str, str, str], str] = field(default_factory=dict)


_MEMORY: weakref.WeakKeyDictionary[Cluster, Memory] = weakref.WeakKeyDictionary()


def reconcile(cluster: Cluster) -> None:
    assert HPAS is not None
    memory = _MEMORY.setdefault(cluster, Memory())
    clock = time.time()
    period = SYNC_PERIOD * TIME_SCALE
    present = set()
    for hpa in cluster.store.list(HPAS):
        key = f"{hpa['metadata']['namespace']}/{hpa['metadata']['name']}"
        present.add(key)
        due = memory.next_sync.setdefault(key, clock + period)  # a new HPA is queued with the resync delay
        if clock >= due:
            memory.next_sync[key] = clock + period
            try:
                _sync(cluster, memory, hpa, key)
            except Exception as error:  # an HPA the controller cannot make sense of
                cluster.skip(HPAS, hpa, COMPONENT, error)
        if memory.next_sync[key] - clock < IDLE_TICK:
            cluster.pending = True
    for key in [key for key in memory.next_sync if key not in present]:
        for table in (memory.next_sync, memory.recommendations, memory.scale_up, memory.scale_down):
            table.pop(key, None)


# -- one sync (reconcileAutoscaler) ----------------------------------------------------------


def _sync(cluster: Cluster, memory: Memory, hpa: dict[str, Any], key: str) -> None:
    assert HPAS is not None
    original = copy.deepcopy(hpa.get("status") or {})
    status: dict[str, Any] = copy.deepcopy(original)
    spec = hpa.get("spec") or {}
    reference = spec.get("scaleTargetRef") or {}
    namespace = str(hpa["metadata"]["namespace"])
    target_resource = resources.by_kind(str(reference.get("apiVersion", "")), str(reference.get("kind", "")))
    target: dict[str, Any] | None = None
    problem = ""
    if target_resource is None or not any(sub[0] == "scale" for sub in target_resource.subresources):
        group = str(reference.get("apiVersion", "")).rpartition("/")[0]
        problem = f'no matches for kind "{reference.get("kind", "")}" in group "{group}"'
    else:
        try:
            target = cluster.store.get(target_resource, namespace, str(reference.get("name", "")))
        except NotFound:
            problem = f'{target_resource.describe()} "{reference.get("name", "")}" not found'
    if target is None or target_resource is None:
        _event(cluster, memory, hpa, "FailedGetScale", problem)
        _condition(status, "AbleToScale", "False", "FailedGetScale", f"the HPA controller was unable to get the target's current scale: {problem}")
        _save_status(cluster, hpa, original, status)
        return
    _condition(status, "AbleToScale", "True", "SucceededGetScale", "the HPA controller was able to get the target's current scale")
    current = int((target.get("spec") or {}).get("replicas", 1))
    memory.recommendations.setdefault(key, [(current, time.time())])
    minimum = int(spec.get("minReplicas") or 1)
    maximum = int(spec.get("maxReplicas") or 0)
    statuses: list[dict[str, Any]] = []
    reason = ""
    rescale = True
    if current == 0 and minimum != 0:
        desired, rescale = 0, False
        _condition(status, "ScalingActive", "False", "ScalingDisabled", "scaling is disabled since the replica count of the target is zero")
    elif current > maximum:
        desired, reason = maximum, "Current number of replicas above Spec.MaxReplicas"
    elif current < minimum:
        desired, reason = minimum, "Current number of replicas below Spec.MinReplicas"
    else:
        try:
            proposed, metric_name, statuses = _replicas_for_metrics(cluster, memory, hpa, target, current, status)
        except _AllInvalid as failed:
            _set_status(status, current, int(status.get("desiredReplicas") or 0), failed.statuses, rescale=False)
            _save_status(cluster, hpa, original, status)
            _event(cluster, memory, hpa, "FailedComputeMetricsReplicas", str(failed))
            return
        desired = max(proposed, 0)
        if desired > current:
            reason = f"{metric_name} above target"
        if desired < current:
            reason = "All metrics below target"
        desired = _normalize(memory, key, spec, status, current, desired, minimum, maximum)
        rescale = desired != current
    if rescale:
        target["spec"]["replicas"] = desired
        cluster.save(target_resource, target)
        _condition(status, "AbleToScale", "True", "SucceededRescale", f"the HPA controller was able to update the target scale to {desired}")
        cluster.event(hpa, "SuccessfulRescale", f"New size: {desired}; reason: {reason}", component=COMPONENT)
        _store_scale_event(memory, spec, key, current, desired)
    else:
        desired = current
    _set_status(status, current, desired, statuses, rescale)
    _save_status(cluster, hpa, original, status)


class _AllInvalid(Exception):
    def __init__(self, message: str, statuses: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.statuses = statuses


def _replicas_for_metrics(cluster: Cluster, memory: Memory, hpa: dict[str, Any], target: dict[str, Any], current: int,
                          status: dict[str, Any]) -> tuple[int, str, list[dict[str, Any]]]:
    """computeReplicasForMetrics: the largest proposal of the valid metrics, their statuses."""
    selector = scale_selector(target)
    if not selector:
        _event(cluster, memory, hpa, "SelectorRequired", "selector is required")
        _condition(status, "ScalingActive", "False", "InvalidSelector", "the HPA target's scale is missing a selector")
        raise _AllInvalid("selector is required", [])
    try:
        matches = label_selector(selector)
    except SelectorError as error:
        message = f"couldn't convert selector into a corresponding internal selector object: {error}"
        _event(cluster, memory, hpa, "InvalidSelector", message)
        _condition(status, "ScalingActive", "False", "InvalidSelector", message)
        raise _AllInvalid(message, []) from error
    namespace = str(hpa["metadata"]["namespace"])
    pods = [p for p in cluster.store.list(PODS, namespace) if matches(p["metadata"].get("labels") or {})]
    server = metrics.serving(cluster.store)
    specs = (hpa.get("spec") or {}).get("metrics") or []
    statuses: list[dict[str, Any]] = [{"type": ""} for _ in specs]
    replicas, chosen = 0, ""
    invalid, first_error, first_condition = 0, "", ("", "")
    for index, metric in enumerate(specs):
        try:
            proposal, name, statuses[index] = _replicas_for_metric(metric, pods, server, current)
        except MetricError as error:
            reason, message = error.args[0], error.args[1]
            _event(cluster, memory, hpa, reason, _cause(error))
            if invalid == 0:
                first_error, first_condition = message, (reason, f"the HPA was unable to compute the replica count: {_cause(error)}")
            invalid += 1
            continue
        if replicas == 0 or proposal > replicas:
            replicas, chosen = proposal, name
    if invalid and (invalid >= len(specs) or replicas < current):
        _condition(status, "ScalingActive", "False", *first_condition)
        raise _AllInvalid(f"invalid metrics ({invalid} invalid out of {len(specs)}), first error is: {first_error}", statuses)
    _condition(status, "ScalingActive", "True", "ValidMetricFound", f"the HPA was able to successfully calculate a replica count from {chosen}")
    return replicas, chosen, statuses


def _cause(error: MetricError) -> str:
    """The error a metric's condition and event give (computeStatusFor...Metric's)."""
    return str(error.args[2])


def _replicas_for_metric(metric: dict[str, Any], pods: list[dict[str, Any]], server: metrics.MetricsServer | None,
                         current: int) -> tuple[int, str, dict[str, Any]]:
    """computeReplicasForMetric for one MetricSpec: (replicas, its name in events, its status).

    Raises:
        MetricError: (condition reason, the error as computeReplicasForMetrics reports it, the cause).
    """
    kind = metric.get("type")
    if kind in ("Resource", "ContainerResource"):
        source = metric.get("resource" if kind == "Resource" else "containerResource") or {}
        resource_name, container = str(source.get("name", "")), str(source.get("container", "")) if kind == "ContainerResource" else ""
        target = source.get("target") or {}
        try:
            replicas, current_value, label = resource_replicas(pods, server, current, resource_name, container, target)
        except MetricError as error:
            reason = "FailedGetResourceMetric" if kind == "Resource" else "FailedGetContainerResourceMetric"
            outer = f"failed to get {resource_name} resource metric value" if kind == "Resource" else f"failed to get {container} container metric value"
            raise MetricError(reason, f"{outer}: {error}", error) from error
        if kind == "ContainerResource":
            label = label.replace(" resource ", " container resource ")
            return replicas, label, {"type": kind, "containerResource": {"name": resource_name, "container": container, "current": current_value}}
        return replicas, label, {"type": kind, "resource": {"name": resource_name, "current": current_value}}
    if kind in ("Pods", "Object"):
        name = str(((metric.get("pods" if kind == "Pods" else "object") or {}).get("metric") or {}).get("name", ""))
        cause = (f"unable to get metric {name}: unable to fetch metrics from custom metrics API: "
                 "no custom metrics API (custom.metrics.k8s.io) registered (the labrunner sandbox serves none)")
        raise MetricError(f"FailedGet{kind}Metric", f"failed to get {kind.lower()} metric value: {cause}", cause)
    if kind == "External":
        name = str(((metric.get("external") or {}).get("metric") or {}).get("name", ""))
        cause = (f"unable to get external metric {name}: unable to fetch metrics from external metrics API: "
                 "no external metrics API (external.metrics.k8s.io) registered (the labrunner sandbox serves none)")
        raise MetricError("FailedGetExternalMetric", f"failed to get {name} external metric value: {cause}", cause)
    cause = f'unknown metric source type "{kind}"'
    raise MetricError("InvalidMetricSourceType", cause, cause)


# -- the replica calculator (replica_calculator.go) ----------------------------------------------


def pod_usage(pods: list[dict[str, Any]], server: metrics.MetricsServer | None, resource_name: str, container: str
              ) -> dict[str, tuple[int, float, float]]:
    """The metrics client's GetResourceMetric: each pod's usage in milli-units with its timestamp
    and window, from metrics.k8s.io (a pod missing the resource in any container is left out)."""
    if server is None:
        raise MetricError("unable to fetch metrics from resource metrics API: the server could not find the requested resource (get pods.metrics.k8s.io)")
    found: dict[str, tuple[int, float, float]] = {}
    listed = 0
    for pod in pods:
        item = server.pod_metrics(pod)
        if item is None:
            continue
        listed += 1
        total, missing = 0, not item["containers"]
        for entry in item["containers"]:
            if container and entry["name"] != container:
                continue
            text = (entry.get("usage") or {}).get(resource_name)
            if text is None:
                missing = True
                break
            total += metrics.usage_millis(text, resource_name)
        if container and not any(entry["name"] == container for entry in item["containers"]):
            missing = True
        if not missing:
            found[str(pod["metadata"]["name"])] = (total, seconds(item["timestamp"]), _window_seconds(item["window"]))
    if listed == 0:
        raise MetricError("no metrics returned from resource metrics API")
    return found


def _window_seconds(text: str) -> float:
    total, number = 0.0, ""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "µs": 1e-6, "ns": 1e-9}
    index = 0
    while index < len(text):
        char = text[index]
        if char.isdigit() or char == ".":
            number += char
            index += 1
            continue
        unit = next(u for u in ("ms", "µs", "ns", "h", "m", "s") if text.startswith(u, index))
        total += float(number or 0) * units[unit]
        number, index = "", index + len(unit)
    return total


def group_pods(pods: list[dict[str, Any]], usage: dict[str, tuple[int, float, float]], resource_name: str, clock: float
               ) -> tuple[int, set[str], set[str], set[str]]:
    """groupPods: (ready pods counted, unready, missing metrics, ignored)."""
    ready_count = 0
    unready: set[str] = set()
    missing: set[str] = set()
    ignored: set[str] = set()
    initialization, readiness_delay = CPU_INITIALIZATION_PERIOD * TIME_SCALE, INITIAL_READINESS_DELAY * TIME_SCALE
    for pod in pods:
        name = str(pod["metadata"]["name"])
        phase = (pod.get("status") or {}).get("phase")
        if pod["metadata"].get("deletionTimestamp") or phase == "Failed":
            ignored.add(name)
            continue
        if phase == "Pending":
            unready.add(name)
            continue
        if name not in usage:
            missing.add(name)
            continue
        if resource_name == "cpu":
            condition = next((c for c in (pod.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"), None)
            started = (pod.get("status") or {}).get("startTime")
            if condition is None or not started:
                is_unready = True
            else:
                start, transition = seconds(str(started)), seconds(str(condition.get("lastTransitionTime") or started))
                _, timestamp, window = usage[name]
                if start + initialization > clock:
                    is_unready = condition.get("status") == "False" or timestamp < transition + window
                else:
                    is_unready = condition.get("status") == "False" and start + readiness_delay > transition
            if is_unready:
                unready.add(name)
                continue
        ready_count += 1
    return ready_count, unready, missing, ignored


def pod_requests(pods: list[dict[str, Any]], resource_name: str, container: str) -> dict[str, int]:
    """calculatePodRequests: each pod's request in milli-units (app containers and sidecars)."""
    requests: dict[str, int] = {}
    for pod in pods:
        spec = pod.get("spec") or {}
        total = 0
        every = [*(spec.get("containers") or []), *(c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always")]
        for entry in every:
            if container and entry.get("name") != container:
                continue
            request = ((entry.get("resources") or {}).get("requests") or {}).get(resource_name)
            if request is None:
                raise MetricError(f"missing request for {resource_name} in container {entry.get('name')} of Pod {pod['metadata']['name']}")
            total += metrics.usage_millis(str(request), resource_name)
        requests[str(pod["metadata"]["name"])] = total
    return requests


def utilization_ratio(usage: dict[str, int], requests: dict[str, int], target: int) -> tuple[float, int, int]:
    """GetResourceUtilizationRatio: (usage ratio, utilization %, average raw usage)."""
    used = requested = counted = 0
    for name, value in usage.items():
        if name in requests:
            used, requested, counted = used + value, requested + requests[name], counted + 1
    if requested == 0:
        raise MetricError("no metrics returned matched known pods")
    utilization = used * 100 // requested
    return utilization / target, utilization, used // counted


def resource_replicas(pods: list[dict[str, Any]], server: metrics.MetricsServer | None, current: int, resource_name: str,
                      container: str, target: dict[str, Any], clock: float | None = None) -> tuple[int, dict[str, Any], str]:
    """GetResourceReplicas (a utilization target) or GetRawResourceReplicas (an average value):
    (replicas, the MetricValueStatus, the metric's name in events)."""
    clock = time.time() if clock is None else clock
    average_value = target.get("averageValue")
    utilization_target = target.get("averageUtilization")
    if average_value is None and utilization_target is None:
        raise MetricError("invalid resource metric source: neither an average utilization target nor an average value (usage) target was set")
    what = "usage" if average_value is not None else "utilization"
    try:
        samples = pod_usage(pods, server, resource_name, container)
    except MetricError as error:
        raise MetricError(f"failed to get {resource_name} {what}: unable to get metrics for resource {resource_name}: {error}") from error
    try:
        if not pods:
            raise MetricError("no pods returned by selector while calculating replica count")
        ready, unready, missing, ignored = group_pods(pods, samples, resource_name, clock)
        usage = {name: value for name, (value, _, _) in samples.items() if name not in ignored and name not in unready}
        if not usage:
            raise MetricError("did not receive metrics for targeted pods (pods might be unready)")
        if average_value is not None:
            replicas, raw = _plain_replicas(usage, ready, unready, missing, current, metrics.usage_millis(str(average_value), resource_name))
            return replicas, {"averageValue": milli_quantity(raw)}, f"{resource_name} resource"
        requests = pod_requests(pods, resource_name, container)
        replicas, utilization, raw = _utilization_replicas(usage, requests, ready, unready, missing, current, int(utilization_target or 0))
    except MetricError as error:
        raise MetricError(f"failed to get {resource_name} {what}: {error}") from error
    return replicas, {"averageUtilization": utilization, "averageValue": milli_quantity(raw)}, f"{resource_name} resource utilization (percentage of request)"


def _utilization_replicas(usage: dict[str, int], requests: dict[str, int], ready: int, unready: set[str], missing: set[str],
                          current: int, target: int) -> tuple[int, int, int]:
    ratio, utilization, raw = utilization_ratio(usage, requests, target)
    scale_up_with_unready = bool(unready) and ratio > 1.0
    if not scale_up_with_unready and not missing:
        if abs(1.0 - ratio) <= TOLERANCE:
            return current, utilization, raw
        return math.ceil(ratio * ready), utilization, raw
    if missing:
        if ratio < 1.0:
            fallback = max(100, target)
            for name in missing:
                usage[name] = requests.get(name, 0) * fallback // 100
        elif ratio > 1.0:
            for name in missing:
                usage[name] = 0
    if scale_up_with_unready:
        for name in unready:
            usage[name] = 0
    new_ratio, _, _ = utilization_ratio(usage, requests, target)
    if abs(1.0 - new_ratio) <= TOLERANCE or (ratio < 1.0 < new_ratio) or (ratio > 1.0 > new_ratio):
        return current, utilization, raw
    replicas = math.ceil(new_ratio * len(usage))
    if (new_ratio < 1.0 and replicas > current) or (new_ratio > 1.0 and replicas < current):
        return current, utilization, raw
    return replicas, utilization, raw


def _plain_replicas(usage: dict[str, int], ready: int, unready: set[str], missing: set[str], current: int, target: int) -> tuple[int, int]:
    """calcPlainMetricReplicas: (replicas, the average usage)."""
    average = sum(usage.values()) // len(usage)
    ratio = average / target
    scale_up_with_unready = bool(unready) and ratio > 1.0
    if not scale_up_with_unready and not missing:
        if abs(1.0 - ratio) <= TOLERANCE:
            return current, average
        return math.ceil(ratio * ready), average
    if missing and ratio != 1.0:
        for name in missing:
            usage[name] = target if ratio < 1.0 else 0
    if scale_up_with_unready:
        for name in unready:
            usage[name] = 0
    new_ratio = (sum(usage.values()) // len(usage)) / target
    if abs(1.0 - new_ratio) <= TOLERANCE or (ratio < 1.0 < new_ratio) or (ratio > 1.0 > new_ratio):
        return current, average
    replicas = math.ceil(new_ratio * len(usage))
    if (new_ratio < 1.0 and replicas > current) or (new_ratio > 1.0 and replicas < current):
        return current, average
    return replicas, average


def milli_quantity(milli: int) -> str:
    """resource.NewMilliQuantity(v, DecimalSI).String(): ``250m``, ``1``, ``3809280``."""
    return metrics.decimal_quantity(milli, -3)


# -- behavior: stabilization and scaling policies (normalizeDesiredReplicasWithBehaviors) --------------


def _rules(spec: dict[str, Any], direction: str) -> dict[str, Any]:
    rules = dict(((spec.get("behavior") or {}).get(direction)) or {})
    if direction == "scaleUp":
        rules.setdefault("stabilizationWindowSeconds", 0)
        rules.setdefault("policies", [{"type": "Pods", "value": 4, "periodSeconds": 15}, {"type": "Percent", "value": 100, "periodSeconds": 15}])
    else:
        if rules.get("stabilizationWindowSeconds") is None:
            rules["stabilizationWindowSeconds"] = DOWNSCALE_STABILIZATION
        rules.setdefault("policies", [{"type": "Percent", "value": 100, "periodSeconds": 15}])
    rules.setdefault("selectPolicy", "Max")
    return rules


def _normalize(memory: Memory, key: str, spec: dict[str, Any], status: dict[str, Any], current: int, desired: int,
               minimum: int, maximum: int) -> int:
    up, down = _rules(spec, "scaleUp"), _rules(spec, "scaleDown")
    stabilized, reason, message = stabilize(memory.recommendations.setdefault(key, []), current, desired,
                                            float(up["stabilizationWindowSeconds"]), float(down["stabilizationWindowSeconds"]), time.time())
    if stabilized != desired:
        _condition(status, "AbleToScale", "True", reason, message)
    else:
        _condition(status, "AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size")
    limited, reason, message = limit_rate(current, stabilized, minimum, maximum, up, down,
                                          memory.scale_up.get(key, []), memory.scale_down.get(key, []), time.time())
    _condition(status, "ScalingLimited", "False" if limited == stabilized else "True", reason, message)
    return limited


def stabilize(recommendations: list[tuple[int, float]], current: int, desired: int, up_window: float, down_window: float,
              clock: float) -> tuple[int, str, str]:
    """stabilizeRecommendationWithBehaviors (windows in unscaled seconds): records ``desired`` and
    returns it held between the lowest recent recommendation (scale up) and the highest (scale down)."""
    up_cutoff, down_cutoff = clock - up_window * TIME_SCALE, clock - down_window * TIME_SCALE
    up_recommendation = down_recommendation = desired
    old = None
    for index, (replicas, at) in enumerate(recommendations):
        if at > up_cutoff:
            up_recommendation = min(replicas, up_recommendation)
        if at > down_cutoff:
            down_recommendation = max(replicas, down_recommendation)
        if at < up_cutoff and at < down_cutoff:
            old = index
    recommendation = max(current, up_recommendation)
    recommendation = min(recommendation, down_recommendation)
    if old is not None:
        recommendations[old] = (desired, clock)
    else:
        recommendations.append((desired, clock))
    if desired >= current:
        return recommendation, "ScaleUpStabilized", "recent recommendations were lower than current one, applying the lowest recent recommendation"
    return recommendation, "ScaleDownStabilized", "recent recommendations were higher than current one, applying the highest recent recommendation"


def _changed_in_period(period: float, events: list[ScaleEvent], clock: float) -> int:
    cutoff = clock - period * TIME_SCALE
    return sum(event.change for event in events if event.at > cutoff)


def scale_up_limit(current: int, up_events: list[ScaleEvent], down_events: list[ScaleEvent], rules: dict[str, Any], clock: float) -> int:
    """calculateScaleUpLimitWithScalingRules."""
    select = rules.get("selectPolicy", "Max")
    if select == "Disabled":
        return current
    result: int | None = None
    for policy in rules.get("policies") or []:
        period = float(policy.get("periodSeconds", 15))
        start = current - _changed_in_period(period, up_events, clock) + _changed_in_period(period, down_events, clock)
        if policy.get("type") == "Pods":
            proposed = start + int(policy.get("value", 0))
        else:
            proposed = math.ceil(start * (1 + int(policy.get("value", 0)) / 100))
        result = proposed if result is None else (min(result, proposed) if select == "Min" else max(result, proposed))
    return current if result is None else result


def scale_down_limit(current: int, up_events: list[ScaleEvent], down_events: list[ScaleEvent], rules: dict[str, Any], clock: float) -> int:
    """calculateScaleDownLimitWithBehaviors."""
    select = rules.get("selectPolicy", "Max")
    if select == "Disabled":
        return current
    result: int | None = None
    for policy in rules.get("policies") or []:
        period = float(policy.get("periodSeconds", 15))
        start = current - _changed_in_period(period, up_events, clock) + _changed_in_period(period, down_events, clock)
        if policy.get("type") == "Pods":
            proposed = start - int(policy.get("value", 0))
        else:
            proposed = int(start * (1 - int(policy.get("value", 0)) / 100))
        result = proposed if result is None else (max(result, proposed) if select == "Min" else min(result, proposed))
    return current if result is None else result


def limit_rate(current: int, desired: int, minimum: int, maximum: int, up: dict[str, Any], down: dict[str, Any],
               up_events: list[ScaleEvent], down_events: list[ScaleEvent], clock: float) -> tuple[int, str, str]:
    """convertDesiredReplicasWithBehaviorRate: (replicas, ScalingLimited's reason and message)."""
    if desired > current:
        limit = max(scale_up_limit(current, up_events, down_events, up, clock), current)
        if maximum > limit:
            allowed, reason, message = limit, "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate"
        else:
            allowed, reason, message = maximum, "TooManyReplicas", "the desired replica count is more than the maximum replica count"
        if desired > allowed:
            return allowed, reason, message
    elif desired < current:
        limit = min(scale_down_limit(current, up_events, down_events, down, clock), current)
        if minimum < limit:
            allowed, reason, message = limit, "ScaleDownLimit", "the desired replica count is decreasing faster than the maximum scale rate"
        else:
            allowed, reason, message = minimum, "TooFewReplicas", "the desired replica count is less than the minimum replica count"
        if desired < allowed:
            return allowed, reason, message
    return desired, "DesiredWithinRange", "the desired count is within the acceptable range"


def _store_scale_event(memory: Memory, spec: dict[str, Any], key: str, before: int, after: int) -> None:
    """storeScaleEvent: remember the change for the policies' periods (reusing an outdated slot)."""
    direction = "scaleUp" if after > before else "scaleDown"
    events = (memory.scale_up if after > before else memory.scale_down).setdefault(key, [])
    longest = max((float(p.get("periodSeconds", 15)) for p in _rules(spec, direction).get("policies") or []), default=0.0)
    clock = time.time()
    for event in events:
        if event.at < clock - longest * TIME_SCALE:
            event.outdated = True
    change = ScaleEvent(abs(after - before), clock)
    outdated = [index for index, event in enumerate(events) if event.outdated]
    if outdated:
        events[outdated[-1]] = change
    else:
        events.append(change)


# -- status, conditions, events -------------------------------------------------------------------


def scale_selector(target: dict[str, Any]) -> str:
    """The target's scale.status.selector: its label selector as text (an RC's plain map too)."""
    selector = (target.get("spec") or {}).get("selector") or {}
    if not isinstance(selector, dict):
        return ""
    if "matchLabels" not in selector and "matchExpressions" not in selector:
        return ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expression in selector.get("matchExpressions") or []:
        values = ",".join(sorted(expression.get("values") or []))
        operator = expression.get("operator")
        parts.append({"In": f"{expression.get('key')} in ({values})", "NotIn": f"{expression.get('key')} notin ({values})",
                      "Exists": str(expression.get("key")), "DoesNotExist": f"!{expression.get('key')}"}.get(str(operator), ""))
    return ",".join(part for part in parts if part)


def _condition(status: dict[str, Any], kind: str, value: str, reason: str, message: str) -> None:
    """setCondition: a new type goes last; lastTransitionTime changes only with the status."""
    conditions = status.setdefault("conditions", [])
    existing = next((c for c in conditions if c.get("type") == kind), None)
    if existing is None:
        existing = {"type": kind}
        conditions.append(existing)
    if existing.get("status") != value:
        existing["lastTransitionTime"] = now()
    existing.update(status=value, reason=reason, message=message)


def _set_status(status: dict[str, Any], current: int, desired: int, statuses: list[dict[str, Any]], rescale: bool) -> None:
    status["currentReplicas"] = current
    status["desiredReplicas"] = desired
    if statuses:
        status["currentMetrics"] = statuses
    else:
        status.pop("currentMetrics", None)
    if rescale:
        status["lastScaleTime"] = now()


def _save_status(cluster: Cluster, hpa: dict[str, Any], original: dict[str, Any], status: dict[str, Any]) -> None:
    assert HPAS is not None
    if status == original:
        return
    try:
        latest = cluster.store.get(HPAS, hpa["metadata"]["namespace"], hpa["metadata"]["name"])
    except NotFound:
        return
    latest["status"] = status
    cluster.save(HPAS, latest)


def _event(cluster: Cluster, memory: Memory, hpa: dict[str, Any], reason: str, message: str) -> None:
    """A Warning event, or a repeat counted into the one recorded before, as client-go's recorder aggregates."""
    assert EVENTS is not None
    namespace = str(hpa["metadata"]["namespace"])
    key = (str(hpa["metadata"].get("uid")), reason, message)
    name = memory.events.get(key)
    if name is not None:
        try:
            event = cluster.store.get(EVENTS, namespace, name)
        except NotFound:
            del memory.events[key]
        else:
            event["count"] = int(event.get("count") or 1) + 1
            event["lastTimestamp"] = now()
            cluster.save(EVENTS, event)
            return
    cluster.event(hpa, reason, message, "Warning", component=COMPONENT)
    for event in cluster.store.list(EVENTS, namespace):
        involved = event.get("involvedObject") or {}
        if involved.get("uid") == key[0] and event.get("reason") == reason and event.get("message") == message:
            memory.events[key] = str(event["metadata"]["name"])

