"""Route attachment and rule choice as truth tables from the Gateway API's documentation
(Listener.hostname, HTTPRoute.hostnames, AllowedRoutes, HTTPRouteRule's precedence)."""

from __future__ import annotations

from typing import Any

import pytest

from labrunner.sandbox.l7.gateway.attachment import attach, granted, hostname_matches
from labrunner.sandbox.l7.gateway.routing import Candidate, choose, path_matches, rewritten_path

# (listener hostname, route hostname, served hostname or None) -- HTTPRoute.hostnames' examples
HOSTNAMES = [
    ("test.example.com", "test.example.com", "test.example.com"),
    ("test.example.com", "*.example.com", "test.example.com"),
    ("test.example.com", "other.example.com", None),
    ("*.example.com", "*.example.com", "*.example.com"),
    ("*.example.com", "test.example.com", "test.example.com"),
    ("*.example.com", "foo.test.example.com", "foo.test.example.com"),
    ("*.example.com", "example.com", None),
    ("*.example.com", "test.example.net", None),
    ("", "anything.example.org", "anything.example.org"),
]


@pytest.mark.parametrize("listener,route,served", HOSTNAMES)
def test_hostname_intersection(listener: str, route: str, served: str | None) -> None:
    assert hostname_matches(listener, route) == served


def gateway(**listener: Any) -> dict[str, Any]:
    return {"metadata": {"name": "gw", "namespace": "infra"},
            "spec": {"listeners": [{"name": "http", "port": 80, "protocol": "HTTP", **listener}]}}


def route(namespace: str = "infra", hostnames: list[str] | None = None) -> dict[str, Any]:
    return {"kind": "HTTPRoute", "metadata": {"name": "r", "namespace": namespace}, "spec": {"hostnames": hostnames or []}}


LABELS = {"infra": {}, "team-a": {"shared": "yes"}, "team-b": {}}


@pytest.mark.parametrize("allowed,namespace,reason", [
    (None, "infra", "Accepted"),  # from: Same, the default
    (None, "team-a", "NotAllowedByListeners"),
    ({"namespaces": {"from": "All"}}, "team-b", "Accepted"),
    ({"namespaces": {"from": "Selector", "selector": {"matchLabels": {"shared": "yes"}}}}, "team-a", "Accepted"),
    ({"namespaces": {"from": "Selector", "selector": {"matchLabels": {"shared": "yes"}}}}, "team-b", "NotAllowedByListeners"),
    ({"namespaces": {"from": "All"}, "kinds": [{"kind": "GRPCRoute"}]}, "infra", "NotAllowedByListeners"),
])
def test_allowed_routes(allowed: dict[str, Any] | None, namespace: str, reason: str) -> None:
    listener = {"allowedRoutes": allowed} if allowed else {}
    verdict = attach(route(namespace), {"name": "gw", "namespace": "infra"}, gateway(**listener), True, LABELS)
    assert verdict.accepted.reason == reason


def test_section_name_port_and_hostnames() -> None:
    assert attach(route(), {"name": "gw", "sectionName": "https"}, gateway(), True, LABELS).accepted.reason == "NoMatchingParent"
    assert attach(route(), {"name": "gw", "port": 8080}, gateway(), True, LABELS).accepted.reason == "NoMatchingParent"
    assert attach(route(), {"name": "gw", "sectionName": "http", "port": 80}, gateway(), True, LABELS).accepted.reason == "Accepted"
    refused = attach(route(hostnames=["a.example.org"]), {"name": "gw"}, gateway(hostname="*.example.com"), True, LABELS)
    assert refused.accepted.reason == "NoMatchingListenerHostname"
    served = attach(route(hostnames=["a.example.com", "b.example.org"]), {"name": "gw"}, gateway(hostname="*.example.com"), True, LABELS)
    assert served.listeners == {"http": ["a.example.com"]}


def test_reference_grants() -> None:
    grant = {"metadata": {"namespace": "backends"}, "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "shop"}],
                                                             "to": [{"group": "", "kind": "Service", "name": "db"}]}}
    assert granted([grant], "HTTPRoute", "shop", "backends", "db")
    assert not granted([grant], "HTTPRoute", "shop", "backends", "other")
    assert not granted([grant], "HTTPRoute", "elsewhere", "backends", "db")
    assert not granted([grant], "GRPCRoute", "shop", "backends", "db")


@pytest.mark.parametrize("kind,value,path,matches", [
    ("PathPrefix", "/foo", "/foo", True), ("PathPrefix", "/foo", "/foo/bar", True), ("PathPrefix", "/foo", "/foobar", False),
    ("PathPrefix", "/foo/", "/foo", True), ("PathPrefix", "/", "/anything", True),
    ("Exact", "/foo", "/foo", True), ("Exact", "/foo", "/foo/", False),
])
def test_path_matches(kind: str, value: str, path: str, matches: bool) -> None:
    assert (path_matches({"path": {"type": kind, "value": value}}, path) is not None) is matches


def _route(name: str, created: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ns", "creationTimestamp": created}, "spec": {"rules": rules}}


def test_precedence() -> None:
    old = _route("old", "2025-01-01T00:00:00Z", [{"matches": [{"path": {"type": "PathPrefix", "value": "/a"}}]},
                                                  {"matches": [{"path": {"type": "Exact", "value": "/a/b"}}]}])
    new = _route("new", "2025-02-01T00:00:00Z", [{"matches": [{"path": {"type": "PathPrefix", "value": "/a"}, "headers": [{"name": "x", "value": "1"}]}]},
                                                  {"matches": [{"path": {"type": "PathPrefix", "value": "/a"}}]}])
    candidates = [Candidate(r, i, ("*",)) for r in (old, new) for i in range(2)]

    def winner(path: str, headers: dict[str, str]) -> tuple[str, int]:
        found = choose(candidates, "h", "GET", path, headers, {})
        assert found is not None
        return found.route["metadata"]["name"], found.rule_index

    assert winner("/a/b", {}) == ("old", 1)  # Exact first
    assert winner("/a/c", {"X": "1"}) == ("new", 0)  # more header matches
    assert winner("/a/c", {}) == ("old", 0)  # then the oldest route


def test_rewritten_paths() -> None:
    match = {"path": {"type": "PathPrefix", "value": "/old"}}
    assert rewritten_path("/old/x", match, {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/new"}) == "/new/x"
    assert rewritten_path("/old/x", match, {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}) == "/x"
    assert rewritten_path("/old/x", match, {"type": "ReplaceFullPath", "replaceFullPath": "/full"}) == "/full"
