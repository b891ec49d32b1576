"""``objects-kept``: what a step's setup made is still there, so the repair was made in place
and not by deleting what was in the way (a default-deny policy, a binding, a claim's
Deployment)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from labrunner.lab.check_args import CheckArgs
from labrunner.lab.fields import KubeName, NonEmptyStr
from labrunner.registry.types import CheckContext, CheckKind, Outcome
from labrunner.topics.troubleshooting.common import find


class KeptObject(BaseModel):
    """One object of the step's starting state, by resource and name."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, use_attribute_docstrings=True)

    resource: NonEmptyStr
    """A namespaced resource's plural, as topics register it: ``networkpolicies``, ``rolebindings``."""
    name: KubeName
    why: NonEmptyStr | None = None
    """Why the step keeps it, said when it is gone: "it keeps every other pod of the namespace isolated"."""

    @field_validator("resource")
    @classmethod
    def _registered(cls, value: str) -> str:
        from labrunner.lab.problems import did_you_mean
        from labrunner.registry import registry

        known = [r.plural for r in registry().resources if r.namespaced]
        if value not in known:
            raise ValueError(f"{value!r} is not a namespaced resource a topic registers{did_you_mean(value, known)}")
        return value


class ObjectsKept(CheckArgs):
    """Every object of ``objects`` still exists in ``namespace``."""

    kind: Literal["objects-kept"]
    namespace: KubeName
    objects: list[KeptObject] = Field(min_length=1)


def _word(plural: str) -> str:
    """``networkpolicies`` -> ``networkpolicy``, as kubectl names one object of a kind."""
    from labrunner.registry import registry

    return registry().resource(plural).kind.lower()


def objects_kept(args: ObjectsKept, context: CheckContext) -> Outcome:
    cluster, namespace = context.cluster, args.namespace
    kept = []
    for wanted in args.objects:
        word = _word(wanted.resource)
        if find(cluster, wanted.resource, wanted.name, namespace) is not None:
            kept.append(f"{word} {wanted.name}")
            continue
        others = sorted(str(o["metadata"]["name"]) for o in cluster.list(wanted.resource, namespace))
        reason = wanted.why or "this step repairs it where it is, rather than removing it"
        details = [reason, f"{wanted.resource} in {namespace} now: {', '.join(others)}" if others else f"no {wanted.resource} are left in {namespace}",
                   "to start over from the state the step handed you, reset the step and open it again"]
        return "failed", f"{word} {wanted.name} was deleted from {namespace}; this step keeps it", details
    return "passed", f"{', '.join(kept)} {'is' if len(kept) == 1 else 'are'} still in {namespace}", []


KINDS = (CheckKind(model=ObjectsKept, run=objects_kept, watches=lambda args: tuple(dict.fromkeys(o.resource for o in args.objects))),)
