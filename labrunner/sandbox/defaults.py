"""What the API server fills in when an object is written: defaulting per kind,
and the allocations kubectl reads straight back (a Service's cluster IP and node
ports). Pure functions over the object and the objects already stored.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
from collections.abc import Iterable
from typing import Any

from labrunner.sandbox import names

SERVICE_NETWORK = ipaddress.ip_network("10.96.0.0/16")
NODE_PORTS = range(30000, 32768)
KUBE_DNS_IP = "10.96.0.10"


def _container_defaults(container: dict[str, Any]) -> None:
    image = str(container.get("image", ""))
    tag = image.rsplit("/", 1)[-1].partition(":")[2] if ":" in image.rsplit("/", 1)[-1] else ""
    container.setdefault("imagePullPolicy", "Always" if tag in ("", "latest") else "IfNotPresent")
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    container.setdefault("resources", {})
    for port in container.get("ports") or []:
        port.setdefault("protocol", "TCP")


def pod_spec_defaults(spec: dict[str, Any]) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    spec.setdefault("serviceAccountName", spec.get("serviceAccount") or "default")
    for container in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        _container_defaults(container)


def _selector_defaults(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    template = spec.setdefault("template", {})
    pod_spec_defaults(template.setdefault("spec", {}))
    spec.setdefault("revisionHistoryLimit", 10)


def workload_defaults(plural: str, obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    if plural == "deployments":
        spec.setdefault("replicas", 1)
        spec.setdefault("progressDeadlineSeconds", 600)
        strategy = spec.setdefault("strategy", {"type": "RollingUpdate"})
        if strategy.get("type", "RollingUpdate") == "RollingUpdate":
            strategy.setdefault("type", "RollingUpdate")
            strategy.setdefault("rollingUpdate", {"maxSurge": "25%", "maxUnavailable": "25%"})
        _selector_defaults(obj)
    elif plural == "replicasets":
        spec.setdefault("replicas", 1)
        pod_spec_defaults(spec.setdefault("template", {}).setdefault("spec", {}))
    elif plural == "daemonsets":
        strategy = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
        if strategy.get("type", "RollingUpdate") == "RollingUpdate":
            strategy.setdefault("type", "RollingUpdate")
            strategy.setdefault("rollingUpdate", {"maxUnavailable": 1, "maxSurge": 0})
        _selector_defaults(obj)
    elif plural == "statefulsets":
        spec.setdefault("replicas", 1)
        spec.setdefault("podManagementPolicy", "OrderedReady")
        strategy = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
        if strategy.get("type", "RollingUpdate") == "RollingUpdate":
            strategy.setdefault("type", "RollingUpdate")
            strategy.setdefault("rollingUpdate", {"partition": 0})
        spec.setdefault("persistentVolumeClaimRetentionPolicy", {"whenDeleted": "Retain", "whenScaled": "Retain"})
        _selector_defaults(obj)
    elif plural == "replicationcontrollers":
        spec.setdefault("replicas", 1)
        template = spec.setdefault("template", {})
        labels = (template.get("metadata") or {}).get("labels") or {}
        if not spec.get("selector") and labels:
            spec["selector"] = dict(labels)  # an RC's selector defaults to its template's labels
        if labels and not (obj.get("metadata") or {}).get("labels"):
            obj.setdefault("metadata", {})["labels"] = dict(labels)
        pod_spec_defaults(template.setdefault("spec", {}))
    elif plural == "horizontalpodautoscalers":
        spec.setdefault("minReplicas", 1)
        if not spec.get("metrics"):
            spec["metrics"] = [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]
        behavior = spec.get("behavior")
        if behavior is not None:  # only a given behavior is completed (SetDefaults_HorizontalPodAutoscalerBehavior)
            up = behavior.setdefault("scaleUp", {})
            up.setdefault("stabilizationWindowSeconds", 0)
            up.setdefault("selectPolicy", "Max")
            up.setdefault("policies", [{"type": "Pods", "value": 4, "periodSeconds": 15}, {"type": "Percent", "value": 100, "periodSeconds": 15}])
            down = behavior.setdefault("scaleDown", {})
            down.setdefault("selectPolicy", "Max")  # no stabilization window: the controller's 300 s applies
            down.setdefault("policies", [{"type": "Percent", "value": 100, "periodSeconds": 15}])
    elif plural == "jobs":
        job_defaults(obj)
    elif plural == "cronjobs":  # SetDefaults_CronJob; the template's JobSpec is not defaulted, its pod spec is
        spec.setdefault("concurrencyPolicy", "Allow")
        spec.setdefault("suspend", False)
        spec.setdefault("successfulJobsHistoryLimit", 3)
        spec.setdefault("failedJobsHistoryLimit", 1)
        job_template = spec.setdefault("jobTemplate", {})
        pod_spec_defaults(job_template.setdefault("spec", {}).setdefault("template", {}).setdefault("spec", {}))
    elif plural == "pods":
        pod_spec_defaults(spec)
        _requests_from_limits(spec)
        obj.setdefault("status", {}).setdefault("phase", "Pending")


def _requests_from_limits(spec: dict[str, Any]) -> None:
    """SetDefaults_Pod: a container's limit with no request for that resource is its request too
    (for a Pod only, never a template, so a LimitRange's default request cannot apply then)."""
    for container in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        resources = container.get("resources")
        if isinstance(resources, dict) and isinstance(resources.get("limits"), dict) and resources["limits"]:
            requests = resources.setdefault("requests", {})
            if isinstance(requests, dict):
                for key, value in resources["limits"].items():
                    requests.setdefault(key, value)


JOB_UID_LABEL, JOB_NAME_LABEL = "batch.kubernetes.io/controller-uid", "batch.kubernetes.io/job-name"
LEGACY_JOB_UID_LABEL, LEGACY_JOB_NAME_LABEL = "controller-uid", "job-name"


def job_defaults(obj: dict[str, Any]) -> None:
    """SetDefaults_Job (pkg/apis/batch/v1/defaults.go), then the registry's generated selector
    (pkg/registry/batch/job/strategy.go generateSelector) once the Job's uid is known."""
    spec = obj.setdefault("spec", {})
    metadata = obj.setdefault("metadata", {})
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
        spec["parallelism"] = 1
    spec.setdefault("parallelism", 1)
    spec.setdefault("backoffLimit", 2147483647 if spec.get("backoffLimitPerIndex") is not None else 6)
    template = spec.setdefault("template", {})
    template_labels = (template.get("metadata") or {}).get("labels")
    if template_labels and not metadata.get("labels"):
        metadata["labels"] = dict(template_labels)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    for rule in (spec.get("podFailurePolicy") or {}).get("rules") or []:
        for pattern in rule.get("onPodConditions") or []:
            pattern.setdefault("status", "True")
    spec.setdefault("podReplacementPolicy", "Failed" if spec.get("podFailurePolicy") else "TerminatingOrFailed")
    spec.setdefault("manualSelector", False)
    pod_spec_defaults(template.setdefault("spec", {}))
    if metadata.get("uid"):
        generate_job_selector(obj)


def generate_job_selector(job: dict[str, Any]) -> None:
    """Without manualSelector, the selector is the Job's uid and its template carries the four
    labels; a Job created with no labels of its own reads back with its template's."""
    spec, metadata = job["spec"], job["metadata"]
    if spec.get("manualSelector"):
        return
    uid, name = str(metadata["uid"]), str(metadata.get("name", ""))
    spec["selector"] = {"matchLabels": {JOB_UID_LABEL: uid}}
    labels = spec.setdefault("template", {}).setdefault("metadata", {}).setdefault("labels", {})
    labels.update({JOB_UID_LABEL: uid, JOB_NAME_LABEL: name, LEGACY_JOB_UID_LABEL: uid, LEGACY_JOB_NAME_LABEL: name})
    if not metadata.get("labels"):  # as a Job read back from storage is defaulted again
        metadata["labels"] = dict(labels)


def template_hash(template: dict[str, Any]) -> str:
    """A stable short hash of a pod template, like the pod-template-hash label."""
    import json

    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).digest()
    return names.encode(int.from_bytes(digest[:8], "big"), 10)


class InvalidService(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def service_defaults(obj: dict[str, Any], existing: Iterable[dict[str, Any]], previous: dict[str, Any] | None = None) -> None:
    """Type, ports and session affinity defaults; a cluster IP kept or allocated;
    node ports allocated for NodePort/LoadBalancer and dropped for ClusterIP.

    Raises:
        InvalidService: a requested IP or node port is taken or out of range.
    """
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec["type"] == "ExternalName":
        # a DNS alias: no address, no IP families, no traffic policy (the allocator and
        # SetDefaults_Service leave it alone; a change to ExternalName releases the address)
        for field in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy", "internalTrafficPolicy", "externalTrafficPolicy"):
            spec.pop(field, None)
        for port in spec.get("ports") or []:
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
            port.pop("nodePort", None)
        obj.setdefault("status", {}).setdefault("loadBalancer", {})
        return
    spec.setdefault("internalTrafficPolicy", "Cluster")
    spec.setdefault("ipFamilies", ["IPv4"])
    spec.setdefault("ipFamilyPolicy", "SingleStack")
    others = [s for s in existing if s["metadata"].get("uid") != (previous or {}).get("metadata", {}).get("uid")]
    used_ips = {s.get("spec", {}).get("clusterIP") for s in others}
    used_ports = {p.get("nodePort") for s in others for p in s.get("spec", {}).get("ports") or []}
    if previous is not None and not spec.get("clusterIP"):
        spec["clusterIP"] = previous.get("spec", {}).get("clusterIP")
    if spec.get("clusterIP") in (None, ""):
        spec["clusterIP"] = next(str(ip) for ip in SERVICE_NETWORK.hosts() if str(ip) not in used_ips and int(ip) % 256 not in (0, 1, 10))
    elif spec["clusterIP"] != "None" and spec["clusterIP"] in used_ips:
        raise InvalidService("spec.clusterIP", f'Invalid value: "{spec["clusterIP"]}": provided IP is already allocated')
    if spec["clusterIP"] != "None":
        spec["clusterIPs"] = [spec["clusterIP"]]
    previous_ports = {(p.get("port"), p.get("protocol", "TCP")): p.get("nodePort") for p in (previous or {}).get("spec", {}).get("ports") or []}
    wants_node_ports = spec["type"] in ("NodePort", "LoadBalancer")
    free_ports = (port for port in NODE_PORTS if port not in used_ports)
    for index, port in enumerate(spec.get("ports") or []):
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))
        if not wants_node_ports:
            port.pop("nodePort", None)
            continue
        requested = port.get("nodePort") or previous_ports.get((port.get("port"), port["protocol"]))
        if requested:
            if requested not in NODE_PORTS:
                raise InvalidService(f"spec.ports[{index}].nodePort", f"Invalid value: {requested}: provided port is not in the valid range. The range of valid ports is 30000-32767")
            if requested in used_ports:
                raise InvalidService(f"spec.ports[{index}].nodePort", f"Invalid value: {requested}: provided port is already allocated")
            port["nodePort"] = requested
        else:
            port["nodePort"] = next(free_ports)
        used_ports.add(port["nodePort"])
    if wants_node_ports:
        spec.setdefault("externalTrafficPolicy", "Cluster")
    else:  # as the API server's dropTypeDependentFields does on a change back to ClusterIP
        spec.pop("externalTrafficPolicy", None)
    obj.setdefault("status", {}).setdefault("loadBalancer", {})


def secret_defaults(obj: dict[str, Any]) -> None:
    string_data = obj.pop("stringData", None) or {}
    data = obj.setdefault("data", {})
    for key, value in string_data.items():
        data[key] = base64.b64encode(str(value).encode()).decode()
    obj.setdefault("type", "Opaque")


def network_policy_defaults(obj: dict[str, Any]) -> None:
    """SetDefaults_NetworkPolicy and SetDefaults_NetworkPolicyPort (pkg/apis/networking/v1):
    ``policyTypes`` written out when absent (Ingress, plus Egress when there are egress
    rules) and every port's protocol TCP, so what ``kubectl get -o yaml`` shows is what
    the policy means."""
    spec = obj.setdefault("spec", {})
    if not spec.get("policyTypes"):
        spec["policyTypes"] = ["Ingress", "Egress"] if spec.get("egress") else ["Ingress"]
    for direction in ("ingress", "egress"):
        for rule in spec.get(direction) or []:
            if isinstance(rule, dict):
                for port in rule.get("ports") or []:
                    if isinstance(port, dict) and port.get("protocol") is None:
                        port["protocol"] = "TCP"
