"""The learner's own shell, from the workspace (``!``): kubectl pinned to the session's context
and the lab's namespace, in a tmux pane beside labrunner or in the terminal labrunner hands
over until ``exit``.

The pin is a file kept in the state folder while the shell runs (a tmux pane outlives the
key press); the learner's kubeconfig is never rewritten (cluster/shellenv.py).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess

from labrunner.lab.model import Step
from labrunner.session.session import Session

PASSED_ON = ("KUBECONFIG", "LAB_NAMESPACE", "LAB_ASSETS", "LABRUNNER_LAB", "LABRUNNER_STEP")
"""What a tmux pane is given of the environment (it starts from tmux's own, not ours)."""


def login_shell() -> str:
    return os.environ.get("SHELL") or shutil.which("bash") or "/bin/sh"


def in_tmux() -> bool:
    return bool(os.environ.get("TMUX")) and shutil.which("tmux") is not None


def where(session: Session) -> str:
    info = session.cluster.info
    return "the sandbox" if info.is_sandbox else f"context {info.context}"


def banner(session: Session, step: Step) -> str:
    lab = session.lab
    return (f"labrunner: lab {lab.id}, step {step.number}: {step.title}\n"
            f"labrunner: kubectl is set to {where(session)}, namespace {lab.namespace or 'default'}. Type exit to return.\n")


def environment_for(session: Session, step: Step) -> dict[str, str]:
    """The shell's environment: KUBECONFIG = the pin, then the learner's own files; the lab's parameters."""
    from labrunner.cluster.kubeconfig import contexts_of
    from labrunner.cluster.shellenv import shell_environment, write_pin
    from labrunner.paths import state_dir

    lab, info = session.lab, session.cluster.info
    contexts, _ = contexts_of({"KUBECONFIG": os.pathsep.join(str(path) for path in info.kubeconfig)})
    context = next((c for c in contexts if c.name == info.context), None)
    pin = write_pin(state_dir() / "shell" / f"{lab.id}-{info.context}.yaml", info.context or "",
                    namespace=lab.namespace, cluster=context.cluster if context else None,
                    user=context.user if context else None)
    return shell_environment(info.kubeconfig, pin, lab.placeholder_values, {"LABRUNNER_LAB": lab.id, "LABRUNNER_STEP": step.id})


def split_tmux_pane(environment: dict[str, str], said: str, shell: str) -> None:
    """A tmux pane beside labrunner running the shell; labrunner's watch re-checks as the learner works."""
    arguments = ["tmux", "split-window", "-h", "-c", os.getcwd()]
    for name in PASSED_ON:
        if name in environment:  # a lab without a namespace parameter has no LAB_NAMESPACE
            arguments += ["-e", f"{name}={environment[name]}"]
    in_pane = said.replace("Type exit to return.", "Type exit to close this pane; labrunner re-checks by itself.")
    arguments.append(f"printf %s {shlex.quote(in_pane)}; exec {shlex.quote(shell)}")
    subprocess.run(arguments, check=False)
