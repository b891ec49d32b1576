"""A namespace's life: while it is Terminating nothing new may be created in it;
shortly after deletion it is gone, with everything it held (the namespace
controller's work, which on a real cluster also takes a moment)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from labrunner.sandbox import resources
from labrunner.sandbox.status import forbidden, not_found
from labrunner.sandbox.store import NotFound, Store, now

TERMINATION_SECONDS = 1.0


def _namespaces() -> resources.ResourceType:
    found = resources.lookup("", "v1", "namespaces")
    assert found is not None
    return found


class NamespaceLifecycle:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.background: set[asyncio.Task[None]] = set()

    def admit_content(self, namespace: str | None) -> web.Response | None:
        """The NamespaceLifecycle admission plugin: None when an object may be created in ``namespace``."""
        if namespace is None:
            return None
        namespaces = _namespaces()
        try:
            found = self.store.get(namespaces, "", namespace)
        except NotFound:
            return not_found(namespaces, namespace)
        if (found.get("status") or {}).get("phase") == "Terminating":
            return forbidden(f"unable to create new content in namespace {namespace} because it is being terminated",
                             {"name": namespace, "kind": "namespaces"})
        return None

    def terminate(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Terminating now, gone (with everything in it) shortly after, as on a real cluster."""
        if (obj.get("status") or {}).get("phase") != "Terminating":
            obj.setdefault("status", {})["phase"] = "Terminating"
            obj["metadata"]["deletionTimestamp"] = now()
            obj = self.store.update(_namespaces(), obj)
            self._finish_later(obj["metadata"]["name"])
        return obj

    def resume(self) -> None:
        """After a restart, finish deleting namespaces that were Terminating."""
        for obj in self.store.list(_namespaces()):
            if (obj.get("status") or {}).get("phase") == "Terminating":
                self._finish_later(obj["metadata"]["name"])

    def _finish_later(self, name: str) -> None:
        task = asyncio.get_running_loop().create_task(self._finish(name))
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def _finish(self, name: str) -> None:
        await asyncio.sleep(TERMINATION_SECONDS)
        for group, plural, object_name in list(self.store.in_namespace(name)):
            self.store.delete_raw(group, plural, name, object_name)
        try:
            self.store.delete(_namespaces(), "", name)
        except NotFound:
            pass
