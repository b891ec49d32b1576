"""The sandbox's sh, reading: shell text into tokens, and words into their parts, as POSIX sh
(busybox ash) reads them.

Words keep their quoting as parts (literal text, ``$name``/``${...}``, ``$(...)``,
``$((...))``, each marked quoted or not), so expansion happens when a command runs, with the
values of that moment. A here-document's body is read at the newline after its operator.
Errors are busybox's: ``sh: syntax error: unterminated quoted string``; text that ends inside a
quotation raises :class:`Incomplete`, so an interactive shell can ask for the rest (``> ``).
"""

from __future__ import annotations

from dataclasses import dataclass

OPERATORS = ("&&", "||", ";;", "<<-", "<<", ">>", ">&", "<&", ">|", "|", "&", ";", "<", ">", "(", ")")


class ShellSyntaxError(Exception):
    """``sh: syntax error: ...`` (exit 2)."""


class Incomplete(ShellSyntaxError):
    """The text ends inside a construct or a quotation: more lines are needed."""


# -- words ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    kind: str
    """lit, param (``text`` is what is inside ``${}`` or the name), command (its source), arith."""
    text: str
    quoted: bool


@dataclass(frozen=True)
class Word:
    parts: tuple[Part, ...]
    raw: str

    @property
    def literal(self) -> str | None:
        """The word's text when it is plain, unquoted letters (a keyword or a name)."""
        if len(self.parts) == 1 and self.parts[0].kind == "lit" and not self.parts[0].quoted:
            return self.parts[0].text
        return None


# -- tokens --------------------------------------------------------------------------------


@dataclass
class Token:
    kind: str
    """word, op, newline, io (a redirection's fd number), eof."""
    value: str
    word: Word | None = None


class _Lexer:
    """Tokens of the whole text. A here-document's body starts on the line after its
    operator: the word after ``<<`` is queued as a delimiter, and the body read at the next
    newline, kept by the delimiter token's index."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0
        self.pending_heredocs: list[tuple[int, str, bool, bool]] = []
        self.heredoc_bodies: dict[int, tuple[str, bool]] = {}

    def tokens(self) -> list[Token]:
        found: list[Token] = []
        text = self.text
        while True:
            while self.position < len(text) and text[self.position] in " \t":
                self.position += 1
            if self.position >= len(text):
                if self.pending_heredocs:
                    raise Incomplete("unexpected end of file (expecting here-document end)")
                found.append(Token("eof", ""))
                return found
            char = text[self.position]
            if char == "\\" and text.startswith("\\\n", self.position):
                self.position += 2
                continue
            if char == "#":
                while self.position < len(text) and text[self.position] != "\n":
                    self.position += 1
                continue
            if char == "\n":
                self.position += 1
                found.append(Token("newline", "\n"))
                self._read_heredocs()
                continue
            operator = next((op for op in OPERATORS if text.startswith(op, self.position)), None)
            if operator:
                self.position += len(operator)
                found.append(Token("op", operator))
                continue
            word = self._word()
            follows = text[self.position:self.position + 1]
            if word.raw.isdigit() and follows in ("<", ">"):
                found.append(Token("io", word.raw))
                continue
            found.append(Token("word", word.raw, word))
            if len(found) >= 2 and found[-2].kind == "op" and found[-2].value in ("<<", "<<-"):
                delimiter = "".join(part.text for part in word.parts)
                expands = all(not part.quoted for part in word.parts)
                self.pending_heredocs.append((len(found) - 1, delimiter, found[-2].value == "<<-", expands))

    def _word(self) -> Word:
        text, start = self.text, self.position
        parts: list[Part] = []
        literal: list[str] = []

        def flush(quoted: bool) -> None:
            if literal:
                parts.append(Part("lit", "".join(literal), quoted))
                literal.clear()

        while self.position < len(text):
            char = text[self.position]
            if char in " \t\n;&|<>()":
                break
            if char == "\\":
                if self.position + 1 < len(text):
                    if text[self.position + 1] == "\n":
                        self.position += 2
                        continue
                    flush(False)
                    parts.append(Part("lit", text[self.position + 1], True))
                    self.position += 2
                    continue
                self.position += 1
                continue
            if char == "'":
                end = text.find("'", self.position + 1)
                if end < 0:
                    raise Incomplete("unterminated quoted string")
                flush(False)
                parts.append(Part("lit", text[self.position + 1:end], True))
                self.position = end + 1
                continue
            if char == '"':
                flush(False)
                self.position += 1
                parts.extend(self._double_quoted())
                continue
            if char == "$" or char == "`":
                expansion = self._expansion(quoted=False)
                if expansion is not None:
                    flush(False)
                    parts.append(expansion)
                    continue
            literal.append(char)
            self.position += 1
        flush(False)
        if not parts:
            parts.append(Part("lit", "", True))
        return Word(tuple(parts), text[start:self.position])

    def _double_quoted(self) -> list[Part]:
        return self._quoted_parts(closing=True)

    def _double_quoted_text(self, *, quotes: bool = False) -> list[Part]:
        """The whole text read as the inside of double quotes (a here-document's body), or with
        ``quotes`` as the word of ``${name:-word}`` (its quotes removed)."""
        return self._quoted_parts(closing=False, quotes=quotes)

    def _quoted_parts(self, *, closing: bool, quotes: bool = False) -> list[Part]:
        """The parts of double-quoted text: up to the closing ``"`` (``closing``; an empty
        string is still a word), or to the end of the text."""
        text = self.text
        parts: list[Part] = []
        literal: list[str] = []
        escapable = '$`\\\n' + ('"' if closing or quotes else "")
        while True:
            if self.position >= len(text):
                if closing:
                    raise Incomplete("unterminated quoted string")
                break
            char = text[self.position]
            if closing and char == '"':
                self.position += 1
                break
            if char == "\\" and self.position + 1 < len(text) and text[self.position + 1] in escapable:
                if text[self.position + 1] != "\n":
                    literal.append(text[self.position + 1])
                self.position += 2
                continue
            if quotes and char == "'":
                end = text.find("'", self.position + 1)
                end = len(text) if end < 0 else end
                literal.append(text[self.position + 1:end])
                self.position = end + 1
                continue
            if quotes and char == '"':
                self.position += 1
                continue
            if char in "$`":
                expansion = self._expansion(quoted=True)
                if expansion is not None:
                    if literal:
                        parts.append(Part("lit", "".join(literal), True))
                        literal.clear()
                    parts.append(expansion)
                    continue
            literal.append(char)
            self.position += 1
        if literal or closing:
            parts.append(Part("lit", "".join(literal), True))
        return parts

    def _expansion(self, *, quoted: bool) -> Part | None:
        text, start = self.text, self.position
        if text[start] == "`":
            end = text.find("`", start + 1)
            if end < 0:
                raise Incomplete("unterminated quoted string")
            self.position = end + 1
            return Part("command", text[start + 1:end], quoted)
        following = text[start + 1:start + 2]
        if text.startswith("$((", start):
            end = _closing(text, start + 3, "((", "))")
            self.position = end + 2
            return Part("arith", text[start + 3:end], quoted)
        if following == "(":
            end = _closing(text, start + 2, "(", ")")
            self.position = end + 1
            return Part("command", text[start + 2:end], quoted)
        if following == "{":
            end = _closing(text, start + 2, "{", "}")
            self.position = end + 1
            return Part("param", text[start + 2:end], quoted)
        if following and (following.isalnum() or following == "_"):
            end = start + 1
            if following.isdigit():
                end = start + 2
            else:
                while end < len(text) and (text[end].isalnum() or text[end] == "_"):
                    end += 1
            self.position = end
            return Part("param", text[start + 1:end], quoted)
        if following and following in "?#@*$!-":
            self.position = start + 2
            return Part("param", following, quoted)
        return None

    def _read_heredocs(self) -> None:
        text = self.text
        for index, delimiter, strip, expands in self.pending_heredocs:
            lines: list[str] = []
            while True:
                if self.position >= len(text):
                    raise Incomplete(f'unexpected end of file (expecting "{delimiter}")')
                end = text.find("\n", self.position)
                line = text[self.position:] if end < 0 else text[self.position:end]
                self.position = len(text) if end < 0 else end + 1
                if strip:
                    line = line.lstrip("\t")
                if line == delimiter:
                    break
                lines.append(line + "\n")
            self.heredoc_bodies[index] = ("".join(lines), expands)
        self.pending_heredocs.clear()


def _closing(text: str, position: int, opening: str, closing: str) -> int:
    """Where the ``closing`` matching an already-open ``opening`` starts (quotes skipped)."""
    depth = 1
    while position < len(text):
        if text[position] == "'" and opening != "{":
            end = text.find("'", position + 1)
            if end < 0:
                break
            position = end + 1
            continue
        if text.startswith(closing, position):
            depth -= 1
            if depth == 0:
                return position
            position += len(closing)
            continue
        if text.startswith(opening, position):
            depth += 1
            position += len(opening)
            continue
        position += 1
    raise Incomplete(f'unexpected end of file (expecting "{closing}")')


def is_name(text: str) -> bool:
    return bool(text) and (text[0].isalpha() or text[0] == "_") and all(c.isalnum() or c == "_" for c in text)
