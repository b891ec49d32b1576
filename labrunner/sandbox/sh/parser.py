"""The sandbox's sh, parsing: tokens into a tree, as POSIX sh (busybox ash) reads them.

Errors are busybox's: ``sh: syntax error: unexpected "done"``. Text that ends inside a
construct raises :class:`~labrunner.sandbox.sh.lexer.Incomplete`, so an interactive shell can
ask for the rest (``> ``). Nesting deeper than :data:`MAX_NESTING` is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from labrunner.sandbox.sh.lexer import Incomplete, Part, ShellSyntaxError, Token, Word, _Lexer, is_name

RESERVED = {"if", "then", "elif", "else", "fi", "for", "in", "do", "done", "while", "until", "case", "esac", "{", "}", "!"}


@dataclass(frozen=True)
class Redirect:
    fd: int
    op: str
    target: Word | None
    heredoc: str | None = None
    heredoc_expands: bool = True


@dataclass
class Simple:
    assignments: list[tuple[str, Word]]
    words: list[Word]
    redirects: list[Redirect]


@dataclass
class Pipeline:
    commands: list[Node]
    negated: bool = False


@dataclass
class AndOr:
    first: Node
    rest: list[tuple[str, Node]]


@dataclass
class Sequence:
    items: list[tuple[Node, bool]]
    """Each command and whether it runs in the background (``&``)."""


@dataclass
class If:
    branches: list[tuple[Node, Node]]
    otherwise: Node | None


@dataclass
class Loop:
    until: bool
    condition: Node
    body: Node


@dataclass
class For:
    name: str
    words: list[Word] | None
    body: Node


@dataclass
class Case:
    word: Word
    arms: list[tuple[list[Word], Node | None]]


@dataclass
class Group:
    body: Node
    subshell: bool
    redirects: list[Redirect] = field(default_factory=list)


@dataclass
class Function:
    name: str
    body: Node


Node = Union[Simple, Pipeline, AndOr, Sequence, If, Loop, For, Case, Group, Function]


# -- the grammar ---------------------------------------------------------------------------


MAX_NESTING = 100
"""Constructs inside constructs the parser reads; deeper text is refused (a documented limit)."""


class _Parser:
    def __init__(self, text: str) -> None:
        lexer = _Lexer(text)
        self.tokens = lexer.tokens()
        self.heredoc_bodies = lexer.heredoc_bodies
        self.index = 0
        self.depth = 0

    # token helpers
    def peek(self) -> Token:
        return self.tokens[self.index]

    def take(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def at_reserved(self, *names: str) -> bool:
        token = self.peek()
        return token.kind == "word" and token.word is not None and token.word.literal in names

    def at_op(self, *ops: str) -> bool:
        token = self.peek()
        return token.kind == "op" and token.value in ops

    def expect_reserved(self, name: str) -> None:
        if not self.at_reserved(name):
            self.unexpected(f'(expecting "{name}")')
        self.take()

    def unexpected(self, expecting: str = "") -> None:
        token = self.peek()
        if token.kind == "eof":
            raise Incomplete(f"unexpected end of file {expecting}".rstrip())
        shown = "newline" if token.kind == "newline" else token.value
        raise ShellSyntaxError(f'unexpected "{shown}"' if token.kind != "newline" else "unexpected newline")

    def linebreak(self) -> None:
        while self.peek().kind == "newline":
            self.take()

    # grammar
    def program(self) -> Node:
        self.linebreak()
        body = self.sequence(())
        if self.peek().kind != "eof":
            self.unexpected()
        return body

    def sequence(self, terminators: tuple[str, ...]) -> Sequence:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise ShellSyntaxError(f"nesting too deep (the labrunner sandbox reads {MAX_NESTING} levels)")
        try:
            return self._sequence(terminators)
        finally:
            self.depth -= 1

    def _sequence(self, terminators: tuple[str, ...]) -> Sequence:
        items: list[tuple[Node, bool]] = []
        while True:
            self.linebreak()
            token = self.peek()
            if token.kind == "eof" or self.at_reserved(*terminators) or (token.kind == "op" and token.value in (")", ";;")):
                break
            command = self.and_or()
            background = False
            if self.at_op(";", "&"):
                background = self.take().value == "&"
            elif self.peek().kind not in ("newline", "eof") and not self.at_reserved(*terminators) and not self.at_op(")", ";;"):
                self.unexpected()
            items.append((command, background))
        return Sequence(items)

    def body(self, *terminators: str) -> Sequence:
        found = self.sequence(terminators)
        if not found.items:
            self.unexpected()
        return found

    def and_or(self) -> Node:
        first = self.pipeline()
        rest: list[tuple[str, Node]] = []
        while self.at_op("&&", "||"):
            operator = self.take().value
            self.linebreak()
            rest.append((operator, self.pipeline()))
        return AndOr(first, rest) if rest else first

    def pipeline(self) -> Node:
        negated = False
        if self.at_reserved("!"):
            self.take()
            negated = True
        commands = [self.command()]
        while self.at_op("|"):
            self.take()
            self.linebreak()
            commands.append(self.command())
        return Pipeline(commands, negated) if negated or len(commands) > 1 else commands[0]

    def command(self) -> Node:
        token = self.peek()
        if token.kind == "op" and token.value == "(":
            self.take()
            body = self.sequence(())
            if not self.at_op(")"):
                self.unexpected('(expecting ")")')
            self.take()
            return Group(body, True, self.redirects())
        if token.kind == "word" and token.word is not None:
            keyword = token.word.literal
            if keyword == "{":
                self.take()
                body = self.body("}")
                self.expect_reserved("}")
                return Group(body, False, self.redirects())
            compound: Node | None = None
            if keyword == "if":
                compound = self.if_clause()
            elif keyword in ("while", "until"):
                self.take()
                condition = self.body("do")
                self.expect_reserved("do")
                loop_body = self.body("done")
                self.expect_reserved("done")
                compound = Loop(keyword == "until", condition, loop_body)
            elif keyword == "for":
                compound = self.for_clause()
            elif keyword == "case":
                compound = self.case_clause()
            if compound is not None:
                redirects = self.redirects()
                return Group(compound, False, redirects) if redirects else compound
            if keyword in RESERVED and keyword != "!":
                self.unexpected()
            following = self.tokens[self.index + 1]
            if (keyword and is_name(keyword) and following.kind == "op" and following.value == "("
                    and self.tokens[self.index + 2].kind == "op" and self.tokens[self.index + 2].value == ")"):
                self.index += 3
                self.linebreak()
                return Function(keyword, self.command())
        return self.simple()

    def if_clause(self) -> If:
        self.take()
        branches: list[tuple[Node, Node]] = []
        otherwise: Node | None = None
        while True:
            condition = self.body("then")
            self.expect_reserved("then")
            branches.append((condition, self.body("elif", "else", "fi")))
            if self.at_reserved("elif"):
                self.take()
                continue
            if self.at_reserved("else"):
                self.take()
                otherwise = self.body("fi")
            self.expect_reserved("fi")
            return If(branches, otherwise)

    def for_clause(self) -> For:
        self.take()
        token = self.take()
        if token.kind != "word" or token.word is None or not is_name(token.word.literal or ""):
            raise ShellSyntaxError(f'bad for loop variable' if token.kind == "word" else f'unexpected "{token.value}"')
        name = token.word.literal or ""
        words: list[Word] | None = None
        self.linebreak()
        if self.at_reserved("in"):
            self.take()
            words = []
            while self.peek().kind == "word":
                word = self.take().word
                assert word is not None
                words.append(word)
            if not (self.at_op(";") or self.peek().kind == "newline"):
                self.unexpected()
            self.take()
        elif self.at_op(";"):
            self.take()
        self.linebreak()
        self.expect_reserved("do")
        body = self.body("done")
        self.expect_reserved("done")
        return For(name, words, body)

    def case_clause(self) -> Case:
        self.take()
        token = self.take()
        if token.kind != "word" or token.word is None:
            self.index -= 1
            self.unexpected()
        subject = token.word
        assert subject is not None
        self.linebreak()
        self.expect_reserved("in")
        arms: list[tuple[list[Word], Node | None]] = []
        while True:
            self.linebreak()
            if self.at_reserved("esac"):
                self.take()
                return Case(subject, arms)
            if self.at_op("("):
                self.take()
            patterns: list[Word] = []
            while True:
                pattern = self.take()
                if pattern.kind != "word" or pattern.word is None:
                    self.index -= 1
                    self.unexpected()
                assert pattern.word is not None
                patterns.append(pattern.word)
                if self.at_op("|"):
                    self.take()
                    continue
                break
            if not self.at_op(")"):
                self.unexpected('(expecting ")")')
            self.take()
            body = self.sequence(("esac",))
            arms.append((patterns, body if body.items else None))
            if self.at_op(";;"):
                self.take()
            elif not self.at_reserved("esac"):
                self.unexpected('(expecting "esac")')

    def redirects(self) -> list[Redirect]:
        found: list[Redirect] = []
        while True:
            redirect = self.redirect()
            if redirect is None:
                return found
            found.append(redirect)

    def redirect(self) -> Redirect | None:
        token = self.peek()
        fd: int | None = None
        if token.kind == "io":
            self.take()
            fd = int(token.value)
            token = self.peek()
        if not (token.kind == "op" and token.value in ("<", ">", ">>", ">&", "<&", ">|", "<<", "<<-")):
            if fd is not None:
                self.unexpected()
            return None
        operator = self.take().value
        target = self.take()
        if target.kind != "word" or target.word is None:
            self.index -= 1
            self.unexpected()
        assert target.word is not None
        default_fd = 0 if operator.startswith("<") else 1
        if operator in ("<<", "<<-"):
            body, expands = self.heredoc_bodies.get(self.index - 1, ("", True))
            return Redirect(default_fd if fd is None else fd, operator, None, body, expands)
        return Redirect(default_fd if fd is None else fd, operator, target.word)

    def simple(self) -> Simple:
        assignments: list[tuple[str, Word]] = []
        words: list[Word] = []
        redirects: list[Redirect] = []
        while True:
            redirect = self.redirect()
            if redirect is not None:
                redirects.append(redirect)
                continue
            token = self.peek()
            if token.kind != "word" or token.word is None:
                break
            word = token.word
            name, equals, _ = word.raw.partition("=")
            if not words and equals and is_name(name) and word.parts[0].kind == "lit" and not word.parts[0].quoted:
                self.take()
                assignments.append((name, _after_equals(word, len(name) + 1)))
                continue
            self.take()
            words.append(word)
        if not (assignments or words or redirects):
            self.unexpected()
        return Simple(assignments, words, redirects)


def _after_equals(word: Word, skip: int) -> Word:
    """The value of ``NAME=value``: the word without its first ``skip`` characters."""
    first = word.parts[0]
    rest = first.text[skip:]
    parts = ((Part("lit", rest, False),) if rest else ()) + word.parts[1:]
    return Word(parts or (Part("lit", "", True),), word.raw[skip:])


def parse(text: str) -> Node:
    """The tree of ``text``.

    Raises:
        Incomplete: the text ends inside a construct or a quotation.
        ShellSyntaxError: busybox's ``syntax error`` text.
    """
    try:
        return _Parser(text).program()
    except RecursionError:  # deep $( ) inside ( ) inside ...: what the interpreter's stack holds
        raise ShellSyntaxError(f"nesting too deep (the labrunner sandbox reads {MAX_NESTING} levels)") from None
