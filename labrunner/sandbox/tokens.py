"""Service account tokens: the TokenRequest API (being written)."""

from __future__ import annotations

from aiohttp import web

from labrunner.sandbox.status import unsupported
from labrunner.sandbox.store import Store


async def token_request(store: Store, request: web.Request, namespace: str, name: str) -> web.Response:
    return unsupported(request, "the token subresource of serviceaccounts")
