"""What the simulated servers answer over HTTP, by what the image's server is.

- static web servers (nginx, httpd, ``python3 -m http.server``) serve the files in their
  docroot (the image's own, or a volume mounted there), with each server's own 403/404 pages
  and directory listings;
- PHP images (php:*-apache, webdevops/php-apache) run the page's PHP in the sandbox's PHP
  (:mod:`labrunner.sandbox.php`): mysqli connects through the sandbox's network as the web pod,
  and anything beyond the subset is a PHP fatal error in the page and the container's log;
- wordpress checks its database as WordPress does ("Error establishing a database connection",
  or the installer once it can connect);
- traefik/whoami, hashicorp/http-echo and agnhost (netexec, serve-hostname, liveness) answer as
  their Go programs do;
- a server that does not speak HTTP (mysqld, redis, php-fpm) answers with no HTTP at all
  (status 0), and each client says so in its own words.
"""

from __future__ import annotations

import html
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

if TYPE_CHECKING:
    from labrunner.sandbox.entrypoints import MainProcess
    from labrunner.sandbox.network import Network

NOT_HTTP = 0
"""Status of an answer that is not HTTP (a client's "malformed response")."""


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    delay: float = 0.0
    """Seconds the server takes (a PHP page waiting for MySQL)."""
    headers: tuple[tuple[str, str], ...] = field(default=())
    reason: str = ""
    """The status line's reason when the server's own differs from Go's (nginx's 503 is
    "Service Temporarily Unavailable")."""
    logged: bool = False
    """The server wrote its access log line itself (a proxy, in its own format)."""


REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 403: "Forbidden", 404: "Not Found", 500: "Internal Server Error",
           503: "Service Unavailable"}


def serve(pod: dict[str, Any], path: str, network: Network, data_root: Path, port: int | None = None,
          client: dict[str, Any] | None = None, method: str = "GET", headers: Mapping[str, str] | None = None) -> Response:
    """``pod``'s answer to ``method path`` on ``port`` (None: its first HTTP server)."""
    found = _listener(pod, network, port)
    if found is None:
        return Response(NOT_HTTP, b"")
    container, process = found
    target, _, query = path.partition("?")
    does = process.image.does
    request = _Request(pod, container, process, target or "/", query, network, data_root, client or {}, method, dict(headers or {}),
                       port or (process.ports[0][1] if process.ports else 80))
    if does == "static-web":
        return _static(request)
    if does == "php-apache":
        return _php_site(request)
    if does == "wordpress":
        return _wordpress(request)
    if does == "whoami":
        return _whoami(request)
    if does == "http-echo":
        if target == "/health":
            return Response(200, b'{"status":"ok"}\n')
        return Response(int(process.options.get("status", "200") or 200), (process.options.get("text", "") + "\n").encode())
    if does == "agnhost":
        return _agnhost(request)
    if does in ("ingress-nginx", "gateway-nginx", "gateway-controller"):
        from labrunner.sandbox.l7.serving import answer

        return answer(pod, process, method, target or "/", query, dict(headers or {}), client or {}, request.port, network, data_root)
    return Response(NOT_HTTP, b"")


def _listener(pod: dict[str, Any], network: Network, port: int | None) -> tuple[dict[str, Any], MainProcess] | None:
    from labrunner.sandbox.entrypoints import main_process

    if port is not None:
        return network.listener(pod, "TCP", port)
    for container in (pod.get("spec") or {}).get("containers") or []:
        process = main_process(container)
        if process is not None and process.kind == "server" and process.ports:
            return network.listener(pod, "TCP", process.ports[0][1])
    return None


@dataclass
class _Request:
    pod: dict[str, Any]
    container: dict[str, Any]
    process: MainProcess
    path: str
    query: str
    network: Network
    data_root: Path
    client: dict[str, Any]
    method: str
    headers: dict[str, str]
    port: int

    @property
    def pod_ip(self) -> str:
        return str((self.pod.get("status") or {}).get("podIP", ""))

    @property
    def client_ip(self) -> str:
        return str((self.client.get("status") or {}).get("podIP", "127.0.0.1"))

    def files(self) -> Any:
        return self.network.container_files(self.pod, self.container)


# -- static web servers ----------------------------------------------------------------------------

_APACHE_SIGNATURE = "<hr>\n<address>{server} Server at {host} Port {port}</address>\n"


def apache_error(status: int, message: str, request: _Request, server: str | None) -> bytes:
    """Apache's error page; ``server`` is its signature line's name (Debian's apache2 turns
    ServerSignature on; the httpd image leaves it off: None)."""
    title = REASONS.get(status, "Error")
    host = request.headers.get("Host", request.pod_ip).split(":")[0]
    signature = _APACHE_SIGNATURE.format(server=server, host=host, port=request.port) if server else ""
    return (f'<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n<title>{status} {title}</title>\n</head><body>\n'
            f"<h1>{title}</h1>\n<p>{message}</p>\n{signature}</body></html>\n").encode()


def nginx_error(status: int) -> bytes:
    title = f"{status} {REASONS.get(status, 'Error')}"
    return (f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
            "<hr><center>nginx/1.27.3</center>\r\n</body>\r\n</html>\r\n").encode()


def _children(files: Any, folder: str) -> list[str]:
    prefix = folder.rstrip("/") + "/"
    names = set()
    for name in files:
        if name.startswith(prefix):
            rest = name[len(prefix):]
            names.add(rest.split("/", 1)[0] + ("/" if "/" in rest else ""))
    return sorted(names)


def _static(request: _Request) -> Response:
    from labrunner.sandbox.filesystem import normal

    process, image = request.process, request.process.image
    docroot = process.options.get("docroot") or image.docroot or "/"
    files = request.files()
    wanted = normal(docroot.rstrip("/") + "/" + request.path.lstrip("/"))
    server = "python" if process.options.get("server") == "python" else ("nginx" if image.kin == "nginx" else "httpd")
    if files.get(wanted) is not None and not request.path.endswith("/"):
        return Response(200, files[wanted])
    folder = wanted.rstrip("/") or "/"
    is_folder = folder == "/" or bool(_children(files, folder))
    if is_folder:
        if not request.path.endswith("/"):
            location = request.path + "/"
            body = nginx_error(301) if server == "nginx" else b""
            return Response(301, body, headers=(("Location", location),))
        index = files.get(normal(folder + "/index.html"))
        if index is not None:
            return Response(200, index)
        if server == "nginx":
            return Response(403, nginx_error(403))
        return Response(200, _listing(request.path, _children(files, folder), server))
    if server == "nginx":
        return Response(404, nginx_error(404))
    if server == "python":
        return Response(404, _python_error(404, "File not found"))
    return Response(404, apache_error(404, "The requested URL was not found on this server.", request, None))


def _python_error(status: int, message: str) -> bytes:
    return (f'<!DOCTYPE HTML>\n<html lang="en">\n    <head>\n        <meta charset="utf-8">\n'
            f"        <title>Error response</title>\n    </head>\n    <body>\n        <h1>Error response</h1>\n"
            f"        <p>Error code: {status}</p>\n        <p>Message: {message}.</p>\n"
            f"        <p>Error code explanation: {status} - Nothing matches the given URI.</p>\n    </body>\n</html>\n").encode()


def _listing(path: str, names: list[str], server: str) -> bytes:
    """A directory's index, as Python's http.server or Apache's mod_autoindex (no fancy indexing) writes it."""
    shown = html.escape(path, quote=False)
    if server == "python":
        items = "".join(f'<li><a href="{html.escape(name)}">{html.escape(name, quote=False)}</a></li>\n' for name in names)
        return (f'<!DOCTYPE HTML>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Directory listing for {shown}</title>\n'
                f"</head>\n<body>\n<h1>Directory listing for {shown}</h1>\n<hr>\n<ul>\n{items}</ul>\n<hr>\n</body>\n</html>\n").encode()
    parent = '<li><a href="/"> Parent Directory</a></li>\n' if path != "/" else ""
    items = "".join(f'<li><a href="{html.escape(name)}"> {html.escape(name, quote=False)}</a></li>\n' for name in names)
    return (f'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n<html>\n <head>\n  <title>Index of {shown}</title>\n </head>\n'
            f" <body>\n<h1>Index of {shown}</h1>\n<ul>{parent}{items}</ul>\n</body></html>\n").encode()


# -- PHP -------------------------------------------------------------------------------------------

APACHE_DEBIAN = "Apache/2.4.62 (Debian)"


def _php_site(request: _Request) -> Response:
    """Apache with mod_php: DirectoryIndex index.php index.html, no directory listings
    (the php image's docker-php.conf), ``.php`` files run by PHP, other files as they are."""
    from labrunner.sandbox.filesystem import normal

    docroot = request.process.image.docroot or "/var/www/html"
    files = request.files()
    wanted = normal(docroot + "/" + request.path.lstrip("/"))
    if request.path.endswith("/") or wanted == normal(docroot) or _children(files, wanted):
        if not request.path.endswith("/"):
            return Response(301, apache_error(301, f'The document has moved <a href="{request.path}/">here</a>.', request, APACHE_DEBIAN),
                            headers=(("Location", request.path + "/"),))
        for index in ("index.php", "index.html"):
            if files.get(normal(wanted + "/" + index)) is not None:
                wanted = normal(wanted + "/" + index)
                break
        else:
            return Response(403, apache_error(403, "You don't have permission to access this resource.", request, APACHE_DEBIAN))
    content = files.get(wanted)
    if content is None:
        return Response(404, apache_error(404, "The requested URL was not found on this server.", request, APACHE_DEBIAN))
    if not wanted.endswith(".php"):
        return Response(200, content)
    return run_php(request, content, wanted, docroot)


class _PhpHost:
    """What the sandbox's PHP asks of the container: its environment, files and the network."""

    def __init__(self, request: _Request, files: Any) -> None:
        self.request, self._files = request, files
        self.hostname = str(request.pod["metadata"]["name"])
        self.extensions = request.process.image.php_extensions
        self._environment = request.network.container_environment(request.pod, request.container)

    def getenv(self, name: str) -> str | None:
        return self._environment.get(name)

    def environment(self) -> Mapping[str, str]:
        return self._environment

    def read_file(self, path: str) -> bytes | None:
        value = self._files.get(path)
        return bytes(value) if value is not None else None

    def mysql_connect(self, host: str, user: str, password: str, database: str | None, port: int, timeout: float) -> Any:
        return mysql_connect(self.request, host, user, password, database, port, timeout)


def run_php(request: _Request, source: bytes, script: str, docroot: str) -> Response:
    from labrunner.sandbox import php

    host = _PhpHost(request, request.files())
    page = php.run_page(source, php.Request(method=request.method, path=request.path, query=request.query, headers=request.headers,
                                            remote_addr=request.client_ip, server_addr=request.pod_ip, server_port=request.port,
                                            script_filename=script, document_root=docroot), host)
    if page.log:
        request.network.store.append_log(request.pod["metadata"]["namespace"], request.pod["metadata"]["name"],
                                         str(request.container.get("name")), _apache_error_log(page.log, request.client_ip))
    return Response(page.status, page.body, page.delay, tuple(page.headers))


def _apache_error_log(lines: list[str], client: str) -> list[str]:
    now = time.time()
    stamp = time.strftime("%a %b %d %H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e6):06d} " + time.strftime("%Y", time.gmtime(now))
    return [f"[{stamp}] [php:error] [pid 20] [client {client}:0] {line}" for line in lines]


class _MysqlLink:
    """A mysqli connection: the server pod's databases, through the sandbox's mysql."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.affected_rows = 0
        self.insert_id = 0

    def query(self, sql: str) -> tuple[list[str], list[tuple[object, ...]]] | None:
        from labrunner.sandbox import php
        from labrunner.sandbox.mysql import MySQLError

        try:
            result = self.session.execute(sql.strip().rstrip(";"))
        except MySQLError as error:
            raise php.MysqlError(error.code, error.state, error.message) from None
        connection = self.session.connection
        if result is None and connection is not None:
            self.affected_rows = max(connection.total_changes, 0)
            self.insert_id = int(connection.execute("SELECT last_insert_rowid()").fetchone()[0] or 0)
            connection.commit()
        return result

    def select_db(self, database: str) -> None:
        from labrunner.sandbox import php
        from labrunner.sandbox.mysql import MySQLError

        try:
            self.session.use(database)
        except MySQLError as error:
            raise php.MysqlError(error.code, error.state, error.message) from None

    def close(self) -> None:
        self.session.close()


def mysql_connect(request: _Request, host: str, user: str, password: str, database: str | None, port: int, timeout: float) -> Any:
    """mysqlnd's connect from the web pod: DNS, the network's verdict (a dropped connection
    waits out the connect timeout), then the server's own checks."""
    from labrunner.sandbox import php
    from labrunner.sandbox.mysql import MySQLError, Server, Session

    network, pod = request.network, request.pod
    address, _, dns_reachable = network.resolve(pod, host)
    if address is None:
        reason = "Temporary failure in name resolution" if not dns_reachable else "Name or service not known"
        raise php.MysqlError(2002, "HY000", f"php_network_getaddresses: getaddrinfo for {host} failed: {reason}",
                             timeout if not dns_reachable else 0.0)
    connection = network.connect(pod, address, "TCP", port)
    if connection.outcome == "timeout":
        raise php.MysqlError(2002, "HY000", "Connection timed out", timeout)
    if connection.outcome != "connected" or connection.pod is None:
        raise php.MysqlError(2002, "HY000", "Connection refused")
    server_pod = connection.pod
    found = network.listener(server_pod, "TCP", connection.port if connection.port else port) or network.listener(server_pod, "TCP", 3306)
    if found is None or found[1].image.does != "mysql":
        raise php.MysqlError(2006, "HY000", "MySQL server has gone away")
    server_container = found[0]
    expected = network.container_environment(server_pod, server_container).get("MYSQL_ROOT_PASSWORD", "")
    if user != "root" or password != expected:
        raise php.MysqlError(1045, "28000", f"Access denied for user '{user}'@'{request.pod_ip}' (using password: {'YES' if password else 'NO'})")
    data_dir = request.data_root / server_pod["metadata"]["namespace"] / server_pod["metadata"]["name"] / str(server_container.get("name"))
    try:
        session = Session(Server(data_dir, expected), database or None)
    except MySQLError as error:
        raise php.MysqlError(error.code, error.state, error.message) from None
    return _MysqlLink(session)


# -- wordpress -------------------------------------------------------------------------------------

_WP_DB_ERROR = ("<!DOCTYPE html>\n<html dir='ltr'>\n<head>\n\t<meta name=\"viewport\" content=\"width=device-width\">\n"
                "\t<meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\" />\n\t<title>Database Error</title>\n"
                "\t</head>\n\t<body id=\"error-page\">\n\t<div class=\"wp-die-message\"><h1>Error establishing a database connection</h1></div>"
                "</body>\n</html>\n")


def _wordpress(request: _Request) -> Response:
    """WordPress's first answers: its database checked with the WORDPRESS_DB_* settings (the
    image's wp-config-docker.php defaults), the installer once it connects to an empty
    database. WordPress's own PHP is beyond the sandbox's: a path past the installer says so."""
    from labrunner.sandbox import php

    environment = request.network.container_environment(request.pod, request.container)
    host = environment.get("WORDPRESS_DB_HOST") or "mysql"
    name, _, port = host.partition(":")
    try:
        link = mysql_connect(request, name, environment.get("WORDPRESS_DB_USER") or "example username",
                             environment.get("WORDPRESS_DB_PASSWORD") or "example password",
                             environment.get("WORDPRESS_DB_NAME") or "wordpress", int(port or 3306), 60.0)
    except php.MysqlError as error:
        return Response(500, _WP_DB_ERROR.encode(), error.delay)
    try:
        installed = link.query("SHOW TABLES LIKE 'wp_options'")
    finally:
        link.close()
    if request.path in ("/", "/index.php") and not (installed and installed[1]):
        return Response(302, b"", headers=(("Location", f"http://{request.headers.get('Host', request.pod_ip)}/wp-admin/install.php"),))
    if request.path == "/wp-admin/install.php":
        return Response(200, b"<!DOCTYPE html>\n<html lang=\"en-US\">\n<head>\n<title>WordPress &rsaquo; Installation</title>\n</head>\n"
                             b"<body class=\"wp-core-ui language-chooser\">\n<p id=\"logo\">WordPress</p>\n</body>\n</html>\n")
    return Response(500, apache_error(500, "labrunner sandbox: WordPress's own PHP is not simulated beyond its database check "
                                           "and installer", request, APACHE_DEBIAN))


# -- Go test servers -------------------------------------------------------------------------------

def _whoami(request: _Request) -> Response:
    lines = []
    if request.process.options.get("name"):
        lines.append(f"Name: {request.process.options['name']}")
    lines += [f"Hostname: {request.pod['metadata']['name']}", "IP: 127.0.0.1", "IP: ::1", f"IP: {request.pod_ip}",
              f"RemoteAddr: {request.client_ip}:{40000 + hash(request.client_ip) % 20000}"]
    query = f"?{request.query}" if request.query else ""
    head = [f"{request.method} {request.path}{query} HTTP/1.1", f"Host: {request.headers.get('Host', request.pod_ip)}"]
    head += [f"{key}: {value}" for key, value in sorted(request.headers.items()) if key != "Host"]
    return Response(200, ("\n".join(lines) + "\n" + "\r\n".join(head) + "\r\n\r\n").encode(), headers=(("Content-Type", "text/plain; charset=utf-8"),))


def _agnhost(request: _Request) -> Response:
    command = request.process.options.get("command", "")
    name = str(request.pod["metadata"]["name"])
    if command == "serve-hostname":
        return Response(200, name.encode())
    if command == "test-webserver":
        return Response(200, b"Hello World")
    if command == "liveness":
        started = _started(request)
        healthy = started is None or time.time() - started < _scaled(10)
        if request.path == "/healthz":
            return Response(200, b"ok") if healthy else Response(500, f"error: {time.time() - (started or 0):.6f}".encode())
        return Response(404, b"404 page not found\n")
    if command == "netexec":
        query = {key: values[0] for key, values in parse_qs(request.query).items()}
        answers = {
            "/": lambda: f"NOW: {time.strftime('%Y-%m-%d %H:%M:%S.000000000 +0000 UTC', time.gmtime())}",
            "/hostname": lambda: name,
            "/clientip": lambda: f"{request.client_ip}:{40000 + hash(request.client_ip) % 20000}",
            "/echo": lambda: query.get("msg", ""),
            "/healthz": lambda: "",
            "/header": lambda: request.headers.get(query.get("key", ""), ""),
        }
        if request.path in answers:
            return Response(200, answers[request.path]().encode())
        if request.path == "/exit":
            return Response(200, b"")
        return Response(404, b"404 page not found\n")
    return Response(NOT_HTTP, b"")


def _started(request: _Request) -> float | None:
    import datetime

    for status in (request.pod.get("status") or {}).get("containerStatuses") or []:
        if status.get("name") == request.container.get("name"):
            stamp = ((status.get("state") or {}).get("running") or {}).get("startedAt")
            if stamp:
                return datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()
    return None


def _scaled(seconds: float) -> float:
    from labrunner.sandbox.timescale import TIME_SCALE

    return seconds * TIME_SCALE
