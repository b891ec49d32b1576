"""The linter on the mistakes people make, each finding at its line and column."""

from __future__ import annotations

import textwrap
from pathlib import Path

import yaml

from labrunner.topics.networkpolicy.files import read_objects
from labrunner.topics.networkpolicy.lint import Finding, lint
from tests.conftest import REPO

ASSETS = REPO / "assets" / "networkpolicies"

PODS = """\
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
{apiVersion: v1, kind: Pod, metadata: {namespace: shop, name: web-1, labels: {app: web}}, spec: {containers: [{name: c, ports: [{containerPort: 8080, name: http}]}]}, status: {podIP: 10.244.1.5}}
---
{apiVersion: v1, kind: Pod, metadata: {namespace: shop, name: db-1, labels: {app: db}}, spec: {containers: [{name: c, ports: [{containerPort: 5432, name: pg}]}]}, status: {podIP: 10.244.1.6}}
"""


def findings(tmp_path: Path, policy: str, *, with_pods: bool = True) -> list[Finding]:
    (tmp_path / "policy.yaml").write_text(textwrap.dedent(policy))
    paths = [tmp_path / "policy.yaml"]
    if with_pods:
        (tmp_path / "pods.yaml").write_text(PODS)
        paths.append(tmp_path / "pods.yaml")
    return lint(read_objects(paths))


def brief(found: list[Finding]) -> list[tuple[str, int, int, str]]:
    return [(f.severity, f.line, f.column, f.path) for f in found]


def test_the_step_18_policy_names_each_mis_indentation_and_the_intended_structure() -> None:
    found = lint(read_objects([ASSETS / "ingress-egress-policy-broken.yaml"]))
    errors = [(f.line, f.column, f.path) for f in found if f.severity == "error"]
    assert errors == [
        (19, 5, "spec.ingress[1].namespaceSelector"),
        (22, 5, "spec.ingress[2].podSelector"),
        (25, 3, "spec.ports"),
        (28, 1, "egress"),
    ]
    by_path = {f.path: f for f in found}
    assert "became ingress rule 2 of its own instead of another peer in rule 1's `from` list" in by_path["spec.ingress[1].namespaceSelector"].message
    assert "line up with the peers under `from:` of rule 1 (line 14)" in by_path["spec.ingress[1].namespaceSelector"].fix
    assert "fell out of its rule" in by_path["spec.ports"].message
    assert "fell out of spec" in by_path["egress"].message
    [summary] = [f for f in found if f.path == "" and f.severity == "info"]
    assert summary.message.endswith(
        'strict decoding error: unknown field "egress", unknown field "spec.ingress[1].namespaceSelector", '
        'unknown field "spec.ingress[2].podSelector", unknown field "spec.ports"'
    )
    intended = yaml.safe_load((ASSETS / "ingress-egress-policy.yaml").read_text())
    assert yaml.safe_load(summary.suggestion or "") == intended


def test_the_fixed_policy_has_no_structural_finding() -> None:
    found = lint(read_objects([ASSETS / "ingress-egress-policy.yaml"]))
    assert [f for f in found if f.severity == "error"] == []


def test_a_selector_that_matches_no_pod(tmp_path: Path) -> None:
    found = findings(tmp_path, """\
        kind: NetworkPolicy
        metadata: {name: db, namespace: shop}
        spec:
          podSelector:
            matchLabels: {app: dbb}
          ingress:
          - from:
            - podSelector:
                matchLabels: {app: wbe}
        """)
    assert ("warning", 5, 5, "spec.podSelector") in brief(found)
    assert ("warning", 9, 9, "spec.ingress[0].from[0].podSelector") in brief(found)
    [selector] = [f for f in found if f.path == "spec.podSelector"]
    assert "app=dbb matches no pod in shop (pods there have: app=db; app=web)" in selector.message


def test_egress_isolation_without_dns(tmp_path: Path) -> None:
    found = findings(tmp_path, """\
        kind: NetworkPolicy
        metadata: {name: lockdown, namespace: shop}
        spec:
          podSelector: {}
          policyTypes: [Egress]
        """)
    [dns] = [f for f in found if "DNS" in f.message]
    assert (dns.severity, dns.line, dns.path) == ("warning", 4, "spec")
    assert "UDP 53" in dns.fix and "TCP 53" in dns.fix


def test_dns_on_udp_only_is_incomplete_and_both_is_fine(tmp_path: Path) -> None:
    udp_only = """\
        kind: NetworkPolicy
        metadata: {name: dns, namespace: shop}
        spec:
          podSelector: {}
          policyTypes: [Egress]
          egress:
          - ports:
            - {protocol: UDP, port: 53}
        """
    [info] = [f for f in findings(tmp_path, udp_only) if "DNS" in f.message]
    assert info.severity == "info" and "TCP 53" in info.message
    both = udp_only.replace("    - {protocol: UDP, port: 53}\n", "    - {protocol: UDP, port: 53}\n            - {protocol: TCP, port: 53}\n")
    assert not [f for f in findings(tmp_path, both) if "DNS" in f.message]


def test_rules_for_a_direction_policy_types_leaves_out(tmp_path: Path) -> None:
    found = findings(tmp_path, """\
        kind: NetworkPolicy
        metadata: {name: web, namespace: shop}
        spec:
          podSelector: {matchLabels: {app: web}}
          policyTypes: [Ingress]
          ingress: [{}]
          egress:
          - to: [{podSelector: {matchLabels: {app: db}}}]
        """)
    [ignored] = [f for f in found if f.path == "spec.egress"]
    assert (ignored.severity, ignored.line, ignored.column) == ("warning", 8, 3)
    assert ignored.message == "these egress rules are ignored: policyTypes lists only Ingress"


def test_empty_egress_list_without_policy_types_does_not_isolate(tmp_path: Path) -> None:
    found = findings(tmp_path, """\
        kind: NetworkPolicy
        metadata: {name: web, namespace: shop}
        spec:
          podSelector: {}
          egress: []
        """)
    [finding] = [f for f in found if f.path == "spec.egress"]
    assert finding.line == 5 and "defaults policyTypes to [Ingress]" in finding.message


def test_named_ports(tmp_path: Path) -> None:
    found = findings(tmp_path, """\
        kind: NetworkPolicy
        metadata: {name: db, namespace: shop}
        spec:
          podSelector: {matchLabels: {app: db}}
          policyTypes: [Ingress, Egress]
          ingress:
          - ports: [{port: postgres}]
          egress:
          - to: [{ipBlock: {cidr: 192.0.2.0/24}}]
            ports: [{port: https}]
          - ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]
        """)
    [missing] = [f for f in found if f.path == "spec.ingress[0].ports[0].port"]
    assert (missing.line, missing.column) == (7, 20)
    assert "no container of the pods this policy selects has a TCP port named 'postgres'" in missing.message
    [external] = [f for f in found if f.path == "spec.egress[0].ports[0].port" and "ipBlock" in f.message]
    assert (external.line, external.severity) == (10, "warning")


def test_ip_block_mistakes(tmp_path: Path) -> None:
    found = findings(tmp_path, """\
        kind: NetworkPolicy
        metadata: {name: out, namespace: shop}
        spec:
          podSelector: {}
          policyTypes: [Egress]
          egress:
          - to:
            - ipBlock: {cidr: 10.0.0.0/24, except: [10.1.0.0/24]}
            - ipBlock: {cidr: 10.244.0.0/16}
            ports:
            - {port: 8080, endPort: 8000}
            - {port: http, endPort: 9000}
            - {protocol: UDP, port: 53}
            - {protocol: TCP, port: 53}
        """)
    assert ("error", 8, 45, "spec.egress[0].to[0].ipBlock.except[0]") in brief(found)
    assert ("info", 9, 23, "spec.egress[0].to[1].ipBlock.cidr") in brief(found)  # covers web-1 and db-1
    assert ("error", 11, 29, "spec.egress[0].ports[0].endPort") in brief(found)
    assert ("error", 12, 29, "spec.egress[0].ports[1].endPort") in brief(found)
    [cover] = [f for f in found if f.path == "spec.egress[0].to[1].ipBlock.cidr"]
    assert "2 pod(s) (shop/web-1, shop/db-1)" in cover.message and "some CNIs" in cover.message


def test_invalid_cidr_is_an_error_at_its_place(tmp_path: Path) -> None:
    found = findings(tmp_path, """\
        kind: NetworkPolicy
        metadata: {name: out, namespace: shop}
        spec:
          podSelector: {}
          ingress:
          - from:
            - ipBlock: {cidr: 300.0.0.0/8}
        """, with_pods=False)
    assert brief(found) == [("error", 7, 23, "spec.ingress[0].from[0].ipBlock.cidr")]


def test_namespace_selector_matching_no_namespace_and_an_empty_peer(tmp_path: Path) -> None:
    found = findings(tmp_path, """\
        kind: NetworkPolicy
        metadata: {name: web, namespace: shop}
        spec:
          podSelector: {matchLabels: {app: web}}
          ingress:
          - from:
            - namespaceSelector: {matchLabels: {team: ops}}
            - {}
        """)
    assert ("warning", 7, 26, "spec.ingress[0].from[0].namespaceSelector") in brief(found)
    assert ("error", 8, 7, "spec.ingress[0].from[1]") in brief(found)


def test_obsolete_weave_annotation(tmp_path: Path) -> None:
    (tmp_path / "ns.yaml").write_text(textwrap.dedent("""\
        apiVersion: v1
        kind: Namespace
        metadata:
          name: legacy
          annotations:
            net.beta.kubernetes.io/network-policy: '{"ingress": {"isolation": "DefaultDeny"}}'
        """))
    [finding] = lint(read_objects([tmp_path / "ns.yaml"]))
    assert (finding.severity, finding.line, finding.column) == ("warning", 6, 5)
    assert "obsolete" in finding.message and "default-deny NetworkPolicy" in finding.fix


def test_a_correct_policy_on_matching_pods_has_no_findings(tmp_path: Path) -> None:
    assert findings(tmp_path, """\
        kind: NetworkPolicy
        metadata: {name: db, namespace: shop}
        spec:
          podSelector: {matchLabels: {app: db}}
          ingress:
          - from: [{podSelector: {matchLabels: {app: web}}}]
            ports: [{port: pg}]
        """) == []


def test_namespace_and_pod_selectors_as_two_peers_is_pointed_out(tmp_path: Path) -> None:
    found = findings(tmp_path, """\
        kind: NetworkPolicy
        metadata: {name: db, namespace: shop}
        spec:
          podSelector: {matchLabels: {app: db}}
          ingress:
          - from:
            - namespaceSelector:
                matchLabels: {kubernetes.io/metadata.name: shop}
            - podSelector:
                matchLabels: {app: web}
        """)
    [finding] = [f for f in found if f.path == "spec.ingress[0].from[1]"]
    assert (finding.severity, finding.line, finding.column) == ("info", 9, 7)
    assert "ORed" in finding.message and "remove the '-' before `podSelector:`" in finding.fix
