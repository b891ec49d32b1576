"""The escape hatch: a lab author's own script."""

from __future__ import annotations

import subprocess
from typing import Literal

from pydantic import Field

from labrunner.lab.check_args import CheckArgs
from labrunner.lab.fields import NonEmptyStr
from labrunner.registry.types import CheckContext, CheckKind, Outcome


SHOWN = 8
"""The last lines of the script's output a failure shows."""


class Shell(CheckArgs):
    """An escape hatch: a POSIX sh script run on the learner's machine (with
    ``KUBECONFIG`` and the lab's parameters in its environment) must exit with
    ``exit_code``. Prefer a typed kind: this one cannot explain a failure beyond
    the script's own output."""

    kind: Literal["shell"]
    script: NonEmptyStr
    exit_code: int = 0
    timeout_seconds: int = Field(default=30, ge=1, le=600)


def shell(args: Shell, context: CheckContext) -> Outcome:
    """Run like a learner's shell, against the same cluster and context as the other
    checks, with the lab's parameters as ``LAB_<NAME>``."""
    from labrunner.cluster.shellenv import learner_environment

    cluster = context.cluster
    with learner_environment(cluster.info.kubeconfig, cluster.info.context, context.parameters) as environment:
        try:
            completed = subprocess.run(["sh", "-c", args.script], capture_output=True, text=True, env=environment,
                                       timeout=args.timeout_seconds, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return "error", f"the script was still running after {args.timeout_seconds} s", []
    if completed.returncode == args.exit_code:
        return "passed", "the script's exit code is as expected", []
    exited = f"the script exited with {completed.returncode}, expected {args.exit_code}"
    said = [line for line in (completed.stderr or completed.stdout).strip().splitlines() if line.strip()][-SHOWN:]
    if not said:
        return "failed", exited, []
    # The author's own words lead: a lab's script says the mistake; the exit code is evidence.
    return "failed", said[0], [*said[1:], f"({exited})"]


KINDS = (
    CheckKind(model=Shell, run=shell, polled=True),
)
