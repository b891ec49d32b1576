"""The headless command line: ``labrunner <command>``.

argparse rather than click: it is in the standard library and imports in a few
milliseconds, and start-up time is a feature. Each command's module is imported
only when that command runs, so ``labrunner --help`` pays for none of them.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from collections.abc import Callable, Sequence

from labrunner import __version__
from labrunner.cli.diagnostics import CliError, ExitCode, error

Handler = Callable[[argparse.Namespace], int]


def _lazy(module: str, function: str) -> Handler:
    def run(arguments: argparse.Namespace) -> int:
        import importlib

        return int(getattr(importlib.import_module(module), function)(arguments))

    return run


def _parameter(text: str) -> tuple[str, str]:
    name, separator, value = text.partition("=")
    if not separator or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def proof_flag(proof_id: str) -> str:
    """The attribute ``doctor --prove-<id>`` sets."""
    return "prove_" + proof_id.replace("-", "_")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="labrunner",
        description="Learn Kubernetes by doing: guided labs, checked against a live cluster.",
        epilog="With no command, labrunner opens the full-screen app on a terminal (labrunner tui), "
               "and lists the labs when its output is not a terminal.",
    )
    parser.add_argument("--version", action="version", version=f"labrunner {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, help_text: str, handler: Handler) -> argparse.ArgumentParser:
        command = commands.add_parser(name, help=help_text, description=help_text)
        command.set_defaults(handler=handler)
        return command

    def lab_parameters(command: argparse.ArgumentParser) -> None:
        command.add_argument(
            "-p", "--param", dest="params", action="append", type=_parameter, default=[],
            metavar="NAME=VALUE", help="run the lab with this parameter value (e.g. namespace=alice-demo)",
        )

    tui = add("tui", "open the full-screen app: pick a cluster and a lab, and learn step by step", _lazy("labrunner.cli.tui", "tui"))
    tui.add_argument("lab", nargs="?", help="open this lab directly")
    tui.add_argument("--kubeconfig", type=Path, help="use this kubeconfig file")
    tui.add_argument("--context", help="use this kubeconfig context (skips the cluster choice)")
    tui.add_argument("--sandbox", action="store_true", help="use labrunner's built-in sandbox (started if needed)")
    lab_parameters(tui)

    listing = add("list", "list the labs labrunner can find, by CKA domain, with your progress", _lazy("labrunner.cli.labs", "list_labs"))
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.add_argument("--kubeconfig", type=Path, help="whose progress: this kubeconfig's context")
    listing.add_argument("--context", help="whose progress: this context")
    listing.add_argument("--sandbox", action="store_true", help="whose progress: the sandbox's")

    show = add("show", "show a lab, or one of its steps", _lazy("labrunner.cli.labs", "show"))
    show.add_argument("lab", help="lab id (see 'labrunner list')")
    show.add_argument("step", nargs="?", help="step id or number (0-based)")
    show.add_argument("--solution", action="store_true", help="also show the step's solution")
    show.add_argument("--json", action="store_true", help="print JSON instead of text")
    lab_parameters(show)

    hint = add("hint", "show a step's hints, one level at a time", _lazy("labrunner.cli.labs", "hint"))
    hint.add_argument("lab", help="lab id")
    hint.add_argument("step", nargs="?", help="step id or number (0-based); without it, the step you are on")
    hint.add_argument("--kubeconfig", type=Path, help="whose progress: this kubeconfig's context")
    hint.add_argument("--context", help="whose progress: this context")
    hint.add_argument("--sandbox", action="store_true", help="whose progress: the sandbox's")
    hint.add_argument("--level", type=int, help="show hints 1..LEVEL (default: one more than you have seen; remembered per step)")
    hint.add_argument("--json", action="store_true", help="print JSON instead of text")
    lab_parameters(hint)

    validate = add("validate", "check lab files and report every problem with file:line:column", _lazy("labrunner.cli.labs", "validate"))
    validate.add_argument("paths", nargs="+", metavar="PATH", help="a lab folder, its lab.yaml, or a folder of labs")
    validate.add_argument("--json", action="store_true", help="print problems as JSON")

    add("schema", "print the JSON Schema of lab.yaml (for editors)", _lazy("labrunner.cli.labs", "schema"))

    from labrunner.registry import registry, resolve

    for add_topic_commands in registry().commands:
        resolve(add_topic_commands)(commands, _lazy)

    from labrunner.cli.checking import add_commands as add_check_commands

    add_check_commands(commands, _lazy)

    from labrunner.cli.exam import add_commands as add_exam_commands

    add_exam_commands(commands, _lazy)

    from labrunner.cli.workshop import add_commands as add_workshop_commands

    add_workshop_commands(commands, _lazy)

    from labrunner.cli.sandbox import add_commands as add_sandbox_commands

    add_sandbox_commands(commands, _lazy)

    from labrunner.cli.warm_commands import add_commands as add_warm_commands

    add_warm_commands(commands, _lazy)

    doctor = add("doctor", "show versions, paths, kubeconfig and kubectl as labrunner sees them", _lazy("labrunner.cli.doctor", "doctor"))
    doctor.add_argument("--json", action="store_true", help="print JSON instead of text")
    for proof in registry().proofs:
        doctor.add_argument(f"--prove-{proof.id}", dest=proof_flag(proof.id), action="store_true", help=f"also {proof.help}")
    doctor.add_argument("--kubeconfig", type=Path, help="with --prove-*: use this kubeconfig file")
    doctor.add_argument("--context", help="with --prove-*: use this kubeconfig context")
    doctor.add_argument("--sandbox", action="store_true", help="with --prove-*: use the built-in sandbox")
    return parser


_parser: tuple[object, argparse.ArgumentParser] | None = None


def shared_parser() -> argparse.ArgumentParser:
    """The parser, built once per registry (a warm server builds it before forking)."""
    global _parser
    from labrunner.registry import registry

    if _parser is None or _parser[0] is not registry():
        _parser = (registry(), build_parser())
    return _parser[1]


def main(argv: Sequence[str] | None = None) -> int:
    """``labrunner ARGS``: with ``argv`` None, the process's own command line, which a warm
    server answers when one runs (:mod:`labrunner.cli.warm`)."""
    if argv is None:
        from labrunner.cli import warm

        forwarded = warm.forward(sys.argv[1:])
        if forwarded is not None:
            return forwarded
        try:
            return _run(sys.argv[1:])
        finally:
            warm.start_pending()
    return _run(argv)


def _run(argv: Sequence[str]) -> int:
    parser = shared_parser()
    arguments = parser.parse_args(argv)
    handler: Handler | None = getattr(arguments, "handler", None)
    if handler is None:
        arguments = parser.parse_args(["tui"] if sys.stdin.isatty() and sys.stdout.isatty() else ["list"])
        handler = arguments.handler
    if arguments.command != "tui":  # Textual handles its own signals
        _end_cleanly_on(signal.SIGTERM, signal.SIGHUP)
    try:
        return handler(arguments)
    except CliError as failure:
        error(failure.message, failure.hint)
        return int(failure.code)
    except KeyboardInterrupt:
        return int(ExitCode.INTERRUPTED)
    except Terminated as ended:
        return 128 + ended.signal
    except BrokenPipeError:
        # The reader went away (``labrunner list | head``): not an error.
        sys.stderr.close()
        return int(ExitCode.OK)
    except Exception as unexpected:  # a bug: one line for the user, the traceback in a file
        from labrunner.session.rules import NotAllowed

        if isinstance(unexpected, NotAllowed):  # what the session refuses under its rules: said, not a crash
            error(str(unexpected))
            return int(ExitCode.USAGE)
        log = _write_crash_report(unexpected)
        error(f"internal error: {type(unexpected).__name__}: {unexpected}", hint=f"this is a bug in labrunner; details in {log}")
        return int(ExitCode.UNAVAILABLE)


class Terminated(BaseException):
    """SIGTERM or SIGHUP (the terminal closed, a grader's timeout): raised in the main thread so
    ``finally`` blocks run, e.g. a probe's pod is deleted instead of left in the learner's namespace."""

    def __init__(self, signal: int) -> None:
        super().__init__(signal)
        self.signal = signal


def _end_cleanly_on(*signals: int) -> None:
    def raise_terminated(number: int, _frame: object) -> None:
        raise Terminated(number)

    for number in signals:
        signal.signal(number, raise_terminated)


def _write_crash_report(unexpected: BaseException) -> str:
    import traceback

    from labrunner import paths

    try:
        folder = paths.state_dir()
        folder.mkdir(parents=True, exist_ok=True)
        log = folder / "crash.log"
        with log.open("a", encoding="utf-8") as handle:
            handle.write(f"labrunner {__version__}: {' '.join(sys.argv)}\n")
            handle.write("".join(traceback.format_exception(unexpected)) + "\n")
        return str(log)
    except OSError:
        return "(no log: the state folder is not writable)"
