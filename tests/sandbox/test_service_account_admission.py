"""The ServiceAccount admission plugin: a pod naming an account that does not exist is refused
with the plugin's 403, a Deployment's ReplicaSet says so in a FailedCreate event and makes its
pods once the account exists; the namespace's default account is never in the way."""

from __future__ import annotations

import json

from tests.sandboxes import Kubectl, eventually

POD = """\
apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  serviceAccountName: {account}
  containers: [{{name: app, image: busybox:1.36, command: [sleep, "3600"]}}]
"""


def test_a_pod_naming_a_missing_account_is_forbidden(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    refused = kubectl("apply", "-n", namespace, "-f", "-", stdin=POD.format(name="reader", account="reader"), check=False)
    assert refused.returncode == 1
    assert refused.stderr.strip().endswith(f'pods "reader" is forbidden: error looking up service account {namespace}/reader: '
                                           'serviceaccount "reader" not found')
    kubectl("create", "serviceaccount", "reader", "-n", namespace)
    kubectl("apply", "-n", namespace, "-f", "-", stdin=POD.format(name="reader", account="reader"))
    kubectl("apply", "-n", namespace, "-f", "-", stdin=POD.format(name="plain", account="default"))


def test_a_deployment_waits_for_its_account_and_says_why(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "deployment", "api", "--image=busybox:1.36", "-n", namespace, "--", "sleep", "3600")
    kubectl("patch", "deployment", "api", "-n", namespace, "-p", '{"spec":{"template":{"spec":{"serviceAccountName":"api"}}}}')

    def refused() -> bool:
        events = json.loads(kubectl("get", "events", "-n", namespace, "-o", "json").stdout)["items"]
        return any(e.get("reason") == "FailedCreate" and 'serviceaccount "api" not found' in e.get("message", "") for e in events)

    eventually(refused, "the ReplicaSet's FailedCreate naming the missing account")
    kubectl("create", "serviceaccount", "api", "-n", namespace)
    eventually(lambda: kubectl("get", "pods", "-n", namespace, "-o", "jsonpath={.items[*].spec.serviceAccountName}").stdout.split().count("api") == 1,
               "the pod made once the account exists")
