"""Commands run inside simulated containers (``kubectl exec``).

A small, honest command set: a POSIX-ish ``sh -c`` with ``;``, ``&&`` and ``||``
over a handful of applets every image has (echo, cat, env, hostname, ls, ...),
each with the exit codes and error texts the real tools print. What a container
does not have fails as the container runtime reports it. The mysql client lives in
``mysql.py``, busybox's network applets in ``applets.py``.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labrunner.sandbox import images


@dataclass
class Result:
    stdout: bytes = b""
    stderr: bytes = b""
    exit_code: int = 0
    delay: float = 0.0
    """Seconds the command takes (a connection timing out), waited before its output is sent."""


@dataclass
class Container:
    pod: str
    namespace: str
    name: str
    image: str
    env: Mapping[str, str]
    files: dict[str, bytes] = field(default_factory=dict)
    data_dir: Path | None = None
    """Where this pod's simulated programs keep data (a MySQL server's databases)."""
    pod_object: dict[str, Any] | None = None
    network: Any = None
    """The sandbox's :class:`~labrunner.sandbox.network.Network`, for wget, nslookup and nc."""
    data_root: Path | None = None
    last_status: int = 0
    """``$?``: the status of the last command this container's shell ran."""


class NotFoundInPath(Exception):
    """The program does not exist in the container; the runtime refuses to start it."""

    def __init__(self, program: str) -> None:
        super().__init__(program)
        self.program = program


def container_files(container: Container, pod_ip: str) -> dict[str, bytes]:
    return {
        "/etc/hostname": f"{container.pod}\n".encode(),
        "/etc/hosts": f"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n{pod_ip}\t{container.pod}\n".encode(),
        "/etc/resolv.conf": f"search {container.namespace}.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n".encode(),
        "/etc/os-release": b'NAME="labrunner sandbox (simulated)"\nID=labrunner\n',
    }


APPLETS = ("echo", "cat", "env", "printenv", "hostname", "true", "false", "pwd", "ls", "id", "whoami", "sh", "exit", "sleep", "date",
           "uname", "grep", "wc", "head", "tail")


def run(argv: list[str], stdin: bytes, container: Container) -> Result:
    """Run ``argv`` in ``container``; raises :class:`NotFoundInPath` for unknown programs."""
    if not argv:
        return Result(stderr=b"no command given\n", exit_code=1)
    program = argv[0].rsplit("/", 1)[-1]
    if program == "mysql" and images.repository(container.image) in ("mysql", "mariadb") and container.data_dir is not None:
        from labrunner.sandbox.mysql import run_client

        stdout, stderr, code = run_client(argv[1:], stdin, container.env, container.data_dir)
        return Result(stdout, stderr, code)
    if program == "curl" and container.network is not None and container.pod_object is not None:
        from labrunner.sandbox import applets

        if images.repository(container.image) in applets.CURL_IMAGES:
            outcome = applets.curl(argv[1:], container.pod_object, container.network, container.data_root or Path("."))
            return Result(outcome.stdout.encode(), outcome.stderr.encode(), outcome.exit_code, outcome.delay)
    if program in ("wget", "nslookup", "nc", "ping") and container.network is not None and container.pod_object is not None:
        from labrunner.sandbox import applets

        if images.repository(container.image) in applets.NETWORK_IMAGES:
            if program == "wget":
                outcome = applets.wget(argv[1:], container.pod_object, container.network, container.data_root or Path("."), container.files)
            elif program == "nslookup":
                outcome = applets.nslookup(argv[1:], container.pod_object, container.network)
            elif program == "ping":
                outcome = applets.ping(argv[1:], container.pod_object, container.network)
            else:
                outcome = applets.nc(argv[1:], container.pod_object, container.network)
            return Result(outcome.stdout.encode(), outcome.stderr.encode(), outcome.exit_code, outcome.delay)
    if program not in APPLETS or program == "exit":
        raise NotFoundInPath(argv[0])
    if program == "sh":
        if len(argv) >= 3 and argv[1] == "-c":
            return _shell(argv[2], stdin, container)
        # Without -c, sh reads its script from stdin (``echo ls | kubectl exec -i POD -- sh``); with
        # nothing on stdin it has nothing to run and exits 0, as a real shell at end of input does.
        return _shell((stdin or b"").decode(errors="replace"), b"", container)
    return _applet(program, argv[1:], stdin, container)


def _applet(program: str, args: list[str], stdin: bytes, container: Container) -> Result:
    if program == "echo":
        newline = not (args[:1] == ["-n"])
        text = " ".join(args[1:] if not newline else args)
        return Result(stdout=(text + ("\n" if newline else "")).encode())
    if program == "cat":
        if not args or args == ["-"]:
            return Result(stdout=stdin)
        out, err, code = b"", b"", 0
        for path in args:
            content = file_of(container, path)
            if content is not None:
                out += content
            else:
                err += f"cat: {path}: No such file or directory\n".encode()
                code = 1
        return Result(out, err, code)
    if program in ("env", "printenv"):
        if program == "printenv" and args:
            values = [container.env[name] for name in args if name in container.env]
            return Result(stdout="".join(v + "\n" for v in values).encode(), exit_code=0 if len(values) == len(args) else 1)
        return Result(stdout="".join(f"{k}={v}\n" for k, v in sorted(container.env.items())).encode())
    if program == "hostname":
        return Result(stdout=f"{container.pod}\n".encode())
    if program == "true":
        return Result()
    if program == "false":
        return Result(exit_code=1)
    if program == "pwd":
        return Result(stdout=b"/\n")
    if program == "ls":
        if args and args[-1] == "/etc":
            return Result(stdout=b"hostname\nhosts\nos-release\nresolv.conf\n")
        return Result(stdout=b"bin\ndev\netc\nhome\nproc\nroot\nsys\ntmp\nusr\nvar\n")
    if program in ("id", "whoami"):
        return Result(stdout=b"uid=0(root) gid=0(root) groups=0(root)\n" if program == "id" else b"root\n")
    if program == "sleep":
        return Result()  # time does not pass for simulated processes
    if program == "date":
        import datetime

        return Result(stdout=datetime.datetime.now(datetime.timezone.utc).strftime("%a %b %d %H:%M:%S UTC %Y\n").encode())
    if program == "grep":
        flags = [a for a in args if a.startswith("-")]
        operands = [a for a in args if not a.startswith("-")]
        if not operands:
            return Result(stderr=b"Usage: grep [-ivc] PATTERN [FILE]...\n", exit_code=2)
        pattern = operands[0]
        data = b"".join(file_of(container, path) or b"" for path in operands[1:]) if len(operands) > 1 else stdin
        ignore, invert, count_only = "-i" in flags, "-v" in flags, "-c" in flags
        matched = [line for line in data.decode(errors="replace").splitlines()
                   if ((pattern.lower() in line.lower()) if ignore else (pattern in line)) != invert]
        output = f"{len(matched)}\n" if count_only else "".join(line + "\n" for line in matched)
        return Result(stdout=output.encode(), exit_code=0 if matched else 1)
    if program == "wc":
        operands = [a for a in args if not a.startswith("-")]
        counted = stdin if not operands else file_of(container, operands[0])
        if counted is None:
            return Result(stderr=f"wc: {operands[0]}: No such file or directory\n".encode(), exit_code=1)
        text = counted.decode(errors="replace")
        name = f" {operands[0]}" if operands else ""
        if "-l" in args:
            return Result(stdout=f"{text.count(chr(10))}{name}\n".encode())
        return Result(stdout=f"{text.count(chr(10)):>7} {len(text.split()):>7} {len(counted):>7}{name}\n".encode())
    if program in ("head", "tail"):
        count = 10
        for index, argument in enumerate(args):
            if argument == "-n" and index + 1 < len(args) and args[index + 1].isdigit():
                count = int(args[index + 1])
            elif argument.startswith("-") and argument[1:].isdigit():
                count = int(argument[1:])
        lines = stdin.decode(errors="replace").splitlines(keepends=True)
        chosen = lines[:count] if program == "head" else lines[-count:] if count else []
        return Result(stdout="".join(chosen).encode())
    if program == "uname":
        return Result(stdout=b"Linux\n" if "-a" not in args else f"Linux {container.pod} 6.1.0-labrunner #1 SMP x86_64 GNU/Linux\n".encode())
    raise NotFoundInPath(program)


def file_of(container: Container, path: str) -> bytes | None:
    """A file's content in the container, a relative path read from the working folder (/)."""
    return container.files.get(path if path.startswith("/") else "/" + path.removeprefix("./"))


STATUS_MARK = "\x00status\x00"
"""Stands for ``$?`` until the command runs: its value is only known then."""


def expand(script: str, environment: Mapping[str, str]) -> str:
    """``$NAME`` and ``${NAME}`` replaced outside single quotes, as sh does."""
    import re

    out, quoted, index = [], False, 0
    while index < len(script):
        char = script[index]
        if char == "'":
            quoted = not quoted
        if char == "$" and not quoted and script.startswith("$?", index):
            out.append(STATUS_MARK)
            index += 2
            continue
        if char == "$" and not quoted:
            match = re.match(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))", script[index:])
            if match:
                out.append(environment.get(match.group(1) or match.group(2), ""))
                index += match.end()
                continue
        out.append(char)
        index += 1
    return "".join(out)


def _pipeline(command: list[str], stdin: bytes, container: Container) -> Result:
    """``a | b | c``: each command's stdout is the next one's stdin; the last one's status counts."""
    stages: list[list[str]] = [[]]
    for word in command:
        if word == "|":
            stages.append([])
        else:
            stages[-1].append(word)
    result = Result()
    data = stdin
    for stage in stages:
        if not stage:
            return Result(stderr=b"sh: syntax error: unexpected \"|\"\n", exit_code=2)
        try:
            step = run(stage, data, container)
        except NotFoundInPath as missing:
            step = Result(stderr=f"sh: {missing.program}: not found\n".encode(), exit_code=127)
        result.stderr += step.stderr
        result.delay += step.delay
        data = step.stdout
        result.exit_code = step.exit_code
    result.stdout = data
    return result


def _shell(script: str, stdin: bytes, container: Container) -> Result:
    """``sh -c``: commands separated by ``;``, ``&&`` and ``||``, with ``exit N`` and ``$VARIABLES``."""
    script = expand(script, container.env)
    try:
        lexer = shlex.shlex(script, posix=True, punctuation_chars=";&|")
        lexer.whitespace_split = True
        tokens = list(lexer)
    except ValueError as error:
        return Result(stderr=f"sh: syntax error: {error}\n".encode(), exit_code=2)
    result = Result()
    command: list[str] = []
    pending = ";"
    status = container.last_status
    for token in [*tokens, ";"]:
        if token not in (";", "&&", "||"):
            command.append(token)  # "|" stays inside the command: a pipeline
            continue
        if command:
            command = [word.replace(STATUS_MARK, str(status)) for word in command]
            should_run = pending == ";" or (pending == "&&" and status == 0) or (pending == "||" and status != 0)
            if should_run:
                if command[0] == "exec" and len(command) > 1:
                    command = command[1:]  # the process replaces the shell; its status ends it
                    try:
                        step = run(command, stdin, container)
                    except NotFoundInPath as missing:
                        step = Result(stderr=f"sh: exec: line 1: {missing.program}: not found\n".encode(), exit_code=127)
                    result.stdout += step.stdout
                    result.stderr += step.stderr
                    result.exit_code = step.exit_code
                    result.delay += step.delay
                    return result
                if command[0] == "exit":
                    code = int(command[1]) if len(command) > 1 and command[1].lstrip("-").isdigit() else status
                    result.exit_code = code % 256
                    return result
                step = _pipeline(command, stdin, container)
                stdin = b""  # only the first command reads the exec's stdin
                result.stdout += step.stdout
                result.stderr += step.stderr
                result.delay += step.delay
                status = step.exit_code
                container.last_status = status
        command = []
        pending = token
    result.exit_code = status
    return result
