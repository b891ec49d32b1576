"""The sandbox's API server process: ``python -m labrunner.sandbox.server``.

Listens on 127.0.0.1 only, on a free port, over HTTPS with the sandbox's own CA
and an HTTP/1.1-only ALPN (Go clients would try h2 otherwise). Every request is
authenticated (authentication.py: a client certificate, the admin token, a service
account token, or none: system:anonymous) and authorised (authorization.py: RBAC, with
the default policy of bootstrap_policy.py), as on a real cluster. Once listening it writes the kubeconfig and ``server.json`` (atomically),
which is what ``labrunner sandbox start`` waits for.

It serves discovery and the resource API of :mod:`labrunner.sandbox.api` over
the objects in ``objects.db``; what it does not support yet answers a Kubernetes
``Status`` saying so in words.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import logging
import os
import secrets
import signal
import ssl
import sys
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from labrunner import __version__
from labrunner.sandbox import discovery
from labrunner.sandbox.api import ResourceAPI
from labrunner.sandbox.authentication import Authenticator, ImpersonationError, TokenAuthenticator, impersonate
from labrunner.sandbox.authorization import ADMIN, User, forbidden_message
from labrunner.sandbox.bootstrap_policy import ensure_bootstrap_policy
from labrunner.sandbox.certs import ensure_certificates
from labrunner.sandbox.controllers import ControlPlane
from labrunner.sandbox.deadlines import IDLE_TIMEOUT, with_header_deadline
from labrunner.sandbox.decoding import MAX_BODY_BYTES, RECURSION_LIMIT
from labrunner.sandbox.files import SANDBOX_CONTEXT, SandboxFiles, write_atomically
from labrunner.sandbox.metrics import MetricsServer, serving
from labrunner.sandbox.requestinfo import request_info
from labrunner.sandbox.seed import ensure_kubernetes_service, report_nodes, seed
from labrunner.sandbox.status import json_response, status as status_response
from labrunner.sandbox.store import Store

KUBERNETES_VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.4+labrunner-sandbox",
    "gitCommit": "labrunner-sandbox",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "n/a (labrunner sandbox, Python)",
    "compiler": "labrunner",
    "platform": "linux/amd64",
}
"""Minor 32: the kubectl dispatcher picks its kubectl build from it."""

CONTEXT_NAME = SANDBOX_CONTEXT

log = logging.getLogger("labrunner.sandbox")


def make_app(token: str, api: ResourceAPI) -> web.Application:
    authenticator = Authenticator(token, ADMIN, _token_authenticator(api))

    @web.middleware
    async def authenticate(request: web.Request, handler: Any) -> web.StreamResponse:
        """kube-apiserver's authentication, then its impersonation filter (authentication.py)."""
        ssl_object = request.transport.get_extra_info("ssl_object") if request.transport is not None else None
        peer = ssl_object.getpeercert() if ssl_object is not None else None
        user = authenticator.authenticate(request.headers.get("Authorization", ""), peer)
        if not isinstance(user, User):
            log.info("401 %s %s", request.method, request.path_qs)
            return status_response(401, "Unauthorized", "Unauthorized")
        try:
            request["user"] = impersonate(api.authorizer, user, request.headers)
        except ImpersonationError as refused:
            log.info("%d %s %s (impersonation by %s)", refused.code, request.method, request.path_qs, user.name)
            return status_response(refused.code, refused.reason, refused.message, refused.details)
        return await handler(request)

    @web.middleware
    async def authorize(request: web.Request, handler: Any) -> web.StreamResponse:
        """Every request is asked of the authoriser, as the API server's WithAuthorization
        filter does (the health endpoints and /version too: RBAC's system:public-info-viewer
        lets anyone read them)."""
        info = request["info"] = request_info(request.method, request.path, request.query)
        user = request["user"]
        decision = api.authorizer.decide(user, info)
        if not decision.allowed:
            log.info("403 %s %s as %s: %s", request.method, request.path_qs, user.name, "; ".join(decision.explanation))
            name = info.name or info.selected_name
            details = {"name": name, "group": info.group, "kind": info.resource} if info.is_resource else {"name": info.path}
            return status_response(403, "Forbidden", forbidden_message(user, info, decision.reason),
                                   {key: value for key, value in details.items() if value})
        return await handler(request)

    @web.middleware
    async def never_a_traceback(request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except Exception:  # a bug in the sandbox: logged, answered as a Status
            log.exception("internal error on %s %s", request.method, request.path_qs)
            return status_response(500, "InternalError", "the labrunner sandbox failed on this request; see labrunner sandbox logs")

    async def version(request: web.Request) -> web.Response:
        return json_response(KUBERNETES_VERSION)

    async def health(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def resource_api(request: web.Request) -> web.StreamResponse:
        response = await api.handle(request)
        log.info("%d %s %s", response.status, request.method, request.path_qs)
        return response

    async def unsupported(request: web.Request) -> web.Response:
        log.info("unsupported %s %s", request.method, request.path_qs)
        return status_response(
            404, "NotFound", f"the labrunner sandbox does not support {request.method} {request.path} yet"
        )

    # aiohttp refuses a longer body with a plain-text 413 of its own; writes.py answers kube's Status instead.
    app = web.Application(middlewares=[never_a_traceback, authenticate, authorize], client_max_size=MAX_BODY_BYTES)
    app.router.add_get("/version", version)
    app.router.add_get("/version/", version)  # the Python client's path
    for path in ("/healthz", "/livez", "/readyz"):
        app.router.add_get(path, health)
    app.router.add_get("/openapi/v2", discovery.openapi_v2)
    app.router.add_get("/openapi/v3", discovery.openapi_root)
    app.router.add_get("/openapi/v3/{tail:.*}", discovery.openapi_group_version)
    app.router.add_route("*", "/api", resource_api)
    app.router.add_route("*", "/api/{tail:.*}", resource_api)
    app.router.add_route("*", "/apis", resource_api)
    # metrics.k8s.io: metrics-server's API (labrunner.sandbox.metrics), before the resource API's paths
    metrics_server = MetricsServer(api.store)

    async def metrics_api(request: web.Request) -> web.StreamResponse:
        response = await metrics_server.handle(request)
        log.info("%d %s %s", response.status, request.method, request.path_qs)
        return response

    app.router.add_route("*", "/apis/metrics.k8s.io", metrics_api)
    app.router.add_route("*", "/apis/metrics.k8s.io/{tail:.*}", metrics_api)
    app.router.add_route("*", "/apis/{tail:.*}", resource_api)
    app.router.add_route("*", "/{tail:.*}", unsupported)
    return app


def _token_authenticator(api: ResourceAPI) -> TokenAuthenticator:
    """Service account tokens (TokenRequest, legacy Secrets, a pod's projected token)."""
    from labrunner.sandbox import token_authentication

    return lambda token: token_authentication.authenticate(token, api.store)


def ssl_context(files: SandboxFiles) -> ssl.SSLContext:
    """TLS as kube-apiserver offers it: the server's certificate, and client certificates
    requested (never required) and verified against the cluster's CA."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(files.server_certificate, files.server_key)
    context.verify_mode = ssl.CERT_OPTIONAL
    context.load_verify_locations(files.ca_certificate)
    context.set_alpn_protocols(["http/1.1"])
    return context


def ensure_token(files: SandboxFiles) -> str:
    """The bearer token, made once and kept, so a learner's kubeconfig outlives restarts."""
    try:
        token = files.token.read_text(encoding="utf-8").strip()
        if token:
            return token
    except OSError:
        pass
    token = secrets.token_urlsafe(32)
    write_atomically(files.token, token + "\n", private=True)
    return token


def kubeconfig_text(files: SandboxFiles, port: int, token: str) -> str:
    authority = base64.b64encode(files.ca_certificate.read_bytes()).decode()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT_NAME, "cluster": {"server": f"https://127.0.0.1:{port}", "certificate-authority-data": authority}}],
        "users": [{"name": CONTEXT_NAME, "user": {"token": token}}],
        "contexts": [{"name": CONTEXT_NAME, "context": {"cluster": CONTEXT_NAME, "user": CONTEXT_NAME}}],
        "current-context": CONTEXT_NAME,
        "preferences": {},
    }
    return json.dumps(config, indent=2) + "\n"  # JSON is YAML; no YAML writer needed


async def serve(files: SandboxFiles) -> None:
    sys.setrecursionlimit(max(sys.getrecursionlimit(), RECURSION_LIMIT))  # bodies nest up to 10,000 levels, as kube's
    ensure_certificates(files)
    token = ensure_token(files)
    store = Store(files.database)
    from labrunner.sandbox import images

    images.DECLARATIONS = files.declared_images
    if store.new:
        seed(store)
    report_nodes(store)
    ensure_kubernetes_service(store)  # as kube-apiserver's kubernetesservice controller: put back when missing
    ensure_bootstrap_policy(store)  # as kube-apiserver's RBAC post-start hook, at every start
    from labrunner.sandbox.priority import ensure_system_classes

    ensure_system_classes(store)  # as its scheduling post-start hook: system-cluster-critical and system-node-critical
    from labrunner.sandbox.storage.localpath import ensure_local_path

    ensure_local_path(store)  # a sandbox made before storage was served gets kind's default class once
    from labrunner.sandbox.coredns.manifests import ensure_coredns

    ensure_coredns(store)  # a sandbox made before CoreDNS read a Corefile gets kubeadm's, as an upgrade would
    api = ResourceAPI(store)
    runner = web.AppRunner(make_app(token, api), access_log=None, shutdown_timeout=2.0, keepalive_timeout=IDLE_TIMEOUT)
    await runner.setup()
    assert runner.server is not None
    # Our own listener rather than a TCPSite, so every connection keeps the API server's header deadline.
    listener = await asyncio.get_running_loop().create_server(
        with_header_deadline(runner.server), "127.0.0.1", 0, ssl=ssl_context(files), reuse_address=True, backlog=128)
    port = listener.sockets[0].getsockname()[1]
    write_atomically(files.kubeconfig, kubeconfig_text(files, port, token), private=True)
    write_atomically(
        files.server_info,
        json.dumps({"pid": os.getpid(), "port": port, "started": time.time(), "labrunner": __version__}) + "\n",
    )
    log.info("listening on https://127.0.0.1:%d (pid %d)", port, os.getpid())
    api.resume_terminations()
    control_plane = ControlPlane(store)
    from labrunner.sandbox.runtime import ContainerRuntime

    runtime = ContainerRuntime(asyncio.get_running_loop(), api.streams._box, store.append_log, control_plane.wake.set)
    control_plane.cluster.runtime = runtime  # the kubelet runs containers' commands through it
    control_plane.start()
    metrics_server = serving(store)
    if metrics_server is not None:
        metrics_server.start()  # scrapes every 15 s (scaled), as metrics-server does
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopped.set)
    try:
        await stopped.wait()
    finally:
        log.info("stopping")
        runtime.stop_all()
        if metrics_server is not None:
            metrics_server.stop()
        await control_plane.stop()
        api.close_watches()
        info = files.read_server_info()
        if info and info.get("pid") == os.getpid():
            files.server_info.unlink(missing_ok=True)
        listener.close()
        await runner.cleanup()
        store.close()


LOG_BYTES = 2 * 1024 * 1024
LOG_BACKUPS = 3
"""The log keeps about the last 8 MiB (a line per request): sandbox.log, then .1 to .3."""

ALREADY_RUNNING = 75
"""The exit code when another server holds the folder (EX_TEMPFAIL)."""


def rotating_log(files: SandboxFiles) -> logging.Handler:
    from logging.handlers import RotatingFileHandler

    handler = RotatingFileHandler(files.log, maxBytes=LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    return handler


def hold_the_folder(files: SandboxFiles) -> int | None:
    """Take the folder's server lock for this process's life; None when another server has it."""
    import fcntl

    descriptor = os.open(files.server_lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        return None
    return descriptor  # kept open: the lock goes with the process, however it ends


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="labrunner-sandbox", description="the labrunner sandbox's API server")
    parser.add_argument("--state-dir", type=Path, required=True, help="the sandbox's folder (kubeconfig, certificates, data)")
    arguments = parser.parse_args(argv)
    files = SandboxFiles(arguments.state_dir)
    os.umask(0o077)  # every file the server makes (objects, WAL, log, a pod's data) is its owner's alone
    files.make_private()
    if hold_the_folder(files) is None:
        running = files.read_server_info() or {}
        print(f"labrunner-sandbox: another sandbox server (pid {running.get('pid', '?')}) runs on {files.folder}; "
              "one server per folder", file=sys.stderr)
        raise SystemExit(ALREADY_RUNNING)
    logging.basicConfig(level=logging.INFO, handlers=[rotating_log(files)])
    asyncio.run(serve(files))


if __name__ == "__main__":
    main()
