#!/usr/bin/env python3
"""What authorising every request costs, with 500 Roles and 1,000 RoleBindings.

    .venv/bin/python benchmarks/rbac_authorization.py [--decisions N] [--runs N] [--no-sandbox]

1. In process: one RBAC decision (allowed and denied) by the sandbox's authorizer over
   the default cluster policy plus 500 Roles and 1,000 RoleBindings, beside a brute-force
   evaluator that walks every binding and looks roles up by scanning, as a kubectl-who-can
   style tool does (none installs from PyPI or npm: kubectl-who-can and rbac-tool are Go
   binaries); and the time to re-read the policy after an RBAC write.
2. On a sandbox (unless --no-sandbox): ``kubectl get pods`` as the admin (system:masters,
   never reaches RBAC) and as a certificate user allowed by a RoleBinding, with the 1,500
   objects loaded. Goal (issue 15): a decision under 0.2 ms, ``kubectl get`` within 1.2x.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

ROLES, BINDINGS, NAMESPACES = 500, 1000, 50
RESOURCES = ("pods", "services", "configmaps", "secrets", "deployments", "jobs", "events", "endpoints")


def generated() -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    for index in range(ROLES):
        namespace = f"team-{index % NAMESPACES}"
        resources = [RESOURCES[index % len(RESOURCES)], RESOURCES[(index + 3) % len(RESOURCES)]]
        objects.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                        "metadata": {"name": f"role-{index}", "namespace": namespace},
                        "rules": [{"apiGroups": ["", "apps", "batch"], "resources": resources, "verbs": ["get", "list", "watch"]},
                                  {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": [f"cm-{index}"], "verbs": ["update"]}]})
    for index in range(BINDINGS):
        role_index = index % ROLES
        namespace = f"team-{role_index % NAMESPACES}"
        subjects = [{"kind": "User", "name": f"user-{index}", "apiGroup": "rbac.authorization.k8s.io"},
                    {"kind": "Group", "name": f"group-{index % 40}", "apiGroup": "rbac.authorization.k8s.io"},
                    {"kind": "ServiceAccount", "name": f"sa-{index}", "namespace": namespace}]
        objects.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                        "metadata": {"name": f"binding-{index}", "namespace": namespace},
                        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"role-{role_index}"},
                        "subjects": subjects})
    return objects


def defaults() -> list[dict[str, Any]]:
    """The default policy of a new sandbox (kube-apiserver's and kubeadm's), kind filled."""
    from labrunner.sandbox.bootstrap_policy import apiserver_defaults, kubeadm_objects

    return [{**obj, "kind": resource.kind} for resource, obj in apiserver_defaults() + kubeadm_objects()]


def brute_force(objects: list[dict[str, Any]], user: str, groups: tuple[str, ...], verb: str, resource: str, namespace: str) -> bool:
    """Every binding, every subject, roles found by scanning: no index."""
    from labrunner.topics.rbac.evaluate import rule_allows
    from labrunner.topics.rbac.model import Attributes
    from labrunner.topics.rbac.parse import parse_rule

    attributes = Attributes(verb=verb, resource=resource, namespace=namespace)
    for binding in objects:
        if binding["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        if binding["kind"] == "RoleBinding" and binding["metadata"]["namespace"] != namespace:
            continue
        named = any((s["kind"] == "User" and s["name"] == user) or (s["kind"] == "Group" and s["name"] in groups)
                    for s in binding.get("subjects") or ())
        if not named:
            continue
        ref = binding["roleRef"]
        for role in objects:
            if role["kind"] == ref["kind"] and role["metadata"]["name"] == ref["name"] and \
                    role["metadata"].get("namespace", "") == (binding["metadata"].get("namespace", "") if ref["kind"] == "Role" else ""):
                if any(rule_allows(parse_rule(rule, ""), attributes) for rule in role.get("rules") or ()):
                    return True
    return False


def per_call(function: Any, runs: int) -> float:
    start = time.perf_counter()
    for _ in range(runs):
        function()
    return (time.perf_counter() - start) / runs * 1000


def in_process(decisions: int) -> None:
    from labrunner.sandbox.authorization import Authorizer, User
    from labrunner.sandbox.requestinfo import request_info

    objects = defaults() + generated()

    class Listing:
        """A store stand-in holding the objects (the authorizer only lists)."""
        listeners: list[Any] = []

        def list(self, resource: Any) -> list[dict[str, Any]]:
            kind = {"roles": "Role", "clusterroles": "ClusterRole", "rolebindings": "RoleBinding",
                    "clusterrolebindings": "ClusterRoleBinding"}[resource.plural]
            return [obj for obj in objects if obj["kind"] == kind]

    authorizer = Authorizer(Listing())
    rebuild = []
    for _ in range(5):
        authorizer._policies = None
        start = time.perf_counter()
        authorizer.policies()
        rebuild.append((time.perf_counter() - start) * 1000)
    user = User("user-505", ("group-25", "system:authenticated"))
    allowed = request_info("GET", "/api/v1/namespaces/team-5/pods", {})
    denied = request_info("DELETE", "/api/v1/namespaces/team-5/pods/web", {})
    assert authorizer.decide(user, allowed).allowed and not authorizer.decide(user, denied).allowed
    print(f"policy: {len(defaults())} default objects + {ROLES} Roles + {BINDINGS} RoleBindings "
          f"(each binding: a user, a group shared by 25 bindings, a service account)")
    print(f"re-reading the policy after an RBAC write: {statistics.median(rebuild):.1f} ms (median of 5)")
    print(f"{'decision':<44} {'sandbox':>10} {'brute force':>12}")
    for label, info, verb, resource in (("allowed (list pods in team-5)", allowed, "list", "pods"),
                                        ("denied (delete a pod in team-5)", denied, "delete", "pods")):
        ours = per_call(lambda: authorizer.decide(user, info), decisions)
        theirs = per_call(lambda: brute_force(objects, user.name, user.groups, verb, resource, "team-5"), max(decisions // 100, 5))
        print(f"{label:<44} {ours:>8.4f}ms {theirs:>10.3f}ms")


def on_sandbox(runs: int) -> None:
    from labrunner.sandbox.control import start, stop
    from labrunner.sandbox.files import SandboxFiles
    from tests.identities import certificate_kubeconfig

    with tempfile.TemporaryDirectory() as folder:
        files = SandboxFiles(Path(folder) / "sandbox")
        start(files)
        environment = {**os.environ, "KUBECONFIG": str(files.kubeconfig), "HOME": folder}
        try:
            def kubectl(*argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
                return subprocess.run(["kubectl", *argv], input=stdin, capture_output=True, text=True, env=environment, check=True)

            def timed(*argv: str) -> float:
                kubectl(*argv)  # warm discovery cache
                samples = []
                for _ in range(runs):
                    begun = time.perf_counter()
                    kubectl(*argv)
                    samples.append((time.perf_counter() - begun) * 1000)
                return statistics.median(samples)

            jane = str(certificate_kubeconfig(files, Path(folder) / "jane", "user-505", ("group-25",)))
            for index in range(NAMESPACES):
                kubectl("create", "namespace", f"team-{index}")
            before_admin = timed("get", "pods", "-n", "team-5")
            kubectl("apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": generated()}))
            admin = timed("get", "pods", "-n", "team-5")
            as_jane = timed("--kubeconfig", jane, "get", "pods", "-n", "team-5")
            print(f"kubectl get pods -n team-5, median of {runs}: admin before the 1,500 objects {before_admin:.1f} ms; "
                  f"after: admin {admin:.1f} ms, certificate user allowed by a RoleBinding {as_jane:.1f} ms "
                  f"({as_jane / before_admin:.2f}x)")
        finally:
            stop(files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--no-sandbox", action="store_true")
    arguments = parser.parse_args()
    in_process(arguments.decisions)
    if not arguments.no_sandbox:
        on_sandbox(arguments.runs)


if __name__ == "__main__":
    main()
