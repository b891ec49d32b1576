"""The Services lab's own checks against the mistakes learners make, on a sandbox of this module's
own (the lab edits CoreDNS's Corefile and installs ingress-nginx, the Gateway API's CRDs and NGINX
Gateway Fabric, all cluster-wide; NGF programs one Gateway of its class, so the routes' tests share
the lab's). Each mistake is made with real kubectl, the step's checks run through the registry, and
the first sentence the learner reads must name the object, the field and the value responsible.
Correct answers written other ways (ImplementationSpecific paths, two Ingresses, a regex rewrite,
a ReferenceGrant for every Service, a Service made with kubectl expose, two HTTPRoutes) must pass.

The module installs the controllers once, with the catalog in shop-catalog and the lab's Gateway
edge (given a second listener for any host, so every test's routes can attach); a test works in
namespaces of its own, or changes the shared state (the Corefile, the Gateway) and puts it back."""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from labrunner.lab.loader import load_lab
from labrunner.lab.model import Lab
from labrunner.registry.types import Outcome
from labrunner.session.actions import run_commands, setup_commands, solution_commands
from tests.checks.lab_checks import step_results
from tests.conftest import REPO
from tests.sandboxes import KUBECTL, Kubectl, fresh_name, kubectl_for, start_sandbox

pytestmark = [pytest.mark.kubectl, pytest.mark.skipif(KUBECTL is None, reason="needs the kubectl binary on PATH")]

LAB_DIR = REPO / "labs" / "services"
ASSETS = REPO / "assets" / "services"
BASE = {"namespace": "shop", "catalog-namespace": "shop-catalog", "gateway-namespace": "edge"}
Results = list[tuple[str, Outcome]]


# -- a sandbox of the module's own, the lab solved once -------------------------------------------


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Kubectl, Any]]:
    from labrunner.cluster.kube import connect
    from labrunner.sandbox.control import stop

    files = start_sandbox(tmp_path_factory.mktemp("services"))
    yield kubectl_for(files, tmp_path_factory.mktemp("home")), connect(files.kubeconfig)
    stop(files)


@pytest.fixture(scope="module")
def base(own: tuple[Kubectl, Any]) -> Lab:
    """The lab's controllers and Gateway in place (in shop, shop-catalog and edge), the catalog running."""
    kubectl = own[0]
    lab = load_lab(LAB_DIR, BASE)
    kubectl("create", "namespace", "shop")
    kubectl("create", "namespace", "shop-catalog")
    kubectl("apply", "-n", "shop-catalog", "-f", str(ASSETS / "catalog.yaml"))
    for step_id in ("ingress-controller", "gateway-install", "gateway"):
        solve_step(lab, own[1], step_id)
    kubectl("apply", "-n", "edge", "-f", "-", stdin=GATEWAY)
    return lab


def solve_step(lab: Lab, cluster: Any, step_id: str, *, setup: bool = True) -> None:
    step = lab.step(step_id)
    commands = (setup_commands(lab, step, "sandbox") if setup else []) + solution_commands(lab, step, "sandbox")
    done = run_commands(commands, cluster.info, lab.placeholder_values)
    assert all(a.exit_code == 0 for a in done), [(a.command, a.output) for a in done if a.exit_code]


@pytest.fixture
def kubectl(own: tuple[Kubectl, Any]) -> Kubectl:
    return own[0]


@pytest.fixture
def ns(kubectl: Kubectl) -> Iterator[str]:
    """A namespace of the test's own (and its catalog namespace), gone afterwards."""
    name = fresh_name("svc")
    kubectl("create", "namespace", name)
    yield name
    kubectl("delete", "namespace", name, f"{name}-catalog", "--ignore-not-found", "--wait=false", check=False)


@pytest.fixture
def lab(ns: str) -> Lab:
    return load_lab(LAB_DIR, {"namespace": ns, "catalog-namespace": f"{ns}-catalog", "gateway-namespace": "edge"})


def results(lab: Lab, cluster: Any, step_id: str, *kinds: str) -> Results:
    """The step's checks (only those of ``kinds`` when given), run as the session runs them."""
    found = step_results(lab, cluster, step_id)
    return [(says, outcome) for (says, outcome), check in zip(found, lab.step(step_id).checks) if not kinds or check.kind in kinds]


def first_failure(lab: Lab, cluster: Any, step_id: str, *kinds: str, seconds: float = 20) -> Outcome:
    """The step's first failing check's outcome (the first sentence the learner reads, and its
    details), once it is failing (not pending: the cluster settles)."""
    deadline = time.monotonic() + seconds
    while True:
        found = results(lab, cluster, step_id, *kinds)
        failing = [outcome for _, outcome in found if outcome[0] == "failed"]
        if failing:
            return failing[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"{step_id} never failed: {found}")
        time.sleep(0.2)


def explains(lab: Lab, cluster: Any, step_id: str, kind: str, *texts: str, seconds: float = 20) -> tuple[str, list[str]]:
    """The step's check of ``kind`` fails, and its first sentence says each of ``texts``: that
    sentence, and the details below it."""
    deadline = time.monotonic() + seconds
    while True:
        _, sentence, details = first_failure(lab, cluster, step_id, kind, seconds=seconds)
        if all(text in sentence for text in texts):
            return sentence, list(details)
        if time.monotonic() > deadline:
            raise AssertionError(f"{[t for t in texts if t not in sentence]!r} not in: {sentence}")
        time.sleep(0.2)


def says(lab: Lab, cluster: Any, step_id: str, kind: str, *texts: str, seconds: float = 20) -> str:
    """The step's check of ``kind`` fails, and its first sentence says each of ``texts``."""
    return explains(lab, cluster, step_id, kind, *texts, seconds=seconds)[0]


def passes(lab: Lab, cluster: Any, step_id: str, *kinds: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        found = results(lab, cluster, step_id, *kinds)
        if all(outcome[0] == "passed" for _, outcome in found):
            return
        if time.monotonic() > deadline:
            raise AssertionError([outcome for _, outcome in found if outcome[0] != "passed"])
        time.sleep(0.2)


def apply(kubectl: Kubectl, namespace: str, manifest: str) -> None:
    kubectl("apply", "-n", namespace, "-f", "-", stdin=textwrap.dedent(manifest))


def asset(name: str, *replacements: tuple[str, str]) -> str:
    text = (ASSETS / name).read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    return text


def ready(kubectl: Kubectl, namespace: str, *workloads: str) -> None:
    for workload in workloads:
        kubectl("rollout", "status", workload, "-n", namespace, "--timeout=60s")


# -- steps 0 and 1: ClusterIP and NodePort Services -------------------------------------------------


def test_a_target_port_where_the_pods_do_not_listen_names_the_port_they_declare(kubectl: Kubectl, own: Any, lab: Lab, ns: str) -> None:
    apply(kubectl, ns, asset("backend.yaml"))
    apply(kubectl, ns, asset("backend-service.yaml", ("targetPort: http", "targetPort: 8080")))
    assert explains(lab, own[1], "cluster-ip", "service-backends") == (
        "service backend: spec.ports[0].targetPort is 8080, but the containers of deployment backend declare http=80/TCP",
        ["nothing listens on 8080"])


def test_a_selector_with_a_typo_names_the_label_the_pods_have(kubectl: Kubectl, own: Any, lab: Lab, ns: str) -> None:
    apply(kubectl, ns, asset("backend.yaml"))
    apply(kubectl, ns, asset("backend-service.yaml", ("app: backend", "app: backnd")))
    assert explains(lab, own[1], "cluster-ip", "service-backends", "app=backnd") == (
        "service backend: spec.selector has app=backnd, where the pods have app=backend, so it selects none of them",
        ["deployment backend's pods are labelled app=backend"])


def test_a_service_made_in_another_namespace_is_found_there(kubectl: Kubectl, own: Any, lab: Lab, ns: str) -> None:
    elsewhere = fresh_name("other")
    kubectl("create", "namespace", elsewhere)
    try:
        apply(kubectl, elsewhere, asset("backend-service.yaml"))  # forgot -n
        # (other tests' namespaces, on their way out, may hold one too)
        says(lab, own[1], "cluster-ip", "service-backends", f"service backend is not in {ns}: there is a Service backend in ", elsewhere,
             f"(applied without -n {ns}?)")
    finally:
        kubectl("delete", "namespace", elsewhere, "--wait=false")


def test_a_selector_copied_from_another_app_names_the_app_it_selects(kubectl: Kubectl, own: Any, lab: Lab, ns: str) -> None:
    apply(kubectl, ns, asset("backend.yaml") + "---\n" + asset("api.yaml"))
    apply(kubectl, ns, asset("api-service.yaml", ("app: api", "app: backend")))
    assert says(lab, own[1], "nodeport", "service-backends") == (
        "service api: spec.selector app=backend selects the pods of deployment backend, not those of deployment api "
        "(labelled app=api)")


def test_a_misspelt_named_target_port_names_the_ports_the_containers_declare(kubectl: Kubectl, own: Any, lab: Lab, ns: str) -> None:
    apply(kubectl, ns, asset("api.yaml"))
    apply(kubectl, ns, asset("api-service.yaml", ("targetPort: http-api", "targetPort: http-ap")))
    assert explains(lab, own[1], "nodeport", "service-backends") == (
        "service api: spec.ports[0].targetPort is 'http-ap', a port name no container of deployment api declares (they declare "
        "http-api=5678/TCP)", ["so the Service has no endpoint for its port 80"])
    # and the request says what the data plane does with it: no backend for the port
    says(lab, own[1], "nodeport", "probe-http", "http://api was refused, because service api's targetPort 'http-ap' is no port of its pods",
         "; expected: reachable", seconds=1)


def test_a_cluster_ip_service_where_a_node_port_was_asked(kubectl: Kubectl, own: Any, lab: Lab, ns: str) -> None:
    apply(kubectl, ns, asset("api.yaml"))
    kubectl("expose", "deployment", "api", "-n", ns, "--port=80", "--target-port=http-api")
    says(lab, own[1], "nodeport", "service-backends", "service api: spec.type is ClusterIP; this step wants NodePort")


def test_port_and_target_port_swapped_names_the_port_clients_use(kubectl: Kubectl, own: Any, lab: Lab, ns: str) -> None:
    apply(kubectl, ns, asset("api.yaml"))
    apply(kubectl, ns, asset("api-service.yaml", ("port: 80", "port: 5678")))
    assert explains(lab, own[1], "nodeport", "service-backends", "no port 80") == (
        "service api: spec.ports has no port 80 (it has 5678)",
        ["clients connect to the Service's port, 80, and targetPort says where the pods listen"])


def test_a_service_made_with_kubectl_expose_and_a_numbered_target_port_passes(kubectl: Kubectl, own: Any, lab: Lab, ns: str) -> None:
    apply(kubectl, ns, asset("backend.yaml"))
    kubectl("expose", "deployment", "backend", "-n", ns, "--port=80", "--target-port=80")
    ready(kubectl, ns, "deployment/backend")
    passes(lab, own[1], "cluster-ip", "service-backends", "dns-record")


# -- step 2: a headless Service and a StatefulSet ---------------------------------------------------


def test_a_service_with_a_cluster_ip_gives_the_statefulsets_pods_no_names(kubectl: Kubectl, own: Any, lab: Lab, ns: str) -> None:
    apply(kubectl, ns, asset("cache.yaml", ("  clusterIP: None\n", "")))
    ready(kubectl, ns, "statefulset/cache")
    sentence, details = explains(lab, own[1], "headless", "service-backends", "service cache: spec.clusterIP is 10.96.")
    assert sentence.endswith(", not None (this step wants a headless Service)")
    assert details == ["a Service with a cluster IP has one virtual address and no DNS record per pod",
                       "clusterIP cannot be changed, so delete the Service and create it with clusterIP: None"]
    # a full name is the same from every namespace: the sentence names it alone
    sentence, details = explains(lab, own[1], "headless", "dns-record",
                                 f"cache-0.cache.{ns}.svc.cluster.local does not resolve: service cache: spec.clusterIP is 10.96.")
    assert sentence.endswith(", not None")
    assert details[:2] == ["only a headless Service gives its pods names of their own",
                           "clusterIP cannot be changed, so delete the Service and create it with clusterIP: None"]
    assert details[-1].startswith(f"nslookup cache-0.cache.{ns}.svc.cluster.local, from a pod in {ns}, says: ")


def test_a_service_name_the_statefulset_does_not_have_is_named(kubectl: Kubectl, own: Any, lab: Lab, ns: str) -> None:
    apply(kubectl, ns, asset("cache.yaml", ("serviceName: cache", "serviceName: caches")))
    ready(kubectl, ns, "statefulset/cache")
    sentence, details = explains(lab, own[1], "headless", "dns-record", "statefulset cache")
    assert sentence == (f"cache-0.cache.{ns}.svc.cluster.local does not resolve: statefulset cache: spec.serviceName is 'caches', "
                        "but no Service caches exists")
    assert details[0] == f"Services in {ns}: cache"


def test_a_headless_service_made_with_kubectl_create_passes(kubectl: Kubectl, own: Any, lab: Lab, ns: str) -> None:
    statefulset = asset("cache.yaml").split("---\n")[1]
    kubectl("create", "service", "clusterip", "cache", "-n", ns, "--clusterip=None", "--tcp=6379:6379")
    apply(kubectl, ns, statefulset)
    ready(kubectl, ns, "statefulset/cache")
    passes(lab, own[1], "headless")


# -- step 3: EndpointSlices and readiness -----------------------------------------------------------


def test_a_canary_labelled_otherwise_is_in_no_slice(kubectl: Kubectl, own: Any, lab: Lab, ns: str) -> None:
    apply(kubectl, ns, asset("backend.yaml") + "---\n" + asset("backend-service.yaml"))
    apply(kubectl, ns, asset("backend-canary.yaml", ("app: backend", "app: canary")))
    ready(kubectl, ns, "deployment/backend")
    assert explains(lab, own[1], "endpointslices", "service-endpoints") == (
        "pod backend-canary's labels app=canary,track=canary do not match service backend's selector app=backend",
        ["so pod backend-canary is in no EndpointSlice of service backend"])


def test_a_canary_left_healthy_is_said_to_get_traffic(kubectl: Kubectl, own: Any, lab: Lab, ns: str) -> None:
    apply(kubectl, ns, asset("backend.yaml") + "---\n" + asset("backend-service.yaml") + "---\n" + asset("backend-canary.yaml"))
    kubectl("wait", "--for=condition=Ready", "pod/backend-canary", "-n", ns, "--timeout=60s")
    sentence, details = explains(lab, own[1], "endpointslices", "service-endpoints", "pod backend-canary is listed ready")
    assert sentence == "pod backend-canary is listed ready by service backend: container nginx's readinessProbe (httpGet / on port http) passes"
    assert details[0].startswith("EndpointSlice backend-") and details[0].endswith(" lists it ready, so kube-proxy sends it traffic")
    kubectl("exec", "-n", ns, "backend-canary", "--", "rm", "/usr/share/nginx/html/index.html")
    passes(lab, own[1], "endpointslices", "service-endpoints")


# -- step 4: names across namespaces ---------------------------------------------------------------


def test_the_short_name_from_another_namespace_names_the_search_path(kubectl: Kubectl, own: Any, lab: Lab, ns: str) -> None:
    kubectl("create", "namespace", f"{ns}-catalog")
    apply(kubectl, f"{ns}-catalog", asset("catalog.yaml"))
    sentence, details = explains(lab, own[1], "cross-namespace", "dns-record", f"from a pod in {ns}, catalog does not resolve")
    assert sentence == (f"from a pod in {ns}, catalog does not resolve: service catalog is in {ns}-catalog, and a short name is looked up "
                        f"in {ns} first")
    assert details[0] == (f"the short name is looked up as catalog.{ns}.svc.cluster.local first (a pod's search path starts with its "
                          "own namespace)")


def test_an_external_name_that_is_no_full_name_is_named(kubectl: Kubectl, own: Any, lab: Lab, ns: str) -> None:
    kubectl("create", "namespace", f"{ns}-catalog")
    apply(kubectl, f"{ns}-catalog", asset("catalog.yaml"))
    kubectl("create", "service", "externalname", "catalog", "-n", ns, f"--external-name=catalog.{ns}-catalog")
    sentence, details = explains(lab, own[1], "cross-namespace", "dns-record", "externalName")
    assert sentence == f"from a pod in {ns}, catalog does not resolve: service catalog's spec.externalName catalog.{ns}-catalog is no full name"
    assert details[:2] == [f"it is looked up as catalog.{ns}.svc.cluster.local, service catalog of {ns}, an ExternalName for "
                           f"catalog.{ns}-catalog: CoreDNS answers with that name as it is (a CNAME's target is never searched)",
                           f"set spec.externalName: catalog.{ns}-catalog.svc.cluster.local"]


# -- step 5: CoreDNS -----------------------------------------------------------------------------------


@pytest.fixture
def corefile(base: Lab, own: tuple[Kubectl, Any]) -> Iterator[Callable[[str], None]]:
    """Set the Corefile; the lab's own (kubeadm's with the base lab's rule) is put back afterwards."""
    kubectl = own[0]

    def write(text: str) -> None:
        kubectl("patch", "configmap", "coredns", "-n", "kube-system", "--type", "merge", "-p", json.dumps({"data": {"Corefile": text}}))

    yield write
    kubectl("apply", "-n", "kube-system", "-f", str(ASSETS / "coredns-kubeadm.yaml"))


def kubeadm(*lines: str, after: str = "") -> str:
    from labrunner.sandbox.coredns.manifests import COREFILE

    return COREFILE.replace("    kubernetes cluster.local", "".join(f"    {line}\n" for line in lines) + "    kubernetes cluster.local") + after


RULE = "rewrite name exact catalog.shop.internal catalog.shop-catalog.svc.cluster.local"


def test_a_rewrite_in_a_block_that_does_not_take_the_name_says_which_block_does(base: Lab, own: Any, corefile: Any) -> None:
    corefile(kubeadm(after=f"example.internal:53 {{\n    errors\n    {RULE}\n    forward . /etc/resolv.conf\n}}\n"))
    assert explains(base, own[1], "coredns", "coredns-alias", "rewrite") == (
        "the Corefile's rewrite of catalog.shop.internal is in server block example.internal.:53, which does not answer it; .:53 does",
        ["move the rule into the server block .:53 of configmap coredns (kube-system): CoreDNS gives a name to the server block of its "
         "most specific zone",
         f"the rule: {RULE} (sends it to catalog.shop-catalog.svc.cluster.local)",
         "from a pod in shop, catalog.shop.internal does not resolve, where catalog.shop-catalog.svc.cluster.local resolves to "
         f"{cluster_ip(own[0], 'shop-catalog', 'catalog')}"])


def test_a_rewrite_in_a_block_of_its_own_has_nothing_to_answer_with(base: Lab, own: Any, corefile: Any) -> None:
    corefile(kubeadm(after=f"shop.internal:53 {{\n    errors\n    {RULE}\n}}\n"))
    sentence, details = explains(base, own[1], "coredns", "coredns-alias", "no plugin")
    assert sentence == ("the server block shop.internal.:53 of the Corefile rewrites catalog.shop.internal, but has no plugin to answer "
                        "the new name")
    assert details[:2] == ["a rewrite renames the question inside the block that took it: put the rule in the block with the "
                           "kubernetes plugin",
                           f"the server block shop.internal.:53 has {RULE} (sends it to catalog.shop-catalog.svc.cluster.local)"]


def test_a_typo_coredns_refuses_is_quoted_in_its_words(base: Lab, own: Any, corefile: Any) -> None:
    corefile(kubeadm(RULE.replace("rewrite name", "rewrite nam")))
    assert says(base, own[1], "coredns", "coredns-alias", "refuses") == (
        'configmap coredns (kube-system): CoreDNS refuses this Corefile: plugin/rewrite: invalid rule type "nam"')


def test_a_rewrite_to_a_name_that_does_not_exist_names_the_rule(base: Lab, own: Any, corefile: Any) -> None:
    corefile(kubeadm(RULE.replace("shop-catalog.svc", "shopcatalog.svc")))
    sentence, details = explains(base, own[1], "coredns", "coredns-alias", "shopcatalog")
    assert sentence == ("the server block .:53 rewrites catalog.shop.internal to catalog.shopcatalog.svc.cluster.local, not to "
                        "catalog.shop-catalog.svc.cluster.local")
    assert details[0].startswith("from a pod in shop, catalog.shop.internal does not resolve, where catalog.shop-catalog.svc.cluster.local "
                                 "resolves to ")
    assert details[1] == ("the server block .:53 does: rewrite name exact catalog.shop.internal catalog.shopcatalog.svc.cluster.local "
                          "(sends it to catalog.shopcatalog.svc.cluster.local)")


def test_a_regex_rewrite_passes(base: Lab, own: Any, corefile: Any) -> None:
    corefile(kubeadm(r"rewrite name regex (.*)\.shop\.internal {1}.shop-catalog.svc.cluster.local answer auto"))
    passes(base, own[1], "coredns")


def cluster_ip(kubectl: Kubectl, namespace: str, name: str) -> str:
    return str(kubectl("get", "service", name, "-n", namespace, "-o", "jsonpath={.spec.clusterIP}").stdout)


# -- step 7: Ingress -----------------------------------------------------------------------------------


INGRESS = """
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {name}
spec:
  {class_line}
  rules:
    - host: {host}
      http:
        paths:
{paths}
"""


def path(value: str, service: str, port: str = "number: 80", kind: str = "Prefix") -> str:
    return (f"          - path: {value}\n            pathType: {kind}\n            backend:\n              service:\n"
            f"                name: {service}\n                port: {{{port}}}\n")


def ingress(ns: str, *paths: str, name: str = "shop", class_line: str = "ingressClassName: nginx", host: str = "") -> str:
    return INGRESS.format(name=name, class_line=class_line, host=host or f"shop.{ns}.example", paths="".join(paths))


@pytest.fixture
def apps(kubectl: Kubectl, ns: str, base: Lab) -> str:
    """The backend's and the API's Services in the test's namespace (what routes refer to; no pods
    needed to judge them), ingress-nginx and NGF installed by ``base``."""
    apply(kubectl, ns, "---\n".join(asset(name) for name in ("backend-service.yaml", "api-service.yaml")))
    return ns


def test_an_ingress_without_a_class_is_said_to_depend_on_the_controllers_flags(kubectl: Kubectl, own: Any, lab: Lab, apps: str) -> None:
    apply(kubectl, apps, ingress(apps, path("/api", "api"), path("/", "backend"), class_line=""))
    sentence, details = explains(lab, own[1], "ingress", "ingress-routes", "ingressClassName is not set")
    assert sentence == ("ingress shop: spec.ingressClassName is not set, and no IngressClass is the cluster's default; this step's class "
                        "is nginx")
    assert details[0] == "so no controller is bound to serve it" and details[-1] == "set spec.ingressClassName: nginx"


def test_an_exact_path_where_prefix_was_meant_falls_through_to_the_root(kubectl: Kubectl, own: Any, lab: Lab, apps: str) -> None:
    apply(kubectl, apps, ingress(apps, path("/api", "api", kind="Exact"), path("/", "backend")))
    assert explains(lab, own[1], "ingress", "ingress-routes") == (
        "ingress shop: spec.rules[0].http.paths[0] path /api is Exact, so /api/orders does not match it; it should reach service api",
        ["Prefix takes the path and everything below it; Exact, that path alone", "/api/orders falls through to / and gets service backend"])


def test_a_backend_port_name_the_service_lacks_is_named(kubectl: Kubectl, own: Any, lab: Lab, apps: str) -> None:
    apply(kubectl, apps, ingress(apps, path("/api", "api", port="name: htp"), path("/", "backend")))
    assert says(lab, own[1], "ingress", "ingress-routes") == (
        "ingress shop: spec.rules[0].http.paths[0].backend.service.port.name is 'htp'; service api has no port of that name "
        "(its ports: http=80)")


def test_an_ingress_for_another_host_names_the_hosts_it_has(kubectl: Kubectl, own: Any, lab: Lab, apps: str) -> None:
    apply(kubectl, apps, ingress(apps, path("/api", "api"), path("/", "backend"), host="shop.example.com"))
    assert explains(lab, own[1], "ingress", "ingress-routes", "has a rule for host") == (
        f"no Ingress of class nginx in {apps} has a rule for host shop.{apps}.example (their hosts: shop.example.com)",
        ["so a request for it gets the default backend's 404"])


def test_a_misspelt_ingress_class_is_named(kubectl: Kubectl, own: Any, lab: Lab, apps: str) -> None:
    apply(kubectl, apps, ingress(apps, path("/api", "api"), path("/", "backend"), class_line="ingressClassName: ngnix"))
    assert says(lab, own[1], "ingress", "ingress-routes") == (
        "ingress shop: spec.ingressClassName is 'ngnix'; no IngressClass ngnix exists (classes: nginx), so no controller serves it")


def test_implementation_specific_paths_and_two_ingresses_pass(kubectl: Kubectl, own: Any, lab: Lab, apps: str) -> None:
    apply(kubectl, apps, ingress(apps, path("/api", "api", port="name: http", kind="ImplementationSpecific"), name="api")
          + "---\n" + ingress(apps, path("/", "backend"), name="web"))
    passes(lab, own[1], "ingress", "ingress-routes")


# -- steps 9 to 11: the Gateway API ------------------------------------------------------------------


def test_a_gateway_of_a_misspelt_class_is_never_programmed(kubectl: Kubectl, own: Any, ns: str, base: Lab) -> None:
    lab = load_lab(LAB_DIR, {**BASE, "gateway-namespace": ns})
    apply(kubectl, ns, """
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: {name: edge}
        spec:
          gatewayClassName: ngnix
          listeners: [{name: http, protocol: HTTP, port: 80, hostname: "*.shop.example"}]
    """)
    assert explains(lab, own[1], "gateway", "gateway-programmed") == (
        "gateway edge: spec.gatewayClassName is 'ngnix', a class that does not exist; this step wants nginx",
        ["GatewayClasses: nginx", "so the controller of nginx does not program it",
         "gatewayClassName cannot be changed: delete the Gateway and create it again"])


def test_a_second_gateway_of_the_class_is_said_to_conflict(kubectl: Kubectl, own: Any, ns: str, base: Lab) -> None:
    lab = load_lab(LAB_DIR, {**BASE, "gateway-namespace": ns})
    # the lab's own Gateway edge (of edge) is older and programmed; a second of the class is ignored
    apply(kubectl, ns, """
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: {name: edge}
        spec:
          gatewayClassName: nginx
          listeners: [{name: http, protocol: HTTP, port: 80, hostname: "*.shop.example"}]
    """)
    sentence, details = explains(lab, own[1], "gateway", "gateway-programmed", "GatewayConflict")
    assert sentence == "gateway edge is not accepted: Accepted False (GatewayConflict)"
    assert details[0].startswith("its controller says: ")
    assert details[-1] == "NGINX Gateway Fabric 1.x programs one Gateway of its class, the oldest: delete the other or use it"


GATEWAY = """
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge}
spec:
  gatewayClassName: nginx
  listeners:
    - {name: http, protocol: HTTP, port: 80, hostname: "*.shop.example", allowedRoutes: {namespaces: {from: All}}}
    - {name: any, protocol: HTTP, port: 80, allowedRoutes: {namespaces: {from: All}}}
"""


@pytest.fixture
def gateway(base: Lab, own: tuple[Kubectl, Any]) -> Iterator[Kubectl]:
    """The shared Gateway, put back as ``base`` made it after the test."""
    yield own[0]
    own[0]("apply", "-n", "edge", "-f", "-", stdin=GATEWAY)


def route(ns: str, name: str, *rules: str, parent: str = "{name: edge, namespace: edge, sectionName: any}") -> str:
    return (f"apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {{name: {name}}}\nspec:\n"
            f"  parentRefs: [{parent}]\n  hostnames: [shop.{ns}.example]\n  rules:\n" + "".join(rules))


def rule(service: str, value: str = "", kind: str = "PathPrefix", namespace: str = "") -> str:
    match = f"    - matches: [{{path: {{type: {kind}, value: {value}}}}}]\n      backendRefs:" if value else "    - backendRefs:"
    where = f", namespace: {namespace}" if namespace else ""
    return f"{match} [{{name: {service}, port: 80{where}}}]\n"


SHOP_RULES = (rule("api", "/api"), rule("backend"))


@pytest.fixture
def catalog(kubectl: Kubectl, apps: str) -> str:
    """The catalog's Service in the test's catalog namespace, and the route to it that the last step's setup makes."""
    kubectl("create", "namespace", f"{apps}-catalog")
    apply(kubectl, f"{apps}-catalog", asset("catalog.yaml").split("---\n")[1])
    apply(kubectl, apps, route(apps, "shop", *SHOP_RULES) + "---\n"
          + route(apps, "catalog", rule("catalog", "/catalog", namespace=f"{apps}-catalog")))
    return f"{apps}-catalog"


def test_a_parent_ref_without_the_gateways_namespace_names_both_namespaces(kubectl: Kubectl, own: Any, lab: Lab, apps: str) -> None:
    apply(kubectl, apps, route(apps, "shop", *SHOP_RULES, parent="{name: edge, sectionName: any}"))
    assert explains(lab, own[1], "httproute", "httproute-routes") == (
        f"httproute shop: spec.parentRefs[0].namespace is not set, so it names gateway 'edge' in {apps}, the route's own; gateway edge is "
        "in edge", ["set spec.parentRefs[0].namespace: edge"])


def test_a_section_name_the_gateway_lacks_names_its_listeners(kubectl: Kubectl, own: Any, lab: Lab, apps: str) -> None:
    apply(kubectl, apps, route(apps, "shop", *SHOP_RULES, parent="{name: edge, namespace: edge, sectionName: web}"))
    assert says(lab, own[1], "httproute", "httproute-routes") == (
        "httproute shop: spec.parentRefs[0].sectionName is 'web'; gateway edge has listeners http (port 80), any (port 80)")


def test_hostnames_no_listener_serves_are_named(kubectl: Kubectl, own: Any, lab: Lab, apps: str) -> None:
    apply(kubectl, apps, route(apps, "shop", *SHOP_RULES, parent="{name: edge, namespace: edge, sectionName: http}"))
    assert says(lab, own[1], "httproute", "httproute-routes") == (
        f"httproute shop: spec.hostnames (shop.{apps}.example) match no hostname of gateway edge's listeners (http: *.shop.example)")


def test_a_listener_for_its_own_namespace_only_is_named(own: Any, lab: Lab, apps: str, gateway: Kubectl) -> None:
    gateway("apply", "-n", "edge", "-f", "-", stdin=GATEWAY.replace(", allowedRoutes: {namespaces: {from: All}}", ""))
    apply(gateway, apps, route(apps, "shop", *SHOP_RULES))
    assert explains(lab, own[1], "httproute", "httproute-routes") == (
        f"gateway edge's listener http: allowedRoutes.namespaces.from is Same (the default), and httproute shop is in {apps}",
        ["a listener admits routes from its own namespace (edge) only, unless its allowedRoutes.namespaces say otherwise (from: All, "
         "or from: Selector)"])


def test_an_exact_path_where_path_prefix_was_meant(kubectl: Kubectl, own: Any, lab: Lab, apps: str) -> None:
    apply(kubectl, apps, route(apps, "shop", rule("api", "/api", kind="Exact"), rule("backend")))
    sentence, details = explains(lab, own[1], "httproute", "httproute-routes", "Exact /api")
    assert sentence == "httproute shop: spec.rules[0].matches[0].path is Exact /api, so /api/orders does not match it; it should reach service api"
    assert details == ["PathPrefix takes the path and everything below it; Exact, that path alone",
                       "httproute shop: spec.rules[1] (PathPrefix /) takes it and sends it to backend"]


def test_a_backend_service_that_does_not_exist_is_named(kubectl: Kubectl, own: Any, lab: Lab, apps: str) -> None:
    apply(kubectl, apps, route(apps, "shop", rule("apis", "/api"), rule("backend")))
    assert says(lab, own[1], "httproute", "httproute-routes") == (
        "httproute shop: spec.rules[0] (PathPrefix /api) takes /api and sends it to apis: /api should reach service api")


def test_two_routes_and_a_selector_listener_pass(own: Any, lab: Lab, apps: str, gateway: Kubectl) -> None:
    gateway("label", "namespace", apps, "shop-routes=true")
    gateway("apply", "-n", "edge", "-f", "-", stdin=GATEWAY.replace(
        "{name: any, protocol: HTTP, port: 80, allowedRoutes: {namespaces: {from: All}}}",
        "{name: any, protocol: HTTP, port: 80, allowedRoutes: {namespaces: {from: Selector, selector: {matchLabels: {shop-routes: 'true'}}}}}"))
    apply(gateway, apps, route(apps, "api", rule("api", "/api")) + "---\n" + route(apps, "web", rule("backend")))
    passes(lab, own[1], "httproute", "httproute-routes")


def test_no_reference_grant_is_said_as_the_gateway_api_says_it(own: Any, lab: Lab, apps: str, catalog: str) -> None:
    assert explains(lab, own[1], "reference-grant", "httproute-routes") == (
        f"httproute catalog: spec.rules[0].backendRefs[0], service catalog of {catalog}, is not permitted",
        [f"no ReferenceGrant in {catalog} lets HTTPRoutes from {apps} refer to Services"])


def grant(source: str, service: str = "catalog") -> str:
    to = f", name: {service}" if service else ""
    return (f"apiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\nmetadata: {{name: shop-routes}}\nspec:\n"
            f"  from: [{{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: {source}}}]\n"
            f"  to: [{{group: '', kind: Service{to}}}]\n")


def test_a_reference_grant_in_the_routes_namespace_is_said_to_belong_beside_the_service(kubectl: Kubectl, own: Any, lab: Lab, apps: str,
                                                                                         catalog: str) -> None:
    apply(kubectl, apps, grant(apps))
    assert explains(lab, own[1], "reference-grant", "httproute-routes") == (
        f"ReferenceGrant shop-routes is in namespace {apps}; a grant for service catalog must be in {catalog}, beside it",
        [f"httproute catalog: spec.rules[0].backendRefs[0], service catalog of {catalog}, is not permitted: no ReferenceGrant in "
         f"{catalog} lets HTTPRoutes from {apps} refer to Services",
         "a grant must be in the namespace of what it lets others refer to"])


def test_a_reference_grant_for_another_service_is_named(kubectl: Kubectl, own: Any, lab: Lab, apps: str, catalog: str) -> None:
    apply(kubectl, catalog, grant(apps, "catalogue"))
    says(lab, own[1], "reference-grant", "httproute-routes",
         "ReferenceGrant shop-routes permits only the Service(s) catalogue (spec.to[].name), not catalog")


def test_a_reference_grant_from_another_namespace_is_named(kubectl: Kubectl, own: Any, lab: Lab, apps: str, catalog: str) -> None:
    apply(kubectl, catalog, grant("shop"))
    says(lab, own[1], "reference-grant", "httproute-routes",
         f"ReferenceGrant shop-routes lets routes from shop refer, not from {apps} (spec.from[].namespace)")


def test_a_reference_grant_by_name_or_for_every_service_passes(kubectl: Kubectl, own: Any, lab: Lab, apps: str, catalog: str) -> None:
    apply(kubectl, catalog, grant(apps))
    passes(lab, own[1], "reference-grant", "httproute-routes")
    apply(kubectl, catalog, grant(apps, ""))
    passes(lab, own[1], "reference-grant", "httproute-routes")
