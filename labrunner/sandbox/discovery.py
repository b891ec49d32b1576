"""Discovery and OpenAPI: what kubectl reads to learn the kinds, their short names
and their schemas (aggregated discovery v2 when asked for, legacy otherwise)."""

from __future__ import annotations

import json

from aiohttp import web

from labrunner.sandbox import openapi, resources
from labrunner.sandbox.status import status, unsupported


async def root(request: web.Request) -> web.Response:
    """``/api`` or ``/apis``."""
    accept = request.headers.get("Accept", "")
    core = request.path.rstrip("/") == "/api"
    if "as=APIGroupDiscoveryList" in accept:
        return web.Response(text=json.dumps(resources.aggregated_discovery(core)), headers={"Content-Type": resources.AGGREGATED_CONTENT_TYPE})
    return web.json_response(resources.api_versions() if core else resources.api_group_list())


async def group_version(request: web.Request, group: str, version: str) -> web.Response:
    document = resources.api_resource_list(group, version)
    return web.json_response(document) if document else unsupported(request)


async def openapi_root(request: web.Request) -> web.Response:
    return web.json_response(openapi.root_document())


async def openapi_group_version(request: web.Request) -> web.Response:
    parts = [p for p in request.match_info["tail"].split("/") if p]
    if parts[:1] == ["api"] and len(parts) == 2:
        group, version = "", parts[1]
    elif parts[:1] == ["apis"] and len(parts) == 3:
        group, version = parts[1], parts[2]
    else:
        return status(404, "NotFound", f"no OpenAPI document at {request.path}")
    if any(r.group_version == (group, version) for r in resources.custom_resources()):
        return web.json_response(openapi.custom_document(group, version))
    document = openapi.group_version_document(group, version)
    if document is None:
        return status(404, "NotFound", f"no OpenAPI document at {request.path}")
    headers = {"Cache-Control": "public, immutable"} if request.query.get("hash") == openapi.document_hash(group, version) else {}
    return web.json_response(document, headers=headers)
