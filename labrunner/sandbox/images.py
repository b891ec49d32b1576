"""The images the sandbox can "pull": a catalogue of simulated images.

A known image's container starts and becomes ready; any other image fails the
way a real pull does (ErrImagePull, then ImagePullBackOff, with the kubelet's
event text). What runs inside a container (mysql speaking SQL, the PHP page,
busybox's applets) lives in ``processes.py``, ``mysql.py``, ``webapps.py`` and ``applets.py``.
"""

from __future__ import annotations

KNOWN_REPOSITORIES = frozenset({
    "mysql", "mariadb", "postgres", "redis", "memcached",
    "webdevops/php-apache", "php", "httpd", "nginx", "traefik/whoami",
    "busybox", "alpine", "debian", "ubuntu", "curlimages/curl", "nicolaka/netshoot",
    "calico/node", "calico/kube-controllers", "calico/cni", "calico/typha", "calico/apiserver",
    "coredns/coredns", "coredns", "pause", "kube-proxy",
})


def repository(image: str) -> str:
    """``docker.io/library/mysql:8.4`` -> ``mysql``; ``registry.k8s.io/coredns/coredns:v1.11.3`` -> ``coredns/coredns``."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)
    if ":" in last[-1]:
        name = name[: len(name) - len(last[-1]) + last[-1].index(":")]
    parts = name.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]  # a registry host
    if parts[:1] == ["library"]:
        parts = parts[1:]
    return "/".join(parts)


def known(image: str) -> bool:
    return repository(image) in KNOWN_REPOSITORIES


def pull_failure(image: str) -> str:
    """The kubelet's message for an image that cannot be pulled."""
    reference = image if "/" in image else f"docker.io/library/{image}"
    if ":" not in image.rsplit("/", 1)[-1]:
        reference += ":latest"
    return (
        f'Failed to pull image "{image}": rpc error: code = NotFound desc = failed to pull and unpack image '
        f'"{reference}": failed to resolve reference "{reference}": {reference}: not found '
        "(the labrunner sandbox simulates a catalogue of common images; this is not one of them)"
    )


def startup_lines(image: str, pod: str) -> list[str]:
    """What the container's process prints as it starts, as the real image does
    (abridged); shown by ``kubectl logs``."""
    import datetime

    name = repository(image)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if name in ("mysql", "mariadb"):
        return [
            f"{stamp} 0 [Note] [Entrypoint]: Entrypoint script for MySQL Server started.",
            f"{stamp} 0 [Note] [Entrypoint]: Initializing database files",
            f"{stamp} 0 [Note] [Entrypoint]: Database files initialized",
            f"{stamp} 0 [Note] [Entrypoint]: MySQL init process done. Ready for start up.",
            f"{stamp} 0 [System] [MY-010931] [Server] /usr/sbin/mysqld: ready for connections. Version: '8.4.3'  socket: '/var/run/mysqld/mysqld.sock'  port: 3306  MySQL Community Server - GPL.",
        ]
    if name in ("webdevops/php-apache", "php", "httpd"):
        return [
            f"AH00558: apache2: Could not reliably determine the server's fully qualified domain name, using {pod}.",
            "[mpm_event:notice] [pid 1:tid 1] AH00489: Apache/2.4.62 (Debian) configured -- resuming normal operations",
            "[core:notice] [pid 1:tid 1] AH00094: Command line: 'apache2 -D FOREGROUND'",
        ]
    if name == "nginx":
        return [
            "/docker-entrypoint.sh: Configuration complete; ready for start up",
            "[notice] 1#1: nginx/1.27.3",
            "[notice] 1#1: start worker processes",
        ]
    if name in ("coredns/coredns", "coredns"):
        return [".:53", "[INFO] plugin/reload: Running configuration SHA512 = 591cf328cccc12bc490481273e738df59329c62c0b729d94e8b61db9961c2fa5", "CoreDNS-1.11.3", "linux/amd64, go1.21.11, a6338e9"]
    if name.startswith("calico/"):
        return [f"{stamp[:19]} [INFO][1] startup/startup.go 432: Early log level set to info", "Calico node started successfully"]
    return []


NGINX_WELCOME = (b"<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>\n</head>\n<body>\n"
                 b"<h1>Welcome to nginx!</h1>\n</body>\n</html>\n")
DOCROOTS = {"nginx": "/usr/share/nginx/html", "httpd": "/usr/local/apache2/htdocs"}
"""Where a web server image serves its files from (a volume mounted there replaces them)."""


def image_files(image: str) -> dict[str, bytes]:
    """Files an image ships that its programs serve or read."""
    name = repository(image)
    if name == "nginx":
        return {"/usr/share/nginx/html/index.html": NGINX_WELCOME,
                "/usr/share/nginx/html/50x.html": b"<!DOCTYPE html>\n<html>\n<head>\n<title>Error</title>\n</head>\n<body>\n"
                                                  b"<h1>An error occurred.</h1>\n</body>\n</html>\n"}
    if name == "httpd":
        return {"/usr/local/apache2/htdocs/index.html": b"<html><body><h1>It works!</h1></body></html>\n"}
    return {}


ENTRYPOINT_CHECKS = frozenset({"mysql", "mariadb", "postgres"})
"""Images whose entrypoint refuses to start without the settings it needs."""


def entrypoint_failure(image: str, environment: dict[str, str]) -> list[str] | None:
    """What the image's entrypoint prints before it exits 1 on a new (uninitialised) data
    folder without a password setting, as the official images' docker-entrypoint.sh does; None
    when it starts."""
    import datetime

    name = repository(image)
    given = {key for key, value in environment.items() if value}
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S+00:00")
    if name == "mysql" and not given & {"MYSQL_ROOT_PASSWORD", "MYSQL_ALLOW_EMPTY_PASSWORD", "MYSQL_RANDOM_ROOT_PASSWORD"}:
        return [f"{stamp} [Note] [Entrypoint]: Entrypoint script for MySQL Server 8.4.3-1.el9 started.",
                f"{stamp} [Note] [Entrypoint]: Switching to dedicated user 'mysql'",
                f"{stamp} [Note] [Entrypoint]: Entrypoint script for MySQL Server 8.4.3-1.el9 started.",
                f"{stamp} [ERROR] [Entrypoint]: Database is uninitialized and password option is not specified",
                "\tYou need to specify one of the following as an environment variable:",
                "\t- MYSQL_ROOT_PASSWORD", "\t- MYSQL_ALLOW_EMPTY_PASSWORD", "\t- MYSQL_RANDOM_ROOT_PASSWORD"]
    if name == "mariadb" and not given & {"MARIADB_ROOT_PASSWORD", "MARIADB_ROOT_PASSWORD_HASH", "MARIADB_ALLOW_EMPTY_ROOT_PASSWORD",
                                          "MARIADB_RANDOM_ROOT_PASSWORD", "MYSQL_ROOT_PASSWORD", "MYSQL_ALLOW_EMPTY_PASSWORD",
                                          "MYSQL_RANDOM_ROOT_PASSWORD"}:
        return [f"{stamp} [Note] [Entrypoint]: Entrypoint script for MariaDB Server 1:11.4.4+maria~ubu2404 started.",
                f"{stamp} [ERROR] [Entrypoint]: Database is uninitialized and password option is not specified",
                "\tYou need to specify one of MARIADB_ROOT_PASSWORD, MARIADB_ROOT_PASSWORD_HASH, "
                "MARIADB_ALLOW_EMPTY_ROOT_PASSWORD and MARIADB_RANDOM_ROOT_PASSWORD"]
    if name == "postgres" and "POSTGRES_PASSWORD" not in given and environment.get("POSTGRES_HOST_AUTH_METHOD") != "trust":
        return ["Error: Database is uninitialized and superuser password is not specified.",
                "       You must specify POSTGRES_PASSWORD to a non-empty value for the",
                '       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".', "",
                '       You may also use "POSTGRES_HOST_AUTH_METHOD=trust" to allow all',
                "       connections without a password. This is *not* recommended.", "",
                '       See PostgreSQL documentation about "trust":',
                "       https://www.postgresql.org/docs/current/auth-trust.html"]
    return None
