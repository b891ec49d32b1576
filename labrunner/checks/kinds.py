"""The check kinds: each reads the cluster through the port and says what it found.

A kind returns ``(status, message, details)``; the runner adds the id, the
lab's sentence and the hint, and turns cluster errors into ``error`` results.
Kinds never import the kubernetes client: the port is all they know.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from labrunner.checks.result import Status
from labrunner.cluster import errors
from labrunner.cluster.port import ClusterPort

Outcome = tuple[Status, str, list[str]]
Kind = Callable[..., Outcome]
"""(arguments, cluster) -> outcome; the shell kind also takes the lab's parameters."""

PROBE_IMAGE = "busybox:1.36"
PROBE_READY_SECONDS = 90.0


def _candidates(namespace: Any) -> list[str]:
    return list(namespace) if isinstance(namespace, (list, tuple)) else [str(namespace)]


def _selector_text(selector: Mapping[str, Any] | None) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(((selector or {}).get("matchLabels") or {}).items()))


# -- the cluster itself -------------------------------------------------------------------


def cluster_reachable(args: Mapping[str, Any], cluster: ClusterPort) -> Outcome:
    version = cluster.version()
    where = "the labrunner sandbox" if cluster.info.is_sandbox else f"context {cluster.info.context}"
    return "passed", f"the API server answers ({where}, Kubernetes {version.get('gitVersion', '?')})", []


def nodes_ready(args: Mapping[str, Any], cluster: ClusterPort) -> Outcome:
    nodes = cluster.list("nodes")
    not_ready = [n["metadata"]["name"] for n in nodes
                 if not any(c.get("type") == "Ready" and c.get("status") == "True" for c in (n.get("status") or {}).get("conditions") or [])]
    if len(nodes) < int(args.get("min", 1)):
        return "failed", f"the cluster has {len(nodes)} node(s), {args.get('min', 1)} needed", []
    if not_ready:
        return "failed", f"not Ready: {', '.join(not_ready)}", ["a node is NotReady until its network plugin (CNI) runs"]
    return "passed", f"{len(nodes)} node(s), all Ready", []


def command_available(args: Mapping[str, Any], cluster: ClusterPort) -> Outcome:
    found = shutil.which(str(args["command"]))
    if found:
        return "passed", f"{args['command']} is {found}", []
    return "failed", f"{args['command']} is not on your PATH", []


def cni_enforces_policy(args: Mapping[str, Any], cluster: ClusterPort) -> Outcome:
    known = {"calico-node": ("Calico", True), "cilium": ("Cilium", True), "weave-net": ("Weave Net", True),
             "kube-router": ("kube-router", True), "antrea-agent": ("Antrea", True),
             "kindnet": ("kindnet", False), "kube-flannel-ds": ("flannel", False)}
    found = []
    for namespace in ("kube-system", "calico-system", "kube-flannel"):
        for daemon_set in cluster.list("daemonsets", namespace):
            name = daemon_set["metadata"]["name"]
            if name in known:
                found.append(known[name])
    enforcing = [name for name, enforces in found if enforces]
    if enforcing:
        return "passed", f"{enforcing[0]} is installed: NetworkPolicies are enforced", []
    if _is_k3s(cluster):
        # k3s runs kube-router's policy controller inside its own server process: no DaemonSet to find.
        return "passed", ("k3s's built-in policy controller enforces NetworkPolicies "
                          "(unless k3s was started with --disable-network-policy)"), []
    if found:
        return "failed", f"{found[0][0]} is installed, and it ignores NetworkPolicies", ["install Calico (this lab's step 7 shows how)"]
    return "failed", "no NetworkPolicy-enforcing network plugin found (looked for Calico, Cilium, Weave, kube-router, Antrea, k3s)", []


def _is_k3s(cluster: ClusterPort) -> bool:
    return any("k3s" in ((node.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion", "") for node in cluster.list("nodes"))


def prove_policy_enforcement(cluster: ClusterPort) -> Outcome:
    """Show, rather than infer, that NetworkPolicies are enforced: in a throwaway
    namespace, a busybox pod reaches an nginx pod, a deny-all ingress policy goes in,
    and the same request must then fail. Creates and deletes a namespace and pulls
    two images, so it runs only when the learner asks for it."""
    import secrets

    namespace = f"labrunner-proof-{secrets.token_hex(3)}"
    labels = {"app.kubernetes.io/managed-by": "labrunner"}
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": labels}})
    try:
        cluster.apply({"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": "server", "namespace": namespace, "labels": {**labels, "app": "proof-server"}},
                       "spec": {"terminationGracePeriodSeconds": 0, "containers": [{"name": "nginx", "image": "nginx:1.27"}]}}, namespace)
        deadline = time.monotonic() + PROBE_READY_SECONDS
        while not (ip := (cluster.get("pods", "server", namespace).get("status") or {}).get("podIP")):
            if time.monotonic() > deadline:
                return "error", f"the nginx pod in {namespace} got no IP within {PROBE_READY_SECONDS:.0f} s", []
            time.sleep(0.3)
        request = ["wget", "-q", "-T", "3", "-O", "-", f"http://{ip}/"]
        _, before_error, before = _probe(cluster, namespace, {"run": "proof-client"}, request)
        if before != 0:
            return "error", f"busybox could not reach nginx even before any policy ({before_error.strip() or before})", []
        cluster.apply({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                       "metadata": {"name": "deny-all-ingress", "namespace": namespace, "labels": labels},
                       "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}, namespace)
        time.sleep(1.0)  # the plugin programs the node's rules asynchronously
        _, _, after = _probe(cluster, namespace, {"run": "proof-client"}, request)
        if after == 0:
            return "failed", "a deny-all ingress policy did not stop busybox from reaching nginx: NetworkPolicies are NOT enforced", []
        return "passed", "proved: busybox reached nginx, then a deny-all ingress policy stopped it", []
    finally:
        try:
            cluster.delete("namespaces", namespace)
        except errors.ClusterError:
            pass


# -- namespaces -----------------------------------------------------------------------------


def namespace_active(args: Mapping[str, Any], cluster: ClusterPort) -> Outcome:
    try:
        namespace = cluster.get("namespaces", str(args["name"]))
    except errors.NotFound:
        import difflib

        near = difflib.get_close_matches(str(args["name"]), [n["metadata"]["name"] for n in cluster.list("namespaces")], n=1, cutoff=0.8)
        return "failed", f"namespace {args['name']} does not exist" + (f" (there is a namespace {near[0]}: a typo?)" if near else ""), []
    phase = (namespace.get("status") or {}).get("phase", "Active")
    if phase != "Active":
        return "failed", f"namespace {args['name']} is {phase}", ["a Terminating namespace disappears shortly; create it again after"]
    return "passed", f"namespace {args['name']} is Active", []


def namespace_absent(args: Mapping[str, Any], cluster: ClusterPort) -> Outcome:
    try:
        namespace = cluster.get("namespaces", str(args["name"]))
    except errors.NotFound:
        return "passed", f"namespace {args['name']} is gone", []
    if (namespace.get("status") or {}).get("phase") == "Terminating":
        return "pending", f"namespace {args['name']} is Terminating", []
    return "failed", f"namespace {args['name']} still exists", []


def namespace_labels(args: Mapping[str, Any], cluster: ClusterPort) -> Outcome:
    try:
        labels = cluster.get("namespaces", str(args["name"]))["metadata"].get("labels") or {}
    except errors.NotFound:
        return "failed", f"namespace {args['name']} does not exist", []
    wrong = [f"{k}={v} (it has {k}={labels[k]})" if k in labels else f"{k}={v}" for k, v in (args.get("present") or {}).items() if labels.get(k) != v]
    extra = [f"{k}={labels[k]}" for k in args.get("absent") or () if k in labels]
    problems = ([f"missing label {', '.join(wrong)}"] if wrong else []) + ([f"still labelled {', '.join(extra)}"] if extra else [])
    if problems:
        return "failed", f"namespace {args['name']}: " + "; ".join(problems), []
    return "passed", f"namespace {args['name']} is labelled as it should be", []


# -- workloads ----------------------------------------------------------------------------


def _pod_problems(cluster: ClusterPort, namespace: str, selector: Mapping[str, Any] | None) -> tuple[list[str], bool]:
    """Why a workload's pods are not ready, and whether they are merely still starting."""
    pods = cluster.list("pods", namespace, labels=_selector_text(selector))
    problems, starting = [], False
    for pod in pods:
        name = pod["metadata"]["name"]
        status = pod.get("status") or {}
        if not (pod.get("spec") or {}).get("nodeName") and status.get("phase") == "Pending":
            reasons = [c.get("message") for c in status.get("conditions") or [] if c.get("type") == "PodScheduled" and c.get("message")]
            problems.append(f"pod {name} is Pending: {reasons[0] if reasons else 'not scheduled yet'}")
            continue
        for container in status.get("containerStatuses") or []:
            waiting = (container.get("state") or {}).get("waiting") or {}
            reason = waiting.get("reason")
            if reason in ("ErrImagePull", "ImagePullBackOff"):
                problems.append(f"pod {name} cannot pull image {container.get('image')!r} ({reason}): check the image name and tag")
            elif reason == "CrashLoopBackOff":
                try:
                    tail = cluster.logs(name, namespace, container=container.get("name"), tail=5).strip().splitlines()
                except errors.ClusterError:
                    tail = []
                problems.append(f"container {container.get('name')} of pod {name} keeps crashing (CrashLoopBackOff)"
                                + (": last log lines: " + " | ".join(tail) if tail else ""))
            elif reason in ("CreateContainerConfigError", "CreateContainerError"):
                problems.append(f"pod {name}: {waiting.get('message', reason)}")
            elif reason == "ContainerCreating" or not container.get("ready"):
                starting = True
    return problems, starting


def deployment_ready(args: Mapping[str, Any], cluster: ClusterPort) -> Outcome:
    name = str(args["name"])
    found = None
    for namespace in _candidates(args["namespace"]):
        try:
            found = (namespace, cluster.get("deployments", name, namespace))
            break
        except errors.NotFound:
            continue
    if found is None:
        return "failed", f"deployment {name} does not exist in {' or '.join(_candidates(args['namespace']))}", []
    namespace, deployment = found
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    wanted = int(args["replicas"]) if args.get("replicas") is not None else int(spec.get("replicas", 1))
    if int(spec.get("replicas", 1)) != wanted:
        return "failed", f"deployment {name} asks for {spec.get('replicas', 1)} replica(s); this step wants {wanted}", []
    ready = int(status.get("readyReplicas", 0))
    if ready >= wanted and int(status.get("updatedReplicas", 0)) >= wanted:
        return "passed", f"deployment {name} has {ready}/{wanted} ready replica(s)", []
    problems, starting = _pod_problems(cluster, namespace, spec.get("selector"))
    if problems:
        return "failed", f"deployment {name} has {ready}/{wanted} ready replica(s): {problems[0]}", problems[1:]
    return "pending", f"deployment {name} has {ready}/{wanted} ready replica(s); its pods are starting", []


def daemonset_ready(args: Mapping[str, Any], cluster: ClusterPort) -> Outcome:
    name = str(args["name"])
    for namespace in _candidates(args["namespace"]):
        try:
            daemon_set = cluster.get("daemonsets", name, namespace)
        except errors.NotFound:
            continue
        status = daemon_set.get("status") or {}
        desired, ready = int(status.get("desiredNumberScheduled", 0)), int(status.get("numberReady", 0))
        if desired and ready == desired:
            return "passed", f"daemonset {name} in {namespace} is ready on {ready}/{desired} node(s)", []
        problems, _ = _pod_problems(cluster, namespace, (daemon_set.get("spec") or {}).get("selector"))
        if problems:
            return "failed", f"daemonset {name} is ready on {ready}/{desired} node(s): {problems[0]}", problems[1:]
        return "pending", f"daemonset {name} is ready on {ready}/{desired} node(s)", []
    return "failed", f"daemonset {name} does not exist in {' or '.join(_candidates(args['namespace']))}", []


# -- services -------------------------------------------------------------------------------


def service_exposes(args: Mapping[str, Any], cluster: ClusterPort) -> Outcome:
    name, namespace = str(args["name"]), str(args["namespace"])
    try:
        service = cluster.get("services", name, namespace)
    except errors.NotFound:
        return "failed", f"service {name} does not exist in {namespace}", []
    spec = service.get("spec") or {}
    if spec.get("type", "ClusterIP") != args.get("type", "ClusterIP"):
        return "failed", f"service {name} is of type {spec.get('type', 'ClusterIP')}, not {args.get('type', 'ClusterIP')}", []
    protocol = args.get("protocol", "TCP")
    port = next((p for p in spec.get("ports") or [] if p.get("port") == args["port"] and p.get("protocol", "TCP") == protocol), None)
    if port is None:
        listed = ", ".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in spec.get("ports") or []) or "none"
        return "failed", f"service {name} does not expose {protocol} {args['port']} (it exposes {listed})", []
    if args.get("target_port") is not None and port.get("targetPort") != args["target_port"]:
        return "failed", f"service {name} sends port {args['port']} to targetPort {port.get('targetPort')}, not {args['target_port']}", []
    if args.get("type") == "NodePort" and not port.get("nodePort"):
        return "pending", f"service {name} has no node port yet", []
    selector = spec.get("selector") or {}
    selector_text = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    pods = cluster.list("pods", namespace, labels=selector_text) if selector else []
    if selector and not pods:
        return "failed", f"service {name}'s selector {selector_text} matches no pod in {namespace}", [
            "compare it with the pods' labels: kubectl get pods --show-labels -n " + namespace]
    if (mismatch := _target_port_mismatch(name, args["port"], port, pods)) is not None:
        return "failed", mismatch, ["the targetPort must be a port the container listens on: kubectl get pods -o yaml -n " + namespace + " shows containerPort"]
    wanted = int(args.get("ready_endpoints", 1))
    if wanted:
        try:
            endpoints = cluster.get("endpoints", name, namespace)
        except errors.NotFound:
            endpoints = {}
        ready = sum(len(subset.get("addresses") or []) for subset in endpoints.get("subsets") or [])
        if ready < wanted:
            return "pending" if pods else "failed", f"service {name} has {ready} ready endpoint(s), {wanted} needed", []
    shown = f"{args['port']}:{port['nodePort']}/{protocol}" if port.get("nodePort") else f"{args['port']}/{protocol}"
    return "passed", f"service {name} ({spec.get('type', 'ClusterIP')}, {shown}) reaches {len(pods)} pod(s)", []


def _target_port_mismatch(name: str, number: Any, port: Mapping[str, Any], pods: list[dict[str, Any]]) -> str | None:
    """Why the Service's targetPort reaches no container port of its pods; None when it
    does, or when the pods declare no ports at all (then we cannot tell)."""
    declared = [(c.get("name"), c.get("containerPort"), c.get("protocol", "TCP"))
                for pod in pods for container in (pod.get("spec") or {}).get("containers") or []
                for c in container.get("ports") or []]
    if not declared:
        return None
    target = port.get("targetPort", port.get("port"))
    protocol = port.get("protocol", "TCP")
    listening = ", ".join(sorted({f"{n}/{p}" + (f" ({label})" if label else "") for label, n, p in declared}))
    if isinstance(target, str) and not target.isdigit():
        if any(label == target and p == protocol for label, _, p in declared):
            return None
        return f"service {name} sends port {number} to targetPort {target!r}, but no container port of its pods is named {target!r} (they declare {listening})"
    if any(n == int(target) and p == protocol for _, n, p in declared):
        return None
    return f"service {name} sends port {number} to targetPort {target}, but its pods listen on {listening}"


def resource_absent(args: Mapping[str, Any], cluster: ClusterPort) -> Outcome:
    kind, namespace = str(args["resource"]), str(args["namespace"])
    if args.get("name"):
        try:
            cluster.get(kind, str(args["name"]), namespace)
        except errors.NotFound:
            return "passed", f"{kind} {args['name']} is gone from {namespace}", []
        return "failed", f"{kind} {args['name']} still exists in {namespace}", []
    left = [item["metadata"]["name"] for item in cluster.list(kind, namespace)]
    if left:
        return "failed", f"{namespace} still has {kind}: {', '.join(left)}", []
    return "passed", f"no {kind} left in {namespace}", []


# -- data -------------------------------------------------------------------------------------


def rows_of(sql_file: Path, table: str | None = None) -> list[tuple[str, ...]]:
    """The rows a SQL file inserts (into ``table``, or its only table), as text."""
    script = re.sub(r"(?im)^\s*(CREATE DATABASE|USE)\b[^;]*;", "", sql_file.read_text(encoding="utf-8"))
    database = sqlite3.connect(":memory:")
    database.executescript(script)
    tables = [row[0] for row in database.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    name = table or tables[0]
    return [tuple("" if v is None else str(v) for v in row) for row in database.execute(f"SELECT * FROM {name} ORDER BY 1")]


def _workload_pod(cluster: ClusterPort, namespace: str, workload: str) -> str:
    kind, _, name = workload.partition("/")
    if kind == "pod":
        return name
    plural = {"deployment": "deployments", "statefulset": "statefulsets"}[kind]
    owner = cluster.get(plural, name, namespace)
    pods = [p for p in cluster.list("pods", namespace, labels=_selector_text((owner.get("spec") or {}).get("selector")))
            if (p.get("status") or {}).get("phase") == "Running"]
    if not pods:
        raise errors.NotFound(f"{workload} has no running pod")
    return str(pods[0]["metadata"]["name"])


def sql_rows(args: Mapping[str, Any], cluster: ClusterPort) -> Outcome:
    namespace = str(args["namespace"])
    try:
        pod = _workload_pod(cluster, namespace, str(args["workload"]))
    except errors.NotFound as missing:
        return "failed", missing.message, []
    query = f"SELECT * FROM {args['database']}.{args['table']} ORDER BY 1"
    result = cluster.exec(pod, namespace, ["sh", "-c", f'mysql -N -B -uroot -p"$MYSQL_ROOT_PASSWORD" -e "{query}"'])
    errors_seen = [line for line in result.stderr.splitlines() if line.startswith("ERROR")]
    if result.exit_code != 0:
        said = errors_seen[0] if errors_seen else result.stderr.strip()[:200]
        if re.match(r"ERROR (1049|1146) ", said):  # unknown database / table: nothing was loaded
            where = f"{args['database']}.{args['table']}"
            return "failed", f"{where} does not exist in {pod}: the data is not loaded yet", [
                said, "load it with kubectl exec -i ... < the SQL file: without -i, kubectl does not pass the file to mysql"]
        return "failed", f"the query in {pod} failed: {said}", []
    found = {tuple(line.split("\t")) for line in result.stdout.splitlines() if line}
    expected = set(rows_of(Path(args["rows_from"]), str(args["table"])))
    missing, extra = sorted(expected - found), sorted(found - expected)
    if not missing and not extra:
        return "passed", f"{args['database']}.{args['table']} holds the {len(expected)} rows of {Path(args['rows_from']).name}", []
    details = [f"missing: {' | '.join(row)}" for row in missing[:5]] + [f"extra: {' | '.join(row)}" for row in extra[:5]]
    return "failed", f"{args['database']}.{args['table']} has {len(found)} row(s); {len(missing)} missing, {len(extra)} unexpected", details


# -- probes ---------------------------------------------------------------------------------


def _probe(cluster: ClusterPort, namespace: str, labels: Mapping[str, str], command: list[str]) -> tuple[str, str, int]:
    """Run ``command`` in a short-lived busybox pod with ``labels``, then remove the pod."""
    import secrets

    name = f"labrunner-probe-{secrets.token_hex(3)}"
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": namespace, "labels": {**labels, "app.kubernetes.io/managed-by": "labrunner"}},
           "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 0,
                    "containers": [{"name": "probe", "image": PROBE_IMAGE, "command": ["sleep", "600"]}]}}
    cluster.apply(pod, namespace)
    try:
        deadline = time.monotonic() + PROBE_READY_SECONDS
        while True:
            current = cluster.get("pods", name, namespace)
            if any(c.get("type") == "Ready" and c.get("status") == "True" for c in (current.get("status") or {}).get("conditions") or []):
                break
            if time.monotonic() > deadline:
                raise errors.Timeout(f"the probe pod {name} did not start within {PROBE_READY_SECONDS:.0f} s")
            time.sleep(0.2)
        result = cluster.exec(name, namespace, command, timeout=60)
        return result.stdout, result.stderr, result.exit_code
    finally:
        try:
            cluster.delete("pods", name, namespace)
        except errors.ClusterError:
            pass


def probe_http(args: Mapping[str, Any], cluster: ClusterPort) -> Outcome:
    timeout = int(args.get("timeout_seconds", 5))
    stdout, stderr, code = _probe(cluster, str(args["namespace"]), dict(args["from_labels"]),
                                  ["wget", "-q", f"--timeout={timeout}", "-O", "-", str(args["url"])])
    who = ",".join(f"{k}={v}" for k, v in sorted(dict(args["from_labels"]).items()))
    said = (stderr.strip().splitlines() or [""])[0]
    if "timed out" in stderr:
        outcome = "timeout"
    elif "refused" in stderr or "can't connect" in stderr:
        outcome = "refused"
    elif code == 0:
        outcome = "reachable"
    else:
        return "failed", f"a pod labelled {who} got: {said or f'exit code {code}'}", []
    expected = args["expect"]
    if outcome != expected:
        got = {"timeout": "timed out (the connection was dropped)", "refused": "was refused", "reachable": "loaded"}[outcome]
        why = _engine_says(cluster, str(args["namespace"]), dict(args["from_labels"]), str(args["url"]))
        return "failed", f"from a pod labelled {who}, {args['url']} {got}; expected: {expected}", ([said] if said else []) + why
    if expected != "reachable":
        return "passed", f"from a pod labelled {who}, {args['url']} {'times out' if expected == 'timeout' else 'is refused'}", []
    absent = [text for text in args.get("contains") or () if text not in stdout]
    if absent:
        return "failed", f"the page does not say {absent[0]!r}", [_first_line_of_interest(stdout)]
    if args.get("lists_rows_of"):
        rows = rows_of(Path(args["lists_rows_of"]))
        missing = [row for row in rows if not all(value in stdout for value in row)]
        if missing:
            return "failed", f"the page lists {len(rows) - len(missing)} of the {len(rows)} rows", [_first_line_of_interest(stdout)]
    return "passed", f"from a pod labelled {who}, {args['url']} loads as expected", []


def _engine_says(cluster: ClusterPort, namespace: str, labels: Mapping[str, str], url: str) -> list[str]:
    """What labrunner's NetworkPolicy engine says of the probe's first hop (the
    Service's pods, on its target port), naming the policy and rule responsible;
    nothing when it cannot tell (an unknown host, a Service without pods)."""
    from urllib.parse import urlparse

    from labrunner.topics.networkpolicy.evaluate import evaluate
    from labrunner.topics.networkpolicy.model import Cluster, Pod
    from labrunner.topics.networkpolicy.parse import ObjectError, namespace_from_object, pod_from_object, policy_from_object

    try:
        parsed = urlparse(url)
        parts = (parsed.hostname or "").split(".")
        service_namespace = parts[1] if len(parts) > 1 and parts[1] != "svc" else namespace
        service = cluster.get("services", parts[0], service_namespace)
        spec = service.get("spec") or {}
        selector = spec.get("selector") or {}
        wanted = parsed.port or (443 if parsed.scheme == "https" else 80)
        entry = next((p for p in spec.get("ports") or [] if p.get("port") == wanted), None)
        if not selector or entry is None:
            return []
        pods = [p for p in cluster.list("pods", service_namespace, labels=",".join(f"{k}={v}" for k, v in selector.items()))
                if (p.get("status") or {}).get("podIP")]
        if not pods:
            return []
        destination = pod_from_object(pods[0])
        target = entry.get("targetPort", wanted)
        protocol = entry.get("protocol", "TCP")
        port = target if isinstance(target, int) else destination.named_port(str(target), protocol)
        if port is None:
            return []
        source = Pod(namespace=namespace, name="a pod labelled " + ",".join(f"{k}={v}" for k, v in sorted(labels.items())), labels=dict(labels))
        world = Cluster(namespaces={n.name: n for n in map(namespace_from_object, cluster.list("namespaces"))},
                        pods=(source, destination),
                        policies=tuple(policy_from_object(p) for p in cluster.list("networkpolicies")))
        verdict = evaluate(world, source, destination, protocol, port)
    except (errors.ClusterError, ObjectError, KeyError, ValueError):
        return []
    return [f"labrunner's policy engine: {verdict.sentence()}"]


def _first_line_of_interest(page: str) -> str:
    """The line of a web page a learner needs (its error, if any), as text: no tags, no entities."""
    import html

    for line in page.splitlines():
        if "failed" in line.lower() or "error" in line.lower():
            return html.unescape(re.sub(r"<[^>]+>", "", line)).strip()
    return html.unescape(re.sub(r"<[^>]+>", "", page)).strip()[:160]


def probe_dns(args: Mapping[str, Any], cluster: ClusterPort) -> Outcome:
    # busybox's own options keep a lookup that cannot succeed to 2 s instead of 15.
    stdout, _, code = _probe(cluster, str(args["namespace"]), dict(args["from_labels"]),
                             ["nslookup", "-timeout=2", "-retry=0", str(args["name"])])
    resolved = code == 0 and "Address" in stdout.split("\n\n", 1)[-1]
    wanted = args["expect"] == "resolves"
    who = ",".join(f"{k}={v}" for k, v in sorted(dict(args["from_labels"]).items()))
    if resolved == wanted:
        return "passed", f"from a pod labelled {who}, {args['name']} {'resolves' if resolved else 'does not resolve'}", []
    said = stdout.strip().splitlines()[-1] if stdout.strip() else f"exit code {code}"
    return "failed", f"from a pod labelled {who}, {args['name']} {'does not resolve' if wanted else 'still resolves'}", [said]


# -- policies -----------------------------------------------------------------------------------


def policy_meaning(args: Mapping[str, Any], cluster: ClusterPort) -> Outcome:
    from labrunner.topics.networkpolicy.diff import diff
    from labrunner.topics.networkpolicy.model import Cluster
    from labrunner.topics.networkpolicy.parse import cluster_from_objects, policy_from_object

    namespace = str(args["namespace"])
    names = set(args.get("policies") or ())
    theirs_objects = [p for p in cluster.list("networkpolicies", namespace) if not names or p["metadata"]["name"] in names]
    world = cluster_from_objects([*cluster.list("namespaces"), *[p for p in cluster.list("pods") if (p.get("status") or {}).get("podIP")]])
    world = Cluster(namespaces=world.namespaces, pods=world.pods, policies=())

    def load(paths: Any) -> tuple[Any, ...]:
        policies = []
        for path in paths:
            for document in yaml.safe_load_all(Path(path).read_text(encoding="utf-8")):
                if document and document.get("kind") == "NetworkPolicy":
                    document.setdefault("metadata", {}).setdefault("namespace", namespace)
                    policies.append(policy_from_object(document))
        return tuple(policies)

    mine = tuple(policy_from_object(p) for p in theirs_objects)
    references = [load(args["reference"]), *(load(option) for option in args.get("also_accept") or ())]
    results = [diff(world, mine, reference) for reference in references]
    if any(result.same for result in results):
        listed = ", ".join(sorted(p["metadata"]["name"] for p in theirs_objects)) or "no policies"
        return "passed", f"your policies in {namespace} ({listed}) mean what this step asks", []
    first = results[0].summary(limit=4, focus=namespace)
    # A selector that matches no pod is the classic cause; say it before the connections it explains.
    pods_here = [pod for pod in world.pods if pod.namespace == namespace]
    idle = [f"{policy.name}'s podSelector {policy.pod_selector.describe()} selects no pod in {namespace} "
            f"(its pods: {', '.join(sorted({_pod_labels_text(pod.labels) for pod in pods_here})) or 'none'})"
            for policy in mine if pods_here and not any(policy.pod_selector.matches(pod.labels) for pod in pods_here)]
    if idle:
        first = [idle[0], *first]
    mine_names = {p["metadata"]["name"] for p in theirs_objects}
    misplaced = sorted({(p["metadata"]["name"], p["metadata"].get("namespace", "")) for p in cluster.list("networkpolicies")
                        if p["metadata"].get("namespace") != namespace and p["metadata"]["name"] not in mine_names
                        and p["metadata"]["name"] in {policy.name for policy in references[0]}})
    if misplaced:
        where = ", ".join(f"{name} is in {elsewhere}" for name, elsewhere in misplaced)
        return "failed", (f"{where}, not {namespace}: a NetworkPolicy only selects pods in its own namespace "
                          f"(apply it with -n {namespace})"), first
    return "failed", f"your policies in {namespace} do not mean what this step asks: {first[0]}", first[1:]


def _pod_labels_text(labels: Mapping[str, str]) -> str:
    shown = {k: v for k, v in labels.items() if k != "pod-template-hash"}
    return ",".join(f"{k}={v}" for k, v in sorted(shown.items())) or "no labels"


def policy_lint(args: Mapping[str, Any], cluster: ClusterPort) -> Outcome:
    from labrunner.topics.networkpolicy.files import InputError, read_objects
    from labrunner.topics.networkpolicy.lint import lint

    path = Path(str(args["file"])).expanduser()
    shown = str(args["file"])
    if not path.is_absolute():
        path = Path.cwd() / path
    if not path.is_file():
        return "pending", f"{shown} is not in {path.parent} yet: write it (or copy it) there first", []
    try:
        findings = lint(read_objects([path]))
    except InputError as failure:
        return "failed", f"{shown} cannot be read: line {failure.line}: {failure.message}", []
    errors_found = [f for f in findings if f.severity == "error"]
    lines = [f"line {f.line}: {f.severity}: {f.message} (fix: {f.fix})" for f in (errors_found or findings)]
    if errors_found:
        return "failed", f"{shown} has {len(errors_found)} mistake{'s' if len(errors_found) != 1 else ''}: {errors_found[0].message}", lines
    return "passed", f"{shown} has no mistakes the linter knows" + (f" ({len(findings)} remark{'s' if len(findings) != 1 else ''})" if findings else ""), lines


def shell(args: Mapping[str, Any], cluster: ClusterPort, parameters: Mapping[str, str] | None = None) -> Outcome:
    """A lab author's own test: a script run like a learner's shell, against the same
    cluster and context as the other checks, with the lab's parameters as ``LAB_<NAME>``."""
    from labrunner.cluster.shellenv import learner_environment

    timeout = int(args.get("timeout_seconds", 30))
    with learner_environment(cluster.info.kubeconfig, cluster.info.context, parameters) as environment:
        try:
            completed = subprocess.run(["sh", "-c", str(args["script"])], capture_output=True, text=True, env=environment,
                                       timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return "error", f"the script was still running after {timeout} s", []
    if completed.returncode == int(args.get("exit_code", 0)):
        return "passed", "the script's exit code is as expected", []
    said = (completed.stderr or completed.stdout).strip().splitlines()[-3:]
    return "failed", f"the script exited with {completed.returncode}, expected {args.get('exit_code', 0)}", said


KINDS: dict[str, Kind] = {
    "cluster-reachable": cluster_reachable,
    "nodes-ready": nodes_ready,
    "command-available": command_available,
    "cni-enforces-policy": cni_enforces_policy,
    "namespace-active": namespace_active,
    "namespace-absent": namespace_absent,
    "namespace-labels": namespace_labels,
    "deployment-ready": deployment_ready,
    "daemonset-ready": daemonset_ready,
    "service-exposes": service_exposes,
    "resource-absent": resource_absent,
    "sql-rows": sql_rows,
    "probe-http": probe_http,
    "probe-dns": probe_dns,
    "policy-meaning": policy_meaning,
    "policy-lint": policy_lint,
    "shell": shell,
}
