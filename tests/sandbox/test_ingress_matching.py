"""ingress-nginx's location choice as a truth table: the Ingress docs' examples
(concepts/services-networking/ingress, "Examples"), each as ingress-nginx answers it, then
its own rules (the oldest Ingress keeps a path, regex mode, rewrite-target, default backends)."""

from __future__ import annotations

from typing import Any

import pytest

from labrunner.sandbox.l7.ingress.matching import DEFAULT_SERVER, choose, servers


def ingress(name: str, paths: list[tuple[str, str, str]], host: str = "", created: str = "2025-01-01T00:00:00Z",
            annotations: dict[str, str] | None = None, default: str | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {"http": {"paths": [{"path": path, "pathType": kind, "backend": {"service": {"name": service, "port": {"number": 80}}}}
                                               for kind, path, service in paths]}}
    if host:
        rule["host"] = host
    spec: dict[str, Any] = {"rules": [rule]}
    if default:
        spec["defaultBackend"] = {"service": {"name": default, "port": {"number": 80}}}
    return {"metadata": {"name": name, "namespace": "ns", "creationTimestamp": created, "annotations": annotations or {}}, "spec": spec}


def service_for(ingresses: list[dict[str, Any]], uri: str, host: str = "example.com") -> str | None:
    backend = choose(servers(ingresses), host, uri).location.backend
    return backend.service if backend is not None else None


# (path type, path, request, matches?) -- the docs' table, with ingress-nginx's answer where it differs
DOCS_TABLE = [
    ("Prefix", "/", "/anything", True),
    ("Exact", "/foo", "/foo", True),
    ("Exact", "/foo", "/bar", False),
    ("Exact", "/foo", "/foo/", False),
    ("Exact", "/foo/", "/foo", False),
    ("Prefix", "/foo", "/foo", True),
    ("Prefix", "/foo", "/foo/", True),
    ("Prefix", "/foo/", "/foo/", True),
    ("Prefix", "/foo/", "/foo", False),  # the docs say yes; ingress-nginx writes `/foo/` and `= /foo/` only
    ("Prefix", "/aaa/bb", "/aaa/bbb", False),
    ("Prefix", "/aaa/bbb", "/aaa/bbb", True),
    ("Prefix", "/aaa/bbb/", "/aaa/bbb/ccc", True),
    ("Prefix", "/aaa/bbb", "/aaa/bbbxyz", False),
    ("ImplementationSpecific", "/foo", "/foobar", True),  # a plain nginx prefix
]


@pytest.mark.parametrize("kind,path,request_path,matches", DOCS_TABLE)
def test_the_docs_examples(kind: str, path: str, request_path: str, matches: bool) -> None:
    found = service_for([ingress("one", [(kind, path, "svc")])], request_path)
    assert (found == "svc") is matches


def test_the_most_specific_path_wins_whatever_the_order() -> None:
    rules = [("Prefix", "/", "root"), ("Prefix", "/aaa", "aaa"), ("Prefix", "/aaa/bbb", "bbb"), ("Exact", "/aaa/bbb/ccc", "exact")]
    assert service_for([ingress("one", rules)], "/aaa/bbb/ccc") == "exact"
    assert service_for([ingress("one", rules)], "/aaa/bbb/ccc/d") == "bbb"
    assert service_for([ingress("one", rules)], "/aaa/x") == "aaa"
    assert service_for([ingress("one", rules)], "/zzz") == "root"


def test_the_older_ingress_keeps_a_path() -> None:
    older = ingress("older", [("Prefix", "/app", "first")], created="2025-01-01T00:00:00Z")
    newer = ingress("newer", [("Prefix", "/app", "second")], created="2025-01-02T00:00:00Z")
    assert service_for([newer, older], "/app") == "first"


def test_hosts_and_the_default_server() -> None:
    hosted = ingress("hosted", [("Prefix", "/", "hosted")], host="shop.example.com")
    wildcard = ingress("wild", [("Prefix", "/", "wild")], host="*.example.com")
    catch_all = ingress("any", [("Prefix", "/any", "anyhost")])
    both = [hosted, wildcard, catch_all]
    assert service_for(both, "/", "shop.example.com") == "hosted"
    assert service_for(both, "/", "shop.example.com:80") == "hosted"
    assert service_for(both, "/", "a.b.example.com") == "wild"  # nginx's wildcard takes any depth
    assert service_for(both, "/any", "other.test") == "anyhost"
    assert service_for(both, "/", "other.test") is None  # the controller's default backend: 404
    assert choose(servers(both), "other.test", "/").server == DEFAULT_SERVER


def test_an_ingress_default_backend_serves_what_no_path_takes() -> None:
    with_default = ingress("d", [("Exact", "/x", "x")], host="a.example.com", default="fallback")
    assert service_for([with_default], "/y", "a.example.com") == "fallback"
    assert service_for([with_default], "/", "unknown.test") == "fallback"


def test_regex_mode_covers_the_whole_host() -> None:
    plain = ingress("plain", [("Exact", "/exact", "exact"), ("Prefix", "/p", "prefix")], host="r.example.com")
    regex = ingress("regex", [("ImplementationSpecific", "/api/v[0-9]+", "api")], host="r.example.com",
                    annotations={"nginx.ingress.kubernetes.io/use-regex": "true"})
    both = [plain, regex]
    assert service_for(both, "/API/v2/items", "r.example.com") == "api"  # case-insensitive
    assert service_for(both, "/exactly", "r.example.com") == "exact"  # Exact is a regex `^/exact` now
    assert service_for(both, "/pxyz", "r.example.com") == "prefix"  # and Prefix `^/p/`, `^/p` likewise
    assert service_for([plain], "/exactly", "r.example.com") is None


def test_rewrite_target_replaces_the_uri() -> None:
    rewritten = ingress("rw", [("ImplementationSpecific", "/something(/|$)(.*)", "svc")], host="w.example.com",
                        annotations={"nginx.ingress.kubernetes.io/rewrite-target": "/$2"})
    built = servers([rewritten])
    assert choose(built, "w.example.com", "/something/new?x=1").uri == "/new?x=1"
    assert choose(built, "w.example.com", "/something").uri == "/"
    simple = ingress("simple", [("Prefix", "/app", "svc")], host="s.example.com", annotations={"nginx.ingress.kubernetes.io/rewrite-target": "/"})
    assert choose(servers([simple]), "s.example.com", "/app/page").uri == "/"
