"""The sandbox's sh, expanding words when a command runs: parameters and their
``${name:-default}`` forms, ``$(...)`` and backticks, ``$((...))``, field splitting, "$@",
case patterns and here-document bodies."""

from __future__ import annotations

import ast
import fnmatch
import operator
from collections.abc import Callable, Mapping
from typing import Any

from labrunner.sandbox.sh import lexer, parser
from labrunner.sandbox.sh.flow import CALL_LIMIT, Exit, ExpansionError, Input, Limit, Output
from labrunner.sandbox.sh.lexer import Word


class Expansions:
    """The expanding half of :class:`~labrunner.sandbox.sh.shell.Shell` (its state: variables,
    positional parameters, ``$?``; it runs command substitutions through ``execute``)."""

    name: str
    variables: dict[str, str]
    exported: set[str]
    functions: dict[str, Any]
    positional: list[str]
    status: int
    substitution_status: int | None = None
    """The status of the last command substitution of the command being expanded."""
    cwd: str
    locals: list[dict[str, str | None]]
    execute: Callable[..., int]

    def _expand_heredoc(self, body: str) -> str:
        word = lexer._Lexer(body)
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

    def _expand_part(self, part: lexer.Part) -> str:
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
            if found and name and (lexer.is_name(name) or name in "?#@*$!" or name.isdigit()):
                return self._operation(name, marker, rest)
        if not (lexer.is_name(text) or text in ("?", "#", "@", "*", "$", "!", "-") or text.isdigit()):
            raise ExpansionError(f"syntax error: bad substitution")
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
            raise ExpansionError(f"{name}: {self._expand_text(word) or 'parameter not set'}")
        return value or ""

    def _expand_text(self, text: str) -> str:
        reader = lexer._Lexer(text)
        return "".join(self._expand_part(part) for part in reader._double_quoted_text(quotes=True))

    def _substitute(self, source: str) -> str:
        saved = (dict(self.variables), set(self.exported), dict(self.functions), list(self.positional), self.cwd, self.status)
        out = Output()
        self.locals.append({})  # a substitution inside a substitution counts as a call
        if len(self.locals) > CALL_LIMIT:
            raise Limit(f"command substitutions nested too deep (the labrunner sandbox stops at {CALL_LIMIT})")
        code = 0
        try:
            code = self.execute(parser.parse(source), Input(b""), out)
        except Exit as ended:
            code = ended.code % 256
        except lexer.ShellSyntaxError as error:
            raise ExpansionError(f"syntax error: {error}") from None
        finally:
            self.locals.pop()
            self.variables, self.exported, self.functions, self.positional, self.cwd, status = saved
        # POSIX: a command of assignments only ends with the status of its last substitution.
        self.substitution_status = code
        return bytes(out.stdout).decode(errors="replace").rstrip("\n")

    def arithmetic(self, expression: str) -> int:
        """``$(( ))``: integers, C's operators as sh has them, names read as numbers."""
        text = self._expand_text(expression).strip() or "0"
        try:
            tree = ast.parse(text.replace("&&", " and ").replace("||", " or ").replace("!", " not ").replace(" not =", "!="),
                             mode="eval")
            return int(_Arithmetic(self).visit(tree.body))
        except ZeroDivisionError:
            raise ExpansionError("arithmetic syntax error: divide by zero") from None
        except (SyntaxError, ValueError, TypeError):
            raise ExpansionError("arithmetic syntax error") from None




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
    def __init__(self, shell: Expansions) -> None:
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
