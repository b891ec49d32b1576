"""The objects each check kind needs to exist (``CheckKind.expects``, or derived from its
arguments by the registry): what the runner's near-miss search looks for when a check fails.

Every shipped kind is listed, so a new kind's derivation is looked at once: a wrong one would
lead a failing check with a near miss of an object it never asked for."""

from __future__ import annotations

from pathlib import Path

import pytest

from labrunner.exam.bank import load_task
from labrunner.lab.loader import load_lab
from labrunner.lab.model import Check, SourceLocation
from labrunner.registry import NAMED_BY_FIELD, Expected, registry
from tests.conftest import REPO

N, NS, OTHER = "the-name", "the-ns", "other-ns"

EXPECTED: dict[str, tuple[Expected, ...]] = {
    "cluster-reachable": (),
    "nodes-ready": (),
    "command-available": (),
    "can-i": (),  # its name is of its resource, which need not exist
    "namespace-active": (("namespaces", N, None),),
    "namespace-absent": (),  # declared: it checks an absence
    "namespace-labels": (("namespaces", N, None),),
    "deployment-ready": (("deployments", N, NS),),
    "daemonset-ready": (("daemonsets", N, NS),),
    "service-exposes": (("services", N, NS),),
    "resource-absent": (),
    "sql-rows": (),
    "probe-http": (),
    "probe-dns": (),  # its name is a DNS name, and it watches by its arguments
    "shell": (),
    "cni-enforces-policy": (),
    "policy-meaning": (),
    "policy-lint": (),
    "access": (),  # its name is of its resource
    "rbac-grants": (),
    "kubeconfig-user": (),
    "pods-placed": (),
    "node-state": (),  # a node a step may delete: no near miss of a similar node
    "quota-limits": (),
    "limit-range": (),
    "disruption-budget": (),
    "priority-class": (("priorityclasses", N, None),),  # cluster-scoped: its namespace is the pods'
    "service-backends": (("services", N, NS),),
    "service-endpoints": (("services", "the-service", NS),),
    "dns-record": (("services", "the-service", OTHER),),  # service_namespace
    "coredns-alias": (("configmaps", "the-configmap", OTHER),),  # configmap_namespace
    "ingress-routes": (),
    "gateway-class": (("gatewayclasses", N, None),),
    "gateway-programmed": (("gateways", N, NS),),
    "httproute-routes": (),
    "claim-bound": (("persistentvolumeclaims", N, NS),),
    "claim-waits": (("persistentvolumeclaims", N, NS),),
    "volume-state": (("persistentvolumes", N, None),),
    "default-class": (("storageclasses", N, None),),
    "objects-kept": (),
    "env-from-config": (("deployments", "the-deployment", NS), ("configmaps", "the-configmap", NS)),
    "service-routes": (("services", "the-service", NS), ("deployments", "the-deployment", NS)),
    "corefile-serves": (("configmaps", "the-configmap", NS),),
    "logs-saved": (),
    "top-pod-saved": (),
    "metrics-served": (),
    "deployment-rollout": (("deployments", N, NS),),
    "rollout-stuck": (("deployments", N, NS),),
    "config-consumed": (("deployments", "the-deployment", NS), ("configmaps", "the-configmap", NS), ("secrets", "the-secret", NS)),
    "env-matches-configmap": (("deployments", "the-deployment", NS), ("configmaps", "the-configmap", NS)),
    "container-resources": (("deployments", "the-deployment", NS),),
    "probes-configured": (("deployments", "the-deployment", NS),),
    "native-sidecar": (("deployments", "the-deployment", NS),),
    "job-complete": (("jobs", N, NS),),
    "cronjob-ran": (("cronjobs", N, NS),),
    "hpa-scales": (("deployments", "the-deployment", NS),),
}


def declared(kind: str, **args: object) -> Check:
    return Check(kind=kind, id="c", says="s", advisory=False, args=args, location=SourceLocation(path=Path("lab.yaml"), line=1, column=1))


def with_every_name(kind: str) -> Check:
    """The kind with each argument the derivation reads set (unvalidated, as a hand-built check)."""
    fields = registry().kind(kind).model.model_fields  # type: ignore[union-attr]
    values = {"name": N, "namespace": NS, "resource": "pods"}
    args = {name: values.get(name) or (f"the-{name}" if name in NAMED_BY_FIELD else OTHER) for name in fields
            if name in values or name in NAMED_BY_FIELD or name.endswith("_namespace")}
    return declared(kind, **args)


def test_every_shipped_kind_is_listed() -> None:
    assert set(registry().kind_names) == set(EXPECTED)


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_what_each_kind_expects_to_exist(kind: str) -> None:
    assert registry().expected(with_every_name(kind)) == EXPECTED[kind]


def test_a_name_a_field_does_not_give_is_not_guessed() -> None:
    kinds = registry()
    assert kinds.expected(declared("deployment-ready", namespace=["kube-system", "calico-system"], name="calico-kube-controllers")) == ()
    assert kinds.expected(declared("config-consumed", namespace=NS, deployment="web")) == (("deployments", "web", NS),)
    assert kinds.expected(declared("volume-state", name="pv-1", claim=f"{NS}/data")) == (("persistentvolumes", "pv-1", None),)
    assert kinds.expected(declared("no-such-kind", name="x")) == ()


def every_shipped_check() -> list[Check]:
    checks = [check for lab in sorted((REPO / "labs").iterdir()) if (lab / "lab.yaml").is_file()
              for step in load_lab(lab).steps for check in step.checks]
    checks += [check for task in sorted((REPO / "exams").iterdir()) if (task / "lab.yaml").is_file()
               for step in load_task(task).steps for check in step.checks]
    return checks


def test_shipped_checks_expect_registered_resources_by_their_own_names() -> None:
    kinds = registry()
    checks = every_shipped_check()
    assert len(checks) > 100
    for check in checks:
        for plural, name, namespace in kinds.expected(check):
            resource = kinds.resource(plural)
            assert name in check.args.values(), (check.id, plural, name)
            assert (namespace is None) == (not resource.namespaced), (check.id, plural, namespace)
