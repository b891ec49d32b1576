"""Which clusters a learner can run a lab on: their kubeconfig's contexts, and the sandbox.

Reads the kubeconfig only (no cluster call, no kubernetes import), so the start
screen appears at once. A context that is not a known local distribution, or whose
name says prod, is flagged: a lab creates namespaces and may install a network
plugin, and that must never happen to a production cluster by a slip of a key.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from labrunner.cluster.kubeconfig import contexts_of

LOCAL_CONTEXTS = re.compile(r"^(kind-|k3d-|minikube|docker-desktop|docker-for-desktop|rancher-desktop|orbstack|colima|microk8s|labrunner-sandbox$)")
"""Context names that local distributions create."""


@dataclass(frozen=True)
class ClusterChoice:
    label: str
    context: str | None
    """None for the sandbox."""
    server: str
    namespace: str
    current: bool = False
    caution: str | None = None
    """Why this may be a cluster a lab should not write to (asks for confirmation)."""

    @property
    def is_sandbox(self) -> bool:
        return self.context is None


SANDBOX = ClusterChoice(label="labrunner sandbox (local, no cluster needed)", context=None,
                        server="started on this machine", namespace="default")


def caution_for(context: str, server: str | None) -> str | None:
    if re.search(r"prod", context, re.IGNORECASE):
        return f"the context {context!r} says prod"
    if LOCAL_CONTEXTS.match(context) or _is_local(server):
        return None
    return f"{context} ({server or 'unknown server'}) is not a known local cluster"


def _is_local(server: str | None) -> bool:
    host = urlparse(server or "").hostname or ""
    # Not ".local": companies name their Active Directory domains so.
    if host in ("localhost", "host.docker.internal") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cluster_choices(kubeconfig: Path | None = None) -> list[ClusterChoice]:
    """The current context first, then the others by name, then the sandbox."""
    contexts, current = contexts_of({"KUBECONFIG": str(kubeconfig)} if kubeconfig else None)
    choices = [ClusterChoice(label=c.name, context=c.name, server=c.server or "unknown server", namespace=c.namespace,
                             current=c.name == current, caution=caution_for(c.name, c.server))
               for c in contexts if c.name != "labrunner-sandbox"]
    choices.sort(key=lambda choice: (not choice.current, choice.label))
    return [*choices, SANDBOX]
