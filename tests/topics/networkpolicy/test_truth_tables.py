"""Truth tables for the NetworkPolicy engine, in the upstream e2e suite's world.

Every expected table is written from the Kubernetes documentation
(concepts/services-networking/network-policies, "NetworkPolicy" in the API
reference, and concepts/overview/working-with-objects/labels), never from the
engine's output; the rule each scenario rests on is quoted above it.

The world (see :mod:`tests.topics.networkpolicy.world`): namespaces x, y, z; pods a, b, c in
each; ports 80/81 on TCP and UDP and SCTP 80, named ``serve-<port>-<proto>``;
pod IPs x 10.0.1.0/24, y 10.0.2.0/24, z 10.0.3.0/24; externals 192.0.2.10 (E1)
and 2001:db8::10 (E2) unless a scenario says otherwise.
"""

from __future__ import annotations

from typing import Any

from labrunner.topics.networkpolicy.evaluate import evaluate, resolve_endpoint
from labrunner.topics.networkpolicy.parse import cluster_from_objects
from tests.topics.networkpolicy.world import (
    EXT4,
    EXT4_OTHER,
    EXT6,
    NAMESPACE_CIDR,
    NAMESPACES,
    Reachability,
    assert_table,
    deny_all,
    egress_rule,
    expr,
    ingress_rule,
    ipblock,
    name_sel,
    netpol,
    peer,
    pod_ip,
    port,
    sel,
    world,
)

# -- shorthands for the common shape "a policy on x/a" -------------------------------


def ingress_to_xa(*rules: dict[str, Any], name: str = "ingress-to-xa") -> dict[str, Any]:
    """A policy in x selecting pod a, isolating ingress, with ``rules``."""
    return netpol(name, "x", pods=sel(pod="a"), types=["Ingress"], ingress=rules)


def egress_from_xa(*rules: dict[str, Any], name: str = "egress-from-xa") -> dict[str, Any]:
    """A policy in x selecting pod a, isolating egress, with ``rules``."""
    return netpol(name, "x", pods=sel(pod="a"), types=["Egress"], egress=rules)


def only_into_xa(*sources: str, **kwargs: Any) -> Reachability:
    """Everything allowed except ingress to x/a, which only ``sources`` reach."""
    table = Reachability(**kwargs).expect_all_ingress("x/a", False)
    for source in sources:
        table.expect(source, "x/a", True)
    return table


def only_out_of_xa(*destinations: str, **kwargs: Any) -> Reachability:
    """Everything allowed except egress from x/a, which only reaches ``destinations``."""
    table = Reachability(**kwargs).expect_all_egress("x/a", False)
    for destination in destinations:
        table.expect("x/a", destination, True)
    return table


def deny_everything() -> list[dict[str, Any]]:
    return [deny_all(ns, "Ingress", "Egress") for ns in NAMESPACES]


# == Isolation and the default policies ===============================================


# "By default, a pod is non-isolated for egress; all outbound connections are
# allowed." / "By default, a pod is non-isolated for ingress; all inbound
# connections are allowed."
def test_no_policies_allows_everything() -> None:
    cluster = world()
    for protocol, number in (("TCP", 80), ("TCP", 81), ("UDP", 80), ("UDP", 81), ("SCTP", 80)):
        assert_table(cluster, Reachability(), protocol, number)


# "Default deny all ingress traffic": podSelector {} + policyTypes [Ingress]
# "ensures that even pods that aren't selected by any other NetworkPolicy will
# still be isolated for ingress. This policy does not affect isolation for egress
# from any pod."
def test_deny_all_ingress_in_one_namespace() -> None:
    cluster = world(deny_all("x", "Ingress"))
    table = Reachability().expect_all_ingress("x/*", False)
    assert_table(cluster, table)
    assert_table(cluster, table, "UDP", 81)


# "Default deny all egress traffic": podSelector {} + policyTypes [Egress]
# "This policy does not change the ingress isolation behavior of any pod."
def test_deny_all_egress_in_one_namespace() -> None:
    cluster = world(deny_all("x", "Egress"))
    assert_table(cluster, Reachability().expect_all_egress("x/*", False))


# "Default deny all ingress and all egress traffic": policyTypes [Ingress, Egress].
def test_deny_all_ingress_and_egress_in_one_namespace() -> None:
    cluster = world(deny_all("x", "Ingress", "Egress"))
    table = Reachability().expect_all_ingress("x/*", False).expect_all_egress("x/*", False)
    assert_table(cluster, table)


# The entities a pod can communicate with: "Other pods that are allowed
# (exception: a pod cannot block access to itself)".
def test_a_pod_never_blocks_itself_even_under_deny_all_everywhere() -> None:
    cluster = world(*deny_everything())
    table = Reachability(default=False)  # the diagonal stays allowed
    assert_table(cluster, table)
    assert_table(cluster, table, "SCTP", 80)
    verdict = evaluate(cluster, resolve_endpoint(cluster, "y/b"), resolve_endpoint(cluster, "y/b"), "TCP", 80)
    assert verdict.allowed


# spec.podSelector: "selects the pods to which this NetworkPolicy object applies";
# a pod that no policy selects stays non-isolated, whatever the policy says.
def test_a_policy_selecting_no_pods_changes_nothing() -> None:
    cluster = world(netpol("deny-nobody", "x", pods=sel(pod="nobody"), types=["Ingress", "Egress"]))
    assert_table(cluster, Reachability())


# spec.podSelector: "An empty podSelector selects all pods in this namespace" --
# a policy only ever selects pods of its own namespace: pod=a in x leaves y/a
# and z/a alone.
def test_a_policy_does_not_affect_other_namespaces_pods() -> None:
    cluster = world(netpol("deny-a", "x", pods=sel(pod="a"), types=["Ingress", "Egress"]))
    table = Reachability().expect_all_ingress("x/a", False).expect_all_egress("x/a", False)
    assert_table(cluster, table)


# == ingress: [] vs absent vs [{}] ====================================================


# NetworkPolicySpec.ingress: "If this field is empty then this NetworkPolicy does
# not allow any traffic (and serves solely to ensure that the pods it selects are
# isolated by default)". No policyTypes: "Ingress will always be set".
def test_empty_ingress_list_isolates_and_allows_nothing() -> None:
    cluster = world(netpol("empty-ingress", "x", pods=sel(pod="a"), ingress=[]))
    assert_table(cluster, only_into_xa())


# Ingress absent and no policyTypes: "by default Ingress will always be set", so
# the bare policy is a deny-ingress; egress is untouched (no egress rules).
def test_absent_ingress_without_policy_types_still_isolates_ingress() -> None:
    cluster = world(netpol("bare", "x", pods=sel(pod="a")))
    assert_table(cluster, only_into_xa())


# "Allow all ingress traffic": ingress: [{}] -- an ingress rule whose from "is
# empty or missing ... matches all sources" and whose ports "is empty or missing
# ... matches all ports".
def test_ingress_with_one_empty_rule_allows_everything() -> None:
    cluster = world(netpol("allow-all-ingress", "x", types=["Ingress"], ingress=[{}]))
    assert_table(cluster, Reachability())
    assert_table(cluster, Reachability(), "UDP", 81)


# NetworkPolicyIngressRule.from: "If this field is empty or missing, this rule
# matches all sources" -- an explicitly empty from list included.
def test_ingress_rule_with_empty_from_list_matches_all_sources() -> None:
    cluster = world(ingress_to_xa({"from": [], "ports": []}))
    assert_table(cluster, Reachability())


# "Allow all egress traffic": egress: [{}] with policyTypes [Egress].
def test_egress_with_one_empty_rule_allows_everything() -> None:
    cluster = world(netpol("allow-all-egress", "x", types=["Egress"], egress=[{}]))
    assert_table(cluster, Reachability())


# Additive: "If any policy or policies apply to a given pod for a given direction,
# the connections allowed in that direction from that pod is the union of what
# the applicable policies allow." Allow-all next to deny-all allows all.
def test_allow_all_next_to_deny_all_allows_everything() -> None:
    cluster = world(deny_all("x", "Ingress"), netpol("allow-all-ingress", "x", types=["Ingress"], ingress=[{}]))
    assert_table(cluster, Reachability())


# == policyTypes defaulting ===========================================================


# "If no policyTypes are specified on a NetworkPolicy then by default Ingress will
# always be set and Egress will be set if the NetworkPolicy has any egress rules."
def test_no_policy_types_with_egress_rules_isolates_both_directions() -> None:
    policy = netpol("egress-to-y", "x", pods=sel(pod="a"), egress=[egress_rule(peer(namespaces=sel(ns="y")))])
    table = only_out_of_xa("y/*").expect_all_ingress("x/a", False)
    assert_table(world(policy), table)


# Same rule: `egress: []` is not "any egress rules", so Egress is not set; Ingress
# still is (and there are no ingress rules).
def test_no_policy_types_with_empty_egress_list_does_not_isolate_egress() -> None:
    policy = netpol("empty-egress", "x", pods=sel(pod="a"), egress=[])
    assert_table(world(policy), only_into_xa())


# "A pod is isolated for ingress if there is any NetworkPolicy that both selects
# the pod and has "Ingress" in its policyTypes" -- [Egress] alone leaves ingress open.
def test_policy_types_egress_only_leaves_ingress_alone() -> None:
    policy = netpol("deny-egress-a", "x", pods=sel(pod="a"), types=["Egress"])
    assert_table(world(policy), only_out_of_xa())


# Same rule: ingress rules in a policy whose policyTypes is [Egress] isolate
# nothing and so restrict nothing; only the egress side applies.
def test_ingress_rules_are_ignored_when_policy_types_is_egress_only() -> None:
    policy = netpol(
        "egress-only",
        "x",
        pods=sel(pod="a"),
        types=["Egress"],
        ingress=[ingress_rule(peer(pods=sel(pod="b")))],
        egress=[egress_rule(peer(namespaces=sel(ns="y")))],
    )
    assert_table(world(policy), only_out_of_xa("y/*"))


# "A pod is isolated for egress if there is any NetworkPolicy that both selects
# the pod and has "Egress" in its policyTypes" -- egress rules under [Ingress] do
# not isolate egress.
def test_egress_rules_are_ignored_when_policy_types_is_ingress_only() -> None:
    policy = netpol(
        "ingress-only", "x", pods=sel(pod="a"), types=["Ingress"], egress=[egress_rule(peer(namespaces=sel(ns="y")))]
    )
    assert_table(world(policy), only_into_xa())


# == Peers: podSelector, namespaceSelector, AND vs OR ================================


# "podSelector: This selects particular Pods in the same namespace as the
# NetworkPolicy which should be allowed as ingress sources or egress destinations."
def test_pod_selector_peer_means_the_policys_namespace_only() -> None:
    cluster = world(ingress_to_xa(ingress_rule(peer(pods=sel(pod="b")))))
    assert_table(cluster, only_into_xa("x/b"))


# NetworkPolicyPeer.podSelector: "if present but empty, it selects all pods ...
# Otherwise it selects the pods matching podSelector in the policy's own namespace."
def test_empty_pod_selector_peer_means_every_pod_of_the_policys_namespace() -> None:
    cluster = world(ingress_to_xa(ingress_rule(peer(pods=sel()))))
    assert_table(cluster, only_into_xa("x/*"))


# "namespaceSelector: This selects particular namespaces for which all Pods should
# be allowed as ingress sources or egress destinations."
def test_namespace_selector_peer_alone_admits_every_pod_of_those_namespaces() -> None:
    cluster = world(ingress_to_xa(ingress_rule(peer(namespaces=sel(ns="y")))))
    assert_table(cluster, only_into_xa("y/*"))


# "Behavior of to and from selectors": one from element with namespaceSelector and
# podSelector "allows connections from Pods with the label role=client in
# namespaces with the label user=alice" (AND).
def test_pod_and_namespace_selector_in_one_peer_are_anded() -> None:
    cluster = world(ingress_to_xa(ingress_rule(peer(pods=sel(pod="b"), namespaces=sel(ns="y")))))
    assert_table(cluster, only_into_xa("y/b"))


# Same section: two elements in the from array allow "from Pods in the local
# Namespace with the label role=client, or from any Pod in any namespace with the
# label user=alice" (OR).
def test_pod_and_namespace_selector_in_two_peers_are_ored() -> None:
    cluster = world(ingress_to_xa(ingress_rule(peer(namespaces=sel(ns="y")), peer(pods=sel(pod="b")))))
    assert_table(cluster, only_into_xa("y/*", "x/b"))


# NetworkPolicyPeer.namespaceSelector: "if present but empty, it selects all
# namespaces. If podSelector is also set, then the NetworkPolicyPeer as a whole
# selects the pods matching podSelector in the namespaces selected".
def test_empty_namespace_selector_with_pod_selector_matches_in_every_namespace() -> None:
    cluster = world(ingress_to_xa(ingress_rule(peer(pods=sel(pod="b"), namespaces=sel()))))
    assert_table(cluster, only_into_xa("*/b"))


# Same field: "Otherwise it selects all pods in the namespaces selected" -- every
# pod of the cluster, but selectors select pods: an external address is no pod.
def test_empty_namespace_selector_alone_admits_every_pod_but_no_external() -> None:
    cluster = world(ingress_to_xa(ingress_rule(peer(namespaces=sel()))))
    assert_table(cluster, only_into_xa("*/*"))


# The AND of one peer applies to "to" as well ("Behavior of to and from selectors").
def test_egress_peer_with_pod_and_namespace_selector() -> None:
    cluster = world(egress_from_xa(egress_rule(peer(pods=sel(pod="b"), namespaces=sel(ns="y")))))
    assert_table(cluster, only_out_of_xa("y/b"))


# Egress podSelector alone: "particular Pods in the same namespace as the
# NetworkPolicy which should be allowed as ... egress destinations".
def test_egress_pod_selector_peer_means_the_policys_namespace_only() -> None:
    cluster = world(egress_from_xa(egress_rule(peer(pods=sel(pod="b")))))
    assert_table(cluster, only_out_of_xa("x/b"))


# == Label selector operators ==========================================================

# Extra labels for these scenarios: only the b pods carry a tier.
TIERS = {"x/b": {"tier": "web"}, "y/b": {"tier": "db"}, "z/b": {"tier": "cache"}}


def tiers_world(*peers: dict[str, Any]) -> Any:
    return world(ingress_to_xa(ingress_rule(*peers)), pod_labels=TIERS)


# Labels and selectors, set-based: "environment in (production, qa)" selects
# resources whose key has one of the values.
def test_match_expressions_in() -> None:
    cluster = tiers_world(peer(pods=sel(expr("tier", "In", "web", "db")), namespaces=sel()))
    assert_table(cluster, only_into_xa("x/b", "y/b"))


# "tier notin (frontend,backend)" selects "all resources with key equal to tier
# and values other than frontend and backend, and all resources with no labels
# with the tier key."
def test_match_expressions_not_in_also_matches_pods_lacking_the_key() -> None:
    cluster = tiers_world(peer(pods=sel(expr("tier", "NotIn", "web")), namespaces=sel()))
    table = only_into_xa("*/*").expect("x/b", "x/a", False)
    assert_table(cluster, table)


# "partition" (Exists) "selects all resources including a label with key
# partition; no values are checked."
def test_match_expressions_exists() -> None:
    cluster = tiers_world(peer(pods=sel(expr("tier", "Exists")), namespaces=sel()))
    assert_table(cluster, only_into_xa("*/b"))


# "!partition" (DoesNotExist) "selects all resources without a label with key
# partition".
def test_match_expressions_does_not_exist() -> None:
    cluster = tiers_world(peer(pods=sel(expr("tier", "DoesNotExist")), namespaces=sel()))
    assert_table(cluster, only_into_xa("*/a", "*/c"))


# LabelSelector: "The requirements are ANDed" -- matchLabels and matchExpressions.
def test_match_labels_and_match_expressions_are_anded() -> None:
    cluster = tiers_world(peer(pods=sel(expr("tier", "NotIn", "db"), pod="b"), namespaces=sel()))
    assert_table(cluster, only_into_xa("x/b", "z/b"))


# NotIn on a namespace selector (namespaces are labelled ns=<name>).
def test_namespace_selector_not_in() -> None:
    cluster = world(ingress_to_xa(ingress_rule(peer(namespaces=sel(expr("ns", "NotIn", "y"))))))
    assert_table(cluster, only_into_xa("x/*", "z/*"))


# "Targeting a Namespace by its name": "The Kubernetes control plane sets an
# immutable label kubernetes.io/metadata.name on all namespaces, the value of the
# label is the namespace name."
def test_namespace_selected_by_its_automatic_name_label() -> None:
    cluster = world(ingress_to_xa(ingress_rule(peer(namespaces=name_sel("z")))))
    assert_table(cluster, only_into_xa("z/*"))


# Same label with a set-based selector: several namespaces by name.
def test_namespaces_selected_by_name_with_in() -> None:
    selector = sel(expr("kubernetes.io/metadata.name", "In", "y", "z"))
    cluster = world(ingress_to_xa(ingress_rule(peer(pods=sel(pod="c"), namespaces=selector))))
    assert_table(cluster, only_into_xa("y/c", "z/c"))


# == Several policies ==================================================================


# "Network policies do not conflict; they are additive. ... the connections
# allowed in that direction from that pod is the union of what the applicable
# policies allow."
def test_policies_selecting_the_same_pod_are_additive() -> None:
    cluster = world(
        ingress_to_xa(ingress_rule(peer(pods=sel(pod="b"))), name="from-xb"),
        ingress_to_xa(ingress_rule(peer(namespaces=sel(ns="z"))), name="from-z"),
    )
    assert_table(cluster, only_into_xa("x/b", "z/*"))


# Same rule: a default deny plus a narrower allow -- the allow is added, the
# other pods of the namespace stay isolated.
def test_deny_all_plus_a_narrow_allow() -> None:
    cluster = world(deny_all("x", "Ingress"), ingress_to_xa(ingress_rule(peer(namespaces=sel(ns="y")))))
    table = Reachability().expect_all_ingress("x/*", False).expect("y/*", "x/a", True)
    assert_table(cluster, table)


# == Ports ===============================================================================


# NetworkPolicyPort.port: "If present, only traffic on the specified protocol AND
# port will be matched." A rule with ports and no from matches all sources.
def test_numeric_port_with_explicit_tcp() -> None:
    cluster = world(ingress_to_xa(ingress_rule(ports=[port(80, "TCP")])))
    assert_table(cluster, Reachability(), "TCP", 80)
    assert_table(cluster, only_into_xa(), "TCP", 81)


# NetworkPolicyPort.protocol: "If not specified, this field defaults to TCP."
def test_port_without_protocol_means_tcp_so_udp_is_denied() -> None:
    cluster = world(ingress_to_xa(ingress_rule(ports=[port(80)])))
    assert_table(cluster, Reachability(), "TCP", 80)
    assert_table(cluster, only_into_xa(), "UDP", 80)
    assert_table(cluster, only_into_xa(), "SCTP", 80)


# protocol "UDP": only UDP on that port.
def test_udp_only_port() -> None:
    cluster = world(ingress_to_xa(ingress_rule(ports=[port(81, "UDP")])))
    assert_table(cluster, Reachability(), "UDP", 81)
    assert_table(cluster, only_into_xa(), "UDP", 80)
    assert_table(cluster, only_into_xa(), "TCP", 81)


# "NetworkPolicy is defined for layer 4 connections (TCP, UDP, and optionally SCTP)";
# protocol "SCTP" matches SCTP only.
def test_sctp_port() -> None:
    cluster = world(ingress_to_xa(ingress_rule(ports=[port(80, "SCTP")])))
    assert_table(cluster, Reachability(), "SCTP", 80)
    assert_table(cluster, only_into_xa(), "TCP", 80)
    assert_table(cluster, only_into_xa(), "UDP", 80)


# NetworkPolicyPort.port: "If this field is not provided, this matches all port
# names and numbers" (of the given protocol).
def test_protocol_without_port_matches_every_port_of_that_protocol() -> None:
    cluster = world(ingress_to_xa(ingress_rule(ports=[port(protocol="UDP")])))
    assert_table(cluster, Reachability(), "UDP", 80)
    assert_table(cluster, Reachability(), "UDP", 81)
    assert_table(cluster, only_into_xa(), "TCP", 80)


# NetworkPolicyPort.port: "This can either be a numerical or named port on a pod."
def test_named_port() -> None:
    cluster = world(ingress_to_xa(ingress_rule(ports=[port("serve-81-tcp")])))
    assert_table(cluster, Reachability(), "TCP", 81)
    assert_table(cluster, only_into_xa(), "TCP", 80)


# A named port with its protocol: the pod's UDP port named serve-80-udp.
def test_named_udp_port() -> None:
    cluster = world(ingress_to_xa(ingress_rule(ports=[port("serve-80-udp", "UDP")])))
    assert_table(cluster, Reachability(), "UDP", 80)
    assert_table(cluster, only_into_xa(), "UDP", 81)
    assert_table(cluster, only_into_xa(), "TCP", 80)


# A named port is "a named port on a pod": a name the destination pod does not
# define is no port of it, so the rule matches nothing there.
def test_named_port_the_destination_lacks_matches_nothing() -> None:
    cluster = world(ingress_to_xa(ingress_rule(ports=[port("serve-8080-tcp")])))
    assert_table(cluster, only_into_xa(), "TCP", 80)
    assert_table(cluster, only_into_xa(), "TCP", 81)


# NetworkPolicyPort.endPort: "endPort indicates that the range of ports from port
# to endPort if set, inclusive, should be allowed by the policy."
def test_end_port_range_is_inclusive() -> None:
    cluster = world(ingress_to_xa(ingress_rule(ports=[port(80, "TCP", end=81)])))
    assert_table(cluster, Reachability(), "TCP", 80)
    assert_table(cluster, Reachability(), "TCP", 81)
    assert_table(cluster, only_into_xa(), "TCP", 82)
    assert_table(cluster, only_into_xa(), "TCP", 79)


# NetworkPolicyIngressRule.ports: "this rule allows traffic only if the traffic
# matches at least one port in the list."
def test_several_ports_in_one_rule_are_ored() -> None:
    cluster = world(ingress_to_xa(ingress_rule(ports=[port(80), port(81, "UDP")])))
    assert_table(cluster, Reachability(), "TCP", 80)
    assert_table(cluster, Reachability(), "UDP", 81)
    assert_table(cluster, only_into_xa(), "TCP", 81)
    assert_table(cluster, only_into_xa(), "UDP", 80)


# NetworkPolicyIngressRule.ports: "If this field is empty or missing, this rule
# matches all ports (traffic not restricted by port)."
def test_rule_with_peers_but_no_ports_matches_every_port() -> None:
    cluster = world(ingress_to_xa(ingress_rule(peer(pods=sel(pod="b")))))
    for protocol, number in (("TCP", 80), ("TCP", 81), ("UDP", 80), ("UDP", 81), ("SCTP", 80)):
        assert_table(cluster, only_into_xa("x/b"), protocol, number)


# NetworkPolicyIngressRule: "traffic is allowed ... if the traffic matches at
# least one ingress rule ... Each rule allows traffic which matches both the from
# and ports sections" (the example policy's wording) -- peers AND ports.
def test_peers_and_ports_of_one_rule_are_anded() -> None:
    cluster = world(ingress_to_xa(ingress_rule(peer(pods=sel(pod="b")), ports=[port(81)])))
    assert_table(cluster, only_into_xa("x/b"), "TCP", 81)
    assert_table(cluster, only_into_xa(), "TCP", 80)


# Rules are ORed, each with its own peers and ports.
def test_two_rules_each_with_its_own_ports() -> None:
    cluster = world(
        ingress_to_xa(
            ingress_rule(peer(pods=sel(pod="b")), ports=[port(80)]),
            ingress_rule(peer(namespaces=sel(ns="y")), ports=[port(81)]),
        )
    )
    assert_table(cluster, only_into_xa("x/b"), "TCP", 80)
    assert_table(cluster, only_into_xa("y/*"), "TCP", 81)


# NetworkPolicyEgressRule.ports / to: a rule with ports and no "to" matches all
# destinations on those ports -- pods and external addresses alike.
def test_egress_rule_with_ports_but_no_peers() -> None:
    cluster = world(egress_from_xa(egress_rule(ports=[port(81)])))
    assert_table(cluster, Reachability(), "TCP", 81)
    assert_table(cluster, only_out_of_xa(), "TCP", 80)


# A named port in an egress rule is a port of the destination pod (upstream e2e
# "should allow egress access on one named port"); an external address has no
# named ports, so it never matches there.
def test_named_port_in_egress_resolves_on_the_destination_and_never_matches_externals() -> None:
    cluster = world(egress_from_xa(egress_rule(ports=[port("serve-81-tcp")])))
    assert_table(cluster, only_out_of_xa("*/*"), "TCP", 81)
    assert_table(cluster, only_out_of_xa(), "TCP", 80)


# == ipBlock ===========================================================================


# "ipBlock: This selects particular IP CIDR ranges to allow as ingress sources or
# egress destinations. These should be cluster-external IPs".
def test_egress_to_an_ip_block_for_an_external_address() -> None:
    cluster = world(egress_from_xa(egress_rule(ipblock("192.0.2.0/24"))))
    table = only_out_of_xa(EXT4, externals=(EXT4, EXT4_OTHER, EXT6))
    assert_table(cluster, table)


# IPBlock.except: "a slice of CIDRs that should not be included within an IPBlock".
def test_ip_block_except_carves_out_addresses() -> None:
    cluster = world(egress_from_xa(egress_rule(ipblock("192.0.2.0/24", "192.0.2.0/28"))))
    table = only_out_of_xa("192.0.2.100", externals=(EXT4, "192.0.2.100"))
    assert_table(cluster, table)


# ipBlock against pod IPs: the docs call cluster-internal ipBlock traffic
# implementation-defined; the upstream conformance tests (e.g. "should allow egress
# access to server in CIDR block", a pod IP's /32) and Calico match pod IPs.
# Allowing ingress from y's /24 admits y's pods.
def test_ip_block_matches_pod_ips() -> None:
    cluster = world(ingress_to_xa(ingress_rule(ipblock(NAMESPACE_CIDR["y"]))))
    assert_table(cluster, only_into_xa("y/*"))


# Same, with except over pod IPs: 10.0.0.0/16 except y's /24 admits x's and z's pods.
def test_ip_block_except_over_pod_ips() -> None:
    cluster = world(ingress_to_xa(ingress_rule(ipblock("10.0.0.0/16", NAMESPACE_CIDR["y"]))))
    assert_table(cluster, only_into_xa("x/*", "z/*"))


# Upstream e2e "should enforce except clause while egress access to server in
# CIDR block": egress to y's /24 except y/b's /32.
def test_egress_ip_block_except_one_pod() -> None:
    cluster = world(egress_from_xa(egress_rule(ipblock(NAMESPACE_CIDR["y"], f"{pod_ip('y/b')}/32"))))
    assert_table(cluster, only_out_of_xa("y/a", "y/c"))


# IPBlock "describes a particular CIDR (Ex. "192.168.1.0/24","2001:db8::/64")":
# IPv6 blocks are allowed.
def test_ipv6_ip_block() -> None:
    cluster = world(egress_from_xa(egress_rule(ipblock("2001:db8::/64"))))
    assert_table(cluster, only_out_of_xa(EXT6))


# An IPv4 address is never inside an IPv6 CIDR, not even ::/0: no pod (all IPv4)
# and no IPv4 external is admitted.
def test_ipv6_ip_block_never_matches_ipv4_addresses() -> None:
    cluster = world(ingress_to_xa(ingress_rule(ipblock("::/0"))))
    assert_table(cluster, only_into_xa(EXT6))


# Selectors select pods; an ipBlock peer is the only way to admit an external
# address. An OR of a pod peer and an ipBlock admits both.
def test_ip_block_and_selector_peers_are_ored() -> None:
    cluster = world(ingress_to_xa(ingress_rule(peer(pods=sel(pod="c")), ipblock("192.0.2.0/24"))))
    assert_table(cluster, only_into_xa("x/c", EXT4))


# == Both ends of a connection ============================================================


# "NetworkPolicies apply to a connection with a pod on one or both ends" -- an
# external source has no egress side; only the destination's ingress counts.
def test_external_to_pod_needs_only_ingress() -> None:
    cluster = world(*(deny_all(ns, "Egress") for ns in NAMESPACES))
    table = Reachability(default=False).expect("*", "*/*", True).expect("*/*", "*/*", False)
    # every external -> pod allowed, every pod -> anything denied
    assert_table(cluster, table)


# Same rule, the other way: a pod -> external connection only needs the pod's egress.
def test_pod_to_external_needs_only_egress() -> None:
    cluster = world(*(deny_all(ns, "Ingress") for ns in NAMESPACES))
    table = Reachability(default=False).expect("*/*", EXT4, True).expect("*/*", EXT6, True)
    assert_table(cluster, table)


# "For a connection from a source pod to a destination pod to be allowed, both the
# egress policy on the source pod and the ingress policy on the destination pod
# need to allow the connection. If either side does not allow the connection, it
# will not happen." Egress allowed, ingress denied:
def test_egress_allowed_but_ingress_denied_is_denied() -> None:
    cluster = world(egress_from_xa(egress_rule(peer(pods=sel(pod="b"), namespaces=sel(ns="y")))), deny_all("y", "Ingress"))
    table = only_out_of_xa("y/b").expect_all_ingress("y/*", False)  # x/a -> y/b denied after all
    assert_table(cluster, table)


# Same rule: ingress allowed, egress denied.
def test_ingress_allowed_but_egress_denied_is_denied() -> None:
    allow_from_xa = netpol(
        "from-xa", "y", pods=sel(pod="b"), types=["Ingress"],
        ingress=[ingress_rule(peer(pods=sel(pod="a"), namespaces=sel(ns="x")))],
    )  # fmt: skip
    cluster = world(allow_from_xa, deny_all("x", "Egress"))
    table = Reachability().expect_all_egress("x/*", False).expect_all_ingress("y/b", False)
    assert_table(cluster, table)


# Same rule: both sides allow, so it happens.
def test_egress_and_ingress_both_allowed_is_allowed() -> None:
    allow_from_xa = netpol(
        "from-xa", "y", pods=sel(pod="b"), types=["Ingress"],
        ingress=[ingress_rule(peer(pods=sel(pod="a"), namespaces=sel(ns="x")))],
    )  # fmt: skip
    cluster = world(egress_from_xa(egress_rule(peer(pods=sel(pod="b"), namespaces=sel(ns="y")))), allow_from_xa)
    table = only_out_of_xa("y/b").expect_all_ingress("y/b", False).expect("x/a", "y/b", True)
    assert_table(cluster, table)


# == The lab's story: explanations ==========================================================

LAB_NS = "lab"


def lab_cluster() -> Any:
    """The networkpolicies lab after steps 13-14: deny-ingress-db + allow-ingress-db."""
    deny_ingress_db = netpol("deny-ingress-db", LAB_NS, pods=sel(app="mysql"), types=["Ingress"])
    allow_ingress_db = netpol(
        "allow-ingress-db", LAB_NS, pods=sel(app="mysql"), types=["Ingress"],
        ingress=[ingress_rule(peer(pods=sel(app="interpoddemo")), ports=[port(3306, "TCP")])],
    )  # fmt: skip

    def pod(name: str, labels: dict[str, str], ip: str, ports: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "kind": "Pod",
            "metadata": {"namespace": LAB_NS, "name": name, "labels": labels},
            "status": {"podIP": ip},
            "spec": {"containers": [{"name": name, "ports": ports}]},
        }

    return cluster_from_objects(
        [
            {"kind": "Namespace", "metadata": {"name": LAB_NS}},
            pod("mysql", {"app": "mysql"}, "10.0.9.1", [{"name": "mysql", "containerPort": 3306, "protocol": "TCP"}]),
            pod("interpoddemo", {"app": "interpoddemo"}, "10.0.9.2", [{"name": "http", "containerPort": 80}]),
            pod("demopod", {"run": "demopod"}, "10.0.9.3", []),
            deny_ingress_db,
            allow_ingress_db,
        ]
    )


def lab_verdict(source: str, destination: str, protocol: str = "TCP", number: int = 3306) -> Any:
    cluster = lab_cluster()
    return evaluate(
        cluster, resolve_endpoint(cluster, f"{LAB_NS}/{source}"), resolve_endpoint(cluster, f"{LAB_NS}/{destination}"),
        protocol, number,  # type: ignore[arg-type]
    )  # fmt: skip


def test_explanation_demopod_to_mysql_is_denied_and_names_both_policies() -> None:
    verdict = lab_verdict("demopod", "mysql")
    text = verdict.sentence()
    assert not verdict.allowed
    assert "denied" in text
    assert "deny-ingress-db" in text and "allow-ingress-db" in text
    assert "allow-ingress-db rule 1 admits pods app=interpoddemo on TCP 3306" in text
    assert "demopod has run=demopod" in text


def test_explanation_demopod_to_mysql_blames_ingress_not_egress() -> None:
    verdict = lab_verdict("demopod", "mysql")
    assert verdict.egress.allowed and not verdict.egress.isolating
    assert not verdict.ingress.allowed
    assert {policy.name for policy in verdict.ingress.isolating} == {"deny-ingress-db", "allow-ingress-db"}
    assert verdict.ingress.admitted_by is None


def test_explanation_interpoddemo_to_mysql_is_allowed_by_allow_ingress_db_rule_1() -> None:
    verdict = lab_verdict("interpoddemo", "mysql")
    assert verdict.allowed
    assert "allowed" in verdict.sentence()
    assert "allow-ingress-db rule 1" in verdict.sentence()
    assert verdict.ingress.admitted_by is not None
    assert verdict.ingress.admitted_by.policy.name == "allow-ingress-db"


# The rule admits TCP 3306 only ("only traffic on the specified protocol AND port").
def test_explanation_interpoddemo_to_mysql_on_another_port_is_denied() -> None:
    verdict = lab_verdict("interpoddemo", "mysql", "TCP", 80)
    assert not verdict.allowed
    assert "TCP 80" in verdict.sentence() and "allow-ingress-db rule 1" in verdict.sentence()


# Only the database is isolated: "By default, a pod is non-isolated for ingress".
def test_explanation_the_web_pod_is_not_isolated() -> None:
    verdict = lab_verdict("demopod", "interpoddemo", "TCP", 80)
    assert verdict.allowed
    assert not verdict.ingress.isolating and not verdict.egress.isolating
