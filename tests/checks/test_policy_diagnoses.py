"""NetworkPolicy mistakes named as an instructor would: the first sentence names the policy,
the field and its value (and its line, when the learner's file is at hand), and what the
step wanted; the connections that differ follow as evidence, at most three and the rest
counted. Each mistake has a correct variant that must pass. One sandbox with the
NetworkPolicy lab's namespace, mysql and the web app; each test leaves no policy behind."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from labrunner.checks.runner import run_step
from labrunner.cluster.kube import KubeCluster, connect
from labrunner.lab.loader import load_lab
from labrunner.sandbox.control import stop
from labrunner.sandbox.files import SandboxFiles
from tests.conftest import REPO
from tests.sandboxes import KUBECTL, Kubectl, kubectl_for, start_sandbox

ASSETS = REPO / "assets" / "networkpolicies"
LAB = load_lab(REPO / "labs" / "networkpolicies")
NS = "networkdemo"
WEAVE = "net.beta.kubernetes.io/network-policy"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxFiles]:
    started = start_sandbox(tmp_path_factory.mktemp("policy-diagnoses"))
    port = connect(started.kubeconfig)
    port.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    for name in ("mysqlpod.yaml", "app.yaml", "calico-sandbox.yaml"):  # Calico: the sandbox enforces policies once it runs
        for document in yaml.safe_load_all((ASSETS / name).read_text()):
            port.apply(document, None if document["metadata"].get("namespace") else NS)
    for app, number in (("mysql", 3306), ("interpoddemo", 80)):  # as the lab's kubectl expose makes them
        port.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": app},
                    "spec": {"selector": {"app": app}, "ports": [{"port": number}]}}, NS)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len([p for p in port.list("pods", NS) if (p.get("status") or {}).get("podIP")]) < 4:
        time.sleep(0.3)
    yield started
    stop(started)


@pytest.fixture(scope="module")
def cluster(files: SandboxFiles) -> KubeCluster:
    return connect(files.kubeconfig)


@pytest.fixture
def clean(cluster: KubeCluster) -> Iterator[KubeCluster]:
    yield cluster
    for namespace in (NS, "default"):
        for item in cluster.list("networkpolicies", namespace):
            cluster.delete("networkpolicies", item["metadata"]["name"], namespace)


@pytest.fixture
def kubectl(files: SandboxFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Kubectl:
    """Real kubectl, run from the learner's working directory (the test's own folder),
    which is also where the check looks for their files."""
    if KUBECTL is None:
        pytest.skip("kubectl is not installed: these mistakes are made through kubectl apply")
    monkeypatch.chdir(tmp_path)
    return kubectl_for(files, tmp_path)


def reference(name: str, change: Callable[[dict[str, Any]], Any] | None = None) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ASSETS / f"{name}.yaml").read_text())
    if change:
        change(document)
    return document


def policy(cluster: KubeCluster, name: str, change: Callable[[dict[str, Any]], Any] | None = None, namespace: str = NS) -> None:
    cluster.apply(reference(name, change), namespace)


def check(cluster: KubeCluster, step: str, kind: str = "policy-meaning") -> tuple[str, str, list[str]]:
    [result] = [r for r in run_step(LAB.step(step), cluster, LAB.placeholder_values) if r.id.endswith(kind)]
    return result.status, result.message, list(result.details)


def failing(cluster: KubeCluster, step: str) -> tuple[str, list[str]]:
    status, message, details = check(cluster, step)
    assert status == "failed", message
    return message, details


def passes(cluster: KubeCluster, step: str) -> None:
    status, message, _ = check(cluster, step)
    assert status == "passed", message


def evidence(details: list[str]) -> list[str]:
    return [line for line in details if line.startswith("yours ")]


def write(folder: Path, name: str, document: dict[str, Any] | str) -> Path:
    path = folder / name
    path.write_text(document if isinstance(document, str) else yaml.safe_dump(document, sort_keys=False))
    return path


def database_policies(cluster: KubeCluster) -> None:
    policy(cluster, "deny-ingress-db")
    policy(cluster, "allow-ingress-db")


def dns_step(cluster: KubeCluster) -> None:
    """What the DNS step finds: the database's two policies and egress denied to every pod."""
    database_policies(cluster)
    policy(cluster, "deny-all-egress")


def egress_rule(document: dict[str, Any]) -> dict[str, Any]:
    rule: dict[str, Any] = document["spec"]["egress"][0]
    return rule


# -- the policy's own podSelector ----------------------------------------------------------------


def test_an_empty_pod_selector_where_one_app_was_meant(clean: KubeCluster) -> None:
    policy(clean, "deny-ingress-db", lambda d: d["spec"].update(podSelector={}))
    message, details = failing(clean, "deny-ingress-db")
    assert message == ("deny-ingress-db's podSelector is {}, so it selects every pod in networkdemo (app=interpoddemo too); "
                       "this step selects only app=mysql")
    # The connections are evidence: three at most, the rest counted.
    shown = evidence(details)
    assert 1 <= len(shown) <= 3 and "-> networkdemo/interpoddemo-" in "\n".join(shown)
    assert any(line.startswith("... and ") for line in details)


def test_the_database_isolated_by_match_expressions_is_correct(clean: KubeCluster) -> None:
    policy(clean, "deny-ingress-db", lambda d: d["spec"].update(
        podSelector={"matchExpressions": [{"key": "app", "operator": "In", "values": ["mysql"]}]}))
    passes(clean, "deny-ingress-db")


def test_a_pod_selector_with_a_typo_selects_no_pod(clean: KubeCluster) -> None:
    policy(clean, "deny-ingress-db", lambda d: d["spec"].update(podSelector={"matchLabels": {"app": "mysqldb"}}))
    message, _ = failing(clean, "deny-ingress-db")
    assert message == ("deny-ingress-db's podSelector app=mysqldb selects no pod in networkdemo "
                       "(its pods: app=interpoddemo, app=mysql); this step selects app=mysql")


def test_egress_denied_to_the_web_servers_only_where_every_pod_was_meant(clean: KubeCluster) -> None:
    database_policies(clean)
    policy(clean, "deny-all-egress", lambda d: d["spec"].update(podSelector={"matchLabels": {"app": "interpoddemo"}}))
    message, _ = failing(clean, "deny-all-egress")
    assert message.startswith("deny-all-egress's podSelector is app=interpoddemo, so it leaves out the other pods of networkdemo")
    assert message.endswith("this step selects every pod ({})")


# -- policyTypes ------------------------------------------------------------------------------------


def test_deny_ingress_written_with_egress_as_its_only_policy_type(clean: KubeCluster) -> None:
    policy(clean, "deny-ingress", lambda d: d["spec"].update(policyTypes=["Egress"]))
    message, _ = failing(clean, "deny-ingress")
    assert message == ("deny-ingress's policyTypes is [Egress], so it isolates nothing for ingress and it blocks all egress; "
                       "this step wants [Ingress]")


def test_a_deny_ingress_listing_egress_too_blocks_all_egress(clean: KubeCluster) -> None:
    policy(clean, "deny-ingress-db", lambda d: d["spec"].update(policyTypes=["Ingress", "Egress"]))
    message, _ = failing(clean, "deny-ingress-db")
    assert message == ("deny-ingress-db's policyTypes is [Ingress, Egress], so it blocks all egress; this step wants [Ingress]")


def test_egress_rules_without_policy_types_also_isolate_ingress_with_the_line(clean: KubeCluster, kubectl: Kubectl, tmp_path: Path) -> None:
    database_policies(clean)
    write(tmp_path, "deny-egress.yaml", reference("deny-all-egress", lambda d: (
        d["spec"].pop("policyTypes"), d["spec"].update(egress=[{"to": [{"ipBlock": {"cidr": "10.200.0.0/16"}}]}]))))
    kubectl("apply", "-n", NS, "-f", "deny-egress.yaml")
    message, details = failing(clean, "deny-all-egress")
    assert message.startswith("deny-all-egress has no policyTypes (line ")
    assert message.endswith("of deny-egress.yaml), so the API server set [Ingress, Egress]: it blocks all ingress; this step wants [Egress]")
    # The next mistake follows: the egress rule the step does not have.
    assert any("egress rule 1 allows to addresses in 10.200.0.0/16" in line for line in details)


def test_deny_all_egress_with_policy_types_and_no_rules_is_correct(clean: KubeCluster, kubectl: Kubectl, tmp_path: Path) -> None:
    database_policies(clean)
    write(tmp_path, "deny-egress.yaml", reference("deny-all-egress", lambda d: d["spec"].update(egress=[])))
    kubectl("apply", "-n", NS, "-f", "deny-egress.yaml")
    passes(clean, "deny-all-egress")


def test_deny_ingress_listing_both_types_with_an_allow_all_egress_rule_is_correct(clean: KubeCluster) -> None:
    policy(clean, "deny-ingress", lambda d: d["spec"].update(policyTypes=["Ingress", "Egress"], egress=[{}]))
    passes(clean, "deny-ingress")


# -- rules and their ports ---------------------------------------------------------------------------


def test_an_empty_ingress_rule_allows_everything(clean: KubeCluster) -> None:
    policy(clean, "deny-ingress-db")
    policy(clean, "allow-ingress-db", lambda d: d["spec"].update(ingress=[{}]))
    message, _ = failing(clean, "allow-ingress-db")
    assert message == ("allow-ingress-db's ingress rule 1 is empty ({}), which allows anyone on any port; "
                       "this step allows only from app=interpoddemo pods in networkdemo on TCP 3306")


def test_the_database_opened_on_udp(clean: KubeCluster) -> None:
    policy(clean, "deny-ingress-db")
    policy(clean, "allow-ingress-db", lambda d: d["spec"]["ingress"][0]["ports"][0].update(protocol="UDP"))
    message, _ = failing(clean, "allow-ingress-db")
    assert message == "allow-ingress-db's ingress rule 1 allows UDP 3306; this step wants TCP 3306"


def test_the_database_opened_on_the_wrong_port_number(clean: KubeCluster) -> None:
    policy(clean, "deny-ingress-db")
    policy(clean, "allow-ingress-db", lambda d: d["spec"]["ingress"][0]["ports"][0].update(port=3307))
    message, _ = failing(clean, "allow-ingress-db")
    assert message == "allow-ingress-db's ingress rule 1 allows TCP 3307; this step wants TCP 3306"


def test_the_database_opened_on_every_port(clean: KubeCluster) -> None:
    policy(clean, "deny-ingress-db")
    policy(clean, "allow-ingress-db", lambda d: d["spec"]["ingress"][0].pop("ports"))
    message, _ = failing(clean, "allow-ingress-db")
    assert message == "allow-ingress-db's ingress rule 1 has no ports, so every port is allowed; this step allows only TCP 3306"


def test_the_database_opened_on_a_port_range(clean: KubeCluster) -> None:
    policy(clean, "deny-ingress-db")
    policy(clean, "allow-ingress-db", lambda d: d["spec"]["ingress"][0]["ports"][0].update(port=3300, endPort=3310))
    message, _ = failing(clean, "allow-ingress-db")
    assert message == "allow-ingress-db's ingress rule 1 allows TCP 3300-3310; this step wants TCP 3306"


def test_the_database_opened_by_its_named_port_is_correct(clean: KubeCluster) -> None:
    policy(clean, "deny-ingress-db")
    named = [c["ports"][0].get("name") for c in clean.list("pods", NS, labels="app=mysql")[0]["spec"]["containers"] if c.get("ports")]
    if not named or not named[0]:
        pytest.skip("the mysql pods' port has no name in this lab")
    policy(clean, "allow-ingress-db", lambda d: d["spec"]["ingress"][0]["ports"][0].update(port=named[0]))
    passes(clean, "allow-ingress-db")


def test_the_database_opened_to_the_wrong_app(clean: KubeCluster) -> None:
    policy(clean, "deny-ingress-db")
    policy(clean, "allow-ingress-db", lambda d: d["spec"]["ingress"][0]["from"][0]["podSelector"].update(matchLabels={"app": "interpoddemo2"}))
    message, _ = failing(clean, "allow-ingress-db")
    assert message == "allow-ingress-db's ingress rule 1 allows from podSelector app=interpoddemo2; this step allows app=interpoddemo"


def test_a_second_rule_letting_everyone_in(clean: KubeCluster) -> None:
    policy(clean, "deny-ingress-db")
    policy(clean, "allow-ingress-db", lambda d: d["spec"]["ingress"].append({"ports": [{"port": 3306}]}))
    message, _ = failing(clean, "allow-ingress-db")
    assert message == ("allow-ingress-db's ingress rule 2 allows from anyone on TCP 3306, which this step does not allow: "
                       "remove that rule")


def test_the_wrong_app_and_the_wrong_port_are_both_named(clean: KubeCluster) -> None:
    policy(clean, "deny-ingress-db")
    policy(clean, "allow-ingress-db", lambda d: (d["spec"]["ingress"][0]["ports"][0].update(port=80),
                                                 d["spec"]["ingress"][0]["from"][0]["podSelector"].update(matchLabels={"app": "web"})))
    message, details = failing(clean, "allow-ingress-db")
    said = [message, *details]
    assert any("allows from podSelector app=web; this step allows app=interpoddemo" in line for line in said[:2])
    assert any("allows TCP 80; this step wants TCP 3306" in line for line in said[:2])


def test_the_database_rule_written_in_two_rules_is_correct(clean: KubeCluster) -> None:
    policy(clean, "deny-ingress-db")
    policy(clean, "allow-ingress-db", lambda d: d["spec"].update(ingress=[
        {"from": [{"podSelector": {"matchLabels": {"app": "interpoddemo"}}}], "ports": [{"port": 3306}]},
        {"from": [{"podSelector": {"matchLabels": {"app": "interpoddemo"}}}], "ports": [{"port": 3306, "protocol": "TCP"}]}]))
    passes(clean, "allow-ingress-db")


# -- peers: one item or two, selectors, ipBlocks -------------------------------------------------------


def test_dns_with_namespace_and_pod_selector_split_into_two_peers(clean: KubeCluster) -> None:
    dns_step(clean)

    def split(d: dict[str, Any]) -> None:
        peer = egress_rule(d)["to"][0]
        egress_rule(d)["to"] = [{"namespaceSelector": peer["namespaceSelector"]}, {"podSelector": peer["podSelector"]}]

    policy(clean, "egress-allow-dns", split)
    message, _ = failing(clean, "allow-dns")
    assert message == ("egress-allow-dns's egress rule 1 has namespaceSelector kubernetes.io/metadata.name=kube-system "
                       "and podSelector k8s-app=kube-dns as two peers, so either admits; this step wants one")


def test_namespace_and_pod_selector_merged_into_one_peer_where_two_were_meant(clean: KubeCluster) -> None:
    def merged(d: dict[str, Any]) -> None:
        peers = d["spec"]["ingress"][0]["from"]
        peers[1:] = [{"namespaceSelector": peers[1]["namespaceSelector"], "podSelector": peers[2]["podSelector"]}]

    policy(clean, "ingress-egress-policy", merged, namespace="default")
    message, _ = failing(clean, "fix-broken-policy")
    assert message == ("ingress-egress-policy's ingress rule 1 has namespaceSelector project=myproject and podSelector role=frontend "
                       "in one peer, so both must match; this step wants two peers")


def test_the_broken_policy_with_its_peers_in_another_order_is_correct(clean: KubeCluster) -> None:
    policy(clean, "ingress-egress-policy", lambda d: d["spec"]["ingress"][0]["from"].reverse(), namespace="default")
    passes(clean, "fix-broken-policy")


def test_an_ip_block_that_lost_its_except(clean: KubeCluster) -> None:
    policy(clean, "ingress-egress-policy", lambda d: d["spec"]["ingress"][0]["from"][0]["ipBlock"].pop("except"), namespace="default")
    message, _ = failing(clean, "fix-broken-policy")
    assert message == ("ingress-egress-policy's ingress rule 1's ipBlock 172.17.0.0/16 has no except, so it also allows "
                       "172.17.1.0/24; this step excepts it")


def test_an_ip_block_with_the_wrong_cidr(clean: KubeCluster) -> None:
    policy(clean, "ingress-egress-policy", lambda d: d["spec"]["egress"][0]["to"][0]["ipBlock"].update(cidr="10.0.1.0/24"), namespace="default")
    message, _ = failing(clean, "fix-broken-policy")
    assert message == "ingress-egress-policy's egress rule 1's ipBlock is 10.0.1.0/24; this step wants 10.0.0.0/24"


def test_dns_allowed_by_a_namespace_label_kube_system_does_not_carry(clean: KubeCluster) -> None:
    dns_step(clean)
    policy(clean, "egress-allow-dns", lambda d: egress_rule(d)["to"][0].update(namespaceSelector={"matchLabels": {"name": "kube-system"}}))
    message, _ = failing(clean, "allow-dns")
    assert message == ("egress-allow-dns's egress rule 1 has namespaceSelector name=kube-system, matching no namespace "
                       "(kube-system has only kubernetes.io/metadata.name=kube-system)")


def test_dns_allowed_by_the_name_label_as_an_expression_is_correct(clean: KubeCluster) -> None:
    dns_step(clean)
    policy(clean, "egress-allow-dns", lambda d: egress_rule(d)["to"][0].update(namespaceSelector={
        "matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["kube-system"]}]}))
    passes(clean, "allow-dns")


def test_dns_allowed_to_every_namespace(clean: KubeCluster) -> None:
    dns_step(clean)
    policy(clean, "egress-allow-dns", lambda d: egress_rule(d)["to"][0].update(namespaceSelector={}))
    message, _ = failing(clean, "allow-dns")
    assert message == ("egress-allow-dns's egress rule 1 has namespaceSelector {}; this step selects kubernetes.io/metadata.name=kube-system")


# -- policies missing, extra, misplaced ----------------------------------------------------------------


def test_no_policy_at_all(clean: KubeCluster) -> None:
    message, _ = failing(clean, "deny-ingress")
    assert message == "networkdemo has no NetworkPolicy; this step wants deny-ingress, which selects every pod in networkdemo and denies all ingress"


def test_the_allow_policy_forgotten(clean: KubeCluster) -> None:
    policy(clean, "deny-ingress-db")
    message, _ = failing(clean, "allow-ingress-db")
    assert message == ("none of your policies is like allow-ingress-db, which selects app=mysql pods and allows ingress "
                       "from app=interpoddemo pods in networkdemo on TCP 3306")


def test_an_extra_policy_opening_everything(clean: KubeCluster) -> None:
    policy(clean, "deny-ingress-db")
    policy(clean, "allow-ingress-db")
    clean.apply({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "allow-all"},
                 "spec": {"podSelector": {}, "ingress": [{}], "policyTypes": ["Ingress"]}}, NS)
    message, _ = failing(clean, "allow-ingress-db")
    assert message == "allow-all is not part of this step: it selects every pod in networkdemo and allows ingress from anyone on any port; remove it"


# -- what the cluster object does not show: the learner's file, kubectl's record ----------------------


def test_the_line_of_the_mistake_in_the_learners_file(clean: KubeCluster, kubectl: Kubectl, tmp_path: Path) -> None:
    policy(clean, "deny-ingress-db")
    path = write(tmp_path, "allow-db.yaml", reference("allow-ingress-db", lambda d: d["spec"]["ingress"][0]["from"][0]["podSelector"]
                                                         .update(matchLabels={"app": "web"})))
    kubectl("apply", "-n", NS, "-f", str(path))
    line = next(number for number, text in enumerate(path.read_text().splitlines(), start=1) if "podSelector" in text and number > 8)
    message, _ = failing(clean, "allow-ingress-db")
    assert message == (f"allow-ingress-db's ingress rule 1 allows from podSelector app=web (line {line} of allow-db.yaml); "
                       "this step allows app=interpoddemo")


def test_a_file_edited_since_it_was_applied_gives_no_line(clean: KubeCluster, kubectl: Kubectl, tmp_path: Path) -> None:
    policy(clean, "deny-ingress-db")
    wrong = reference("allow-ingress-db", lambda d: d["spec"]["ingress"][0]["ports"][0].update(port=3307))
    write(tmp_path, "allow-db.yaml", wrong)
    kubectl("apply", "-n", NS, "-f", "allow-db.yaml")
    edited = copy.deepcopy(wrong)
    edited["spec"]["ingress"][0]["ports"][0]["port"] = 3308
    write(tmp_path, "allow-db.yaml", edited)
    message, _ = failing(clean, "allow-ingress-db")
    assert message == "allow-ingress-db's ingress rule 1 allows TCP 3307; this step wants TCP 3306"


MIS_INDENTED = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-ingress-db
spec:
  podSelector:
    matchLabels:
      app: mysql
  policyTypes:
  - Ingress
  ingress:
  - from:
    - podSelector:
        matchLabels:
          app: interpoddemo
    ports:
    - protocol: TCP
      port: 3306
  - podSelector:
      matchLabels:
        app: interpoddemo2
"""


def test_a_rule_lost_to_validate_false(clean: KubeCluster, kubectl: Kubectl, tmp_path: Path) -> None:
    policy(clean, "deny-ingress-db")
    write(tmp_path, "allow-db.yaml", MIS_INDENTED)
    refused = kubectl("apply", "-n", NS, "-f", "allow-db.yaml", check=False)
    assert refused.returncode != 0 and 'unknown field "spec.ingress[1].podSelector"' in refused.stderr
    kubectl("apply", "--validate=false", "-n", NS, "-f", "allow-db.yaml")
    message, details = failing(clean, "allow-ingress-db")
    assert message == ("allow-ingress-db lost spec.ingress[1].podSelector: not a field of an ingress rule "
                       "(mis-indented; --validate=false let it through), so rule 2 is {} and admits everyone")
    # The rule as stored, with its line in the learner's file: the step has no such rule.
    assert details[0] == "allow-ingress-db's ingress rule 2 is empty ({}) (line 19 of allow-db.yaml), which allows anyone on any port: remove that rule"


def test_weaves_obsolete_annotation_used_instead_of_a_policy(clean: KubeCluster) -> None:
    annotated = clean.get("namespaces", NS)
    annotated["metadata"].setdefault("annotations", {})[WEAVE] = '{"ingress":{"isolation":"DefaultDeny"}}'
    clean.apply(annotated)
    try:
        message, _ = failing(clean, "deny-ingress")
        assert message == (f"networkdemo's annotation {WEAVE} (Weave's pre-v1 DefaultDeny) isolates nothing today: "
                           "write a NetworkPolicy instead")
        policy(clean, "deny-ingress", lambda d: d["spec"].update(policyTypes=["Egress"]))
        message, details = failing(clean, "deny-ingress")  # beside a policy, the policy's mistake leads; the annotation is a remark
        assert message.startswith("deny-ingress's policyTypes is [Egress]") and any(WEAVE in line for line in details)
        policy(clean, "deny-ingress")
        passes(clean, "deny-ingress")  # the annotation does no harm beside a policy
    finally:
        current = clean.get("namespaces", NS)
        current["metadata"]["annotations"].pop(WEAVE, None)
        clean.update(current)  # a replace: an apply would merge the annotation back


# -- the state behind a probe ---------------------------------------------------------------------------


def test_a_dns_probe_says_the_namespace_selector_matches_no_namespace(clean: KubeCluster) -> None:
    dns_step(clean)
    policy(clean, "egress-allow-dns", lambda d: egress_rule(d)["to"][0].update(namespaceSelector={"matchLabels": {"name": "kube-system"}}))
    status, message, details = check(clean, "allow-dns", "probe-dns")
    assert status == "failed"
    assert message == ("from a pod labelled run=demopod, interpoddemo does not resolve, because egress-allow-dns's egress rule 1: "
                       "namespaceSelector name=kube-system matches no namespace")
    assert "kube-system's labels: kubernetes.io/metadata.name=kube-system" in details
    assert any(line.startswith("labrunner's policy engine:") for line in details)


def test_a_dns_probe_passes_with_the_right_label(clean: KubeCluster) -> None:
    dns_step(clean)
    policy(clean, "egress-allow-dns")
    status, message, _ = check(clean, "allow-dns", "probe-dns")
    assert status == "passed", message


def test_the_policy_to_repair_saved_under_a_misspelt_name(clean: KubeCluster) -> None:
    policy(clean, "ingress-egress-policy", lambda d: d["metadata"].update(name="ingress-egres-policy"), namespace="default")
    message, _ = failing(clean, "fix-broken-policy")
    assert message == ("NetworkPolicy ingress-egress-policy does not exist in default; there is a NetworkPolicy ingress-egres-policy "
                       "there (the step asks for the name ingress-egress-policy)")


def test_the_web_server_opened_only_to_an_address_range(clean: KubeCluster) -> None:
    policy(clean, "deny-ingress")
    policy(clean, "allow-ingress-webserver", lambda d: d["spec"]["ingress"][0].update({"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}))
    message, _ = failing(clean, "allow-ingress-webserver")
    assert message == ("allow-ingress-webserver's ingress rule 1 allows only from addresses in 10.0.0.0/8; "
                       "this step allows from anyone (no from)")


def test_the_database_opened_to_the_web_pods_of_every_namespace(clean: KubeCluster) -> None:
    policy(clean, "deny-ingress-db")
    policy(clean, "allow-ingress-db", lambda d: d["spec"]["ingress"][0]["from"][0].update(namespaceSelector={}))
    message, _ = failing(clean, "allow-ingress-db")
    assert message == ("allow-ingress-db's ingress rule 1 allows from app=interpoddemo pods in every namespace; "
                       "this step allows from app=interpoddemo pods in networkdemo")


def test_deny_and_allow_written_as_one_policy_is_correct(clean: KubeCluster) -> None:
    policy(clean, "allow-ingress-db")
    passes(clean, "allow-ingress-db")
