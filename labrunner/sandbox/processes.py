"""Commands run inside simulated containers (``kubectl exec``).

A small, honest command set: the sandbox's sh (:mod:`labrunner.sandbox.sh`) over a
handful of applets every image has (echo, cat, env, hostname, ls, ...),
each with the exit codes and error texts the real tools print. What a container
does not have fails as the container runtime reports it. The mysql client lives in
``mysql.py``, busybox's network applets in ``applets.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labrunner.sandbox import coreutils, images
from labrunner.sandbox.pipes import STDIN_READERS, Stream


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
    files: MutableMapping[str, bytes] = field(default_factory=dict)
    data_dir: Path | None = None
    """Where this pod's simulated programs keep data (a MySQL server's databases)."""
    pod_object: dict[str, Any] | None = None
    network: Any = None
    """The sandbox's :class:`~labrunner.sandbox.network.Network`, for wget, nslookup and nc."""
    data_root: Path | None = None
    last_status: int = 0
    """``$?``: the status of the last command this container's shell ran."""
    sink: Callable[[int, bytes], None] | None = None
    """A running container's output, as it is written (fd 1 or 2); None: collected into the Result."""
    main_argv: tuple[str, ...] = ()
    """What the container's main process runs (``ps`` shows it as PID 1)."""
    sleeper: Callable[[float], None] | None = None
    """Waits out a running container's ``sleep`` for real (scaled); raises :class:`Stopped` when the
    container is being stopped. None: a pause is the Result's ``delay`` (exec, probes)."""


class Stopped(Exception):
    """The container is being stopped (its pod deleted, the sandbox shutting down): SIGTERM."""


class NotFoundInPath(Exception):
    """The program does not exist in the container; the runtime refuses to start it."""

    def __init__(self, program: str) -> None:
        super().__init__(program)
        self.program = program


def container_files(container: Container, pod_ip: str) -> dict[str, bytes]:
    """The files a new container has: what the kubelet writes into every one, and its image's
    own (a web server's welcome page in its docroot)."""
    return {
        "/etc/hostname": f"{container.pod}\n".encode(),
        "/etc/hosts": f"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n{pod_ip}\t{container.pod}\n".encode(),
        "/etc/resolv.conf": f"search {container.namespace}.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n".encode(),
        "/etc/os-release": b'NAME="labrunner sandbox (simulated)"\nID=labrunner\n',
        **images.image_files(container.image),
    }


APPLETS = images.SHELL_APPLETS | {"bash", "dash", "ash", "zsh"}


def run(argv: list[str], stdin: bytes | Stream, container: Container) -> Result:
    """Run ``argv`` in ``container``; raises :class:`NotFoundInPath` for unknown programs.
    ``stdin`` is the input, or a :class:`Stream` of it arriving over time (``exec -i``)."""
    if not argv:
        return Result(stderr=b"no command given\n", exit_code=1)
    program = argv[0].rsplit("/", 1)[-1]
    streamed = stdin if isinstance(stdin, Stream) else None
    given = stdin if isinstance(stdin, bytes) else b""
    if streamed is not None and not (program in ("sh", "bash", "dash", "ash", "zsh") and argv[1:2] == ["-c"]):
        if program == "cat" and argv[1:] in ([], ["-"]) and container.sink is not None:
            while (chunk := streamed.read_chunk()) is not None:
                container.sink(1, chunk)
            return Result()
        given = streamed.read_all() if program in STDIN_READERS else b""
    image = images.lookup(container.image)
    has = (lambda name: False) if image is None else (
        lambda name: name in image.programs or (image.shell and (name in images.SHELL_APPLETS or name in image.shells)))
    if program in ("mysqladmin", "mysql", "mariadb", "mariadb-admin") and has(program):
        if program.endswith("admin"):
            return _mysqladmin(argv[1:])
        if container.data_dir is not None:
            from labrunner.sandbox.mysql import run_client

            stdout, stderr, code = run_client(argv[1:], given, container.env, container.data_dir)
            return Result(stdout, stderr, code)
    if program == "redis-cli" and has(program):
        from labrunner.sandbox import redis

        stdout, stderr, code = redis.run_client(argv[1:], given, container)
        return Result(stdout, stderr, code)
    if program == "curl" and has("curl") and container.network is not None and container.pod_object is not None:
        from labrunner.sandbox import applets

        outcome = applets.curl(argv[1:], container.pod_object, container.network, container.data_root or Path("."))
        return Result(outcome.stdout.encode(), outcome.stderr.encode(), outcome.exit_code, outcome.delay)
    if program in images.BUSYBOX_NETWORK and has(program) and container.network is not None and container.pod_object is not None:
        from labrunner.sandbox import applets

        if program == "wget":
            outcome = applets.wget(argv[1:], container.pod_object, container.network, container.data_root or Path("."), container.files)
        elif program == "nslookup":
            outcome = applets.nslookup(argv[1:], container.pod_object, container.network)
        elif program == "ping":
            outcome = applets.ping(argv[1:], container.pod_object, container.network)
        else:
            outcome = applets.nc(argv[1:], container.pod_object, container.network)
        return Result(outcome.stdout.encode(), outcome.stderr.encode(), outcome.exit_code, outcome.delay)
    if image is not None and program in image.unsimulated:
        return Result(stderr=f"labrunner sandbox: {program} is in the {image.name} image, but the sandbox does not run it\n".encode(),
                      exit_code=126)
    if not has(program) or program not in APPLETS | coreutils.BUSYBOX_ONLY or program == "exit":
        raise NotFoundInPath(argv[0])
    if program in ("sh", "bash", "dash", "ash", "zsh"):
        if len(argv) >= 3 and argv[1] == "-c":
            return _shell(argv[2], streamed if streamed is not None else given, container)
        # Without -c, sh reads its script from stdin (``echo ls | kubectl exec -i POD -- sh``); with
        # nothing on stdin it has nothing to run and exits 0, as a real shell at end of input does.
        return _shell(given.decode(errors="replace"), b"", container)
    if program in coreutils.PROGRAMS or program in coreutils.BUSYBOX_ONLY:
        return Result(*coreutils.run(program, argv[1:], given, container))
    return _applet(program, argv[1:], given, container)


def _mysqladmin(args: list[str]) -> Result:
    """``mysqladmin ping`` (the mysql image's usual readiness probe) and ``version``; the server
    answers as soon as the container runs. Other commands are the mysql client's to do here."""
    from labrunner.sandbox.mysql import VERSION

    commands = [a for a in args if not a.startswith("-")]
    # an option's separate value (-h 127.0.0.1, -u root) is not a command
    for flag in ("-h", "-u", "-P", "-S"):
        if flag in args and args.index(flag) + 1 < len(args) and args[args.index(flag) + 1] in commands:
            commands.remove(args[args.index(flag) + 1])
    if not commands:
        return Result(stderr=b"mysqladmin: no command given (ping, version, ...)\n", exit_code=1)
    if commands[0] == "ping":
        return Result(stdout=b"" if "--silent" in args or "-s" in args else b"mysqld is alive\n")
    if commands[0] == "version":
        return Result(stdout=f"mysqladmin  Ver {VERSION} for Linux on x86_64\nServer version\t\t{VERSION}\n".encode())
    return Result(stderr=f"mysqladmin: the labrunner sandbox's mysqladmin answers ping and version; {commands[0]} is the mysql "
                         "client's to do here (mysql -e ...)\n".encode(), exit_code=1)


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
    if program in ("id", "whoami"):
        return Result(stdout=b"uid=0(root) gid=0(root) groups=0(root)\n" if program == "id" else b"root\n")
    if program == "sleep":  # the output comes after the pause, as the exec's does
        from labrunner.sandbox.sh.builtins import _sleep
        from labrunner.sandbox.sh.flow import Output

        paused = Output()
        code = _sleep(args, paused)
        return Result(stderr=bytes(paused.stderr), exit_code=code, delay=paused.delay)
    if program == "date":
        import datetime

        moment = datetime.datetime.now(datetime.timezone.utc)
        shape = next((a[1:] for a in args if a.startswith("+")), "%a %b %d %H:%M:%S UTC %Y")
        return Result(stdout=(moment.strftime(shape.replace("%s", str(int(moment.timestamp())))) + "\n").encode())
    if program == "grep":
        flags = [a for a in args if a.startswith("-")]
        operands = [a for a in args if not a.startswith("-")]
        if not operands:
            return Result(stderr=b"Usage: grep [-ivc] PATTERN [FILE]...\n", exit_code=2)
        pattern = operands[0]
        data = b"".join(file_of(container, path) or b"" for path in operands[1:]) if len(operands) > 1 else stdin
        letters = "".join(flag[1:] for flag in flags if not flag.startswith("--"))
        ignore, invert, count_only, fixed = "i" in letters, "v" in letters, "c" in letters, "F" in letters
        search = _grep_matcher(pattern, ignore=ignore, fixed=fixed, extended="E" in letters)
        matched = [line for line in data.decode(errors="replace").splitlines() if bool(search(line)) != invert]
        output = f"{len(matched)}\n" if count_only else "".join(line + "\n" for line in matched)
        return Result(stdout=output.encode(), exit_code=0 if matched else 1)
    if program == "wc":
        operands = [a for a in args if not a.startswith("-")]
        counted = stdin if not operands else file_of(container, operands[0])
        if counted is None:
            return Result(stderr=f"wc: {operands[0]}: No such file or directory\n".encode(), exit_code=1)
        text = counted.decode(errors="replace")
        name = f" {operands[0]}" if operands else ""
        counts = {"l": text.count("\n"), "w": len(text.split()), "c": len(counted)}
        asked = [letter for letter in "lwc" if any(letter in a[1:] for a in args if a.startswith("-"))] or ["l", "w", "c"]
        if len(asked) == 1:
            return Result(stdout=f"{counts[asked[0]]}{name}\n".encode())
        return Result(stdout=(" ".join(f"{counts[letter]:>9}" for letter in asked) + f"{name}\n").encode())
    if program in ("head", "tail"):
        count, operands, skip = 10, [], False
        for index, argument in enumerate(args):
            if skip:
                skip = False
            elif argument == "-n" and index + 1 < len(args) and args[index + 1].isdigit():
                count, skip = int(args[index + 1]), True
            elif argument.startswith("-n") and argument[2:].isdigit():
                count = int(argument[2:])
            elif argument.startswith("-") and argument[1:].isdigit():
                count = int(argument[1:])
            elif not argument.startswith("-"):
                operands.append(argument)
        source = stdin if not operands else file_of(container, operands[0])
        if source is None:
            return Result(stderr=f"{program}: can't open '{operands[0]}': No such file or directory\n".encode(), exit_code=1)
        lines = source.decode(errors="replace").splitlines(keepends=True)
        chosen = lines[:count] if program == "head" else lines[-count:] if count else []
        return Result(stdout="".join(chosen).encode())
    if program == "uname":
        return Result(stdout=b"Linux\n" if "-a" not in args else f"Linux {container.pod} 6.1.0-labrunner #1 SMP x86_64 GNU/Linux\n".encode())
    raise NotFoundInPath(program)


def _grep_matcher(pattern: str, *, ignore: bool, fixed: bool, extended: bool) -> Any:
    """grep's test of a line: a regular expression (basic, or extended with -E), or fixed text
    with -F. Basic expressions are read as Python's where they agree (., *, ^, $, [...]),
    with \\( \\) \\{ \\} \\| as groups, counts and alternation, as GNU and busybox grep read them."""
    import re

    if not fixed:
        source = pattern
        if not extended:
            source = re.sub(r"\\([(){}|+?])|([(){}|+?])", lambda m: m.group(1) or "\\" + m.group(2), pattern)
        try:
            compiled = re.compile(source, re.IGNORECASE if ignore else 0)
            return compiled.search
        except re.error:
            pass
    needle = pattern.lower() if ignore else pattern
    return lambda line: needle in (line.lower() if ignore else line)


def file_of(container: Container, path: str) -> bytes | None:
    """A file's content in the container, a relative path read from the working folder (/)."""
    return container.files.get(path if path.startswith("/") else "/" + path.removeprefix("./"))


def _shell(script: str, stdin: bytes | Stream, container: Container) -> Result:
    """``sh -c SCRIPT`` (or a script on stdin): the sandbox's sh (:mod:`labrunner.sandbox.sh`)."""
    from labrunner.sandbox.sh import Shell

    stdout, stderr, code, delay, _ = Shell(container, run).run(script, stdin)
    return Result(stdout, stderr, code, delay)
