"""The near-miss service on a fake cluster: what exists instead of the object or pods a check
looked for, and the runner leading a failing check with it (tests/checks/test_near_misses.py
makes the same mistakes on the sandbox)."""

from __future__ import annotations

from typing import Any

import pytest

from labrunner.checks.nearmiss import NearMiss, missing_object, near_object, pods_near_selector, said_kind, similar
from labrunner.cluster import errors
from tests.fakes import FakeCluster, named


def pod(pod_name: str, namespace: str, /, **labels: str) -> dict[str, Any]:
    return {"kind": "Pod", "metadata": {"name": pod_name, "namespace": namespace, "labels": {k.replace("_", "-"): v for k, v in labels.items()}}}


def stamped(obj: dict[str, Any], when: str) -> dict[str, Any]:
    obj["metadata"]["creationTimestamp"] = when
    return obj


class Refusing(FakeCluster):
    """Lists are forbidden (a learner whose RBAC stops at their namespace), or the cluster is gone."""

    def __init__(self, *args: Any, lost: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lost = lost
        self.lists = 0

    def list(self, kind: str, namespace: str | None = None, *, labels: str = "", fields: str = "") -> list[dict[str, Any]]:
        self.lists += 1
        if self.lost:
            raise errors.Unreachable("https://127.0.0.1:6443", "connection refused")
        raise errors.Forbidden(f'{kind} is forbidden: User "alice" cannot list resource "{kind}"', "alice", "list", kind, "")

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        raise errors.NotFound(f'{kind} "{name}" not found')  # the one request allowed


# -- an object ---------------------------------------------------------------------------------


def test_the_same_name_in_another_namespace_is_a_forgotten_n() -> None:
    cluster = FakeCluster({"deployments": [named("mysql", "default", "Deployment")]})
    assert missing_object(cluster, "deployments", "mysql", "networkdemo") == (
        "deployment mysql is not in networkdemo: there is a Deployment mysql in default (applied without -n networkdemo?)")


def test_several_namespaces_newest_first_and_the_rest_counted() -> None:
    cluster = FakeCluster({"services": [stamped(named("web", f"team-{i}", "Service"), f"2025-01-0{i}T00:00:00Z") for i in range(1, 6)]})
    near = near_object(cluster, "services", "web", "shop")
    assert near is not None and near.places == ("team-5", "team-4", "team-3") and near.more == 2
    assert near.sentence == ("service web is not in shop: there is a Service web in team-5, team-4, team-3 and 2 other namespaces "
                             "(applied without -n shop?)")
    assert near.review == "you created Service web in team-5, team-4, team-3 and 2 other namespaces; the task asked for shop"


@pytest.mark.parametrize(("asked", "there", "kind", "plural"), [
    ("mysql", "mysql-svc", "Service", "services"),
    ("mysql", "mysq1", "Service", "services"),
    ("web", "web-deployment", "Deployment", "deployments"),
    ("app-conf", "app-config", "ConfigMap", "configmaps"),
    ("db-password", "db-pasword", "Secret", "secrets"),
])
def test_a_similar_name_in_the_namespace_asked(asked: str, there: str, kind: str, plural: str) -> None:
    cluster = FakeCluster({plural: [named(there, "shop", kind), named("unrelated", "shop", kind)]})
    word = said_kind(kind)
    assert missing_object(cluster, plural, asked, "shop") == (
        f"{word} {asked} does not exist in shop; there is a {kind} {there} there (the step asks for the name {asked})")
    near = near_object(cluster, plural, asked, "shop")
    assert near is not None and near.review == f"you created {kind} {there} in shop; the task asked for the name {asked}"


def test_a_similar_name_in_another_namespace_when_none_is_here() -> None:
    cluster = FakeCluster({"configmaps": [named("app-config", "default", "ConfigMap")]})
    assert missing_object(cluster, "configmaps", "app-conf", "shop") == (
        "configmap app-conf does not exist in shop; there is a ConfigMap app-config in default (the step asks for app-conf in shop)")


def test_a_cluster_scoped_object_misspelt() -> None:
    cluster = FakeCluster({"namespaces": [named("alice-pn", None, "Namespace"), named("default", None, "Namespace")]})
    assert missing_object(cluster, "namespaces", "alice-np", None) == (
        "namespace alice-np does not exist; there is a Namespace alice-pn (the step asks for the name alice-np)")
    assert missing_object(cluster, "namespaces", "networkdemo", None) is None


def test_an_object_where_asked_is_never_a_near_miss() -> None:
    cluster = FakeCluster({"services": [named("web", "shop", "Service"), named("web", "default", "Service"), named("web-svc", "shop", "Service")]})
    assert missing_object(cluster, "services", "web", "shop") is None


def test_unrelated_names_and_other_kinds_are_no_near_miss() -> None:
    cluster = FakeCluster({"services": [named("api", "shop", "Service"), named("frontend", "default", "Service")],
                           "configmaps": [named("web", "shop", "ConfigMap")]})
    assert missing_object(cluster, "services", "web", "shop") is None
    assert missing_object(cluster, "no-such-things", "web", "shop") is None


def test_pods_are_not_listed_across_the_cluster_for_a_similar_name() -> None:
    cluster = FakeCluster({"pods": [named("clinet", "default", "Pod")]})
    assert missing_object(cluster, "pods", "client", "shop") is None
    assert missing_object(cluster, "pods", "client", "default") == (
        "pod client does not exist in default; there is a Pod clinet there (the step asks for the name client)")


@pytest.mark.parametrize("lost", [False, True])
def test_a_refused_or_lost_cluster_finds_nothing_and_raises_nothing(lost: bool) -> None:
    cluster = Refusing({"services": [named("web", "default", "Service")]}, lost=lost)
    assert missing_object(cluster, "services", "web", "shop") is None
    assert cluster.lists == (1 if lost else 3)  # a lost cluster is asked no more
    assert pods_near_selector(cluster, "shop", {"app": "web"}) is None


def test_similar_names() -> None:
    assert similar("mysql", ["mysql-svc", "mysq1", "postgres", "mysql"]) == ["mysql-svc", "mysq1"]
    assert similar("web", ["web-1", "api", "my-web", "webapp"]) == ["my-web"]  # web-1 is a sibling
    assert similar("db", ["db-backup"]) == []  # too short to be contained
    assert similar("web", ["web-deployment"], decorated=False) == []


@pytest.mark.parametrize(("asked", "there"), [("archive-restored", "archive"), ("data-ledger-1", "data-ledger-0"),
                                              ("interpoddemo2", "interpoddemo"), ("web-v2", "web")])
def test_an_earlier_steps_sibling_is_no_near_miss(asked: str, there: str) -> None:
    cluster = FakeCluster({"persistentvolumeclaims": [named(there, "shop", "PersistentVolumeClaim")]})
    assert similar(asked, [there]) == []
    assert missing_object(cluster, "persistentvolumeclaims", asked, "shop") is None


def test_other_namespaces_count_a_misspelling_not_a_decorated_name() -> None:
    cluster = FakeCluster({"deployments": [named("web-app", "team-b", "Deployment"), named("wbe", "team-c", "Deployment")]})
    assert missing_object(cluster, "deployments", "web", "shop") is None
    cluster = FakeCluster({"deployments": [named("web-app", "team-b", "Deployment"), named("web-ap", "team-c", "Deployment")]})
    assert missing_object(cluster, "deployments", "web-app", "shop") == (
        "deployment web-app is not in shop: there is a Deployment web-app in team-b (applied without -n shop?)")


def test_a_near_miss_said_by_the_check_itself_is_recognised() -> None:
    near = NearMiss("Service", "web", "shop", "web", ("default",))
    assert near.said_in("service web does not exist in shop (there is one in default)")
    assert not near.said_in("service web does not exist in shop")
    typo = NearMiss("Deployment", "orders", "shop", "orders-v2", ("shop",))
    assert typo.said_in("deployment orders does not exist in shop; deployments in shop now: orders-v2")
    assert not typo.said_in("deployment orders does not exist in shop; deployments in shop now: orders-v20")


# -- pods for a selector -------------------------------------------------------------------------


def test_a_close_value_names_the_pods_and_their_labels_without_the_controllers() -> None:
    cluster = FakeCluster({"pods": [pod("mysql-7d9f4-abcde", "networkdemo", app="mysqldb", pod_template_hash="7d9f4"),
                                    pod("web-1", "networkdemo", app="web")]})
    assert pods_near_selector(cluster, "networkdemo", {"app": "mysql"}) == (
        "no pod in networkdemo carries app=mysql; 1 pod carries app=mysqldb (mysql-7d9f4-abcde)")


def test_the_value_under_another_key() -> None:
    cluster = FakeCluster({"pods": [pod(f"mysql-{i}", "shop", name="mysql") for i in range(3)]})
    assert pods_near_selector(cluster, "shop", {"app": "mysql"}) == (
        "no pod in shop carries app=mysql; 3 pods carry name=mysql (mysql-0, mysql-1 and 1 more)")


def test_all_but_one_of_several_labels() -> None:
    cluster = FakeCluster({"pods": [pod("web-1", "shop", app="web", role="frontend"), pod("db-1", "shop", app="db", tier="backend")]})
    assert pods_near_selector(cluster, "shop", {"app": "web", "tier": "frontend"}) == (
        "no pod in shop carries app=web,tier=frontend; 1 pod carries app=web,role=frontend (web-1)")


def test_exact_labels_in_another_namespace() -> None:
    cluster = FakeCluster({"pods": [pod("mysql-a", "default", app="mysql"), pod("mysql-b", "default", app="mysql"),
                                    pod("other", "shop", app="web")]})
    assert pods_near_selector(cluster, "shop", {"app": "mysql"}) == "no pod in shop carries app=mysql; 2 pods in default do (mysql-a, mysql-b)"


def test_a_matching_pod_or_nothing_near_is_no_near_miss() -> None:
    cluster = FakeCluster({"pods": [pod("mysql-1", "shop", app="mysql"), pod("web-1", "shop", app="mysqldb")]})
    assert pods_near_selector(cluster, "shop", {"app": "mysql"}) is None
    assert pods_near_selector(cluster, "shop", {"app": "postgres"}) is None
    assert pods_near_selector(cluster, "shop", {}) is None


# -- the runner ----------------------------------------------------------------------------------


class Counting(FakeCluster):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.requests: list[tuple[str, str | None, str]] = []

    def list(self, kind: str, namespace: str | None = None, *, labels: str = "", fields: str = "") -> list[dict[str, Any]]:
        self.requests.append((kind, namespace, fields))
        return super().list(kind, namespace, labels=labels, fields=fields)

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        """Not counted: only the search's lists are."""
        for obj in super().list(kind, namespace):
            if obj["metadata"]["name"] == name:
                return obj
        raise errors.NotFound(f'{kind} "{name}" not found')


def test_the_runner_leads_a_failing_check_with_the_near_miss_and_keeps_its_own_sentence() -> None:
    from labrunner.checks.runner import checked
    from labrunner.lab.loader import load_lab
    from tests.conftest import REPO

    lab = load_lab(REPO / "labs" / "networkpolicies")
    step = lab.step("deploy-mysql")
    cluster = Counting({"deployments": [named("mysql", "default", "Deployment")]})
    found = checked(step.checks[0], step, cluster, lab.placeholder_values)
    assert found.result.status == "failed"
    assert found.result.message == "deployment mysql is not in networkdemo: there is a Deployment mysql in default (applied without -n networkdemo?)"
    assert found.result.details[0] == found.own.message and found.own.message.startswith("deployment mysql")
    assert found.near_miss is not None and found.near_miss.review == "you created Deployment mysql in default; the task asked for networkdemo"


def test_a_near_miss_the_check_said_itself_is_not_said_twice_nor_searched_again() -> None:
    from labrunner.checks.runner import checked
    from labrunner.lab.loader import load_lab
    from tests.conftest import REPO

    lab = load_lab(REPO / "labs" / "networkpolicies", {"namespace": "alice-np"})
    step = lab.step("create-namespace")
    cluster = Counting({"namespaces": [named("alice-pn", None, "Namespace")]})
    found = checked(step.checks[0], step, cluster)
    assert found.result == found.own and found.near_miss is not None
    assert found.result.message == "namespace alice-np does not exist; there is a Namespace alice-pn (the step asks for the name alice-np)"
    assert cluster.requests == [("namespaces", None, "")]  # the check's one search; the runner reused it


def test_a_passing_check_pays_for_no_search() -> None:
    from labrunner.checks.runner import checked
    from labrunner.lab.loader import load_lab
    from tests.conftest import REPO

    lab = load_lab(REPO / "labs" / "networkpolicies")
    step = lab.step("create-namespace")
    cluster = Counting({"namespaces": [named("networkdemo", None, "Namespace"), named("networkdemo2", None, "Namespace")]})
    found = checked(step.checks[0], step, cluster)
    assert found.result.status == "passed" and found.near_miss is None and cluster.requests == []
