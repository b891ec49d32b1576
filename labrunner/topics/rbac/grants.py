"""``rbac-grants``: the learner's roles and bindings give a subject what the step asks, by
meaning (however the rules are split or written), and with ``exactly``, nothing more."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from labrunner.lab.check_args import CheckArgs
from labrunner.lab.fields import KubeName, NonEmptyStr
from labrunner.registry.types import CheckContext, Outcome
from labrunner.topics.rbac import mistakes
from labrunner.topics.rbac.evaluate import rules_for
from labrunner.topics.rbac.meaning import compare
from labrunner.topics.rbac.model import Identity, Policies, Rule
from labrunner.topics.rbac.reading import read_policies
from labrunner.topics.rbac.subjects import SubjectArgs

SHOWN = 6
"""Differences listed before "and N more"."""


class RuleArgs(BaseModel):
    """One PolicyRule, written as in a Role."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, populate_by_name=True, use_attribute_docstrings=True)

    verbs: list[NonEmptyStr] = Field(min_length=1)
    api_groups: list[str] = Field(default_factory=list, alias="apiGroups")
    resources: list[NonEmptyStr] = Field(default_factory=list)
    resource_names: list[NonEmptyStr] = Field(default_factory=list, alias="resourceNames")
    non_resource_urls: list[NonEmptyStr] = Field(default_factory=list, alias="nonResourceURLs")

    @model_validator(mode="after")
    def _resources_or_urls(self) -> RuleArgs:
        if bool(self.resources) == bool(self.non_resource_urls):
            raise ValueError("a rule names resources (with apiGroups) or nonResourceURLs")
        if self.resources and not self.api_groups:
            raise ValueError('a resource rule needs apiGroups ("" is the core group)')
        return self

    def rule(self) -> Rule:
        return Rule(verbs=tuple(self.verbs), api_groups=tuple(self.api_groups), resources=tuple(self.resources),
                    resource_names=tuple(self.resource_names), non_resource_urls=tuple(self.non_resource_urls))


class RbacGrants(CheckArgs):
    """``subject`` holds every permission ``rules`` grant in ``namespace`` (none: at the cluster
    scope), through the learner's bindings; with ``exactly``, nothing beyond them either
    (least privilege). The API server's own default bindings (what every authenticated user
    may do) are not counted."""

    kind: Literal["rbac-grants"]
    subject: SubjectArgs
    namespace: KubeName | None = None
    rules: list[RuleArgs] = Field(min_length=1)
    exactly: bool = False


def rbac_grants(args: RbacGrants, context: CheckContext) -> Outcome:
    policies, unreadable = read_policies(context.cluster, args.namespace, without_default_bindings=True)
    who = args.subject.describe()
    where = f" in namespace {args.namespace}" if args.namespace else " at the cluster scope"
    if policies is None:
        return "error", f"cannot read what {who} may do{where}", [unreadable]
    user, groups = args.subject.identity()
    held = rules_for(policies, user, groups, args.namespace or "")
    difference = compare(held, [rule.rule() for rule in args.rules], exactly=args.exactly)
    if difference.same:
        granted = "exactly what" if args.exactly else "what"
        return "passed", f"{who} holds {granted} this step asks{where}", []
    details: list[str] = []
    for permission in difference.missing[:SHOWN]:
        details.append(f"missing: {who} may not {permission.describe()}{where}")
    details += [f"  {hint}" for hint in difference.hints]
    for extra in difference.extra[:SHOWN]:
        role = f"{extra.binding.role_ref.kind} {extra.binding.role_ref.name}"
        details.append(f"extra: yours also lets {who} {extra.permission.describe()}{where} ({extra.binding.describe()} -> {role})")
    hidden = max(len(difference.missing) - SHOWN, 0) + max(len(difference.extra) - SHOWN, 0)
    if hidden:
        details.append(f"and {hidden} more")
    if difference.missing:
        details[:0] = _binding_mistakes(args, policies, context)
        return "failed", f"{who} lacks {len(difference.missing)} permission(s) this step asks{where}", details
    # the binding that grants too much is the mistake: it leads, least privilege follows
    extra = difference.extra[0]
    role = f"{extra.binding.role_ref.kind} {extra.binding.role_ref.name}"
    sentence = f"{extra.binding.describe()} -> {role} also lets {who} {extra.permission.describe()}, more than this step asks"
    details.insert(0, f"{who} holds more than this step asks{where}; least privilege grants only what is needed")
    return "failed", sentence, details


def _binding_mistakes(args: RbacGrants, policies: Policies, context: CheckContext) -> list[str]:
    """Why the learner's bindings give the subject nothing here: none names it, its role does
    not exist, or it is a RoleBinding in another namespace (or one where a ClusterRoleBinding
    was needed)."""
    user, groups = args.subject.identity()
    identity, namespace = Identity(user=user, groups=groups), args.namespace or ""
    target = ", ".join(sorted({rule.resources[0] if rule.resources else "paths" for rule in args.rules}))
    found = mistakes.dangling(policies, identity, namespace) + mistakes.elsewhere(context.cluster, identity, namespace, target)
    if not mistakes.naming(policies, identity, namespace):
        found.insert(0, mistakes.nothing_names(args.subject.describe(), namespace))
    return found
