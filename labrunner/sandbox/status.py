"""The API server's ``Status``: the one body every failure is answered with.

kubectl prints it as ``Error from server (reason): message``; clients read
``details`` (name, kind, group, causes) to tell which object it is about. The
keys come in one order everywhere, so the same failure is the same bytes
whichever part of the sandbox answers it.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from labrunner.sandbox.resources import ResourceType


def status_body(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """kube-apiserver's key order: details before code."""
    body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason}
    if details:
        body["details"] = details
    body["code"] = code
    return body


def dumps(obj: Any) -> str:
    """JSON as kube-apiserver's encoder writes it: compact, one newline at the end."""
    return json.dumps(obj, separators=(",", ":")) + "\n"


def json_response(obj: Any, status: int = 200) -> web.Response:
    return web.json_response(obj, status=status, dumps=dumps)


def status(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> web.Response:
    return json_response(status_body(code, reason, message, details), status=code)


def unsupported(request: web.Request, what: str | None = None) -> web.Response:
    """What the sandbox does not simulate, said as a 404 that names it."""
    return status(404, "NotFound", f"the labrunner sandbox does not support {what or f'{request.method} {request.path}'} yet")


def _object_details(resource: ResourceType, name: str) -> dict[str, Any]:
    return {"name": name, "kind": resource.plural, **({"group": resource.group} if resource.group else {})}


def not_found(resource: ResourceType, name: str) -> web.Response:
    return status(404, "NotFound", f'{resource.describe()} "{name}" not found', _object_details(resource, name))


def already_exists(resource: ResourceType, name: str) -> web.Response:
    return status(409, "AlreadyExists", f'{resource.describe()} "{name}" already exists', _object_details(resource, name))


def conflict(resource: ResourceType, name: str) -> web.Response:
    return status(409, "Conflict", f'Operation cannot be fulfilled on {resource.describe()} "{name}": the object has been modified; '
                  "please apply your changes to the latest version and try again", {"name": name, "kind": resource.plural})


def invalid(resource: ResourceType, name: str, field: str, detail: str) -> web.Response:
    return status(422, "Invalid", f'{resource.kind} "{name}" is invalid: {field}: {detail}',
                  {"name": name, "kind": resource.kind, "causes": [{"reason": "FieldValueInvalid", "message": detail, "field": field}]})


def forbidden(message: str, details: dict[str, Any] | None = None) -> web.Response:
    return status(403, "Forbidden", message, details)
