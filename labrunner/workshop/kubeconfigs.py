"""A learner's kubeconfig and the printable sheet that hands them out.

One file per learner, written as kubectl writes kubeconfigs (YAML, keys in kubectl's order, so
``kubectl config set-context`` rewrites it without churn): the instructor's cluster entry (server
and CA, inlined), a token user, and one context whose namespace is the learner's lab namespace
and which carries the ``labrunner.dev/workshop`` extension: the workshop, the learner, their
namespace, where their records live, the lab and its parameters. Files are the owner's alone
(0600): they hold a bearer token.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from labrunner.workshop import names


class NoClusterEntry(ValueError):
    """The instructor's kubeconfig has no usable cluster entry for the context."""


def cluster_entry(files: Sequence[Path], context: str | None) -> dict[str, Any]:
    """The cluster entry the instructor's ``context`` uses (first file to define a name wins, as
    kubectl merges), with a CA file inlined as ``certificate-authority-data``.

    Raises:
        NoClusterEntry: the context or its cluster is not there.
    """
    contexts: dict[str, Any] = {}
    clusters: dict[str, tuple[Path, dict[str, Any]]] = {}
    current = None
    for path in files:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        current = current or document.get("current-context")
        for item in document.get("contexts") or []:
            contexts.setdefault(item.get("name"), item.get("context") or {})
        for item in document.get("clusters") or []:
            clusters.setdefault(item.get("name"), (path, dict(item.get("cluster") or {})))
    chosen = str(context or current or "")
    cluster_name = (contexts.get(chosen) or {}).get("cluster")
    if cluster_name not in clusters:
        raise NoClusterEntry(f"the kubeconfig has no cluster for context {chosen!r}")
    where, entry = clusters[cluster_name]
    authority = entry.pop("certificate-authority", None)
    if authority and "certificate-authority-data" not in entry:
        path = Path(os.path.expanduser(authority))
        path = path if path.is_absolute() else where.parent / path
        entry["certificate-authority-data"] = base64.b64encode(path.read_bytes()).decode()
    return {key: value for key, value in entry.items() if key != "extensions"}


@dataclass(frozen=True)
class WorkshopContext:
    """What a learner's kubeconfig context says about their workshop (its extension)."""

    workshop: str
    learner: str
    namespace: str
    records_namespace: str
    lab: str
    parameters: Mapping[str, str]


def workshop_context(files: Sequence[Path], context: str | None = None) -> WorkshopContext | None:
    """The workshop the context (``context``, else the first file's current-context, as kubectl
    picks it) belongs to, from its ``labrunner.dev/workshop`` extension; None for any other
    context, or an extension that names no workshop and learner."""
    contexts: dict[str, Any] = {}
    current: str | None = None
    for path in files:
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            continue
        current = current or document.get("current-context")
        for item in document.get("contexts") or []:
            if isinstance(item, dict):
                contexts.setdefault(str(item.get("name")), item.get("context") or {})
    chosen = contexts.get(str(context or current)) or {}
    for entry in chosen.get("extensions") or []:
        if not isinstance(entry, dict) or entry.get("name") != names.EXTENSION or not isinstance(entry.get("extension"), dict):
            continue
        found = entry["extension"]
        workshop, learner = str(found.get("workshop") or ""), str(found.get("learner") or "")
        if not workshop or not learner:
            return None
        parameters = found.get("parameters") if isinstance(found.get("parameters"), dict) else {}
        return WorkshopContext(workshop, learner, str(found.get("namespace") or chosen.get("namespace") or ""),
                               str(found.get("recordsNamespace") or names.namespace(workshop)), str(found.get("lab") or ""),
                               {str(k): str(v) for k, v in (parameters or {}).items()})
    return None


@dataclass(frozen=True)
class Handout:
    """One learner's kubeconfig, as written."""

    learner: str
    name: str
    file: Path
    namespace: str
    context: str
    expires: str
    """The token's expirationTimestamp as the server returned it."""


def context_name(workshop: str, learner: str) -> str:
    return f"{workshop}-{learner}"


def kubeconfig(workshop: str, learner: str, cluster: Mapping[str, Any], token: str, namespace: str,
               lab: str, parameters: Mapping[str, str]) -> dict[str, Any]:
    """The learner's kubeconfig as a document (keys sorted as kubectl writes them)."""
    context = context_name(workshop, learner)
    extension = {"workshop": workshop, "learner": learner, "namespace": namespace,
                 "recordsNamespace": names.namespace(workshop), "lab": lab, "parameters": dict(parameters)}
    return {
        "apiVersion": "v1", "kind": "Config", "preferences": {}, "current-context": context,
        "clusters": [{"name": names.namespace(workshop), "cluster": dict(cluster)}],
        "users": [{"name": context, "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": names.namespace(workshop), "user": context, "namespace": namespace,
                                                   "extensions": [{"name": names.EXTENSION, "extension": extension}]}}],
    }


def text(document: Mapping[str, Any]) -> str:
    """YAML as kubectl writes a kubeconfig: block style, keys sorted."""
    return yaml.safe_dump(dict(document), sort_keys=True, default_flow_style=False, allow_unicode=True)


def write_private(path: Path, content: str) -> None:
    """Write ``content`` to ``path``, mode 0600 whatever the umask and whatever was there, atomically."""
    temporary = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(content)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    os.replace(temporary, path)


def sheet(workshop: str, lab: str, server: str, handouts: Sequence[Handout]) -> str:
    """The printable sheet (Markdown): per learner, the file, the namespace, how to start."""
    lines = [f"# Workshop {workshop}: {lab}", "",
             f"Cluster: `{server}`. Each learner gets their file (it holds their own token: hand it to them alone).", "",
             "| Learner | Name | File | Namespace | Expires (UTC) | Start with |", "|---|---|---|---|---|---|"]
    for handout in handouts:
        lines.append(f"| {handout.learner} | {handout.name} | `{handout.file.name}` | `{handout.namespace}` | {handout.expires} | "
                     f"`labrunner tui --kubeconfig {handout.file.name}` |")
    lines += ["", "kubectl works with the same file: `export KUBECONFIG=$PWD/" + (handouts[0].file.name if handouts else "learner-01.yaml")
              + "` (its namespace is already set).", ""]
    return "\n".join(lines)
