"""The NetworkPolicy topic: labrunner's own NetworkPolicy engine and everything built on it.

The engine is pure Python, objects in, verdicts with reasons out, and knows nothing
of clusters or UI: :mod:`.parse` turns API objects into the model, :mod:`.evaluate`
decides one connection and explains it, :mod:`.matrix` computes full connectivity by
groups of alike pods, :mod:`.diff` compares the meaning of two policy sets,
:mod:`.lint` finds the classic mistakes in YAML, :mod:`.files` reads manifests with
their places. On top of it: the check kinds (:mod:`.checks`), why a probe's
connection went as it did (:mod:`.explain`), ``labrunner doctor --prove-policy``
(:mod:`.proof`), ``labrunner netpol`` (:mod:`.cli`), the TUI's reach grid and lint
view (:mod:`.tui`, Textual) and the sandbox's data plane (:mod:`.dataplane`).
"""

from __future__ import annotations

from labrunner.registry.types import Proof, ProofStage, Requirement, Resource, Topic, View
from labrunner.topics.networkpolicy import explain

TOPIC = Topic(
    name="networkpolicy",
    kinds="labrunner.topics.networkpolicy.checks:KINDS",
    resources=(Resource(plural="networkpolicies", kind="NetworkPolicy", group="networking.k8s.io"),),
    requirements=(
        Requirement(id="netpol-cni", text="a CNI that enforces NetworkPolicy (Calico, Cilium, ...)", lab_provides=True,
                    check={"kind": "cni-enforces-policy", "says": "a network plugin enforces NetworkPolicies"}),
    ),
    views=(
        View(id="reach", key="w", label="Who can reach whom",
             description="the pods of the namespace, allowed and denied, explained",
             screen="labrunner.topics.networkpolicy.tui.views:reach",
             also_with=frozenset({"probe-http", "probe-dns", "resource-absent"})),
        View(id="lint", key="l", label="Lint my file",
             description="your policy file with each mistake beside its line",
             screen="labrunner.topics.networkpolicy.tui.views:lint"),
    ),
    explainers=(explain.engine_says,),
    commands="labrunner.topics.networkpolicy.cli:add_commands",
    proofs=(Proof(id="policy", title="NetworkPolicy enforcement", report_key="network_policy",
                  help="prove the cluster enforces NetworkPolicies: in a throwaway namespace, "
                       "a deny-all policy must stop busybox reaching nginx",
                  stages=(ProofStage(name="plugin", doing="looking for the network plugin",
                                     run="labrunner.topics.networkpolicy.proof:find_plugin"),
                          ProofStage(name="proof", doing="proving it (about half a minute)",
                                     run="labrunner.topics.networkpolicy.proof:prove_policy_enforcement"))),),
    dataplane="labrunner.topics.networkpolicy.dataplane:POLICY_FILTER",
    connection_resources=("networkpolicies", "daemonsets"),
)
