"""CertificateSigningRequests: validation and the approval subresource (being written)."""

from __future__ import annotations

from aiohttp import web

from labrunner.sandbox.resources import ResourceType
from labrunner.sandbox.status import unsupported
from labrunner.sandbox.writes import Writes


async def approval(writes: Writes, request: web.Request, resource: ResourceType, name: str) -> web.Response:
    return unsupported(request, "the approval subresource of certificatesigningrequests")
