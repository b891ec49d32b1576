"""What a set of RBAC rules means, compared with what a step asks for.

Two sets of rules grant the same when every permission one grants the other grants
too, however they are split over roles, rules and bindings. A permission here is one
verb on one resource (with its API group, maybe a subresource and a name) or on one
path; a ``*`` stays a ``*`` (a rule allowing every verb grants the permission "every
verb", which only a ``*`` in the other set grants too). So the difference is said in
permissions, as an instructor would: "yours also lets ServiceAccount dev/ci delete
deployments.apps", "yours does not let it get deployments.apps/scale".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from labrunner.topics.rbac.evaluate import rule_allows
from labrunner.topics.rbac.model import ALL, Attributes, Binding, Rule


@dataclass(frozen=True, order=True)
class Permission:
    verb: str
    api_group: str = ""
    resource: str = ""
    """As rules name it: ``pods``, ``deployments/scale``, ``*``."""
    name: str = ""
    path: str | None = None

    def attributes(self) -> Attributes:
        if self.path is not None:
            return Attributes(verb=self.verb, path=self.path)
        resource, _, subresource = self.resource.partition("/")
        return Attributes(verb=self.verb, api_group=self.api_group, resource=resource, subresource=subresource, name=self.name)

    def describe(self) -> str:
        """``delete pods``, ``get deployments.apps/scale``, ``every verb on secrets named db``."""
        verb = "every verb on" if self.verb == ALL else self.verb
        if self.path is not None:
            return f"{verb} the path {self.path}" if self.path != ALL else f"{verb} every non-resource path"
        resource, slash, subresource = self.resource.partition("/")
        if self.api_group == ALL:
            what = "every resource in every API group" if resource == ALL else f"{resource} in every API group"
        elif resource == ALL:
            what = f"every resource in API group {self.api_group or 'core'}"
        else:
            what = f"{resource}.{self.api_group}" if self.api_group else resource
        if slash:
            what += f"/{subresource}"
        return f"{verb} {what}" + (f" named {self.name}" if self.name else "")


def permissions(rule: Rule) -> list[Permission]:
    """Every permission one rule grants, wildcards kept as themselves."""
    if rule.non_resource_urls and not rule.resources:
        return [Permission(verb=verb, path=path) for verb in rule.verbs for path in rule.non_resource_urls]
    names = rule.resource_names or ("",)
    return [Permission(verb=verb, api_group=group, resource=resource, name=name)
            for verb in rule.verbs for group in rule.api_groups for resource in rule.resources for name in names]


def granting(rules: Iterable[Rule], permission: Permission) -> Rule | None:
    attributes = permission.attributes()
    return next((rule for rule in rules if rule_allows(rule, attributes)), None)


@dataclass(frozen=True)
class Extra:
    permission: Permission
    binding: Binding
    rule: Rule


@dataclass(frozen=True)
class Difference:
    missing: tuple[Permission, ...] = ()
    """What the reference grants and the held rules do not."""
    extra: tuple[Extra, ...] = ()
    """What the held rules grant beyond the reference (only asked for when ``exactly``)."""
    hints: tuple[str, ...] = ()
    """The likely mistake behind a missing permission, in words."""

    @property
    def same(self) -> bool:
        return not self.missing and not self.extra


def compare(held: Sequence[tuple[Binding, Rule]], reference: Sequence[Rule], *, exactly: bool) -> Difference:
    """``held``: the (binding, rule) pairs a subject has (RulesFor); ``reference``: what the step asks."""
    rules = [rule for _, rule in held]
    wanted = sorted({permission for rule in reference for permission in permissions(rule)})
    missing = tuple(permission for permission in wanted if granting(rules, permission) is None)
    extra: list[Extra] = []
    if exactly:
        seen: set[Permission] = set()
        for binding, rule in held:
            for permission in permissions(rule):
                if permission not in seen and granting(reference, permission) is None:
                    seen.add(permission)
                    extra.append(Extra(permission, binding, rule))
    hints = tuple(dict.fromkeys(hint for permission in missing for hint in _hints(held, permission)))
    return Difference(missing=missing, extra=tuple(extra), hints=hints)


def _hints(held: Sequence[tuple[Binding, Rule]], permission: Permission) -> list[str]:
    """The near miss: a held rule naming the resource in another API group, or the resource
    where the subresource was asked, or the right resource with resourceNames."""
    if permission.path is not None:
        return []
    found: list[str] = []
    resource, _, subresource = permission.resource.partition("/")
    for binding, rule in held:
        where = f"{binding.role_ref.kind} {binding.role_ref.name}"
        if permission.resource in rule.resources and permission.verb in rule.verbs and ALL not in rule.api_groups \
                and permission.api_group not in rule.api_groups:
            groups = ", ".join(f'"{group}"' for group in rule.api_groups)
            core = " (the core group)" if rule.api_groups == ("",) else ""
            group = permission.api_group or 'core ("")'
            found.append(f"{where} names {permission.resource} in apiGroups [{groups}]{core}; "
                         f"{resource} are in the API group {group}")
        elif subresource and resource in rule.resources and permission.resource not in rule.resources:
            found.append(f"{where} grants {resource}, which does not include its subresource {permission.resource}: "
                         f"a rule must name {permission.resource} itself")
        elif not permission.name and permission.resource in rule.resources and rule.resource_names and permission.verb in rule.verbs:
            found.append(f"{where} limits {permission.resource} to resourceNames {', '.join(rule.resource_names)}; "
                         f"{permission.verb} on any {resource} needs a rule without resourceNames")
    return found
