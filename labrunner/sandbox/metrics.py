"""metrics.k8s.io/v1beta1 as metrics-server serves it: PodMetrics and NodeMetrics (get, list,
label and field selectors), which ``kubectl top`` and the HorizontalPodAutoscaler read.

What the figures are. A scrape every 15 s (metrics-server's ``--metric-resolution``, scaled by
TIME_SCALE) reads each running container's cumulative CPU time and its working set; usage is the
CPU used between a container's last two points over the time between them (``window``), so
metrics appear one or two scrapes after a container starts (a container 10-15 s old gets a
first point at its start, as metrics-server's freshContainerMinMetricsResolution rule gives), and
only for pods in phase Running, on a node.

- A container the sandbox runs step by step (its command in the sandbox's sh, and every
  ``kubectl exec`` or attached shell in it) is measured: the CPU time of the threads that run it
  (Linux's per-thread CPU clocks), so ``while true; do ...; done`` reads close to a core and
  ``sleep 3600`` reads 0m. The figure is what the simulation of the command costs: the sh is
  Python, slower than busybox's, and every container's thread shares one interpreter (busy
  containers divide about one core between them).
- A server the sandbox simulates (nginx, mysql, redis...) has no process to measure: it reads
  :data:`IDLE`, a steady baseline per image, which is the sandbox's model of an idle server and
  never a measurement. Requests it serves add nothing yet.
- A node reads its pods plus :data:`SYSTEM` (kubelet, container runtime and, on the control
  plane, the control plane's own components, which run as no pod here).
"""

from __future__ import annotations

import math
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from labrunner.sandbox import discovery, images, resources
from labrunner.sandbox.selectors import SelectorError, field_selector, label_selector
from labrunner.sandbox.status import status
from labrunner.sandbox.store import NotFound, Store, seconds
from labrunner.sandbox.timescale import TIME_SCALE

GROUP, VERSION = "metrics.k8s.io", "v1beta1"
RESOLUTION = 15.0
"""Seconds between scrapes (metrics-server's default ``--metric-resolution``), before TIME_SCALE."""
FRESH_CONTAINER_MIN = 10.0
"""A container this old at a scrape (and younger than a resolution) gets a first point at its start."""

PODS = resources.lookup("", "v1", "pods")
NODES = resources.lookup("", "v1", "nodes")


@dataclass(frozen=True)
class Idle:
    millicores: float
    memory_ki: int


# The sandbox's model of what each image uses when nobody asks anything of it: plausible figures
# for an idle container of that image on a small node, chosen, not measured. Keyed by the image
# (its family for look-alikes and lab-declared images), then by what it does.
IDLE: dict[str, Idle] = {
    "nginx": Idle(1.0, 3_720), "httpd": Idle(1.0, 9_472), "php": Idle(1.0, 11_896), "webdevops/php-apache": Idle(2.0, 24_320),
    "wordpress": Idle(1.0, 27_940), "mysql": Idle(5.0, 361_652), "mariadb": Idle(2.0, 82_436), "postgres": Idle(2.0, 23_984),
    "redis": Idle(3.0, 3_112), "memcached": Idle(1.0, 1_980), "traefik/whoami": Idle(0.1, 2_148), "hashicorp/http-echo": Idle(0.1, 1_876),
    "e2e-test-images/agnhost": Idle(1.0, 8_012), "coredns/coredns": Idle(2.0, 13_340), "pause": Idle(0.0, 248),
    "calico/node": Idle(20.0, 62_152), "calico/kube-controllers": Idle(2.0, 14_236), "calico/typha": Idle(2.0, 18_120),
    "calico/apiserver": Idle(3.0, 40_960), "calico/cni": Idle(0.0, 1_024), "kube-proxy": Idle(1.0, 15_360),
    # shells and programs: an idle (sleeping, waiting) process; its CPU is measured when it runs
    "busybox": Idle(0.0, 520), "alpine": Idle(0.0, 560), "debian": Idle(0.0, 1_408), "ubuntu": Idle(0.0, 1_436),
    "curlimages/curl": Idle(0.0, 520), "nicolaka/netshoot": Idle(0.0, 2_604), "python": Idle(0.0, 1_408), "node": Idle(0.0, 1_408),
    "golang": Idle(0.0, 1_408),
}
IDLE_BY_KIND: dict[str, Idle] = {
    "static-web": Idle(1.0, 4_096), "php-apache": Idle(1.0, 11_896), "php-fpm": Idle(1.0, 7_812), "wordpress": Idle(1.0, 27_940),
    "mysql": Idle(5.0, 361_652), "postgres": Idle(2.0, 23_984), "redis": Idle(3.0, 3_112), "memcached": Idle(1.0, 1_980),
    "whoami": Idle(0.1, 2_148), "http-echo": Idle(0.1, 1_876), "agnhost": Idle(1.0, 8_012), "dns": Idle(2.0, 13_340),
    "pause": Idle(0.0, 248), "system": Idle(2.0, 16_384), "program": Idle(0.0, 600),
}
SYSTEM: dict[bool, Idle] = {True: Idle(85.0, 634_880), False: Idle(18.0, 215_040)}
"""A node's own share (control plane: True), the sandbox's model: kubelet, containerd and the OS,
plus on the control plane kube-apiserver, etcd, the controller manager and the scheduler."""


def idle(image: str) -> Idle:
    found = images.lookup(image)
    if found is None:
        return IDLE_BY_KIND["program"]
    return IDLE.get(found.name) or IDLE.get(found.kin) or IDLE_BY_KIND.get(found.does, IDLE_BY_KIND["program"])


# -- quantities and durations as apimachinery writes them ---------------------------------------


def decimal_quantity(value: int, exponent: int) -> str:
    """``value`` x 10^``exponent`` (a multiple of 3) as a canonical DecimalSI quantity."""
    if value <= 0:
        return "0"
    while exponent < 18 and value % 1000 == 0:
        value, exponent = value // 1000, exponent + 3
    suffix = {-9: "n", -6: "u", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E"}[exponent]
    return f"{value}{suffix}"


def cpu_quantity(nanocores: int) -> str:
    """A CPU rate in nanocores as a canonical DecimalSI quantity: ``1043183n``, ``2m``, ``0``."""
    return decimal_quantity(nanocores, -9)


def memory_quantity(size: int) -> str:
    """Bytes as a canonical BinarySI quantity: ``3720Ki``, ``350Mi``, ``0``."""
    if size <= 0:
        return "0"
    value, suffix = size, ""
    for bigger in ("Ki", "Mi", "Gi", "Ti"):
        if value % 1024:
            break
        value, suffix = value // 1024, bigger
    return f"{value}{suffix}"


def go_duration(value: float) -> str:
    """Go's time.Duration.String(): ``15.012s``, ``750ms``, ``1m0s``."""
    nanos = round(value * 1e9)
    if nanos == 0:
        return "0s"
    if nanos < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if nanos >= size:
                return _trim(f"{nanos / size:.9f}") + unit
    minutes, rest = divmod(nanos, 60_000_000_000)
    hours, minutes = divmod(minutes, 60)
    text = _trim(f"{rest / 1e9:.9f}") + "s"
    if minutes or hours:
        text = f"{minutes}m" + text
    if hours:
        text = f"{hours}h" + text
    return text


def _trim(number: str) -> str:
    return number.rstrip("0").rstrip(".") if "." in number else number


def _stamp(when: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))


# -- measuring the threads that run a container's processes ----------------------------------


def thread_cpu_seconds(native_id: int) -> float | None:
    """The CPU time of one of this process's threads, by its kernel id (Linux's per-thread CPU
    clock, CPUCLOCK_SCHED | CPUCLOCK_PERTHREAD); None when it has ended or the system has no such clock."""
    try:
        return time.clock_gettime(~native_id << 3 | 6)
    except (OSError, OverflowError, AttributeError):
        return None


def running_threads() -> dict[tuple[str, str], list[int]]:
    """The threads running containers' processes, by (namespace/pod, container or "" for the
    pod's first): the runtime names a container's command ``container NS/POD/NAME``, streams an
    exec ``exec NS/POD/NAME``, an attached shell ``shell NS/POD``."""
    found: dict[tuple[str, str], list[int]] = {}
    for thread in threading.enumerate():
        kind, _, rest = thread.name.partition(" ")
        if kind not in ("container", "exec", "shell") or thread.native_id is None or not thread.is_alive():
            continue
        parts = rest.split("/")
        if kind == "shell" and len(parts) == 2:
            found.setdefault((f"{parts[0]}/{parts[1]}", ""), []).append(thread.native_id)
        elif len(parts) == 3:
            found.setdefault((f"{parts[0]}/{parts[1]}", parts[2]), []).append(thread.native_id)
    return found


# -- the storage: each container's last two points, as metrics-server keeps them ---------------


@dataclass(frozen=True)
class Point:
    start: float
    """When the container (or node) started: its cumulative CPU was 0 then."""
    timestamp: float
    cpu: float
    """Cumulative CPU time since start, in seconds."""
    memory: int
    """Working set, in bytes."""


def usage(last: Point, previous: Point) -> tuple[int, float] | None:
    """(nanocores, window seconds) between two points of one run, as metrics-server's resourceUsage."""
    window = last.timestamp - previous.timestamp
    if window <= 0 or last.cpu < previous.cpu or last.start < previous.start:
        return None
    return int((last.cpu - previous.cpu) * 1e9 / window), window


def keep_previous(new: Point, last: Point | None, previous: Point | None, resolution: float, fresh: float) -> Point | None:
    """The point to keep behind ``new`` (metrics-server's podStorage.Store): a fresh container's
    start, the last point of the same run, or the one before if nothing new came; None after a restart."""
    age = new.timestamp - new.start
    if new.start < new.timestamp and fresh <= age < resolution:
        return Point(new.start, new.start, 0.0, new.memory)
    if last is not None and new.start == last.start:  # the same run (the kubelet's start times are whole seconds)
        if new.timestamp > last.timestamp:
            return last
        if previous is not None and previous.timestamp < new.timestamp:
            return previous
    return None


ContainerKey = tuple[str, str]  # (pod uid, container name)


class MetricsServer:
    """The scraper and the API's storage for one store; :func:`serving` finds it for controllers."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time,
                 threads: Callable[[], dict[tuple[str, str], list[int]]] = running_threads,
                 thread_cpu: Callable[[int], float | None] = thread_cpu_seconds) -> None:
        self.store = store
        self.clock = clock
        self.threads = threads
        self.thread_cpu = thread_cpu
        self.resolution = RESOLUTION * TIME_SCALE
        # The kubelet's start times are whole seconds: a first point at a container's start is
        # only as good as that, so scaled far down (tests) metrics wait for a second scrape instead.
        self.fresh = FRESH_CONTAINER_MIN * TIME_SCALE if FRESH_CONTAINER_MIN * TIME_SCALE >= 5.0 else math.inf
        self.last: dict[ContainerKey, Point] = {}
        self.previous: dict[ContainerKey, Point] = {}
        self.node_last: dict[str, Point] = {}
        self.node_previous: dict[str, Point] = {}
        self.measured: dict[ContainerKey, tuple[float, float]] = {}
        """CPU seconds the container's threads used in this run, by (its start, the sum)."""
        self.thread_readings: dict[int, tuple[ContainerKey, float]] = {}
        self.node_cpu: dict[str, float] = {}
        self.started = clock()
        self.task: Any = None
        _SERVERS[store] = self

    # -- scraping --------------------------------------------------------------------------

    def start(self) -> None:
        """Scrape now and then every resolution, on the running event loop."""
        import asyncio

        async def scraping() -> None:
            while True:
                try:
                    self.scrape()
                except Exception:  # a scrape's bug must not stop the next
                    import logging

                    logging.getLogger("labrunner.sandbox").exception("the metrics scrape failed")
                await asyncio.sleep(self.resolution)

        self.task = asyncio.get_running_loop().create_task(scraping())

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def scrape(self) -> None:
        """Take a point of every running container and every node, as the kubelets' resource
        metrics endpoints would give them, and keep each one's last two."""
        assert PODS is not None and NODES is not None
        now = self.clock()
        threads = self.threads()
        last: dict[ContainerKey, Point] = {}
        previous: dict[ContainerKey, Point] = {}
        node_delta: dict[str, float] = {}
        node_memory: dict[str, int] = {}
        readings: dict[int, tuple[ContainerKey, float]] = {}
        for pod in self.store.list(PODS):
            node = (pod.get("spec") or {}).get("nodeName")
            if not node or pod["metadata"].get("deletionTimestamp"):
                continue
            for container, started in running_containers(pod):
                key = (str(pod["metadata"].get("uid")), str(container.get("name")))
                first = container is first_container(pod)
                tids = threads.get((f"{pod['metadata']['namespace']}/{pod['metadata']['name']}", key[1]), [])
                if first:
                    tids = tids + threads.get((f"{pod['metadata']['namespace']}/{pod['metadata']['name']}", ""), [])
                measured = self._measure(key, started, tids, readings)
                model = idle(str(container.get("image", "")))
                point = Point(started, now, model.millicores / 1000 * max(now - started, 0.0) + measured, model.memory_ki * 1024)
                last[key] = point
                kept = keep_previous(point, self.last.get(key), self.previous.get(key), self.resolution, self.fresh)
                if kept is not None:
                    previous[key] = kept
                before = self.last.get(key)
                if before is not None and before.start == point.start:
                    node_delta[node] = node_delta.get(node, 0.0) + max(point.cpu - before.cpu, 0.0)
                node_memory[node] = node_memory.get(node, 0) + point.memory
        self.last, self.previous, self.thread_readings = last, previous, readings
        self.measured = {key: value for key, value in self.measured.items() if key in last}
        node_last: dict[str, Point] = {}
        node_previous: dict[str, Point] = {}
        for node in self.store.list(NODES):
            name = str(node["metadata"]["name"])
            system = SYSTEM["node-role.kubernetes.io/control-plane" in (node["metadata"].get("labels") or {})]
            before = self.node_last.get(name)
            elapsed = now - before.timestamp if before is not None else 0.0
            cpu = self.node_cpu.get(name, 0.0) + system.millicores / 1000 * elapsed + node_delta.get(name, 0.0)
            self.node_cpu[name] = cpu
            point = Point(self.started, now, cpu, system.memory_ki * 1024 + node_memory.get(name, 0))
            node_last[name] = point
            if before is not None:
                node_previous[name] = before
        self.node_last, self.node_previous = node_last, node_previous

    def _measure(self, key: ContainerKey, started: float, tids: list[int], readings: dict[int, tuple[ContainerKey, float]]) -> float:
        run_start, total = self.measured.get(key, (started, 0.0))
        if run_start != started:
            total = 0.0  # a new run of the container: its counter starts again
        for tid in tids:
            cpu = self.thread_cpu(tid)
            if cpu is None:
                continue
            seen = self.thread_readings.get(tid)
            total += max(cpu - (seen[1] if seen is not None and seen[0] == key else 0.0), 0.0)
            readings[tid] = (key, cpu)
        self.measured[key] = (started, total)
        return total

    # -- what the API serves -----------------------------------------------------------------

    def pod_metrics(self, pod: dict[str, Any]) -> dict[str, Any] | None:
        """A PodMetrics for ``pod``, or None (not Running, or not every container has two points)."""
        if (pod.get("status") or {}).get("phase") != "Running":
            return None
        uid = str(pod["metadata"].get("uid"))
        containers = []
        earliest: tuple[float, float] | None = None
        keys = [key for key in self.last if key[0] == uid]
        if not keys:
            return None
        order = [str(c.get("name")) for c in [*((pod.get("spec") or {}).get("initContainers") or []), *((pod.get("spec") or {}).get("containers") or [])]]
        for key in sorted(keys, key=lambda k: order.index(k[1]) if k[1] in order else len(order)):
            previous = self.previous.get(key)
            if previous is None:
                return None
            measured = usage(self.last[key], previous)
            if measured is None:
                continue
            nanocores, window = measured
            containers.append({"name": key[1], "usage": {"cpu": cpu_quantity(nanocores), "memory": memory_quantity(self.last[key].memory)}})
            if earliest is None or self.last[key].timestamp < earliest[0]:
                earliest = (self.last[key].timestamp, window)
        if earliest is None:
            return None
        return {
            "kind": "PodMetrics", "apiVersion": f"{GROUP}/{VERSION}",
            "metadata": {"name": pod["metadata"]["name"], "namespace": pod["metadata"]["namespace"],
                         "creationTimestamp": _stamp(self.clock()), "labels": dict(pod["metadata"].get("labels") or {})},
            "timestamp": _stamp(earliest[0]), "window": go_duration(earliest[1]), "containers": containers,
        }

    def node_metrics(self, node: dict[str, Any]) -> dict[str, Any] | None:
        name = str(node["metadata"]["name"])
        last, previous = self.node_last.get(name), self.node_previous.get(name)
        if last is None or previous is None or (measured := usage(last, previous)) is None:
            return None
        nanocores, window = measured
        return {
            "kind": "NodeMetrics", "apiVersion": f"{GROUP}/{VERSION}",
            "metadata": {"name": name, "creationTimestamp": _stamp(self.clock()), "labels": dict(node["metadata"].get("labels") or {})},
            "timestamp": _stamp(last.timestamp), "window": go_duration(window),
            "usage": {"cpu": cpu_quantity(nanocores), "memory": memory_quantity(last.memory)},
        }

    # -- HTTP ----------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.Response:
        """``/apis/metrics.k8s.io`` and everything under it."""
        parts = [p for p in request.path.split("/") if p][1:]  # after "apis"
        if parts == [GROUP]:
            return web.json_response(discovery.metrics_api_group())
        if parts == [GROUP, VERSION]:
            return web.json_response(discovery.metrics_resource_list())
        rest = parts[2:] if parts[:2] == [GROUP, VERSION] else None
        if not rest:
            return status(404, "NotFound", "the server could not find the requested resource")
        namespace: str | None = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        if rest[0] not in ("pods", "nodes") or len(rest) > 2 or (rest[0] == "nodes" and namespace is not None):
            return status(404, "NotFound", "the server could not find the requested resource")
        plural, name = rest[0], (rest[1] if len(rest) == 2 else None)
        if request.method != "GET" or request.query.get("watch") in ("1", "true"):
            return status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        if plural == "pods":
            return self._get_pod(request, namespace or "default", name) if name else self._list(request, plural, namespace)
        return self._get_node(request, name) if name else self._list(request, plural, None)

    def _get_pod(self, request: web.Request, namespace: str, name: str) -> web.Response:
        assert PODS is not None
        try:
            pod = self.store.get(PODS, namespace, name)
        except NotFound:
            return _not_found("pods", "", name)
        found = self.pod_metrics(pod)
        if found is None:
            return _not_found("pods", GROUP, f"{namespace}/{name}")
        return web.json_response(_table([found]) if _wants_table(request) else found)

    def _get_node(self, request: web.Request, name: str) -> web.Response:
        assert NODES is not None
        try:
            node = self.store.get(NODES, "", name)
        except NotFound:
            return _not_found("nodes", "", name)
        found = self.node_metrics(node)
        if found is None:
            return _not_found("nodes", GROUP, name)
        return web.json_response(_table([found]) if _wants_table(request) else found)

    def _list(self, request: web.Request, plural: str, namespace: str | None) -> web.Response:
        resource = PODS if plural == "pods" else NODES
        assert resource is not None
        try:
            labels = label_selector(request.query.get("labelSelector", ""))
            fields = field_selector(request.query.get("fieldSelector", ""))
        except SelectorError as error:
            return status(400, "BadRequest", str(error))
        objects = [obj for obj in self.store.list(resource, namespace) if labels(obj["metadata"].get("labels") or {}) and fields(obj)]
        objects.sort(key=lambda obj: (obj["metadata"].get("namespace", ""), obj["metadata"]["name"]))
        measure = self.pod_metrics if plural == "pods" else self.node_metrics
        items = [found for obj in objects if (found := measure(obj)) is not None]
        if _wants_table(request):
            return web.json_response(_table(items))
        kind = "PodMetricsList" if plural == "pods" else "NodeMetricsList"
        return web.json_response({"kind": kind, "apiVersion": f"{GROUP}/{VERSION}", "metadata": {}, "items": items})


def running_containers(pod: dict[str, Any]) -> Iterable[tuple[dict[str, Any], float]]:
    """The pod's containers that are running (app containers and running sidecars), with when they started."""
    spec, status_ = pod.get("spec") or {}, pod.get("status") or {}
    started: dict[str, float] = {}
    for entry in [*(status_.get("initContainerStatuses") or []), *(status_.get("containerStatuses") or [])]:
        stamp = ((entry.get("state") or {}).get("running") or {}).get("startedAt")
        if stamp:
            started[str(entry.get("name"))] = seconds(str(stamp))
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        if str(container.get("name")) in started:
            yield container, started[str(container.get("name"))]


def first_container(pod: dict[str, Any]) -> dict[str, Any] | None:
    containers = (pod.get("spec") or {}).get("containers") or []
    return containers[0] if containers else None


def _wants_table(request: web.Request) -> bool:
    return "as=Table" in request.headers.get("Accept", "")


def _not_found(plural: str, group: str, name: str) -> web.Response:
    described = f"{plural}.{group}" if group else plural
    return status(404, "NotFound", f'{described} "{name}" not found', {"name": name, "group": group, "kind": plural})


def _table(items: list[dict[str, Any]]) -> dict[str, Any]:
    """metrics-server's Table: Name, each resource's summed usage, Window."""
    rows = []
    for item in items:
        totals: dict[str, float] = {}
        for entry in item.get("containers") or [{"usage": item.get("usage") or {}}]:
            for resource_name, text in (entry.get("usage") or {}).items():
                totals[resource_name] = totals.get(resource_name, 0.0) + _value(text)
        cells = [item["metadata"]["name"], cpu_quantity(round(totals.get("cpu", 0.0) * 1e9)),
                 memory_quantity(int(totals.get("memory", 0.0))), item["window"]]
        rows.append({"cells": cells, "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": item["metadata"]}})
    return {
        "kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {},
        "columnDefinitions": [
            {"name": "Name", "type": "string", "format": "name", "description": "Name of the resource", "priority": 0},
            {"name": "cpu", "type": "string", "format": "quantity", "description": "", "priority": 0},
            {"name": "memory", "type": "string", "format": "quantity", "description": "", "priority": 0},
            {"name": "Window", "type": "string", "format": "duration", "description": "", "priority": 0},
        ],
        "rows": rows,
    }


_SUFFIX = {"n": 1e-9, "u": 1e-6, "m": 1e-3, "Ki": 1024.0, "Mi": 1024.0 ** 2, "Gi": 1024.0 ** 3, "Ti": 1024.0 ** 4, "": 1.0}


def _value(text: str) -> float:
    for suffix in ("Ki", "Mi", "Gi", "Ti", "n", "u", "m"):
        if text.endswith(suffix):
            return float(text[:-len(suffix)]) * _SUFFIX[suffix]
    return float(text) if text else 0.0


_SERVERS: weakref.WeakKeyDictionary[Store, MetricsServer] = weakref.WeakKeyDictionary()


def serving(store: Store) -> MetricsServer | None:
    """The metrics server over ``store`` (None where no API server runs one: unit tests)."""
    return _SERVERS.get(store)


def usage_millis(text: str, resource_name: str) -> int:
    """A usage quantity as the HPA's metrics client reads it: MilliValue, rounded up."""
    return math.ceil(_value(text) * 1000 - 1e-6)
