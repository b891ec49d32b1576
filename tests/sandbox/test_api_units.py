"""The sandbox's pure pieces: patches, selectors, durations, strict decoding."""

from __future__ import annotations

import pytest

from labrunner.sandbox.patches import json_patch, merge_patch
from labrunner.sandbox.openapi import unknown_fields
from labrunner.sandbox.selectors import SelectorError, field_selector, label_selector
from labrunner.sandbox.tables import human_duration


def test_merge_patch_merges_objects_deletes_nulls_and_replaces_lists() -> None:
    target = {"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"ports": [1, 2]}}
    patch = {"metadata": {"labels": {"b": None, "c": "3"}}, "spec": {"ports": [3]}}
    assert merge_patch(target, patch) == {"metadata": {"labels": {"a": "1", "c": "3"}}, "spec": {"ports": [3]}}
    assert target["metadata"]["labels"] == {"a": "1", "b": "2"}  # untouched


def test_json_patch_operations() -> None:
    document = {"spec": {"type": "ClusterIP", "ports": [{"port": 80}]}}
    patched = json_patch(document, [
        {"op": "replace", "path": "/spec/type", "value": "NodePort"},
        {"op": "add", "path": "/spec/ports/-", "value": {"port": 443}},
        {"op": "add", "path": "/metadata", "value": {"labels": {"a/b": "x"}}},
        {"op": "test", "path": "/metadata/labels/a~1b", "value": "x"},
        {"op": "remove", "path": "/spec/ports/0"},
    ])
    assert patched == {"spec": {"type": "NodePort", "ports": [{"port": 443}]}, "metadata": {"labels": {"a/b": "x"}}}
    with pytest.raises(ValueError, match="replace operation at '/spec/missing'"):
        json_patch(document, [{"op": "replace", "path": "/spec/missing", "value": 1}])


def test_label_selectors() -> None:
    labels = {"app": "web", "tier": "front"}
    assert label_selector("app=web,tier in (front,back)")(labels)
    assert label_selector("app==web,!legacy")(labels)
    assert not label_selector("app!=web")(labels)
    assert label_selector("env notin (prod)")(labels)  # absent keys are not in any set
    assert not label_selector("tier")({"app": "web"})
    assert label_selector("")(labels)
    with pytest.raises(SelectorError):
        label_selector("app in web")


def test_field_selectors_refuse_what_they_do_not_know() -> None:
    pod = {"metadata": {"name": "web-1", "namespace": "shop"}, "status": {"phase": "Running"}}
    assert field_selector("metadata.name=web-1,status.phase!=Pending")(pod)
    with pytest.raises(SelectorError, match="field label not supported: spec.color"):
        field_selector("spec.color=blue")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(5, "5s"), (119, "119s"), (200, "3m20s"), (240, "4m"), (3 * 3600, "3h"), (5 * 3600 + 300, "5h5m"), (30 * 3600, "30h"),
     (3 * 86400 + 7200, "3d2h"), (40 * 86400, "40d"), (3 * 365 * 86400 + 40 * 86400, "3y40d")],
)
def test_ages_read_as_kubectl_prints_them(seconds: int, text: str) -> None:
    printed = human_duration(seconds)
    assert printed == text


def test_strict_decoding_finds_unknown_fields_but_not_map_keys() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x", "labels": {"anything": "goes"}},
           "spec": {"containers": [{"name": "c", "image": "busybox", "imagePullPolicy": "Never", "port": 80}], "restart": "Never"}}
    assert unknown_fields(pod, "", "v1", "Pod") == ["spec.containers[0].port", "spec.restart"]


def test_strategic_merge_follows_the_schemas_patch_metadata() -> None:
    from labrunner.sandbox.strategic import strategic_merge

    deployment = {"spec": {"template": {"spec": {"containers": [
        {"name": "web", "image": "nginx:1", "ports": [{"containerPort": 80}], "env": [{"name": "A", "value": "1"}]},
        {"name": "sidecar", "image": "busybox"},
    ]}}, "selector": {"matchLabels": {"app": "web"}}}}
    patch = {"spec": {"template": {"spec": {"containers": [
        {"name": "web", "env": [{"name": "B", "value": "2"}], "ports": [{"containerPort": 443}]},
        {"name": "sidecar", "$patch": "delete"},
    ]}}, "selector": {"matchLabels": {"tier": "front"}}}}
    merged = strategic_merge(deployment, patch, "apps", "v1", "Deployment")
    [web] = merged["spec"]["template"]["spec"]["containers"]
    assert web["image"] == "nginx:1"
    assert [e["name"] for e in web["env"]] == ["A", "B"]  # env merges by name
    assert [p["containerPort"] for p in web["ports"]] == [80, 443]  # ports merge by containerPort
    assert merged["spec"]["selector"]["matchLabels"] == {"app": "web", "tier": "front"}


def test_strategic_merge_replaces_lists_without_a_strategy_and_honours_directives() -> None:
    from labrunner.sandbox.strategic import strategic_merge

    policy = {"spec": {"policyTypes": ["Ingress"], "ingress": [{"from": [{"podSelector": {}}]}]}}
    merged = strategic_merge(policy, {"spec": {"policyTypes": ["Ingress", "Egress"], "ingress": [{"ports": [{"port": 80}]}]}},
                             "networking.k8s.io", "v1", "NetworkPolicy")
    assert merged["spec"] == {"policyTypes": ["Ingress", "Egress"], "ingress": [{"ports": [{"port": 80}]}]}  # atomic lists replace
    service = {"spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "name": "http"}]}}
    replaced = strategic_merge(service, {"spec": {"selector": {"$patch": "replace", "app": "api"}}}, "", "v1", "Service")
    assert replaced["spec"]["selector"] == {"app": "api"}


def test_every_part_of_the_sandbox_writes_the_same_status_bytes() -> None:
    import json

    from labrunner.sandbox.status import status, status_body

    body = status_body(404, "NotFound", 'pods "x" not found', {"name": "x", "kind": "pods"})
    response = status(404, "NotFound", 'pods "x" not found', {"name": "x", "kind": "pods"})
    # kube-apiserver's bytes: metav1.Status's field order (details before code), compact, a newline at the end
    assert response.status == 404 and response.text == (
        '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \\"x\\" not found",'
        '"reason":"NotFound","details":{"name":"x","kind":"pods"},"code":404}\n')
    assert json.loads(response.text) == body


def test_generated_names_use_apimachinerys_alphabet() -> None:
    from labrunner.sandbox.names import ALPHABET, random_suffix

    suffix = random_suffix()
    assert len(suffix) == 5 and set(suffix) <= set(ALPHABET)
    assert not set("aeiou013") & set(ALPHABET)
