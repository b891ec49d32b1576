"""What a container runs: its image's ENTRYPOINT and CMD, as the pod's command and args change them.

Kubernetes' rule (the Pod API's ``command``/``args``): ``command`` replaces the image's
ENTRYPOINT and drops its CMD; ``args`` alone replaces CMD after the ENTRYPOINT. The official
images' entrypoint scripts (``docker-entrypoint.sh``...) then run their arguments, putting the
server's name first when the first argument is an option (``mysql --port=3307`` runs mysqld).

The result, :class:`MainProcess`, is one of:

- ``server``: the image's server (nginx, mysqld, whoami...) with the ports its arguments or
  its configuration file say, simulated as a process that keeps running;
- ``run``: a program the sandbox runs over time in its sh (a shell image's command, ``sh -c``
  in any image with a shell, curl in curlimages/curl);
- ``exit``: a process that ends at once, saying what the real one says (a REPL with no input,
  http-echo without ``-text``, a program the sandbox does not run);
- ``missing``: a program the image does not have (the runtime refuses to start it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from labrunner.sandbox.images import SHELL_APPLETS, Image, lookup

WRAPPERS = frozenset({"docker-entrypoint.sh", "docker-php-entrypoint", "entrypoint.sh", "entrypoint", "tini", "dumb-init"})
"""Entrypoint scripts that run their arguments (and the image's server when given only options)."""


@dataclass(frozen=True)
class MainProcess:
    kind: Literal["server", "run", "exit", "missing", "attached"]
    image: Image
    argv: tuple[str, ...]
    ports: tuple[tuple[str, int], ...] = ()
    exit_code: int = 0
    output: tuple[str, ...] = ()
    """What an ``exit`` process prints (its stderr) before it ends."""
    options: Mapping[str, str] = field(default_factory=dict)
    """What the server was told: http-echo's text, agnhost's subcommand, a docroot."""

    @property
    def program(self) -> str:
        return basename(self.argv[0]) if self.argv else ""


def basename(word: str) -> str:
    return word.rsplit("/", 1)[-1]


def effective_argv(container: Mapping[str, Any], image: Image) -> list[str]:
    command = [str(word) for word in container.get("command") or []]
    args = [str(word) for word in container.get("args") or []]
    if command:
        return command + args
    return list(image.entrypoint) + (args or list(image.cmd))


def _unwrap(argv: list[str], image: Image) -> list[str]:
    while argv and basename(argv[0]) in WRAPPERS:
        argv = argv[1:]
        if argv[:1] == ["--"]:  # dumb-init's and tini's end of options
            argv = argv[1:]
        if argv and argv[0].startswith("-") and image.cmd:
            argv = [image.cmd[0], *argv]
    return argv


def main_process(container: Mapping[str, Any], read: Callable[[str], bytes | None] | None = None,
                 names: Callable[[], list[str]] | None = None) -> MainProcess | None:
    """What ``container`` runs, or None when its image cannot be pulled. ``read``/``names``
    give the container's files (a mounted nginx configuration decides its ports)."""
    image = lookup(str(container.get("image", "")))
    if image is None:
        return None
    if container.get("stdin"):
        return MainProcess("attached", image, tuple(effective_argv(container, image)))
    argv = _unwrap(effective_argv(container, image), image)
    if not argv:
        return MainProcess("exit", image, ())
    program = basename(argv[0])
    environment = {str(v.get("name")): str(v.get("value", "")) for v in container.get("env") or [] if "value" in v}
    if program in image.servers:
        return _server(image, argv, environment, read, names, container)
    if program in ("python", "python3") and "python" in image.programs:
        return _python(image, argv, container)
    if program in ("php",) and image.kin == "php" and argv[1:] in ([], ["-a"]):
        return MainProcess("exit", image, tuple(argv), output=("Interactive shell", ""))
    if program in image.unsimulated:
        return MainProcess("exit", image, tuple(argv), exit_code=1, output=(
            f"labrunner sandbox: {program} is in the {image.name} image, but the sandbox does not run it "
            "(see docs/architecture.md, what the sandbox runs)",))
    if image.shell and (program in SHELL_APPLETS or program in image.programs or program in image.shells):
        return MainProcess("run", image, tuple(argv))
    if program in image.programs:
        return MainProcess("run", image, tuple(argv))
    return MainProcess("missing", image, tuple(argv), exit_code=128)


def start_error(program: str) -> str:
    """containerd's words when the process cannot be started."""
    return ("failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: "
            f'unable to start container process: exec: "{program}": executable file not found in $PATH: unknown')


def _flags(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    """Go-style and GNU-style flags: ``-name=v``, ``--name=v``, ``-name v``, ``--name v`` (a
    value that starts with ``-`` is another flag); positional words after."""
    found: dict[str, str] = {}
    rest: list[str] = []
    index = 0
    while index < len(argv):
        word = argv[index]
        if word.startswith("-") and len(word) > 1:
            name, equals, value = word.lstrip("-").partition("=")
            if not equals:
                following = argv[index + 1] if index + 1 < len(argv) else None
                if following is not None and not following.startswith("-"):
                    value = following
                    index += 1
                else:
                    value = "true"
            found[name] = value
        else:
            rest.append(word)
        index += 1
    return found, rest


def _port(value: str | None, default: int) -> int:
    """``:8080``, ``0.0.0.0:8080`` or ``8080``."""
    if not value:
        return default
    match = re.search(r"(\d+)$", value)
    return int(match.group(1)) if match else default


def _server(image: Image, argv: list[str], environment: Mapping[str, str], read: Callable[[str], bytes | None] | None,
            names: Callable[[], list[str]] | None, container: Mapping[str, Any]) -> MainProcess:
    flags, rest = _flags(argv[1:])
    ports = image.ports
    options: dict[str, str] = {}
    if image.does == "http-echo":
        text = flags.get("text") or environment.get("ECHO_TEXT", "")
        if not text:
            return MainProcess("exit", image, tuple(argv), exit_code=127, output=("Missing -text option OR ENV var TEXT is empty!",))
        if rest:
            return MainProcess("exit", image, tuple(argv), exit_code=127, output=("Too many arguments!",))
        ports = (("TCP", _port(flags.get("listen"), 5678)),)
        options = {"text": text, "status": flags.get("status-code", "200")}
    elif image.does == "whoami":
        ports = (("TCP", _port(flags.get("port") or environment.get("WHOAMI_PORT_NUMBER"), 80)),)
        options = {"name": flags.get("name") or environment.get("WHOAMI_NAME", "")}
    elif image.does == "agnhost":
        return _agnhost(image, argv, flags, rest)
    elif image.does == "redis" and "port" in flags:
        ports = (("TCP", _port(flags["port"], 6379)),)
    elif image.does == "mysql" and "port" in flags:
        ports = (("TCP", _port(flags["port"], 3306)),)
    elif image.does == "ingress-nginx":
        from labrunner.sandbox.l7.ingress.controller import listening_ports

        ports, options = listening_ports(flags), dict(flags)
    elif image.does == "gateway-nginx":
        from labrunner.sandbox.l7.gateway.controller import data_plane_ports

        ports = data_plane_ports()
    elif image.does == "gateway-controller":
        from labrunner.sandbox.l7.gateway.controller import control_plane_process

        return control_plane_process(image, argv, flags, rest)
    elif image.kin == "nginx" and read is not None and names is not None:
        ports, docroot = _nginx(read, names, image)
        options = {"docroot": docroot}
    return MainProcess("server", image, tuple(argv), ports, options=options)


def _nginx(read: Callable[[str], bytes | None], names: Callable[[], list[str]], image: Image) -> tuple[tuple[tuple[str, int], ...], str]:
    """nginx's ports and root from its configuration: nginx.conf when one is mounted over the
    image's, else the files it includes from conf.d (the image's default.conf listens on 80)."""
    main = read("/etc/nginx/nginx.conf")
    texts = [main.decode(errors="replace")] if main is not None else []
    if main is None or "conf.d/" in texts[0]:
        texts += [(read(name) or b"").decode(errors="replace") for name in sorted(names()) if
                  name.startswith("/etc/nginx/conf.d/") and name.endswith(".conf")]
    text = "\n".join(re.sub(r"#[^\n]*", "", part) for part in texts)
    ports = sorted({int(port) for port in re.findall(r"\blisten\s+(?:[\w.*]+:|\[[^\]]*\]:)?(\d+)", text)})
    roots = re.findall(r"\broot\s+([^;\s]+)\s*;", text)
    return tuple(("TCP", port) for port in ports), roots[0] if roots else (image.docroot or "/usr/share/nginx/html")


AGNHOST_COMMANDS = {"netexec": 8080, "serve-hostname": 9376, "pause": 0, "liveness": 8080, "test-webserver": 80,
                    "porter": 0, "fake-gitserver": 8000}


def _agnhost(image: Image, argv: list[str], flags: dict[str, str], rest: list[str]) -> MainProcess:
    if not rest:
        return MainProcess("exit", image, tuple(argv), output=(
            "agnhost is a test image. Its subcommands are what it does (agnhost netexec --http-port=8080).", "",
            "Usage:", "  agnhost [command]"))
    command = rest[0]
    if command not in AGNHOST_COMMANDS:
        if command in ("dns-suffix", "dns-server-list", "etc-hosts", "nettest", "resource-consumer", "webhook", "mounttest",
                       "entrypoint-tester", "crd-conversion-webhook", "inclusterclient", "logs-generator", "connect"):
            return MainProcess("exit", image, tuple(argv), exit_code=1, output=(
                f"labrunner sandbox: agnhost {command} is not simulated (the sandbox runs netexec, serve-hostname, pause, "
                "liveness, test-webserver)",))
        return MainProcess("exit", image, tuple(argv), exit_code=1,
                           output=(f'Error: unknown command "{command}" for "agnhost"', "Run 'agnhost --help' for usage."))
    default = AGNHOST_COMMANDS[command]
    port = _port(flags.get("http-port") or flags.get("port"), default) if default else 0
    ports: tuple[tuple[str, int], ...] = (("TCP", port),) if port else ()
    if command == "netexec":
        ports += (("UDP", _port(flags.get("udp-port"), 8081)),)
    return MainProcess("server", image, tuple(argv), ports, options={"command": command})


def _python(image: Image, argv: list[str], container: Mapping[str, Any]) -> MainProcess:
    rest = argv[1:]
    if not rest:
        return MainProcess("exit", image, tuple(argv))  # the REPL, with no terminal and no input, ends at once
    if rest[:2] == ["-m", "http.server"]:
        flags, positional = _flags(rest[2:])
        port = int(positional[0]) if positional and positional[0].isdigit() else 8000
        docroot = flags.get("directory") or flags.get("d") or str(container.get("workingDir") or "/")
        return MainProcess("server", replace(image, does="static-web"), tuple(argv), (("TCP", port),),
                           options={"docroot": docroot, "server": "python"})
    return MainProcess("exit", image, tuple(argv), exit_code=1, output=(
        f"labrunner sandbox: the sandbox does not run Python programs ({' '.join(argv)}); of Python it runs "
        "python3 -m http.server only",))
