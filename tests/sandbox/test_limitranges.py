"""LimitRange defaulting, validation and the LimitRanger plugin as pure functions, with the cases
of the Kubernetes docs (policy/limit-range, "Configure default memory requests and limits",
"Configure minimum and maximum CPU constraints")."""

from __future__ import annotations

from typing import Any

from labrunner.sandbox.limitranges import default_pod, pod_totals, problems, set_defaults, violations


def limit_range(*items: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": "limits", "namespace": "dev"}, "spec": {"limits": list(items)}}


def pod(*containers: dict[str, Any], init: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": list(containers)}
    if init:
        spec["initContainers"] = init
    return {"metadata": {"name": "web", "namespace": "dev"}, "spec": spec}


def container(name: str = "web", requests: dict[str, str] | None = None, limits: dict[str, str] | None = None,
              **extra: Any) -> dict[str, Any]:
    resources: dict[str, Any] = {}
    if requests:
        resources["requests"] = requests
    if limits:
        resources["limits"] = limits
    return {"name": name, "image": "nginx", "resources": resources, **extra}


def test_a_max_becomes_the_default_limit_and_the_default_limit_the_default_request() -> None:
    obj = limit_range({"type": "Container", "max": {"cpu": "800m"}, "min": {"cpu": "200m", "memory": "100Mi"}})
    set_defaults(obj)
    item = obj["spec"]["limits"][0]
    assert item["default"] == {"cpu": "800m"}
    assert item["defaultRequest"] == {"cpu": "800m", "memory": "100Mi"}  # the limit first, else the min
    pod_range = limit_range({"type": "Pod", "max": {"cpu": "2"}})
    set_defaults(pod_range)
    assert "default" not in pod_range["spec"]["limits"][0]


def test_validation_says_each_inconsistency_as_the_api_server_does() -> None:
    said = [str(error) for error in problems(limit_range(
        {"type": "Container", "min": {"cpu": "1"}, "max": {"cpu": "500m"}, "default": {"memory": "1Gi"},
         "defaultRequest": {"memory": "2Gi"}, "maxLimitRequestRatio": {"memory": "500m"}},
        {"type": "Pod", "default": {"cpu": "1"}},
        {"type": "PersistentVolumeClaim", "max": {"cpu": "1"}},
        {"type": "Node"}))]
    assert 'spec.limits[0].min[cpu]: Invalid value: "1": min value 1 is greater than max value 500m' in said
    assert ('spec.limits[0].defaultRequest[memory]: Invalid value: "2Gi": default request value 2Gi is greater than '
            "default limit value 1Gi") in said
    assert 'spec.limits[0].maxLimitRequestRatio[memory]: Invalid value: "500m": ratio 500m is less than 1' in said
    assert "spec.limits[1].default: Forbidden: may not be specified when `type` is 'Pod'" in said
    assert ("spec.limits[2].limits: Required value: either minimum or maximum storage value is required, "
            "but neither was provided") in said
    assert 'spec.limits[3].type: Unsupported value: "Node": supported values: "Container", "PersistentVolumeClaim", "Pod"' in said
    assert problems(limit_range({"type": "Container", "min": {"cpu": "100m"}, "max": {"cpu": "1"},
                                 "default": {"cpu": "500m"}, "defaultRequest": {"cpu": "200m"}})) == []


def test_defaults_fill_only_what_a_container_leaves_out_and_say_so() -> None:
    ranges = [limit_range({"type": "Container", "default": {"cpu": "500m", "memory": "512Mi"},
                           "defaultRequest": {"cpu": "250m", "memory": "256Mi"}})]
    obj = pod(container("web", requests={"memory": "100Mi"}, limits={"memory": "200Mi"}), container("log"),
              init=[container("setup")])
    default_pod(obj, ranges)
    web, log = obj["spec"]["containers"]
    assert web["resources"] == {"requests": {"memory": "100Mi", "cpu": "250m"}, "limits": {"memory": "200Mi", "cpu": "500m"}}
    assert log["resources"] == {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}}
    assert obj["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: cpu request for container web; cpu limit for container web; "
        "cpu, memory request for container log; cpu, memory limit for container log; "
        "cpu, memory request for init container setup; cpu, memory limit for init container setup")


def test_min_max_and_ratio_per_container_and_per_pod() -> None:
    ranges = [limit_range({"type": "Container", "min": {"cpu": "200m"}, "max": {"cpu": "800m", "memory": "1Gi"},
                           "maxLimitRequestRatio": {"memory": "2"}},
                          {"type": "Pod", "max": {"cpu": "1"}})]
    too_big = pod(container("web", requests={"cpu": "100m", "memory": "100Mi"}, limits={"cpu": "900m", "memory": "1Gi"}))
    assert violations(too_big, "pods", ranges) == [
        "minimum cpu usage per Container is 200m, but request is 100m",
        "maximum cpu usage per Container is 800m, but limit is 900m",
        "memory max limit to request ratio per Container is 2, but provided ratio is 10.240000",
    ]
    no_limit = pod(container("web", requests={"cpu": "300m", "memory": "600Mi"}))
    assert "maximum memory usage per Container is 1Gi.  No limit is specified" in violations(no_limit, "pods", ranges)
    two = pod(container("a", requests={"cpu": "500m", "memory": "1Gi"}, limits={"cpu": "600m", "memory": "1Gi"}),
              container("b", requests={"cpu": "500m", "memory": "1Gi"}, limits={"cpu": "600m", "memory": "1Gi"}))
    assert violations(two, "pods", ranges) == ["maximum cpu usage per Pod is 1, but limit is 1200m"]


def test_a_claims_storage_request_between_min_and_max() -> None:
    ranges = [limit_range({"type": "PersistentVolumeClaim", "min": {"storage": "1Gi"}, "max": {"storage": "2Gi"}})]
    claim = {"spec": {"resources": {"requests": {"storage": "5Gi"}}}}
    assert violations(claim, "persistentvolumeclaims", ranges) == ["maximum storage usage per PersistentVolumeClaim is 2Gi, but request is 5Gi"]
    claim["spec"]["resources"]["requests"]["storage"] = "500Mi"
    assert violations(claim, "persistentvolumeclaims", ranges) == ["minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 500Mi"]


def test_pod_totals_take_the_largest_init_container_and_add_sidecars() -> None:
    obj = pod(container("a", requests={"cpu": "100m"}), container("b", requests={"cpu": "200m"}),
              init=[container("migrate", requests={"cpu": "1"}), container("proxy", requests={"cpu": "50m"}, restartPolicy="Always")])
    assert str(pod_totals(obj, "requests")["cpu"]) == "1"  # max(100m+200m+50m, 1)
    obj["spec"]["initContainers"].reverse()  # the sidecar starts first: it runs beside migrate
    assert str(pod_totals(obj, "requests")["cpu"]) == "1050m"
