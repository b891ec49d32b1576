"""What can go wrong talking to a cluster, as values a learner can read.

labrunner's own hierarchy, so that nothing above the cluster port ever sees the
kubernetes client's exceptions (the client can change; these cannot leak). Each
error has a one-line ``message`` in kubectl's wording where kubectl has one, and
a ``hint`` saying what to do next.
"""

from __future__ import annotations


class ClusterError(Exception):
    title = "cluster error"
    cluster_lost = False
    """The cluster as a whole stopped answering us (down, unreachable, our credentials no
    longer accepted), rather than refusing or failing one request: a face says "lost the
    cluster" for these, and names the request for the others."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class NoKubeconfig(ClusterError):
    title = "no cluster configured"


class ContextNotFound(ClusterError):
    """The kubeconfig names a context it does not define (kubectl: ``Error in configuration``)."""

    title = "context not found"

    def __init__(self, context: str, contexts: list[str]) -> None:
        super().__init__(
            f"Error in configuration: context was not found for specified context: {context}",
            (f"your kubeconfig's contexts: {', '.join(contexts)}; pick one with --context NAME "
             "(or make it current: kubectl config use-context NAME)") if contexts
            else "your kubeconfig defines no context at all: fetch your cluster's kubeconfig again, or use the sandbox (--sandbox)",
        )
        self.context = context


class CredentialPluginMissing(ClusterError):
    title = "credential plugin missing"

    def __init__(self, command: str, install_hint: str | None) -> None:
        super().__init__(
            f"exec: executable {command} not found: your kubeconfig runs {command} to log in, and it is not installed",
            install_hint.strip() if install_hint else f"install {command}, or switch to another context",
        )
        self.command = command


class Unreachable(ClusterError):
    title = "cluster unreachable"
    cluster_lost = True

    def __init__(self, server: str, detail: str = "") -> None:
        host = server.split("://", 1)[-1]
        super().__init__(
            f"The connection to the server {host} was refused - did you specify the right host or port?"
            if "refused" in detail.lower() or not detail else f"Unable to connect to the server: {detail}",
            "start the cluster (or: labrunner sandbox start), or choose another context with --context",
        )
        self.server = server


class CertificateRejected(ClusterError):
    """The server's certificate is not the one the kubeconfig trusts (a cluster recreated
    with a new CA, a kubeconfig from another cluster, a proxy in the way)."""

    title = "certificate not trusted"
    cluster_lost = True

    def __init__(self, server: str, x509: str, context: str | None) -> None:
        super().__init__(
            f"Unable to connect to the server: tls: failed to verify certificate: {x509}",
            "the kubeconfig's certificate-authority is not the one that signed this server's certificate: "
            "was the cluster recreated? Fetch its kubeconfig again (kind export kubeconfig, minikube update-context, "
            f"k3d kubeconfig merge){'' if not context else f' for context {context}'}; for the sandbox: eval \"$(labrunner sandbox env)\"",
        )
        self.server = server


class Unauthorized(ClusterError):
    title = "not logged in"
    cluster_lost = True

    def __init__(self, context: str | None, detail: str = "") -> None:
        super().__init__(
            f"error: You must be logged in to the server ({detail or 'Unauthorized'})",
            f"credentials for context {context} are missing or expired: log in again with your cluster's tool" if context
            else "your credentials are missing or expired: log in again",
        )


class Forbidden(ClusterError):
    title = "forbidden"

    def __init__(self, message: str, user: str = "", verb: str = "", resource: str = "", namespace: str = "") -> None:
        hint = "you are not logged in (system:anonymous): an authentication problem, not RBAC" if user == "system:anonymous" \
            else "ask your cluster's administrator for this permission, or use a cluster of your own (labrunner sandbox start)"
        super().__init__(f"Error from server (Forbidden): {message}", hint)
        self.user, self.verb, self.resource, self.namespace = user, verb, resource, namespace


class NotFound(ClusterError):
    title = "not found"


class Conflict(ClusterError):
    title = "conflict"


class Invalid(ClusterError):
    title = "rejected by the server"


class Timeout(ClusterError):
    """Something took too long: the server to answer at all (the cluster is lost), or what
    a request waits for (a probe pod to start, a server-side timeout: it still answers)."""

    title = "timed out"

    def __init__(self, message: str, hint: str = "", *, cluster_lost: bool = False) -> None:
        super().__init__(message, hint)
        self.cluster_lost = cluster_lost
