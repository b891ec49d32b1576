"""caddy's Dispenser over one directive's tokens, as a plugin's setup function reads them
(``c.Next()``, ``c.RemainingArgs()``, ``c.NextBlock()``...), with caddy's error texts."""

from __future__ import annotations

from collections.abc import Sequence

from labrunner.sandbox.coredns.corefile import CorefileError, Token


class Controller:
    """A plugin's view of its directive in one server block (caddy.Controller)."""

    def __init__(self, filename: str, tokens: Sequence[Token], server_block_keys: Sequence[str]) -> None:
        self.filename = filename
        self.tokens = list(tokens)
        self.cursor = -1
        self.nesting = 0
        self.server_block_keys = list(server_block_keys)
        """The block's keys as the server normalised them (``dns://.:53``)."""

    def next(self) -> bool:
        if self.cursor < len(self.tokens) - 1:
            self.cursor += 1
            return True
        return False

    def next_arg(self) -> bool:
        if self.cursor < 0:
            self.cursor += 1
            return True
        if self.cursor >= len(self.tokens):
            return False
        if self.cursor < len(self.tokens) - 1:
            here, after = self.tokens[self.cursor], self.tokens[self.cursor + 1]
            if here.file == after.file and here.line + here.text.count("\n") == after.line:
                self.cursor += 1
                return True
        return False

    def next_block(self) -> bool:
        """The next token of the block the current line opens; False at its closing brace (caddy
        does not follow nested blocks)."""
        if self.nesting > 0:
            self.next()
            if self.val() == "}":
                self.nesting -= 1
                return False
            return True
        if not self.next_arg():
            return False
        if self.val() != "{":
            self.cursor -= 1
            return False
        self.next()
        if self.val() == "}":
            return False
        self.nesting += 1
        return True

    def val(self) -> str:
        return self.tokens[self.cursor].text if 0 <= self.cursor < len(self.tokens) else ""

    def line(self) -> int:
        return self.tokens[self.cursor].line if 0 <= self.cursor < len(self.tokens) else 0

    def file(self) -> str:
        if 0 <= self.cursor < len(self.tokens) and self.tokens[self.cursor].file:
            return self.tokens[self.cursor].file
        return self.filename

    def args(self, count: int) -> list[str] | None:
        """The next ``count`` arguments on the line, or None when there are fewer."""
        found = []
        for _ in range(count):
            if not self.next_arg():
                return None
            found.append(self.val())
        return found

    def remaining_args(self) -> list[str]:
        found = []
        while self.next_arg():
            if self.val() == "{":
                self.cursor -= 1
                break
            found.append(self.val())
        return found

    def err(self, message: str) -> CorefileError:
        return CorefileError(f"{self.file()}:{self.line()} - Error during parsing: {message}")

    def arg_err(self) -> CorefileError:
        if self.val() == "{":
            return self.err("Unexpected token '{', expecting argument")
        return self.err(f"Wrong argument count or unexpected line ending after '{self.val()}'")
