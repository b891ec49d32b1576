"""A Deployment consuming a ConfigMap or a Secret, as environment variables and as files,
and pods whose environment still holds what the ConfigMap said when they started."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import model_validator

from labrunner.cluster import errors
from labrunner.lab.check_args import CheckArgs
from labrunner.lab.fields import KubeName, NonEmptyStr
from labrunner.registry.types import CheckContext, CheckKind, Outcome
from labrunner.topics.workloads.common import TEMPLATE, containers, find, pod_spec, pods_of
from labrunner.topics.workloads.rollouts import DeploymentRollout, deployment_rollout


class ConfigConsumed(CheckArgs):
    """The Deployment ``deployment`` reads the ConfigMap ``configmap`` or the Secret ``secret``
    (one of the two): as environment variables when ``env`` (``envFrom`` or ``valueFrom``), as
    files under ``files_at`` when given (a volume of it mounted there); and it has rolled out."""

    kind: Literal["config-consumed"]
    namespace: KubeName
    deployment: KubeName
    configmap: KubeName | None = None
    secret: KubeName | None = None
    env: bool = False
    files_at: NonEmptyStr | None = None
    """The mountPath its files must appear under (``/etc/web``)."""

    @model_validator(mode="after")
    def _one_source(self) -> ConfigConsumed:
        if (self.configmap is None) == (self.secret is None):
            raise ValueError("give exactly one of configmap and secret")
        if not self.env and self.files_at is None:
            raise ValueError("give env: true, files_at, or both")
        return self


class EnvMatchesConfigMap(CheckArgs):
    """The ConfigMap's ``key`` holds ``value``, and every running pod of the Deployment has
    that value in its environment variable ``variable`` (default: the key)."""

    kind: Literal["env-matches-configmap"]
    namespace: KubeName
    deployment: KubeName
    configmap: KubeName
    key: NonEmptyStr
    value: str
    variable: NonEmptyStr | None = None


def _source(args: ConfigConsumed) -> tuple[str, str, str]:
    """(plural, the object's kind as said, name)."""
    return ("configmaps", "configmap", str(args.configmap)) if args.configmap else ("secrets", "secret", str(args.secret))


def _env_references(container: Mapping[str, Any], ref_kind: str) -> list[tuple[str, str, str | None]]:
    """(field path within the container, name referenced, key or None) for every ConfigMap or Secret reference."""
    found: list[tuple[str, str, str | None]] = []
    for index, source in enumerate(container.get("envFrom") or []):
        ref = source.get(f"{ref_kind}Ref") or {}
        if ref.get("name"):
            found.append((f"envFrom[{index}].{ref_kind}Ref.name", str(ref["name"]), None))
    for index, variable in enumerate(container.get("env") or []):
        ref = (variable.get("valueFrom") or {}).get(f"{ref_kind}KeyRef") or {}
        if ref.get("name"):
            found.append((f"env[{index}].valueFrom.{ref_kind}KeyRef", str(ref["name"]), str(ref.get("key"))))
    return found


Problem = tuple[str, list[str]]
"""A mistake: the sentence that names it, and its evidence (why it matters, the fix)."""


def _env_problem(args: ConfigConsumed, deployment: Mapping[str, Any], data: Mapping[str, Any]) -> Problem | None:
    _, said, name = _source(args)
    ref_kind = "configMap" if args.configmap else "secret"
    references = [(index, path, ref, key) for index, c in containers(deployment) for path, ref, key in _env_references(c, ref_kind)]
    mine = [r for r in references if r[2] == name]
    if not mine:
        if references:
            index, path, ref, _ = references[0]
            return (f"deployment {args.deployment}: {TEMPLATE}.containers[{index}].{path} is {ref!r}, not {name!r}",
                    [f"no {said} {ref} exists, so the pod waits in CreateContainerConfigError"] if ref != name else [])
        other, right = (("secretKeyRef/secretRef", "configMapKeyRef/configMapRef") if args.configmap
                        else ("configMapKeyRef/configMapRef", "secretKeyRef/secretRef"))
        crossed = [(i, p) for i, c in containers(deployment)
                   for p, ref, _ in _env_references(c, "secret" if args.configmap else "configMap") if ref == name]
        if crossed:
            return (f"deployment {args.deployment}: {TEMPLATE}.containers[{crossed[0][0]}].{crossed[0][1]} names {name}, "
                    f"which is a {said}", [f"it names {name} through {other}: {name} is a {said}, so reference it as one ({right})"])
        return (f"deployment {args.deployment}: no container's env or envFrom reads {said} {name}",
                [f"envFrom: [{{{ref_kind}Ref: {{name: {name}}}}}], or env[].valueFrom.{ref_kind}KeyRef"])
    for index, path, _, key in mine:
        if key is not None and key not in data:
            return (f"deployment {args.deployment}: {TEMPLATE}.containers[{index}].{path}.key is {key!r}, which is not a key "
                    f"of {said} {name}", [f"{said} {name} has {', '.join(sorted(data)) or 'no keys'}"])
    return None


def _files_problem(args: ConfigConsumed, deployment: Mapping[str, Any]) -> Problem | None:
    _, said, name = _source(args)
    spec = pod_spec(deployment)
    volumes = {}
    for volume in spec.get("volumes") or []:
        if (volume.get("configMap") or {}).get("name") == name or (volume.get("secret") or {}).get("secretName") == name:
            volumes[str(volume.get("name"))] = volume
    if not volumes:
        return (f"deployment {args.deployment}: {TEMPLATE}.volumes has no volume of {said} {name}",
                ["configMap: {name: ...}" if args.configmap else "secret: {secretName: ...}"])
    for volume_name, volume in volumes.items():
        if args.secret and "configMap" in volume:
            return (f"deployment {args.deployment}: volume {volume_name} is a configMap volume naming {name}, which is a Secret",
                    [f"mount it with secret: {{secretName: {name}}}"])
        if args.configmap and "secret" in volume:
            return (f"deployment {args.deployment}: volume {volume_name} is a secret volume naming {name}, which is a ConfigMap",
                    [f"mount it with configMap: {{name: {name}}}"])
    mounts = [(index, m_index, mount) for index, c in containers(deployment)
              for m_index, mount in enumerate(c.get("volumeMounts") or []) if mount.get("name") in volumes]
    if not mounts:
        return f"deployment {args.deployment}: volume {next(iter(volumes))} is declared but no container mounts it (volumeMounts)", []
    wanted = str(args.files_at).rstrip("/")
    for index, m_index, mount in mounts:
        if str(mount.get("mountPath", "")).rstrip("/") == wanted and not mount.get("subPath"):
            return None
    index, m_index, mount = mounts[0]
    path = f"{TEMPLATE}.containers[{index}].volumeMounts[{m_index}]"
    if mount.get("subPath"):
        return (f"deployment {args.deployment}: {path}.subPath is {mount['subPath']!r}; this step wants the whole {said} under {wanted}",
                [f"it mounts one key with subPath {mount['subPath']!r} at {mount.get('mountPath')!r}; this step wants the whole "
                 f"{said} as files under {wanted}", f"a subPath mount never sees the {said}'s later edits on a real kubelet"])
    return f"deployment {args.deployment}: {path}.mountPath is {mount.get('mountPath')!r}; this step wants {wanted!r}", []


def config_consumed(args: ConfigConsumed, context: CheckContext) -> Outcome:
    cluster, namespace = context.cluster, args.namespace
    plural, said, name = _source(args)
    source = find(cluster, plural, name, namespace)
    if source is None:
        return "failed", f"{said} {name} does not exist in {namespace}", []
    deployment = find(cluster, "deployments", args.deployment, namespace)
    if deployment is None:
        return "failed", f"deployment {args.deployment} does not exist in {namespace}", []
    data = {**(source.get("data") or {}), **(source.get("binaryData") or {})}
    problem = (_env_problem(args, deployment, data) if args.env else None) or (_files_problem(args, deployment) if args.files_at else None)
    if problem:
        return "failed", problem[0], problem[1]
    status, message, details = deployment_rollout(
        DeploymentRollout(kind="deployment-rollout", says=args.says, namespace=namespace, name=args.deployment), context)
    if status != "passed":
        return status, message, details
    ways = " and ".join(w for w in ("env" if args.env else "", f"files under {args.files_at}" if args.files_at else "") if w)
    return "passed", f"deployment {args.deployment} reads {said} {name} as {ways}, and has rolled out", []


def env_matches_configmap(args: EnvMatchesConfigMap, context: CheckContext) -> Outcome:
    cluster, namespace, variable = context.cluster, args.namespace, args.variable or args.key
    configmap = find(cluster, "configmaps", args.configmap, namespace)
    if configmap is None:
        return "failed", f"configmap {args.configmap} does not exist in {namespace}", []
    value = (configmap.get("data") or {}).get(args.key)
    if value != args.value:
        return "failed", f"configmap {args.configmap}: data.{args.key} is {value!r}; this step wants {args.value!r}", []
    deployment = find(cluster, "deployments", args.deployment, namespace)
    if deployment is None:
        return "failed", f"deployment {args.deployment} does not exist in {namespace}", []
    pods = [p for p in pods_of(cluster, deployment, namespace) if (p.get("status") or {}).get("phase") == "Running"]
    if not pods:
        return "pending", f"deployment {args.deployment} has no running pod yet", []
    container = (containers(deployment) or [(0, {})])[0][1].get("name")
    stale = []
    for pod in pods:
        try:
            result = cluster.exec(pod["metadata"]["name"], namespace, ["sh", "-c", f"printenv {shlex.quote(variable)}"],
                                  container=container, timeout=10)
        except errors.ClusterError as error:
            return "error", f"could not read the environment of pod {pod['metadata']['name']}: {error}", []
        seen = result.stdout.strip()
        if seen != args.value:
            stale.append((pod["metadata"]["name"], seen))
    if stale:
        pod_name, seen = stale[0]
        return "failed", (f"pod {pod_name}: environment variable {variable} is {seen!r}, while configmap {args.configmap} "
                          f"says {args.value!r}"), [
            "a container reads its environment once, when it starts: editing the ConfigMap changes mounted files "
            "(within about a minute) but never env vars. Start new pods: "
            f"kubectl rollout restart deployment/{args.deployment}",
            *(f"pod {name} also has {variable}={seen!r}" for name, seen in stale[1:])]
    return "passed", f"all {len(pods)} running pod(s) of deployment {args.deployment} have {variable}={args.value!r}", []


KINDS = (
    CheckKind(model=ConfigConsumed, run=config_consumed, watches=("deployments", "pods", "configmaps", "secrets"), prerequisite=True),
    CheckKind(model=EnvMatchesConfigMap, run=env_matches_configmap, watches=("deployments", "pods", "configmaps"), polled=True),
)
