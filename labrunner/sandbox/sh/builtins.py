"""The sandbox's sh, part three: the commands the shell itself runs (busybox ash's builtins
and the few applets whose behaviour is the shell's: echo, printf, test, read, seq, sleep),
with busybox's texts and exit codes."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from labrunner.sandbox.sh.flow import Input, Output
    from labrunner.sandbox.sh.shell import Shell


def builtin(shell: Shell, name: str, args: list[str], stdin: Input, out: Output) -> int:
    from labrunner.sandbox.sh import flow as running

    if name in (":", "true"):
        return 0
    if name == "false":
        return 1
    if name == "echo":
        return _echo(args, out)
    if name == "printf":
        return _printf(shell, args, out)
    if name in ("test", "["):
        if name == "[":
            if not args or args[-1] != "]":
                out.stderr += b"sh: [: missing ]\n"
                return 2
            args = args[:-1]
        return _test(shell, args, out)
    if name == "pwd":
        out.stdout += f"{shell.cwd}\n".encode()
        return 0
    if name == "cd":
        target = args[0] if args else shell.variables.get("HOME", "/")
        shell.cwd = shell._path(target).rstrip("/") or "/"
        shell.variables["PWD"] = shell.cwd
        return 0
    if name == "export":
        for argument in args:
            if argument == "-p":
                continue
            variable, equals, value = argument.partition("=")
            if equals:
                shell.variables[variable] = value
            shell.exported.add(variable)
        return 0
    if name == "unset":
        for variable in args:
            if variable == "-f":
                continue
            shell.variables.pop(variable, None)
            shell.functions.pop(variable, None)
        return 0
    if name == "local":
        for argument in args:
            variable, equals, value = argument.partition("=")
            if shell.locals:
                shell.locals[-1].setdefault(variable, shell.variables.get(variable))
            shell.variables[variable] = value if equals else shell.variables.get(variable, "")
        return 0
    if name == "set":
        if args[:1] == ["--"]:
            shell.positional = args[1:]
        elif args and not args[0].startswith(("-", "+")):
            shell.positional = args
        return 0
    if name == "shift":
        count = int(args[0]) if args and args[0].isdigit() else 1
        if count > len(shell.positional):
            return 1
        shell.positional = shell.positional[count:]
        return 0
    if name == "read":
        return _read(shell, args, stdin)
    if name == "return":
        raise running.Return(int(args[0]) % 256 if args and args[0].lstrip("-").isdigit() else shell.status)
    if name in ("break", "continue"):
        levels = int(args[0]) if args and args[0].isdigit() and int(args[0]) > 0 else 1
        raise running.Break(levels, name == "continue")
    if name == "exit":
        raise running.Exit(int(args[0]) if args and args[0].lstrip("-").isdigit() else shell.status)
    if name == "exec":
        if not args:
            return 0
        status = shell._call(args, {}, stdin, out)
        raise running.Exit(status)  # the program replaces the shell
    if name == "eval":
        from labrunner.sandbox.sh import lexer, parser

        try:
            return shell.execute(parser.parse(" ".join(args)), stdin, out)
        except lexer.ShellSyntaxError as error:
            out.stderr += f"sh: syntax error: {error}\n".encode()
            return 2
    if name == "seq":
        return _seq(args, out)
    if name == "sleep":
        paused = running.Output()
        code = _sleep(args, paused)
        out.stderr += bytes(paused.stderr)
        shell.wait(out, paused.delay)
        return code
    raise KeyError(name)


def _echo(args: list[str], out: Output) -> int:
    newline, escapes = True, False
    while args and re.fullmatch(r"-[neE]+", args[0]):
        newline = newline and "n" not in args[0]
        escapes = ("e" in args[0]) or (escapes and "E" not in args[0])
        args = args[1:]
    text = " ".join(args)
    if escapes:
        text, stop = _escapes(text)
        if stop:
            newline = False
    out.stdout += (text + ("\n" if newline else "")).encode()
    return 0


def _escapes(text: str) -> tuple[str, bool]:
    """echo -e's and printf's backslash escapes; True when ``\\c`` ends the output."""
    result: list[str] = []
    index = 0
    table = {"n": "\n", "t": "\t", "\\": "\\", "a": "\a", "b": "\b", "r": "\r", "f": "\f", "v": "\v", "e": "\x1b"}
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            following = text[index + 1]
            if following == "c":
                return "".join(result), True
            if following in table:
                result.append(table[following])
                index += 2
                continue
            if following == "0":
                digits = re.match(r"0[0-7]{0,3}", text[index + 1:])
                assert digits is not None
                result.append(chr(int(digits.group(0), 8)))
                index += 1 + len(digits.group(0))
                continue
        result.append(char)
        index += 1
    return "".join(result), False


def _printf(shell: Shell, args: list[str], out: Output) -> int:
    if not args:
        out.stderr += b"printf: usage: printf FORMAT [ARGUMENT...]\n"
        return 1
    template, values = args[0], args[1:]
    status = 0
    while True:
        used = 0
        pieces: list[str] = []

        def substitute(match: re.Match[str]) -> str:
            nonlocal used, status
            spec = match.group(0)
            if spec == "%%":
                return "%"
            value = values[used] if used < len(values) else ""
            used += 1
            conversion = spec[-1]
            if conversion in "di":
                try:
                    number = int(value or "0")
                except ValueError:
                    out.stderr += f"printf: invalid number '{value}'\n".encode()
                    status = 1
                    number = 0
                return (spec[:-1] + "d") % number
            if conversion == "b":
                return _escapes(value)[0]
            return (spec[:-1] + "s") % value

        text = re.sub(r"%[-+ 0#]*\d*(?:\.\d+)?[sdib%]", substitute, template)
        pieces.append(_escapes(text)[0])
        out.stdout += "".join(pieces).encode()
        values = values[used:]
        if not values or used == 0:
            return status


def _test(shell: Shell, args: list[str], out: Output) -> int:
    try:
        return 0 if _evaluate(shell, args) else 1
    except ValueError as error:
        out.stderr += f"sh: {error}\n".encode()
        return 2


def _evaluate(shell: Shell, args: list[str]) -> bool:
    if not args:
        return False
    if args[0] == "!":
        return not _evaluate(shell, args[1:])
    for index, argument in enumerate(args):
        if argument in ("-a", "-o") and 0 < index < len(args) - 1:
            first, second = _evaluate(shell, args[:index]), _evaluate(shell, args[index + 1:])
            return (first and second) if argument == "-a" else (first or second)
    if len(args) == 1:
        return args[0] != ""
    if len(args) == 2:
        flag, operand = args
        files = shell.container.files
        path = shell._path(operand)
        if flag == "-z":
            return operand == ""
        if flag == "-n":
            return operand != ""
        if flag in ("-e", "-f", "-r", "-s"):
            return path in files and (flag != "-s" or bool(files[path]))
        if flag == "-d":
            is_dir = getattr(files, "is_dir", None)
            if is_dir is not None:
                return bool(is_dir(path))
            return any(name.startswith(path.rstrip("/") + "/") for name in files) or path in ("/", "/tmp", "/etc")
        raise ValueError(f"{flag}: unknown operand")
    if len(args) == 3:
        left, comparison, right = args
        if comparison in ("=", "=="):
            return left == right
        if comparison == "!=":
            return left != right
        numbers = {"-eq": lambda a, b: a == b, "-ne": lambda a, b: a != b, "-lt": lambda a, b: a < b,
                   "-le": lambda a, b: a <= b, "-gt": lambda a, b: a > b, "-ge": lambda a, b: a >= b}
        if comparison in numbers:
            try:
                return bool(numbers[comparison](int(left), int(right)))
            except ValueError:
                bad = left if not left.lstrip("-").isdigit() else right
                raise ValueError(f"{bad}: bad number") from None
    raise ValueError("test: syntax error" if len(args) > 3 else f"{args[0]}: unknown operand")


def _read(shell: Shell, args: list[str], stdin: Input) -> int:
    names = [argument for argument in args if not argument.startswith("-")]
    raw = "-r" in args
    line = stdin.read_line()
    if line is None:
        for name in names or ["REPLY"]:
            shell.variables[name] = ""
        return 1
    text = line.decode(errors="replace").rstrip("\n")
    if not raw:
        text = re.sub(r"\\(.)", r"\1", text)
    names = names or ["REPLY"]
    fields = text.split(None, len(names) - 1) if len(names) > 1 else [text.strip()]
    for index, name in enumerate(names):
        shell.variables[name] = fields[index] if index < len(fields) else ""
    return 0


def _seq(args: list[str], out: Output) -> int:
    try:
        numbers = [int(argument) for argument in args]
    except ValueError:
        out.stderr += f"seq: invalid number '{next(a for a in args if not a.lstrip('-').isdigit())}'\n".encode()
        return 1
    if not 1 <= len(numbers) <= 3:
        out.stderr += b"Usage: seq [-w] [-s SEP] [FIRST [INC]] LAST\n"
        return 1
    first, step, last = (1, 1, numbers[0]) if len(numbers) == 1 else (numbers[0], 1, numbers[1]) if len(numbers) == 2 else tuple(numbers)
    if step == 0:
        return 0
    values = range(first, last + (1 if step > 0 else -1), step)
    out.stdout += "".join(f"{value}\n" for value in values).encode()
    return 0


def _sleep(args: list[str], out: Output) -> int:
    total = 0.0
    for argument in args:
        match = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd]?)", argument)
        if not match:
            out.stderr += f"sleep: invalid number '{argument}'\n".encode()
            return 1
        total += float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    if not args:
        out.stderr += b"Usage: sleep [N]...\n"
        return 1
    out.delay += total
    return 0
