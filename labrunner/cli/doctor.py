"""``labrunner doctor``: what labrunner sees, and why, in one screen.

Versions are read from package metadata, never by importing the packages, so the
doctor stays fast and works even when one of them is broken.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
from importlib import metadata
from typing import Any

from labrunner import __version__, paths
from labrunner.cli.diagnostics import ExitCode
from labrunner.cluster.kubeconfig import inspect
from labrunner.lab.catalog import discover

_PACKAGES = ("textual", "kubernetes", "pydantic", "pyyaml", "platformdirs", "rich", "sh")
_TERMINAL_VARIABLES = ("TERM", "COLORTERM", "NO_COLOR", "TMUX", "TERM_PROGRAM", "TEXTUAL_THEME", "TEXTUAL_ANIMATIONS", "ESCDELAY")


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _kubectl() -> dict[str, Any]:
    path = shutil.which("kubectl")
    if path is None:
        return {"path": None, "version": None, "note": "kubectl not found on PATH; labs ask you to type kubectl commands"}
    try:
        completed = subprocess.run([path, "version", "--client", "-o", "json"], capture_output=True, text=True, timeout=10)
        version = json.loads(completed.stdout)["clientVersion"]["gitVersion"]
    except (OSError, subprocess.TimeoutExpired, ValueError, KeyError) as error:
        return {"path": path, "version": None, "note": f"could not read its version: {error}"}
    return {"path": path, "version": version, "note": None}


def gather() -> dict[str, Any]:
    kubeconfig = inspect()
    labs = [{"id": entry.id, "directory": str(entry.directory)} for entry in discover(paths.lab_roots())]
    return {
        "labrunner": __version__,
        "python": f"{platform.python_version()} ({sys.executable})",
        "platform": platform.platform(),
        "packages": {package: _version(package) for package in _PACKAGES},
        "paths": {
            "config": str(paths.config_dir()),
            "state": str(paths.state_dir()),
            "cache": str(paths.cache_dir()),
            "data": str(paths.data_dir()),
            "lab_search_path": [str(root) for root in paths.lab_roots()],
        },
        "labs": labs,
        "kubeconfig": {
            "files": [str(p) for p in kubeconfig.files],
            "chosen_by": kubeconfig.source,
            "missing": [str(p) for p in kubeconfig.missing],
            "unreadable": [{"file": str(p), "error": e} for p, e in kubeconfig.unreadable],
            "context": kubeconfig.context,
            "context_from": str(kubeconfig.context_file) if kubeconfig.context_file else None,
            "cluster": kubeconfig.cluster,
            "server": kubeconfig.server,
            "user": kubeconfig.user,
            "namespace": kubeconfig.namespace,
            "namespace_from": kubeconfig.namespace_source,
            "contexts": list(kubeconfig.contexts),
            "problem": (f"context was not found for specified context: {kubeconfig.context}"
                        if kubeconfig.context and kubeconfig.context not in kubeconfig.contexts else None),
            "exec_plugin": (
                {"command": kubeconfig.exec_command, "found": kubeconfig.exec_found, "install_hint": kubeconfig.exec_install_hint}
                if kubeconfig.exec_command
                else None
            ),
        },
        "kubectl": _kubectl(),
        "terminal": {name: os.environ.get(name) for name in _TERMINAL_VARIABLES},
    }


def doctor(arguments: argparse.Namespace) -> int:
    from labrunner.cli import proof_flag
    from labrunner.registry import registry

    report = gather()
    asked = [proof for proof in registry().proofs if getattr(arguments, proof_flag(proof.id), False)]
    for proof in asked:
        report[proof.report_key] = _prove(arguments, proof)
    if arguments.json:
        json.dump(report, sys.stdout, indent=2)
        print()
    else:
        print("\n".join(_text(report, asked)))
    held = all(report[proof.report_key][proof.stages[-1].name]["status"] == "passed" for proof in asked)
    held = held and report["kubeconfig"]["problem"] is None
    return ExitCode.OK if held else ExitCode.FAILED


def _prove(arguments: argparse.Namespace, proof: Any) -> dict[str, Any]:
    """Each stage of the proof in turn, on the cluster the flags name; a stage the cluster
    refuses is an error in the report, and the stages after it still run (each says why)."""
    from labrunner.cli.checking import open_cluster
    from labrunner.cluster.errors import ClusterError
    from labrunner.registry import resolve

    cluster = open_cluster(arguments)
    result: dict[str, Any] = {"context": cluster.info.context}
    for stage in proof.stages:
        print(f"labrunner: {stage.doing}…", file=sys.stderr)
        try:
            status, message, details = resolve(stage.run)(cluster)
        except ClusterError as failure:
            status, message, details = "error", failure.message, [failure.hint] if failure.hint else []
        result[stage.name] = {"status": status, "message": message, "details": details}
    return result


def _text(report: dict[str, Any], proofs: list[Any]) -> list[str]:
    lines = [f"labrunner {report['labrunner']}", f"  python      {report['python']}", f"  platform    {report['platform']}"]
    lines.append("  packages    " + ", ".join(f"{name} {version or 'MISSING'}" for name, version in report["packages"].items()))
    lines += ["", "Paths"]
    for name in ("config", "state", "cache", "data"):
        lines.append(f"  {name:<11} {report['paths'][name]}")
    lines.append("  labs from   " + "\n              ".join(report["paths"]["lab_search_path"]))
    lines.append("  labs found  " + (", ".join(lab["id"] for lab in report["labs"]) or "none"))

    kube = report["kubeconfig"]
    lines += ["", "Kubeconfig"]
    lines.append(f"  files       {', '.join(kube['files'])} (from {kube['chosen_by']})")
    for missing in kube["missing"]:
        lines.append(f"  missing     {missing}")
    for unreadable in kube["unreadable"]:
        lines.append(f"  unreadable  {unreadable['file']}: {unreadable['error']}")
    if kube["problem"]:
        lines.append(f"  context     {kube['context']} (current-context of {kube['context_from']})")
        lines.append(f"  PROBLEM     {kube['problem']}: kubectl and labrunner cannot use this kubeconfig")
        lines.append("              pick one of its contexts: kubectl config use-context NAME" if kube["contexts"]
                     else "              it defines no context: fetch your cluster's kubeconfig again")
    elif kube["context"]:
        lines.append(f"  context     {kube['context']} (current-context of {kube['context_from']})")
        lines.append(f"  cluster     {kube['cluster']} at {kube['server'] or 'an unknown server'}")
        lines.append(f"  user        {kube['user']}")
        lines.append(f"  namespace   {kube['namespace']} (from {kube['namespace_from']})")
        plugin = kube["exec_plugin"]
        if plugin:
            state = "found" if plugin["found"] else "NOT FOUND: logins will fail"
            lines.append(f"  credentials exec plugin {plugin['command']} ({state})")
            if not plugin["found"] and plugin["install_hint"]:
                lines.append(f"              {plugin['install_hint'].strip()}")
    else:
        lines.append("  context     none: no kubeconfig sets current-context")
        lines.append('              no cluster? the built-in sandbox needs none: eval "$(labrunner sandbox start)"')
    if len(kube["contexts"]) > 1:
        lines.append(f"  contexts    {', '.join(kube['contexts'])}")

    kubectl = report["kubectl"]
    lines += ["", "kubectl"]
    lines.append(f"  {kubectl['path'] or 'not found'}" + (f" ({kubectl['version']})" if kubectl["version"] else ""))
    if kubectl["note"]:
        lines.append(f"  {kubectl['note']}")

    lines += ["", "Terminal"]
    for name, value in report["terminal"].items():
        if value is not None:
            lines.append(f"  {name:<11} {value}")
    if report["terminal"].get("TMUX"):
        lines.append("  tmux drops copied text unless configured: tmux set -s set-clipboard on")
    for proof in proofs:
        shown = report[proof.report_key]
        lines += ["", f"{proof.title} on {shown['context']}"]
        for stage in proof.stages:
            lines.append(f"  {stage.name:<11} {shown[stage.name]['status']}: {shown[stage.name]['message']}")
            lines += [f"              {detail}" for detail in shown[stage.name]["details"]]
    return lines
