"""Which kubeconfig, context and namespace kubectl would use, and why.

kubectl's rules (the official Python client gets ``current-context`` wrong when
several files are merged: it takes the last file's, kubectl the first's):
``$KUBECONFIG`` lists files, separated by ``os.pathsep``; without it,
``~/.kube/config``. When files merge, the first to define a named cluster, user
or context wins, and so does the first ``current-context``. Reads YAML only; it
never imports the kubernetes client, so ``labrunner doctor`` stays fast.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True, kw_only=True)
class KubeconfigReport:
    files: tuple[Path, ...]
    """The files kubectl would read, in order."""
    source: str
    """Why these files: ``$KUBECONFIG`` or the default location."""
    missing: tuple[Path, ...] = ()
    unreadable: tuple[tuple[Path, str], ...] = ()
    context: str | None = None
    context_file: Path | None = None
    cluster: str | None = None
    server: str | None = None
    user: str | None = None
    namespace: str = "default"
    namespace_source: str = "default"
    exec_command: str | None = None
    exec_found: bool | None = None
    exec_install_hint: str | None = None
    contexts: tuple[str, ...] = field(default_factory=tuple)


def kubeconfig_files(environ: dict[str, str] | None = None) -> tuple[tuple[Path, ...], str]:
    env = os.environ if environ is None else environ
    listed = env.get("KUBECONFIG", "")
    if listed:
        return tuple(Path(p).expanduser() for p in listed.split(os.pathsep) if p), "$KUBECONFIG"
    return (Path("~/.kube/config").expanduser(),), "default location (~/.kube/config)"


@dataclass(frozen=True)
class ContextSummary:
    name: str
    cluster: str | None
    user: str | None
    server: str | None
    namespace: str


def _merge(files: tuple[Path, ...]) -> tuple[list[Path], list[tuple[Path, str]], tuple[str, Path] | None,
                                            dict[str, dict[str, Any]], dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """The files merged as kubectl merges them: the first definition of a name wins,
    and so does the first current-context."""
    missing, unreadable = [], []
    current: tuple[str, Path] | None = None
    contexts: dict[str, dict[str, Any]] = {}
    clusters: dict[str, dict[str, Any]] = {}
    users: dict[str, dict[str, Any]] = {}
    for path in files:
        if not path.is_file():
            missing.append(path)
            continue
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as error:
            unreadable.append((path, str(error).splitlines()[0]))
            continue
        if not isinstance(document, dict):
            unreadable.append((path, "not a kubeconfig (expected a mapping)"))
            continue
        if current is None and document.get("current-context"):
            current = (str(document["current-context"]), path)
        for section, target, inner in (("contexts", contexts, "context"), ("clusters", clusters, "cluster"), ("users", users, "user")):
            for entry in document.get(section) or []:
                if isinstance(entry, dict) and "name" in entry:
                    target.setdefault(str(entry["name"]), entry.get(inner) or {})
    return missing, unreadable, current, contexts, clusters, users


def contexts_of(environ: dict[str, str] | None = None) -> tuple[list[ContextSummary], str | None]:
    """Every context of the merged kubeconfig with its server and namespace, and the current one's name."""
    files, _ = kubeconfig_files(environ)
    _, _, current, contexts, clusters, _ = _merge(files)
    summaries = []
    for name, context in sorted(contexts.items()):
        cluster = context.get("cluster")
        summaries.append(ContextSummary(name=name, cluster=cluster, user=context.get("user"),
                                        server=(clusters.get(cluster or "") or {}).get("server"),
                                        namespace=str(context.get("namespace") or "default")))
    return summaries, current[0] if current else None


def inspect(environ: dict[str, str] | None = None) -> KubeconfigReport:
    files, source = kubeconfig_files(environ)
    missing, unreadable, current, contexts, clusters, users = _merge(files)
    report: dict[str, Any] = {
        "files": files, "source": source, "missing": tuple(missing), "unreadable": tuple(unreadable),
        "contexts": tuple(sorted(contexts)),
    }
    if current is not None:
        name, context_file = current
        report.update(context=name, context_file=context_file)
        context = contexts.get(name, {})
        cluster_name, user_name = context.get("cluster"), context.get("user")
        report.update(cluster=cluster_name, user=user_name)
        if cluster_name in clusters:
            report["server"] = clusters[cluster_name].get("server")
        if context.get("namespace"):
            report.update(namespace=str(context["namespace"]), namespace_source=f"context {name}")
        exec_spec = users.get(user_name or "", {}).get("exec")
        if isinstance(exec_spec, dict) and exec_spec.get("command"):
            command = str(exec_spec["command"])
            report.update(
                exec_command=command,
                exec_found=shutil.which(command) is not None,
                exec_install_hint=exec_spec.get("installHint"),
            )
    return KubeconfigReport(**report)
