"""Whether held rules cover granted ones, as kube-apiserver decides before it stores a Role or a
binding (policy_comparator.go's Covers), and the 403's words (CompactRules, CompactString).

The coverage cases are k8s.io/component-helpers/auth/rbac/validation/policy_comparator_test.go's,
one for one (its ``ownerRules`` are held, its ``servantRules`` granted), with its
TestNonResourceURLCovers table; the expected pieces are compared in order, which Go's test leaves
free.
"""

from __future__ import annotations

import pytest

from labrunner.topics.rbac.covers import breakdown, compact, compact_string, not_held_message, rule_covers, uncovered
from labrunner.topics.rbac.model import Rule


def rule(verbs: str, groups: str = "", resources: str = "", names: str = "", urls: str = "") -> Rule:
    """A rule from space-separated lists (``rule("get list", "v1", "pods")``); ``'""'`` is the core group."""

    def items(text: str) -> tuple[str, ...]:
        return tuple("" if item == '""' else item for item in text.split())

    return Rule(verbs=items(verbs), api_groups=items(groups), resources=items(resources), resource_names=items(names),
                non_resource_urls=items(urls))


# (Go test name, held, granted, the pieces left uncovered)
GO_CASES: list[tuple[str, list[Rule], list[Rule], list[Rule]]] = [
    ("ExactMatch", [rule("get", "v1", "builds")], [rule("get", "v1", "builds")], []),
    ("SubresourceWildcard", [rule("get", "v1", "*/scale")], [rule("get", "v1", "foo/scale")], []),
    ("MultipleRulesCoveringSingleRule",
     [rule("delete", "v1", "deployments"), rule("delete", "v1", "builds"), rule("update", "v1", "builds deployments")],
     [rule("delete update", "v1", "builds deployments")], []),
    ("MultipleAPIGroupsCoveringSingleRule",
     [rule("delete", "group1", "deployments"), rule("delete", "group1", "builds"), rule("update", "group1", "builds deployments"),
      rule("delete", "group2", "deployments"), rule("delete", "group2", "builds"), rule("update", "group2", "builds deployments")],
     [rule("delete update", "group1 group2", "builds deployments")], []),
    ("SingleAPIGroupsCoveringMultiple",
     [rule("delete update", "group1 group2", "builds deployments")],
     [rule("delete", "group1", "deployments"), rule("delete", "group1", "builds"), rule("update", "group1", "builds deployments"),
      rule("delete", "group2", "deployments"), rule("delete", "group2", "builds"), rule("update", "group2", "builds deployments")], []),
    ("MultipleRulesMissingSingleVerbResourceCombination",
     [rule("delete update", "v1", "builds deployments"), rule("delete", "v1", "pods")],
     [rule("delete update", "v1", "builds deployments pods")], [rule("update", "v1", "pods")]),
    ("APIGroupStarCoveringMultiple", [rule("get", "*", "roles")], [rule("get", "group1 group2", "roles")], []),
    ("EnumerationNotCoveringAPIGroupStar", [rule("get", "dummy-group", "roles")], [rule("get", "*", "roles")], [rule("get", "*", "roles")]),
    ("APIGroupStarCoveringStar", [rule("get", "*", "roles")], [rule("get", "*", "roles")], []),
    ("VerbStarCoveringMultiple", [rule("*", "v1", "roles")], [rule("watch list", "v1", "roles")], []),
    ("EnumerationNotCoveringVerbStar", [rule("get list watch create update delete exec", "v1", "roles")], [rule("*", "v1", "roles")],
     [rule("*", "v1", "roles")]),
    ("VerbStarCoveringStar", [rule("*", "v1", "roles")], [rule("*", "v1", "roles")], []),
    ("ResourceStarCoveringMultiple", [rule("get", "v1", "*")], [rule("get", "v1", "resourcegroup:deployments")], []),
    ("EnumerationNotCoveringResourceStar", [rule("get", "v1", "roles resourcegroup:deployments")], [rule("get", "v1", "*")],
     [rule("get", "v1", "*")]),
    ("ResourceStarCoveringStar", [rule("get", "v1", "*")], [rule("get", "v1", "*")], []),
    ("ResourceNameEmptyCoveringMultiple", [rule("get", "v1", "pods")], [rule("get", "v1", "pods", names="foo bar")], []),
    ("EnumerationNotCoveringResourceNameEmpty", [rule("get", "v1", "pods", names="foo bar")], [rule("get", "v1", "pods")],
     [rule("get", "v1", "pods")]),
    ("NonResourceURLs", [rule("*", urls="/apis")], [rule("*", urls="/apis")], []),
    ("NonResourceURLsStar", [rule("*", urls="*")], [rule("*", urls="/apis /apis/v1 /")], []),
    ("NonResourceURLsStarAfterPrefixDoesntCover", [rule("*", urls="/apis/*")], [rule("get", urls="/apis /apis/v1")],
     [rule("get", urls="/apis")]),
    ("NonResourceURLsStarAfterPrefix", [rule("*", urls="/apis/*")], [rule("get", urls="/apis/v1/foo /apis/v1")], []),
    ("NonResourceURLsWithOtherFields", [rule("get", "v1", "builds", urls="/apis")], [rule("get", "v1", "builds", urls="/apis")], []),
    ("NonResourceURLsWithOtherFieldsFailure", [rule("get", "v1", "builds")], [rule("get", "v1", "builds", urls="/apis")],
     [rule("get", urls="/apis")]),
]


@pytest.mark.parametrize(("held", "granted", "missing"), [case[1:] for case in GO_CASES], ids=[case[0] for case in GO_CASES])
def test_coverage_as_policy_comparator_test_go_has_it(held: list[Rule], granted: list[Rule], missing: list[Rule]) -> None:
    assert uncovered(held, granted) == missing


@pytest.mark.parametrize(("owner", "requested", "covers"), [
    ("*", "", True), ("*", "/", True), ("*", "/api", True),
    ("/*", "", False), ("/*", "/", True), ("/*", "/foo", True),
    ("/api", "/api", True), ("/apis", "/api", False), ("/api/v1", "/api", False), ("/api/v1", "/api/v1", True),
    ("/api/*", "/api/v1", True), ("/api/*", "/api", False), ("/api/*/*", "/api/v1", False), ("/*/v1/*", "/api/v1", False),
])
def test_a_held_path_covers_itself_or_what_its_star_prefix_starts(owner: str, requested: str, covers: bool) -> None:
    """TestNonResourceURLCovers: a star is a wildcard only at the end, and only for what follows its prefix."""
    assert rule_covers(rule("get", urls=owner), Rule(verbs=("get",), non_resource_urls=(requested,))) is covers


def test_a_subresource_star_covers_that_subresource_of_every_resource_and_nothing_else() -> None:
    held = [rule("get patch", "apps", "*/scale")]
    assert uncovered(held, [rule("get patch", "apps", "deployments/scale statefulsets/scale")]) == []
    assert uncovered(held, [rule("get", "apps", "deployments deployments/status")]) == [
        rule("get", "apps", "deployments"), rule("get", "apps", "deployments/status")]
    assert uncovered(held, [rule("get", '""', "pods/scale")]) == [rule("get", '""', "pods/scale")]  # the group still counts


def test_a_resource_star_after_a_slash_is_no_wildcard() -> None:
    """``pods/*`` covers the literal ``pods/*`` only: the authorizer does not read it as every
    subresource, and neither does the comparison."""
    held = [rule("get", '""', "pods/*")]
    assert uncovered(held, [rule("get", '""', "pods/*")]) == []
    assert uncovered(held, [rule("get", '""', "pods/log pods")]) == [rule("get", '""', "pods/log"), rule("get", '""', "pods")]


def test_named_objects_are_covered_by_a_held_rule_naming_them_or_naming_none() -> None:
    named = [rule("get", '""', "configmaps", names="web db")]
    assert uncovered(named, [rule("get", '""', "configmaps", names="web")]) == []
    assert uncovered(named, [rule("get", '""', "configmaps", names="web cache")]) == [rule("get", '""', "configmaps", names="cache")]
    assert uncovered([rule("get", '""', "configmaps")], [rule("get", '""', "configmaps", names="anything")]) == []


def test_each_piece_must_be_covered_by_one_held_rule() -> None:
    """A verb from one rule and a group from another do not combine."""
    held = [rule("get", "apps", "pods"), rule("list", '""', "pods")]
    assert uncovered(held, [rule("get", '""', "pods")]) == [rule("get", '""', "pods")]


def test_a_rule_without_verbs_or_groups_grants_nothing_so_nothing_is_missing() -> None:
    """The 422 refuses such a rule afterwards; the escalation check itself lets it through."""
    assert breakdown(rule("", '""', "pods")) == []
    assert breakdown(rule("get", "", "pods")) == []
    assert uncovered([], [rule("", '""', "nodes"), rule("get", "", "nodes")]) == []


def test_breakdown_goes_group_resource_verb_name_then_path_verb() -> None:
    assert breakdown(rule("get list", '"" apps', "a b", names="x")) == [
        rule("get", '""', "a", names="x"), rule("list", '""', "a", names="x"), rule("get", '""', "b", names="x"), rule("list", '""', "b", names="x"),
        rule("get", "apps", "a", names="x"), rule("list", "apps", "a", names="x"), rule("get", "apps", "b", names="x"), rule("list", "apps", "b", names="x")]
    assert breakdown(rule("get head", urls="/a /b")) == [rule("get", urls="/a"), rule("head", urls="/a"), rule("get", urls="/b"), rule("head", urls="/b")]


def test_compact_joins_the_verbs_of_simple_pieces_and_keeps_the_rest() -> None:
    """CompactRules (policy_compact.go): one group, one resource, nothing else; verbs in the order met."""
    pieces = [rule("get", '""', "pods"), rule("get", '""', "pods", names="web"), rule("list", '""', "pods"),
              rule("get", urls="/healthz"), rule("watch", "apps", "deployments"), rule("watch", '""', "pods")]
    assert compact(pieces) == [rule("get", '""', "pods", names="web"), rule("get", urls="/healthz"),
                               rule("get list watch", '""', "pods"), rule("watch", "apps", "deployments")]
    assert compact([rule("get", '"" apps', "pods")]) == [rule("get", '"" apps', "pods")]


@pytest.mark.parametrize(("given", "shown"), [
    (rule("get list", '""', "pods"), '{APIGroups:[""], Resources:["pods"], Verbs:["get" "list"]}'),
    (rule("get", '""', "configmaps", names="web"), '{APIGroups:[""], Resources:["configmaps"], ResourceNames:["web"], Verbs:["get"]}'),
    (rule("*", urls="*"), '{NonResourceURLs:["*"], Verbs:["*"]}'),
    (rule("get", "v1", "builds", urls="/apis"), '{APIGroups:["v1"], Resources:["builds"], NonResourceURLs:["/apis"], Verbs:["get"]}'),
    (rule("", '""', "pods"), '{APIGroups:[""], Resources:["pods"]}'),
    (Rule(verbs=('say "hi"',), api_groups=("ü",), resources=("a\tb",)), '{APIGroups:["ü"], Resources:["a\\tb"], Verbs:["say \\"hi\\""]}'),
])
def test_compact_string_prints_each_non_empty_list_as_gos_percent_q(given: Rule, shown: str) -> None:
    assert compact_string(given) == shown


def test_the_message_names_the_user_and_groups_then_each_missing_permission_once_sorted() -> None:
    missing = uncovered([rule("get", '""', "pods")], [
        rule("list get", '""', "nodes"), rule("get", '""', "persistentvolumes"), rule("get", '""', "pods"),
        rule("*", urls="*"), rule("list", '""', "nodes")])
    assert not_held_message("jane", ("dev-team", "system:authenticated"), missing) == (
        'user "jane" (groups=["dev-team" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n'
        '{APIGroups:[""], Resources:["nodes"], Verbs:["list" "get" "list"]}\n'
        '{APIGroups:[""], Resources:["persistentvolumes"], Verbs:["get"]}\n'
        '{NonResourceURLs:["*"], Verbs:["*"]}')


def test_the_message_says_resolution_errors_after_the_list_as_an_aggregate() -> None:
    missing = [rule("get", '""', "secrets")]
    head = 'user "x" (groups=[]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}'
    assert not_held_message("x", (), missing) == head
    assert not_held_message("x", (), missing, ['roles.rbac.authorization.k8s.io "a" not found']) == (
        head + '; resolution errors: [roles.rbac.authorization.k8s.io "a" not found]')
    assert not_held_message("x", (), missing, ['roles.rbac.authorization.k8s.io "a" not found', "Namespace parameter required.",
                                               'roles.rbac.authorization.k8s.io "a" not found']) == (
        head + '; resolution errors: [[roles.rbac.authorization.k8s.io "a" not found, Namespace parameter required.]]')
