"""Root causes first (issue 17): two things wrong with one object at once, and the first sentence
names the one that causes the other (object, field, value); the rest is evidence below it. Each
mistake has a correct variant that must pass. Real shipped lab steps on one sandbox of the
module's own: the NetworkPolicy lab's mysql and web app in networkdemo for the Services, a
namespace per test for the workloads."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

from labrunner.checks.runner import run_check
from labrunner.cluster import errors
from labrunner.cluster.kube import KubeCluster, connect
from labrunner.cluster.port import plural_for
from labrunner.lab.loader import load_lab
from labrunner.lab.model import Lab
from labrunner.registry.types import CheckContext
from labrunner.sandbox.control import stop
from labrunner.topics.basics.workloads import DeploymentReady, deployment_ready
from tests.conftest import REPO
from tests.fakes import FakeCluster
from tests.sandboxes import eventually, fresh_name, start_sandbox

NS = "networkdemo"
NETPOL = load_lab(REPO / "labs" / "networkpolicies")
Outcome = tuple[str, str, list[str]]


def _documents(folder: str, name: str) -> list[dict[str, Any]]:
    return list(yaml.safe_load_all((REPO / "assets" / folder / name).read_text()))


MYSQL = _documents("networkpolicies", "mysqlpod.yaml")  # the Secret mysql-root, the Deployment mysql


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeCluster]:
    """A cluster of its own, with the lab's mysql and web app in networkdemo."""
    files = start_sandbox(tmp_path_factory.mktemp("root-causes"))
    port = connect(files.kubeconfig)
    port.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    for document in MYSQL + _documents("networkpolicies", "app.yaml"):
        port.apply(document, NS)
    eventually(lambda: len([p for p in port.list("pods", NS) if (p.get("status") or {}).get("podIP")]) >= 4, "mysql and the web app running")
    yield port
    stop(files)


@pytest.fixture
def own(cluster: KubeCluster) -> Iterator[Callable[[], str]]:
    """Namespaces of the test's own, deleted afterwards."""
    made: list[str] = []

    def make() -> str:
        name = fresh_name("rc")
        cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        made.append(name)
        return name

    yield make
    for name in made:
        cluster.delete("namespaces", name)


def check(cluster: KubeCluster, lab: Lab, step: str, kind: str) -> Outcome:
    """The step's first check of ``kind`` alone (a probe beside it is not run)."""
    chosen = lab.step(step)
    declared = next(c for c in chosen.checks if c.kind == kind)
    result = run_check(declared, chosen, cluster)
    return result.status, result.message, list(result.details)


def until(cluster: KubeCluster, lab: Lab, step: str, kind: str, done: Callable[[Outcome], bool], what: str, attempts: int = 150) -> Outcome:
    """Check again until ``done`` (the cluster settles by itself); fail with what it said last."""
    seen: list[Outcome] = []

    def again() -> bool:
        seen.append(check(cluster, lab, step, kind))
        return done(seen[-1])

    try:
        eventually(again, what, attempts=attempts)
    except pytest.fail.Exception:
        pytest.fail(f"{step}: {what} never happened; it said {seen[-1] if seen else None}")
    return seen[-1]


def says(cluster: KubeCluster, lab: Lab, step: str, kind: str, first: str, *evidence: str) -> list[str]:
    """The check fails, its first sentence is ``first`` (under 160 characters) and its details
    say each of ``evidence`` (what the cluster reports a moment later): its details."""
    assert len(first) < 160, first

    def done(outcome: Outcome) -> bool:
        return outcome[:2] == ("failed", first) and all(any(e in d for d in outcome[2]) for e in evidence)

    return until(cluster, lab, step, kind, done, f"saying {first!r} with {evidence!r}")[2]


def starts(cluster: KubeCluster, lab: Lab, step: str, kind: str, *texts: str) -> Outcome:
    """The check fails and its first sentence says each of ``texts``."""
    return until(cluster, lab, step, kind, lambda o: o[0] == "failed" and all(t in o[1] for t in texts), f"saying {texts!r}")


def passes(cluster: KubeCluster, lab: Lab, step: str, kind: str) -> None:
    until(cluster, lab, step, kind, lambda o: o[0] == "passed", "passing", attempts=300)


def put(cluster: KubeCluster, obj: dict[str, Any], namespace: str) -> None:
    """The object as given, whatever was there before (a replace, as kubectl replace: an apply
    would merge a new probe or port into the old one)."""
    obj = copy.deepcopy(obj)
    try:
        current = cluster.get(plural_for(obj["kind"]) or "", obj["metadata"]["name"], namespace)
    except errors.NotFound:
        cluster.create(obj, namespace)
        return
    obj["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
    if obj["kind"] == "Service":
        obj["spec"]["clusterIP"] = current["spec"].get("clusterIP")
    cluster.update(obj, namespace)


def mysql_service(cluster: KubeCluster, selector: dict[str, str], **port: Any) -> None:
    put(cluster, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "mysql"},
                  "spec": {"selector": selector, "ports": [{"port": 3306, **port}]}}, NS)


@pytest.fixture
def service(cluster: KubeCluster) -> Iterator[Callable[..., None]]:
    yield lambda selector, **port: mysql_service(cluster, selector, **port)
    cluster.delete("services", "mysql", NS)


# -- a Service's selector and targetPort (service-exposes) ------------------------------------------


def test_a_selector_copied_from_the_web_app_is_said_as_picking_the_wrong_pods(cluster: KubeCluster, service: Callable[..., None]) -> None:
    service({"app": "interpoddemo"})  # the symptom: nothing listens on 3306 in the web pods
    details = says(cluster, NETPOL, "expose-mysql", "service-exposes",
                   "service mysql's selector app=interpoddemo picks the pods of deployment interpoddemo (listening on 80), "
                   "not the ones listening on 3306 (app=mysql)")
    assert details[0] == "those are the pods of deployment mysql: give the Service their labels as its selector"
    service({"app": "mysql"})
    passes(cluster, NETPOL, "expose-mysql", "service-exposes")


def test_a_copied_selector_with_the_target_port_of_the_wrong_pods(cluster: KubeCluster, service: Callable[..., None]) -> None:
    service({"app": "interpoddemo"}, targetPort=80)  # the web pods do listen on 80: only the selector is wrong
    details = says(cluster, NETPOL, "expose-mysql", "service-exposes",
                   "service mysql's selector app=interpoddemo picks the pods of deployment interpoddemo, not those of deployment mysql (app=mysql)")
    assert "service mysql sends port 3306 to targetPort 80, but deployment mysql's pods listen on 3306/TCP (mysql)" in details
    service({"app": "mysql"}, targetPort="mysql")  # correct: the named port
    passes(cluster, NETPOL, "expose-mysql", "service-exposes")


def test_a_copied_selector_and_a_misspelt_named_target_port(cluster: KubeCluster, service: Callable[..., None]) -> None:
    service({"app": "interpoddemo"}, targetPort="mysq")
    details = says(cluster, NETPOL, "expose-mysql", "service-exposes",
                   "service mysql's selector app=interpoddemo picks the pods of deployment interpoddemo, not those of deployment mysql (app=mysql)")
    assert any("targetPort 'mysq', but no container port of deployment mysql's pods is named 'mysq'" in d for d in details), details
    service({"app": "mysql"}, targetPort=3306)
    passes(cluster, NETPOL, "expose-mysql", "service-exposes")


def test_the_right_selector_and_a_wrong_target_port_is_still_the_target_port(cluster: KubeCluster, service: Callable[..., None]) -> None:
    service({"app": "mysql"}, targetPort=3307)
    says(cluster, NETPOL, "expose-mysql", "service-exposes", "service mysql sends port 3306 to targetPort 3307, but its pods listen on 3306/TCP (mysql)")
    service({"app": "mysql"}, targetPort=3306)
    passes(cluster, NETPOL, "expose-mysql", "service-exposes")


def test_a_selector_matching_no_pod_and_a_wrong_target_port(cluster: KubeCluster, service: Callable[..., None]) -> None:
    service({"app": "mysq"}, targetPort=3307)
    details = says(cluster, NETPOL, "expose-mysql", "service-exposes", "service mysql's selector app=mysq matches no pod in networkdemo")
    assert details[0].startswith("no pod in networkdemo carries app=mysq; 1 pod carries app=mysql (mysql-"), details  # the near miss
    assert "service mysql sends port 3306 to targetPort 3307, but deployment mysql's pods listen on 3306/TCP (mysql)" in details
    service({"app": "mysql"})
    passes(cluster, NETPOL, "expose-mysql", "service-exposes")


# -- service-backends and service-routes: the selector before the targetPort -----------------------


def test_service_backends_a_copied_selector_and_a_misspelt_named_target_port(cluster: KubeCluster, own: Callable[[], str]) -> None:
    namespace = own()
    lab = load_lab(REPO / "labs" / "services", {"namespace": namespace})
    for document in _documents("services", "backend.yaml") + _documents("services", "api.yaml"):
        put(cluster, document, namespace)
    [api] = _documents("services", "api-service.yaml")
    wrong = copy.deepcopy(api)
    wrong["spec"]["selector"] = {"app": "backend"}
    wrong["spec"]["ports"][0]["targetPort"] = "http-ap"
    put(cluster, wrong, namespace)
    details = says(cluster, lab, "nodeport", "service-backends",
                   "service api: spec.selector app=backend selects the pods of deployment backend, not those of deployment api (labelled app=api)")
    assert details == ["a selector copied from another app: deployment api's pods are picked by app=api",
                       "service api: spec.ports[0].targetPort is 'http-ap', a port name no container of deployment api declares "
                       "(they declare http-api=5678/TCP), so the Service has no endpoint for its port 80"]
    put(cluster, api, namespace)
    passes(cluster, lab, "nodeport", "service-backends")


def test_service_routes_a_selector_copied_from_the_catalog_and_the_target_port_unrepaired(cluster: KubeCluster, own: Callable[[], str]) -> None:
    namespace = own()
    lab = load_lab(REPO / "labs" / "troubleshooting", {"namespace": namespace})
    for document in _documents("troubleshooting", "cart.yaml") + _documents("troubleshooting", "catalog.yaml"):
        put(cluster, document, namespace)
    cart = next(d for d in _documents("troubleshooting", "cart.yaml") if d["kind"] == "Service")
    wrong = copy.deepcopy(cart)
    wrong["spec"]["selector"] = {"app": "catalog"}
    put(cluster, wrong, namespace)
    details = says(cluster, lab, "target-port", "service-routes",
                   "service cart: spec.selector app=catalog selects the pods of deployment catalog, not those of deployment cart (labelled app=cart)")
    assert details[1].startswith("service cart: spec.ports[0].targetPort is 'http', a port name no container of deployment cart declares")
    cart["spec"]["ports"][0]["targetPort"] = "web"
    put(cluster, cart, namespace)
    passes(cluster, lab, "target-port", "service-routes")


# -- a workload's pods: the missing reference before the pods' state --------------------------------


def _mysql(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    deployment = copy.deepcopy(MYSQL[1])
    change(deployment)
    return deployment


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = deployment["spec"]["template"]["spec"]["containers"][0]
    return container


def _lab(namespace: str) -> Lab:
    return load_lab(REPO / "labs" / "networkpolicies", {"namespace": namespace})


def test_a_missing_secret_before_a_probe_on_the_wrong_port(cluster: KubeCluster, own: Callable[[], str]) -> None:
    namespace = own()
    lab = _lab(namespace)

    def broken(d: dict[str, Any]) -> None:
        _container(d)["env"][0]["valueFrom"]["secretKeyRef"]["name"] = "mysql-secret"
        _container(d)["readinessProbe"] = {"tcpSocket": {"port": 3307}, "periodSeconds": 1}

    put(cluster, _mysql(broken), namespace)
    details = says(cluster, lab, "deploy-mysql", "deployment-ready",
                   f"deployment mysql's pods cannot start: they read secret mysql-secret (env MYSQL_ROOT_PASSWORD), which does not exist in {namespace}",
                   'secret "mysql-secret" not found')  # the kubelet's words, as evidence
    assert details[0].startswith("pod mysql-"), details
    put(cluster, {**copy.deepcopy(MYSQL[0]), "metadata": {"name": "mysql-secret"}}, namespace)  # the Secret made: now the probe
    _, message, details = starts(cluster, lab, "deploy-mysql", "deployment-ready", "deployment mysql has 0/1 ready replica(s): container mysql of pod mysql-",
                                 " fails its readinessProbe (tcpSocket port 3307)")
    assert len(message) < 160 and message.endswith(" fails its readinessProbe (tcpSocket port 3307)"), message
    assert details[0].startswith("it runs, but the kubelet's probe fails: dial tcp ") and details[0].endswith(":3307: connect: connection refused")
    assert details[1:3] == ["the container declares port(s) mysql=3306",
                            "fix the probe in the Deployment's pod template (a new pod replaces this one)"], details
    put(cluster, MYSQL[0], namespace)
    put(cluster, MYSQL[1], namespace)
    passes(cluster, lab, "deploy-mysql", "deployment-ready")


def test_an_image_typo_and_a_missing_configmap_in_the_order_the_kubelet_meets_them(cluster: KubeCluster, own: Callable[[], str]) -> None:
    namespace = own()
    lab = _lab(namespace)
    put(cluster, MYSQL[0], namespace)

    def env_from(d: dict[str, Any]) -> None:
        _container(d)["image"] = "mysqll:8.4"
        _container(d)["envFrom"] = [{"configMapRef": {"name": "mysql-config"}}]

    put(cluster, _mysql(env_from), namespace)  # the image is pulled before the environment is read
    _, message, details = starts(cluster, lab, "deploy-mysql", "deployment-ready", "cannot pull image 'mysqll:8.4'")
    assert details[0] == "check the image name and tag", details  # the image's own evidence first, then what else is wrong
    assert f"its pods also read configmap mysql-config (envFrom), which does not exist in {namespace}" in details, details

    def volume(d: dict[str, Any]) -> None:
        _container(d)["image"] = "mysqll:8.4"
        d["spec"]["template"]["spec"]["volumes"] = [{"name": "data", "configMap": {"name": "mysql-config"}}]

    put(cluster, _mysql(volume), namespace)  # a volume is mounted before the image is pulled
    says(cluster, lab, "deploy-mysql", "deployment-ready",
         f"deployment mysql's pods cannot start: they mount configmap mysql-config (volume data), which does not exist in {namespace}")
    put(cluster, MYSQL[1], namespace)
    passes(cluster, lab, "deploy-mysql", "deployment-ready")


def test_a_missing_claim_before_an_image_typo(cluster: KubeCluster, own: Callable[[], str]) -> None:
    namespace = own()
    lab = _lab(namespace)
    put(cluster, MYSQL[0], namespace)

    def claim(d: dict[str, Any]) -> None:
        _container(d)["image"] = "mysqll:8.4"
        d["spec"]["template"]["spec"]["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": "mysql-data"}}]

    put(cluster, _mysql(claim), namespace)
    details = says(cluster, lab, "deploy-mysql", "deployment-ready",
                   f"deployment mysql's pods cannot start: they mount persistentvolumeclaim mysql-data (volume data), which does not exist in {namespace}",
                   'persistentvolumeclaim "mysql-data" not found')  # the scheduler's words
    assert details[0].startswith("pod mysql-"), details
    cluster.apply({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "mysql-data"},
                   "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}, namespace)
    put(cluster, _mysql(lambda d: d["spec"]["template"]["spec"].update(volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": "mysql-data"}}])),
                  namespace)
    passes(cluster, lab, "deploy-mysql", "deployment-ready")


def test_a_missing_service_account_before_an_image_typo(cluster: KubeCluster, own: Callable[[], str]) -> None:
    namespace = own()
    lab = _lab(namespace)
    put(cluster, MYSQL[0], namespace)

    def account(d: dict[str, Any]) -> None:
        _container(d)["image"] = "mysqll:8.4"
        d["spec"]["template"]["spec"]["serviceAccountName"] = "mysql-sa"

    put(cluster, _mysql(account), namespace)
    says(cluster, lab, "deploy-mysql", "deployment-ready",
         f"deployment mysql's pods cannot start: they run as serviceaccount mysql-sa, which does not exist in {namespace}")
    put(cluster, {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "mysql-sa"}}, namespace)
    put(cluster, _mysql(lambda d: d["spec"]["template"]["spec"].update(serviceAccountName="mysql-sa")), namespace)
    passes(cluster, lab, "deploy-mysql", "deployment-ready")


def test_a_service_account_refused_by_the_api_server_leaves_no_pod_and_is_named() -> None:
    """On a real cluster the ServiceAccount admission refuses the pods: the ReplicaSet's
    FailedCreate is the only trace, and the template's reference is what the check says."""
    template = {"metadata": {"labels": {"app": "web"}}, "spec": {"serviceAccountName": "web-sa", "containers": [{"name": "web", "image": "nginx"}]}}
    web = {"kind": "Deployment", "metadata": {"name": "web", "namespace": "shop", "uid": "d1", "generation": 1},
           "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": template},
           "status": {"observedGeneration": 1}}
    replica_set = {"kind": "ReplicaSet", "metadata": {"name": "web-5d4f9", "namespace": "shop", "ownerReferences": [{"uid": "d1"}],
                                                      "annotations": {"deployment.kubernetes.io/revision": "1"}}}
    fake = FakeCluster({"deployments": [web], "replicasets": [replica_set]})
    refusal = 'Error creating: pods "web-5d4f9-" is forbidden: error looking up service account shop/web-sa: serviceaccount "web-sa" not found'

    def events(namespace: str, *, involved: str | None = None) -> list[dict[str, Any]]:
        return [{"reason": "FailedCreate", "message": refusal}] if involved == "web-5d4f9" else []

    setattr(fake, "events", events)  # the controller's refusal, as a real cluster records it
    status, message, details = deployment_ready(DeploymentReady(kind="deployment-ready", says="web is ready", namespace="shop", name="web"),
                                                CheckContext(fake))  # type: ignore[arg-type]
    assert (status, message) == ("failed", "deployment web's pods cannot start: they run as serviceaccount web-sa, which does not exist in shop")
    assert details == [f"replicaset web-5d4f9 cannot create pods: {refusal}"]


def test_a_crash_before_not_ready_and_a_rollout_stuck_behind_a_missing_secret(cluster: KubeCluster, own: Callable[[], str]) -> None:
    namespace = own()
    lab = _lab(namespace)
    for document in MYSQL:
        put(cluster, document, namespace)
    passes(cluster, lab, "deploy-mysql", "deployment-ready")
    put(cluster, _mysql(lambda d: _container(d)["env"][0]["valueFrom"]["secretKeyRef"].update(name="mysql-secret")), namespace)
    status, message, details = starts(cluster, lab, "deploy-mysql", "deployment-ready", "new pods cannot start")
    # the rollout's state is the symptom: said after the Secret
    assert message == f"deployment mysql's new pods cannot start: they read secret mysql-secret (env MYSQL_ROOT_PASSWORD), which does not exist in {namespace}"
    assert details[0].startswith("its rollout is stuck ("), details
    put(cluster, MYSQL[1], namespace)
    passes(cluster, lab, "deploy-mysql", "deployment-ready")


# -- a StatefulSet's pods named under the wrong Service ----------------------------------------------


def test_a_statefulset_naming_no_service_before_the_service_not_headless(cluster: KubeCluster, own: Callable[[], str]) -> None:
    namespace = own()
    lab = load_lab(REPO / "labs" / "services", {"namespace": namespace})
    headless, statefulset = _documents("services", "cache.yaml")
    with_ip = copy.deepcopy(headless)
    del with_ip["spec"]["clusterIP"]
    wrong = copy.deepcopy(statefulset)
    wrong["spec"]["serviceName"] = "caches"
    put(cluster, with_ip, namespace)
    put(cluster, wrong, namespace)
    eventually(lambda: any(c.get("type") == "Ready" and c.get("status") == "True"
                           for p in cluster.list("pods", namespace) if p["metadata"]["name"] == "cache-0"
                           for c in (p.get("status") or {}).get("conditions") or []), "cache-0 ready")
    _, message, details = starts(cluster, lab, "headless", "dns-record", "does not resolve: statefulset cache: spec.serviceName is 'caches'")
    assert message.endswith("but no Service caches exists"), message
    assert details[0] == f"Services in {namespace}: cache", details
    assert any(d.startswith("service cache: spec.clusterIP is ") for d in details), details
    for kind, name in (("statefulsets", "cache"), ("services", "cache")):
        cluster.delete(kind, name, namespace)
    eventually(lambda: not cluster.list("pods", namespace), "the old cache pods gone")
    put(cluster, headless, namespace)
    put(cluster, statefulset, namespace)
    passes(cluster, lab, "headless", "dns-record")

