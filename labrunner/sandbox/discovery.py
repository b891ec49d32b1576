"""Discovery and OpenAPI: what kubectl reads to learn the kinds, their short names
and their schemas (aggregated discovery v2 when asked for, legacy otherwise)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from labrunner.sandbox import openapi, resources
from labrunner.sandbox.status import status, unsupported

OPENAPI_V2_CONTENT_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (every field of the v2 document we write is one)."""
    assert len(payload) < 128  # a one-byte length is all these short fields need
    return bytes([number << 3 | 2, len(payload)]) + payload


OPENAPI_V2 = _field(1, b"2.0") + _field(2, _field(1, b"Kubernetes") + _field(2, b"v1.32.4")) + _field(8, b"")
"""gnostic's openapi_v2.Document {swagger: "2.0", info: {title, version}, paths: {}}, with no
definitions. kubectl reads v2 (as protobuf only) for one thing: to validate, on the client, a
kind whose group-version the v3 root does not list; a real server's v2 does not describe that
kind either, so kubectl skips the check and its REST mapper says "no matches for kind". Every
kind the sandbox serves is in v3 and validated by the server itself (fieldValidation=Strict)."""


async def root(request: web.Request) -> web.Response:
    """``/api`` or ``/apis`` (with metrics.k8s.io, which a real cluster's aggregator adds for metrics-server)."""
    accept = request.headers.get("Accept", "")
    core = request.path.rstrip("/") == "/api"
    if "as=APIGroupDiscoveryList" in accept:
        document = resources.aggregated_discovery(core)
        if not core:
            document["items"].append(_metrics_aggregated())
        return web.Response(text=json.dumps(document), headers={"Content-Type": resources.AGGREGATED_CONTENT_TYPE})
    if core:
        return web.json_response(resources.api_versions())
    groups = resources.api_group_list()
    groups["groups"].append(metrics_api_group())
    return web.json_response(groups)


# -- metrics.k8s.io: served by labrunner.sandbox.metrics, as an aggregated API (metrics-server) is --------

METRICS_GROUP, METRICS_VERSION = "metrics.k8s.io", "v1beta1"
METRICS_RESOURCES = (("nodes", "NodeMetrics", False), ("pods", "PodMetrics", True))
"""(resource, kind, namespaced): get and list, no watch, no singular name, as metrics-server registers them."""


def metrics_api_group() -> dict[str, Any]:
    version = {"groupVersion": f"{METRICS_GROUP}/{METRICS_VERSION}", "version": METRICS_VERSION}
    return {"kind": "APIGroup", "apiVersion": "v1", "name": METRICS_GROUP, "versions": [version], "preferredVersion": version}


def metrics_resource_list() -> dict[str, Any]:
    listed = [{"name": name, "singularName": "", "namespaced": namespaced, "kind": kind, "verbs": ["get", "list"]}
              for name, kind, namespaced in METRICS_RESOURCES]
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{METRICS_GROUP}/{METRICS_VERSION}", "resources": listed}


def _metrics_aggregated() -> dict[str, Any]:
    return {"metadata": {"name": METRICS_GROUP}, "versions": [{"version": METRICS_VERSION, "freshness": "Current", "resources": [
        {"resource": name, "responseKind": {"group": METRICS_GROUP, "version": METRICS_VERSION, "kind": kind},
         "scope": "Namespaced" if namespaced else "Cluster", "singularResource": "", "verbs": ["get", "list"]}
        for name, kind, namespaced in METRICS_RESOURCES]}]}


async def group_version(request: web.Request, group: str, version: str) -> web.Response:
    document = resources.api_resource_list(group, version)
    return web.json_response(document) if document else unsupported(request)


async def openapi_root(request: web.Request) -> web.Response:
    return web.json_response(openapi.root_document())


async def openapi_v2(request: web.Request) -> web.Response:
    return web.Response(body=OPENAPI_V2, headers={"Content-Type": OPENAPI_V2_CONTENT_TYPE})


def not_found() -> web.Response:
    """The API server's answer for a path it does not serve."""
    return status(404, "NotFound", "the server could not find the requested resource")


async def openapi_group_version(request: web.Request) -> web.Response:
    parts = [p for p in request.match_info["tail"].split("/") if p]
    if parts[:1] == ["api"] and len(parts) == 2:
        group, version = "", parts[1]
    elif parts[:1] == ["apis"] and len(parts) == 3:
        group, version = parts[1], parts[2]
    else:
        return not_found()
    if any(r.group_version == (group, version) for r in resources.custom_resources()):
        return web.json_response(openapi.custom_document(group, version))
    document = openapi.group_version_document(group, version)
    if document is None:
        return not_found()
    headers = {"Cache-Control": "public, immutable"} if request.query.get("hash") == openapi.document_hash(group, version) else {}
    return web.json_response(document, headers=headers)
