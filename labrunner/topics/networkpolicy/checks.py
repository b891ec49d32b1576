"""The NetworkPolicy topic's check kinds: a CNI that enforces policies, policies that
mean what the step asks (compared by the engine, never as text), and the learner's
own policy file free of the classic mistakes."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field

from labrunner.cluster.port import ClusterPort
from labrunner.lab.check_args import CheckArgs
from labrunner.lab.fields import AssetPath, KubeName, NonEmptyStr
from labrunner.registry.types import CheckContext, CheckKind, Outcome

ENFORCING_DAEMONSETS = {"calico-node": ("Calico", True), "cilium": ("Cilium", True), "weave-net": ("Weave Net", True),
                        "kube-router": ("kube-router", True), "antrea-agent": ("Antrea", True),
                        "kindnet": ("kindnet", False), "kube-flannel-ds": ("flannel", False)}
"""Network plugins by the DaemonSet they run, and whether they enforce NetworkPolicies."""


class CniEnforcesPolicy(CheckArgs):
    """The cluster runs a CNI that enforces NetworkPolicy; names the CNI found."""

    kind: Literal["cni-enforces-policy"]


class PolicyMeaning(CheckArgs):
    """The NetworkPolicies in ``namespace`` mean the same as the reference set: the
    same connections allowed and denied over every pod the cluster has plus
    synthetic pods for every label either set mentions. ``also_accept`` lists
    other policy sets that count as correct (e.g. the classic DNS policy)."""

    kind: Literal["policy-meaning"]
    namespace: KubeName
    policies: list[KubeName] = Field(default_factory=list)
    """Compare only these policies of the namespace (by name); empty: all of them."""
    reference: list[AssetPath] = Field(min_length=1)
    also_accept: list[list[AssetPath]] = Field(default_factory=list)


class PolicyLint(CheckArgs):
    """The learner's own NetworkPolicy file has none of the mistakes labrunner's
    linter knows (mis-indented rules, selectors matching nothing, egress without
    DNS, ...). ``file`` is where the lab tells the learner to write it, relative to
    the directory they run labrunner from. Pending while the file does not exist."""

    kind: Literal["policy-lint"]
    file: NonEmptyStr


def cni_enforces_policy(args: CniEnforcesPolicy, context: CheckContext) -> Outcome:
    cluster = context.cluster
    found = []
    for namespace in ("kube-system", "calico-system", "kube-flannel"):
        for daemon_set in cluster.list("daemonsets", namespace):
            name = daemon_set["metadata"]["name"]
            if name in ENFORCING_DAEMONSETS:
                found.append(ENFORCING_DAEMONSETS[name])
    enforcing = [name for name, enforces in found if enforces]
    if enforcing:
        return "passed", f"{enforcing[0]} is installed: NetworkPolicies are enforced", []
    if _is_k3s(cluster):
        # k3s runs kube-router's policy controller inside its own server process: no DaemonSet to find.
        return "passed", ("k3s's built-in policy controller enforces NetworkPolicies "
                          "(unless k3s was started with --disable-network-policy)"), []
    if found:
        return "failed", f"{found[0][0]} is installed, and it ignores NetworkPolicies", [
            "install a network plugin that enforces them, such as Calico, beside or instead of it"]
    return "failed", "no NetworkPolicy-enforcing network plugin found (looked for Calico, Cilium, Weave, kube-router, Antrea, k3s)", []


def _is_k3s(cluster: ClusterPort) -> bool:
    return any("k3s" in ((node.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion", "") for node in cluster.list("nodes"))


def policy_meaning(args: PolicyMeaning, context: CheckContext) -> Outcome:
    from labrunner.topics.networkpolicy.diff import diff
    from labrunner.topics.networkpolicy.model import Cluster
    from labrunner.topics.networkpolicy.parse import cluster_from_objects, policy_from_object

    cluster, namespace = context.cluster, args.namespace
    names = set(args.policies)
    theirs_objects = [p for p in cluster.list("networkpolicies", namespace) if not names or p["metadata"]["name"] in names]
    world = cluster_from_objects([*cluster.list("namespaces"), *[p for p in cluster.list("pods") if (p.get("status") or {}).get("podIP")]])
    world = Cluster(namespaces=world.namespaces, pods=world.pods, policies=())

    def load(paths: Any) -> tuple[Any, ...]:
        policies = []
        for path in paths:
            for document in yaml.safe_load_all(Path(path).read_text(encoding="utf-8")):
                if document and document.get("kind") == "NetworkPolicy":
                    document.setdefault("metadata", {}).setdefault("namespace", namespace)
                    policies.append(policy_from_object(document))
        return tuple(policies)

    mine = tuple(policy_from_object(p) for p in theirs_objects)
    references = [load(args.reference), *(load(option) for option in args.also_accept)]
    results = [diff(world, mine, reference) for reference in references]
    if any(result.same for result in results):
        listed = ", ".join(sorted(p["metadata"]["name"] for p in theirs_objects)) or "no policies"
        return "passed", f"your policies in {namespace} ({listed}) mean what this step asks", []
    mine_names = {p["metadata"]["name"] for p in theirs_objects}
    misplaced = sorted({(p["metadata"]["name"], p["metadata"].get("namespace", "")) for p in cluster.list("networkpolicies")
                        if p["metadata"].get("namespace") != namespace and p["metadata"]["name"] not in mine_names
                        and p["metadata"]["name"] in {policy.name for policy in references[0]}})
    evidence_of = results.index(min(results, key=lambda result: len(result.differences)))
    evidence = results[evidence_of].summary(limit=3, focus=namespace)
    for name in args.policies:
        if name not in mine_names and (near := context.near_object("networkpolicies", name, namespace)):
            return "failed", near, evidence
    if misplaced:
        where = ", ".join(f"{name} is in {elsewhere}" for name, elsewhere in misplaced)
        return "failed", (f"{where}, not {namespace}: a NetworkPolicy only selects pods in its own namespace "
                          f"(apply it with -n {namespace})"), evidence
    from labrunner.topics.networkpolicy.diagnosis import diagnose

    said = diagnose(cluster, namespace, world, theirs_objects, mine, references[evidence_of])
    if not said:
        return "failed", f"your policies in {namespace} do not mean what this step asks: {evidence[0]}", evidence[1:]
    return "failed", said[0], [*said[1:], *evidence]


def policy_lint(args: PolicyLint, context: CheckContext) -> Outcome:
    from labrunner.topics.networkpolicy.files import InputError, read_objects
    from labrunner.topics.networkpolicy.lint import lint

    path = Path(args.file).expanduser()
    shown = args.file
    if not path.is_absolute():
        path = Path.cwd() / path
    if not path.is_file():
        return "pending", f"{shown} is not in {path.parent} yet: write it (or copy it) there first", []
    try:
        findings = lint(read_objects([path]))
    except InputError as failure:
        return "failed", f"{shown} cannot be read: line {failure.line}: {failure.message}", []
    errors_found = [f for f in findings if f.severity == "error"]
    lines = [f"line {f.line}: {f.severity}: {f.message} (fix: {f.fix})" for f in (errors_found or findings)]
    if errors_found:
        return "failed", f"{shown} has {len(errors_found)} mistake{'s' if len(errors_found) != 1 else ''}: {errors_found[0].message}", lines
    return "passed", f"{shown} has no mistakes the linter knows" + (f" ({len(findings)} remark{'s' if len(findings) != 1 else ''})" if findings else ""), lines


KINDS = (
    CheckKind(model=CniEnforcesPolicy, run=cni_enforces_policy, watches=("daemonsets", "nodes"), prerequisite=True),
    CheckKind(model=PolicyMeaning, run=policy_meaning, watches=("networkpolicies", "pods", "namespaces"), views=("reach",)),
    CheckKind(model=PolicyLint, run=policy_lint, polled=True, views=("lint",)),
)
