"""``access``: a subject can (or cannot) do a verb on a resource, as the cluster itself answers.

The verdict is the cluster's own SubjectAccessReview, so the check holds on any cluster
and any authorizer; the explanation is labrunner's RBAC engine over the objects it can
read: the binding and rule that allowed it, or every binding naming the subject and why
it did not, with the classic mistakes named (a User where a ServiceAccount was meant, a
service account in another namespace, a RoleBinding in the wrong namespace).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import StringConstraints, model_validator

from labrunner.cluster import errors
from labrunner.lab.check_args import CheckArgs
from labrunner.lab.fields import KubeName, NonEmptyStr
from labrunner.registry.types import CheckContext, Outcome
from labrunner.topics.rbac import mistakes
from labrunner.topics.rbac.evaluate import decide
from labrunner.topics.rbac.model import SERVICE_ACCOUNT_PREFIX, Attributes, Identity, Policies
from labrunner.topics.rbac.reading import read_policies
from labrunner.topics.rbac.subjects import SubjectArgs

ResourceRef = Annotated[str, StringConstraints(pattern=r"^([a-z0-9*]+)(\.[a-z0-9.-]+)?(/[a-z0-9*]+)?$")]


class Access(CheckArgs):
    """``subject`` may (``allowed: true``, the default) or may not do ``verb`` on ``resource``
    (``pods``, ``deployments.apps``, ``deployments.apps/scale``, ``pods/log``) in
    ``namespace`` (none: cluster-wide), on the object ``name`` if given; or on the
    non-resource ``path`` (``/healthz``)."""

    kind: Literal["access"]
    subject: SubjectArgs
    verb: NonEmptyStr
    resource: ResourceRef | None = None
    path: NonEmptyStr | None = None
    namespace: KubeName | None = None
    name: NonEmptyStr | None = None
    allowed: bool = True

    @model_validator(mode="after")
    def _resource_or_path(self) -> Access:
        if (self.resource is None) == (self.path is None):
            raise ValueError("give a resource (pods, deployments.apps/scale) or a non-resource path, not both")
        return self


def split_resource(reference: str) -> tuple[str, str, str]:
    """``deployments.apps/scale`` -> (``deployments``, ``apps``, ``scale``)."""
    resource, _, subresource = reference.partition("/")
    plural, _, group = resource.partition(".")
    return plural, group, subresource


def attributes_of(args: Access) -> Attributes:
    if args.path is not None:
        return Attributes(verb=args.verb, path=args.path)
    plural, group, subresource = split_resource(args.resource or "")
    return Attributes(verb=args.verb, api_group=group, resource=plural, subresource=subresource,
                      name=args.name or "", namespace=args.namespace or "")


def describe_request(args: Access) -> str:
    if args.path is not None:
        return f"{args.verb} {args.path}"
    target = f"{args.resource} {args.name}" if args.name else args.resource
    where = f" in namespace {args.namespace}" if args.namespace else " cluster-wide"
    return f"{args.verb} {target}{where}"


def access(args: Access, context: CheckContext) -> Outcome:
    user, groups = args.subject.identity()
    attributes = attributes_of(args)
    try:
        allowed, reason = context.cluster.access_review(
            user, groups, args.verb, resource=attributes.resource, group=attributes.api_group,
            subresource=attributes.subresource, namespace=args.namespace, name=args.name, path=args.path)
    except errors.Forbidden as refused:
        return "error", "labrunner's credentials may not ask the cluster who may do what (a SubjectAccessReview)", [str(refused)]
    who, what = args.subject.describe(), describe_request(args)
    if allowed == args.allowed:
        sentence = f"{who} can {what}" if allowed else f"{who} cannot {what}"
        return "passed", sentence, [reason] if reason else []
    policies, unreadable = read_policies(context.cluster, args.namespace)
    details = [unreadable] if policies is None else _why(policies, user, groups, attributes, args)
    almost = near_misses(policies, args) if policies is not None else []
    if not allowed:
        target = args.resource or f"the path {args.path}"
        details += mistakes.elsewhere(context.cluster, Identity(user=user, groups=groups), args.namespace or "", target)
    said = [f"the cluster says: {reason}"] if reason else []
    if allowed:
        return "failed", f"{who} can {what}, which this step must not allow", details + [m.whole() for m in almost] + said
    if almost:  # a binding that almost names the subject is the mistake itself: it leads, its fix and the verdict follow
        return "failed", almost[0].mistake, [*almost[0].more, f"{who} cannot {what}", *details,
                                             *(m.whole() for m in almost[1:]), *said]
    return "failed", f"{who} cannot {what}", details + [m.whole() for m in almost] + said


def _why(policies: Policies, user: str, groups: tuple[str, ...], attributes: Attributes, args: Access) -> list[str]:
    """The grant that allowed it; or, denied, the learner's bindings naming the subject and why
    each missed (the API server's own bindings, which every authenticated user has, left out)."""
    verdict = decide(policies, user, groups, attributes)
    if verdict.allowed:
        return [verdict.explain()[0].removeprefix("allowed: ")]
    lines = [line for considered in verdict.considered if not considered.binding.default for line in considered.describe()]
    if not lines:
        groups_too = f" or its groups {', '.join(args.subject.groups)}" if args.subject.user and args.subject.groups else ""
        lines = [mistakes.nothing_names(args.subject.describe() + groups_too, args.namespace or "")]
    identity = Identity(user=user, groups=groups)
    return lines + mistakes.dangling(policies, identity, args.namespace or "")


@dataclass(frozen=True)
class NearMiss:
    """A binding that almost names the subject: the ``mistake`` (object, field, value, what was
    meant) in a short sentence, and ``more`` (why, and the fix) to read after it."""

    mistake: str
    more: tuple[str, ...] = ()

    def whole(self) -> str:
        """The mistake and its explanation in one line, as a detail among others."""
        return ": ".join((self.mistake, *self.more))


def near_misses(policies: Policies, args: Access) -> list[NearMiss]:
    """Bindings that almost name the subject: the mistakes learners make writing subjects."""
    subject = args.subject
    found: list[NearMiss] = []
    for binding in policies.bindings:
        for named in binding.subjects:
            where = binding.describe()
            if subject.serviceaccount:
                namespace, _, name = subject.serviceaccount.partition(":")
                if named.kind == "User" and named.name == name:
                    found.append(NearMiss(f"{where} names User {name}, a user, not the ServiceAccount {namespace}/{name}", (
                        f"write kind ServiceAccount with namespace {namespace} (kubectl: --serviceaccount={namespace}:{name})",)))
                elif named.kind == "ServiceAccount" and named.name == name:
                    actual = named.namespace or binding.namespace
                    if not actual:
                        found.append(NearMiss(f"{where} names ServiceAccount {name} without a namespace", (
                            f"in a ClusterRoleBinding it matches no one: add namespace: {namespace}",)))
                    elif actual != namespace:
                        found.append(NearMiss(f"{where} names ServiceAccount {actual}/{name}, in namespace {actual}, not {namespace}",
                                              () if named.namespace else (
                                                  f"a subject without a namespace is in the RoleBinding's, {actual}",)))
            elif subject.user:
                if named.kind == "User" and named.name.lower() == subject.user.lower() and named.name != subject.user:
                    found.append(NearMiss(f"{where} names User {named.name}, not {subject.user}", (
                        f"user names are case-sensitive: {subject.user} is another user",)))
                elif named.kind in ("Group", "ServiceAccount") and named.name == subject.user:
                    found.append(NearMiss(f"{where} names {named.kind} {named.name}, not the User {subject.user}"))
                elif named.kind == "User" and named.name.startswith(SERVICE_ACCOUNT_PREFIX) and subject.user == named.name.rsplit(":", 1)[-1]:
                    found.append(NearMiss(f"{where} names {named.name}, a service account, not the User {subject.user}"))
            for group in subject.groups:
                if named.kind == "User" and named.name == group:
                    found.append(NearMiss(f"{where} names User {group}, not the Group {group}"))
    return list(dict.fromkeys(found))
