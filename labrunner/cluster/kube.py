"""The cluster port over the official kubernetes client: the only module that imports it.

Connection as kubectl makes it (``labrunner.cluster.kubeconfig``): an explicit
kubeconfig or ``$KUBECONFIG`` (merged by the client, but the FIRST file's
current-context, as kubectl picks it), ``--context``, the context's namespace.
Before any request, an exec credential plugin that is not installed is an error
with the kubeconfig's installHint (the client would otherwise swallow it and
send no credentials). Every call has a (connect, read) timeout; a 401 rebuilds
the client once and retries (expired tokens), a 403 never retries.
"""

from __future__ import annotations

import builtins
import json
import logging
import threading
from pathlib import Path
from collections.abc import Iterator, Sequence
from typing import Any

from labrunner.cluster import errors
from labrunner.cluster.kubeconfig import inspect, kubeconfig_files
from labrunner.cluster.port import ClusterInfo, ExecResult, path_for, plural_for

TIMEOUT = (3.0, 15.0)
"""(connect, read) seconds on every call: the client has no default and would wait for TCP's."""


def preload() -> None:
    """Import what a connection and an exec need, without connecting (the warm server does
    this once, so the commands it forks pay nothing for the client)."""
    import kubernetes.client
    import kubernetes.config  # noqa: F401
    import kubernetes.stream  # noqa: F401

    kubernetes.client.CoreV1Api  # noqa: B018  exec's API class and its models, imported on first use


def connect(kubeconfig: Path | None = None, context: str | None = None) -> KubeCluster:
    """A port to the cluster kubectl would use (or the one named).

    Raises:
        errors.NoKubeconfig: no kubeconfig file, or it names no context.
        errors.ContextNotFound: the context named (or the current one) is not in the kubeconfig.
        errors.CredentialPluginMissing: the context logs in with a program that is not installed.
    """
    environment = {"KUBECONFIG": str(kubeconfig)} if kubeconfig else None
    report = inspect(environment)
    files = [path for path in report.files if path.is_file()]
    if not files:
        looked = ", ".join(str(p) for p in report.files)
        raise errors.NoKubeconfig(f"no kubeconfig found (looked in: {looked})",
                                  "start the built-in sandbox: labrunner sandbox start, or pass --kubeconfig")
    chosen = context or report.context
    if not chosen:
        raise errors.NoKubeconfig("the kubeconfig sets no current-context", "pass --context NAME (kubectl config get-contexts lists them)")
    if chosen not in report.contexts:
        raise errors.ContextNotFound(chosen, list(report.contexts))
    if context and context != report.context:
        report = _report_for(files, context)
    if report.exec_command and not report.exec_found:
        raise errors.CredentialPluginMissing(report.exec_command, report.exec_install_hint)
    namespace = report.namespace
    return KubeCluster(files, chosen, report.server or "", namespace)


def _report_for(files: list[Path], context: str) -> Any:
    """The kubeconfig report as if ``context`` were current (for --context)."""
    import os
    import tempfile

    import yaml

    merged: dict[str, Any] = {"apiVersion": "v1", "kind": "Config", "current-context": context, "contexts": [], "clusters": [], "users": []}
    for path in files:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for section in ("contexts", "clusters", "users"):
            merged[section].extend(document.get(section) or [])
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
        yaml.safe_dump(merged, handle)
    try:
        return inspect({"KUBECONFIG": handle.name})
    finally:
        os.unlink(handle.name)


class KubeCluster:
    def __init__(self, files: list[Path], context: str, server: str, namespace: str) -> None:
        self.files = files
        self.context = context
        self.info = ClusterInfo(context=context, server=server, namespace=namespace,
                                is_sandbox=context == "labrunner-sandbox", kubeconfig=tuple(files))
        self._client = self._build()
        self._exec_api: Any = None
        self._exec_lock = threading.Lock()

    # -- the client -------------------------------------------------------------------------

    def _build(self) -> Any:
        from kubernetes import config

        # The client logs (and otherwise swallows) exec-plugin failures; keep them off the screen.
        logging.getLogger("kubernetes").setLevel(logging.CRITICAL)
        import os

        from kubernetes import client

        configuration = client.Configuration()
        config.load_kube_config(config_file=os.pathsep.join(str(f) for f in self.files), context=self.context,  # type: ignore[no-untyped-call]  # the client is unannotated
                                client_configuration=configuration, persist_config=False)
        # A session watches six kinds at once, each holding a connection, while checks run.
        configuration.connection_pool_maxsize = 32
        # urllib3 would retry each call 3 more times: a hung server would take 4x TIMEOUT to report.
        configuration.retries = False
        return client.ApiClient(configuration=configuration)

    def _request(self, method: str, path: str, *, query: list[tuple[str, Any]] | None = None, body: Any = None,
                 content_type: str = "application/json", accept: str = "application/json", retry: bool = True) -> bytes:
        response = self._open(method, path, query=query, body=body, content_type=content_type, accept=accept, retry=retry)
        try:
            return bytes(response.read() or b"")
        except _read_errors() as failure:
            raise self._transport_error(failure) from failure

    def _open(self, method: str, path: str, *, query: list[tuple[str, Any]] | None = None, body: Any = None,
              content_type: str = "application/json", accept: str = "application/json", retry: bool = True,
              timeout: tuple[float, float] = TIMEOUT) -> Any:
        """The response of a successful request, its body not yet read (a watch streams it)."""
        headers = {"Accept": accept, "Content-Type": content_type}
        try:
            method, url, headers, serialized, post = self._client.param_serialize(
                method=method, resource_path=path, query_params=query or [], header_params=headers, body=body,
                auth_settings=["BearerToken"],
            )
            response = self._client.call_api(method, url, header_params=headers, body=serialized, post_params=post,
                                             _request_timeout=timeout)
        except _read_errors() as failure:
            raise self._transport_error(failure) from failure
        except _client_errors() as failure:  # the client wraps TLS failures as ApiException(status=0)
            if getattr(failure, "status", None) != 0:
                raise
            raise self._tls_error(str(getattr(failure, "reason", "") or failure)) from failure
        if response.status == 401 and retry:
            self._client = self._build()  # an expired token: the credential plugin runs again
            return self._open(method, path, query=query, body=body, content_type=content_type, accept=accept, retry=False, timeout=timeout)
        if response.status >= 400:
            raise self._translate(response.status, response.read() or b"", response.reason)
        return response

    def _transport_error(self, failure: Exception) -> errors.ClusterError:
        from urllib3.exceptions import MaxRetryError, ReadTimeoutError

        if isinstance(failure, MaxRetryError) and failure.reason is not None:
            failure = failure.reason
        if isinstance(failure, ReadTimeoutError):
            return errors.Timeout(f"the server at {self.info.server} did not answer within {TIMEOUT[1]:.0f} s",
                                  "the cluster may be overloaded; try again", cluster_lost=True)
        return errors.Unreachable(self.info.server, _reason(failure))

    def _tls_error(self, said: str) -> errors.ClusterError:
        """A TLS handshake the client refused, in kubectl's words (``Unable to connect to the
        server: tls: failed to verify certificate: x509: ...``) with what to do."""
        if "CERTIFICATE_VERIFY_FAILED" not in said:
            return errors.Unreachable(self.info.server, said.replace("\n", " ").strip())
        if "mismatch" in said:
            host = self.info.server.split("://", 1)[-1].rsplit(":", 1)[0]
            x509 = f"x509: certificate is not valid for {host}"
        elif "expired" in said:
            x509 = "x509: certificate has expired or is not yet valid"
        else:
            x509 = "x509: certificate signed by unknown authority"
        return errors.CertificateRejected(self.info.server, x509, self.context)

    def _call(self, method: str, path: str, *, query: list[tuple[str, Any]] | None = None, body: Any = None,
              content_type: str = "application/json") -> Any:
        data = self._request(method, path, query=query, body=body, content_type=content_type)
        return json.loads(data) if data else None

    def _translate(self, code: int, body: bytes, reason: str | None) -> errors.ClusterError:
        try:
            status = json.loads(body or b"{}")
        except ValueError:
            status = {}
        message = (status.get("message") if isinstance(status, dict) else None) or reason or str(code)
        if code == 401:
            return errors.Unauthorized(self.context, message)
        if code == 403:
            import re

            match = re.search(r'User "([^"]*)" cannot (\w+) resource "([^"]*)"(?: in API group "[^"]*")?(?: in the namespace "([^"]*)")?', message)
            user, verb, resource, namespace = match.groups(default="") if match else ("", "", "", "")
            return errors.Forbidden(message, user, verb, resource, namespace)
        if code == 404:
            return errors.NotFound(message)
        if code == 409:
            return errors.Conflict(message)
        if code in (400, 422):
            return errors.Invalid(message)
        if code in (500, 503, 504) and "timeout" in message.lower():
            return errors.Timeout(message)
        reason_text = status.get("reason", code) if isinstance(status, dict) else code
        return errors.ClusterError(f"Error from server ({reason_text}): {message}")

    # -- the port -----------------------------------------------------------------------------

    def version(self) -> dict[str, Any]:
        answer: dict[str, Any] = self._call("GET", "/version")
        return answer

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        found: dict[str, Any] = self._call("GET", path_for(kind, namespace, name))
        return found

    def list(self, kind: str, namespace: str | None = None, *, labels: str = "", fields: str = "") -> list[dict[str, Any]]:
        query = [(k, v) for k, v in (("labelSelector", labels), ("fieldSelector", fields)) if v]
        return list((self._call("GET", path_for(kind, namespace), query=query) or {}).get("items") or [])

    def apply(self, obj: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        """Server-side apply as field manager ``labrunner`` (creates or updates)."""
        kind = plural_for(str(obj.get("kind")))
        if kind is None:
            raise errors.Invalid(f"labrunner cannot apply a {obj.get('kind')!r}")
        name = obj["metadata"]["name"]
        target_namespace = obj["metadata"].get("namespace") or namespace
        applied: dict[str, Any] = self._call("PATCH", path_for(kind, target_namespace, name),
                                             query=[("fieldManager", "labrunner"), ("force", "true")],
                                             body=json.dumps(obj), content_type="application/apply-patch+yaml")
        return applied

    def delete(self, kind: str, name: str, namespace: str | None = None) -> None:
        self._call("DELETE", path_for(kind, namespace, name), body={"propagationPolicy": "Background"})

    def create(self, obj: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        kind = plural_for(str(obj.get("kind")))
        if kind is None:
            raise errors.Invalid(f"labrunner cannot create a {obj.get('kind')!r}")
        created: dict[str, Any] = self._call("POST", path_for(kind, obj["metadata"].get("namespace") or namespace),
                                             query=[("fieldManager", "labrunner")], body=obj)
        return created

    def update(self, obj: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        kind = plural_for(str(obj.get("kind")))
        if kind is None:
            raise errors.Invalid(f"labrunner cannot update a {obj.get('kind')!r}")
        metadata = obj["metadata"]
        updated: dict[str, Any] = self._call("PUT", path_for(kind, metadata.get("namespace") or namespace, metadata["name"]),
                                             query=[("fieldManager", "labrunner")], body=obj)
        return updated

    def create_token(self, service_account: str, namespace: str, *, seconds: int,
                     bound_secret: str | None = None) -> tuple[str, str]:
        spec: dict[str, Any] = {"expirationSeconds": seconds}
        if bound_secret:
            spec["boundObjectRef"] = {"kind": "Secret", "apiVersion": "v1", "name": bound_secret}
        answer = self._call("POST", f"{path_for('serviceaccounts', namespace, service_account)}/token",
                            body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}) or {}
        status = answer.get("status") or {}
        return str(status.get("token") or ""), str(status.get("expirationTimestamp") or "")

    def api_groups(self) -> dict[str, builtins.list[str]]:
        listing = self._call("GET", "/apis") or {}
        return {str(group.get("name")): [str(v.get("version")) for v in group.get("versions") or []]
                for group in listing.get("groups") or []}

    def logs(self, pod: str, namespace: str, *, container: str | None = None, tail: int | None = None,
             previous: bool = False) -> str:
        query: list[tuple[str, Any]] = [(k, v) for k, v in (("container", container), ("tailLines", tail)) if v is not None]
        if previous:
            query.append(("previous", "true"))
        return self._request("GET", f"/api/v1/namespaces/{namespace}/pods/{pod}/log", query=query, accept="text/plain").decode(errors="replace")

    def events(self, namespace: str, *, involved: str | None = None) -> builtins.list[dict[str, Any]]:
        return self.list("events", namespace, fields=f"involvedObject.name={involved}" if involved else "")

    def watch(self, kind: str, namespace: str | None = None, *, timeout_seconds: int = 60,
              cursor: dict[str, str] | None = None, fields: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
        """Changes to ``kind`` from now on, as (ADDED|MODIFIED|DELETED, object), for about
        ``timeout_seconds``; then the iterator ends and the caller watches again.
        Starts from ``cursor["resourceVersion"]`` when given (so nothing is missed between two
        watches) and keeps it up to date, bookmarks included; otherwise from a fresh list's,
        so what already exists is not news."""
        version = (cursor or {}).get("resourceVersion")
        if not version:
            selected = [("fieldSelector", fields)] if fields else []
            listing = self._call("GET", path_for(kind, namespace), query=[("limit", 1), *selected]) or {}
            version = (listing.get("metadata") or {}).get("resourceVersion", "")
            if cursor is not None and version:
                cursor["resourceVersion"] = version
        query = [("watch", "1"), ("resourceVersion", version), ("timeoutSeconds", timeout_seconds), ("allowWatchBookmarks", "true")]
        if fields:
            query.append(("fieldSelector", fields))
        response = self._open("GET", path_for(kind, namespace), query=query, timeout=(TIMEOUT[0], timeout_seconds + 10.0))
        stream = response.response
        try:
            for line in _lines(stream):
                event = json.loads(line)
                if event.get("type") == "ERROR":  # 410 Gone and the like: start over from a fresh list
                    if cursor is not None:
                        cursor.pop("resourceVersion", None)
                    return
                obj = event.get("object") or {}
                if cursor is not None and (obj.get("metadata") or {}).get("resourceVersion"):
                    cursor["resourceVersion"] = obj["metadata"]["resourceVersion"]
                if event.get("type") != "BOOKMARK":
                    yield event["type"], obj
        except _read_errors():
            return  # the watch ended under us (timeout, closed connection): the caller watches again
        finally:
            stream.release_conn()

    def can_i(self, verb: str, resource: str, *, group: str = "", namespace: str | None = None,
              name: str | None = None) -> tuple[bool, str]:
        attributes = {k: v for k, v in (("verb", verb), ("resource", resource), ("group", group),
                                        ("namespace", namespace), ("name", name)) if v}
        review = self._call("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                            body={"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                                  "spec": {"resourceAttributes": attributes}}) or {}
        answer = review.get("status") or {}
        return bool(answer.get("allowed")), str(answer.get("reason") or answer.get("evaluationError") or "")

    def access_review(self, user: str, groups: Sequence[str], verb: str, *, resource: str = "", group: str = "",
                      subresource: str = "", namespace: str | None = None, name: str | None = None,
                      path: str | None = None) -> tuple[bool, str]:
        spec: dict[str, Any] = {"groups": list(groups)}
        if user:
            spec["user"] = user
        if path is not None:
            spec["nonResourceAttributes"] = {"path": path, "verb": verb}
        else:
            spec["resourceAttributes"] = {k: v for k, v in (("verb", verb), ("resource", resource), ("group", group),
                                                             ("subresource", subresource), ("namespace", namespace), ("name", name)) if v}
        review = self._call("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews",
                            body={"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec}) or {}
        answer = review.get("status") or {}
        return bool(answer.get("allowed")), str(answer.get("reason") or answer.get("evaluationError") or "")

    def whoami(self) -> dict[str, Any]:
        review = self._call("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                            body={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}) or {}
        return dict((review.get("status") or {}).get("userInfo") or {})

    def exec(self, pod: str, namespace: str, command: builtins.list[str], *, container: str | None = None,
             stdin: str | None = None, timeout: float = 30.0) -> ExecResult:
        """Run ``command`` in a pod; its own ApiClient, because ``stream`` swaps the client's call_api.
        Kept and used one exec at a time: building one reruns the kubeconfig's credential
        plugin, and a session polls a database every few seconds."""
        with self._exec_lock:
            return self._exec(pod, namespace, command, container=container, stdin=stdin, timeout=timeout)

    def _exec(self, pod: str, namespace: str, command: builtins.list[str], *, container: str | None,
              stdin: str | None, timeout: float) -> ExecResult:
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException
        from kubernetes.stream import stream

        if self._exec_api is None:
            self._exec_api = client.CoreV1Api(self._build())
        api = self._exec_api
        arguments: dict[str, Any] = {"command": command, "stdout": True, "stderr": True, "stdin": stdin is not None,
                                     "tty": False, "_preload_content": False}
        if container:
            arguments["container"] = container
        try:
            connection = stream(api.connect_get_namespaced_pod_exec, pod, namespace, **arguments)
        except ApiException as failure:
            if failure.status == 401:
                self._exec_api = None  # an expired token: the next exec logs in again
            raise self._translate(failure.status or 500, (failure.body or "").encode() if isinstance(failure.body, str) else (failure.body or b""), failure.reason) from failure
        except Exception as failure:  # the websocket library's own errors
            raise errors.Unreachable(self.info.server, str(failure)) from failure
        if stdin is not None:
            connection.write_stdin(stdin.encode())
            connection.close_channel(0)  # v5's close signal: the command sees end of input
        connection.run_forever(timeout=timeout)
        stdout, stderr = connection.read_stdout(timeout=0.1) or "", connection.read_stderr(timeout=0.1) or ""
        code = connection.returncode
        connection.close()
        return ExecResult(stdout=stdout, stderr=stderr, exit_code=int(code) if code is not None else -1)


def _lines(stream: Any) -> Iterator[bytes]:
    """Newline-delimited JSON from a chunked body, as it arrives."""
    pending = b""
    for chunk in stream.stream(64 * 1024, decode_content=True):
        pending += chunk
        *complete, pending = pending.split(b"\n")
        yield from (line for line in complete if line.strip())
    if pending.strip():
        yield pending


def _client_errors() -> type[Exception]:
    from kubernetes.client.exceptions import ApiException

    return ApiException


def _read_errors() -> type[Exception]:
    from urllib3.exceptions import HTTPError

    return HTTPError


def _reason(failure: Exception) -> str:
    text = str(failure)
    if "Connection refused" in text:
        return "connection refused"
    if "Name or service not known" in text or "nodename nor servname" in text:
        return "dial tcp: lookup: no such host"
    return text.split(": ", 1)[-1][:200]


__all__ = ["KubeCluster", "connect", "kubeconfig_files"]
