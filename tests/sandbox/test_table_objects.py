"""Server-side tables carry each row's object as the request's ``includeObject`` asks: its
metadata by default, the whole object for ``kubectl get --sort-by`` (which sorts by any field of
it), so ``kubectl get events --sort-by=.lastTimestamp`` lists the events oldest first as it does
on a real cluster, where it listed nothing."""

from __future__ import annotations

from tests.sandboxes import Kubectl, eventually


def test_sort_by_a_field_outside_the_metadata(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    for name in ("first", "second"):
        kubectl("run", name, "-n", namespace, "--image=busybox:1.36", "--", "sleep", "3600")
        kubectl("wait", f"pod/{name}", "-n", namespace, "--for=condition=Ready", "--timeout=60s")
    rows = kubectl("get", "pods", "-n", namespace, "--sort-by=.status.startTime", "--no-headers").stdout.splitlines()
    assert [row.split()[0] for row in rows] == ["first", "second"]
    eventually(lambda: "Started" in kubectl("get", "events", "-n", namespace, "--sort-by=.lastTimestamp").stdout, "sorted events")
    events = kubectl("get", "events", "-n", namespace, "--sort-by=.lastTimestamp", "--no-headers").stdout.splitlines()
    assert events and events[0].split()[2] == "Scheduled", events
    raw = kubectl("get", "--raw", f"/api/v1/namespaces/{namespace}/pods").stdout
    assert '"kind":"PodList"' in raw
