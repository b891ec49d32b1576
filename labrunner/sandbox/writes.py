"""Writes: create, update, patch (merge, JSON, strategic, server-side apply) and
delete (what a delete does to the object: deletes.py), with the API server's admission on the way in (name rules, the
namespace's lifecycle, strict field validation, defaults) and its answers.
"""

from __future__ import annotations

import copy

import json
import math
import re
import uuid
from typing import Any

from aiohttp import web

from labrunner.sandbox import admission, admission_plugins, customresources, openapi
from labrunner.sandbox.authorization import ADMIN, Authorizer
from labrunner.sandbox.decoding import MAX_BODY_BYTES, BodyError, go_value, parse_json, summarize
from labrunner.sandbox.deletes import delete_one, delete_options
from labrunner.sandbox.defaults import InvalidService
from labrunner.sandbox.names import random_suffix
from labrunner.sandbox.namespaces import NamespaceLifecycle
from labrunner.sandbox.patches import json_patch, merge_patch
from labrunner.sandbox.protobuf import Decoder, ProtobufUnavailable
from labrunner.sandbox.resource_hooks import Refused, Writer, admit_write, apply_defaults, for_resource, name_problem, take_requester
from labrunner.sandbox.resources import ResourceType
from labrunner.sandbox.status import already_exists, conflict, invalid, json_response, not_found, status
from labrunner.sandbox.store import AlreadyExists, Conflict, NotFound, Store
from labrunner.sandbox.strategic import strategic_merge

_TYPE_META = 'struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }'
"""The Go type the API server first reads a body into, to learn its apiVersion and kind."""
PATCH_TYPES = ("application/merge-patch+json", "application/json-patch+json", "application/strategic-merge-patch+json")


def _not_finite(value: Any) -> str | None:
    """NaN or an infinity in YAML, which JSON cannot carry (Go's encoder refuses them)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return "NaN" if math.isnan(item) else "+Inf" if item > 0 else "-Inf"
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return None


_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _quoted(text: str) -> str:
    """Inside a warning's quoted text, a quote or backslash is escaped (apimachinery's makeQuotedString)."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _with_warnings(response: web.Response, warnings: list[str]) -> web.Response:
    for warning in warnings:
        # Go's server turns a line break in a header value into a space; aiohttp refuses every
        # control character in a header, so each (a field named "\f") is a space here.
        response.headers.add("Warning", _CONTROL.sub(" ", warning))
    return response


class Writes:
    def __init__(self, store: Store, namespaces: NamespaceLifecycle, authorizer: Authorizer | None = None) -> None:
        self.store = store
        self.namespaces = namespaces
        self.authorizer = authorizer or Authorizer(store)
        """What the registry asks about who writes (RBAC's escalation checks, CSR approval)."""
        self.protobuf = Decoder()

    def writer(self, request: web.Request) -> Writer:
        """Who sends ``request``, as the registry's checks see them."""
        info = request.get("info")
        return Writer(request.get("user", ADMIN), self.authorizer, self.store, (info.name or "") if info is not None else "")

    async def raw_body(self, request: web.Request) -> tuple[bytes, web.Response | None]:
        try:
            return await request.read(), None
        except web.HTTPRequestEntityTooLarge:
            return b"", status(413, "RequestEntityTooLarge", f"Request entity too large: limit is {MAX_BODY_BYTES}")

    async def body(self, request: web.Request) -> tuple[Any, web.Response | None]:
        """A JSON body that is no object of a kind (a Scale, DeleteOptions): parsed as Go would."""
        raw, problem = await self.raw_body(request)
        if problem:
            return None, problem
        try:
            return parse_json(raw), None
        except BodyError as error:
            return None, status(400, "BadRequest", str(error))

    async def object_body(self, request: web.Request, resource: ResourceType) -> tuple[dict[str, Any] | None, web.Response | None]:
        """The object a create or update sends, decoded as the API server decodes it: a body
        that is not an object of this URL's kind, or has a field of the wrong type, is refused
        before anything reads it."""
        raw, problem = await self.raw_body(request)
        if problem:
            return None, problem

        def unrecognized(error: str) -> tuple[None, web.Response]:
            return None, status(400, "BadRequest", f"the object provided is unrecognized (must be of type {resource.kind}): {error} ({summarize(raw)})")

        if "protobuf" in request.headers.get("Content-Type", ""):
            try:
                obj = self.protobuf.decode(raw)
            except ProtobufUnavailable as error:
                return None, status(415, "UnsupportedMediaType",
                                    f"the labrunner sandbox cannot read this protobuf body ({error}); "
                                    "write the object to a file and use kubectl create -f or kubectl apply -f")
            except Exception as error:  # google.protobuf's DecodeError is no ValueError
                return unrecognized(str(error) or type(error).__name__)
        else:
            try:
                obj = parse_json(raw)
            except BodyError as error:
                return unrecognized(f"couldn't get version/kind; json parse error: {error}")
            if not isinstance(obj, dict):
                return unrecognized("couldn't get version/kind; json parse error: json: cannot unmarshal "
                                    f"{admission.json_kind(obj)} into Go value of type {_TYPE_META}")
            for key in ("apiVersion", "kind"):
                if obj.get(key) is not None and not isinstance(obj[key], str):
                    return unrecognized("couldn't get version/kind; json parse error: json: cannot unmarshal "
                                        f"{admission.json_kind(obj[key])} into Go struct field .{key} of type string")
        api_version, kind = obj.get("apiVersion") or resource.api_version, obj.get("kind") or resource.kind
        if text := admission.envelope_problem(resource, api_version, kind):
            return None, status(400, "BadRequest", text)
        if mismatch := admission.first_mismatch(obj, resource.group, resource.version, resource.kind):
            return None, status(400, "BadRequest", f'{kind} in version "{resource.version}" cannot be handled as a {resource.kind}: '
                                                   f"{admission.json_error(mismatch)}")
        admission.drop_nulls(obj)
        return obj, None

    def _validate_fields(self, request: web.Request, resource: ResourceType, obj: dict[str, Any]) -> tuple[web.Response | None, list[str]]:
        """Strict: unknown fields are a 400 with the API server's text. Warn (the
        default) and Ignore: they are dropped, Warn with a Warning header each."""
        mode = request.query.get("fieldValidation", "Warn")
        places = openapi.unknown_field_places(obj, resource.group, resource.version, resource.kind)
        if (custom := customresources.version_of(resource.group, resource.version, resource.plural)) is not None:
            places = customresources.unknown_field_places(obj, custom.schema)
        unknown = [text for text, _ in places]
        if not unknown:
            return None, []
        if mode == "Strict":
            listed = ", ".join(f'unknown field "{path}"' for path in unknown)
            return status(400, "BadRequest", f'{resource.kind} in version "{resource.version}" cannot be handled as a {resource.kind}: strict decoding error: {listed}'), []
        openapi.prune(obj, [keys for _, keys in places])
        return None, [f'299 - "unknown field \\"{_quoted(path)}\\""' for path in unknown] if mode == "Warn" else []

    async def create_object(self, request: web.Request, resource: ResourceType, namespace: str | None, obj: dict[str, Any]) -> web.Response:
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
        # The registry gives the object its uid before PrepareForCreate, so defaulting can use it
        # (a Job's generated selector); one a client sent is replaced.
        metadata["uid"] = str(uuid.uuid4())
        try:
            apply_defaults(resource, obj, self.store)
        except InvalidService as error:
            return invalid(resource, str(name), error.field, str(error))
        try:
            take_requester(resource, obj, request.get("user", ADMIN))
            admit_write(resource, obj, None, self.writer(request))
            admission_plugins.admit_create(self.store, resource, obj, dry_run=request.query.get("dryRun") == "All")
        except Refused as refused:
            return status(refused.code, refused.reason, refused.message, refused.details)
        try:
            created = self.store.create(resource, obj, dry_run=request.query.get("dryRun") == "All")
        except AlreadyExists:
            return already_exists(resource, str(name))
        return _with_warnings(json_response(created, status=201), warnings)

    async def update(self, request: web.Request, resource: ResourceType, namespace: str | None, name: str) -> web.Response:
        obj, problem = await self.object_body(request, resource)
        if problem or obj is None:
            return problem or status(400, "BadRequest", "no object")
        if (given := (obj.get("metadata") or {}).get("name", name)) != name:
            return status(400, "BadRequest", f"the name of the object ({given}) does not match the name on the URL ({name})")
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
            admit_write(resource, obj, previous, self.writer(request))
            admission_plugins.admit_update(self.store, resource, obj, previous, dry_run=request.query.get("dryRun") == "All")
        except Refused as refused:
            return status(refused.code, refused.reason, refused.message, refused.details)
        try:
            updated = self.store.update(resource, obj, dry_run=request.query.get("dryRun") == "All")
        except NotFound:
            return not_found(resource, name)
        except Conflict:
            return conflict(resource, name)
        if (for_resource(resource).finalizers and request.query.get("dryRun") != "All"
                and updated["metadata"].get("deletionTimestamp") and not updated["metadata"].get("finalizers")):
            self.store.delete(resource, updated["metadata"].get("namespace") or "", name)  # its last finalizer was removed
        return _with_warnings(json_response(updated), warnings)

    async def patch(self, request: web.Request, resource: ResourceType, namespace: str | None, name: str) -> web.Response:
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip()
        if content_type == "application/apply-patch+yaml":
            return await self.server_side_apply(request, resource, namespace, name)
        if content_type not in PATCH_TYPES:
            return status(415, "UnsupportedMediaType", f"the labrunner sandbox does not support patches of type {content_type}")
        raw, problem = await self.raw_body(request)
        if problem:
            return problem
        strategic = content_type == "application/strategic-merge-patch+json"
        # As the API server's patch handler decodes the patch (Warn, its default, and Strict: strictly).
        decoding = "" if strategic or request.query.get("fieldValidation") == "Ignore" else "error decoding patch: "
        try:
            body = parse_json(raw)
        except BodyError as error:
            return status(400, "BadRequest", f"{decoding}{error}")
        if content_type == "application/json-patch+json":
            operations = "jsonpatch.Patch" if request.query.get("fieldValidation") == "Ignore" else "[]handlers.jsonPatchOp"
            if not isinstance(body, list):
                return status(400, "BadRequest", f"{decoding}json: cannot unmarshal {admission.json_kind(body)} into Go value of type {operations}")
            # Go decodes a null element into an empty operation (refused below as an unknown op), anything else not
            # an object fails to unmarshal.
            body = [{} if item is None else item for item in body]
            if odd := [item for item in body if not isinstance(item, dict)]:
                return status(400, "BadRequest", f"{decoding}json: cannot unmarshal {admission.json_kind(odd[0])} into Go value of type "
                                                 f"{'jsonpatch.Operation' if operations == 'jsonpatch.Patch' else 'handlers.jsonPatchOp'}")
        elif not isinstance(body, dict):
            return status(400, "BadRequest", f"{decoding}json: cannot unmarshal {admission.json_kind(body)} into Go value of type map[string]interface {{}}")
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
        if mismatch := admission.first_mismatch(patched, resource.group, resource.version, resource.kind):
            # The patched object is decoded again (JSON patches) or converted (strategic ones); the
            # API server words the failure as an invalid patch, with no kind or name.
            if strategic:
                shown, error_text = go_value(body), admission.converter_error(mismatch)
            else:
                shown, error_text = json.dumps(patched, sort_keys=True, separators=(",", ":")), admission.json_error(mismatch)
            body_text = f"Invalid value: {json.dumps(shown)}: {error_text}"
            return status(422, "Invalid", f' "" is invalid: patch: {body_text}',
                          {"causes": [{"reason": "FieldValueInvalid", "message": body_text, "field": "patch"}]})
        admission.drop_nulls(patched)
        patched.setdefault("metadata", {})["name"] = name
        if resource.namespaced:
            patched["metadata"]["namespace"] = namespace
        return self._write(request, resource, patched)

    async def server_side_apply(self, request: web.Request, resource: ResourceType, namespace: str | None, name: str) -> web.Response:
        """``kubectl apply --server-side``: create when absent, else merge the applied
        configuration into the live object; what the same manager applied before and leaves
        out now is removed, and managedFields records each applier's fields
        (managedfields.py). Conflicts between managers are not raised: the last applier wins."""
        import yaml

        raw, problem = await self.raw_body(request)
        if problem:
            return problem
        try:
            applied = yaml.safe_load(raw.decode("utf-8", errors="replace"))
        except yaml.YAMLError as error:
            return status(400, "BadRequest", f"error decoding YAML: {error}")
        if not isinstance(applied, dict):
            return status(400, "BadRequest", f"error decoding YAML: json: cannot unmarshal {admission.json_kind(applied)} "
                                             "into Go value of type map[string]interface {}")
        if not_finite := _not_finite(applied):
            return status(400, "BadRequest", f"error decoding YAML: json: unsupported value: {not_finite}")
        if mismatch := admission.first_mismatch(applied, resource.group, resource.version, resource.kind):
            where = f"{namespace}/{name}" if namespace else name
            return status(400, "BadRequest", f"failed to create typed patch object ({where}; {resource.api_version if resource.group else '/' + resource.version}, "
                                             f"Kind={resource.kind}): {admission.apply_error(mismatch)}")
        admission.drop_nulls(applied)
        applied.setdefault("metadata", {})
        if applied["metadata"].get("name", name) != name:
            return status(400, "BadRequest", "the name of the object does not match the name on the URL")
        applied["metadata"]["name"] = name
        from labrunner.sandbox import managedfields

        manager = request.query.get("fieldManager") or "unknown"
        schema = managedfields.schema_of(resource.group, resource.version, resource.kind)
        applied["metadata"].pop("managedFields", None)
        try:
            current = self.store.get(resource, namespace or "", name)
        except NotFound:
            created = copy.deepcopy(applied)
            managedfields.apply(created, applied, manager, resource.api_version, schema)
            return await self.create_object(request, resource, namespace, created)
        merged = strategic_merge(current, applied, resource.group, resource.version, resource.kind)
        managedfields.apply(merged, applied, manager, resource.api_version, schema)
        if resource.namespaced:
            merged["metadata"]["namespace"] = namespace
        return self._write(request, resource, merged)

    async def delete(self, request: web.Request, resource: ResourceType, namespace: str | None, name: str) -> web.Response:
        try:
            obj = self.store.get(resource, namespace or "", name)
        except NotFound:
            return not_found(resource, name)
        options, problem = await self._delete_options(request)
        if problem is not None:
            return problem
        answer, code = self._delete_one(resource, obj, options)
        return json_response(answer, status=code)

    async def delete_collection(self, request: web.Request, resource: ResourceType, namespace: str | None) -> web.Response:
        """DELETE on a collection (``kubectl delete --raw /api/v1/namespaces/ns/configmaps``,
        the client's ``delete_collection_*``): every object the selectors match, each as a
        single delete would go, answered with the list of what was deleted."""
        from labrunner.sandbox.selectors import SelectorError, field_selector, label_selector

        if "deletecollection" not in resource.verbs:
            return status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        try:
            labels = label_selector(request.query.get("labelSelector", ""))
            fields = field_selector(request.query.get("fieldSelector", ""))
        except SelectorError as error:
            return status(400, "BadRequest", str(error))
        options, problem = await self._delete_options(request)
        if problem is not None:
            return problem
        deleted = [self._delete_one(resource, obj, options)[0] for obj in self.store.list(resource, namespace)
                   if labels(obj["metadata"].get("labels") or {}) and fields(obj)]
        return json_response({"kind": f"{resource.kind}List", "apiVersion": resource.api_version,
                                  "metadata": {"resourceVersion": str(self.store.revision())}, "items": deleted})

    async def _delete_options(self, request: web.Request) -> tuple[dict[str, Any], web.Response | None]:
        """DeleteOptions from the query and the body (propagationPolicy, dryRun)."""
        options: Any = {}
        if request.can_read_body:
            raw, problem = await self.raw_body(request)
            if problem:
                return {}, problem
            try:
                options = parse_json(raw) if raw.strip() else {}
            except BodyError as error:
                return {}, status(400, "BadRequest", str(error))
        return delete_options(request.query, options), None

    def _delete_one(self, resource: ResourceType, obj: dict[str, Any], options: dict[str, Any]) -> tuple[dict[str, Any], int]:
        return delete_one(self.store, self.namespaces, resource, obj, options)


class StatusWrites:
    """The ``status`` subresource: GET reads the object; PUT and PATCH change its status only
    (the rest of what they send is ignored, as the API server's status strategy does), with the
    same resourceVersion check as an update."""

    def __init__(self, writes: Writes) -> None:
        self.writes = writes

    async def handle(self, request: web.Request, resource: ResourceType, namespace: str | None, name: str) -> web.Response:
        store = self.writes.store
        try:
            current = store.get(resource, namespace or "", name)
        except NotFound:
            return not_found(resource, name)
        if request.method == "GET":
            return json_response(current)
        if request.method == "PUT":
            body, problem = await self.writes.object_body(request, resource)
            if problem or body is None:
                return problem or status(400, "BadRequest", "no object")
            sent_version = (body.get("metadata") or {}).get("resourceVersion")
            if sent_version and sent_version != current["metadata"].get("resourceVersion"):
                return conflict(resource, name)
            changed = body.get("status")
        elif request.method == "PATCH":
            raw, problem = await self.writes.raw_body(request)
            if problem:
                return problem
            try:
                patch = parse_json(raw)
            except BodyError as error:
                return status(400, "BadRequest", str(error))
            content_type = request.headers.get("Content-Type", "").split(";")[0].strip()
            try:
                if content_type == "application/json-patch+json" and isinstance(patch, list):
                    patched = json_patch(current, patch)
                elif content_type == "application/merge-patch+json" and isinstance(patch, dict):
                    patched = merge_patch(current, patch)
                elif isinstance(patch, dict):
                    patched = strategic_merge(current, patch, resource.group, resource.version, resource.kind)
                else:
                    return status(400, "BadRequest", "the patch is not an object")
            except ValueError as error:
                return status(422, "Invalid", str(error))
            changed = patched.get("status") if isinstance(patched, dict) else None
        else:
            return status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        current["status"] = changed if isinstance(changed, dict) else {}
        try:
            updated = store.update(resource, current, dry_run=request.query.get("dryRun") == "All")
        except NotFound:
            return not_found(resource, name)
        except Conflict:
            return conflict(resource, name)
        return json_response(updated)
