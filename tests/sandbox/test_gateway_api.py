"""The Gateway API on the sandbox as on kind: the shipped CRDs and NGINX Gateway Fabric applied
with kubectl, a Gateway and HTTPRoutes, their statuses as NGF writes them, and requests through
NGF's Service from a busybox pod. A module-scoped sandbox: CRDs and the controller are cluster-wide."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.sandboxes import KUBECTL, Kubectl, eventually, kubectl_for, start_sandbox

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")
ASSETS = Path(__file__).resolve().parents[2] / "assets" / "services"
GATEWAY = "nginx-gateway.nginx-gateway.svc.cluster.local"


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubectl]:
    from labrunner.sandbox.control import stop

    files = start_sandbox(tmp_path_factory.mktemp("gateway"))
    kubectl = kubectl_for(files, tmp_path_factory.mktemp("home"))
    for manifest in ("gateway-api-crds.yaml", "nginx-gateway-fabric-crds.yaml", "nginx-gateway-fabric.yaml"):
        kubectl("apply", "-f", str(ASSETS / manifest))
    yield kubectl
    stop(files)


def apply(kubectl: Kubectl, manifest: str) -> None:
    kubectl("apply", "-f", "-", stdin=textwrap.dedent(manifest))


def as_json(kubectl: Kubectl, *argv: str) -> Any:
    return json.loads(kubectl(*argv, "-o", "json").stdout)


def conditions(entry: dict[str, Any]) -> dict[str, tuple[str, str, str]]:
    return {c["type"]: (c["status"], c["reason"], c["message"]) for c in entry.get("conditions") or []}


@pytest.fixture(scope="module")
def shop(own: Kubectl) -> Kubectl:
    own("create", "namespace", "shop")
    own("create", "namespace", "backends")
    for namespace, name in (("shop", "web"), ("shop", "api"), ("shop", "v2"), ("backends", "remote")):
        own("-n", namespace, "create", "deployment", name, "--image=hashicorp/http-echo", "--", "/http-echo", f"-text={name}", "-listen=:8080")
        own("-n", namespace, "expose", "deployment", name, "--port=80", "--target-port=8080")
    own("-n", "shop", "create", "deployment", "who", "--image=traefik/whoami")
    own("-n", "shop", "expose", "deployment", "who", "--port=80")
    own("-n", "shop", "run", "client", "--image=busybox:1.36", "--", "sleep", "3600")
    apply(own, """
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata:
          name: shop
          namespace: shop
        spec:
          gatewayClassName: nginx
          listeners:
          - name: http
            port: 80
            protocol: HTTP
            hostname: "*.example.com"
    """)
    own("-n", "nginx-gateway", "wait", "--for=condition=Available", "deployment/nginx-gateway", "--timeout=60s")
    own("-n", "shop", "wait", "--for=condition=Ready", "pod/client", "--timeout=60s")
    own("-n", "shop", "wait", "--for=condition=Available", "deployment/web", "deployment/api", "deployment/v2", "deployment/who", "--timeout=60s")
    return own


def fetch(kubectl: Kubectl, path: str, host: str = "app.example.com", *extra: str) -> tuple[int, str, str]:
    done = kubectl("-n", "shop", "exec", "client", "--", "wget", "-qO-", "--header", f"Host: {host}", *extra, f"http://{GATEWAY}{path}", check=False)
    return done.returncode, done.stdout, done.stderr


def test_the_class_is_accepted_and_another_controllers_class_waits(own: Kubectl) -> None:
    apply(own, """
        apiVersion: gateway.networking.k8s.io/v1
        kind: GatewayClass
        metadata:
          name: other
        spec:
          controllerName: example.net/gateway-controller
    """)
    eventually(lambda: "True" in own("get", "gatewayclass", "nginx").stdout, "the class accepted")
    table = own("get", "gatewayclass").stdout.splitlines()
    assert table[0].split() == ["NAME", "CONTROLLER", "ACCEPTED", "AGE"]
    rows = {line.split()[0]: line.split() for line in table[1:]}
    assert rows["nginx"][1:3] == ["gateway.nginx.org/nginx-gateway-controller", "True"]
    assert rows["other"][1:3] == ["example.net/gateway-controller", "Unknown"]
    accepted = conditions(as_json(own, "get", "gatewayclass", "nginx")["status"])
    assert accepted["Accepted"] == ("True", "Accepted", "GatewayClass is accepted")
    assert conditions(as_json(own, "get", "gatewayclass", "other")["status"])["Accepted"] == ("Unknown", "Pending", "Waiting for controller")


def test_the_gateway_is_programmed_with_its_listener(shop: Kubectl) -> None:
    eventually(lambda: "True" in shop("-n", "shop", "get", "gateway", "shop").stdout, "the Gateway programmed")
    table = shop("-n", "shop", "get", "gateway").stdout.splitlines()
    assert table[0].split() == ["NAME", "CLASS", "ADDRESS", "PROGRAMMED", "AGE"]
    pod_ip = shop("-n", "nginx-gateway", "get", "pods", "-o", "jsonpath={.items[0].status.podIP}").stdout
    assert table[1].split()[:4] == ["shop", "nginx", pod_ip, "True"]
    status = as_json(shop, "-n", "shop", "get", "gateway", "shop")["status"]
    assert conditions(status)["Accepted"] == ("True", "Accepted", "Gateway is accepted")
    listener = status["listeners"][0]
    assert listener["supportedKinds"] == [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"},
                                          {"group": "gateway.networking.k8s.io", "kind": "GRPCRoute"}]
    assert conditions(listener)["Programmed"] == ("True", "Programmed", "Listener is programmed")


ROUTES = """
    apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata:
      name: app
      namespace: shop
    spec:
      parentRefs:
      - name: shop
        sectionName: http
      hostnames:
      - app.example.com
      rules:
      - backendRefs:
        - name: web
          port: 80
      - matches:
        - path:
            type: PathPrefix
            value: /api
        backendRefs:
        - name: api
          port: 80
      - matches:
        - path:
            type: Exact
            value: /api/beta
          headers:
          - name: x-version
            value: "2"
        backendRefs:
        - name: v2
          port: 80
      - matches:
        - path:
            type: PathPrefix
            value: /old
        filters:
        - type: RequestRedirect
          requestRedirect:
            path:
              type: ReplacePrefixMatch
              replacePrefixMatch: /api
            statusCode: 301
      - matches:
        - path:
            type: PathPrefix
            value: /who
        filters:
        - type: RequestHeaderModifier
          requestHeaderModifier:
            set:
            - name: X-Lab
              value: gateway
        - type: URLRewrite
          urlRewrite:
            path:
              type: ReplacePrefixMatch
              replacePrefixMatch: /
        backendRefs:
        - name: who
          port: 80
"""


def test_routes_attach_and_requests_reach_the_right_backend(shop: Kubectl) -> None:
    apply(shop, ROUTES)
    eventually(lambda: "Accepted" in json.dumps(as_json(shop, "-n", "shop", "get", "httproute", "app").get("status") or {}), "the route's status")
    parent = as_json(shop, "-n", "shop", "get", "httproute", "app")["status"]["parents"][0]
    assert parent["controllerName"] == "gateway.nginx.org/nginx-gateway-controller"
    assert conditions(parent) == {"Accepted": ("True", "Accepted", "The route is accepted"),
                                  "ResolvedRefs": ("True", "ResolvedRefs", "All references are resolved")}
    eventually(lambda: as_json(shop, "-n", "shop", "get", "gateway", "shop")["status"]["listeners"][0]["attachedRoutes"] == 1, "attachedRoutes 1")
    assert fetch(shop, "/")[1] == "web\n"
    assert fetch(shop, "/api/items")[1] == "api\n"
    assert fetch(shop, "/apiary")[1] == "web\n"  # PathPrefix matches whole path elements
    assert fetch(shop, "/api/beta")[1] == "api\n"
    assert fetch(shop, "/api/beta", "app.example.com", "--header", "x-version: 2")[1] == "v2\n"
    who = fetch(shop, "/who/hello")[1]
    assert "GET /hello HTTP/1.1" in who and "X-Lab: gateway" in who and "Host: app.example.com" in who
    code, _, err = fetch(shop, "/", "nothere.example.com")
    assert code == 1 and "HTTP/1.1 404 Not Found" in err
    head = shop("-n", "shop", "exec", "client", "--", "wget", "-S", "--spider", "-q", "--header", "Host: app.example.com",
                f"http://{GATEWAY}/old/x", check=False)
    assert head.returncode == 0  # busybox wget follows the 301 to /api/x


def test_a_redirect_as_curl_sees_it(shop: Kubectl) -> None:
    apply(shop, ROUTES)
    shop("-n", "shop", "run", "curl", "--image=curlimages/curl:8.11.0", "--", "sleep", "3600")
    shop("-n", "shop", "wait", "--for=condition=Ready", "pod/curl", "--timeout=60s")
    head = shop("-n", "shop", "exec", "curl", "--", "curl", "-sI", "-H", "Host: app.example.com", f"http://{GATEWAY}/old/x").stdout
    assert head.startswith("HTTP/1.1 301 Moved Permanently") and "Location: http://app.example.com/api/x" in head


def test_weights_split_requests(shop: Kubectl) -> None:
    apply(shop, """
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata:
          name: canary
          namespace: shop
        spec:
          parentRefs:
          - name: shop
          hostnames:
          - canary.example.com
          rules:
          - backendRefs:
            - name: web
              port: 80
              weight: 1
            - name: v2
              port: 80
              weight: 1
            - name: api
              port: 80
              weight: 0
    """)
    eventually(lambda: fetch(shop, "/", "canary.example.com")[0] == 0, "the canary route")
    answers = shop("-n", "shop", "exec", "client", "--", "sh", "-c",
                   f"for i in $(seq 1 30); do wget -qO- --header 'Host: canary.example.com' http://{GATEWAY}/; done").stdout.split()
    assert set(answers) == {"web", "v2"}


def test_a_cross_namespace_backend_needs_a_reference_grant(shop: Kubectl) -> None:
    apply(shop, """
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata:
          name: remote
          namespace: shop
        spec:
          parentRefs:
          - name: shop
          hostnames:
          - remote.example.com
          rules:
          - backendRefs:
            - name: remote
              namespace: backends
              port: 80
          - matches:
            - path:
                value: /missing
            backendRefs:
            - name: nosuch
              port: 80
    """)

    def resolved() -> tuple[str, str, str] | None:
        parents = (as_json(shop, "-n", "shop", "get", "httproute", "remote").get("status") or {}).get("parents") or []
        return conditions(parents[0]).get("ResolvedRefs") if parents else None

    eventually(lambda: resolved() is not None and resolved()[0] == "False", "ResolvedRefs False")
    assert resolved() == ("False", "RefNotPermitted", "spec.rules[0].backendRefs[0].namespace: Forbidden: Backend ref to Service "
                                                      "backends/remote not permitted by any ReferenceGrant")
    code, _, err = fetch(shop, "/", "remote.example.com")
    assert code == 1 and "HTTP/1.1 500 Internal Server Error" in err
    apply(shop, """
        apiVersion: gateway.networking.k8s.io/v1beta1
        kind: ReferenceGrant
        metadata:
          name: from-shop
          namespace: backends
        spec:
          from:
          - group: gateway.networking.k8s.io
            kind: HTTPRoute
            namespace: shop
          to:
          - group: ""
            kind: Service
    """)
    eventually(lambda: resolved() is not None and resolved()[1] == "BackendNotFound", "the grant honoured")
    assert resolved() == ("False", "BackendNotFound", 'spec.rules[1].backendRefs[0].name: Not found: "nosuch"')
    assert fetch(shop, "/", "remote.example.com")[1] == "remote\n"


def test_attachment_refusals_say_why(shop: Kubectl) -> None:
    apply(shop, """
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata:
          name: elsewhere
          namespace: backends
        spec:
          parentRefs:
          - name: shop
            namespace: shop
          rules:
          - backendRefs:
            - name: remote
              port: 80
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata:
          name: wrong-host
          namespace: shop
        spec:
          parentRefs:
          - name: shop
          hostnames:
          - app.example.org
          rules:
          - backendRefs:
            - name: web
              port: 80
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata:
          name: wrong-section
          namespace: shop
        spec:
          parentRefs:
          - name: shop
            sectionName: https
          rules:
          - backendRefs:
            - name: web
              port: 80
    """)

    def accepted(namespace: str, name: str) -> tuple[str, str, str] | None:
        parents = (as_json(shop, "-n", namespace, "get", "httproute", name).get("status") or {}).get("parents") or []
        return conditions(parents[0]).get("Accepted") if parents else None

    eventually(lambda: None not in (accepted("backends", "elsewhere"), accepted("shop", "wrong-host"), accepted("shop", "wrong-section")),
               "the three statuses")
    assert accepted("backends", "elsewhere") == ("False", "NotAllowedByListeners", "Route is not allowed by any listener")
    assert accepted("shop", "wrong-host") == ("False", "NoMatchingListenerHostname", "Listener hostname does not match the Route hostnames")
    assert accepted("shop", "wrong-section") == ("False", "NoMatchingParent", "Listener is not found for this parent ref")
    described = shop("-n", "shop", "describe", "httproute", "wrong-host").stdout
    assert "NoMatchingListenerHostname" in described and "gateway.nginx.org/nginx-gateway-controller" in described


def test_schemas_refuse_and_default(own: Kubectl) -> None:
    bad = own("apply", "-f", "-", check=False, stdin=textwrap.dedent("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata:
          name: bad
          namespace: default
        spec:
          rules:
          - matches:
            - path:
                type: Prefix
                value: /x
    """))
    assert bad.returncode == 1
    assert ('The HTTPRoute "bad" is invalid: spec.rules[0].matches[0].path.type: Unsupported value: "Prefix": '
            'supported values: "Exact", "PathPrefix", "RegularExpression"') in bad.stderr
    missing = own("apply", "-f", "-", check=False, stdin=textwrap.dedent("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata:
          name: bad
          namespace: default
        spec:
          listeners:
          - name: http
            port: 80
    """))
    assert missing.returncode == 1
    assert "spec.gatewayClassName: Required value" in missing.stderr and "spec.listeners[0].protocol: Required value" in missing.stderr
    apply(own, """
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata:
          name: defaults
          namespace: default
        spec:
          parentRefs:
          - name: none
          rules:
          - backendRefs:
            - name: web
              port: 80
    """)
    route = as_json(own, "get", "httproute", "defaults")["spec"]
    assert route["parentRefs"][0] == {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "none"}
    assert route["rules"][0]["matches"] == [{"path": {"type": "PathPrefix", "value": "/"}}]
    assert route["rules"][0]["backendRefs"][0] == {"group": "", "kind": "Service", "name": "web", "port": 80, "weight": 1}
