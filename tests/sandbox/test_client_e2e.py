"""The official Python client against the sandbox, the way its own e2e tests use a cluster
(kubernetes/e2e_test: test_client, test_apps, test_batch, test_watch, test_utils): typed calls,
their models read back, deleteCollection, watches, exec streams and the dynamic client. Our own
tests of what those exercise (issue 14 item 3); none of their code."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from labrunner.sandbox.files import SandboxFiles
from tests.sandboxes import Kubectl, eventually


@pytest.fixture
def api(sandbox: SandboxFiles) -> Iterator[Any]:
    from kubernetes import config

    client = config.new_client_from_config(str(sandbox.kubeconfig))
    yield client
    client.close()


def test_core_objects_round_trip_through_the_typed_client(api: Any, kubectl: Kubectl, namespace: str) -> None:
    from kubernetes import client

    core = client.CoreV1Api(api)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    pod = client.V1Pod(metadata=client.V1ObjectMeta(name="box", labels={"app": "box"}),
                       spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="busybox:1.36", command=["sleep", "3600"])]))
    created = core.create_namespaced_pod(namespace, pod)
    assert created.metadata.uid and created.spec.restart_policy == "Always" and created.status.phase == "Pending"
    eventually(lambda: core.read_namespaced_pod(name="box", namespace=namespace).status.phase == "Running", "the pod running")
    patched = core.patch_namespaced_pod("box", namespace, {"metadata": {"labels": {"tier": "test"}}})
    assert patched.metadata.labels == {"app": "box", "tier": "test"}
    for index in range(3):
        core.create_namespaced_config_map(namespace, client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name=f"cm-{index}", labels={"batch": "yes" if index else "no"}), data={"k": str(index)}))
    selected = core.list_namespaced_config_map(namespace, label_selector="batch=yes")
    assert sorted(item.metadata.name for item in selected.items) == ["cm-1", "cm-2"]
    core.delete_collection_namespaced_config_map(namespace, label_selector="batch=yes")
    left = {item.metadata.name for item in core.list_namespaced_config_map(namespace).items}
    assert "cm-0" in left and not left & {"cm-1", "cm-2"}
    service = core.create_namespaced_service(namespace, client.V1Service(
        metadata=client.V1ObjectMeta(name="box"), spec=client.V1ServiceSpec(selector={"app": "box"}, ports=[client.V1ServicePort(port=80)])))
    assert service.spec.cluster_ip and service.spec.ports[0].target_port == 80
    # the status subresource changes the status only (a spec sent along is ignored)
    core.patch_namespaced_service_status("box", namespace, {"spec": {"type": "NodePort"},
                                                             "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}]}}})
    read = core.read_namespaced_service_status("box", namespace)
    assert read.status.load_balancer.ingress[0].ip == "203.0.113.9" and read.spec.type == "ClusterIP"
    with pytest.raises(client.ApiException) as missing:
        core.read_namespaced_pod("nope", namespace)
    assert missing.value.status == 404 and '"reason":"NotFound"' in missing.value.body
    nodes = core.list_node()
    assert all(node.status.node_info.machine_id and node.status.node_info.boot_id for node in nodes.items)


def test_apps_and_batch_through_the_typed_client(api: Any, kubectl: Kubectl, namespace: str) -> None:
    from kubernetes import client

    kubectl("create", "namespace", namespace)
    apps, batch = client.AppsV1Api(api), client.BatchV1Api(api)
    template = client.V1PodTemplateSpec(metadata=client.V1ObjectMeta(labels={"app": "web"}),
                                        spec=client.V1PodSpec(containers=[client.V1Container(name="web", image="nginx:1.27")]))
    apps.create_namespaced_deployment(namespace, client.V1Deployment(
        metadata=client.V1ObjectMeta(name="web"),
        spec=client.V1DeploymentSpec(replicas=2, selector=client.V1LabelSelector(match_labels={"app": "web"}), template=template)))
    eventually(lambda: (apps.read_namespaced_deployment_status("web", namespace).status.ready_replicas or 0) == 2, "2 ready replicas")
    apps.patch_namespaced_deployment_scale("web", namespace, {"spec": {"replicas": 3}})
    eventually(lambda: (apps.read_namespaced_deployment("web", namespace).status.available_replicas or 0) == 3, "scaled to 3")
    job = client.V1Job(metadata=client.V1ObjectMeta(name="once"), spec=client.V1JobSpec(template=client.V1PodTemplateSpec(
        spec=client.V1PodSpec(restart_policy="Never", containers=[client.V1Container(name="c", image="busybox:1.36", command=["echo", "done"])]))))
    created = batch.create_namespaced_job(namespace, job)
    assert created.spec.selector.match_labels == {"batch.kubernetes.io/controller-uid": created.metadata.uid}
    eventually(lambda: (batch.read_namespaced_job_status("once", namespace).status.succeeded or 0) == 1, "the job succeeded")
    batch.delete_namespaced_job("once", namespace, propagation_policy="Foreground")
    eventually(lambda: not batch.list_namespaced_job(namespace).items, "the job gone with its pods")


def test_watch_exec_and_the_dynamic_client(api: Any, kubectl: Kubectl, namespace: str) -> None:
    from kubernetes import client, dynamic, watch
    from kubernetes.stream import stream

    kubectl("create", "namespace", namespace)
    core = client.CoreV1Api(api)
    seen: list[tuple[str, str]] = []
    watcher = watch.Watch()
    core.create_namespaced_config_map(namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="watched"), data={"a": "1"}))
    for event in watcher.stream(core.list_namespaced_config_map, namespace, timeout_seconds=2):
        seen.append((event["type"], event["object"].metadata.name))
    assert ("ADDED", "watched") in seen
    kubectl("run", "box", "-n", namespace, "--image=busybox:1.36", "--", "sleep", "3600")
    kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/box", "--timeout=60s")
    said = stream(core.connect_get_namespaced_pod_exec, "box", namespace, command=["sh", "-c", "echo out; echo err >&2"],
                  stderr=True, stdin=False, stdout=True, tty=False, _preload_content=False)
    said.run_forever(timeout=30)
    assert said.read_stdout() == "out\n" and said.read_stderr() == "err\n" and said.returncode == 0
    resources = dynamic.DynamicClient(api).resources
    pods = resources.get(api_version="v1", kind="Pod")
    assert [item.metadata.name for item in pods.get(namespace=namespace).items] == ["box"]
    cronjobs = resources.get(api_version="batch/v1", kind="CronJob")
    cronjobs.create(namespace=namespace, body={"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "tick"},
                                                "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": {"spec": {
                                                    "restartPolicy": "OnFailure",
                                                    "containers": [{"name": "c", "image": "busybox:1.36", "command": ["date"]}]}}}}}})
    assert cronjobs.get(name="tick", namespace=namespace).spec.concurrencyPolicy == "Allow"
