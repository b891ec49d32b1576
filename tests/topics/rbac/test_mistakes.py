"""The binding mistakes behind a missing permission: dangling roleRefs (the near miss of the
other kind named), the API server's default bindings left out."""

from __future__ import annotations

from labrunner.topics.rbac.mistakes import dangling, naming, nothing_names
from labrunner.topics.rbac.model import Identity, service_account
from labrunner.topics.rbac.parse import policies_from_objects
from tests.topics.rbac.world import binding, cluster_role, group, role, rule
from tests.topics.rbac.world import service_account as sa_subject

BOT = service_account("dev", "bot")


def test_a_role_ref_of_the_wrong_kind_names_the_role_that_exists() -> None:
    policies = policies_from_objects([
        role("deployer", "dev", rule(["get"], ["pods"])),
        cluster_role("viewer", rule(["get"], ["pods"])),
        binding("to-a-cluster-role", "dev", "ClusterRole", "deployer", sa_subject("bot")),
        binding("to-a-role", "dev", "Role", "viewer", sa_subject("bot")),
        binding("to-nothing", "dev", "Role", "ghost", sa_subject("bot")),
    ])
    said = dangling(policies, BOT, "dev")
    assert said[0].startswith("RoleBinding dev/to-a-cluster-role has roleRef kind ClusterRole deployer, which does not exist; "
                              "a Role dev/deployer does")
    assert "--role=deployer" in said[0]
    assert said[1].startswith("RoleBinding dev/to-a-role has roleRef kind Role viewer, which does not exist in dev; "
                              "a ClusterRole viewer does")
    assert "--clusterrole=viewer" in said[1]
    assert said[2] == "RoleBinding dev/to-nothing refers to Role ghost, which does not exist, so it grants nothing"
    assert dangling(policies, BOT, "other") == []  # RoleBindings of dev grant nothing elsewhere


def test_the_api_servers_own_bindings_are_not_the_learners() -> None:
    default = binding("system:basic-user", "", "ClusterRole", "system:basic-user", group("system:authenticated"))
    default["metadata"]["labels"] = {"kubernetes.io/bootstrapping": "rbac-defaults"}
    learner = binding("ops", "", "ClusterRole", "node-reader", group("system:authenticated"))
    jane = Identity(user="jane", groups=("system:authenticated",))
    assert naming(policies_from_objects([default]), jane, "dev") == []
    assert [b.name for b in naming(policies_from_objects([default, learner]), jane, "dev")] == ["ops"]
    assert nothing_names("User jane", "dev") == "no RoleBinding in dev or ClusterRoleBinding names User jane"
    assert nothing_names("the group ops", "") == "no ClusterRoleBinding names the group ops"
