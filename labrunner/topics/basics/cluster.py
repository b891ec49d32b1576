"""The cluster itself: it answers, its nodes are Ready, the learner has the tools and the permissions."""

from __future__ import annotations

import shutil
from typing import Literal

from pydantic import Field

from labrunner.lab.check_args import CheckArgs
from labrunner.lab.fields import KubeName, NonEmptyStr
from labrunner.registry.types import CheckContext, CheckKind, Outcome


class ClusterReachable(CheckArgs):
    """The API server answers with the current credentials."""

    kind: Literal["cluster-reachable"]


class NodesReady(CheckArgs):
    """At least ``min`` nodes exist and every node is Ready."""

    kind: Literal["nodes-ready"]
    min: int = Field(default=1, ge=1)


class CommandAvailable(CheckArgs):
    """A program the learner needs is on their PATH (e.g. kubectl)."""

    kind: Literal["command-available"]
    command: NonEmptyStr


class CanI(CheckArgs):
    """The credentials labrunner uses may do ``verb`` on ``resource`` (a
    SelfSubjectAccessReview, as ``kubectl auth can-i`` asks it)."""

    kind: Literal["can-i"]
    verb: KubeName
    resource: KubeName
    group: str = ""
    """The resource's API group; ``""`` is the core group."""
    namespace: KubeName | None = None
    name: KubeName | None = None


def cluster_reachable(args: ClusterReachable, context: CheckContext) -> Outcome:
    cluster = context.cluster
    version = cluster.version()
    where = "the labrunner sandbox" if cluster.info.is_sandbox else f"context {cluster.info.context}"
    return "passed", f"the API server answers ({where}, Kubernetes {version.get('gitVersion', '?')})", []


def nodes_ready(args: NodesReady, context: CheckContext) -> Outcome:
    nodes = context.cluster.list("nodes")
    not_ready = [n["metadata"]["name"] for n in nodes
                 if not any(c.get("type") == "Ready" and c.get("status") == "True" for c in (n.get("status") or {}).get("conditions") or [])]
    if len(nodes) < args.min:
        return "failed", f"the cluster has {len(nodes)} node(s), {args.min} needed", []
    if not_ready:
        return "failed", f"not Ready: {', '.join(not_ready)}", ["a node is NotReady until its network plugin (CNI) runs"]
    return "passed", f"{len(nodes)} node(s), all Ready", []


def command_available(args: CommandAvailable, context: CheckContext) -> Outcome:
    found = shutil.which(args.command)
    if found:
        return "passed", f"{args.command} is {found}", []
    return "failed", f"{args.command} is not on your PATH", []


def can_i(args: CanI, context: CheckContext) -> Outcome:
    allowed, reason = context.cluster.can_i(args.verb, args.resource, group=args.group, namespace=args.namespace, name=args.name)
    what = f"{args.verb} {args.resource}" + (f"/{args.name}" if args.name else "") + (f" in {args.namespace}" if args.namespace else "")
    if allowed:
        return "passed", f"your credentials may {what}", []
    return "failed", f"your credentials may not {what}" + (f" ({reason})" if reason else ""), []


KINDS = (
    CheckKind(model=ClusterReachable, run=cluster_reachable, observes=True, prerequisite=True),
    CheckKind(model=NodesReady, run=nodes_ready, watches=("nodes",), observes=True, prerequisite=True),
    CheckKind(model=CommandAvailable, run=command_available, observes=True, prerequisite=True),
    CheckKind(model=CanI, run=can_i, observes=True),
)
