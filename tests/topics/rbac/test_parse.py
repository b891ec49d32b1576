"""Reading RBAC objects, and aggregation as the clusterroleaggregation controller writes it."""

from __future__ import annotations

from typing import Any

import pytest

from labrunner.topics.rbac.model import Rule
from labrunner.topics.rbac.parse import ObjectError, policies_from_objects
from tests.topics.rbac.world import binding, cluster_role, role, rule, user

LABEL = "rbac.example.com/aggregate-to-monitoring"


def rules_of(objects: list[dict[str, Any]], name: str) -> tuple[Rule, ...]:
    policies = policies_from_objects(objects)
    return next(r for r in policies.roles if r.name == name).rules


def test_aggregation_by_selector_then_by_name_without_duplicates_replacing_own_rules() -> None:
    objects = [
        cluster_role("agg", rule(["delete"], ["secrets"]),
                     selectors=[{"matchLabels": {LABEL: "true"}},
                                {"matchExpressions": [{"key": "extra", "operator": "Exists"}]}]),
        cluster_role("b-role", rule(["get"], ["pods"]), labels={LABEL: "true"}),
        cluster_role("a-role", rule(["list"], ["pods"]), rule(["get"], ["pods"]), labels={LABEL: "true"}),
        cluster_role("c-role", rule(["watch"], ["pods"]), labels={"extra": "x"}),
        cluster_role("unlabelled", rule(["*"], ["*"])),
    ]
    rules = rules_of(objects, "agg")
    assert [(r.verbs, r.aggregated_from) for r in rules] == [
        (("list",), "a-role"), (("get",), "a-role"), (("watch",), "c-role")]


def test_aggregation_reaches_a_fixpoint_through_aggregated_sources() -> None:
    objects = [
        cluster_role("top", selectors=[{"matchLabels": {"to-top": "true"}}]),
        cluster_role("middle", labels={"to-top": "true"}, selectors=[{"matchLabels": {"to-middle": "true"}}]),
        cluster_role("leaf", rule(["get"], ["pods"]), labels={"to-middle": "true"}),
    ]
    assert [(r.verbs, r.aggregated_from) for r in rules_of(objects, "top")] == [(("get",), "leaf")]


def test_lists_are_read_other_kinds_skipped_and_broken_bindings_refused() -> None:
    objects = [{"kind": "List", "items": [role("r", "dev", rule(["get"], ["pods"])), {"kind": "Pod"},
                                          binding("b", "dev", "Role", "r", user("jane"))]}]
    policies = policies_from_objects(objects)
    assert [r.name for r in policies.roles] == ["r"] and [b.name for b in policies.bindings] == ["b"]
    with pytest.raises(ObjectError, match="roleRef"):
        policies_from_objects([{"kind": "RoleBinding", "metadata": {"name": "x", "namespace": "dev"}}])
    with pytest.raises(ObjectError, match="namespace"):
        policies_from_objects([{"kind": "Role", "metadata": {"name": "x"}}])


def test_the_package_is_a_topic_with_its_check_kinds() -> None:
    from labrunner.registry import Registry, discover

    registry = Registry(discover())
    assert {kind: registry.topic_of(kind) for kind in ("access", "rbac-grants", "kubeconfig-user")} == {
        "access": "rbac", "rbac-grants": "rbac", "kubeconfig-user": "rbac"}
