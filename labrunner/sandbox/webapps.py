"""What the simulated web servers answer: the lab's PHP page, and nginx's welcome.

The PHP runtime is simulated for the lab's page (``index.php`` in the mounted
ConfigMap, recognised by its query): it connects to MySQL through the sandbox's
network, as the web pod, with mysqli's 3 s connect timeout, and prints the rows
of ``db1.users`` or mysqli's error text, byte for byte as the real page does.
Any other path is Apache's 404.
"""

from __future__ import annotations

import html
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labrunner.sandbox import images

if TYPE_CHECKING:
    from labrunner.sandbox.network import Network

PHP_CONNECT_TIMEOUT = 3.0


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    delay: float = 0.0
    """Seconds the server takes (a PHP page waiting for MySQL)."""


def _lab_page(pod: dict[str, Any], network: Network) -> str | None:
    """The mounted index.php, if it is the lab's page."""
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        name = (volume.get("configMap") or {}).get("name")
        if name:
            page = network.config_map_value(pod["metadata"]["namespace"], name, "index.php")
            if page and "mysqli_real_connect" in page and "FROM users" in page:
                return page
    return None


def serve(pod: dict[str, Any], path: str, network: Network, data_root: Path) -> Response:
    container = ((pod.get("spec") or {}).get("containers") or [{}])[0]
    image = images.repository(str(container.get("image", "")))
    if image in images.DOCROOTS:
        return _static(pod, container, images.DOCROOTS[image], path, network, data_root, image)
    if path not in ("/", "/index.php") or _lab_page(pod, network) is None:
        return Response(404, b'<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n<title>404 Not Found</title>\n</head><body>\n<h1>Not Found</h1>\n<p>The requested URL was not found on this server.</p>\n</body></html>\n')
    environment = network.pod_environment(pod)
    page = ("<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"><title>interpoddemo</title></head>\n<body>\n"
            "<h1>Users in db1</h1>\n" f"<p>Served by pod {html.escape(pod['metadata']['name'])}</p>\n")
    body, delay = _rows_or_error(pod, environment, network, data_root)
    return Response(200, (page + body + "</body>\n</html>\n").encode(), delay)


NOT_FOUND = {
    "nginx": b"<html><head><title>404 Not Found</title></head><body><center><h1>404 Not Found</h1></center></body></html>\n",
    "httpd": b'<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n<title>404 Not Found</title>\n</head><body>\n'
             b"<h1>Not Found</h1>\n<p>The requested URL was not found on this server.</p>\n</body></html>\n",
}


def _static(pod: dict[str, Any], container: dict[str, Any], docroot: str, path: str, network: Network, data_root: Path,
            image: str) -> Response:
    """A web server's answer from the files in its docroot: the image's own, or the volume a
    learner mounted there (a ConfigMap over ``/usr/share/nginx/html``)."""
    from labrunner.sandbox import processes
    from labrunner.sandbox.filesystem import files_of, normal

    namespace = pod["metadata"]["namespace"]
    box = processes.Container(pod=pod["metadata"]["name"], namespace=namespace, name=str(container.get("name")),
                              image=str(container.get("image")), env={})
    files = files_of(box, pod, container, data_root, lambda kind, name: network.objects.get("", kind, namespace, name))
    wanted = normal(path.split("?", 1)[0])
    if path.split("?", 1)[0].endswith("/") or wanted == "/":
        wanted = wanted.rstrip("/") + "/index.html"
    content = files.get(normal(docroot + wanted))
    if content is None:
        return Response(404, NOT_FOUND[image])
    return Response(200, content)


def _rows_or_error(pod: dict[str, Any], environment: dict[str, str], network: Network, data_root: Path) -> tuple[str, float]:
    host = environment.get("MYSQL_HOST") or "mysql"
    password = environment.get("MYSQL_ROOT_PASSWORD", "")
    address, _, dns_reachable = network.resolve(pod, host)
    if address is None:
        reason = "Temporary failure in name resolution" if not dns_reachable else "Name or service not known"
        delay = PHP_CONNECT_TIMEOUT if not dns_reachable else 0.0
        return f"<p>MySQL connection failed: php_network_getaddresses: getaddrinfo for {html.escape(host)} failed: {reason}</p>\n", delay
    connection = network.connect(pod, address, "TCP", 3306)
    if connection.outcome == "timeout":
        return "<p>MySQL connection failed: Connection timed out</p>\n", PHP_CONNECT_TIMEOUT
    if connection.outcome != "connected" or connection.pod is None:
        return "<p>MySQL connection failed: Connection refused</p>\n", 0.0
    server_pod = connection.pod
    server_password = network.pod_environment(server_pod).get("MYSQL_ROOT_PASSWORD", "")
    if password != server_password:
        client_ip = (pod.get("status") or {}).get("podIP", "")
        return f"<p>MySQL connection failed: Access denied for user &#039;root&#039;@&#039;{client_ip}&#039; (using password: YES)</p>\n", 0.0
    container = ((server_pod.get("spec") or {}).get("containers") or [{}])[0].get("name", "mysql")
    database = data_root / server_pod["metadata"]["namespace"] / server_pod["metadata"]["name"] / str(container) / "db1.sqlite"
    if not database.exists():
        return "<p>MySQL connection failed: Unknown database &#039;db1&#039;</p>\n", 0.0
    try:
        with sqlite3.connect(database) as db:
            rows = db.execute("SELECT id, name, email, city FROM users ORDER BY id").fetchall()
    except sqlite3.Error:
        return "<p>MySQL query failed: Table &#039;db1.users&#039; doesn&#039;t exist</p>\n", 0.0
    table = ['<table border="1">', "<thead><tr><th>id</th><th>name</th><th>email</th><th>city</th></tr></thead>", "<tbody>"]
    for row in rows:
        table.append("<tr>" + "".join(f"<td>{html.escape('' if v is None else str(v), quote=True)}</td>" for v in row) + "</tr>")
    table += ["</tbody>", "</table>"]
    return "\n".join(table) + "\n", 0.0
