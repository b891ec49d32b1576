"""Something the step removes is gone."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from labrunner.cluster import errors
from labrunner.lab.check_args import CheckArgs
from labrunner.lab.fields import KubeName
from labrunner.registry.types import CheckContext, CheckKind, Outcome


class ResourceAbsent(CheckArgs):
    """No object of ``resource`` (optionally named ``name``) is left in the namespace."""

    kind: Literal["resource-absent"]
    namespace: KubeName
    resource: str = Field(pattern=r"^[a-z0-9]+$")
    """A namespaced resource as kubectl names it in the plural: ``networkpolicies``, ``pods``, ``configmaps``."""
    name: KubeName | None = None

    @field_validator("resource")
    @classmethod
    def _known(cls, value: str) -> str:
        from labrunner.registry import registry

        known = sorted(r.plural for r in registry().resources if r.namespaced)
        if value not in known:
            raise ValueError(f"{value!r} is not a namespaced resource labrunner knows; known: {', '.join(known)}")
        return value


def resource_absent(args: ResourceAbsent, context: CheckContext) -> Outcome:
    cluster, kind, namespace = context.cluster, args.resource, args.namespace
    if args.name:
        try:
            cluster.get(kind, args.name, namespace)
        except errors.NotFound:
            return "passed", f"{kind} {args.name} is gone from {namespace}", []
        return "failed", f"{kind} {args.name} still exists in {namespace}", []
    left = [item["metadata"]["name"] for item in cluster.list(kind, namespace)]
    if left:
        return "failed", f"{namespace} still has {kind}: {', '.join(left)}", []
    return "passed", f"no {kind} left in {namespace}", []


KINDS = (
    CheckKind(model=ResourceAbsent, run=resource_absent, watches=lambda args: (args.resource,)),
)
