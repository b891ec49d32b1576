"""The workloads topic's checks against the classic mistakes, each diagnosis naming the object,
the field and the value, and against correct variants written other ways (imperative or YAML,
other names where the task allows). Recorded objects for the reading; the shared sandbox where
a real controller matters (a ReplicaSet scaled back, the HPA's condition, stale env vars)."""

from __future__ import annotations

import builtins
import copy
from typing import Any

import pytest

from labrunner.cluster import errors
from labrunner.cluster.port import ExecResult
from labrunner.lab.check_args import CheckArgs
from labrunner.registry import registry
from labrunner.registry.types import CheckContext, Outcome
from tests.sandboxes import Kubectl, eventually

NS = "wl"


class Recorded:
    """Objects by plural, read as the cluster port reads them (selectors of ``k=v`` terms),
    with events by involved object and each pod's environment for exec."""

    def __init__(self, *objects: dict[str, Any], events: dict[str, list[str]] | None = None,
                 env: dict[str, dict[str, str]] | None = None) -> None:
        plurals = {"Deployment": "deployments", "ReplicaSet": "replicasets", "Pod": "pods", "ConfigMap": "configmaps",
                   "Secret": "secrets", "Job": "jobs", "CronJob": "cronjobs", "HorizontalPodAutoscaler": "horizontalpodautoscalers"}
        self.objects: dict[str, list[dict[str, Any]]] = {}
        for obj in objects:
            obj["metadata"].setdefault("namespace", NS)
            self.objects.setdefault(plurals[obj["kind"]], []).append(obj)
        self.recorded_events = events or {}
        self.env = env or {}

    def list(self, kind: str, namespace: str | None = None, *, labels: str = "", fields: str = "") -> list[dict[str, Any]]:
        terms = [term.split("=", 1) for term in labels.split(",") if "=" in term]
        return [obj for obj in self.objects.get(kind, []) if obj["metadata"].get("namespace") == namespace
                and all((obj["metadata"].get("labels") or {}).get(k) == v for k, v in terms)]

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        for obj in self.list(kind, namespace):
            if obj["metadata"]["name"] == name:
                return obj
        raise errors.NotFound(f'{kind} "{name}" not found')

    def events(self, namespace: str, *, involved: str | None = None) -> builtins.list[dict[str, Any]]:
        return [{"reason": "Event", "message": message} for message in self.recorded_events.get(str(involved), [])]

    def exec(self, pod: str, namespace: str, command: builtins.list[str], *, container: str | None = None,
             stdin: str | None = None, timeout: float = 30.0) -> ExecResult:
        variable = command[-1].split()[-1]
        return ExecResult(self.env.get(pod, {}).get(variable, ""), "", 0)

    def logs(self, pod: str, namespace: str, *, container: str | None = None, tail: int | None = None) -> str:
        return "3\n2\nboom: cannot reach the API\n"


def run(cluster: Any, **declaration: Any) -> Outcome:
    kind = registry().kind(declaration["kind"])
    assert kind is not None
    args: CheckArgs = kind.model.model_validate({"says": "it holds", "namespace": NS, **declaration})
    return kind.run(args, CheckContext(cluster))


def deployment(name: str = "web", *, replicas: int = 4, image: str = "nginx:1.27", uid: str = "d1",
               ready: int | None = None, **pod_spec: Any) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "nginx", "image": image}
    container.update(pod_spec.pop("container", {}))
    ready = replicas if ready is None else ready
    return {"kind": "Deployment", "metadata": {"name": name, "uid": uid, "generation": 3, "labels": {"app": name}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "strategy": pod_spec.pop("strategy", {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}),
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [container, *pod_spec.pop("more", [])], **pod_spec}}},
            "status": {"observedGeneration": 3, "replicas": replicas, "updatedReplicas": replicas, "readyReplicas": ready,
                       "availableReplicas": ready}}


def replica_set(name: str, owner: dict[str, Any], revision: int, image: str, *, replicas: int, ready: int) -> dict[str, Any]:
    return {"kind": "ReplicaSet", "metadata": {"name": name, "labels": {"app": "web", "pod-template-hash": name[-5:]},
                                                "annotations": {"deployment.kubernetes.io/revision": str(revision)},
                                                "ownerReferences": [{"uid": owner["metadata"]["uid"]}]},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web", "pod-template-hash": name[-5:]}},
                     "template": {"spec": {"containers": [{"name": "nginx", "image": image}]}}},
            "status": {"replicas": replicas, "readyReplicas": ready}}


def pod(name: str, labels: dict[str, str], *, waiting: str | None = None, image: str = "nginx:1.27",
        restarts: int = 0, init: list[dict[str, Any]] | None = None, phase: str = "Running") -> dict[str, Any]:
    state = {"waiting": {"reason": waiting}} if waiting else {"running": {}}
    return {"kind": "Pod", "metadata": {"name": name, "labels": labels}, "spec": {"nodeName": "node-1"},
            "status": {"phase": phase, "containerStatuses": [{"name": "nginx", "image": image, "ready": not waiting,
                                                              "restartCount": restarts, "state": state}],
                       "initContainerStatuses": init or []}}


def failed(outcome: Outcome, *texts: str) -> str:
    status, message, details = outcome
    said = " ".join([message, *details])
    assert status == "failed", outcome
    for text in texts:
        assert text in said, f"{text!r} not in {said!r}"
    return said


def says(outcome: Outcome, first: str, *details: str) -> list[str]:
    """The check fails with ``first`` as its sentence (the object, the field and the value), each of
    ``details`` in the evidence below it."""
    status, message, evidence = outcome
    assert (status, message) == ("failed", first), outcome
    for text in details:
        assert any(text in line for line in evidence), f"{text!r} not in {evidence!r}"
    return list(evidence)


def passed(outcome: Outcome) -> None:
    assert outcome[0] == "passed", outcome


# -- Deployments: scaling, rolling updates, rollbacks ----------------------------------------------


def test_scaling_the_replica_set_instead_of_the_deployment_is_named() -> None:
    web = deployment(replicas=2)
    cluster = Recorded(web, events={"web": ["Scaled up replica set web-abcde from 0 to 2",
                                            "Scaled down replica set web-abcde from 4 to 2"]})
    failed(run(cluster, kind="deployment-rollout", name="web", replicas=4),
           "deployment web: spec.replicas is 2, not 4", "replicaset web-abcde was scaled to 4",
           "kubectl scale deployment/web --replicas=4")


def test_a_deployment_scaled_down_by_itself_is_not_blamed_on_its_replica_set() -> None:
    web = deployment(replicas=2)
    cluster = Recorded(web, events={"web": ["Scaled up replica set web-abcde from 2 to 4",
                                            "Scaled down replica set web-abcde from 4 to 2"]})
    said = failed(run(cluster, kind="deployment-rollout", name="web", replicas=4), "deployment web: spec.replicas is 2; this step wants 4")
    assert "replicaset" not in said
    autoscaled = Recorded(web, {"kind": "HorizontalPodAutoscaler", "metadata": {"name": "web"},
                                "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 2, "maxReplicas": 6}})
    says(run(autoscaled, kind="deployment-rollout", name="web", replicas=4),
         "deployment web: spec.replicas is 2; this step wants 4, but hpa web (min 2, max 6) sets it now",
         "a kubectl scale is undone at the autoscaler's next look")


def test_replicas_not_changed_at_all_is_said_plainly() -> None:
    failed(run(Recorded(deployment(replicas=2)), kind="deployment-rollout", name="web", replicas=4),
           "deployment web: spec.replicas is 2; this step wants 4")


def test_editing_the_replica_set_s_image_instead_of_the_deployment_s() -> None:
    web = deployment(image="nginx:1.26")
    edited = replica_set("web-aaaaa", web, 1, "nginx:1.27", replicas=4, ready=4)
    said = failed(run(Recorded(web, edited), kind="deployment-rollout", name="web", image="nginx:1.27", container="nginx"),
                  "spec.template.spec.containers[0].image (nginx) is 'nginx:1.26'; this step wants 'nginx:1.27'",
                  "replicaset web-aaaaa has nginx:1.27 in its template")
    assert "kubectl set image deployment/web" in said


def test_a_rollout_left_paused() -> None:
    web = deployment()
    web["spec"]["paused"] = True
    says(run(Recorded(web), kind="deployment-rollout", name="web", image="nginx:1.27"),
         "deployment web: spec.paused is true: the rollout is paused",
         "template changes wait and no new ReplicaSet is made", "kubectl rollout resume deployment/web")


def test_the_strategy_s_fields_are_named_with_their_values() -> None:
    failed(run(Recorded(deployment()), kind="deployment-rollout", name="web", max_surge=1, max_unavailable=0),
           "spec.strategy.rollingUpdate.maxSurge is '25%'; this step wants 1")
    recreate = deployment(strategy={"type": "Recreate"})
    says(run(Recorded(recreate), kind="deployment-rollout", name="web", max_surge=1, max_unavailable=0),
         "deployment web: spec.strategy.type is 'Recreate'; this step wants RollingUpdate",
         "Recreate stops every old pod before starting new ones")


def test_a_bad_image_blocks_the_rollout_and_is_named() -> None:
    web = deployment(image="ngnix:1.27", ready=4)
    web["status"]["updatedReplicas"] = 1
    web["status"]["replicas"] = 5
    cluster = Recorded(web, pod("web-bbbbb-1", {"app": "web"}, waiting="ImagePullBackOff", image="ngnix:1.27"))
    failed(run(cluster, kind="deployment-rollout", name="web", image="nginx:1.27"),
           "containers[0].image (nginx) is 'ngnix:1.27'; this step wants 'nginx:1.27'")
    says(run(cluster, kind="deployment-rollout", name="web"),
         "deployment web is rolling out: pod web-bbbbb-1 cannot pull image 'ngnix:1.27' (ImagePullBackOff)",
         "check the image name and tag", "deployment web is rolling out: 1/4 updated, 4 ready, 4 old pod(s) left")


def test_rollout_stuck_before_the_bad_image_and_after_an_outage() -> None:
    web = deployment()
    old = replica_set("web-aaaaa", web, 1, "nginx:1.27", replicas=4, ready=4)
    failed(run(Recorded(web, old), kind="rollout-stuck", name="web"), "deployment web has one ReplicaSet")
    new = replica_set("web-bbbbb", web, 2, "nginx:1.28", replicas=1, ready=1)
    says(run(Recorded(web, old, new), kind="rollout-stuck", name="web"),
         "deployment web's newest replicaset web-bbbbb (nginx:1.28) has no pod failing to pull its image",
         "this step wants a rollout stuck on an image that does not exist")
    broken = replica_set("web-bbbbb", web, 2, "ngnix:1.27", replicas=4, ready=0)
    empty = replica_set("web-aaaaa", web, 1, "nginx:1.27", replicas=0, ready=0)
    bad_pod = pod("web-bbbbb-1", {"app": "web", "pod-template-hash": "bbbbb"}, waiting="ErrImagePull", image="ngnix:1.27")
    says(run(Recorded(web, empty, broken, bad_pod), kind="rollout-stuck", name="web"),
         "deployment web: no pod of an older ReplicaSet is ready: the bad image took the whole Deployment down",
         "is maxUnavailable 100%, or the strategy Recreate? (it has spec.strategy.type RollingUpdate, maxUnavailable 25%)",
         "pod web-bbbbb-1 cannot pull image 'ngnix:1.27' (ErrImagePull): check the image name and tag")


def test_rollout_stuck_passes_while_the_old_version_serves() -> None:
    web = deployment()
    old = replica_set("web-aaaaa", web, 1, "nginx:1.27", replicas=4, ready=4)
    broken = replica_set("web-bbbbb", web, 2, "ngnix:1.27", replicas=1, ready=0)
    bad_pod = pod("web-bbbbb-1", {"app": "web", "pod-template-hash": "bbbbb"}, waiting="ErrImagePull", image="ngnix:1.27")
    passed(run(Recorded(web, old, broken, bad_pod), kind="rollout-stuck", name="web"))


def test_correct_variants_of_a_rollout() -> None:
    # YAML with the image spelt in full, percentages written as strings, maxSurge "1" as an int.
    web = deployment(image="docker.io/library/nginx:1.27",
                     strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}})
    passed(run(Recorded(web), kind="deployment-rollout", name="web", replicas=4, image="nginx:1.27", container="nginx",
               max_surge=1, max_unavailable=0))
    percent = deployment(strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}})
    passed(run(Recorded(percent), kind="deployment-rollout", name="web", max_surge="25%"))


# -- ConfigMaps and Secrets -------------------------------------------------------------------------


CONFIG: dict[str, Any] = {"kind": "ConfigMap", "metadata": {"name": "web-config"}, "data": {"COLOR": "blue", "GREETING": "hi"}}
SECRET: dict[str, Any] = {"kind": "Secret", "metadata": {"name": "web-secret"}, "data": {"API_KEY": "czNjcjN0"}}


def test_env_from_a_configmap_that_does_not_exist() -> None:
    web = deployment(container={"envFrom": [{"configMapRef": {"name": "web-conf"}}]})
    says(run(Recorded(web, copy.deepcopy(CONFIG)), kind="config-consumed", deployment="web", configmap="web-config", env=True),
         "deployment web: spec.template.spec.containers[0].envFrom[0].configMapRef.name is 'web-conf', not 'web-config'",
         "no configmap web-conf exists, so the pod waits in CreateContainerConfigError")


def test_env_key_the_configmap_lacks() -> None:
    web = deployment(container={"env": [{"name": "COLOR", "valueFrom": {"configMapKeyRef": {"name": "web-config", "key": "colour"}}}]})
    says(run(Recorded(web, copy.deepcopy(CONFIG)), kind="config-consumed", deployment="web", configmap="web-config", env=True),
         "deployment web: spec.template.spec.containers[0].env[0].valueFrom.configMapKeyRef.key is 'colour', "
         "which is not a key of configmap web-config", "configmap web-config has COLOR, GREETING")


def test_a_secret_referenced_as_a_configmap() -> None:
    web = deployment(container={"envFrom": [{"configMapRef": {"name": "web-secret"}}]})
    says(run(Recorded(web, copy.deepcopy(SECRET)), kind="config-consumed", deployment="web", secret="web-secret", env=True),
         "deployment web: spec.template.spec.containers[0].envFrom[0].configMapRef.name names web-secret, which is a secret",
         "it names web-secret through configMapKeyRef/configMapRef: web-secret is a secret, so reference it as one "
         "(secretKeyRef/secretRef)")


def test_a_secret_mounted_as_a_configmap_volume() -> None:
    web = deployment(volumes=[{"name": "secret", "configMap": {"name": "web-secret"}}],
                     container={"volumeMounts": [{"name": "secret", "mountPath": "/etc/secret"}]})
    says(run(Recorded(web, copy.deepcopy(SECRET)), kind="config-consumed", deployment="web", secret="web-secret", files_at="/etc/secret"),
         "deployment web: volume secret is a configMap volume naming web-secret, which is a Secret",
         "mount it with secret: {secretName: web-secret}")


def test_a_configmap_mounted_at_the_wrong_path_or_with_sub_path() -> None:
    volumes = [{"name": "config", "configMap": {"name": "web-config"}}]
    wrong = deployment(volumes=volumes, container={"volumeMounts": [{"name": "config", "mountPath": "/etc/webb"}]})
    failed(run(Recorded(wrong, copy.deepcopy(CONFIG)), kind="config-consumed", deployment="web", configmap="web-config", files_at="/etc/web"),
           "containers[0].volumeMounts[0].mountPath is '/etc/webb'; this step wants '/etc/web'")
    sub = deployment(volumes=volumes, container={"volumeMounts": [{"name": "config", "mountPath": "/etc/web/COLOR", "subPath": "COLOR"}]})
    says(run(Recorded(sub, copy.deepcopy(CONFIG)), kind="config-consumed", deployment="web", configmap="web-config", files_at="/etc/web"),
         "deployment web: spec.template.spec.containers[0].volumeMounts[0].subPath is 'COLOR'; this step wants the whole configmap under /etc/web",
         "it mounts one key with subPath 'COLOR' at '/etc/web/COLOR'",
         "a subPath mount never sees the configmap's later edits on a real kubelet")


def test_a_volume_declared_but_not_mounted() -> None:
    web = deployment(volumes=[{"name": "config", "configMap": {"name": "web-config"}}])
    failed(run(Recorded(web, copy.deepcopy(CONFIG)), kind="config-consumed", deployment="web", configmap="web-config", files_at="/etc/web"),
           "volume config is declared but no container mounts it")


def test_correct_variants_of_configuration() -> None:
    # One key by valueFrom (YAML) instead of envFrom (kubectl set env), a trailing slash on the mount.
    web = deployment(volumes=[{"name": "cfg", "configMap": {"name": "web-config"}}],
                     container={"env": [{"name": "COLOR", "valueFrom": {"configMapKeyRef": {"name": "web-config", "key": "COLOR"}}}],
                                "volumeMounts": [{"name": "cfg", "mountPath": "/etc/web/"}]})
    passed(run(Recorded(web, copy.deepcopy(CONFIG)), kind="config-consumed", deployment="web", configmap="web-config", env=True, files_at="/etc/web"))
    secret = deployment(volumes=[{"name": "s", "secret": {"secretName": "web-secret"}}],
                        container={"envFrom": [{"secretRef": {"name": "web-secret"}}], "volumeMounts": [{"name": "s", "mountPath": "/etc/secret"}]})
    passed(run(Recorded(secret, copy.deepcopy(SECRET)), kind="config-consumed", deployment="web", secret="web-secret", env=True, files_at="/etc/secret"))


def test_a_configmap_change_expected_to_reach_env_without_a_restart() -> None:
    config = copy.deepcopy(CONFIG)
    config["data"]["COLOR"] = "green"
    cluster = Recorded(deployment(replicas=2), config, pod("web-a-1", {"app": "web"}), pod("web-a-2", {"app": "web"}),
                       env={"web-a-1": {"COLOR": "blue"}, "web-a-2": {"COLOR": "blue"}})
    failed(run(cluster, kind="env-matches-configmap", deployment="web", configmap="web-config", key="COLOR", value="green"),
           "pod web-a-1: environment variable COLOR is 'blue', while configmap web-config says 'green'",
           "kubectl rollout restart deployment/web", "pod web-a-2 also has COLOR='blue'")
    cluster.env = {"web-a-1": {"COLOR": "green"}, "web-a-2": {"COLOR": "green"}}
    passed(run(cluster, kind="env-matches-configmap", deployment="web", configmap="web-config", key="COLOR", value="green"))


def test_the_configmap_itself_not_changed() -> None:
    failed(run(Recorded(deployment(), copy.deepcopy(CONFIG)), kind="env-matches-configmap", deployment="web",
               configmap="web-config", key="COLOR", value="green"),
           "configmap web-config: data.COLOR is 'blue'; this step wants 'green'")


# -- resources and probes ---------------------------------------------------------------------------


RESOURCES = {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "250m", "memory": "128Mi"}}


def test_memory_in_powers_of_ten_and_cpu_in_whole_cores() -> None:
    megabytes = deployment(container={"resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "250m", "memory": "128M"}}})
    says(run(Recorded(megabytes), kind="container-resources", deployment="web", **RESOURCES),
         "deployment web: spec.template.spec.containers[0].resources.limits.memory is '128M'; this step wants 128Mi",
         "M, G are powers of ten; Mi, Gi powers of two: 128M is 128,000,000 bytes, 128Mi is 134,217,728")
    cores = deployment(container={"resources": {"requests": {"cpu": "100", "memory": "64Mi"}}})
    says(run(Recorded(cores), kind="container-resources", deployment="web", **RESOURCES),
         "deployment web: spec.template.spec.containers[0].resources.requests.cpu is '100'; this step wants 100m",
         "100 is 100 whole CPUs; a thousandth of a CPU is written 1m")
    missing = deployment(container={"resources": {"requests": {"cpu": "100m"}}})
    failed(run(Recorded(missing), kind="container-resources", deployment="web", **RESOURCES),
           "resources.requests.memory is not set; this step wants 64Mi")


def test_correct_variant_resources_written_as_other_quantities() -> None:
    web = deployment(container={"resources": {"requests": {"cpu": "0.1", "memory": "67108864"}, "limits": {"cpu": "250m", "memory": "0.125Gi"}}})
    passed(run(Recorded(web), kind="container-resources", deployment="web", container="nginx", **RESOURCES))


PORTS = [{"name": "http", "containerPort": 80}]


def test_a_probe_on_the_wrong_port() -> None:
    web = deployment(container={"ports": PORTS, "readinessProbe": {"httpGet": {"path": "/", "port": 8080}},
                                "livenessProbe": {"tcpSocket": {"port": "http"}}})
    failed(run(Recorded(web), kind="probes-configured", deployment="web"),
           "containers[0].readinessProbe.httpGet.port is 8080, but the container listens on http=80")
    named = deployment(container={"ports": PORTS, "readinessProbe": {"httpGet": {"path": "/", "port": "http"}},
                                  "livenessProbe": {"tcpSocket": {"port": "web"}}})
    says(run(Recorded(named), kind="probes-configured", deployment="web"),
         "deployment web: spec.template.spec.containers[0].livenessProbe.tcpSocket.port is 'web', a port name the container does not declare",
         "it declares http=80")


def test_a_missing_liveness_probe() -> None:
    web = deployment(container={"ports": PORTS, "readinessProbe": {"httpGet": {"path": "/", "port": 80}}})
    failed(run(Recorded(web), kind="probes-configured", deployment="web"), "containers[0].livenessProbe is not set")


def test_liveness_restarts_are_quoted() -> None:
    web = deployment(replicas=1, container={"ports": PORTS, "readinessProbe": {"httpGet": {"port": 80}},
                                             "livenessProbe": {"httpGet": {"path": "/healthz", "port": 80}}})
    restarting = pod("web-a-1", {"app": "web"}, restarts=3)
    cluster = Recorded(web, restarting, events={"web-a-1": ["Liveness probe failed: HTTP probe failed with statuscode: 404"]})
    says(run(cluster, kind="probes-configured", deployment="web"),
         "container nginx of pod web-a-1 restarted 3 time(s): its livenessProbe (httpGet /healthz on port 80) fails",
         "the kubelet: Liveness probe failed: HTTP probe failed with statuscode: 404",
         "the kubelet kills a container whose liveness probe fails")


def test_correct_variant_probes_by_number_and_exec() -> None:
    web = deployment(container={"ports": [{"containerPort": 80}], "readinessProbe": {"tcpSocket": {"port": 80}},
                                "livenessProbe": {"exec": {"command": ["sh", "-c", "pidof nginx"]}}})
    passed(run(Recorded(web), kind="probes-configured", deployment="web"))


# -- native sidecars ----------------------------------------------------------------------------------


LOGS = [{"name": "logs", "emptyDir": {}}]
MOUNT = [{"name": "logs", "mountPath": "/var/log/app"}]
APP = {"name": "app", "image": "busybox:1.36", "volumeMounts": MOUNT}


def logger(**pod_spec: Any) -> dict[str, Any]:
    made = deployment("logger", replicas=1, image="busybox:1.36", **pod_spec)
    made["spec"]["template"]["spec"]["containers"][0] = dict(APP)
    return made


def test_a_sidecar_under_containers() -> None:
    wrong = logger(volumes=LOGS, more=[{"name": "log-tail", "image": "busybox:1.36", "volumeMounts": MOUNT}])
    says(run(Recorded(wrong), kind="native-sidecar", deployment="logger"),
         "deployment logger: container log-tail is under spec.template.spec.containers[1], not initContainers with restartPolicy: Always",
         "a native sidecar goes under initContainers with restartPolicy: Always, so it starts before the app")


def test_a_sidecar_without_restart_policy_always() -> None:
    plain = logger(volumes=LOGS, initContainers=[{"name": "log-tail", "image": "busybox:1.36", "volumeMounts": MOUNT}])
    says(run(Recorded(plain), kind="native-sidecar", deployment="logger"),
         "deployment logger: spec.template.spec.initContainers[0] (log-tail) has no restartPolicy: Always",
         "so it is a plain init container", "(the pod stays Init:0/1)", "add restartPolicy: Always to that init container")


def test_a_sidecar_sharing_no_volume() -> None:
    apart = logger(volumes=[*LOGS, {"name": "other", "emptyDir": {}}],
                   initContainers=[{"name": "log-tail", "restartPolicy": "Always", "volumeMounts": [{"name": "other", "mountPath": "/x"}]}])
    failed(run(Recorded(apart), kind="native-sidecar", deployment="logger"),
           "the sidecar log-tail (initContainers[0]) mounts other and the app's containers mount logs")


def test_a_sidecar_whose_command_ends() -> None:
    sidecar = [{"name": "log-tail", "restartPolicy": "Always", "volumeMounts": MOUNT}]
    crash = [{"name": "log-tail", "state": {"waiting": {"reason": "CrashLoopBackOff"}},
              "lastState": {"terminated": {"exitCode": 0}}}]
    cluster = Recorded(logger(volumes=LOGS, initContainers=sidecar), pod("logger-a-1", {"app": "logger"}, init=crash))
    says(run(cluster, kind="native-sidecar", deployment="logger"),
         "sidecar log-tail of pod logger-a-1 keeps exiting (Init:CrashLoopBackOff, last exit code 0)",
         "a sidecar must run as long as the app; its command ends")


def test_correct_variant_sidecar_of_any_name() -> None:
    sidecar = [{"name": "shipper", "restartPolicy": "Always", "volumeMounts": [{"name": "logs", "mountPath": "/logs"}]}]
    passed(run(Recorded(logger(volumes=LOGS, initContainers=sidecar)), kind="native-sidecar", deployment="logger"))


# -- Jobs, CronJobs, HPAs ---------------------------------------------------------------------------


def job(name: str, *, conditions: list[dict[str, str]], owner: str | None = None, **status: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "uid": f"u-{name}"}
    if owner:
        metadata["ownerReferences"] = [{"uid": owner}]
    return {"kind": "Job", "metadata": metadata,
            "spec": {"completions": 3, "backoffLimit": 4, "selector": {"matchLabels": {"job-name": name}}},
            "status": {"conditions": conditions, **status}}


def test_a_job_refused_for_restart_policy_always_is_explained() -> None:
    failed(run(Recorded(), kind="job-complete", name="countdown"),
           "job countdown does not exist", 'spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"',
           "set restartPolicy: Never or OnFailure")


def test_a_failed_job_says_why_with_its_logs() -> None:
    broken = job("countdown", conditions=[{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                                           "message": "Job has reached the specified backoff limit"}], failed=5)
    failing_pod = pod("countdown-x", {"job-name": "countdown"}, phase="Failed")
    failed(run(Recorded(broken, failing_pod), kind="job-complete", name="countdown"),
           "job countdown has failed (BackoffLimitExceeded)", "boom: cannot reach the API")


def test_a_job_with_other_completions_and_a_complete_one() -> None:
    done = job("countdown", conditions=[{"type": "Complete", "status": "True"}], succeeded=3)
    failed(run(Recorded(copy.deepcopy(done)), kind="job-complete", name="countdown", completions=5),
           "job countdown: spec.completions is 3; this step wants 5")
    passed(run(Recorded(done), kind="job-complete", name="countdown", completions=3))


CRON: dict[str, Any] = {"kind": "CronJob", "metadata": {"name": "report", "uid": "c1"}, "spec": {"schedule": "*/5 * * * *"}}


def test_cronjob_suspended_wrong_schedule_or_never_run() -> None:
    suspended = copy.deepcopy(CRON)
    suspended["spec"]["suspend"] = True
    failed(run(Recorded(suspended), kind="cronjob-ran", name="report"), "cronjob report: spec.suspend is true")
    failed(run(Recorded(copy.deepcopy(CRON)), kind="cronjob-ran", name="report", schedule="*/10 * * * *"),
           "cronjob report: spec.schedule is '*/5 * * * *'; this step wants '*/10 * * * *'")
    failed(run(Recorded(copy.deepcopy(CRON)), kind="cronjob-ran", name="report"),
           "cronjob report has run no Job yet", "kubectl create job report-now --from=cronjob/report")


def test_correct_variant_cronjob_run_by_hand_under_any_name() -> None:
    manual = job("whatever", conditions=[{"type": "Complete", "status": "True"}], owner="c1", succeeded=1)
    passed(run(Recorded(copy.deepcopy(CRON), manual), kind="cronjob-ran", name="report", schedule="*/5  * * * *"))


def hpa(target_kind: str = "Deployment", target: str = "web", *, active: dict[str, str] | None = None, low: int = 2) -> dict[str, Any]:
    return {"kind": "HorizontalPodAutoscaler", "metadata": {"name": "web-hpa"},
            "spec": {"scaleTargetRef": {"kind": target_kind, "name": target}, "minReplicas": low, "maxReplicas": 6,
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]},
            "status": {"currentReplicas": 4, "conditions": [{"type": "ScalingActive", **(active or {"status": "True"})}]}}


def test_an_hpa_on_a_deployment_without_cpu_requests() -> None:
    missing = {"status": "False", "reason": "FailedGetResourceMetric",
               "message": "the HPA was unable to compute the replica count: failed to get cpu utilization: "
                          "missing request for cpu in container nginx of Pod web-a-1"}
    says(run(Recorded(deployment(), hpa(active=missing)), kind="hpa-scales", deployment="web", cpu_percent=50),
         "hpa web-hpa cannot get CPU utilization: deployment web's spec.template.spec.containers[0] (nginx) has no resources.requests.cpu",
         "its condition ScalingActive is False (FailedGetResourceMetric): the HPA was unable to compute the replica count: "
         "failed to get cpu utilization: missing request for cpu in container nginx of Pod web-a-1",
         "as a percentage of each container's CPU request", "kubectl set resources deployment/web --requests=cpu=100m")
    other = {"status": "False", "reason": "FailedGetResourceMetric", "message": "unable to get metrics for resource cpu"}
    says(run(Recorded(deployment(), hpa(active=other)), kind="hpa-scales", deployment="web"),
         "hpa web-hpa: condition ScalingActive is False (FailedGetResourceMetric)", "unable to get metrics for resource cpu")


def test_an_hpa_on_the_replica_set_or_with_other_bounds() -> None:
    says(run(Recorded(deployment(), hpa("ReplicaSet", "web-abcde")), kind="hpa-scales", deployment="web"),
         "hpa web-hpa: spec.scaleTargetRef is ReplicaSet web-abcde; this step wants Deployment web",
         "a ReplicaSet the Deployment owns is resized back by the Deployment")
    failed(run(Recorded(deployment(), hpa(low=1)), kind="hpa-scales", deployment="web", min_replicas=2),
           "hpa web-hpa: spec.minReplicas is 1; this step wants 2")


def test_correct_variant_hpa_of_any_name() -> None:
    passed(run(Recorded(deployment(), hpa()), kind="hpa-scales", deployment="web", min_replicas=2, max_replicas=6, cpu_percent=50))


# -- on the sandbox, where a controller's answer is the lesson ----------------------------------------


def _sandbox_run(cluster: Any, namespace: str, **declaration: Any) -> Outcome:
    kind = registry().kind(declaration["kind"])
    assert kind is not None
    args: CheckArgs = kind.model.model_validate({"says": "it holds", "namespace": namespace, **declaration})
    return kind.run(args, CheckContext(cluster))


def test_on_the_sandbox_a_replica_set_scaled_back_and_an_hpa_missing_cpu_requests(
        kubectl: Kubectl, cluster: Any, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "deployment", "web", "--image=nginx:1.27", "--replicas=2", "-n", namespace)
    eventually(lambda: _sandbox_run(cluster, namespace, kind="deployment-rollout", name="web")[0] == "passed", "web rolled out")
    owned = kubectl("get", "rs", "-n", namespace, "-o", "jsonpath={.items[0].metadata.name}").stdout
    kubectl("scale", "rs", owned, "--replicas=4", "-n", namespace)
    eventually(lambda: "was scaled to 4" in _sandbox_run(cluster, namespace, kind="deployment-rollout", name="web", replicas=4)[1],
               "the check naming the ReplicaSet scaled behind the Deployment's back")
    kubectl("autoscale", "deployment", "web", "--cpu-percent=50", "--min=2", "--max=6", "-n", namespace)
    eventually(lambda: "cannot get CPU utilization" in _sandbox_run(cluster, namespace, kind="hpa-scales", deployment="web")[1],
               "the HPA's condition saying a CPU request is missing")
    says(_sandbox_run(cluster, namespace, kind="hpa-scales", deployment="web"),
         "hpa web cannot get CPU utilization: deployment web's spec.template.spec.containers[0] (nginx) has no resources.requests.cpu",
         "ScalingActive is False", "missing request for cpu")
    kubectl("set", "resources", "deployment/web", "--requests=cpu=100m", "-n", namespace)
    eventually(lambda: _sandbox_run(cluster, namespace, kind="hpa-scales", deployment="web")[0] == "passed", "the HPA reading metrics")


def test_on_the_sandbox_a_job_with_restart_policy_always_is_refused_as_the_check_explains(
        kubectl: Kubectl, cluster: Any, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    job_yaml = kubectl("create", "job", "countdown", "--image=busybox:1.36", "--dry-run=client", "-o", "yaml", "-n", namespace).stdout
    refused = kubectl("apply", "-n", namespace, "-f", "-", stdin=job_yaml.replace("restartPolicy: Never", "restartPolicy: Always"), check=False)
    assert 'spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"' in refused.stderr
    # The check's explanation quotes exactly what kubectl printed.
    assert 'spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"' in " ".join(
        _sandbox_run(cluster, namespace, kind="job-complete", name="countdown")[2])


@pytest.mark.parametrize("name", ["deployment-rollout", "rollout-stuck", "config-consumed", "env-matches-configmap",
                                  "container-resources", "probes-configured", "native-sidecar", "job-complete",
                                  "cronjob-ran", "hpa-scales"])
def test_every_kind_says_a_missing_object_plainly(name: str) -> None:
    every: dict[str, dict[str, Any]] = {"deployment-rollout": {"name": "web"}, "rollout-stuck": {"name": "web"},
                                 "config-consumed": {"deployment": "web", "configmap": "c", "env": True},
                                 "env-matches-configmap": {"deployment": "web", "configmap": "c", "key": "K", "value": "v"},
                                 "container-resources": {"deployment": "web"}, "probes-configured": {"deployment": "web"},
                                 "native-sidecar": {"deployment": "web"}, "job-complete": {"name": "j"},
                                 "cronjob-ran": {"name": "c"}, "hpa-scales": {"deployment": "web"}}
    arguments = every[name]
    status, message, _ = run(Recorded(), kind=name, **arguments)
    assert status == "failed" and ("does not exist in wl" in message or "no HorizontalPodAutoscaler in wl" in message), message


def test_on_the_sandbox_a_configmap_change_does_not_reach_env_until_the_pods_are_replaced(
        kubectl: Kubectl, cluster: Any, namespace: str) -> None:
    """The classic mistake: editing the ConfigMap and expecting the running pods' env to follow.
    The sandbox keeps a container's environment from its start, so the check catches it there too."""
    kubectl("create", "namespace", namespace)
    kubectl("create", "configmap", "settings", "--from-literal=COLOR=blue", "-n", namespace)
    kubectl("create", "deployment", "web", "--image=nginx:1.27", "-n", namespace)
    kubectl("set", "env", "deployment/web", "--from=configmap/settings", "-n", namespace)
    kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s")
    kubectl("patch", "configmap", "settings", "-n", namespace, "-p", '{"data":{"COLOR":"green"}}')
    outcome = _sandbox_run(cluster, namespace, kind="env-matches-configmap", deployment="web", configmap="settings", key="COLOR",
                           value="green")
    assert outcome[0] == "failed" and "blue" in " ".join([outcome[1], *outcome[2]]), outcome
    kubectl("rollout", "restart", "deployment/web", "-n", namespace)
    kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s")
    eventually(lambda: _sandbox_run(cluster, namespace, kind="env-matches-configmap", deployment="web", configmap="settings",
                                    key="COLOR", value="green")[0] == "passed", "the restarted pods reading green")
