"""Watches through the official kubernetes client: events in order, resuming from a
resourceVersion, and 410 Gone when the history no longer reaches back."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from kubernetes import client, config, watch

from labrunner.sandbox.files import SandboxFiles


@pytest.fixture(scope="module")
def core(sandbox: SandboxFiles) -> client.CoreV1Api:
    return client.CoreV1Api(config.new_client_from_config(config_file=str(sandbox.kubeconfig)))


def config_map(name: str, **labels: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels}, "data": {"k": "v"}}


def test_events_arrive_in_order(core: client.CoreV1Api) -> None:
    core.create_namespace({"metadata": {"name": "w1"}})
    seen: list[tuple[str, str]] = []

    def collect() -> None:
        stream = watch.Watch()
        for event in stream.stream(core.list_namespaced_config_map, "w1", timeout_seconds=5, label_selector="app=web"):
            seen.append((event["type"], event["object"].metadata.name))
            if event["type"] == "DELETED":
                stream.stop()

    thread = threading.Thread(target=collect)
    thread.start()
    time.sleep(0.5)
    core.create_namespaced_config_map("w1", config_map("a", app="web"))
    core.create_namespaced_config_map("w1", config_map("b", app="db"))  # filtered out by the selector
    core.patch_namespaced_config_map("a", "w1", {"data": {"k": "w"}})
    core.delete_namespaced_config_map("a", "w1")
    thread.join(timeout=10)
    assert seen == [("ADDED", "a"), ("MODIFIED", "a"), ("DELETED", "a")]


def test_a_watch_resumes_after_the_listed_resource_version(core: client.CoreV1Api) -> None:
    core.create_namespace({"metadata": {"name": "w2"}})
    core.create_namespaced_config_map("w2", config_map("before"))
    listed = core.list_namespaced_config_map("w2")
    core.create_namespaced_config_map("w2", config_map("after"))
    events = list(watch.Watch().stream(core.list_namespaced_config_map, "w2", resource_version=listed.metadata.resource_version, timeout_seconds=1))
    assert [(e["type"], e["object"].metadata.name) for e in events] == [("ADDED", "after")]


def test_a_watch_from_before_the_history_gets_410(core: client.CoreV1Api) -> None:
    response = core.list_namespaced_config_map("default", watch=True, resource_version="1", timeout_seconds=1, _preload_content=False)
    body = response.read().decode()
    assert '"code": 410' in body and '"reason": "Expired"' in body


def test_a_stale_resource_version_is_a_conflict(core: client.CoreV1Api) -> None:
    core.create_namespace({"metadata": {"name": "w3"}})
    created = core.create_namespaced_config_map("w3", config_map("c"))
    fresh = core.read_namespaced_config_map("c", "w3")
    fresh.data = {"k": "first"}
    core.replace_namespaced_config_map("c", "w3", fresh)
    created.data = {"k": "stale"}
    with pytest.raises(client.ApiException) as raised:
        core.replace_namespaced_config_map("c", "w3", created)
    assert raised.value.status == 409
    import json

    assert json.loads(raised.value.body)["message"].startswith('Operation cannot be fulfilled on configmaps "c": the object has been modified')
