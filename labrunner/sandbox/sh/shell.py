"""The sandbox's sh, running: the tree :mod:`labrunner.sandbox.sh.parser` reads, command by command.

A shell keeps its variables, functions and ``$?`` between the commands it runs (an
interactive ``kubectl exec -ti POD -- sh`` is one shell), expands words when a command runs
(parameters with their ``${name:-default}`` forms, ``$(...)``, ``$((...))``, field splitting),
and runs the image's programs through :func:`labrunner.sandbox.processes.run`. Redirections
read and write the container's files. Time is simulated: ``sleep`` adds to the command's delay
(the output arrives after it) and a command runs to its end in one go, so a loop that never
ends is stopped after :data:`STEP_LIMIT` commands with a message saying so (a documented gap:
long-running loops belong in a container's own command).
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Callable
from typing import Any

from labrunner.sandbox.pipes import STDIN_READERS
from labrunner.sandbox.processes import Stopped
from labrunner.sandbox.sh import lexer, parser
from labrunner.sandbox.sh.expansion import Expansions
from labrunner.sandbox.sh.flow import (
    CALL_LIMIT, SIZE_LIMIT, STEP_LIMIT, Break, Exit, ExpansionError, Input, Limit, Output, Return, Stream, _Streamed,
)
from labrunner.sandbox.sh.parser import AndOr, Case, For, Function, Group, If, Loop, Node, Pipeline, Redirect, Sequence, Simple


BUILTINS = frozenset({":", "true", "false", "echo", "printf", "test", "[", "cd", "export", "unset", "set", "shift", "read",
                      "local", "return", "break", "continue", "exit", "exec", "eval", "seq", "sleep", "pwd"})


class Shell(Expansions):
    """One sh process in a container: ``run(text, stdin)`` runs a script and keeps the state."""

    def __init__(self, container: Any, run_program: Callable[[list[str], bytes, Any], Any], *,
                 name: str = "sh", arguments: list[str] | None = None) -> None:
        self.container = container
        self.run_program = run_program
        self.name = name
        self.variables: dict[str, str] = dict(container.env)
        self.exported: set[str] = set(container.env)
        self.functions: dict[str, Node] = {}
        self.positional: list[str] = list(arguments or [])
        self.status = container.last_status
        self.steps = 0
        self.cwd = "/"
        self.locals: list[dict[str, str | None]] = []

    # -- running a script -------------------------------------------------------------------

    def run(self, text: str, stdin: bytes | Stream = b"") -> tuple[bytes, bytes, int, float, bool]:
        """Run ``text``: (stdout, stderr, status, delay, the shell exited). A running container's
        shell (its ``sink`` set) writes its output as it goes and returns none."""
        sink = getattr(self.container, "sink", None)
        out = Output(_Streamed(1, sink), _Streamed(2, sink)) if sink is not None else Output()
        exited = False
        try:
            tree = parser.parse(text)
        except lexer.ShellSyntaxError as error:
            out.stderr += f"{self.name}: syntax error: {error}\n".encode()
            self.status = 2
            return bytes(out.stdout), bytes(out.stderr), 2, 0.0, False
        try:
            self.status = self.execute(tree, Input(stdin), out)
        except Exit as ended:
            self.status, exited = ended.code % 256, True
        except (Return, Break) as stray:
            self.status = stray.code if isinstance(stray, Return) else 0
        except Limit as stopped:
            out.stderr += f"{self.name}: {stopped.why}\n".encode()
            self.status, exited = 137, True
        except RecursionError:
            out.stderr += f"{self.name}: commands nested too deep for the labrunner sandbox's sh\n".encode()
            self.status, exited = 137, True
        except Stopped:
            self.status, exited = 143, True  # SIGTERM: sh has no trap for it
        except ExpansionError as error:  # in a redirection, a for list, a case word: sh gives up on the script
            out.stderr += f"{self.name}: {error}\n".encode()
            self.status, exited = 2, True
        self.container.last_status = self.status
        return bytes(out.stdout), bytes(out.stderr), self.status, out.delay, exited

    def execute(self, node: Node, stdin: Input, out: Output) -> int:
        self.steps += 1
        if self.steps % 1000 == 0 and getattr(self.container, "sleeper", None) is not None:
            self.container.sleeper(0.0)  # a container being stopped stops here too
        if self.steps > STEP_LIMIT:
            raise Limit(f"the labrunner sandbox stopped this command after {STEP_LIMIT} steps: commands run to their "
                           "end at once here, so a loop that never ends cannot be shown (run it as a container's command instead)")
        if len(out.stdout) + len(out.stderr) > SIZE_LIMIT:
            raise Limit(f"out of memory (the labrunner sandbox keeps {SIZE_LIMIT // 2**20} MiB of a command's output)")
        if isinstance(node, Sequence):
            status = 0
            for command, _background in node.items:  # & runs in the foreground: nothing runs beside it here
                status = self.status = self.execute(command, stdin, out)
            return status
        if isinstance(node, AndOr):
            status = self.status = self.execute(node.first, stdin, out)
            for operator_, command in node.rest:
                if (operator_ == "&&") == (status == 0):
                    status = self.status = self.execute(command, stdin, out)
            return status
        if isinstance(node, Pipeline):
            return self._pipeline(node, stdin, out)
        if isinstance(node, Simple):
            return self._simple(node, stdin, out)
        if isinstance(node, If):
            for condition, body in node.branches:
                if self.execute(condition, stdin, out) == 0:
                    return self.execute(body, stdin, out)
            return self.execute(node.otherwise, stdin, out) if node.otherwise is not None else 0
        if isinstance(node, Loop):
            return self._loop(node, stdin, out)
        if isinstance(node, For):
            return self._for(node, stdin, out)
        if isinstance(node, Case):
            subject = self.expand_word(node.word, split=False)[0]
            for patterns, arm in node.arms:
                if any(fnmatch.fnmatchcase(subject, self._pattern(pattern)) for pattern in patterns):
                    return self.execute(arm, stdin, out) if arm is not None else 0
            return 0
        if isinstance(node, Group):
            return self._group(node, stdin, out)
        if isinstance(node, Function):
            self.functions[node.name] = node.body
            return 0
        raise TypeError(node)

    def _loop(self, node: Loop, stdin: Input, out: Output) -> int:
        status = 0
        while True:
            if (self.execute(node.condition, stdin, out) == 0) == node.until:
                return status
            status, stop = self._iteration(node.body, stdin, out)
            if stop:
                return status

    def _for(self, node: For, stdin: Input, out: Output) -> int:
        values = self.positional if node.words is None else [v for word in node.words for v in self.expand_word(word)]
        status = 0
        for value in values:
            self.variables[node.name] = value
            status, stop = self._iteration(node.body, stdin, out)
            if stop:
                return status
        return status

    def _iteration(self, body: Node, stdin: Input, out: Output) -> tuple[int, bool]:
        """One pass of a loop's body: its status, and whether the loop ends (``break``);
        ``break N``/``continue N`` pass the rest of their count to the loops outside."""
        try:
            return self.execute(body, stdin, out), False
        except Break as jump:
            if jump.levels > 1:
                raise Break(jump.levels - 1, jump.again) from None
            return 0, not jump.again

    def _group(self, node: Group, stdin: Input, out: Output) -> int:
        redirected = self._redirected(node.redirects, stdin, out)
        if isinstance(redirected, int):
            return redirected
        inner_in, inner_out, finish = redirected
        if node.subshell:
            saved = (dict(self.variables), set(self.exported), dict(self.functions), list(self.positional), self.cwd)
            try:
                status = self.execute(node.body, inner_in, inner_out)
            except Exit as ended:
                status = ended.code % 256
            finally:
                self.variables, self.exported, self.functions, self.positional, self.cwd = saved
        else:
            status = self.execute(node.body, inner_in, inner_out)
        finish()
        return status

    def _pipeline(self, node: Pipeline, stdin: Input, out: Output) -> int:
        data: Input = stdin
        status = 0
        for index, command in enumerate(node.commands):
            last = index == len(node.commands) - 1
            stage = out if last else Output(stderr=out.stderr)
            status = self.execute(command, data, stage)
            if not last:
                out.delay += stage.delay
                data = Input(bytes(stage.stdout))
        if node.negated:
            status = 0 if status else 1
        return status

    # -- simple commands --------------------------------------------------------------------

    def _simple(self, node: Simple, stdin: Input, out: Output) -> int:
        self.substitution_status = None
        try:
            words = [value for word in node.words for value in self.expand_word(word)]
            assigned = {name: self.expand_word(value, split=False)[0] for name, value in node.assignments}
            if sum(map(len, words)) + sum(map(len, assigned.values())) > SIZE_LIMIT:
                raise Limit(f"out of memory (the labrunner sandbox keeps {SIZE_LIMIT // 2**20} MiB in a command's words)")
        except ExpansionError as error:
            out.stderr += f"{self.name}: {error}\n".encode()
            return 1 if node.words else 2
        redirected = self._redirected(node.redirects, stdin, out)
        if isinstance(redirected, int):
            return redirected
        inner_in, inner_out, finish = redirected
        try:
            if not words:
                self.variables.update(assigned)
                # POSIX: with no command name, the status of the last command substitution, else 0.
                return self.substitution_status or 0
            return self._call(words, assigned, inner_in, inner_out)
        finally:
            finish()

    def _call(self, words: list[str], assigned: dict[str, str], stdin: Input, out: Output) -> int:
        name = words[0]
        if name in self.functions:
            if len(self.locals) >= CALL_LIMIT:
                raise Limit(f"{name}: function calls nested too deep (the labrunner sandbox stops at {CALL_LIMIT})")
            saved = self.positional
            self.positional = words[1:]
            self.locals.append({})
            try:
                return self.execute(self.functions[name], stdin, out)
            except Return as returned:
                return returned.code
            finally:
                self.positional = saved
                for variable, value in self.locals.pop().items():
                    if value is None:
                        self.variables.pop(variable, None)
                    else:
                        self.variables[variable] = value
        if name in BUILTINS:
            from labrunner.sandbox.sh.builtins import builtin

            return builtin(self, name, words[1:], stdin, out)
        environment = {**{k: v for k, v in self.variables.items() if k in self.exported}, **assigned}
        container = dataclasses.replace(self.container, env=environment)
        from labrunner.sandbox.processes import NotFoundInPath

        if stdin.stream is not None and name == "cat" and words[1:] in ([], ["-"]):
            # cat over stdin that arrives over time passes each piece on as it comes
            while (chunk := stdin.stream.read_chunk()) is not None:
                out.stdout += chunk
            return 0
        # Over a live stream only the programs that read stdin wait for it (echo does not).
        given = stdin.read_all() if stdin.stream is None or name in STDIN_READERS else b""
        try:
            result = self.run_program(words, given, container)
        except NotFoundInPath as missing:
            out.stderr += f"{self.name}: {missing.program}: not found\n".encode()
            return 127
        out.stdout += result.stdout
        out.stderr += result.stderr
        self.wait(out, result.delay)
        return int(result.exit_code)

    def wait(self, out: Output, seconds: float) -> None:
        """Time passing: a running container waits it out for real (and its loop may go on for
        ever, so the step count starts again); elsewhere the output waits for it."""
        sleeper = getattr(self.container, "sleeper", None)
        if sleeper is not None and seconds > 0:
            self.steps = 0
            sleeper(seconds)
        else:
            out.delay += seconds

    # -- redirections -----------------------------------------------------------------------

    def _redirected(self, redirects: list[Redirect], stdin: Input, out: Output
                    ) -> int | tuple[Input, Output, Callable[[], None]]:
        """The input and output a command sees through its redirections, and what to do when
        it ends (write the files); or the status of a redirection that failed."""
        if not redirects:
            return stdin, out, lambda: None
        files = self.container.files
        targets: dict[int, str | None] = {1: None, 2: None}
        """Where fd 1 and 2 go: None (the shell's), a path, "&1"/"&2", or "/dev/null"."""
        inner_in = stdin
        for redirect in redirects:
            if redirect.heredoc is not None:
                body = redirect.heredoc
                if redirect.heredoc_expands:
                    body = self._expand_heredoc(body)
                inner_in = Input(body.encode())
                continue
            assert redirect.target is not None
            target = self.expand_word(redirect.target, split=False)[0]
            if redirect.op in (">&", "<&") and target in ("1", "2", "-"):
                if redirect.fd in (1, 2):
                    targets[redirect.fd] = f"&{target}"
                continue
            path = self._path(target)
            if redirect.op == "<":
                if path == "/dev/null":
                    inner_in = Input(b"")
                    continue
                if path not in files:
                    out.stderr += f"{self.name}: can't open '{target}': No such file or directory\n".encode()
                    return 1
                inner_in = Input(files[path])
                continue
            if redirect.fd in (1, 2):
                targets[redirect.fd] = path
                if redirect.op == ">" and path != "/dev/null":
                    try:
                        files[path] = b""  # > truncates at once, as the shell opens the file
                    except OSError as error:
                        out.stderr += f"{self.name}: can't create {target}: {error.strerror}\n".encode()
                        return 1
        inner_out = Output()

        def finish() -> None:
            streams = {1: bytes(inner_out.stdout), 2: bytes(inner_out.stderr)}
            routed: dict[int, bytes] = {1: b"", 2: b""}
            for fd in (1, 2):
                destination = targets[fd]
                if destination in ("&1", "&2"):
                    other = int(destination[1])
                    destination = targets[other] if other != fd else None
                    fd_into = other
                else:
                    fd_into = fd
                if destination is None:
                    routed[fd_into] += streams[fd]
                elif destination != "/dev/null":
                    try:
                        files[destination] = files.get(destination, b"") + streams[fd]
                    except OSError as error:
                        out.stderr += f"{self.name}: can't create {destination}: {error.strerror}\n".encode()
            out.stdout += routed[1]
            out.stderr += routed[2]
            out.delay += inner_out.delay

        return inner_in, inner_out, finish

    def _path(self, path: str) -> str:
        return path if path.startswith("/") else f"{self.cwd.rstrip('/')}/{path.removeprefix('./')}"
