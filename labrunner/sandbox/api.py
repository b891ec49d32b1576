"""The resource API's router: get / list / watch / create / update / patch / delete for every
kind in :mod:`labrunner.sandbox.resources`, with the API server's paths, status
codes and messages.

The router never names a resource: what differs per resource is a row in
:mod:`resource_hooks`, and subresources and never-stored resources are rows in
the tables below.
"""

from __future__ import annotations

import copy

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from labrunner.sandbox import discovery, resources, tables
from labrunner.sandbox.authorization import Authorizer
from labrunner.sandbox.namespaces import NamespaceLifecycle
from labrunner.sandbox.requestinfo import RequestInfo, request_info
from labrunner.sandbox.resource_hooks import hooks, refresh_custom_resources
from labrunner.sandbox.conversion import ConvertingStore, storage_of
from labrunner.sandbox.resources import ResourceType
from labrunner.sandbox.reviews import Reviews
from labrunner.sandbox.selectors import SelectorError, field_selector, label_selector
from labrunner.sandbox.status import invalid, json_response, not_found, status, unsupported
from labrunner.sandbox.store import NotFound, Store
from labrunner.sandbox.streams import PodStreams
from labrunner.sandbox.watchcache import WatchCache, wait_until_fresh
from labrunner.sandbox.writes import StatusWrites, Writes

Handler = Callable[[web.Request, ResourceType, "str | None", str], Awaitable[web.StreamResponse]]
ANY_METHOD = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


class ResourceAPI:
    def __init__(self, store: Store, authorizer: Authorizer | None = None) -> None:
        self.store = store
        self.authorizer = authorizer or Authorizer(store)
        self.streams = PodStreams(store, resources.lookup("", "v1", "pods"), store.path.parent / "data")
        self.namespaces = NamespaceLifecycle(store)
        self.writes = Writes(store, self.namespaces, self.authorizer)
        store.listeners.append(self._on_change)
        self.watches = WatchCache(store)
        refresh_custom_resources(store)
        self.subresources: dict[tuple[str, str, str], tuple[tuple[str, ...], Handler]] = {
            ("apps", "deployments", "scale"): (ANY_METHOD, self.scale),
            ("apps", "replicasets", "scale"): (ANY_METHOD, self.scale),
            ("apps", "statefulsets", "scale"): (ANY_METHOD, self.scale),
            ("", "replicationcontrollers", "scale"): (ANY_METHOD, self.scale),
            ("", "pods", "log"): (("GET",), self._pod_stream(self.streams.logs)),
            ("", "pods", "exec"): (("GET", "POST"), self._pod_stream(self.streams.exec)),
            ("", "pods", "attach"): (("GET", "POST"), self._pod_stream(self.streams.attach)),
            ("", "pods", "portforward"): (("GET", "POST"), self._pod_stream(self.streams.port_forward)),
            ("", "pods", "eviction"): (("POST",), self._eviction),
            ("", "serviceaccounts", "token"): (("POST",), self._token_request),
            ("certificates.k8s.io", "certificatesigningrequests", "approval"): (("GET", "PUT", "PATCH"), self._approval),
        }
        """(group, resource, subresource) -> (methods, handler); any other subresource is said to be unsupported."""
        self.reviews = Reviews(self.authorizer)
        self.answered = self.reviews.answers
        """Resources whose create is answered and never stored."""

    def _on_change(self, event: str, group: str, plural: str, obj: dict[str, Any]) -> None:
        if (after_change := hooks(group, plural).on_change) is not None:
            after_change(self.store)

    def close_watches(self) -> None:
        self.watches.close()

    def resume_terminations(self) -> None:
        self.namespaces.resume()

    @staticmethod
    def _pod_stream(serve: Callable[[web.Request, str, str], Awaitable[web.StreamResponse]]) -> Handler:
        async def handler(request: web.Request, resource: ResourceType, namespace: str | None, name: str) -> web.StreamResponse:
            if namespace is None:
                return unsupported(request, f"the {request.path.rstrip('/').rsplit('/', 1)[-1]} subresource of {resource.plural}")
            return await serve(request, namespace, name)

        return handler

    async def _token_request(self, request: web.Request, resource: ResourceType, namespace: str | None, name: str) -> web.Response:
        """``kubectl create token``: a TokenRequest (tokens.py)."""
        from labrunner.sandbox import tokens

        return await tokens.token_request(self.store, request, namespace or "", name)

    async def _eviction(self, request: web.Request, resource: ResourceType, namespace: str | None, name: str) -> web.Response:
        """``kubectl drain``'s evictions: the pods/eviction subresource (eviction.py)."""
        from labrunner.sandbox import eviction

        return await eviction.evict(self.writes, request, namespace or "", name)

    async def _approval(self, request: web.Request, resource: ResourceType, namespace: str | None, name: str) -> web.Response:
        """``kubectl certificate approve|deny``: a CSR's approval subresource (certificates.py)."""
        from labrunner.sandbox import certificates

        return await certificates.approval(self.writes, request, resource, name)

    # -- routing ----------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        info: RequestInfo = request.get("info") or request_info(request.method, request.path, request.query)
        if not info.is_resource:
            parts = [p for p in request.path.split("/") if p]
            if parts in (["api"], ["apis"]):
                return await discovery.root(request)
            if (parts[:1] == ["api"] and len(parts) == 2) or (parts[:1] == ["apis"] and len(parts) == 3):
                return await discovery.group_version(request, parts[-2] if len(parts) == 3 else "", parts[-1])
            return unsupported(request)
        resource = resources.lookup(info.group, info.version, info.resource)
        if resource is None:
            return status(404, "NotFound", "the server could not find the requested resource")
        if (stored := storage_of(resource)) is not None and not info.subresource and request.query.get("watch") not in ("1", "true"):
            return await self._at_version(resource, stored)._serve(request, info, resource)
        return await self._serve(request, info, resource)

    def _at_version(self, served: ResourceType, stored: ResourceType) -> ResourceAPI:
        """This API as a request at a served version other than the storage version sees it:
        reads and writes go through conversion (conversion.py)."""
        converting = ConvertingStore(self.store, served, stored)
        view = copy.copy(self)
        view.store = converting  # type: ignore[assignment]
        view.writes = copy.copy(self.writes)
        view.writes.store = converting  # type: ignore[assignment]
        return view

    async def _serve(self, request: web.Request, info: RequestInfo, resource: ResourceType) -> web.StreamResponse:
        namespace, name = info.namespace, info.name
        if info.subresource:
            methods, handler = self.subresources.get((resource.group, resource.plural, info.subresource), ((), None))
            if handler is None and info.subresource == "status" and any(sub[0] == "status" for sub in resource.subresources):
                methods, handler = ("GET", "PUT", "PATCH"), StatusWrites(self.writes).handle
            if handler is not None and not info.rest and name and request.method in methods:
                return await handler(request, resource, namespace, name)
            return unsupported(request, f"the {info.subresource} subresource of {resource.plural}")
        if request.query.get("watch") in ("1", "true"):
            if request.method != "GET" or name is not None:
                return unsupported(request)
            return await self.watches.serve(request, resource, namespace)
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
            return await self.writes.update(request, resource, namespace, name)
        if method == "PATCH" and name:
            return await self.writes.patch(request, resource, namespace, name)
        if method == "DELETE" and name:
            return await self.writes.delete(request, resource, namespace, name)
        if method == "DELETE":
            return await self.writes.delete_collection(request, resource, namespace)
        return unsupported(request)

    # -- reads ---------------------------------------------------------------------------------

    async def get(self, request: web.Request, resource: ResourceType, namespace: str | None, name: str) -> web.Response:
        try:
            obj = self.store.get(resource, namespace or "", name)
        except NotFound:
            return not_found(resource, name)
        if "as=Table" in request.headers.get("Accept", ""):
            return json_response(tables.table_for(resource, [obj], obj["metadata"]["resourceVersion"],
                                                  request.query.get("includeObject", "Metadata")))
        return json_response(obj)

    async def list(self, request: web.Request, resource: ResourceType, namespace: str | None) -> web.Response:
        try:
            labels = label_selector(request.query.get("labelSelector", ""))
            fields = field_selector(request.query.get("fieldSelector", ""))
        except SelectorError as error:
            return status(400, "BadRequest", str(error))
        if (since := request.query.get("resourceVersion", "")).isdigit() and (too_large := await wait_until_fresh(self.store, int(since))):
            return too_large
        items = [obj for obj in self.store.list(resource, namespace) if labels(obj["metadata"].get("labels") or {}) and fields(obj)]
        revision = str(self.store.revision())
        if "as=Table" in request.headers.get("Accept", ""):
            return json_response(tables.table_for(resource, items, revision, request.query.get("includeObject", "Metadata")))
        return json_response({"kind": f"{resource.kind}List", "apiVersion": resource.api_version, "metadata": {"resourceVersion": revision}, "items": items})

    # -- writes (in writes.py) and what is answered, never stored --------------------------------

    async def create(self, request: web.Request, resource: ResourceType, namespace: str | None) -> web.Response:
        obj, problem = await self.writes.object_body(request, resource)
        if problem or obj is None:
            return problem or status(400, "BadRequest", "no object")
        if (answer := self.answered.get((resource.group, resource.plural))) is not None:
            return answer(request, obj, namespace)
        return await self.writes.create_object(request, resource, namespace, obj)

    async def scale(self, request: web.Request, resource: ResourceType, namespace: str | None, name: str) -> web.Response:
        """The ``scale`` subresource (``kubectl scale``): an autoscaling/v1 Scale view of spec.replicas."""
        try:
            obj = self.store.get(resource, namespace or "", name)
        except NotFound:
            return not_found(resource, name)
        if request.method in ("PATCH", "PUT"):
            body, problem = await self.writes.body(request)
            if problem:
                return problem
            replicas = ((body or {}).get("spec") or {}).get("replicas")
            if not isinstance(replicas, int) or replicas < 0:
                return invalid(resource, name, "spec.replicas", f"Invalid value: {replicas!r}: must be greater than or equal to 0")
            obj["spec"]["replicas"] = replicas
            obj = self.store.update(resource, obj)
        elif request.method != "GET":
            return unsupported(request)
        selector = obj["spec"].get("selector") or {}
        metadata = {key: obj["metadata"][key] for key in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if key in obj["metadata"]}
        return json_response({
            "kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": metadata,
            "spec": {"replicas": obj["spec"].get("replicas", 1)},
            "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                       "selector": ",".join(f"{k}={v}" for k, v in sorted(_match_labels(selector).items()))},
        })


def _match_labels(selector: dict[str, Any]) -> dict[str, Any]:
    """A LabelSelector's matchLabels, or a ReplicationController's plain map selector."""
    if "matchLabels" in selector or "matchExpressions" in selector:
        return dict(selector.get("matchLabels") or {})
    return dict(selector)
