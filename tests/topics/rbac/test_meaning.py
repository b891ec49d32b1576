"""Comparing RBAC rules by meaning: split or merged rules, wildcards, names and subresources."""

from __future__ import annotations

from labrunner.topics.rbac.meaning import Permission, compare, permissions
from labrunner.topics.rbac.model import Binding, Rule, RoleRef

BINDING = Binding(kind="RoleBinding", name="b", namespace="dev", role_ref=RoleRef(kind="Role", name="r"))


def rule(verbs: str, resources: str, groups: str = "", names: str = "") -> Rule:
    return Rule(verbs=tuple(verbs.split(",")), api_groups=tuple(groups.split(",")), resources=tuple(resources.split(",")),
                resource_names=tuple(names.split(",")) if names else ())


def held(*rules: Rule) -> list[tuple[Binding, Rule]]:
    return [(BINDING, r) for r in rules]


def test_the_same_permissions_split_differently_are_the_same() -> None:
    reference = [rule("get,list,watch", "pods,services")]
    assert compare(held(rule("list,get", "pods"), rule("watch", "pods,services"), rule("get,list", "services")), reference, exactly=True).same


def test_a_wildcard_grants_the_permission_every_verb_which_only_a_wildcard_matches() -> None:
    difference = compare(held(rule("*", "pods")), [rule("get,list", "pods")], exactly=True)
    assert not difference.missing and [e.permission.describe() for e in difference.extra] == ["every verb on pods"]
    assert compare(held(rule("get", "pods")), [rule("*", "pods")], exactly=False).missing == (Permission("*", "", "pods"),)


def test_resource_names_narrow_and_missing_names_widen() -> None:
    difference = compare(held(rule("get", "configmaps", names="web")), [rule("get", "configmaps")], exactly=True)
    assert [p.describe() for p in difference.missing] == ["get configmaps"]
    assert difference.hints == ("Role r limits configmaps to resourceNames web; get on any configmaps needs a rule without resourceNames",)
    wider = compare(held(rule("get", "configmaps")), [rule("get", "configmaps", names="web")], exactly=True)
    assert not wider.missing and [e.permission.describe() for e in wider.extra] == ["get configmaps"]


def test_the_near_misses_are_named() -> None:
    core = compare(held(rule("get", "deployments")), [rule("get", "deployments", "apps")], exactly=False)
    assert core.hints == ('Role r names deployments in apiGroups [""] (the core group); deployments are in the API group apps',)
    scale = compare(held(rule("patch", "deployments", "apps")), [rule("patch", "deployments/scale", "apps")], exactly=False)
    assert scale.hints == ("Role r grants deployments, which does not include its subresource deployments/scale: "
                           "a rule must name deployments/scale itself",)


def test_paths_are_permissions_too() -> None:
    assert permissions(Rule(verbs=("get",), non_resource_urls=("/healthz", "/livez"))) == [
        Permission("get", path="/healthz"), Permission("get", path="/livez")]
    assert Permission("get", path="/healthz").describe() == "get the path /healthz"
