"""The Corefile as CoreDNS 1.11.3 reads it: coredns/caddy's caddyfile lexer and parser.

Tokens are words separated by white space (a ``"quoted word"`` may hold spaces, ``#`` starts a
comment to the end of the line); the parser groups them into server blocks (their keys, then
each directive's tokens, every occurrence of a directive after the one before). Errors are
caddy's, word for word, with the file and line of the token they are about
(``/etc/coredns/Corefile:3 - Error during parsing: Unknown directive 'kubernets'``).

:func:`config_digest` is what the reload plugin logs and compares (``Running configuration
SHA512 = ...``): the SHA-512 of the server blocks as Go's ``json.Marshal`` writes them, so the
default kubeadm Corefile gives the very digest a kind cluster's CoreDNS logs.
"""

from __future__ import annotations

import fnmatch
import hashlib
import posixpath
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

MAX_EXPANSIONS = 1000
"""caddy's cap on snippet and file imports in one parse."""


class CorefileError(Exception):
    """A Corefile caddy refuses; ``str()`` is caddy's own text."""


@dataclass(frozen=True)
class Token:
    line: int
    text: str
    file: str = ""
    """The file it came from when imported; caddy leaves it empty for the Corefile itself."""


@dataclass
class ServerBlock:
    keys: list[str]
    tokens: dict[str, list[Token]] = field(default_factory=dict)
    """Each directive's tokens, the directive's own name first, every occurrence in turn."""


@dataclass(frozen=True)
class Sources:
    """What an ``import`` may read: the container's files."""

    read: Callable[[str], bytes | None]
    names: Callable[[], Collection[str]]


def tokenize(text: str, file: str = "") -> list[Token]:
    """caddy's lexer over the whole text."""
    if text.startswith("\ufeff"):
        text = text[1:]
    found: list[Token] = []
    line, start = 1, 1
    value: list[str] = []
    in_token = quoted = escaped = comment = False
    for ch in text:
        if quoted:
            if not escaped:
                if ch == "\\":
                    escaped = True
                    continue
                if ch == '"':
                    found.append(Token(start, "".join(value), file))
                    value, in_token, quoted = [], False, False
                    continue
            if ch == "\n":
                line += 1
            if escaped and ch != '"':
                value.append("\\")  # only quotes are escaped
            value.append(ch)
            escaped = False
            continue
        if ch.isspace():
            if ch == "\r":
                continue
            if ch == "\n":
                line += 1
                comment = False
            if value:
                found.append(Token(start, "".join(value), file))
                value, in_token = [], False
            continue
        if ch == "#":
            comment = True
        if comment:
            continue
        if not in_token:
            in_token, start = True, line
            if ch == '"':
                quoted = True
                continue
        value.append(ch)
    if value:
        found.append(Token(start, "".join(value), file))
    return found


def replace_env_vars(text: str, environment: Mapping[str, str]) -> str:
    """``{$NAME}`` and ``{%NAME%}`` replaced by the process's environment (empty when unset)."""
    for opening, closing in (("{%", "%}"), ("{$", "}")):
        index = text.find(opening)
        while index != -1:
            end = text.find(closing, index)
            if end == -1 or end <= index + len(opening):
                break
            reference = text[index:end + len(closing)]
            text = text.replace(reference, environment.get(reference[len(opening):-len(closing)], ""))
            index = text.find(opening)
    return text


def parse(text: str, filename: str, valid_directives: Collection[str] | None, *, environment: Mapping[str, str] | None = None,
          sources: Sources | None = None, warnings: list[str] | None = None) -> list[ServerBlock]:
    """The server blocks of ``text``; ``valid_directives`` None accepts any directive (as the
    reload plugin's digest does). What caddy logs on its way (an import glob matching nothing)
    is added to ``warnings``.

    Raises:
        CorefileError: caddy's parse error.
    """
    parser = _Parser(filename, tokenize(text), valid_directives, environment or {}, sources)
    blocks = parser.parse_all()
    if warnings is not None:
        warnings += parser.warnings
    return blocks


class _Parser:
    def __init__(self, filename: str, tokens: list[Token], valid: Collection[str] | None, environment: Mapping[str, str],
                 sources: Sources | None) -> None:
        self.filename, self.tokens, self.valid, self.environment, self.sources = filename, tokens, valid, environment, sources
        self.cursor = -1
        self.block = ServerBlock([])
        self.eof = False
        self.snippets: dict[str, list[Token]] = {}
        self.snippet_expansions = 0
        self.file_expansions = 0
        self.warnings: list[str] = []

    # -- the dispenser's moves ----------------------------------------------------------------

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
        if self.cursor < len(self.tokens) - 1 and self._same_line(self.cursor):
            self.cursor += 1
            return True
        return False

    def _same_line(self, index: int) -> bool:
        here, after = self.tokens[index], self.tokens[index + 1]
        return here.file == after.file and here.line + here.text.count("\n") == after.line

    def val(self) -> str:
        return self.tokens[self.cursor].text if 0 <= self.cursor < len(self.tokens) else ""

    def line(self) -> int:
        return self.tokens[self.cursor].line if 0 <= self.cursor < len(self.tokens) else 0

    def file(self) -> str:
        if 0 <= self.cursor < len(self.tokens) and self.tokens[self.cursor].file:
            return self.tokens[self.cursor].file
        return self.filename

    def is_new_line(self) -> bool:
        if self.cursor < 1:
            return True
        if self.cursor > len(self.tokens) - 1:
            return False
        before, here = self.tokens[self.cursor - 1], self.tokens[self.cursor]
        return before.file != here.file or before.line + before.text.count("\n") < here.line

    def err(self, message: str) -> CorefileError:
        return CorefileError(f"{self.file()}:{self.line()} - Error during parsing: {message}")

    def syntax_err(self, expected: str) -> CorefileError:
        return CorefileError(f"{self.file()}:{self.line()} - Syntax error: Unexpected token '{self.val()}', expecting '{expected}'")

    def arg_err(self) -> CorefileError:
        if self.val() == "{":
            return self.err("Unexpected token '{', expecting argument")
        return self.err(f"Wrong argument count or unexpected line ending after '{self.val()}'")

    # -- the parser ------------------------------------------------------------------------------

    def parse_all(self) -> list[ServerBlock]:
        blocks: list[ServerBlock] = []
        while self.next():
            self.block = ServerBlock([])
            self._begin()
            if self.block.keys:
                blocks.append(self.block)
        return blocks

    def _begin(self) -> None:
        if not self.tokens:
            return
        self._addresses()
        if self.eof:
            return  # a line of addresses and nothing else
        keys = self.block.keys
        if len(keys) == 1 and keys[0].startswith("(") and keys[0].endswith(")"):
            name = keys[0][1:].removesuffix(")")
            if name in self.snippets:
                raise self.err(f"redeclaration of previously declared snippet {name}")
            self.snippets[name] = self._snippet_tokens()
            self.block.keys = []
            return
        self._block_contents()

    def _addresses(self) -> None:
        expecting_another = False
        while True:
            value = replace_env_vars(self.val(), self.environment)
            if value == "import" and self.is_new_line():
                self._import()
                continue
            if value == "{":
                if expecting_another:
                    raise self.err(f"Expected another address but had '{value}' - check for extra comma")
                break
            if value:
                expecting_another = value.endswith(",")
                self.block.keys.append(value[:-1] if expecting_another else value)
            has_next = self.next()
            if expecting_another and not has_next:
                raise self.err("Unexpected EOF")
            if not has_next:
                self.eof = True
                break
            if not expecting_another and self.is_new_line():
                break

    def _block_contents(self) -> None:
        opened = self.val() == "{"
        if not opened:
            self.cursor -= 1  # a single server block needs no braces
        self._directives()
        if opened and self.val() != "}":
            raise self.syntax_err("}")

    def _directives(self) -> None:
        while self.next():
            if self.val() == "}":
                break
            if self.val() == "import":
                self._import()
                self.cursor -= 1
                continue
            self._directive()

    def _directive(self) -> None:
        name = replace_env_vars(self.val(), self.environment)
        if self.valid is not None and name not in self.valid:
            raise self.err(f"Unknown directive '{name}'")
        collected = self.block.tokens.setdefault(name, [])
        collected.append(self.tokens[self.cursor])
        nesting = 0
        while self.next():
            if self.val() == "{":
                nesting += 1
            elif self.is_new_line() and nesting == 0:
                self.cursor -= 1  # read too far
                break
            elif self.val() == "}" and nesting > 0:
                nesting -= 1
            elif self.val() == "}" and nesting == 0:
                raise self.err("Unexpected '}' because no matching opening brace")
            elif self.val() == "import" and self.is_new_line():
                self._import()
                self.cursor -= 1
                continue
            token = self.tokens[self.cursor]
            token = Token(token.line, replace_env_vars(token.text, self.environment), token.file)
            self.tokens[self.cursor] = token
            collected.append(token)
        if nesting > 0:
            raise self.err("Unexpected EOF")

    def _snippet_tokens(self) -> list[Token]:
        if self.val() != "{":
            raise self.syntax_err("{")
        count, taken = 1, []
        while self.next():
            if self.val() == "}":
                count -= 1
                if count == 0:
                    break
            if self.val() == "{":
                count += 1
            taken.append(self.tokens[self.cursor])
        if count != 0:
            raise self.syntax_err("}")
        return taken

    def _import(self) -> None:
        """Splice the imported snippet's or files' tokens in place of ``import PATTERN``."""
        if not self.next_arg():
            raise self.arg_err()
        pattern = replace_env_vars(self.val(), self.environment)
        if not pattern:
            raise self.err("Import requires a non-empty filepath")
        if self.next_arg():
            raise self.err("Import takes only one argument (glob pattern or file)")
        before, after = self.tokens[:self.cursor - 1], self.tokens[self.cursor + 1:]
        if pattern in self.snippets:
            if self.snippet_expansions >= MAX_EXPANSIONS:
                raise self.err(f"maximum snippet import depth ({MAX_EXPANSIONS}) exceeded")
            self.snippet_expansions += 1
            imported = list(self.snippets[pattern])
        else:
            imported = self._import_files(pattern)
        self.tokens = before + imported + after
        self.cursor -= 1

    def _import_files(self, pattern: str) -> list[Token]:
        if self.file_expansions >= MAX_EXPANSIONS:
            raise self.err(f"maximum file import depth ({MAX_EXPANSIONS}) exceeded")
        self.file_expansions += 1
        folder = posixpath.dirname(posixpath.join("/", self.file()))
        wanted = pattern if pattern.startswith("/") else posixpath.join(folder, pattern)
        if wanted.count("*") > 1 or wanted.count("?") > 1 or ("[" in wanted and "]" in wanted):
            raise self.err(f"Glob pattern may only contain one wildcard (*), but has others: {wanted}")
        names = sorted(self.sources.names()) if self.sources is not None else []
        matches = [name for name in names if fnmatch.fnmatchcase(name, wanted) and posixpath.dirname(name) == posixpath.dirname(wanted)]
        if not matches:
            if any(ch in wanted for ch in "*?[]"):
                self.warnings.append(f"[WARNING] No files matching import glob pattern: {pattern}")
                return []
            raise self.err(f"File to import not found: {pattern}")
        imported: list[Token] = []
        for name in matches:
            content = self.sources.read(name) if self.sources is not None else None
            imported += tokenize((content or b"").decode(errors="replace"), name)
        return imported


def config_digest(blocks: list[ServerBlock]) -> str:
    """The hex SHA-512 of ``json.Marshal(serverBlocks)``, as caddy's reload plugin computes it."""
    parts = []
    for block in blocks:
        directives = ",".join(
            f"{_go_json(name)}:[" + ",".join(f'{{"File":{_go_json(t.file)},"Line":{t.line},"Text":{_go_json(t.text)}}}' for t in tokens) + "]"
            for name, tokens in sorted(block.tokens.items()))
        parts.append(f'{{"Keys":[{",".join(_go_json(key) for key in block.keys)}],"Tokens":{{{directives}}}}}')
    return hashlib.sha512(f"[{','.join(parts)}]".encode()).hexdigest()


_GO_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
               "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _go_json(text: str) -> str:
    """A string as Go's encoding/json writes it (HTML-safe: <, > and & escaped)."""
    return '"' + "".join(_GO_ESCAPES.get(ch) or (f"\\u{ord(ch):04x}" if ord(ch) < 0x20 else ch) for ch in text) + '"'
