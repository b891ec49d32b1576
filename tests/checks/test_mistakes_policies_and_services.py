"""More learners' mistakes, each diagnosed with the object, field and value, and more
different-but-correct answers that must pass. One sandbox with mysql and the web app
deployed; each test puts the namespace back as it found it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

from labrunner.checks.runner import run_step
from labrunner.cluster.kube import KubeCluster, connect
from labrunner.lab.loader import load_lab
from labrunner.sandbox.control import stop
from tests.conftest import REPO
from tests.sandboxes import start_sandbox

ASSETS = REPO / "assets" / "networkpolicies"
LAB = load_lab(REPO / "labs" / "networkpolicies")
NS = "networkdemo"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeCluster]:
    """A cluster of its own: the lab's namespace networkdemo with its mysql and web app, as the learner has them."""
    files = start_sandbox(tmp_path_factory.mktemp("mistakes2"))
    port = connect(files.kubeconfig)
    port.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    for name in ("mysqlpod.yaml", "app.yaml"):
        for document in yaml.safe_load_all((ASSETS / name).read_text()):
            port.apply(document, NS)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len([p for p in port.list("pods", NS) if (p.get("status") or {}).get("podIP")]) < 4:
        time.sleep(0.3)
    yield port
    stop(files)


@pytest.fixture
def clean(cluster: KubeCluster) -> Iterator[KubeCluster]:
    yield cluster
    for kind in ("networkpolicies", "services"):
        for item in cluster.list(kind, NS):
            cluster.delete(kind, item["metadata"]["name"], NS)
    for item in cluster.list("networkpolicies", "default"):
        cluster.delete("networkpolicies", item["metadata"]["name"], "default")


def check(cluster: KubeCluster, step: str, kind: str) -> tuple[str, str, list[str]]:
    [result] = [r for r in run_step(LAB.step(step), cluster) if r.id.endswith(kind)]
    return result.status, result.message, list(result.details)


def policy(cluster: KubeCluster, name: str, change: Callable[[dict[str, Any]], None] | None = None, namespace: str = NS) -> None:
    document = yaml.safe_load((ASSETS / f"{name}.yaml").read_text())
    if change:
        change(document)
    cluster.apply(document, namespace)


def service(cluster: KubeCluster, name: str, *, type_: str = "ClusterIP", **port: Any) -> None:
    cluster.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
                   "spec": {"type": type_, "selector": {"app": name}, "ports": [port]}}, NS)


# -- namespaces, deployments, services ------------------------------------------------------------


def test_a_misspelt_namespace(clean: KubeCluster) -> None:
    lab = load_lab(REPO / "labs" / "networkpolicies", {"namespace": "alice-np"})
    clean.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "alice-pn"}})
    try:
        [result] = run_step(lab.step("create-namespace"), clean)
        assert (result.status, result.message) == ("failed", "namespace alice-np does not exist; there is a Namespace alice-pn "
                                                             "(the step asks for the name alice-np)")
    finally:
        clean.delete("namespaces", "alice-pn")


def test_mysql_exposed_as_a_nodeport(clean: KubeCluster) -> None:
    service(clean, "mysql", type_="NodePort", port=3306)
    assert check(clean, "expose-mysql", "service-exposes")[:2] == ("failed", "service mysql is of type NodePort, not ClusterIP")


def test_a_target_port_no_container_listens_on(clean: KubeCluster) -> None:
    service(clean, "mysql", port=3306, targetPort=3307)
    status, message, _ = check(clean, "expose-mysql", "service-exposes")
    assert (status, message) == ("failed", "service mysql sends port 3306 to targetPort 3307, but its pods listen on 3306/TCP (mysql)")


def test_a_misspelt_named_target_port(clean: KubeCluster) -> None:
    service(clean, "mysql", port=3306, targetPort="mysq1")
    status, message, _ = check(clean, "expose-mysql", "service-exposes")
    assert status == "failed" and "targetPort 'mysq1', but no container port of its pods is named 'mysq1'" in message


def test_mysql_exposed_on_udp(clean: KubeCluster) -> None:
    service(clean, "mysql", port=3306, protocol="UDP")
    assert check(clean, "expose-mysql", "service-exposes")[:2] == ("failed", "service mysql does not expose TCP 3306 (it exposes 3306/UDP)")


def test_the_web_app_with_too_few_replicas(clean: KubeCluster) -> None:
    documents = list(yaml.safe_load_all((ASSETS / "app.yaml").read_text()))
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    deployment["spec"]["replicas"] = 2
    clean.apply(deployment, NS)
    try:
        status, message, _ = check(clean, "deploy-app", "deployment-ready")
        assert (status, message) == ("failed", "deployment interpoddemo asks for 2 replica(s); this step wants 3")
    finally:
        deployment["spec"]["replicas"] = 3
        clean.apply(deployment, NS)


def test_the_web_app_service_on_the_wrong_port(clean: KubeCluster) -> None:
    service(clean, "interpoddemo", port=8080, targetPort=80)
    assert check(clean, "expose-app", "service-exposes")[:2] == ("failed", "service interpoddemo does not expose TCP 80 (it exposes 8080/TCP)")


def test_nodeport_step_with_the_service_still_a_clusterip(clean: KubeCluster) -> None:
    service(clean, "interpoddemo", port=80)
    assert check(clean, "nodeport", "service-exposes")[:2] == ("failed", "service interpoddemo is of type ClusterIP, not NodePort")


def test_a_nodeport_service_written_as_yaml_with_a_fixed_node_port_passes(clean: KubeCluster) -> None:
    service(clean, "interpoddemo", type_="NodePort", port=80, targetPort=80, nodePort=30080)
    time.sleep(1.0)
    status, message, _ = check(clean, "nodeport", "service-exposes")
    assert status == "passed", message


# -- policies ---------------------------------------------------------------------------------------


def test_a_policy_in_the_wrong_namespace(clean: KubeCluster) -> None:
    policy(clean, "deny-ingress", namespace="default")
    status, message, _ = check(clean, "deny-ingress", "policy-meaning")
    assert status == "failed"
    assert message.startswith("deny-ingress is in default, not networkdemo: a NetworkPolicy only selects pods in its own namespace")


def test_deny_ingress_written_with_egress_as_its_policy_type(clean: KubeCluster) -> None:
    policy(clean, "deny-ingress", lambda d: d["spec"].update(policyTypes=["Egress"]))
    status, message, _ = check(clean, "deny-ingress", "policy-meaning")
    assert (status, message) == ("failed", "deny-ingress's policyTypes is [Egress], so it isolates nothing for ingress and it blocks "
                                           "all egress; this step wants [Ingress]")


def test_deny_ingress_without_policy_types_is_still_correct(clean: KubeCluster) -> None:
    policy(clean, "deny-ingress", lambda d: (d["spec"].pop("policyTypes"), d["spec"].update(ingress=[])))
    status, message, _ = check(clean, "deny-ingress", "policy-meaning")
    assert status == "passed", message


def test_web_server_opened_on_the_wrong_port(clean: KubeCluster) -> None:
    policy(clean, "deny-ingress")
    policy(clean, "allow-ingress-webserver", lambda d: d["spec"]["ingress"][0]["ports"][0].update(port=8080))
    status, message, details = check(clean, "allow-ingress-webserver", "policy-meaning")
    assert (status, message) == ("failed", "allow-ingress-webserver's ingress rule 1 allows TCP 8080; this step wants TCP 80")
    assert "yours also allows" in details[0] and "on TCP 8080" in details[0]


def test_web_server_policy_whose_pod_selector_matches_nothing(clean: KubeCluster) -> None:
    policy(clean, "deny-ingress")
    policy(clean, "allow-ingress-webserver", lambda d: d["spec"].update(podSelector={"matchLabels": {"app": "interpoddem"}}))
    status, message, details = check(clean, "allow-ingress-webserver", "policy-meaning")
    assert status == "failed"
    assert message == ("allow-ingress-webserver's podSelector app=interpoddem selects no pod in networkdemo "
                       "(its pods: app=interpoddemo, app=mysql); this step selects app=interpoddemo")
    # The connections it explains follow, the learner's own namespace first.
    assert details[0].startswith("yours does not allow networkdemo/") and "TCP 80" in details[0]


def test_policies_left_behind_when_asked_to_remove_them(clean: KubeCluster) -> None:
    policy(clean, "deny-ingress")
    policy(clean, "allow-ingress-webserver")
    assert check(clean, "delete-policies", "resource-absent")[:2] == (
        "failed", "networkdemo still has networkpolicies: allow-ingress-webserver, deny-ingress")


def test_database_opened_on_udp(clean: KubeCluster) -> None:
    policy(clean, "deny-ingress-db")
    policy(clean, "allow-ingress-db", lambda d: d["spec"]["ingress"][0]["ports"][0].update(protocol="UDP"))
    status, message, details = check(clean, "allow-ingress-db", "policy-meaning")
    text = "\n".join([message, *details])
    assert (status, message) == ("failed", "allow-ingress-db's ingress rule 1 allows UDP 3306; this step wants TCP 3306")
    assert "does not allow networkdemo/interpoddemo-" in text and "TCP 3306" in text


def test_database_opened_to_the_wrong_app(clean: KubeCluster) -> None:
    policy(clean, "deny-ingress-db")
    policy(clean, "allow-ingress-db", lambda d: d["spec"]["ingress"][0].update({"from": [{"podSelector": {"matchLabels": {"app": "interpoddemo2"}}}]}))
    status, message, details = check(clean, "allow-ingress-db", "policy-meaning")
    assert (status, message) == ("failed", "allow-ingress-db's ingress rule 1 allows from podSelector app=interpoddemo2; "
                                           "this step allows app=interpoddemo")
    assert "yours does not allow networkdemo/interpoddemo-" in details[0] and "on TCP 3306" in details[0]
    assert any("a pod with app=interpoddemo2 in networkdemo -> a pod with app=mysql" in line for line in details)


def test_database_opened_on_every_port(clean: KubeCluster) -> None:
    policy(clean, "deny-ingress-db")
    policy(clean, "allow-ingress-db", lambda d: d["spec"]["ingress"][0].pop("ports"))
    status, message, details = check(clean, "allow-ingress-db", "policy-meaning")
    assert (status, message) == ("failed", "allow-ingress-db's ingress rule 1 has no ports, so every port is allowed; "
                                           "this step allows only TCP 3306")
    assert "yours also allows networkdemo/interpoddemo-" in details[0] and "-> networkdemo/mysql-" in details[0]


def test_egress_denied_for_the_web_server_only(clean: KubeCluster) -> None:
    policy(clean, "deny-ingress-db")
    policy(clean, "allow-ingress-db")
    policy(clean, "deny-all-egress", lambda d: d["spec"].update(podSelector={"matchLabels": {"app": "interpoddemo"}}))
    status, message, details = check(clean, "deny-all-egress", "policy-meaning")
    assert (status, message) == ("failed", "deny-all-egress's podSelector is app=interpoddemo, so it leaves out the other pods of "
                                           "networkdemo; this step selects every pod ({})")
    assert "yours also allows networkdemo/mysql-" in details[0]


def test_deny_all_egress_with_an_explicit_empty_rule_list_is_correct(clean: KubeCluster) -> None:
    policy(clean, "deny-ingress-db")
    policy(clean, "allow-ingress-db")
    policy(clean, "deny-all-egress", lambda d: d["spec"].update(egress=[]))
    status, message, _ = check(clean, "deny-all-egress", "policy-meaning")
    assert status == "passed", message


def _dns_step(cluster: KubeCluster, change: Callable[[dict[str, Any]], None] | None) -> tuple[str, str, list[str]]:
    for name in ("deny-ingress-db", "allow-ingress-db", "deny-all-egress"):
        policy(cluster, name)
    policy(cluster, "egress-allow-dns", change)
    return check(cluster, "allow-dns", "policy-meaning")


def test_dns_opened_on_udp_only(clean: KubeCluster) -> None:
    status, message, details = _dns_step(clean, lambda d: d["spec"]["egress"][0].update(ports=[{"protocol": "UDP", "port": 53}]))
    assert (status, message) == ("failed", "egress-allow-dns's egress rule 1 allows UDP 53; this step wants UDP 53, TCP 53")
    assert "yours does not allow" in details[0] and "-> kube-system/coredns-" in details[0]
    assert details[0].endswith("on TCP 53, which should be allowed")


def test_dns_opened_to_every_pod_in_kube_system(clean: KubeCluster) -> None:
    status, message, details = _dns_step(clean, lambda d: d["spec"]["egress"][0]["to"][0].pop("podSelector"))
    assert (status, message) == ("failed", "egress-allow-dns's egress rule 1 has no podSelector beside namespaceSelector "
                                           "kubernetes.io/metadata.name=kube-system, so every pod there may; "
                                           "this step allows only k8s-app=kube-dns")
    assert "in kube-system on TCP 53, UDP 53" in details[0]


def test_dns_opened_to_anywhere(clean: KubeCluster) -> None:
    status, message, details = _dns_step(clean, lambda d: d["spec"]["egress"][0].pop("to"))
    # Compared with the closest of the answers the step accepts: here the classic one, kube-system labelled name=kube-system.
    assert (status, message) == ("failed", "egress-allow-dns's egress rule 1 has no to, so it allows anyone; this step allows only "
                                           "to every pod in namespaces name=kube-system")
    assert "yours also allows networkdemo/" in details[0] and details[0].endswith("on TCP 53, UDP 53")


def test_dns_split_into_a_udp_policy_and_a_tcp_policy_is_correct(clean: KubeCluster) -> None:
    status, message, _ = _dns_step(clean, lambda d: d["spec"]["egress"][0].update(ports=[{"protocol": "UDP", "port": 53}]))
    tcp = yaml.safe_load((ASSETS / "egress-allow-dns.yaml").read_text())
    tcp["metadata"]["name"] = "egress-allow-dns-tcp"
    tcp["spec"]["egress"][0]["ports"] = [{"protocol": "TCP", "port": "dns-tcp"}]
    clean.apply(tcp, NS)
    status, message, _ = check(clean, "allow-dns", "policy-meaning")
    assert status == "passed", message


def test_mysql_whose_secret_is_misnamed_names_the_secret_and_then_recovers(clean: KubeCluster) -> None:
    documents = list(yaml.safe_load_all((ASSETS / "mysqlpod.yaml").read_text()))
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    text = yaml.safe_dump(deployment).replace("name: mysql-root", "name: mysql-secret")
    deadline = time.monotonic() + 20  # the good version first, serving
    while check(clean, "deploy-mysql", "deployment-ready")[0] != "passed" and time.monotonic() < deadline:
        time.sleep(0.3)
    clean.apply(yaml.safe_load(text), NS)
    try:
        deadline = time.monotonic() + 20
        while (found := check(clean, "deploy-mysql", "deployment-ready"))[0] != "failed" and time.monotonic() < deadline:
            time.sleep(0.3)
        status, message, details = found
        assert status == "failed"
        # The cause first: the new pods read a Secret that does not exist; the stuck rollout (its old pod
        # keeps serving while the new one cannot start) is what that causes.
        assert message == ("deployment mysql's new pods cannot start: they read secret mysql-secret (env MYSQL_ROOT_PASSWORD), "
                           "which does not exist in networkdemo")
        assert any("rollout is stuck" in line for line in details)
    finally:
        clean.apply(deployment, NS)
    deadline = time.monotonic() + 20
    while check(clean, "deploy-mysql", "deployment-ready")[0] != "passed" and time.monotonic() < deadline:
        time.sleep(0.3)
    assert check(clean, "deploy-mysql", "deployment-ready")[0] == "passed"


def _mysql(cluster: KubeCluster, sql: str) -> None:
    pod = next(p["metadata"]["name"] for p in cluster.list("pods", NS, labels="app=mysql"))
    result = cluster.exec(pod, NS, ["sh", "-c", 'exec mysql -uroot -p"$MYSQL_ROOT_PASSWORD"'], stdin=sql)
    assert result.exit_code == 0, result


def test_a_table_seeded_with_a_row_missing_and_one_changed_names_both(clean: KubeCluster) -> None:
    script = (ASSETS / "db.txt").read_text()
    _mysql(clean, script)
    _mysql(clean, "USE db1; DELETE FROM users WHERE id = 10; UPDATE users SET city = 'Lisboa' WHERE id = 1;")
    try:
        status, message, details = check(clean, "seed-db", "sql-rows")
        text = "\n".join([message, *details])
        assert status == "failed" and "Sam Ortolan" in text and "Lisboa" in text
    finally:
        _mysql(clean, script)


def test_the_mysql_service_selecting_the_web_pods(clean: KubeCluster) -> None:
    clean.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "mysql"},
                 "spec": {"selector": {"app": "interpoddemo"}, "ports": [{"port": 3306}]}}, NS)
    status, message, _ = check(clean, "expose-mysql", "service-exposes")
    # The cause, not the symptom: the selector picks the web pods; that they listen on another port follows from it.
    assert (status, message) == ("failed", "service mysql's selector app=interpoddemo picks the pods of deployment interpoddemo "
                                           "(listening on 80), not the ones listening on 3306 (app=mysql)")


def test_the_database_isolated_with_a_misspelt_selector(clean: KubeCluster) -> None:
    policy(clean, "deny-ingress-db", lambda d: d["spec"].update(podSelector={"matchLabels": {"app": "mysq"}}))
    status, message, details = check(clean, "deny-ingress-db", "policy-meaning")
    assert (status, message) == ("failed", "deny-ingress-db's podSelector app=mysq selects no pod in networkdemo "
                                           "(its pods: app=interpoddemo, app=mysql); this step selects app=mysql")
    assert "yours also allows" in details[0] and "-> networkdemo/mysql-" in details[0]


def test_the_broken_policy_left_unrepaired(clean: KubeCluster) -> None:
    policy(clean, "ingress-egress-policy-broken", namespace="default")
    status, message, details = check(clean, "fix-broken-policy", "policy-meaning")
    # Applied without kubectl's record, so no dropped fields to name: the rules as stored, each named.
    assert (status, message) == ("failed", "ingress-egress-policy has no egress rule to addresses in 10.0.0.0/24 on TCP 5978; "
                                           "this step wants one (add it to egress:)")
    assert details[:2] == ["ingress-egress-policy's ingress rule 3 is empty ({}), which allows anyone on any port: remove that rule",
                           "ingress-egress-policy's ingress rule 2 is empty ({}), which allows anyone on any port: remove that rule"]
    assert any("-> a pod with role=db in default" in line for line in details)


def test_cleanup_with_the_namespace_and_the_label_still_there(clean: KubeCluster) -> None:
    system = clean.get("namespaces", "kube-system")
    system["metadata"].setdefault("labels", {})["name"] = "kube-system"
    system["metadata"].pop("resourceVersion", None)
    clean.apply(system)
    try:
        results = {r.id.split(".")[-1]: r for r in run_step(LAB.step("cleanup"), clean)}
        assert results["namespace-absent"].status == "failed" and "networkdemo" in results["namespace-absent"].message
        assert results["namespace-labels"].status == "failed"
        assert "kube-system" in results["namespace-labels"].message and "name=kube-system" in results["namespace-labels"].message
    finally:
        system["metadata"]["labels"].pop("name")
        clean.apply(system)


def test_the_database_opened_with_namespace_and_pod_selector_in_one_peer_is_correct(clean: KubeCluster) -> None:
    policy(clean, "deny-ingress-db")
    policy(clean, "allow-ingress-db", lambda d: d["spec"]["ingress"][0]["from"][0].update(
        namespaceSelector={"matchLabels": {"kubernetes.io/metadata.name": NS}}))
    status, message, _ = check(clean, "allow-ingress-db", "policy-meaning")
    assert status == "passed", message


def test_the_database_isolated_with_match_expressions_is_correct(clean: KubeCluster) -> None:
    policy(clean, "deny-ingress-db", lambda d: d["spec"].update(
        podSelector={"matchExpressions": [{"key": "app", "operator": "In", "values": ["mysql"]}]}))
    status, message, _ = check(clean, "deny-ingress-db", "policy-meaning")
    assert status == "passed", message
