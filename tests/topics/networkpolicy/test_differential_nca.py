"""Our engine against IBM's network-config-analyzer (NCA) on random small clusters.

NCA lives in its own venv (``.venv-nca``, made by ``scripts/test``; its PyYAML
pin conflicts with kubernetes 37) and runs as a subprocess through
``nca_driver.py``. The random policies avoid the places where NCA departs from
the Kubernetes documentation; ``test_documented_divergences`` shows each of
those cases and asserts that we follow the docs:

- ``egress: []`` without policyTypes: NCA isolates egress; the API server
  defaults policyTypes to [Ingress] (SetDefaults_NetworkPolicy), so we do not.
- ipBlocks: NCA never matches pod IPs; we do, as Calico and the upstream
  conformance tests do (random cases use only addresses outside the pod range).
- a pod talking to itself: NCA lets policies block it; the docs say a pod
  cannot block access to itself (random cases skip self pairs).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from labrunner.topics.networkpolicy.evaluate import evaluate
from labrunner.topics.networkpolicy.parse import cluster_from_objects
from tests.conftest import REPO

NCA_PYTHON = Path(os.environ.get("LABRUNNER_NCA_PYTHON", REPO / ".venv-nca" / "bin" / "python"))
DRIVER = Path(__file__).with_name("nca_driver.py")
PORTS = [("TCP", 80), ("TCP", 81), ("TCP", 443), ("UDP", 53), ("SCTP", 80), ("TCP", 8080)]

pytestmark = pytest.mark.skipif(
    not NCA_PYTHON.exists(),
    reason=f"network-config-analyzer is not installed ({NCA_PYTHON} missing; scripts/test installs it into .venv-nca)",
)


def write_case(folder: Path, objects: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, kind in (("ns.yaml", "Namespace"), ("pods.yaml", "Pod"), ("policies.yaml", "NetworkPolicy")):
        items = [obj for obj in objects if obj["kind"] == kind]
        (folder / name).write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items}))
    return folder


def run_nca(cases: list[Path]) -> dict[str, dict[str, dict[str, list[list[int]]]]]:
    completed = subprocess.run([str(NCA_PYTHON), str(DRIVER), *map(str, cases)], capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-2000:]
    return json.loads(completed.stdout)


def nca_allows(result: dict[str, dict[str, list[list[int]]]], source: str, destination: str, protocol: str, port: int) -> bool:
    ranges = result.get(f"{source} {destination}", {}).get(protocol, [])
    return any(lo <= port <= hi for lo, hi in ranges)


# -- random clusters within the semantics both engines share ---------------------


def random_case(rng: random.Random, index: int) -> list[dict[str, Any]]:
    namespaces = ["alpha", "beta", "gamma"][: rng.randint(2, 3)]
    objects: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {"team": rng.choice(["red", "blue"])}}}
        for name in namespaces
    ]
    for number in range(rng.randint(3, 8)):
        labels = {"app": rng.choice(["web", "api", "db"])}
        if rng.random() < 0.4:
            labels["tier"] = rng.choice(["front", "back"])
        ports = [{"name": "http", "containerPort": rng.choice([80, 8080]), "protocol": "TCP"},
                 {"name": "dns", "containerPort": 53, "protocol": "UDP"}]
        objects.append({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"namespace": rng.choice(namespaces), "name": f"pod-{number}", "labels": labels},
            "spec": {"containers": [{"name": "main", "image": "example", "ports": ports}]},
            "status": {"podIP": f"10.244.{index % 250}.{number + 1}"},
        })
    for number in range(rng.randint(1, 5)):
        objects.append(random_policy(rng, rng.choice(namespaces), f"np-{number}", namespaces))
    return objects


def random_selector(rng: random.Random) -> dict[str, Any]:
    choice = rng.random()
    if choice < 0.2:
        return {}
    if choice < 0.6:
        return {"matchLabels": {"app": rng.choice(["web", "api", "db"])}}
    if choice < 0.8:
        return {"matchExpressions": [{"key": "app", "operator": rng.choice(["In", "NotIn"]), "values": [rng.choice(["web", "db"])]}]}
    return {"matchExpressions": [{"key": "tier", "operator": rng.choice(["Exists", "DoesNotExist"])}]}


def random_peer(rng: random.Random, namespaces: list[str]) -> dict[str, Any]:
    choice = rng.random()
    if choice < 0.35:
        return {"podSelector": random_selector(rng)}
    if choice < 0.55:
        return {"namespaceSelector": rng.choice([{}, {"matchLabels": {"team": rng.choice(["red", "blue"])}},
                                                 {"matchLabels": {"kubernetes.io/metadata.name": rng.choice(namespaces)}}])}
    if choice < 0.85:
        return {"podSelector": random_selector(rng), "namespaceSelector": {"matchLabels": {"team": rng.choice(["red", "blue"])}}}
    return {"ipBlock": {"cidr": "192.0.2.0/24", "except": ["192.0.2.128/25"]}}  # outside the pod range


def random_ports(rng: random.Random) -> list[dict[str, Any]] | None:
    if rng.random() < 0.35:
        return None
    options = [{"protocol": "TCP", "port": 80}, {"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": "http"},
               {"protocol": "TCP", "port": 80, "endPort": 443}, {"protocol": "SCTP"}, {"port": 8080}]
    return rng.sample(options, rng.randint(1, 2))


def random_rules(rng: random.Random, peers_key: str, namespaces: list[str]) -> list[dict[str, Any]]:
    rules = []
    for _ in range(rng.randint(0, 2)):
        rule: dict[str, Any] = {}
        if rng.random() < 0.8:
            rule[peers_key] = [random_peer(rng, namespaces) for _ in range(rng.randint(1, 2))]
        ports = random_ports(rng)
        if ports:
            rule["ports"] = ports
        rules.append(rule)
    return rules


def random_policy(rng: random.Random, namespace: str, name: str, namespaces: list[str]) -> dict[str, Any]:
    types = rng.choice([["Ingress"], ["Egress"], ["Ingress", "Egress"]])
    spec: dict[str, Any] = {"podSelector": random_selector(rng), "policyTypes": types}
    # NCA refuses a rule list for a direction policyTypes leaves out, so only declared directions get rules.
    if "Ingress" in types:
        spec["ingress"] = random_rules(rng, "from", namespaces)
    if "Egress" in types:
        spec["egress"] = random_rules(rng, "to", namespaces)
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"namespace": namespace, "name": name}, "spec": spec}


def test_random_clusters_agree_with_nca(tmp_path: Path) -> None:
    rng = random.Random(20261122)
    cases = {write_case(tmp_path / f"case-{index}", objects := random_case(rng, index)): objects for index in range(40)}
    results = run_nca(list(cases))
    compared = disagreements = 0
    report = []
    for folder, objects in cases.items():
        cluster = cluster_from_objects(objects)
        nca = results[str(folder)]
        for source in cluster.pods:
            for destination in cluster.pods:
                if source is destination:
                    continue
                for protocol, port in PORTS:
                    ours = evaluate(cluster, source, destination, protocol, port).allowed  # type: ignore[arg-type]
                    theirs = nca_allows(nca, source.ref, destination.ref, protocol, port)
                    compared += 1
                    if ours != theirs:
                        disagreements += 1
                        report.append(f"{folder.name}: {source.ref} -> {destination.ref} {protocol}/{port}: ours {ours}, NCA {theirs}")
    assert compared > 2000
    assert disagreements == 0, "\n".join(report[:20])


def test_documented_divergences(tmp_path: Path) -> None:
    pods = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": "shop", "name": "web", "labels": {"app": "web"}},
         "spec": {"containers": [{"name": "c", "image": "x"}]}, "status": {"podIP": "10.244.0.2"}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": "shop", "name": "db", "labels": {"app": "db"}},
         "spec": {"containers": [{"name": "c", "image": "x"}]}, "status": {"podIP": "10.244.0.3"}},
    ]
    empty_egress = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"namespace": "shop", "name": "e"},
                    "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "egress": []}}
    pod_ip_block = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"namespace": "shop", "name": "b"},
                    "spec": {"podSelector": {"matchLabels": {"app": "db"}}, "policyTypes": ["Ingress"],
                             "ingress": [{"from": [{"ipBlock": {"cidr": "10.244.0.0/24"}}]}]}}
    cases = {
        "egress": write_case(tmp_path / "egress", [*pods, empty_egress]),
        "ipblock": write_case(tmp_path / "ipblock", [*pods, pod_ip_block]),
    }
    results = run_nca(list(cases.values()))
    # egress: [] without policyTypes: the API server defaults policyTypes to [Ingress]; web may still send.
    cluster = cluster_from_objects([*pods, empty_egress])
    assert evaluate(cluster, cluster.pod("shop/web"), cluster.pod("shop/db"), "TCP", 80).allowed
    assert not nca_allows(results[str(cases["egress"])], "shop/web", "shop/db", "TCP", 80)
    # An ipBlock covering pod IPs admits those pods for us (Calico, upstream conformance), never for NCA.
    cluster = cluster_from_objects([*pods, pod_ip_block])
    assert evaluate(cluster, cluster.pod("shop/web"), cluster.pod("shop/db"), "TCP", 80).allowed
    assert not nca_allows(results[str(cases["ipblock"])], "shop/web", "shop/db", "TCP", 80)
