"""Ingress on the sandbox as on kind: the shipped ingress-nginx manifest applied with kubectl, then
Ingresses routed by host and path to the right Service, the controller's own 404 and 503 pages,
the published address, and NetworkPolicies applied to the controller's connections.

The controller is cluster-wide (an IngressClass, a class watched everywhere), so the module has
a sandbox of its own."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path


import pytest

from tests.sandboxes import KUBECTL, Kubectl, eventually, kubectl_for, start_sandbox

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")
MANIFEST = Path(__file__).resolve().parents[2] / "assets" / "services" / "ingress-nginx.yaml"
CONTROLLER = "ingress-nginx-controller.ingress-nginx.svc.cluster.local"


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubectl]:
    from labrunner.sandbox.control import stop

    files = start_sandbox(tmp_path_factory.mktemp("ingress"))
    kubectl = kubectl_for(files, tmp_path_factory.mktemp("home"))
    kubectl("apply", "-f", str(MANIFEST))
    yield kubectl
    stop(files)


@pytest.fixture(scope="module")
def apps(own: Kubectl) -> Kubectl:
    """Two web apps (http-echo saying who they are), a client pod, and the controller ready."""
    own("create", "namespace", "shop")
    for name in ("web", "api"):
        own("-n", "shop", "create", "deployment", name, "--image=hashicorp/http-echo", "--", "/http-echo", f"-text=hello from {name}",
            "-listen=:8080")
        own("-n", "shop", "expose", "deployment", name, "--port=80", "--target-port=8080")
    own("-n", "shop", "create", "deployment", "nowhere", "--image=nginx:1.27", "--replicas=0")
    own("-n", "shop", "expose", "deployment", "nowhere", "--port=80")
    own("-n", "shop", "run", "client", "--image=busybox:1.36", "--", "sleep", "3600")
    own("-n", "ingress-nginx", "wait", "--for=condition=Available", "deployment/ingress-nginx-controller", "--timeout=60s")
    own("-n", "shop", "wait", "--for=condition=Ready", "pod/client", "--timeout=60s")
    own("-n", "shop", "wait", "--for=condition=Available", "deployment/web", "deployment/api", "--timeout=60s")
    return own


def apply(kubectl: Kubectl, manifest: str) -> None:
    kubectl("apply", "-f", "-", stdin=textwrap.dedent(manifest))


def fetch(kubectl: Kubectl, path: str, host: str = "shop.example.com") -> tuple[int, str, str]:
    done = kubectl("-n", "shop", "exec", "client", "--", "wget", "-qO-", "--header", f"Host: {host}", f"http://{CONTROLLER}{path}", check=False)
    return done.returncode, done.stdout, done.stderr


ROUTES = """
    apiVersion: networking.k8s.io/v1
    kind: Ingress
    metadata:
      name: shop
      namespace: shop
    spec:
      ingressClassName: nginx
      rules:
      - host: shop.example.com
        http:
          paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: web
                port:
                  number: 80
          - path: /api
            pathType: Prefix
            backend:
              service:
                name: api
                port:
                  number: 80
          - path: /down
            pathType: Exact
            backend:
              service:
                name: nowhere
                port:
                  number: 80
"""


def test_paths_route_to_their_services_and_the_address_is_published(apps: Kubectl) -> None:
    apply(apps, ROUTES)
    eventually(lambda: "localhost" in apps("-n", "shop", "get", "ingress", "shop").stdout, "the address published")
    assert fetch(apps, "/api")[1] == "hello from api\n"
    assert fetch(apps, "/api/v1/items")[1] == "hello from api\n"
    assert fetch(apps, "/apiary")[1] == "hello from web\n"  # Prefix matches path elements, not characters
    assert fetch(apps, "/")[1] == "hello from web\n"
    table = apps("-n", "shop", "get", "ingress", "shop").stdout.splitlines()
    assert table[0].split() == ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]
    assert table[1].split()[:5] == ["shop", "nginx", "shop.example.com", "localhost", "80"]
    described = apps("-n", "shop", "describe", "ingress", "shop").stdout
    assert "Scheduled for sync" in described and "nginx-ingress-controller" in described


def test_no_matching_host_is_the_default_backends_404(apps: Kubectl) -> None:
    apply(apps, ROUTES)
    code, out, err = fetch(apps, "/", host="other.example.com")
    assert code == 1 and "server returned error: HTTP/1.1 404 Not Found" in err
    page = apps("-n", "shop", "exec", "client", "--", "sh", "-c",
                f"wget -qO- --header 'Host: other.example.com' http://{CONTROLLER}/ 2>/dev/null; true").stdout
    assert page == ""  # busybox wget prints no body for an error status


def test_a_service_without_endpoints_is_503(apps: Kubectl) -> None:
    apply(apps, ROUTES)
    code, _, err = fetch(apps, "/down")
    assert code == 1 and "HTTP/1.1 503 Service Temporarily Unavailable" in err
    assert fetch(apps, "/down/more")[1] == "hello from web\n"  # Exact: only /down itself


def test_rewrite_target_and_the_access_log(apps: Kubectl) -> None:
    apply(apps, """
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata:
          name: rewrite
          namespace: shop
          annotations:
            nginx.ingress.kubernetes.io/rewrite-target: /$2
        spec:
          ingressClassName: nginx
          rules:
          - host: rewrite.example.com
            http:
              paths:
              - path: /echo(/|$)(.*)
                pathType: ImplementationSpecific
                backend:
                  service:
                    name: api
                    port:
                      number: 80
    """)
    eventually(lambda: fetch(apps, "/echo/anything", host="rewrite.example.com")[1] == "hello from api\n", "the rewritten route")
    logs = apps("-n", "ingress-nginx", "logs", "deployment/ingress-nginx-controller").stdout
    assert "NGINX Ingress controller" in logs and "Release:       v1.12.1" in logs
    line = next(line for line in logs.splitlines() if '"GET /echo/anything HTTP/1.1"' in line)
    assert "[shop-api-80] []" in line and '"Wget"' in line


def test_an_ingress_of_another_class_is_not_served(apps: Kubectl) -> None:
    apply(apps, """
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata:
          name: elsewhere
          namespace: shop
        spec:
          ingressClassName: traefik
          rules:
          - host: elsewhere.example.com
            http:
              paths:
              - path: /
                pathType: Prefix
                backend:
                  service:
                    name: web
                    port:
                      number: 80
    """)
    code, _, err = fetch(apps, "/", host="elsewhere.example.com")
    assert code == 1 and "404 Not Found" in err
    status = json.loads(apps("-n", "shop", "get", "ingress", "elsewhere", "-o", "json").stdout).get("status") or {}
    assert not (status.get("loadBalancer") or {}).get("ingress")


def test_the_api_server_refuses_a_path_without_path_type(apps: Kubectl) -> None:
    done = apps("apply", "-f", "-", check=False, stdin=textwrap.dedent("""
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata:
          name: broken
          namespace: shop
        spec:
          rules:
          - http:
              paths:
              - path: api
                pathType: Prefix
                backend:
                  service:
                    name: api
                    port:
                      number: 80
              - path: /web
                backend:
                  service:
                    name: web
                    port:
                      number: 80
    """))
    assert done.returncode == 1
    assert ('The Ingress "broken" is invalid: \n* spec.rules[0].http.paths[0].path: Invalid value: "api": must be an absolute path\n'
            "* spec.rules[0].http.paths[1].pathType: Required value: pathType must be specified") in done.stderr


def test_the_default_class_is_given_to_an_ingress_without_one(apps: Kubectl) -> None:
    apps("annotate", "ingressclass", "nginx", "ingressclass.kubernetes.io/is-default-class=true", "--overwrite")
    try:
        apply(apps, """
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata:
              name: classless
              namespace: shop
            spec:
              defaultBackend:
                service:
                  name: web
                  port:
                    number: 80
        """)
        assert apps("-n", "shop", "get", "ingress", "classless", "-o", "jsonpath={.spec.ingressClassName}").stdout == "nginx"
        assert fetch(apps, "/anything", host="unknown.example.com")[1] == "hello from web\n"  # the default server's backend
    finally:
        apps("annotate", "ingressclass", "nginx", "ingressclass.kubernetes.io/is-default-class-")
        apps("-n", "shop", "delete", "ingress", "classless")


def test_a_network_policy_applies_to_the_controllers_connections(apps: Kubectl) -> None:
    """The controller's pod is the client the backend sees: a policy admitting only the shop's
    own pods makes the controller wait its connect timeout and answer 504."""
    apply(apps, ROUTES)
    apply(apps, """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata:
          name: only-shop
          namespace: shop
        spec:
          podSelector:
            matchLabels:
              app: api
          ingress:
          - from:
            - podSelector: {}
    """)
    try:
        calico = Path(__file__).resolve().parents[2] / "assets" / "networkpolicies" / "calico-sandbox.yaml"
        apps("apply", "-f", str(calico))
        apps("-n", "kube-system", "rollout", "status", "daemonset/calico-node", "--timeout=60s")
        code, _, err = fetch(apps, "/api")
        assert code == 1 and "HTTP/1.1 504 Gateway Time-out" in err
        assert fetch(apps, "/")[1] == "hello from web\n"
    finally:
        apps("-n", "shop", "delete", "networkpolicy", "only-shop")


