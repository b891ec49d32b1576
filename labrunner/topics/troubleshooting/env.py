"""``env-from-config``: the environment variable an app wanted (and crashed without) is now
in its running pods, and it comes from the ConfigMap: through ``envFrom`` (a key of that
name) or an ``env[].valueFrom.configMapKeyRef`` (any key), never a value written into the
Deployment."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any, Literal

from labrunner.cluster import errors
from labrunner.lab.check_args import CheckArgs
from labrunner.lab.fields import KubeName, NonEmptyStr
from labrunner.registry.types import CheckContext, CheckKind, Outcome
from labrunner.topics.troubleshooting.common import find
from labrunner.topics.workloads.common import TEMPLATE, containers, pods_of
from labrunner.topics.workloads.rollouts import DeploymentRollout, deployment_rollout


class EnvFromConfig(CheckArgs):
    """Every running pod of the Deployment ``deployment`` has the variable ``variable`` (with
    ``value`` when given), taken from the ConfigMap ``configmap``; and it has rolled out."""

    kind: Literal["env-from-config"]
    namespace: KubeName
    deployment: KubeName
    variable: NonEmptyStr
    configmap: KubeName
    value: str | None = None
    container: KubeName | None = None
    """The container that needs it; default: the first."""


def _source(container: Mapping[str, Any], variable: str, configmap: str, data: Mapping[str, str],
            where: str, deployment: str) -> tuple[str | None, tuple[str, list[str]] | None]:
    """(the value the template gives ``variable``, or None; the problem and its details, or None)."""
    for index, entry in reversed(list(enumerate(container.get("env") or []))):  # env wins over envFrom, the last entry over earlier ones
        if entry.get("name") != variable:
            continue
        path = f"deployment {deployment}: {where}.env[{index}]"
        if "value" in entry and "valueFrom" not in entry:
            return None, (f"{path} sets {variable} to {entry.get('value')!r}, not from configmap {configmap}", [
                f"this step wants it from configmap {configmap}, where the app's settings are kept: a copy written into the Deployment "
                "drifts from it"])
        ref = (entry.get("valueFrom") or {}).get("configMapKeyRef") or {}
        if not ref:
            return None, (f"{path}.valueFrom takes {variable} from something other than a ConfigMap; this step wants configmap {configmap}", [])
        if ref.get("name") != configmap:
            return None, (f"{path}.valueFrom.configMapKeyRef.name is {ref.get('name')!r}; the app's settings are in configmap {configmap}", [])
        key = str(ref.get("key"))
        if key not in data:
            return None, (f"{path}.valueFrom.configMapKeyRef.key is {key!r}, which configmap {configmap} does not have "
                          f"(its keys: {', '.join(sorted(data)) or 'none'})", [])
        return data[key], None
    for index, source in enumerate(container.get("envFrom") or []):
        ref = source.get("configMapRef") or {}
        if ref.get("name") != configmap:
            continue
        prefix = str(source.get("prefix") or "")
        if variable.startswith(prefix) and variable[len(prefix):] in data:
            return data[variable[len(prefix):]], None
        made = ", ".join(prefix + key for key in sorted(data)) or "none"
        return None, (f"configmap {configmap} has no key {variable[len(prefix):]} (its keys: {', '.join(sorted(data)) or 'none'})", [
            f"so {where}.envFrom[{index}] of deployment {deployment} gives the container {made} and no {variable}"])
    return None, (f"deployment {deployment}: {where} has no env entry {variable} and no envFrom of configmap {configmap}", [
        f"so the container starts without {variable}"])


def _printenv(context: CheckContext, pod: Mapping[str, Any], namespace: str, container: str, variable: str) -> tuple[str, str | None]:
    """("ran", the value or None when unset), ("crashing", last log line), ("starting", "")."""
    name = pod["metadata"]["name"]
    status: Mapping[str, Any] = next((s for s in (pod.get("status") or {}).get("containerStatuses") or [] if s.get("name") == container), {})
    state = status.get("state") or {}
    if "running" not in state:
        if ((state.get("waiting") or {}).get("reason")) == "CrashLoopBackOff":
            try:
                said = context.cluster.logs(name, namespace, container=container, previous=True, tail=2).strip().splitlines()
            except errors.ClusterError:
                said = []
            return "crashing", said[-1] if said else None
        return "starting", None
    try:
        result = context.cluster.exec(name, namespace, ["sh", "-c", f"printenv {shlex.quote(variable)}"], container=container, timeout=10)
    except errors.ClusterError:
        return "starting", None
    return "ran", result.stdout.strip() if result.exit_code == 0 else None


def env_from_config(args: EnvFromConfig, context: CheckContext) -> Outcome:
    cluster, namespace = context.cluster, args.namespace
    configmap = find(cluster, "configmaps", args.configmap, namespace)
    if configmap is None:
        return "failed", context.near_object("configmaps", args.configmap, namespace) or f"configmap {args.configmap} does not exist in {namespace}", []
    deployment = find(cluster, "deployments", args.deployment, namespace)
    if deployment is None:
        others = sorted(str(d["metadata"]["name"]) for d in cluster.list("deployments", namespace))
        return "failed", f"deployment {args.deployment} does not exist in {namespace}: this step repairs it, under its own name", (
            [f"deployments in {namespace} now: {', '.join(others)}"] if others else [])
    found = containers(deployment, args.container)
    if not found:
        return "failed", f"deployment {args.deployment} has no container {args.container}", []
    index, container = found[0]
    data = {str(k): str(v) for k, v in (configmap.get("data") or {}).items()}
    value, problem = _source(container, args.variable, args.configmap, data, f"{TEMPLATE}.containers[{index}]", args.deployment)
    if problem:
        return "failed", problem[0], problem[1]
    if args.value is not None and value != args.value:
        return "failed", (f"{args.variable} comes from configmap {args.configmap} as {value!r}; this step wants {args.value!r}"), []
    name = str(container.get("name"))
    if int((deployment.get("spec") or {}).get("replicas", 1)) == 0:
        return "failed", f"deployment {args.deployment} has spec.replicas 0: no pod runs it, so nothing shows the repair works", []
    pods = pods_of(cluster, deployment, namespace)
    stale: list[tuple[str, str]] = []  # (what the pod does, what it said)
    starting = 0
    for pod in pods:
        state, seen = _printenv(context, pod, namespace, name, args.variable)
        if state == "starting":
            starting += 1
        elif state == "crashing":
            stale.append((f"pod {pod['metadata']['name']} still crash-loops", f"its last run said {seen!r}" if seen else ""))
        elif seen != value:
            stale.append((f"pod {pod['metadata']['name']} runs with {args.variable}={seen!r}" if seen is not None
                          else f"pod {pod['metadata']['name']} runs without {args.variable}", ""))
    if stale:
        (first, said), others = stale[0], [f"{doing} ({said})" if said else doing for doing, said in stale[1:]]
        return "failed", f"{first}: it started before the fix", [
            *([said] if said else []), "a container reads its environment when it starts", *others,
            f"a crash-looping container is restarted ever more slowly (up to 5 minutes); start new pods now: "
            f"kubectl rollout restart deployment/{args.deployment} -n {namespace}"]
    if starting or not pods:
        return "pending", f"the pods of deployment {args.deployment} are starting", []
    status, message, details = deployment_rollout(
        DeploymentRollout(kind="deployment-rollout", says=args.says, namespace=namespace, name=args.deployment), context)
    if status != "passed":
        return status, message, details
    return "passed", (f"every pod of deployment {args.deployment} runs with {args.variable}={value!r}, "
                      f"from configmap {args.configmap}"), []


KINDS = (CheckKind(model=EnvFromConfig, run=env_from_config, watches=("deployments", "pods", "configmaps"), polled=True),)
