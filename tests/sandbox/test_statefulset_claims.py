"""A StatefulSet's persistentVolumeClaimRetentionPolicy (StatefulSetAutoDeletePVC, on by default in
1.32): whenScaled Delete takes a condemned pod's claims with it, whenDeleted Delete the set's
claims with the set; the default, Retain, keeps them (tests/sandbox/test_statefulsets.py)."""

from __future__ import annotations

import json
from typing import Any

from labrunner.sandbox.controllers import statefulset as sts
from tests.sandboxes import Kubectl, eventually

DELETING = """
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 2
  persistentVolumeClaimRetentionPolicy: {whenScaled: Delete, whenDeleted: Delete}
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: box, image: "busybox:1.36", command: [sleep, "3600"], volumeMounts: [{name: data, mountPath: /data}]}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
"""


def _claims(kubectl: Kubectl, namespace: str) -> dict[str, Any]:
    items = json.loads(kubectl("get", "pvc", "-n", namespace, "-o", "json").stdout)["items"]
    return {c["metadata"]["name"]: c for c in items}


def test_claims_go_with_a_condemned_pod_and_with_the_set_when_the_policy_says_delete(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("apply", "-n", namespace, "-f", "-", stdin=DELETING)
    eventually(lambda: json.loads(kubectl("get", "sts", "db", "-n", namespace, "-o", "json").stdout).get("status", {}).get("readyReplicas") == 2,
               "2 ready replicas")
    claims = _claims(kubectl, namespace)
    assert sorted(claims) == ["data-db-0", "data-db-1"]
    assert [(r["kind"], r["name"]) for r in claims["data-db-1"]["metadata"]["ownerReferences"]] == [("StatefulSet", "db")]
    kubectl("scale", "sts", "db", "--replicas=1", "-n", namespace)
    eventually(lambda: sorted(_claims(kubectl, namespace)) == ["data-db-0"], "the condemned pod's claim gone with it")
    kubectl("delete", "sts", "db", "-n", namespace, "--wait=false")
    eventually(lambda: _claims(kubectl, namespace) == {}, "the set's claims gone with it")


def test_the_owners_each_policy_gives() -> None:
    def owners(policy: dict[str, str], index: int, replicas: int = 2) -> list[str]:
        stateful_set = {"metadata": {"name": "db", "namespace": "n", "uid": "set"}, "apiVersion": "apps/v1", "kind": "StatefulSet",
                        "spec": {"replicas": replicas, "persistentVolumeClaimRetentionPolicy": policy}}
        pod = {"metadata": {"name": f"db-{index}", "uid": f"pod-{index}"}}
        return [ref["kind"] for ref in sts.claim_owner_references(stateful_set, pod)]

    assert owners({}, 0) == [] and owners({"whenScaled": "Retain", "whenDeleted": "Retain"}, 3) == []
    assert owners({"whenDeleted": "Delete"}, 0) == ["StatefulSet"] and owners({"whenDeleted": "Delete"}, 3) == ["StatefulSet"]
    assert owners({"whenScaled": "Delete"}, 0) == [] and owners({"whenScaled": "Delete"}, 2) == ["Pod"]
    assert owners({"whenScaled": "Delete", "whenDeleted": "Delete"}, 1) == ["StatefulSet"]
    assert owners({"whenScaled": "Delete", "whenDeleted": "Delete"}, 2) == ["Pod"]
