"""The sandbox's sh, part two: running the tree :mod:`labrunner.sandbox.shparse` reads.

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

import ast
import dataclasses
import fnmatch
import operator
from collections.abc import Callable, Mapping
from typing import Any

from labrunner.sandbox import shparse
from labrunner.sandbox.processes import Stopped
from labrunner.sandbox.shparse import AndOr, Case, For, Function, Group, If, Loop, Node, Pipeline, Redirect, Sequence, Simple, Word

STEP_LIMIT = 100_000
"""Commands one shell runs before the sandbox stops it (``while true; do :; done``)."""

CALL_LIMIT = 100
"""Function calls (and command substitutions) inside one another before the sandbox stops the shell."""

SIZE_LIMIT = 16 * 1024 * 1024
"""Bytes a command's words, a variable or the output may hold (``x=$x$x`` in a loop)."""

BUILTINS = frozenset({":", "true", "false", "echo", "printf", "test", "[", "cd", "export", "unset", "set", "shift", "read",
                      "local", "return", "break", "continue", "exit", "exec", "eval", "seq", "sleep", "pwd"})


class _Exit(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


class _Return(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


class _Break(Exception):
    def __init__(self, levels: int, again: bool) -> None:
        self.levels, self.again = levels, again


class _Stopped(Exception):
    """A limit of the sandbox's sh was reached: the shell ends, saying which."""

    def __init__(self, why: str) -> None:
        self.why = why


@dataclasses.dataclass
class Output:
    stdout: Any = dataclasses.field(default_factory=bytearray)
    stderr: Any = dataclasses.field(default_factory=bytearray)
    delay: float = 0.0


class _Streamed:
    """A running container's stdout or stderr: each write goes to its log at once."""

    def __init__(self, fd: int, sink: Callable[[int, bytes], None]) -> None:
        self.fd, self.sink, self.written = fd, sink, 0

    def __iadd__(self, data: bytes | bytearray) -> _Streamed:
        if data:
            self.sink(self.fd, bytes(data))
            self.written += len(data)
        return self

    def __len__(self) -> int:
        return 0  # written away: nothing held

    def __bytes__(self) -> bytes:
        return b""


class Shell:
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

    def run(self, text: str, stdin: bytes = b"") -> tuple[bytes, bytes, int, float, bool]:
        """Run ``text``: (stdout, stderr, status, delay, the shell exited). A running container's
        shell (its ``sink`` set) writes its output as it goes and returns none."""
        sink = getattr(self.container, "sink", None)
        out = Output(_Streamed(1, sink), _Streamed(2, sink)) if sink is not None else Output()
        exited = False
        try:
            tree = shparse.parse(text)
        except shparse.ShellSyntaxError as error:
            out.stderr += f"{self.name}: syntax error: {error}\n".encode()
            self.status = 2
            return bytes(out.stdout), bytes(out.stderr), 2, 0.0, False
        try:
            self.status = self.execute(tree, _Input(stdin), out)
        except _Exit as ended:
            self.status, exited = ended.code % 256, True
        except (_Return, _Break) as stray:
            self.status = stray.code if isinstance(stray, _Return) else 0
        except _Stopped as stopped:
            out.stderr += f"{self.name}: {stopped.why}\n".encode()
            self.status, exited = 137, True
        except RecursionError:
            out.stderr += f"{self.name}: commands nested too deep for the labrunner sandbox's sh\n".encode()
            self.status, exited = 137, True
        except Stopped:
            self.status, exited = 143, True  # SIGTERM: sh has no trap for it
        except _ExpansionError as error:  # in a redirection, a for list, a case word: sh gives up on the script
            out.stderr += f"{self.name}: {error}\n".encode()
            self.status, exited = 2, True
        self.container.last_status = self.status
        return bytes(out.stdout), bytes(out.stderr), self.status, out.delay, exited

    def execute(self, node: Node, stdin: _Input, out: Output) -> int:
        self.steps += 1
        if self.steps % 1000 == 0 and getattr(self.container, "sleeper", None) is not None:
            self.container.sleeper(0.0)  # a container being stopped stops here too
        if self.steps > STEP_LIMIT:
            raise _Stopped(f"the labrunner sandbox stopped this command after {STEP_LIMIT} steps: commands run to their "
                           "end at once here, so a loop that never ends cannot be shown (run it as a container's command instead)")
        if len(out.stdout) + len(out.stderr) > SIZE_LIMIT:
            raise _Stopped(f"out of memory (the labrunner sandbox keeps {SIZE_LIMIT // 2**20} MiB of a command's output)")
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

    def _loop(self, node: Loop, stdin: _Input, out: Output) -> int:
        status = 0
        while True:
            if (self.execute(node.condition, stdin, out) == 0) == node.until:
                return status
            status, stop = self._iteration(node.body, stdin, out)
            if stop:
                return status

    def _for(self, node: For, stdin: _Input, out: Output) -> int:
        values = self.positional if node.words is None else [v for word in node.words for v in self.expand_word(word)]
        status = 0
        for value in values:
            self.variables[node.name] = value
            status, stop = self._iteration(node.body, stdin, out)
            if stop:
                return status
        return status

    def _iteration(self, body: Node, stdin: _Input, out: Output) -> tuple[int, bool]:
        """One pass of a loop's body: its status, and whether the loop ends (``break``);
        ``break N``/``continue N`` pass the rest of their count to the loops outside."""
        try:
            return self.execute(body, stdin, out), False
        except _Break as jump:
            if jump.levels > 1:
                raise _Break(jump.levels - 1, jump.again) from None
            return 0, not jump.again

    def _group(self, node: Group, stdin: _Input, out: Output) -> int:
        redirected = self._redirected(node.redirects, stdin, out)
        if isinstance(redirected, int):
            return redirected
        inner_in, inner_out, finish = redirected
        if node.subshell:
            saved = (dict(self.variables), set(self.exported), dict(self.functions), list(self.positional), self.cwd)
            try:
                status = self.execute(node.body, inner_in, inner_out)
            except _Exit as ended:
                status = ended.code % 256
            finally:
                self.variables, self.exported, self.functions, self.positional, self.cwd = saved
        else:
            status = self.execute(node.body, inner_in, inner_out)
        finish()
        return status

    def _pipeline(self, node: Pipeline, stdin: _Input, out: Output) -> int:
        data: _Input = stdin
        status = 0
        for index, command in enumerate(node.commands):
            last = index == len(node.commands) - 1
            stage = out if last else Output(stderr=out.stderr)
            status = self.execute(command, data, stage)
            if not last:
                out.delay += stage.delay
                data = _Input(bytes(stage.stdout))
        if node.negated:
            status = 0 if status else 1
        return status

    # -- simple commands --------------------------------------------------------------------

    def _simple(self, node: Simple, stdin: _Input, out: Output) -> int:
        try:
            words = [value for word in node.words for value in self.expand_word(word)]
            assigned = {name: self.expand_word(value, split=False)[0] for name, value in node.assignments}
            if sum(map(len, words)) + sum(map(len, assigned.values())) > SIZE_LIMIT:
                raise _Stopped(f"out of memory (the labrunner sandbox keeps {SIZE_LIMIT // 2**20} MiB in a command's words)")
        except _ExpansionError as error:
            out.stderr += f"{self.name}: {error}\n".encode()
            return 1 if node.words else 2
        redirected = self._redirected(node.redirects, stdin, out)
        if isinstance(redirected, int):
            return redirected
        inner_in, inner_out, finish = redirected
        try:
            if not words:
                self.variables.update(assigned)
                return 0
            return self._call(words, assigned, inner_in, inner_out)
        finally:
            finish()

    def _call(self, words: list[str], assigned: dict[str, str], stdin: _Input, out: Output) -> int:
        name = words[0]
        if name in self.functions:
            if len(self.locals) >= CALL_LIMIT:
                raise _Stopped(f"{name}: function calls nested too deep (the labrunner sandbox stops at {CALL_LIMIT})")
            saved = self.positional
            self.positional = words[1:]
            self.locals.append({})
            try:
                return self.execute(self.functions[name], stdin, out)
            except _Return as returned:
                return returned.code
            finally:
                self.positional = saved
                for variable, value in self.locals.pop().items():
                    if value is None:
                        self.variables.pop(variable, None)
                    else:
                        self.variables[variable] = value
        if name in BUILTINS:
            from labrunner.sandbox.shell_builtins import builtin

            return builtin(self, name, words[1:], stdin, out)
        environment = {**{k: v for k, v in self.variables.items() if k in self.exported}, **assigned}
        container = dataclasses.replace(self.container, env=environment)
        from labrunner.sandbox.processes import NotFoundInPath

        try:
            result = self.run_program(words, stdin.read_all(), container)
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

    def _redirected(self, redirects: list[Redirect], stdin: _Input, out: Output
                    ) -> int | tuple[_Input, Output, Callable[[], None]]:
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
                inner_in = _Input(body.encode())
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
                    inner_in = _Input(b"")
                    continue
                if path not in files:
                    out.stderr += f"{self.name}: can't open '{target}': No such file or directory\n".encode()
                    return 1
                inner_in = _Input(files[path])
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

    def _expand_heredoc(self, body: str) -> str:
        word = shparse._Lexer(body)
        parts: list[str] = []
        for part in word._double_quoted_text():
            parts.append(self._expand_part(part))
        return "".join(parts)

    def _pattern(self, word: Word) -> str:
        """A case pattern: quoted parts match literally, unquoted ones as glob patterns."""
        pieces = []
        for part in word.parts:
            text = self._expand_part(part)
            pieces.append(text if not part.quoted else "".join(f"[{c}]" if c in "*?[" else c for c in text))
        return "".join(pieces)

    # -- expansion ------------------------------------------------------------------------------

    def expand_word(self, word: Word, *, split: bool = True) -> list[str]:
        """The fields a word expands to: parameters, commands and arithmetic, then unquoted
        results split on whitespace (an empty unquoted expansion is no field at all)."""
        fields: list[str] = []
        current: list[str] = []
        has_quoted = False
        for part in word.parts:
            if part.kind == "param" and part.text in ("@", "*") and part.quoted and part.text == "@":
                if current or fields:
                    pass
                values = self.positional
                if values:
                    current.append(values[0])
                    for value in values[1:]:
                        fields.append("".join(current))
                        current = [value]
                has_quoted = True
                continue
            text = self._expand_part(part)
            if part.quoted or part.kind == "lit" or not split:
                current.append(text)
                has_quoted = has_quoted or part.quoted
                continue
            pieces = text.split()
            if not pieces:
                continue
            if text[:1].isspace() and current:
                fields.append("".join(current))
                current = []
            current.append(pieces[0])
            for piece in pieces[1:]:
                fields.append("".join(current))
                current = [piece]
            if text[-1:].isspace():
                fields.append("".join(current))
                current = []
        if current or has_quoted or not split:
            fields.append("".join(current))
        return fields if split else ["".join(fields)] if fields else [""]

    def _expand_part(self, part: shparse.Part) -> str:
        if part.kind == "lit":
            return part.text
        if part.kind == "param":
            return self._parameter(part.text)
        if part.kind == "command":
            return self._substitute(part.text)
        return str(self.arithmetic(part.text))

    def _value(self, name: str) -> str | None:
        if name == "?":
            return str(self.status)
        if name == "#":
            return str(len(self.positional))
        if name in ("@", "*"):
            return " ".join(self.positional)
        if name == "$":
            return "1"
        if name == "!":
            return ""
        if name == "-":
            return ""
        if name.isdigit():
            index = int(name)
            if index == 0:
                return self.name
            return self.positional[index - 1] if index <= len(self.positional) else None
        return self.variables.get(name)

    def _parameter(self, text: str) -> str:
        if text.startswith("#") and len(text) > 1:
            return str(len(self._value(text[1:]) or ""))
        for marker in (":-", ":=", ":+", ":?", "-", "=", "+", "?", "%%", "%", "##", "#"):
            name, found, rest = text.partition(marker)
            if found and name and (shparse._is_name(name) or name in "?#@*$!" or name.isdigit()):
                return self._operation(name, marker, rest)
        if not (shparse._is_name(text) or text in ("?", "#", "@", "*", "$", "!", "-") or text.isdigit()):
            raise _ExpansionError(f"syntax error: bad substitution")
        return self._value(text) or ""

    def _operation(self, name: str, marker: str, word: str) -> str:
        value = self._value(name)
        unset = value is None or (marker.startswith(":") and value == "")
        if marker in ("%%", "%", "##", "#"):
            return _trim(value or "", marker, self._expand_text(word))
        if marker in (":-", "-"):
            return self._expand_text(word) if unset else value or ""
        if marker in (":=", "="):
            if unset:
                self.variables[name] = self._expand_text(word)
                return self.variables[name]
            return value or ""
        if marker in (":+", "+"):
            return "" if unset else self._expand_text(word)
        if unset:
            raise _ExpansionError(f"{name}: {self._expand_text(word) or 'parameter not set'}")
        return value or ""

    def _expand_text(self, text: str) -> str:
        lexer = shparse._Lexer(text)
        return "".join(self._expand_part(part) for part in lexer._double_quoted_text(quotes=True))

    def _substitute(self, source: str) -> str:
        saved = (dict(self.variables), set(self.exported), dict(self.functions), list(self.positional), self.cwd, self.status)
        out = Output()
        self.locals.append({})  # a substitution inside a substitution counts as a call
        if len(self.locals) > CALL_LIMIT:
            raise _Stopped(f"command substitutions nested too deep (the labrunner sandbox stops at {CALL_LIMIT})")
        try:
            self.execute(shparse.parse(source), _Input(b""), out)
        except _Exit:
            pass
        except shparse.ShellSyntaxError as error:
            raise _ExpansionError(f"syntax error: {error}") from None
        finally:
            self.locals.pop()
            self.variables, self.exported, self.functions, self.positional, self.cwd, status = saved
        return bytes(out.stdout).decode(errors="replace").rstrip("\n")

    def arithmetic(self, expression: str) -> int:
        """``$(( ))``: integers, C's operators as sh has them, names read as numbers."""
        text = self._expand_text(expression).strip() or "0"
        try:
            tree = ast.parse(text.replace("&&", " and ").replace("||", " or ").replace("!", " not ").replace(" not =", "!="),
                             mode="eval")
            return int(_Arithmetic(self).visit(tree.body))
        except ZeroDivisionError:
            raise _ExpansionError("arithmetic syntax error: divide by zero") from None
        except (SyntaxError, ValueError, TypeError):
            raise _ExpansionError("arithmetic syntax error") from None


class _ExpansionError(Exception):
    pass


class _Input:
    """A command's standard input: what ``read`` takes line by line, or all of it."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.position = 0

    def read_all(self) -> bytes:
        rest = self.data[self.position:]
        self.position = len(self.data)
        return rest

    def read_line(self) -> bytes | None:
        if self.position >= len(self.data):
            return None
        end = self.data.find(b"\n", self.position)
        end = len(self.data) if end < 0 else end + 1
        line = self.data[self.position:end]
        self.position = end
        return line


def _trim(value: str, marker: str, pattern: str) -> str:
    candidates = range(len(value) + 1)
    if marker in ("#", "##"):
        order = candidates if marker == "#" else reversed(candidates)
        for end in order:
            if fnmatch.fnmatchcase(value[:end], pattern):
                return value[end:]
        return value
    order = reversed(candidates) if marker == "%" else candidates
    for start in order:
        if fnmatch.fnmatchcase(value[start:], pattern):
            return value[:start]
    return value


_OPERATORS: Mapping[type, Callable[..., Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Mod: lambda a, b: int(a - b * int(a / b)),
    ast.FloorDiv: lambda a, b: int(a / b), ast.Div: lambda a, b: int(a / b), ast.LShift: operator.lshift,
    ast.RShift: operator.rshift, ast.BitAnd: operator.and_, ast.BitOr: operator.or_, ast.BitXor: operator.xor,
    ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Eq: operator.eq,
    ast.NotEq: operator.ne, ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Invert: operator.invert,
}


class _Arithmetic(ast.NodeVisitor):
    def __init__(self, shell: Shell) -> None:
        self.shell = shell

    def visit_Constant(self, node: ast.Constant) -> int:
        if not isinstance(node.value, int):
            raise ValueError(node.value)
        return int(node.value)

    def visit_Name(self, node: ast.Name) -> int:
        value = (self.shell.variables.get(node.id) or "0").strip()
        return int(value) if value.lstrip("-").isdigit() else 0

    def visit_BinOp(self, node: ast.BinOp) -> int:
        return int(_OPERATORS[type(node.op)](self.visit(node.left), self.visit(node.right)))

    def visit_UnaryOp(self, node: ast.UnaryOp) -> int:
        if isinstance(node.op, ast.Not):
            return int(not self.visit(node.operand))
        return int(_OPERATORS[type(node.op)](self.visit(node.operand)))

    def visit_BoolOp(self, node: ast.BoolOp) -> int:
        values = [self.visit(value) for value in node.values]
        return int(all(values) if isinstance(node.op, ast.And) else any(values))

    def visit_Compare(self, node: ast.Compare) -> int:
        left = self.visit(node.left)
        for op, comparator in zip(node.ops, node.comparators):
            right = self.visit(comparator)
            if not _OPERATORS[type(op)](left, right):
                return 0
            left = right
        return 1

    def visit_IfExp(self, node: ast.IfExp) -> int:
        return self.visit(node.body) if self.visit(node.test) else self.visit(node.orelse)

    def generic_visit(self, node: ast.AST) -> Any:
        raise ValueError(type(node).__name__)
