"""The environment of a shell that talks to the same cluster as labrunner.

A solution, a reset or a lab's ``shell`` check runs the very commands a learner
types (``kubectl ...``), so they must reach the cluster labrunner checks, with
the context it chose, without touching the learner's kubeconfig: no ``kubectl
config use-context``. kubectl takes ``current-context`` from the FIRST file of
``$KUBECONFIG`` that sets one, so a two-line file put first selects the context
and everything else still comes from the learner's own files.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path


def write_pin(path: Path, context: str, *, namespace: str | None = None, cluster: str | None = None,
              user: str | None = None) -> Path:
    """A kubeconfig that only selects ``context`` (and, given its cluster and user, sets
    its namespace: the first file to define a context wins the merge)."""
    import json

    text = f"apiVersion: v1\nkind: Config\ncurrent-context: {json.dumps(context)}\n"
    if namespace and cluster and user:
        text += (f"contexts:\n- name: {json.dumps(context)}\n  context: {{cluster: {json.dumps(cluster)}, "
                 f"user: {json.dumps(user)}, namespace: {json.dumps(namespace)}}}\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def shell_environment(kubeconfig: Sequence[Path | str], pin: Path, parameters: Mapping[str, str] | None = None,
                      extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A long-lived shell's environment (a TUI's ``!`` or a tmux pane): like
    :func:`learner_environment`, with a pin file the caller keeps."""
    environment = dict(os.environ)
    for name, value in (parameters or {}).items():
        environment["LAB_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()] = value
    environment["KUBECONFIG"] = os.pathsep.join([str(pin), *(str(path) for path in kubeconfig)])
    environment.update(extra or {})
    return environment


@contextmanager
def learner_environment(kubeconfig: Sequence[Path | str], context: str | None,
                        parameters: Mapping[str, str] | None = None) -> Iterator[dict[str, str]]:
    """``os.environ`` plus ``KUBECONFIG`` (pinned to ``context``) and each lab
    parameter as ``LAB_<NAME>`` (``LAB_NAMESPACE``, ``LAB_ASSETS``)."""
    environment = dict(os.environ)
    for name, value in (parameters or {}).items():
        environment["LAB_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()] = value
    files = [str(path) for path in kubeconfig]
    pin = None
    if context:
        handle = tempfile.NamedTemporaryFile("w", prefix="labrunner-context-", suffix=".yaml", delete=False)
        with handle:
            # JSON is YAML: a context name is quoted safely whatever it contains.
            import json

            handle.write(f'apiVersion: v1\nkind: Config\ncurrent-context: {json.dumps(context)}\n')
        pin = handle.name
        files.insert(0, pin)
    if files:
        environment["KUBECONFIG"] = os.pathsep.join(files)
    try:
        yield environment
    finally:
        if pin:
            os.unlink(pin)
