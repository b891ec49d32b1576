"""``labrunner warm status | start | stop``: the warm server that answers headless commands."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from labrunner.cli.diagnostics import CliError, ExitCode


def add_commands(commands: Any, lazy: Any) -> None:
    warm = commands.add_parser(
        "warm", help="the warm server that answers check, status, show... in ~50 ms: status, start, stop",
        description="A background process that has imported labrunner and the kubernetes client once and forks a "
        "ready copy of itself for each check, status, hint, show, list, validate, solve or reset. Started by the "
        "first such command; stops after 10 idle minutes or when labrunner changes. LABRUNNER_WARM=0 runs every "
        "command without it.",
    )
    sub = warm.add_subparsers(dest="warm_command", metavar="COMMAND", required=True)
    status = sub.add_parser("status", help="whether one runs, since when, and whether it answers")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=lazy("labrunner.cli.warm_commands", "status"))
    sub.add_parser("start", help="start one now (and wait until it answers)").set_defaults(
        handler=lazy("labrunner.cli.warm_commands", "start"))
    sub.add_parser("stop", help="stop every one this state folder has").set_defaults(
        handler=lazy("labrunner.cli.warm_commands", "stop"))


def status(arguments: argparse.Namespace) -> int:
    from labrunner.cli import warm

    found = warm.servers()
    if arguments.json:
        json.dump({"enabled": warm.enabled(), "servers": found}, sys.stdout, indent=2)
        print()
        return int(ExitCode.OK)
    if not warm.enabled():
        print("warm starts are off (LABRUNNER_WARM=0): every command starts cold")
    if not found:
        print("no warm server runs; the next check, status, show... starts one")
    for server in found:
        age = time.time() - float(server.get("started", time.time()))
        state = "answers" if server.get("answers") else "does not answer (stale files)"
        print(f"pid {server.get('pid')}, up {age:.0f} s, {server.get('served', 0)} commands served, {state}: {server.get('socket')}")
    return int(ExitCode.OK)


def start(arguments: argparse.Namespace) -> int:
    from labrunner.cli import warm

    path = warm.socket_path()
    if path is None:
        raise CliError("the state folder's path is too long for a socket: warm starts are unavailable", ExitCode.UNAVAILABLE,
                       hint="set LABRUNNER_STATE_DIR to a shorter folder")
    if not warm.answers(path):
        warm.spawn(path)
        deadline = time.monotonic() + 30
        while not warm.answers(path):
            if time.monotonic() > deadline:
                raise CliError("the warm server did not start within 30 s", ExitCode.UNAVAILABLE)
            time.sleep(0.05)
    print(f"warm server answers at {path}")
    return int(ExitCode.OK)


def stop(arguments: argparse.Namespace) -> int:
    from labrunner.cli import warm

    stopped = warm.stop_all()
    print(f"stopped {len(stopped)} warm server{'s' if len(stopped) != 1 else ''}" + (f" (pid {', '.join(map(str, stopped))})" if stopped else ""))
    return int(ExitCode.OK)
