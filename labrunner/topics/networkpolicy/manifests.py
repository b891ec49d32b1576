"""The learner's own manifest behind a policy in the cluster.

Two witnesses: the ``kubectl.kubernetes.io/last-applied-configuration`` annotation ``kubectl
apply`` records (the fields as the learner wrote them: whether policyTypes was left to the
API server, and fields the server dropped because ``--validate=false`` let unknown ones
through), and a YAML file in the learner's working directory holding a policy of that name
that means exactly what the cluster's does (for the line of the field responsible).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from labrunner import yamlsource
from labrunner.topics.networkpolicy.model import Policy

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_MOST_FILES = 200
_LARGEST_FILE = 512 * 1024


def declared(obj: Mapping[str, Any]) -> dict[str, Any] | None:
    """The manifest as ``kubectl apply`` sent it, or None (created otherwise)."""
    text = ((obj.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
    if not isinstance(text, str):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def dropped(manifest: Mapping[str, Any]) -> list[tuple[str | int, ...]]:
    """Fields of the learner's manifest a NetworkPolicy does not have (the API server drops
    them when told not to validate)."""
    from labrunner.topics.networkpolicy.lint import unknown_fields

    return unknown_fields(dict(manifest))


class LearnerFile:
    """A policy's manifest in a file of the working directory, with lines for its fields."""

    def __init__(self, path: Path, source: Any) -> None:
        self.path, self._source = path, source

    def line(self, path: Sequence[str | int]) -> int:
        """The line of the deepest part of ``path`` the file has (a field left out is shown at
        its parent)."""
        located = yamlsource.locate(self._source.node, path)
        return located.mark(at_key=located.key_node is not None and located.walked == len(path))[0]

    def at(self, path: Sequence[str | int]) -> str:
        shown = os.path.relpath(self.path) if self.path.is_absolute() else str(self.path)
        if shown.startswith(".."):
            shown = str(self.path)
        return f" (line {self.line(path)} of {shown})"


def learner_file(policy: Policy, directory: Path) -> LearnerFile | None:
    """The YAML file in ``directory`` (not below it) holding ``policy`` as the cluster has it;
    None when none does (not written to a file, or edited since it was applied)."""
    from labrunner.topics.networkpolicy.files import InputError, read_objects
    from labrunner.topics.networkpolicy.parse import ObjectError, policy_from_object

    try:
        candidates = sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())[:_MOST_FILES]
    except OSError:
        return None
    for path in candidates:
        try:
            if path.stat().st_size > _LARGEST_FILE or policy.name not in path.read_text(encoding="utf-8", errors="replace"):
                continue
            objects = read_objects([path])
        except (OSError, InputError):
            continue
        for source in objects:
            metadata = source.data.get("metadata") or {}
            if source.kind != "NetworkPolicy" or metadata.get("name") != policy.name:
                continue
            if metadata.get("namespace") not in (None, policy.namespace):
                continue
            data = {**source.data, "metadata": {**metadata, "namespace": policy.namespace}}
            try:
                if policy_from_object(data) == policy:
                    return LearnerFile(path, source)
            except ObjectError:
                continue
    return None
