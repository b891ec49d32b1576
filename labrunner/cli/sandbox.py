"""``labrunner sandbox``: the built-in cluster's lifecycle.

    start    start it in the background (if needed) and print the export line
    env      print ``export KUBECONFIG=...`` for your shell: eval "$(labrunner sandbox env)"
    status   running or not, port, uptime (--json)
    stop     stop it
    logs     its log (-n lines)

stdout carries only what a shell should run or a script should read.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from typing import TYPE_CHECKING, Any

from labrunner.cli.diagnostics import CliError, ExitCode

if TYPE_CHECKING:
    from labrunner.sandbox.files import SandboxFiles


def add_commands(commands: Any, lazy: Any) -> None:
    sandbox = commands.add_parser(
        "sandbox", help="the built-in sandbox cluster: start, env, status, stop, logs",
        description="A local API server that kubectl and the kubernetes client talk to, on 127.0.0.1 only. "
        "Its kubeconfig lives in labrunner's state folder; ~/.kube/config is never touched.",
    )
    sub = sandbox.add_subparsers(dest="sandbox_command", metavar="COMMAND", required=True)
    sub.add_parser("start", help="start the sandbox in the background and print the export line").set_defaults(handler=lazy("labrunner.cli.sandbox", "start"))
    sub.add_parser("env", help='print the export line: eval "$(labrunner sandbox env)"').set_defaults(handler=lazy("labrunner.cli.sandbox", "env"))
    status = sub.add_parser("status", help="whether it runs, where, and for how long")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=lazy("labrunner.cli.sandbox", "status"))
    sub.add_parser("stop", help="stop the sandbox").set_defaults(handler=lazy("labrunner.cli.sandbox", "stop"))
    sub.add_parser("reset", help="empty the sandbox: every object goes (its kubeconfig stays valid)").set_defaults(
        handler=lazy("labrunner.cli.sandbox", "reset"))
    logs = sub.add_parser("logs", help="print the sandbox's log")
    logs.add_argument("-n", "--lines", type=int, default=50, help="how many of the last lines (default 50)")
    logs.set_defaults(handler=lazy("labrunner.cli.sandbox", "logs"))


def _files() -> SandboxFiles:
    from labrunner.sandbox.files import SandboxFiles

    return SandboxFiles.default()


def _export_line(files: Any) -> str:
    return f"export KUBECONFIG={shlex.quote(str(files.kubeconfig))}"


def start(arguments: argparse.Namespace) -> int:
    from labrunner.sandbox.control import SandboxError
    from labrunner.sandbox.control import start as start_sandbox

    files = _files()
    try:
        info, started = start_sandbox(files)
    except SandboxError as failure:
        raise CliError(str(failure), ExitCode.UNAVAILABLE, hint="labrunner sandbox logs shows the whole log") from None
    verb = "started" if started else "already running"
    print(f"labrunner: sandbox {verb} at {info.server} (pid {info.pid}); point kubectl at it with:", file=sys.stderr)
    print(_export_line(files))
    return ExitCode.OK


def env(arguments: argparse.Namespace) -> int:
    from labrunner.sandbox.control import running

    files = _files()
    if running(files) is None:
        raise CliError("the sandbox is not running", ExitCode.UNAVAILABLE, hint="start it with: labrunner sandbox start")
    print(_export_line(files))
    return ExitCode.OK


def status(arguments: argparse.Namespace) -> int:
    from labrunner.sandbox.control import object_counts, running

    files = _files()
    info = running(files)
    counts = object_counts(files)
    report: dict[str, Any] = {"running": info is not None, "kubeconfig": str(files.kubeconfig), "folder": str(files.folder), "objects": counts}
    if info is not None:
        report.update(pid=info.pid, port=info.port, server=info.server, uptime_seconds=round(info.uptime, 1))
    if arguments.json:
        json.dump(report, sys.stdout, indent=2)
        print()
    elif info is None:
        print("sandbox: not running (start it with: labrunner sandbox start)")
    else:
        print(f"sandbox: running at {info.server}, pid {info.pid}, up {_duration(info.uptime)}")
        print(f"kubeconfig: {files.kubeconfig}")
        if counts:
            print("objects: " + ", ".join(f"{count} {resource}" for resource, count in counts.items()))
    return ExitCode.OK if info is not None else ExitCode.UNAVAILABLE


def stop(arguments: argparse.Namespace) -> int:
    from labrunner.sandbox.control import SandboxError
    from labrunner.sandbox.control import stop as stop_sandbox

    try:
        stopped = stop_sandbox(_files())
    except SandboxError as failure:
        raise CliError(str(failure), ExitCode.UNAVAILABLE) from None
    print("labrunner: sandbox stopped" if stopped else "labrunner: the sandbox was not running", file=sys.stderr)
    return ExitCode.OK


def reset(arguments: argparse.Namespace) -> int:
    from labrunner.sandbox.control import SandboxError
    from labrunner.sandbox.control import reset as reset_sandbox

    try:
        restarted = reset_sandbox(_files())
    except SandboxError as failure:
        raise CliError(str(failure), ExitCode.UNAVAILABLE) from None
    print("labrunner: sandbox emptied" + (" and restarted" if restarted else ""), file=sys.stderr)
    return ExitCode.OK


def logs(arguments: argparse.Namespace) -> int:
    from labrunner.sandbox.control import tail

    print(tail(_files(), arguments.lines))
    return ExitCode.OK


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s"
