"""Server-side Table output: the columns ``kubectl get`` prints, as a real API
server computes them (AGE strings included), per kind.

Column sets follow the API server's printers (pkg/printers/internalversion);
priority-1 columns appear with ``-o wide``. Kinds without a printer get NAME and
AGE, as a real server gives custom resources.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from labrunner.sandbox.store import seconds

Column = tuple[str, str, int]  # name, type, priority
Row = list[Any]


def human_duration(seconds: float) -> str:
    """apimachinery's duration.HumanDuration: ``45s``, ``3m20s``, ``5h``, ``2d3h``, ``3y40d``."""
    seconds = int(seconds)
    if seconds < 0:
        return "<invalid>"
    if seconds < 60 * 2:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m" if seconds % 60 == 0 else f"{minutes}m{seconds % 60}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = hours // 24 % 365
        return f"{hours // 24 // 365}y" if days == 0 else f"{hours // 24 // 365}y{days}d"
    return f"{hours // 24 // 365}y"


def age(obj: dict[str, Any]) -> str:
    created = (obj.get("metadata") or {}).get("creationTimestamp")
    if not created:
        return "<unknown>"
    return human_duration(time.time() - seconds(created))


def _name(obj: dict[str, Any]) -> str:
    return str(obj["metadata"]["name"])


def _selector_text(selector: dict[str, Any] | None) -> str:
    if not selector:
        return "<none>"
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expression in selector.get("matchExpressions") or []:
        values = ",".join(expression.get("values") or [])
        operator = expression.get("operator")
        parts.append({"In": f"{expression['key']} in ({values})", "NotIn": f"{expression['key']} notin ({values})",
                      "Exists": expression["key"], "DoesNotExist": f"!{expression['key']}"}.get(operator, expression["key"]))
    return ",".join(parts) or "<none>"


def _namespaces(obj: dict[str, Any]) -> Row:
    return [_name(obj), (obj.get("status") or {}).get("phase", "Active"), age(obj)]


def _nodes(obj: dict[str, Any]) -> Row:
    conditions = {c.get("type"): c.get("status") for c in (obj.get("status") or {}).get("conditions") or []}
    status = "Ready" if conditions.get("Ready") == "True" else "NotReady"
    if (obj.get("spec") or {}).get("unschedulable"):
        status += ",SchedulingDisabled"
    labels = obj["metadata"].get("labels") or {}
    roles = ",".join(sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/"))) or "<none>"
    info = (obj.get("status") or {}).get("nodeInfo") or {}
    addresses = {a.get("type"): a.get("address") for a in (obj.get("status") or {}).get("addresses") or []}
    return [_name(obj), status, roles, age(obj), info.get("kubeletVersion", ""), addresses.get("InternalIP", "<none>"),
            "<none>", info.get("osImage", ""), info.get("kernelVersion", ""), info.get("containerRuntimeVersion", "")]


def _pods(obj: dict[str, Any]) -> Row:
    """printPod: READY counts the app containers and the started sidecars; STATUS is the first
    init container still on its way (``Init:1/2``, ``Init:Error``, ``Init:CrashLoopBackOff``...)
    or else the first app container's reason, and RESTARTS says when the last restart was."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    init_containers = {c.get("name"): c for c in spec.get("initContainers") or []}
    sidecars = {name for name, c in init_containers.items() if c.get("restartPolicy") == "Always"}
    total = len(spec.get("containers") or []) + len(sidecars)
    ready = restarts = sidecar_restarts = 0
    last_restart = sidecar_last_restart = ""
    reason = status.get("reason") or status.get("phase", "Pending")
    if any(c.get("type") == "PodScheduled" and c.get("reason") == "SchedulingGated" for c in status.get("conditions") or []):
        reason = "SchedulingGated"
    initializing = False
    init_statuses = status.get("initContainerStatuses") or []
    for index, container_status in enumerate(init_statuses):
        restarts += int(container_status.get("restartCount") or 0)
        finished = (((container_status.get("lastState") or {}).get("terminated")) or {}).get("finishedAt") or ""
        last_restart = max(last_restart, finished)
        sidecar = container_status.get("name") in sidecars
        if sidecar:
            sidecar_restarts += int(container_status.get("restartCount") or 0)
            sidecar_last_restart = max(sidecar_last_restart, finished)
        state = container_status.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if terminated is not None and terminated.get("exitCode") == 0:
            continue
        if sidecar and container_status.get("started"):
            ready += 1 if container_status.get("ready") else 0
            continue
        if terminated is not None:
            reason = "Init:" + terminated["reason"] if terminated.get("reason") else (
                f"Init:Signal:{terminated['signal']}" if terminated.get("signal") else f"Init:ExitCode:{terminated.get('exitCode')}")
        elif waiting is not None and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{index}/{len(init_containers)}"
        initializing = True
        break
    initialized = any(c.get("type") == "Initialized" and c.get("status") == "True" for c in status.get("conditions") or [])
    if not initializing or initialized:
        restarts, last_restart = sidecar_restarts, sidecar_last_restart
        running = False
        for container_status in reversed(status.get("containerStatuses") or []):
            restarts += int(container_status.get("restartCount") or 0)
            finished = (((container_status.get("lastState") or {}).get("terminated")) or {}).get("finishedAt") or ""
            last_restart = max(last_restart, finished)
            state = container_status.get("state") or {}
            waiting, terminated = state.get("waiting") or {}, state.get("terminated")
            if waiting.get("reason"):
                reason = waiting["reason"]
            elif terminated is not None and terminated.get("reason"):
                reason = terminated["reason"]
            elif terminated is not None:
                reason = f"Signal:{terminated['signal']}" if terminated.get("signal") else f"ExitCode:{terminated.get('exitCode')}"
            elif container_status.get("ready") and "running" in state:
                running = True
                ready += 1
        if reason == "Completed" and running:
            pod_ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
            reason = "Running" if pod_ready else "NotReady"
    if obj["metadata"].get("deletionTimestamp") and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif obj["metadata"].get("deletionTimestamp") and status.get("phase") not in ("Succeeded", "Failed"):
        reason = "Terminating"
    restarts_text = str(restarts)
    if restarts and len(last_restart) == 20 and last_restart.endswith("Z"):
        restarts_text = f"{restarts} ({age({'metadata': {'creationTimestamp': last_restart}})} ago)"
    return [_name(obj), f"{ready}/{total}", reason, restarts_text, age(obj), status.get("podIP") or "<none>",
            spec.get("nodeName") or "<none>", status.get("nominatedNodeName") or "<none>", _readiness_gates(spec, status)]


def _readiness_gates(spec: dict[str, Any], status: dict[str, Any]) -> str:
    gates = spec.get("readinessGates") or []
    if not gates:
        return "<none>"
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
    return f"{sum(1 for gate in gates if conditions.get(gate.get('conditionType')) == 'True')}/{len(gates)}"


def _services(obj: dict[str, Any]) -> Row:
    spec = obj.get("spec") or {}
    ports = []
    for port in spec.get("ports") or []:
        text = f"{port.get('port')}"
        if port.get("nodePort"):
            text += f":{port['nodePort']}"
        ports.append(f"{text}/{port.get('protocol', 'TCP')}")
    external = ",".join(spec.get("externalIPs") or []) or "<none>"
    if spec.get("type") == "LoadBalancer":
        ingress = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        external = ",".join(i.get("ip") or i.get("hostname", "") for i in ingress) or "<pending>"
    elif spec.get("type") == "ExternalName":
        external = spec.get("externalName") or "<none>"  # printService: the name it stands for
    selector = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items())) or "<none>"
    return [_name(obj), spec.get("type", "ClusterIP"), spec.get("clusterIP") or "<none>", external,
            ",".join(ports) or "<none>", age(obj), selector]


def _deployments(obj: dict[str, Any]) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    return [_name(obj), f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}", status.get("updatedReplicas", 0),
            status.get("availableReplicas", 0), age(obj), ",".join(c.get("name", "") for c in containers),
            ",".join(c.get("image", "") for c in containers), _selector_text(spec.get("selector"))]


def _replicasets(obj: dict[str, Any]) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    return [_name(obj), spec.get("replicas", 1), status.get("replicas", 0), status.get("readyReplicas", 0), age(obj),
            ",".join(c.get("name", "") for c in containers), ",".join(c.get("image", "") for c in containers),
            _selector_text(spec.get("selector"))]


def _daemonsets(obj: dict[str, Any]) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    node_selector = ((spec.get("template") or {}).get("spec") or {}).get("nodeSelector") or {}
    return [_name(obj), status.get("desiredNumberScheduled", 0), status.get("currentNumberScheduled", 0),
            status.get("numberReady", 0), status.get("updatedNumberScheduled", 0), status.get("numberAvailable", 0),
            ",".join(f"{k}={v}" for k, v in sorted(node_selector.items())) or "<none>", age(obj)]


def _configmaps(obj: dict[str, Any]) -> Row:
    return [_name(obj), len(obj.get("data") or {}) + len(obj.get("binaryData") or {}), age(obj)]


def _secrets(obj: dict[str, Any]) -> Row:
    return [_name(obj), obj.get("type", "Opaque"), len(obj.get("data") or {}), age(obj)]


def _serviceaccounts(obj: dict[str, Any]) -> Row:
    return [_name(obj), len(obj.get("secrets") or []), age(obj)]


def _networkpolicies(obj: dict[str, Any]) -> Row:
    return [_name(obj), _selector_text((obj.get("spec") or {}).get("podSelector")), age(obj)]


def _endpoints(obj: dict[str, Any]) -> Row:
    addresses = []
    for subset in obj.get("subsets") or []:
        for address in subset.get("addresses") or []:
            for port in subset.get("ports") or [{"port": None}]:
                addresses.append(f"{address.get('ip')}:{port.get('port')}" if port.get("port") else str(address.get("ip")))
    shown = ",".join(addresses[:3]) + (f" + {len(addresses) - 3} more..." if len(addresses) > 3 else "")
    return [_name(obj), shown or "<none>", age(obj)]


def _events(obj: dict[str, Any]) -> Row:
    involved = obj.get("involvedObject") or {}
    last = obj.get("lastTimestamp") or obj.get("eventTime") or (obj.get("metadata") or {}).get("creationTimestamp")
    seen = age({"metadata": {"creationTimestamp": last}}) if last and last.endswith("Z") and len(last) == 20 else "<unknown>"
    return [seen, obj.get("type", ""), obj.get("reason", ""), f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}",
            obj.get("message", "")]


def _created_at(obj: dict[str, Any]) -> Row:
    return [_name(obj), obj["metadata"].get("creationTimestamp", "")]


def _role_bindings(obj: dict[str, Any]) -> Row:
    role = obj.get("roleRef") or {}
    subjects = obj.get("subjects") or []
    users = ",".join(s.get("name", "") for s in subjects if s.get("kind") == "User")
    groups = ",".join(s.get("name", "") for s in subjects if s.get("kind") == "Group")
    accounts = ",".join(f"{s.get('namespace', '')}/{s.get('name', '')}" for s in subjects if s.get("kind") == "ServiceAccount")
    return [_name(obj), f"{role.get('kind', '')}/{role.get('name', '')}", age(obj), users, groups, accounts]


def _pdbs(obj: dict[str, Any]) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return [_name(obj), spec.get("minAvailable", "N/A"), spec.get("maxUnavailable", "N/A"), status.get("disruptionsAllowed", 0), age(obj)]


def _priority_classes(obj: dict[str, Any]) -> Row:
    return [_name(obj), obj.get("value", 0), bool(obj.get("globalDefault")), age(obj), obj.get("preemptionPolicy") or ""]


def _endpoint_slices(obj: dict[str, Any]) -> Row:
    ports = ",".join(str(p.get("port")) for p in obj.get("ports") or []) or "<unset>"
    addresses = [a for e in obj.get("endpoints") or [] for a in e.get("addresses") or []]
    shown = ",".join(addresses[:3]) + (f" + {len(addresses) - 3} more..." if len(addresses) > 3 else "")
    return [_name(obj), obj.get("addressType", ""), ports, shown or "<unset>", age(obj)]


def _default(obj: dict[str, Any]) -> Row:
    return [_name(obj), age(obj)]


NAME: Column = ("Name", "string", 0)
AGE: Column = ("Age", "string", 0)

PRINTERS: dict[str, tuple[list[Column], Callable[[dict[str, Any]], Row]]] = {
    "namespaces": ([NAME, ("Status", "string", 0), AGE], _namespaces),
    "nodes": ([NAME, ("Status", "string", 0), ("Roles", "string", 0), AGE, ("Version", "string", 0), ("Internal-IP", "string", 1),
               ("External-IP", "string", 1), ("OS-Image", "string", 1), ("Kernel-Version", "string", 1), ("Container-Runtime", "string", 1)], _nodes),
    "pods": ([NAME, ("Ready", "string", 0), ("Status", "string", 0), ("Restarts", "string", 0), AGE, ("IP", "string", 1),
              ("Node", "string", 1), ("Nominated Node", "string", 1), ("Readiness Gates", "string", 1)], _pods),
    "services": ([NAME, ("Type", "string", 0), ("Cluster-IP", "string", 0), ("External-IP", "string", 0), ("Port(s)", "string", 0), AGE,
                  ("Selector", "string", 1)], _services),
    "deployments": ([NAME, ("Ready", "string", 0), ("Up-to-date", "string", 0), ("Available", "string", 0), AGE,
                     ("Containers", "string", 1), ("Images", "string", 1), ("Selector", "string", 1)], _deployments),
    "replicasets": ([NAME, ("Desired", "integer", 0), ("Current", "integer", 0), ("Ready", "integer", 0), AGE,
                     ("Containers", "string", 1), ("Images", "string", 1), ("Selector", "string", 1)], _replicasets),
    "daemonsets": ([NAME, ("Desired", "integer", 0), ("Current", "integer", 0), ("Ready", "integer", 0), ("Up-to-date", "integer", 0),
                    ("Available", "integer", 0), ("Node Selector", "string", 0), AGE], _daemonsets),
    "configmaps": ([NAME, ("Data", "integer", 0), AGE], _configmaps),
    "secrets": ([NAME, ("Type", "string", 0), ("Data", "integer", 0), AGE], _secrets),
    "serviceaccounts": ([NAME, ("Secrets", "integer", 0), AGE], _serviceaccounts),
    "networkpolicies": ([NAME, ("Pod-Selector", "string", 0), AGE], _networkpolicies),
    "endpoints": ([NAME, ("Endpoints", "string", 0), AGE], _endpoints),
    "roles": ([NAME, ("Created At", "date", 0)], _created_at),
    "clusterroles": ([NAME, ("Created At", "date", 0)], _created_at),
    "customresourcedefinitions": ([NAME, ("Created At", "date", 0)], _created_at),
    "rolebindings": ([NAME, ("Role", "string", 0), AGE, ("Users", "string", 1), ("Groups", "string", 1), ("ServiceAccounts", "string", 1)], _role_bindings),
    "clusterrolebindings": ([NAME, ("Role", "string", 0), AGE, ("Users", "string", 1), ("Groups", "string", 1), ("ServiceAccounts", "string", 1)], _role_bindings),
    "poddisruptionbudgets": ([NAME, ("Min Available", "string", 0), ("Max Unavailable", "string", 0), ("Allowed Disruptions", "integer", 0), AGE], _pdbs),
    "priorityclasses": ([NAME, ("Value", "integer", 0), ("Global-Default", "boolean", 0), AGE, ("PreemptionPolicy", "string", 0)], _priority_classes),
    "endpointslices": ([NAME, ("AddressType", "string", 0), ("Ports", "string", 0), ("Endpoints", "string", 0), AGE], _endpoint_slices),
    "events": ([("Last Seen", "string", 0), ("Type", "string", 0), ("Reason", "string", 0), ("Object", "string", 0),
                ("Message", "string", 0)], _events),
}


def _row_object(obj: dict[str, Any], include: str, type_meta: dict[str, str] | None) -> dict[str, Any] | None:
    """A row's ``object`` as the ``includeObject`` query asks (the table convertor's): the
    object's metadata (``Metadata``, the default), the whole object (``Object``, which ``kubectl
    get --sort-by`` asks for to sort by any field), or none (``None``)."""
    if include == "None":
        return None
    if include == "Object" and type_meta:
        return {**type_meta, **obj}
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}


def _row(cells: list[Any], obj: dict[str, Any], include: str, type_meta: dict[str, str] | None) -> dict[str, Any]:
    shown = _row_object(obj, include, type_meta)
    return {"cells": cells} if shown is None else {"cells": cells, "object": shown}


def table(plural: str, objects: list[dict[str, Any]], resource_version: str, include: str = "Metadata",
          type_meta: dict[str, str] | None = None) -> dict[str, Any]:
    columns, printer = PRINTERS.get(plural, ([NAME, AGE], _default))
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": [
            {"name": name, "type": kind, "format": "name" if name == "Name" else "", "description": "", "priority": priority}
            for name, kind, priority in columns
        ],
        "rows": [_row(printer(obj), obj, include, type_meta) for obj in objects],
    }


def table_for(resource: Any, objects: list[dict[str, Any]], resource_version: str, include: str = "Metadata") -> dict[str, Any]:
    """``resource``'s Table: its printer's, or a custom resource's additionalPrinterColumns (the
    tableconvertor's: NAME, then each column; a CRD without columns prints NAME and AGE); each
    row's object as ``include`` (the request's ``includeObject``) asks."""
    from labrunner.sandbox import customresources

    type_meta = {"apiVersion": resource.api_version, "kind": resource.kind}
    version = customresources.version_of(resource.group, resource.version, resource.plural)
    if version is None or not version.columns:
        return table(resource.plural, objects, resource_version, include, type_meta)
    columns = [NAME] + [(str(c.get("name", "")), str(c.get("type", "string")), int(c.get("priority", 0))) for c in version.columns]
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": [{"name": name, "type": kind, "format": "name" if name == "Name" else "", "description": "", "priority": priority}
                              for name, kind, priority in columns],
        "rows": [_row([obj["metadata"]["name"], *customresources.column_cells(version.columns, obj)], obj, include, type_meta)
                 for obj in objects],
    }


def _kinds_printed_elsewhere() -> None:
    """The workload kinds' printers live beside their kinds (batch, apps, autoscaling), as do the certificates' and storage's."""
    from labrunner.sandbox import printers_apps, printers_autoscaling, printers_batch, printers_certificates, printers_storage

    for module in (printers_apps, printers_autoscaling, printers_batch, printers_certificates, printers_storage):
        PRINTERS.update(module.PRINTERS)
    from labrunner.sandbox import printers_quota
    from labrunner.sandbox.l7.ingress import printers as ingress_printers

    PRINTERS.update(printers_quota.PRINTERS)
    PRINTERS.update(ingress_printers.PRINTERS)


_kinds_printed_elsewhere()
