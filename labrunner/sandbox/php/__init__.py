"""The PHP the sandbox's PHP images (php:8.3-apache, webdevops/php-apache, wordpress) run: a
learner's page executes for real, as PHP 8.3 under Apache's mod_php with no php.ini would.

Why a subset: lab pages are short tutorials' PHP (echo, templates with alternative syntax,
functions, arrays, mysqli or PDO against the lab's MySQL, getenv and gethostname). The subset
covers those; anything else must not produce made-up output, so it ends the page with a fatal
error in PHP's form whose message says the sandbox does not implement it (``labrunner sandbox:
the simulated PHP does not implement array_walk()``), while a name PHP itself does not have
gets PHP's own ``Call to undefined function``.

Errors are displayed in the page (display_errors and html_errors on) and logged (the ``log``
lines of :class:`Page`, for Apache's error log on the container's stderr). A fatal error keeps
status 200 because display_errors is on (php_error_cb sets 500 only when it is off and nothing
was sent). Nothing here blocks or starts a thread: sleep() and mysqli's connect timeout add to
``Page.delay``, which the caller applies. Limits: STEP_LIMIT statements (PHP's 30 s
max_execution_time), OUTPUT_LIMIT bytes (reported as the 128 MiB memory_limit), and a call depth.

Modules: ``lexer``/``parser``/``expressions``/``nodes`` (source to tree), ``values`` (arrays,
conversions, comparison), ``runtime``/``evaluate``/``interpreter``/``operators`` (running it),
``registry`` (built-in signatures and argument checks), ``builtins``/``strings``/``arrays``/
``formats`` (the functions), ``mysqli``/``pdo`` (MySQL through the host), ``known`` (real PHP
functions the sandbox lacks), ``errors`` (PHP's error texts).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Mapping, Protocol
from urllib.parse import parse_qsl

from labrunner.sandbox.php import builtins as _builtins  # noqa: F401  (registers the functions)
from labrunner.sandbox.php import mysqli as _mysqli  # noqa: F401
from labrunner.sandbox.php.errors import E_ERROR, E_PARSE, ExitSignal, FatalError, ParseError, PhpThrow
from labrunner.sandbox.php.interpreter import Interpreter
from labrunner.sandbox.php.parser import parse
from labrunner.sandbox.php.runtime import OUTPUT_LIMIT, PHP_VERSION, STEP_LIMIT
from labrunner.sandbox.php.values import PhpArray, normalize_key

__all__ = ["OUTPUT_LIMIT", "PHP_VERSION", "STEP_LIMIT", "Host", "MysqlError", "MysqlLink", "Page", "Request",
           "run_page"]

SERVER_SOFTWARE = "Apache/2.4.62 (Debian)"


@dataclass(frozen=True)
class Request:
    method: str = "GET"
    path: str = "/"
    query: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    remote_addr: str = ""
    server_addr: str = ""
    server_port: int = 80
    script_filename: str = "/var/www/html/index.php"
    document_root: str = "/var/www/html"


class MysqlLink(Protocol):
    affected_rows: int
    insert_id: int

    def query(self, sql: str) -> tuple[list[str], list[tuple[object, ...]]] | None:
        """A result set (column names, rows), or None for a statement without one. Raises MysqlError."""

    def select_db(self, database: str) -> None:
        """Raises MysqlError (1049 Unknown database)."""

    def close(self) -> None: ...


class MysqlError(Exception):
    """A MySQL client error as mysqlnd reports it; ``delay`` is how long the failure took."""

    def __init__(self, code: int, sqlstate: str, message: str, delay: float = 0.0) -> None:
        super().__init__(message)
        self.code = code
        self.sqlstate = sqlstate
        self.message = message
        self.delay = delay


class Host(Protocol):
    hostname: str
    extensions: frozenset[str]

    def getenv(self, name: str) -> str | None: ...
    def environment(self) -> Mapping[str, str]: ...
    def read_file(self, path: str) -> bytes | None: ...

    def mysql_connect(self, host: str, user: str, password: str, database: str | None, port: int,
                      timeout: float) -> MysqlLink:
        """Raises MysqlError(code, sqlstate, message, delay)."""


@dataclass(frozen=True)
class Page:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    log: list[str]
    delay: float


def _form(text: str) -> PhpArray:
    """A query string or urlencoded body as PHP parses it (``a[]=1&a[]=2`` and ``a[k]=v`` nest)."""
    result = PhpArray()
    for name, value in parse_qsl(text, keep_blank_values=True):
        base, bracket, rest = name.partition("[")
        if not bracket or not rest.endswith("]"):
            result.set(normalize_key(name.replace(".", "_").replace(" ", "_")), value)
            continue
        keys = rest[:-1].split("][")
        target = result.d.get(normalize_key(base))
        if not isinstance(target, PhpArray):
            target = PhpArray()
            result.set(normalize_key(base), target)
        for key in keys[:-1]:
            child = target.d.get(normalize_key(key)) if key else None
            if not isinstance(child, PhpArray):
                child = PhpArray()
                if key:
                    target.set(normalize_key(key), child)
                else:
                    target.append(child)
            target = child
        if keys[-1]:
            target.set(normalize_key(keys[-1]), value)
        else:
            target.append(value)
    return result


def _server(request: Request, host: Host) -> PhpArray:
    """$_SERVER as mod_php fills it from Apache's subprocess_env: request headers, then the CGI
    variables (the container's other environment variables are not there; getenv() sees them)."""
    server = PhpArray()
    for name, value in request.headers.items():
        server.set("HTTP_" + name.upper().replace("-", "_"), value)
    host_header = next((v for k, v in request.headers.items() if k.lower() == "host"), "")
    server_name = host_header.rsplit(":", 1)[0] if host_header else request.server_addr
    uri = request.path + ("?" + request.query if request.query else "")
    script_name = "/" + request.script_filename.removeprefix(request.document_root).lstrip("/")
    path = host.getenv("PATH") or "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    now = time.time()
    variables: list[tuple[str, object]] = [
        ("PATH", path), ("SERVER_SIGNATURE", f"<address>{SERVER_SOFTWARE} Server at {server_name} Port "
                                             f"{request.server_port}</address>\n"),
        ("SERVER_SOFTWARE", SERVER_SOFTWARE), ("SERVER_NAME", server_name), ("SERVER_ADDR", request.server_addr),
        ("SERVER_PORT", str(request.server_port)), ("REMOTE_ADDR", request.remote_addr),
        ("DOCUMENT_ROOT", request.document_root), ("REQUEST_SCHEME", "http"), ("CONTEXT_PREFIX", ""),
        ("CONTEXT_DOCUMENT_ROOT", request.document_root), ("SERVER_ADMIN", "webmaster@localhost"),
        ("SCRIPT_FILENAME", request.script_filename), ("GATEWAY_INTERFACE", "CGI/1.1"),
        ("SERVER_PROTOCOL", "HTTP/1.1"), ("REQUEST_METHOD", request.method), ("QUERY_STRING", request.query),
        ("REQUEST_URI", uri), ("SCRIPT_NAME", script_name), ("PHP_SELF", script_name),
        ("REQUEST_TIME_FLOAT", now), ("REQUEST_TIME", int(now)),
    ]
    for variable, setting in variables:
        server.set(variable, setting)
    return server


def run_page(source: bytes | str, request: Request, host: Host) -> Page:
    """Run one request of a PHP page.

    Args:
        source: the script's bytes (its file is ``request.script_filename``).
        request: the HTTP request.
        host: the container: environment, files, extensions, MySQL.

    Returns:
        The response and what the request wrote to the error log, with the simulated delay.
    """
    text = source.decode("utf-8", "surrogateescape") if isinstance(source, bytes) else source
    it = Interpreter(request, host)
    get = _form(request.query)
    content_type = next((v for k, v in request.headers.items() if k.lower() == "content-type"), "")
    post = _form(request.body.decode("utf-8", "surrogateescape")) \
        if request.method.upper() == "POST" and content_type.startswith("application/x-www-form-urlencoded") \
        else PhpArray()
    request_vars = get.copy()
    for k, v in post.d.items():
        request_vars.set(k, v)
    it.superglobals.update({"_GET": get, "_POST": post, "_COOKIE": PhpArray(), "_FILES": PhpArray(),
                            "_REQUEST": request_vars, "_SERVER": _server(request, host),
                            "_ENV": PhpArray(dict(host.environment()))})
    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old_limit, 20000))
    try:
        _execute(it, text)
    finally:
        sys.setrecursionlimit(old_limit)
    headers = list(it.headers)
    if not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", "text/html; charset=UTF-8"))
    body = "".join(it.out).encode("utf-8", "surrogateescape")
    return Page(it.status, headers, body, it.log, it.delay)


def _execute(it: Interpreter, text: str) -> None:
    try:
        try:
            body = parse(text)
        except ParseError as error:
            kind = E_ERROR if error.unsupported else E_PARSE
            it.report(kind, error.message, it.file, error.line)
            return
        it.run_file(body)
    except ExitSignal:
        pass
    except PhpThrow as thrown:
        obj = thrown.obj
        it.silence = 0
        it.report(E_ERROR, f"Uncaught {it.exception_string(obj)}\n  thrown", str(obj.props.get("file")),
                  int(obj.props.get("line") or 0))
    except FatalError as fatal:
        it.silence = 0
        it.out_size = 0
        it.report(fatal.kind, fatal.message, fatal.file, fatal.line)
    except RecursionError:
        it.silence = 0
        it.report(E_ERROR, "Maximum call stack size of 8339456 bytes reached. Infinite recursion?")
