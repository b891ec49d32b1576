"""The resource API: discovery, and get / list / create / update / patch / delete
for every kind in :mod:`labrunner.sandbox.resources`, with the API server's
paths, status codes and messages.

Not yet here (later slices of the sandbox, each answering a Status that says so):
watch, server-side apply, subresources, controllers.
"""

from __future__ import annotations

import asyncio
import collections
import copy
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from aiohttp import web

from labrunner.sandbox import openapi, resources, tables
from labrunner.sandbox.defaults import InvalidService, secret_defaults, service_defaults, workload_defaults
from labrunner.sandbox.protobuf import Decoder, ProtobufUnavailable
from labrunner.sandbox.resources import ResourceType
from labrunner.sandbox.selectors import SelectorError, field_selector, label_selector
from labrunner.sandbox.store import AlreadyExists, Conflict, NotFound, Store, now
from labrunner.sandbox.streams import PodStreams
from labrunner.sandbox.strategic import strategic_merge

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
NAMESPACE_TERMINATION_SECONDS = 1.0


def status(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code}
    if details:
        body["details"] = details
    return web.json_response(body, status=code)


def unsupported(request: web.Request, what: str | None = None) -> web.Response:
    return status(404, "NotFound", f"the labrunner sandbox does not support {what or f'{request.method} {request.path}'} yet")


def _not_found(resource: ResourceType, name: str) -> web.Response:
    return status(404, "NotFound", f'{resource.describe()} "{name}" not found', {"name": name, "kind": resource.plural, **({"group": resource.group} if resource.group else {})})


def _name_problem(resource: ResourceType, name: Any) -> str | None:
    if not isinstance(name, str) or not name:
        return None if isinstance(name, str) and name else "name or generateName is required"
    if resource.plural == "namespaces":
        if len(name) > 63 or not _LABEL.match(name):
            return (f'Invalid value: "{name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \'-\', '
                    "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
    elif resource.plural == "services":
        if len(name) > 63 or not _DNS1035.match(name):
            return (f'Invalid value: "{name}": a DNS-1035 label must consist of lower case alphanumeric characters or \'-\', '
                    "start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
    elif len(name) > 253 or not _SUBDOMAIN.match(name):
        return (f'Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \'-\' or \'.\', '
                "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
                "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
    return None


def _invalid(resource: ResourceType, name: str, field: str, detail: str) -> web.Response:
    return status(422, "Invalid", f'{resource.kind} "{name}" is invalid: {field}: {detail}',
                  {"name": name, "kind": resource.kind, "causes": [{"reason": "FieldValueInvalid", "message": detail, "field": field}]})


def apply_defaults(resource: ResourceType, obj: dict[str, Any], store: Store | None = None, previous: dict[str, Any] | None = None) -> None:
    """The API server's defaulting and allocations for ``obj`` (on create and on every update).

    Raises:
        InvalidService: a Service asks for an IP or node port it cannot have.
    """
    metadata = obj["metadata"]
    if resource.plural == "namespaces":
        metadata.setdefault("labels", {})["kubernetes.io/metadata.name"] = metadata["name"]
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj.setdefault("status", {}).setdefault("phase", "Active")
    elif resource.plural == "secrets":
        secret_defaults(obj)
    elif resource.plural in ("deployments", "replicasets", "daemonsets", "pods"):
        workload_defaults(resource.plural, obj)
    elif resource.plural == "services":
        existing = store.list(resource) if store is not None else []
        service_defaults(obj, existing, previous)
    elif resource.plural == "customresourcedefinitions":
        names = (obj.get("spec") or {}).get("names") or {}
        stamp = now()
        obj["status"] = {
            "acceptedNames": names,
            "storedVersions": [v.get("name") for v in (obj.get("spec") or {}).get("versions") or [] if v.get("storage")],
            "conditions": [{"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": stamp},
                           {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": stamp}],
        }


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: objects merge, ``null`` deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(document: Any, operations: list[dict[str, Any]]) -> Any:
    """RFC 6902 JSON patch (add, remove, replace, move, copy, test).

    Raises:
        ValueError: an operation that cannot apply; the message says which.
    """
    document = copy.deepcopy(document)

    def walk(path: str) -> tuple[Any, str]:
        if not path.startswith("/"):
            raise ValueError(f"invalid path {path!r}")
        parts = [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]
        parent = document
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent[part]
        return parent, parts[-1]

    def get(path: str) -> Any:
        parent, key = walk(path)
        return parent[int(key)] if isinstance(parent, list) else parent[key]

    for operation in operations:
        op, path = operation.get("op"), operation.get("path", "")
        try:
            if op in ("add", "replace"):
                parent, key = walk(path)
                if isinstance(parent, list):
                    index = len(parent) if key == "-" else int(key)
                    if op == "add":
                        parent.insert(index, copy.deepcopy(operation["value"]))
                    else:
                        parent[index] = copy.deepcopy(operation["value"])
                else:
                    if op == "replace" and key not in parent:
                        raise KeyError(key)
                    parent[key] = copy.deepcopy(operation["value"])
            elif op == "remove":
                parent, key = walk(path)
                del parent[int(key) if isinstance(parent, list) else key]
            elif op in ("move", "copy"):
                value = get(operation["from"])
                if op == "move":
                    source_parent, source_key = walk(operation["from"])
                    del source_parent[int(source_key) if isinstance(source_parent, list) else source_key]
                document = json_patch(document, [{"op": "add", "path": path, "value": value}])
            elif op == "test":
                if get(path) != operation.get("value"):
                    raise ValueError(f"test failed at {path}")
            else:
                raise ValueError(f"unknown op {op!r}")
        except (KeyError, IndexError, TypeError) as error:
            raise ValueError(f"the {op} operation at {path!r} does not apply: {error}") from None
    return document


def _with_warnings(response: web.Response, warnings: list[str]) -> web.Response:
    for warning in warnings:
        response.headers.add("Warning", warning)
    return response


_STOP = "STOP"
"""Queued to every watcher when the server shuts down."""

HISTORY = 5000
"""Events kept for watches that resume from a resourceVersion; older ones answer 410 Gone."""
MAX_WATCH_SECONDS = 3600


@dataclass(eq=False)
class _Watcher:
    group: str
    plural: str
    namespace: str | None
    matches: Callable[[dict[str, Any]], bool]
    queue: asyncio.Queue[tuple[str, dict[str, Any]]] = field(default_factory=asyncio.Queue)


class ResourceAPI:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.protobuf = Decoder()
        self.streams = PodStreams(store, resources.lookup("", "v1", "pods"), store.path.parent / "data")
        self.background: set[asyncio.Task[None]] = set()
        self.history: collections.deque[tuple[int, str, str, str, dict[str, Any]]] = collections.deque(maxlen=HISTORY)
        self.oldest_revision = store.revision()
        self.watchers: set[_Watcher] = set()
        store.listeners.append(self._observe)
        self._refresh_custom_resources()

    def _refresh_custom_resources(self) -> None:
        definitions = resources.lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        assert definitions is not None
        found: list[ResourceType] = []
        for crd in self.store.list(definitions):
            found.extend(resources.from_crd(crd))
        resources.set_custom_resources(tuple(found))

    def _observe(self, event: str, group: str, plural: str, obj: dict[str, Any]) -> None:
        if plural == "customresourcedefinitions":
            self._refresh_custom_resources()
        revision = int(obj["metadata"].get("resourceVersion") or 0)
        if len(self.history) == self.history.maxlen:
            self.oldest_revision = self.history[0][0]
        self.history.append((revision, event, group, plural, obj))
        for watcher in list(self.watchers):
            if self._relevant(watcher, group, plural, obj):
                watcher.queue.put_nowait((event, obj))

    def close_watches(self) -> None:
        """End every watch, so the server can stop without waiting for their timeouts."""
        for watcher in list(self.watchers):
            watcher.queue.put_nowait((_STOP, {}))

    @staticmethod
    def _relevant(watcher: _Watcher, group: str, plural: str, obj: dict[str, Any]) -> bool:
        if (group, plural) != (watcher.group, watcher.plural):
            return False
        if watcher.namespace is not None and obj["metadata"].get("namespace") != watcher.namespace:
            return False
        return watcher.matches(obj)

    # -- discovery ------------------------------------------------------------------------

    async def discovery(self, request: web.Request) -> web.Response:
        accept = request.headers.get("Accept", "")
        core = request.path.rstrip("/") == "/api"
        if "as=APIGroupDiscoveryList" in accept:
            return web.Response(text=json.dumps(resources.aggregated_discovery(core)), headers={"Content-Type": resources.AGGREGATED_CONTENT_TYPE})
        return web.json_response(resources.api_versions() if core else resources.api_group_list())

    async def group_version(self, request: web.Request, group: str, version: str) -> web.Response:
        document = resources.api_resource_list(group, version)
        return web.json_response(document) if document else unsupported(request)

    async def openapi_root(self, request: web.Request) -> web.Response:
        return web.json_response(openapi.root_document())

    async def openapi_group_version(self, request: web.Request) -> web.Response:
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

    # -- routing ----------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        parts = [p for p in request.path.split("/") if p]
        if parts in (["api"], ["apis"]):
            return await self.discovery(request)
        if parts[:1] == ["api"] and len(parts) >= 2:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return unsupported(request)
        if not rest:
            return await self.group_version(request, group, version)
        namespace: str | None = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        resource = resources.lookup(group, version, rest[0])
        if resource is None:
            return status(404, "NotFound", "the server could not find the requested resource")
        name = rest[1] if len(rest) > 1 else None
        if len(rest) == 3 and rest[2] == "scale" and resource.plural in ("deployments", "replicasets") and name:
            return await self.scale(request, resource, namespace, name)
        if len(rest) == 3 and resource.plural == "pods" and name and namespace:
            if rest[2] == "log" and request.method == "GET":
                return await self.streams.logs(request, namespace, name)
            if rest[2] == "exec" and request.method in ("GET", "POST"):
                return await self.streams.exec(request, namespace, name)
            if rest[2] == "attach" and request.method in ("GET", "POST"):
                return await self.streams.attach(request, namespace, name)
            if rest[2] == "portforward" and request.method in ("GET", "POST"):
                return await self.streams.port_forward(request, namespace, name)
        if len(rest) > 2:
            return unsupported(request, f"the {rest[2]} subresource of {resource.plural}")
        if request.query.get("watch") in ("1", "true"):
            if request.method != "GET" or name is not None:
                return unsupported(request)
            return await self.watch(request, resource, namespace)
        if not resource.namespaced and namespace is not None:
            return unsupported(request)
        if resource.namespaced and namespace is None and (name is not None or request.method != "GET"):
            return status(404, "NotFound", "the server could not find the requested resource")
        method = request.method
        if method == "GET":
            return await (self.get(request, resource, namespace, name) if name else self.list(request, resource, namespace))
        if method == "POST" and name is None:
            return await self.create(request, resource, namespace)
        if method == "PUT" and name:
            return await self.update(request, resource, namespace, name)
        if method == "PATCH" and name:
            return await self.patch(request, resource, namespace, name)
        if method == "DELETE" and name:
            return await self.delete(request, resource, namespace, name)
        return unsupported(request)

    # -- reads ---------------------------------------------------------------------------------

    async def get(self, request: web.Request, resource: ResourceType, namespace: str | None, name: str) -> web.Response:
        try:
            obj = self.store.get(resource, namespace or "", name)
        except NotFound:
            return _not_found(resource, name)
        if "as=Table" in request.headers.get("Accept", ""):
            return web.json_response(tables.table(resource.plural, [obj], obj["metadata"]["resourceVersion"]))
        return web.json_response(obj)

    async def list(self, request: web.Request, resource: ResourceType, namespace: str | None) -> web.Response:
        try:
            labels = label_selector(request.query.get("labelSelector", ""))
            fields = field_selector(request.query.get("fieldSelector", ""))
        except SelectorError as error:
            return status(400, "BadRequest", str(error))
        items = [
            obj for obj in self.store.list(resource, namespace)
            if labels(obj["metadata"].get("labels") or {}) and fields(obj)
        ]
        revision = str(self.store.revision())
        if "as=Table" in request.headers.get("Accept", ""):
            return web.json_response(tables.table(resource.plural, items, revision))
        return web.json_response({"kind": f"{resource.kind}List", "apiVersion": resource.api_version, "metadata": {"resourceVersion": revision}, "items": items})

    async def watch(self, request: web.Request, resource: ResourceType, namespace: str | None) -> web.StreamResponse:
        """Newline-delimited watch events, chunked; ADDED for what exists first unless
        a resourceVersion asks to resume, then every change until timeoutSeconds."""
        try:
            labels = label_selector(request.query.get("labelSelector", ""))
            fields = field_selector(request.query.get("fieldSelector", ""))
            timeout = min(float(request.query.get("timeoutSeconds") or 1800), MAX_WATCH_SECONDS)
            since = request.query.get("resourceVersion") or "0"
            since_revision = int(since)
        except (SelectorError, ValueError) as error:
            return status(400, "BadRequest", str(error))
        as_table = "as=Table" in request.headers.get("Accept", "")
        watcher = _Watcher(resource.group, resource.plural, namespace,
                           lambda obj: labels(obj["metadata"].get("labels") or {}) and fields(obj))
        # Registering and replaying happen with no await in between, so nothing is missed or doubled.
        backlog: list[tuple[str, dict[str, Any]]] = []
        expired = False
        if since_revision == 0:
            backlog = [("ADDED", obj) for obj in self.store.list(resource, namespace) if watcher.matches(obj)]
        elif since_revision < self.oldest_revision:
            expired = True
        else:
            backlog = [
                (event, obj) for revision, event, group, plural, obj in self.history
                if revision > since_revision and self._relevant(watcher, group, plural, obj)
            ]
        self.watchers.add(watcher)
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        try:
            await response.prepare(request)
            if expired:
                gone = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "reason": "Expired",
                        "message": f"too old resource version: {since_revision} ({self.oldest_revision})", "code": 410}
                await response.write(json.dumps({"type": "ERROR", "object": gone}).encode() + b"\n")
                return response
            first = True
            for event, obj in backlog:
                await response.write(self._watch_line(resource, event, obj, as_table, first))
                first = False
            deadline = time.monotonic() + timeout
            while (remaining := deadline - time.monotonic()) > 0:
                if request.transport is None or request.transport.is_closing():
                    break  # the client went away (kubectl got what it waited for)
                try:
                    event, obj = await asyncio.wait_for(watcher.queue.get(), timeout=min(remaining, 1.0))
                except asyncio.TimeoutError:
                    continue
                if event == _STOP:
                    break
                await response.write(self._watch_line(resource, event, obj, as_table, first))
                first = False
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.watchers.discard(watcher)
        return response

    @staticmethod
    def _watch_line(resource: ResourceType, event: str, obj: dict[str, Any], as_table: bool, with_columns: bool) -> bytes:
        shown: dict[str, Any] = obj
        if as_table:
            shown = tables.table(resource.plural, [obj], obj["metadata"].get("resourceVersion", ""))
            if not with_columns:
                shown["columnDefinitions"] = []
        return json.dumps({"type": event, "object": shown}).encode() + b"\n"

    # -- writes ---------------------------------------------------------------------------------

    async def _body(self, request: web.Request) -> tuple[Any, web.Response | None]:
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

    def _check_namespace(self, namespace: str | None) -> web.Response | None:
        if namespace is None:
            return None
        namespaces = resources.lookup("", "v1", "namespaces")
        assert namespaces is not None
        try:
            found = self.store.get(namespaces, "", namespace)
        except NotFound:
            return _not_found(namespaces, namespace)
        if (found.get("status") or {}).get("phase") == "Terminating":
            return status(403, "Forbidden", f"unable to create new content in namespace {namespace} because it is being terminated",
                          {"name": namespace, "kind": "namespaces"})
        return None

    async def create(self, request: web.Request, resource: ResourceType, namespace: str | None) -> web.Response:
        obj, problem = await self._body(request)
        if problem:
            return problem
        if resource.kind == "SelfSubjectAccessReview":
            return self._review(obj)
        return await self._create_object(request, resource, namespace, obj)

    @staticmethod
    def _review(obj: Any) -> web.Response:
        """The sandbox has one user, its administrator: every question is answered yes."""
        if not isinstance(obj, dict) or not isinstance((obj.get("spec") or {}).get("resourceAttributes") or (obj.get("spec") or {}).get("nonResourceAttributes"), dict):
            return status(400, "BadRequest", "SelfSubjectAccessReview: spec.resourceAttributes or spec.nonResourceAttributes is required")
        answer = {**obj, "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                  "metadata": {"creationTimestamp": None, **(obj.get("metadata") or {})},
                  "status": {"allowed": True, "reason": "the sandbox's user is its cluster administrator"}}
        return web.json_response(answer, status=201)

    async def _create_object(self, request: web.Request, resource: ResourceType, namespace: str | None, obj: Any) -> web.Response:
        if not isinstance(obj, dict):
            return status(400, "BadRequest", f"the request body must be a {resource.kind} object")
        kind = obj.get("kind")
        if kind and kind != resource.kind:
            return status(400, "BadRequest", f"the kind {kind!r} in the body does not match the {resource.plural} endpoint")
        metadata = obj.setdefault("metadata", {})
        if not metadata.get("name") and metadata.get("generateName"):
            import secrets

            metadata["name"] = metadata["generateName"] + "".join(secrets.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
        name = metadata.get("name")
        problem_text = _name_problem(resource, name)
        if problem_text:
            return _invalid(resource, str(name or ""), "metadata.name", problem_text)
        if resource.namespaced:
            body_namespace = metadata.get("namespace")
            if body_namespace and body_namespace != namespace:
                return status(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request")
            metadata["namespace"] = namespace
            if problem := self._check_namespace(namespace):
                return problem
        problem, warnings = self._validate_fields(request, resource, obj)
        if problem:
            return problem
        try:
            apply_defaults(resource, obj, self.store)
        except InvalidService as error:
            return _invalid(resource, str(name), error.field, str(error))
        try:
            created = self.store.create(resource, obj, dry_run=request.query.get("dryRun") == "All")
        except AlreadyExists:
            return status(409, "AlreadyExists", f'{resource.describe()} "{name}" already exists',
                          {"name": name, "kind": resource.plural, **({"group": resource.group} if resource.group else {})})
        return _with_warnings(web.json_response(created, status=201), warnings)

    async def update(self, request: web.Request, resource: ResourceType, namespace: str | None, name: str) -> web.Response:
        obj, problem = await self._body(request)
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
            return _not_found(resource, name)
        try:
            apply_defaults(resource, obj, self.store, previous)
        except InvalidService as error:
            return _invalid(resource, name, error.field, str(error))
        try:
            updated = self.store.update(resource, obj, dry_run=request.query.get("dryRun") == "All")
        except NotFound:
            return _not_found(resource, name)
        except Conflict:
            return status(409, "Conflict", f'Operation cannot be fulfilled on {resource.describe()} "{name}": the object has been modified; '
                          "please apply your changes to the latest version and try again", {"name": name, "kind": resource.plural})
        return _with_warnings(web.json_response(updated), warnings)

    async def patch(self, request: web.Request, resource: ResourceType, namespace: str | None, name: str) -> web.Response:
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip()
        if content_type == "application/apply-patch+yaml":
            return await self.server_side_apply(request, resource, namespace, name)
        if content_type not in ("application/merge-patch+json", "application/json-patch+json", "application/strategic-merge-patch+json"):
            return status(415, "UnsupportedMediaType", f"the labrunner sandbox does not support patches of type {content_type}")
        body, problem = await self._body(request)
        if problem:
            return problem
        try:
            current = self.store.get(resource, namespace or "", name)
        except NotFound:
            return _not_found(resource, name)
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
            return await self._create_object(request, resource, namespace, applied)
        merged = strategic_merge(current, applied, resource.group, resource.version, resource.kind)
        if resource.namespaced:
            merged["metadata"]["namespace"] = namespace
        return self._write(request, resource, merged)

    async def scale(self, request: web.Request, resource: ResourceType, namespace: str | None, name: str) -> web.Response:
        """The ``scale`` subresource (``kubectl scale``): an autoscaling/v1 Scale view of spec.replicas."""
        try:
            obj = self.store.get(resource, namespace or "", name)
        except NotFound:
            return _not_found(resource, name)
        if request.method in ("PATCH", "PUT"):
            body, problem = await self._body(request)
            if problem:
                return problem
            replicas = ((body or {}).get("spec") or {}).get("replicas")
            if not isinstance(replicas, int) or replicas < 0:
                return _invalid(resource, name, "spec.replicas", f"Invalid value: {replicas!r}: must be greater than or equal to 0")
            obj["spec"]["replicas"] = replicas
            obj = self.store.update(resource, obj)
        elif request.method != "GET":
            return unsupported(request)
        selector = obj["spec"].get("selector") or {}
        metadata = {key: obj["metadata"][key] for key in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if key in obj["metadata"]}
        return web.json_response({
            "kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": metadata,
            "spec": {"replicas": obj["spec"].get("replicas", 1)},
            "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                       "selector": ",".join(f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items()))},
        })

    async def delete(self, request: web.Request, resource: ResourceType, namespace: str | None, name: str) -> web.Response:
        try:
            obj = self.store.get(resource, namespace or "", name)
        except NotFound:
            return _not_found(resource, name)
        options: Any = {}
        if request.can_read_body:
            try:
                options = json.loads(await request.read() or b"{}") or {}
            except ValueError:
                options = {}
        policy = request.query.get("propagationPolicy") or (options.get("propagationPolicy") if isinstance(options, dict) else None) or "Background"
        if request.query.get("dryRun") == "All" or (isinstance(options, dict) and "All" in (options.get("dryRun") or [])):
            return web.json_response(obj)
        if resource.plural == "namespaces":
            return web.json_response(self._terminate_namespace(resource, obj))
        if policy == "Orphan":
            self._orphan_dependents(obj)
        elif policy == "Foreground" and resource.plural in ("deployments", "replicasets", "daemonsets"):
            # The owner stays, marked, until the garbage collector has removed its dependents.
            if not obj["metadata"].get("deletionTimestamp"):
                obj["metadata"]["deletionTimestamp"] = now()
                obj["metadata"]["deletionGracePeriodSeconds"] = 0
                obj["metadata"].setdefault("finalizers", []).append("foregroundDeletion")
                obj = self.store.update(resource, obj)
            return web.json_response(obj, status=202)
        self.store.delete(resource, namespace or "", name)
        if resource.plural == "customresourcedefinitions":
            for defined in resources.from_crd(obj):  # its objects go with it, as on a real cluster
                for instance in self.store.list(defined):
                    self.store.delete_raw(defined.group, defined.plural, instance["metadata"].get("namespace", ""), instance["metadata"]["name"])
        return web.json_response(obj)

    def _orphan_dependents(self, owner: dict[str, Any]) -> None:
        uid = owner["metadata"]["uid"]
        namespace = owner["metadata"].get("namespace")
        for plural, group in (("replicasets", "apps"), ("pods", ""), ("endpointslices", "discovery.k8s.io")):
            dependent_type = resources.lookup(group, "v1", plural)
            assert dependent_type is not None
            for dependent in self.store.list(dependent_type, namespace):
                references = dependent["metadata"].get("ownerReferences") or []
                kept = [ref for ref in references if ref.get("uid") != uid]
                if len(kept) != len(references):
                    dependent["metadata"]["ownerReferences"] = kept
                    if not kept:
                        del dependent["metadata"]["ownerReferences"]
                    self.store.update(dependent_type, dependent)

    def _terminate_namespace(self, resource: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        """Terminating now, gone (with everything in it) shortly after, as on a real cluster."""
        if (obj.get("status") or {}).get("phase") != "Terminating":
            obj.setdefault("status", {})["phase"] = "Terminating"
            obj["metadata"]["deletionTimestamp"] = now()
            obj = self.store.update(resource, obj)
            task = asyncio.get_running_loop().create_task(self._finish_namespace(resource, obj["metadata"]["name"]))
            self.background.add(task)
            task.add_done_callback(self.background.discard)
        return obj

    async def _finish_namespace(self, resource: ResourceType, name: str) -> None:
        await asyncio.sleep(NAMESPACE_TERMINATION_SECONDS)
        for group, plural, object_name in list(self.store.in_namespace(name)):
            self.store.delete_raw(group, plural, name, object_name)
        try:
            self.store.delete(resource, "", name)
        except NotFound:
            pass

    def resume_terminations(self) -> None:
        """After a restart, finish deleting namespaces that were Terminating."""
        namespaces = resources.lookup("", "v1", "namespaces")
        assert namespaces is not None
        for obj in self.store.list(namespaces):
            if (obj.get("status") or {}).get("phase") == "Terminating":
                task = asyncio.get_running_loop().create_task(self._finish_namespace(namespaces, obj["metadata"]["name"]))
                self.background.add(task)
                task.add_done_callback(self.background.discard)
