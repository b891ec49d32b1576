"""Writes: create, update, patch (merge, JSON, strategic, server-side apply) and
delete, with the API server's admission on the way in (name rules, the
namespace's lifecycle, strict field validation, defaults) and its answers.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from labrunner.sandbox import openapi
from labrunner.sandbox.controllers.garbagecollector import orphan_dependents
from labrunner.sandbox.defaults import InvalidService
from labrunner.sandbox.names import random_suffix
from labrunner.sandbox.namespaces import NamespaceLifecycle
from labrunner.sandbox.patches import json_patch, merge_patch
from labrunner.sandbox.protobuf import Decoder, ProtobufUnavailable
from labrunner.sandbox.resource_hooks import apply_defaults, for_resource, name_problem
from labrunner.sandbox.resources import ResourceType
from labrunner.sandbox.status import already_exists, conflict, invalid, not_found, status
from labrunner.sandbox.store import AlreadyExists, Conflict, NotFound, Store, now
from labrunner.sandbox.strategic import strategic_merge

PATCH_TYPES = ("application/merge-patch+json", "application/json-patch+json", "application/strategic-merge-patch+json")


def _with_warnings(response: web.Response, warnings: list[str]) -> web.Response:
    for warning in warnings:
        response.headers.add("Warning", warning)
    return response


class Writes:
    def __init__(self, store: Store, namespaces: NamespaceLifecycle) -> None:
        self.store = store
        self.namespaces = namespaces
        self.protobuf = Decoder()

    async def body(self, request: web.Request) -> tuple[Any, web.Response | None]:
        content_type = request.headers.get("Content-Type", "")
        if "protobuf" in content_type:
            try:
                return self.protobuf.decode(await request.read()), None
            except ProtobufUnavailable as error:
                return None, status(415, "UnsupportedMediaType",
                                    f"the labrunner sandbox cannot read this protobuf body ({error}); "
                                    "write the object to a file and use kubectl create -f or kubectl apply -f")
            except ValueError as error:
                return None, status(400, "BadRequest", f"the request body is not a Kubernetes object: {error}")
        try:
            return json.loads(await request.read() or b"null"), None
        except ValueError as error:
            return None, status(400, "BadRequest", f"the request body is not valid JSON: {error}")

    def _validate_fields(self, request: web.Request, resource: ResourceType, obj: dict[str, Any]) -> tuple[web.Response | None, list[str]]:
        """Strict: unknown fields are a 400 with the API server's text. Warn (the
        default) and Ignore: they are dropped, Warn with a Warning header each."""
        mode = request.query.get("fieldValidation", "Warn")
        unknown = openapi.unknown_fields(obj, resource.group, resource.version, resource.kind)
        if not unknown:
            return None, []
        if mode == "Strict":
            listed = ", ".join(f'unknown field "{path}"' for path in unknown)
            return status(400, "BadRequest", f'{resource.kind} in version "{resource.version}" cannot be handled as a {resource.kind}: strict decoding error: {listed}'), []
        openapi.prune(obj, unknown)
        return None, [f'299 - "unknown field \\"{path}\\""' for path in unknown] if mode == "Warn" else []

    async def create_object(self, request: web.Request, resource: ResourceType, namespace: str | None, obj: Any) -> web.Response:
        if not isinstance(obj, dict):
            return status(400, "BadRequest", f"the request body must be a {resource.kind} object")
        kind = obj.get("kind")
        if kind and kind != resource.kind:
            return status(400, "BadRequest", f"the kind {kind!r} in the body does not match the {resource.plural} endpoint")
        metadata = obj.setdefault("metadata", {})
        if not metadata.get("name") and metadata.get("generateName"):
            metadata["name"] = metadata["generateName"] + random_suffix()
        name = metadata.get("name")
        if problem_text := name_problem(resource, name):
            return invalid(resource, str(name or ""), "metadata.name", problem_text)
        if resource.namespaced:
            body_namespace = metadata.get("namespace")
            if body_namespace and body_namespace != namespace:
                return status(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request")
            metadata["namespace"] = namespace
            if problem := self.namespaces.admit_content(namespace):
                return problem
        problem, warnings = self._validate_fields(request, resource, obj)
        if problem:
            return problem
        try:
            apply_defaults(resource, obj, self.store)
        except InvalidService as error:
            return invalid(resource, str(name), error.field, str(error))
        try:
            created = self.store.create(resource, obj, dry_run=request.query.get("dryRun") == "All")
        except AlreadyExists:
            return already_exists(resource, str(name))
        return _with_warnings(web.json_response(created, status=201), warnings)

    async def update(self, request: web.Request, resource: ResourceType, namespace: str | None, name: str) -> web.Response:
        obj, problem = await self.body(request)
        if problem:
            return problem
        if not isinstance(obj, dict) or (obj.get("metadata") or {}).get("name", name) != name:
            return status(400, "BadRequest", "the name of the object does not match the name on the URL")
        obj.setdefault("metadata", {})["name"] = name
        if resource.namespaced:
            obj["metadata"]["namespace"] = namespace
        return self._write(request, resource, obj)

    def _write(self, request: web.Request, resource: ResourceType, obj: dict[str, Any]) -> web.Response:
        name = obj["metadata"]["name"]
        problem, warnings = self._validate_fields(request, resource, obj)
        if problem:
            return problem
        try:
            previous = self.store.get(resource, obj["metadata"].get("namespace", "") if resource.namespaced else "", name)
        except NotFound:
            return not_found(resource, name)
        try:
            apply_defaults(resource, obj, self.store, previous)
        except InvalidService as error:
            return invalid(resource, name, error.field, str(error))
        try:
            updated = self.store.update(resource, obj, dry_run=request.query.get("dryRun") == "All")
        except NotFound:
            return not_found(resource, name)
        except Conflict:
            return conflict(resource, name)
        return _with_warnings(web.json_response(updated), warnings)

    async def patch(self, request: web.Request, resource: ResourceType, namespace: str | None, name: str) -> web.Response:
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip()
        if content_type == "application/apply-patch+yaml":
            return await self.server_side_apply(request, resource, namespace, name)
        if content_type not in PATCH_TYPES:
            return status(415, "UnsupportedMediaType", f"the labrunner sandbox does not support patches of type {content_type}")
        body, problem = await self.body(request)
        if problem:
            return problem
        try:
            current = self.store.get(resource, namespace or "", name)
        except NotFound:
            return not_found(resource, name)
        try:
            if content_type == "application/merge-patch+json":
                patched = merge_patch(current, body)
            elif content_type == "application/json-patch+json":
                patched = json_patch(current, body)
            else:
                patched = strategic_merge(current, body, resource.group, resource.version, resource.kind)
        except ValueError as error:
            return status(422, "Invalid", str(error))
        if not isinstance(patched, dict):
            return status(422, "Invalid", "the patch does not leave an object")
        patched.setdefault("metadata", {})["name"] = name
        if resource.namespaced:
            patched["metadata"]["namespace"] = namespace
        return self._write(request, resource, patched)

    async def server_side_apply(self, request: web.Request, resource: ResourceType, namespace: str | None, name: str) -> web.Response:
        """``kubectl apply --server-side``: create when absent, else merge the applied
        configuration into the live object. Field ownership (managedFields and
        conflicts between managers) is not modelled: the last applier wins."""
        import yaml

        try:
            applied = yaml.safe_load(await request.text())
        except yaml.YAMLError as error:
            return status(400, "BadRequest", f"the applied configuration is not YAML or JSON: {error}")
        if not isinstance(applied, dict):
            return status(400, "BadRequest", f"the applied configuration must be a {resource.kind} object")
        applied.setdefault("metadata", {})
        if applied["metadata"].get("name", name) != name:
            return status(400, "BadRequest", "the name of the object does not match the name on the URL")
        applied["metadata"]["name"] = name
        try:
            current = self.store.get(resource, namespace or "", name)
        except NotFound:
            return await self.create_object(request, resource, namespace, applied)
        merged = strategic_merge(current, applied, resource.group, resource.version, resource.kind)
        if resource.namespaced:
            merged["metadata"]["namespace"] = namespace
        return self._write(request, resource, merged)

    async def delete(self, request: web.Request, resource: ResourceType, namespace: str | None, name: str) -> web.Response:
        try:
            obj = self.store.get(resource, namespace or "", name)
        except NotFound:
            return not_found(resource, name)
        options: Any = {}
        if request.can_read_body:
            try:
                options = json.loads(await request.read() or b"{}") or {}
            except ValueError:
                options = {}
        policy = request.query.get("propagationPolicy") or (options.get("propagationPolicy") if isinstance(options, dict) else None) or "Background"
        if request.query.get("dryRun") == "All" or (isinstance(options, dict) and "All" in (options.get("dryRun") or [])):
            return web.json_response(obj)
        behaviour = for_resource(resource)
        if behaviour.terminates:
            return web.json_response(self.namespaces.terminate(obj))
        if policy == "Orphan":
            orphan_dependents(self.store, obj)
        elif policy == "Foreground" and behaviour.foreground_deletion:
            # The owner stays, marked, until the garbage collector has removed its dependents.
            if not obj["metadata"].get("deletionTimestamp"):
                obj["metadata"]["deletionTimestamp"] = now()
                obj["metadata"]["deletionGracePeriodSeconds"] = 0
                obj["metadata"].setdefault("finalizers", []).append("foregroundDeletion")
                obj = self.store.update(resource, obj)
            return web.json_response(obj, status=202)
        self.store.delete(resource, namespace or "", name)
        if behaviour.after_delete is not None:
            behaviour.after_delete(self.store, obj)
        return web.json_response(obj)

