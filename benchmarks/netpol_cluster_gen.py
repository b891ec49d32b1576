"""Realistic synthetic clusters for the NetworkPolicy benchmark: Namespaces, Pods
(deployments of 1 to 5 replicas) and NetworkPolicies as API dicts, seeded.

The policy mix follows what teams write: default-deny per namespace, tier-to-tier
allows on service ports, cross-namespace allows by namespace label, DNS egress,
egress to the internet except the private ranges, and a few named ports.
"""

from __future__ import annotations

import random
from typing import Any

TIERS = {"web": [("http", 8080)], "api": [("http", 8080), ("grpc", 9090)], "db": [("pg", 5432)], "cache": [("redis", 6379)]}


def generate(pods: int, policies: int, namespaces: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    objects: list[dict[str, Any]] = []
    names = [f"team-{i:02d}" for i in range(namespaces)]
    for name in names:
        objects.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {"team": name, "env": rng.choice(["prod", "staging"])}}})
    objects.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}})
    objects.append(_pod("kube-system", "coredns-1", {"k8s-app": "kube-dns"}, "10.96.0.10", [("dns", 53, "UDP"), ("dns-tcp", 53, "TCP")]))
    made = 0
    deployment = 0
    apps: list[tuple[str, str, str]] = []
    while made < pods:
        namespace = rng.choice(names)
        tier = rng.choice(list(TIERS))
        app = f"{tier}-{deployment}"
        deployment += 1
        apps.append((namespace, app, tier))
        for replica in range(min(rng.randint(1, 5), pods - made)):
            ip = f"10.{244 + made // 65000}.{(made // 250) % 256}.{made % 250 + 1}"
            ports = [(port_name, number, "TCP") for port_name, number in TIERS[tier]] + [("metrics", 9100, "TCP")]
            objects.append(_pod(namespace, f"{app}-{replica}", {"app": app, "tier": tier}, ip, ports))
            made += 1
    made_policies = 0
    kinds = ["deny-ingress", "deny-egress", "tier", "cross-ns", "dns", "internet", "named", "expr"]
    while made_policies < policies:
        namespace, app, tier = rng.choice(apps)
        kind = kinds[made_policies % len(kinds)] if made_policies < len(kinds) * 2 else rng.choice(kinds)
        objects.append(_policy(rng, kind, namespace, app, tier, names, made_policies))
        made_policies += 1
    return objects


def _pod(namespace: str, name: str, labels: dict[str, str], ip: str, ports: list[tuple[str, int, str]]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"namespace": namespace, "name": name, "labels": labels},
        "spec": {"containers": [{"name": "main", "image": "example", "ports": [
            {"name": port_name, "containerPort": number, "protocol": protocol} for port_name, number, protocol in ports
        ]}]},
        "status": {"podIP": ip, "podIPs": [{"ip": ip}]},
    }


def _policy(rng: random.Random, kind: str, namespace: str, app: str, tier: str, names: list[str], index: int) -> dict[str, Any]:
    spec: dict[str, Any]
    if kind == "deny-ingress":
        spec = {"podSelector": {}, "policyTypes": ["Ingress"]}
    elif kind == "deny-egress":
        spec = {"podSelector": {}, "policyTypes": ["Egress"]}
    elif kind == "tier":
        source = {"web": "web", "api": "web", "db": "api", "cache": "api"}[tier]
        port = TIERS[tier][0][1]
        spec = {"podSelector": {"matchLabels": {"app": app}}, "policyTypes": ["Ingress"],
                "ingress": [{"from": [{"podSelector": {"matchLabels": {"tier": source}}}], "ports": [{"protocol": "TCP", "port": port}]}]}
    elif kind == "cross-ns":
        spec = {"podSelector": {"matchLabels": {"tier": tier}}, "policyTypes": ["Ingress"],
                "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": rng.choice(names)}},
                                        "podSelector": {"matchLabels": {"tier": "api"}}}]}]}
    elif kind == "dns":
        spec = {"podSelector": {}, "policyTypes": ["Egress"],
                "egress": [{"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}]}
    elif kind == "internet":
        spec = {"podSelector": {"matchLabels": {"tier": "web"}}, "policyTypes": ["Egress"],
                "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]}}],
                            "ports": [{"protocol": "TCP", "port": 443}]}]}
    elif kind == "named":
        spec = {"podSelector": {"matchLabels": {"app": app}}, "policyTypes": ["Ingress"],
                "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"env": "prod"}}}], "ports": [{"port": "metrics"}]}]}
    else:
        spec = {"podSelector": {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["api", "db"]}]}, "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [{"podSelector": {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["cache"]}]}}]}],
                "egress": [{"to": [{"podSelector": {}}], "ports": [{"protocol": "TCP", "port": 5432, "endPort": 6379}]}]}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"namespace": namespace, "name": f"{kind}-{index}"}, "spec": spec}


PORTS = [("TCP", 8080), ("TCP", 9090), ("TCP", 5432), ("TCP", 6379), ("TCP", 9100), ("TCP", 443), ("UDP", 53), ("TCP", 53)]
"""The ports both engines are asked about."""
