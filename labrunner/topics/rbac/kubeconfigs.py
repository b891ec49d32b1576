"""``kubeconfig-user``: a kubeconfig file's context reaches this cluster and authenticates as
the given user (``kubectl --kubeconfig F --context C auth whoami``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from labrunner.cluster import errors
from labrunner.lab.check_args import CheckArgs
from labrunner.lab.fields import NonEmptyStr
from labrunner.lab.problems import display_path
from labrunner.registry.types import CheckContext, Outcome

CERTIFICATE_CAUSES = ("a client certificate not signed by this cluster's CA (or expired), a key that does not belong to "
                      "the certificate, or a token that is wrong or expired")


class KubeconfigUser(CheckArgs):
    """The context ``context`` of the kubeconfig file ``kubeconfig`` (``~`` expanded; relative
    paths from where labrunner runs) points at this lab's cluster and authenticates as
    ``user``, in ``groups`` if given."""

    kind: Literal["kubeconfig-user"]
    kubeconfig: NonEmptyStr
    context: NonEmptyStr
    user: NonEmptyStr
    groups: list[NonEmptyStr] = Field(default_factory=list)


def _context(config: Any, name: str) -> dict[str, Any] | None:
    for entry in (config or {}).get("contexts") or []:
        if isinstance(entry, dict) and entry.get("name") == name:
            return dict(entry.get("context") or {})
    return None


def _server(config: Any, cluster: str) -> str:
    for entry in (config or {}).get("clusters") or []:
        if isinstance(entry, dict) and entry.get("name") == cluster:
            return str((entry.get("cluster") or {}).get("server") or "")
    return ""


def _shown(path: Path, typed: str) -> str:
    """The file as the learner typed it, relative to the working directory when below it."""
    relative = display_path(path)
    return relative if relative != str(path) else typed


def kubeconfig_user(args: KubeconfigUser, context: CheckContext) -> Outcome:
    import yaml

    from labrunner.cluster.opening import open_cluster

    path = Path(args.kubeconfig).expanduser()
    shown = _shown(path.absolute(), args.kubeconfig)
    if not path.is_file():
        return "failed", f"there is no kubeconfig file {shown}", []
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        return "failed", f"{shown} is not a kubeconfig kubectl can read", [str(error).splitlines()[0]]
    entry = _context(config, args.context)
    if entry is None:
        names = [str(c.get("name")) for c in (config or {}).get("contexts") or [] if isinstance(c, dict)]
        return "failed", f"{shown} has no context {args.context}", [f"its contexts: {', '.join(names) or 'none'}"]
    server = _server(config, str(entry.get("cluster") or ""))
    if not server:
        return "failed", f"context {args.context} names cluster {entry.get('cluster')!r}, which {shown} does not define", []
    lab_server = context.cluster.info.server
    if lab_server and server.rstrip("/") != lab_server.rstrip("/"):
        return "failed", f"context {args.context} points at {server}, not this lab's cluster {lab_server}", []
    users = {str(u.get("name")) for u in (config or {}).get("users") or [] if isinstance(u, dict)}
    if entry.get("user") not in users:
        return "failed", f"context {args.context} names user {entry.get('user')!r}, which {shown} does not define", [
            "kubectl config set-credentials NAME --client-certificate=... --client-key=... --embed-certs adds it"]
    try:
        info = open_cluster(path, args.context).cluster.whoami()
    except errors.Unauthorized:
        return "failed", f"the cluster refused the credentials of context {args.context} (401 Unauthorized)", [
            f"likely: {CERTIFICATE_CAUSES}"]
    except errors.ClusterError as failure:
        return "failed", f"context {args.context} could not reach the cluster at {server}", [
            str(failure), f"a refused TLS handshake (EOF) on the sandbox means {CERTIFICATE_CAUSES}"]
    name, groups = str(info.get("username", "")), [str(g) for g in info.get("groups") or []]
    if name != args.user:
        return "failed", f"context {args.context} authenticates as {name!r}, not {args.user!r}", [
            "a client certificate's CN is the user name: make the CSR with -subj \"/CN=" + args.user + "\""]
    lacking = [group for group in args.groups if group not in groups]
    if lacking:
        return "failed", f"context {args.context} is {name} in groups {', '.join(groups)}, without {', '.join(lacking)}", [
            "a client certificate's O fields are its groups: -subj \"/CN=" + args.user + "".join(f"/O={g}" for g in args.groups) + "\""]
    return "passed", f"context {args.context} of {shown} authenticates as {name} (groups {', '.join(groups)})", []
