"""The images the sandbox can "pull": a table of the images learners and CKA tasks use.

Each :class:`Image` says what the real image's config says (its ENTRYPOINT and CMD, the
ports its server listens on, its docroot or data folder, whether it has a shell) and what
it is (``does``): a web server serving files, a PHP site, a database answering its own
client, a shell image with nothing to do of its own... What a container of it runs is
decided in ``entrypoints.py``; what its programs do lives in ``processes.py``,
``applets.py``, ``mysql.py`` and ``webapps.py``.

A reference the table does not name (a typo such as ``ngnix`` or ``mysq:8.0``, or a tag
no release has, such as ``nginx:lastest``) fails to pull with the kubelet's texts: that is
a lesson. A lab that needs another image declares it (``images:`` in its lab.yaml, see
docs/architecture.md); labrunner hands the declaration to the sandbox, which reads it from
``<sandbox folder>/images.d/*.yaml``.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

SHELL_APPLETS = frozenset({"sh", "echo", "cat", "env", "printenv", "hostname", "true", "false", "pwd", "ls", "id", "whoami", "sleep",
                           "date", "uname", "grep", "wc", "head", "tail", "mkdir", "rmdir", "touch", "rm", "cp", "mv", "tee", "sed",
                           "tr", "cut", "sort", "uniq", "basename", "dirname", "base64"})
"""Programs every image with a shell has (coreutils or busybox); the sandbox's sh runs them."""
BUSYBOX_NETWORK = frozenset({"wget", "nslookup", "nc", "ping"})


@dataclass(frozen=True)
class Image:
    name: str
    """The repository, as ``repository()`` gives it (``nginx``, ``traefik/whoami``)."""
    does: str
    """What its main process is: ``static-web``, ``php-apache``, ``php-fpm``, ``wordpress``, ``mysql``,
    ``postgres``, ``redis``, ``memcached``, ``whoami``, ``http-echo``, ``agnhost``, ``dns``, ``pause``,
    ``system`` (a cluster component that keeps running), or ``program`` (no server: its CMD runs)."""
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    ports: tuple[tuple[str, int], ...] = ()
    docroot: str | None = None
    data_dir: str | None = None
    shell: bool = True
    """Whether it has /bin/sh (scratch and distroless images do not)."""
    shells: frozenset[str] = frozenset({"sh", "bash", "dash"})
    """The shells it has (busybox and alpine have no bash); the sandbox's sh plays each."""
    programs: frozenset[str] = frozenset()
    """Programs beyond the shell's applets that the sandbox runs (wget, curl, mysql...)."""
    servers: frozenset[str] = frozenset()
    """Program names that, run as the main process, are the image's server."""
    unsimulated: frozenset[str] = frozenset()
    """Programs the real image has that the sandbox does not run: said so, never faked."""
    php_extensions: frozenset[str] = frozenset()
    aliases: tuple[str, ...] = ()
    """Other repositories that are this image (a registry's path for it)."""
    family: str = ""
    """The table image it behaves as (nginx-unprivileged is an nginx; a lab's declared image is
    what its ``like`` names); empty: itself."""
    declared: bool = False
    """Declared by a lab (its tags are the lab's own: no tag variants apply)."""

    @property
    def kin(self) -> str:
        return self.family or self.name


_ASH = frozenset({"sh", "ash"})
_MYSQL_CLIENTS = frozenset({"mysql", "mysqladmin"})
_DEBIAN_UNSIMULATED = frozenset({"apt-get", "apt", "dpkg", "awk", "find", "xargs", "tar", "gzip"})

TABLE: tuple[Image, ...] = (
    Image("nginx", "static-web", ("/docker-entrypoint.sh",), ("nginx", "-g", "daemon off;"), (("TCP", 80),),
          docroot="/usr/share/nginx/html", programs=frozenset({"curl"}), servers=frozenset({"nginx"}),
          unsimulated=_DEBIAN_UNSIMULATED | {"nginx-debug"}),
    Image("nginxinc/nginx-unprivileged", "static-web", ("/docker-entrypoint.sh",), ("nginx", "-g", "daemon off;"), (("TCP", 8080),),
          docroot="/usr/share/nginx/html", programs=frozenset({"curl"}), servers=frozenset({"nginx"}), family="nginx"),
    Image("httpd", "static-web", (), ("httpd-foreground",), (("TCP", 80),), docroot="/usr/local/apache2/htdocs",
          servers=frozenset({"httpd-foreground", "httpd", "apachectl"}), unsimulated=_DEBIAN_UNSIMULATED),
    Image("php", "php-apache", ("docker-php-entrypoint",), ("apache2-foreground",), (("TCP", 80),), docroot="/var/www/html",
          programs=frozenset({"curl"}), servers=frozenset({"apache2-foreground", "apache2ctl", "apache2"}),
          unsimulated=_DEBIAN_UNSIMULATED | {"php", "docker-php-ext-install", "pecl"}),
    Image("webdevops/php-apache", "php-apache", ("/entrypoint",), ("supervisord",), (("TCP", 80), ("TCP", 443)), docroot="/app",
          programs=frozenset({"curl", "wget"}), servers=frozenset({"supervisord", "apache2-foreground"}),
          unsimulated=_DEBIAN_UNSIMULATED | {"php", "composer"}, php_extensions=frozenset({"mysqli", "pdo_mysql"})),
    Image("wordpress", "wordpress", ("docker-entrypoint.sh",), ("apache2-foreground",), (("TCP", 80),), docroot="/var/www/html",
          programs=frozenset({"curl"}), servers=frozenset({"apache2-foreground", "apache2ctl", "apache2"}),
          unsimulated=_DEBIAN_UNSIMULATED | {"php"}, php_extensions=frozenset({"mysqli"})),
    Image("mysql", "mysql", ("docker-entrypoint.sh",), ("mysqld",), (("TCP", 3306), ("TCP", 33060)), data_dir="/var/lib/mysql",
          programs=_MYSQL_CLIENTS, servers=frozenset({"mysqld"}), unsimulated=frozenset({"mysqldump", "mysqlsh", "microdnf"})),
    Image("mariadb", "mysql", ("docker-entrypoint.sh",), ("mariadbd",), (("TCP", 3306),), data_dir="/var/lib/mysql",
          programs=_MYSQL_CLIENTS | {"mariadb", "mariadb-admin"}, servers=frozenset({"mariadbd", "mysqld"}),
          unsimulated=frozenset({"mariadb-dump", "mysqldump"})),
    Image("postgres", "postgres", ("docker-entrypoint.sh",), ("postgres",), (("TCP", 5432),), data_dir="/var/lib/postgresql/data",
          servers=frozenset({"postgres"}), unsimulated=_DEBIAN_UNSIMULATED | {"psql", "pg_isready", "pg_dump", "createdb"}),
    Image("redis", "redis", ("docker-entrypoint.sh",), ("redis-server",), (("TCP", 6379),), data_dir="/data",
          programs=frozenset({"redis-cli"}), servers=frozenset({"redis-server"}), unsimulated=_DEBIAN_UNSIMULATED),
    Image("memcached", "memcached", ("docker-entrypoint.sh",), ("memcached",), (("TCP", 11211),), servers=frozenset({"memcached"})),
    Image("busybox", "program", (), ("sh",), programs=BUSYBOX_NETWORK | {"ps"}, shells=_ASH,
          unsimulated=frozenset({"awk", "find", "xargs", "tar", "vi", "top"})),
    Image("alpine", "program", (), ("/bin/sh",), programs=BUSYBOX_NETWORK | {"ps"}, shells=_ASH,
          unsimulated=frozenset({"apk", "awk", "find", "xargs", "tar", "vi", "top"})),
    Image("debian", "program", (), ("bash",), unsimulated=_DEBIAN_UNSIMULATED),
    Image("ubuntu", "program", (), ("/bin/bash",), unsimulated=_DEBIAN_UNSIMULATED),
    Image("python", "program", (), ("python3",), programs=frozenset({"python", "python3"}),
          unsimulated=_DEBIAN_UNSIMULATED | {"pip", "pip3"}),
    Image("node", "program", ("docker-entrypoint.sh",), ("node",), unsimulated=_DEBIAN_UNSIMULATED | {"node", "npm", "npx"}),
    Image("golang", "program", (), ("bash",), unsimulated=_DEBIAN_UNSIMULATED | {"go"}),
    Image("curlimages/curl", "program", ("/entrypoint.sh",), ("curl",), programs=frozenset({"curl"}) | BUSYBOX_NETWORK, shells=_ASH),
    Image("nicolaka/netshoot", "program", (), ("zsh",), programs=frozenset({"curl"}) | BUSYBOX_NETWORK,
          shells=frozenset({"sh", "ash", "bash", "zsh"}), unsimulated=frozenset({"dig", "tcpdump", "iperf3", "nmap", "ss", "ip", "netstat", "host", "drill"})),
    Image("traefik/whoami", "whoami", ("/whoami",), (), (("TCP", 80),), shell=False, servers=frozenset({"whoami"})),
    Image("hashicorp/http-echo", "http-echo", ("/http-echo",), (), (("TCP", 5678),), shell=False, servers=frozenset({"http-echo"})),
    Image("e2e-test-images/agnhost", "agnhost", ("/agnhost",), (), (), servers=frozenset({"agnhost"}),
          aliases=("kubernetes-e2e-test-images/agnhost",)),
    Image("pause", "pause", ("/pause",), (), (), shell=False, servers=frozenset({"pause"})),
    Image("coredns/coredns", "dns", ("/coredns",), (), (("UDP", 53), ("TCP", 53), ("TCP", 9153)), shell=False,
          servers=frozenset({"coredns"}), aliases=("coredns",)),
    *(Image(f"calico/{part}", "system", ("/usr/bin/" + part,), (), (), servers=frozenset({part}))
      for part in ("node", "kube-controllers", "cni", "typha", "apiserver")),
    Image("kube-proxy", "system", ("/usr/local/bin/kube-proxy",), (), (), servers=frozenset({"kube-proxy"})),
    Image("kindest/local-path-provisioner", "system", (), ("local-path-provisioner",), (), servers=frozenset({"local-path-provisioner"})),
    # Controllers a learner installs for Ingress and the Gateway API (sandbox/l7): their pods publish statuses and proxy.
    Image("ingress-nginx/controller", "ingress-nginx", ("/usr/bin/dumb-init", "--"), ("/nginx-ingress-controller",),
          (("TCP", 80), ("TCP", 443), ("TCP", 10254)), shells=_ASH, servers=frozenset({"nginx-ingress-controller"}),
          unsimulated=frozenset({"nginx", "dbg"})),
    Image("nginx/nginx-gateway-fabric", "gateway-controller", ("/usr/bin/gateway",), (), (("TCP", 8081), ("TCP", 9113)), shell=False,
          servers=frozenset({"gateway"}), aliases=("nginxinc/nginx-gateway-fabric",)),
    Image("nginx/nginx-gateway-fabric/nginx", "gateway-nginx", ("/docker-entrypoint.sh",), ("nginx", "-g", "daemon off;"),
          (("TCP", 80), ("TCP", 443)), shells=_ASH, servers=frozenset({"nginx"}), unsimulated=frozenset({"nginx-debug"}),
          aliases=("nginxinc/nginx-gateway-fabric/nginx",)),
)


def _variant(image: Image, tag: str) -> Image:
    """The tag's variant where one repository's tags are different images (php:8.3-apache
    serves pages, php:8.3-fpm speaks FastCGI, php:8.3-cli has no server)."""
    words = set(re.split(r"[-.]", tag))
    if image.name == "php" and "apache" not in words:
        if "fpm" in words:
            return replace(image, does="php-fpm", cmd=("php-fpm",), ports=(("TCP", 9000),), docroot=None,
                           servers=frozenset({"php-fpm"}))
        return replace(image, does="program", cmd=("php", "-a"), ports=(), docroot=None, servers=frozenset())
    if image.name == "wordpress" and "fpm" in words:
        return replace(image, cmd=("php-fpm",), ports=(("TCP", 9000),), servers=frozenset({"php-fpm"}), does="php-fpm")
    if image.name in ("nginx", "python", "node", "golang", "php", "redis", "postgres", "httpd") and "alpine" in words:
        return replace(image, programs=(image.programs - {"curl"}) | BUSYBOX_NETWORK, shells=_ASH)
    return image


_BY_NAME = {name: image for image in TABLE for name in (image.name, *image.aliases)}

TAG_WORDS = frozenset({
    "latest", "stable", "mainline", "alpine", "slim", "bookworm", "bullseye", "buster", "trixie", "jammy", "noble", "focal",
    "apache", "fpm", "cli", "zts", "perl", "otel", "musl", "glibc", "uclibc", "oracle", "oraclelinux", "debian", "ubuntu",
    "lts", "lts-alpine", "current", "edge", "php", "windowsservercore", "nanoserver", "community", "rc", "beta", "alpha",
    "unprivileged", "jod", "iron", "hydrogen", "gallium", "innovation",
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


def tag(image: str) -> str:
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else "latest"


def plausible_tag(value: str) -> bool:
    """Whether ``value`` could be a tag the image's publisher pushed: versions (``1.27``,
    ``v1.11.3``, ``8.0.40``), release words (``alpine``, ``bookworm``, ``php8.3``) and their
    combinations; a misspelt word (``lastest``, ``alpne``) is not."""
    for token in value.split("-"):
        if re.fullmatch(r"[0-9a-f]{7,40}", token) and not token.isdigit():
            continue  # a commit's short hash, as in kind's own images (v20240813-c6f155d6)
        word = re.fullmatch(r"([a-z]*?)(v?\d+(?:\.\d+)*[a-z]?\d*)?", token)
        if token == "" or word is None:
            return False
        letters, version = word.group(1), word.group(2)
        if letters and letters not in TAG_WORDS and not (version and len(letters) <= 6):
            return False
        if not letters and not version:
            return False
    return True


_DECLARED: dict[str, Image] = {}
_DECLARED_STAMP: tuple[float, ...] | None = None
DECLARATIONS: Path | None = None
"""``<sandbox folder>/images.d``: labs' declared images (set by the server at start)."""


def declared() -> dict[str, Image]:
    """Images labs declared, read again when a declaration file changes."""
    global _DECLARED, _DECLARED_STAMP
    if DECLARATIONS is None or not DECLARATIONS.is_dir():
        return {}
    files = sorted(DECLARATIONS.glob("*.yaml"))
    stamp = tuple(path.stat().st_mtime for path in files) + (len(files),)
    if stamp != _DECLARED_STAMP:
        _DECLARED, _DECLARED_STAMP = _read_declarations(files), stamp
    return _DECLARED


def declaration(entry: dict[str, Any]) -> Image:
    """One declared image: ``{name, like, ports, docroot, command}``; ``like`` names a table
    image whose behaviour it borrows (default ``busybox``: a shell image)."""
    base = _BY_NAME.get(str(entry.get("like") or "busybox"))
    if base is None:
        raise ValueError(f"like: {entry.get('like')!r} is not an image of the sandbox's table")
    ports = tuple(("TCP", int(port)) if not isinstance(port, dict) else (str(port.get("protocol", "TCP")), int(port["port"]))
                  for port in entry.get("ports") or [])
    changes: dict[str, Any] = {"name": repository(str(entry["name"])), "aliases": (), "family": base.kin, "declared": True}
    if ports:
        changes["ports"] = ports
    if entry.get("docroot"):
        changes["docroot"] = str(entry["docroot"])
    if entry.get("command"):
        changes["entrypoint"], changes["cmd"] = (), tuple(str(word) for word in entry["command"])
    return replace(base, **changes)


def _read_declarations(files: list[Path]) -> dict[str, Image]:
    import yaml

    found: dict[str, Image] = {}
    for path in files:
        try:
            entries = yaml.safe_load(path.read_text()) or []
            for entry in entries:
                image = declaration(entry)
                found[image.name] = image
        except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError):
            continue  # checked when the lab was loaded; a broken file declares nothing
    return found


def lookup(image: str) -> Image | None:
    """The table's entry for an image reference, or None: it cannot be pulled."""
    name = repository(image)
    found = declared().get(name) or _BY_NAME.get(name)
    if found is None:
        return None
    if found.declared:
        return found
    if "@" not in image and not plausible_tag(tag(image)):
        return None
    return _variant(found, tag(image))


def known(image: str) -> bool:
    return lookup(image) is not None


def pull_failure(image: str) -> str:
    """The kubelet's message for an image that cannot be pulled."""
    reference = image if "/" in image else f"docker.io/library/{image}"
    if ":" not in image.rsplit("/", 1)[-1]:
        reference += ":latest"
    return (
        f'Failed to pull image "{image}": rpc error: code = NotFound desc = failed to pull and unpack image '
        f'"{reference}": failed to resolve reference "{reference}": {reference}: not found '
        "(the labrunner sandbox simulates a table of common images; this is not one of them)"
    )


def startup_lines(image: str, pod: str) -> list[str]:
    """What the container's server prints as it starts, as the real image does (abridged);
    shown by ``kubectl logs``."""
    found = lookup(image)
    if found is None:
        return []
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    lines = {
        "mysql": [
            f"{stamp} 0 [Note] [Entrypoint]: Entrypoint script for MySQL Server started.",
            f"{stamp} 0 [Note] [Entrypoint]: Initializing database files",
            f"{stamp} 0 [Note] [Entrypoint]: Database files initialized",
            f"{stamp} 0 [Note] [Entrypoint]: MySQL init process done. Ready for start up.",
            f"{stamp} 0 [System] [MY-010931] [Server] /usr/sbin/mysqld: ready for connections. Version: '8.4.3'  socket: "
            "'/var/run/mysqld/mysqld.sock'  port: 3306  MySQL Community Server - GPL.",
        ],
        "php-apache": [
            f"AH00558: apache2: Could not reliably determine the server's fully qualified domain name, using {pod}.",
            "[mpm_prefork:notice] [pid 1:tid 1] AH00163: Apache/2.4.62 (Debian) PHP/8.3.14 configured -- resuming normal operations",
            "[core:notice] [pid 1:tid 1] AH00094: Command line: 'apache2 -D FOREGROUND'",
        ],
        "php-fpm": ["[pool www] NOTICE: fpm is running, pid 1", "NOTICE: ready to handle connections"],
        "postgres": [f"{stamp[:19].replace('T', ' ')} UTC [1] LOG:  starting PostgreSQL 17.2 on x86_64-pc-linux-gnu",
                     f"{stamp[:19].replace('T', ' ')} UTC [1] LOG:  listening on IPv4 address \"0.0.0.0\", port 5432",
                     f"{stamp[:19].replace('T', ' ')} UTC [1] LOG:  database system is ready to accept connections"],
        "redis": ["1:C * oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo", "1:M * Server initialized",
                  "1:M * Ready to accept connections tcp"],
        "dns": [".:53", "CoreDNS-1.11.3", "linux/amd64, go1.21.11, a6338e9"],
    }
    lines["wordpress"] = ["WordPress not found in /var/www/html - copying now...",
                          "Complete! WordPress has been successfully copied to /var/www/html", *lines["php-apache"]]
    if found.kin == "httpd":
        return [f"AH00558: httpd: Could not reliably determine the server's fully qualified domain name, using {pod}.",
                "[mpm_event:notice] [pid 1:tid 1] AH00489: Apache/2.4.62 (Unix) configured -- resuming normal operations",
                "[core:notice] [pid 1:tid 1] AH00094: Command line: 'httpd -D FOREGROUND'"]
    if found.kin == "nginx":
        return ["/docker-entrypoint.sh: Configuration complete; ready for start up",
                "[notice] 1#1: nginx/1.27.3", "[notice] 1#1: start worker processes"]
    if found.does == "ingress-nginx":
        # The controller's banner (its Build line, a commit id, is left out rather than invented).
        rule = "-" * 79
        return [rule, "NGINX Ingress controller", f"  Release:       {tag(image)}",
                "  Repository:    https://github.com/kubernetes/ingress-nginx", "  nginx version: nginx/1.25.5", "", rule, ""]
    if found.name.startswith("calico/"):
        return [f"{stamp[:19]} [INFO][1] startup/startup.go 432: Early log level set to info", "Calico node started successfully"]
    return lines.get(found.does, [])


NGINX_WELCOME = (b"<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>\n</head>\n<body>\n"
                 b"<h1>Welcome to nginx!</h1>\n</body>\n</html>\n")


def image_files(image: str) -> dict[str, bytes]:
    """Files an image ships that its programs serve or read."""
    found = lookup(image)
    if found is None:
        return {}
    if found.kin == "nginx":
        port = found.ports[0][1] if found.ports else 80
        return {"/usr/share/nginx/html/index.html": NGINX_WELCOME,
                "/usr/share/nginx/html/50x.html": b"<!DOCTYPE html>\n<html>\n<head>\n<title>Error</title>\n</head>\n<body>\n"
                                                  b"<h1>An error occurred.</h1>\n</body>\n</html>\n",
                "/etc/nginx/conf.d/default.conf": NGINX_DEFAULT_CONF.replace(b":80;", f":{port};".encode())
                                                  .replace(b" 80;", f" {port};".encode())}
    if found.kin == "httpd":
        return {"/usr/local/apache2/htdocs/index.html": b"<html><body><h1>It works!</h1></body></html>\n"}
    return {}


NGINX_DEFAULT_CONF = (b"server {\n    listen       80;\n    listen  [::]:80;\n    server_name  localhost;\n\n"
                      b"    location / {\n        root   /usr/share/nginx/html;\n        index  index.html index.htm;\n    }\n\n"
                      b"    error_page   500 502 503 504  /50x.html;\n    location = /50x.html {\n"
                      b"        root   /usr/share/nginx/html;\n    }\n}\n")


def entrypoint_failure(image: str, environment: dict[str, str]) -> list[str] | None:
    """What the image's entrypoint prints before it exits 1 on a new (uninitialised) data
    folder without a password setting, as the official images' docker-entrypoint.sh does; None
    when it starts."""
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


ENTRYPOINT_CHECKS = frozenset({"mysql", "mariadb", "postgres"})
"""Images whose entrypoint refuses to start without the settings it needs."""

