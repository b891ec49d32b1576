"""An object looked for in one namespace and found in another: the near miss exams lose points to."""

from __future__ import annotations

from labrunner.checks.nearmiss import found_elsewhere
from tests.fakes import FakeCluster, named


def test_an_object_only_in_other_namespaces_is_found_there() -> None:
    cluster = FakeCluster({"services": [named("web", "default", "Service"), named("web", "team-b", "Service"), named("api", "shop", "Service")]})
    assert found_elsewhere(cluster, ["services"], "web", "shop") == [("Service", "default"), ("Service", "team-b")]


def test_an_object_that_exists_where_asked_is_no_near_miss_even_if_others_share_its_name() -> None:
    cluster = FakeCluster({"services": [named("web", "shop", "Service"), named("web", "default", "Service")]})
    assert found_elsewhere(cluster, ["services"], "web", "shop") == []


def test_the_first_resource_with_a_match_answers_and_unknown_resources_are_skipped() -> None:
    cluster = FakeCluster({"deployments": [named("web", "default", "Deployment")], "pods": [named("web", "other", "Pod")]})
    assert found_elsewhere(cluster, ["no-such-things", "deployments", "pods"], "web", "shop") == [("Deployment", "default")]
    assert found_elsewhere(cluster, ["services"], "web", "shop") == []
