"""``labrunner tui``: the full-screen app (Textual is imported only here)."""

from __future__ import annotations

import argparse
import sys

from labrunner.cli.diagnostics import CliError, ExitCode


def tui(arguments: argparse.Namespace) -> int:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise CliError("the full-screen app needs a terminal", ExitCode.USAGE,
                       hint="run it in a terminal; for scripts, use labrunner check / status / hint")
    from labrunner.tui.app import run

    run(kubeconfig=arguments.kubeconfig, context=arguments.context, sandbox=arguments.sandbox,
        lab_id=arguments.lab, parameters=dict(arguments.params))
    return ExitCode.OK
