"""CoreDNS's records as a learner queries them: a headless Service answers with its ready pods,
a pod with a hostname and a subdomain (a StatefulSet's) has a name of its own."""

from __future__ import annotations

import json

from tests.sandboxes import Kubectl


def test_headless_services_and_per_pod_names(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("apply", "-n", namespace, "-f", "-", stdin="""
apiVersion: v1
kind: Service
metadata: {name: db}
spec: {clusterIP: None, selector: {app: db}, ports: [{port: 5432}]}
---
apiVersion: v1
kind: Pod
metadata: {name: db-a, labels: {app: db}}
spec: {hostname: db-0, subdomain: db, containers: [{name: c, image: busybox:1.36, command: [sleep, "3600"]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: db-b, labels: {app: db}}
spec: {containers: [{name: c, image: busybox:1.36, command: [sleep, "3600"]}]}
""")
    kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/db-a", "pod/db-b", "--timeout=60s")
    ips = sorted(json.loads(kubectl("get", "pod", name, "-n", namespace, "-o", "json").stdout)["status"]["podIP"] for name in ("db-a", "db-b"))
    both = kubectl("exec", "-n", namespace, "db-b", "--", "nslookup", "db").stdout
    assert [line.split(": ")[1] for line in both.splitlines() if line.startswith("Address: ")] == sorted(ips, key=lambda ip: tuple(map(int, ip.split("."))))
    own = kubectl("exec", "-n", namespace, "db-b", "--", "nslookup", f"db-0.db.{namespace}.svc.cluster.local").stdout
    first = json.loads(kubectl("get", "pod", "db-a", "-n", namespace, "-o", "json").stdout)["status"]["podIP"]
    assert f"Name:\tdb-0.db.{namespace}.svc.cluster.local\nAddress: {first}\n" in own
