"""Opening a cluster, for the CLI and the TUI alike: the kubeconfig's context, a named
one, or the built-in sandbox (started on demand, and when there is no kubeconfig at all).

One place decides, so both faces say the same thing in the same words when a cluster
cannot be had. Imports the cluster client and the sandbox's control lazily: callers
that never open a cluster (``labrunner list``) pay nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from labrunner.cluster import errors

if TYPE_CHECKING:
    from labrunner.cluster.port import ClusterPort


class SandboxUnavailable(errors.ClusterError):
    """The built-in sandbox was asked for and could not be started."""


@dataclass(frozen=True)
class Opened:
    cluster: ClusterPort
    started_sandbox: bool
    """This call started the sandbox (it keeps running afterwards: the learner's kubectl may use it)."""
    sandbox_kubeconfig: Path | None = None
    """Where the sandbox's kubeconfig is, when the cluster is the sandbox."""


def open_sandbox(*, on_starting: Callable[[], None] | None = None) -> Opened:
    """The built-in sandbox, started if it is not running.

    Raises:
        SandboxUnavailable: it could not be started (the reason in the sandbox's words).
    """
    from labrunner.cluster.kube import connect
    from labrunner.sandbox.control import SandboxError, start
    from labrunner.sandbox.files import SandboxFiles

    files = SandboxFiles.default()
    if on_starting:
        on_starting()
    try:
        _, started = start(files)
    except SandboxError as failure:
        raise SandboxUnavailable(f"the sandbox did not start: {failure}",
                                 "labrunner sandbox logs shows its log" if files.log.exists() else "") from None
    return Opened(connect(files.kubeconfig), started, files.kubeconfig)


def open_cluster(kubeconfig: Path | None = None, context: str | None = None, *, sandbox: bool = False,
                 on_starting_sandbox: Callable[[], None] | None = None) -> Opened:
    """The cluster these choices name: the sandbox when asked for, or when there is no
    kubeconfig at all and none was named; otherwise the kubeconfig's (or ``context``).
    Nothing is sent to the cluster yet: the first request says whether it answers.

    Raises:
        errors.ClusterError: the kubeconfig or context cannot be used (NoKubeconfig,
            CredentialPluginMissing, ...), or the sandbox could not start.
    """
    from labrunner.cluster.kube import connect

    if sandbox:
        return open_sandbox(on_starting=on_starting_sandbox)
    try:
        return Opened(connect(kubeconfig, context), False)
    except errors.NoKubeconfig:
        if kubeconfig or context:
            raise
        return open_sandbox(on_starting=on_starting_sandbox)
