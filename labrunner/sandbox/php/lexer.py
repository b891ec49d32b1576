"""PHP source to tokens, as PHP 8.3's scanner cuts them: inline HTML, open and close tags,
and interpolated strings split into literal text and the tokens of each embedded expression.

Strings are Python ``str`` decoded with ``surrogateescape``, so any byte of the page survives
the round trip back to bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from labrunner.sandbox.php.errors import ParseError

KEYWORDS = frozenset("""
abstract and array as break callable case catch class clone const continue declare default do echo else elseif
empty enddeclare endfor endforeach endif endswitch endwhile enum exit die extends final finally fn for foreach
function global goto if implements include include_once instanceof insteadof interface isset list match namespace
new or print private protected public readonly require require_once return static switch throw trait try unset
use var while xor yield
""".split())

CASTS = {"int": "int", "integer": "int", "bool": "bool", "boolean": "bool", "float": "float", "double": "float",
         "real": "float", "string": "string", "binary": "string", "array": "array", "object": "object",
         "unset": "unset"}

# Longest first, so that "===" wins over "==" and "=".
OPERATORS = sorted("""
<<= >>= **= ... <=> === !== ??= ?-> ++ -- -> => :: == != <> <= >= && || ?? += -= *= /= .= %= &= |= ^= << >> **
+ - * / % = < > ! . ( ) [ ] { } , ; ? : & | ^ ~ @ $ " ` \\
""".split(), key=len, reverse=True)

_NUMBER = re.compile(r"0[xX][0-9a-fA-F]+(?:_[0-9a-fA-F]+)*|0[bB][01]+(?:_[01]+)*|0[oO][0-7]+(?:_[0-7]+)*"
                     r"|(?:\d+(?:_\d+)*)?\.\d+(?:_\d+)*(?:[eE][+-]?\d+(?:_\d+)*)?|\d+(?:_\d+)*\.(?:\d+(?:_\d+)*)?"
                     r"(?:[eE][+-]?\d+(?:_\d+)*)?|\d+(?:_\d+)*[eE][+-]?\d+(?:_\d+)*|\d+(?:_\d+)*")
_IDENT = re.compile(r"\\?[a-zA-Z_\x80-\uffff][a-zA-Z0-9_\x80-\uffff]*(?:\\[a-zA-Z_\x80-\uffff][a-zA-Z0-9_\x80-\uffff]*)*")
_NAME = re.compile(r"[a-zA-Z_\x80-\uffff][a-zA-Z0-9_\x80-\uffff]*")
_CAST = re.compile(r"\([ \t]*([a-zA-Z]+)[ \t]*\)")
_HEREDOC = re.compile(r"<<<[ \t]*(?:([a-zA-Z_][a-zA-Z0-9_]*)|\"([a-zA-Z_][a-zA-Z0-9_]*)\"|'([a-zA-Z_][a-zA-Z0-9_]*)')\r?\n")
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "v": "\v", "e": "\x1b", "f": "\f", "\\": "\\", "$": "$"}

PHP_INT_MAX = 2**63 - 1


@dataclass
class Token:
    kind: str
    """inline_html, open_echo, close_tag, var, ident, keyword, int, float, string, template, cast, op, eof."""
    value: str
    line: int
    parts: list[str | list[Token]] = field(default_factory=list)
    """For a template (an interpolated string): literal text and each embedded expression's tokens."""
    number: int | float = 0
    quote: str = ""
    """For a constant string: ' or \", which names it in a parse error."""

    def describe(self) -> str:
        """How PHP's parse error names this token after "unexpected"."""
        if self.kind == "eof":
            return "end of file"
        if self.kind == "var":
            return f'variable "${self.value}"'
        if self.kind == "ident":
            return f'identifier "{self.value}"'
        if self.kind == "int":
            return f'integer "{self.value}"'
        if self.kind == "float":
            return f'floating-point number "{self.value}"'
        if self.kind == "string":
            kind = "single" if self.quote == "'" else "double"
            return f'{kind}-quoted string "{self.value}"'
        if self.kind == "template":
            return 'token """'
        if self.kind == "inline_html":
            return 'inline html'
        if self.kind == "close_tag":
            return 'token "?>"'
        if self.kind == "cast":
            return f'token "({self.value})"'
        return f'token "{self.value}"'


def tokenize(source: str) -> list[Token]:
    """Cut a whole file into tokens, starting in HTML mode as PHP does."""
    return _Lexer(source).run()


class _Lexer:
    def __init__(self, source: str) -> None:
        self.src = source
        self.pos = 0
        self.line = 1
        self.out: list[Token] = []

    def run(self) -> list[Token]:
        self.html()
        while self.pos < len(self.src):
            self.code(self.out, stop_at_brace=False)
            if self.pos < len(self.src):
                self.html()
        self.out.append(Token("eof", "", self.line))
        return self.out

    def advance(self, n: int) -> str:
        text = self.src[self.pos:self.pos + n]
        self.line += text.count("\n")
        self.pos += n
        return text

    def html(self) -> None:
        """Inline HTML up to the next open tag; short tags are on, as without a php.ini."""
        start = self.pos
        index = self.src.find("<?", self.pos)
        end = len(self.src) if index < 0 else index
        if end > start:
            self.out.append(Token("inline_html", self.src[start:end], self.line))
            self.advance(end - start)
        if index < 0:
            return
        rest = self.src[self.pos:self.pos + 6]
        if rest.lower().startswith("<?php") and (len(rest) == 5 or rest[5] in " \t\r\n"):
            self.advance(5)
            if self.src.startswith("\r\n", self.pos):
                self.advance(2)
            elif self.pos < len(self.src) and self.src[self.pos] in " \t\n":
                self.advance(1)
        elif rest.startswith("<?="):
            self.out.append(Token("open_echo", "<?=", self.line))
            self.advance(3)
        else:
            self.advance(2)

    def code(self, out: list[Token], stop_at_brace: bool) -> None:
        """PHP tokens up to ``?>`` (or, inside ``{$...}`` of a string, the matching brace)."""
        src = self.src
        depth = 0
        while self.pos < len(src):
            c = src[self.pos]
            if c in " \t\r\n":
                self.advance(1)
                continue
            if c == "#" and not src.startswith("#[", self.pos) or src.startswith("//", self.pos):
                end = self.pos
                while end < len(src) and src[end] != "\n" and not src.startswith("?>", end):
                    end += 1
                self.advance(end - self.pos)
                continue
            if src.startswith("/*", self.pos):
                end = src.find("*/", self.pos + 2)
                if end < 0:
                    raise ParseError("Unterminated comment starting line %d" % self.line, self.line, warning=True)
                self.advance(end + 2 - self.pos)
                continue
            if src.startswith("?>", self.pos) and not stop_at_brace:
                out.append(Token("close_tag", "?>", self.line))
                self.advance(2)
                if src.startswith("\r\n", self.pos):
                    self.advance(2)
                elif src.startswith("\n", self.pos):
                    self.advance(1)
                return
            line = self.line
            if c == "$" and (m := _NAME.match(src, self.pos + 1)):
                out.append(Token("var", m.group(), line))
                self.advance(1 + len(m.group()))
                continue
            if c.isdigit() or c == "." and self.pos + 1 < len(src) and src[self.pos + 1].isdigit():
                m = _NUMBER.match(src, self.pos)
                assert m is not None
                out.append(_number_token(m.group(), line))
                self.advance(len(m.group()))
                continue
            if (m := _IDENT.match(src, self.pos)) is not None:
                word = m.group()
                self.advance(len(word))
                name = word.lstrip("\\")
                if name.lower() in KEYWORDS and "\\" not in word:
                    out.append(Token("keyword", name.lower(), line))
                else:
                    out.append(Token("ident", name, line))
                continue
            if c == "'":
                out.append(self.single_quoted())
                continue
            if c == '"':
                out.append(self.double_quoted())
                continue
            if src.startswith("<<<", self.pos) and (m := _HEREDOC.match(src, self.pos)):
                out.append(self.heredoc(m))
                continue
            if c == "(" and (m := _CAST.match(src, self.pos)) and m.group(1).lower() in CASTS:
                out.append(Token("cast", CASTS[m.group(1).lower()], line))
                self.advance(len(m.group()))
                continue
            for op in OPERATORS:
                if src.startswith(op, self.pos):
                    break
            else:
                op = c
            if stop_at_brace:
                if op == "{":
                    depth += 1
                elif op == "}":
                    if depth == 0:
                        self.advance(1)
                        return
                    depth -= 1
            out.append(Token("op", op, line))
            self.advance(len(op))
        if stop_at_brace:
            raise ParseError('syntax error, unexpected end of file, expecting "}"', self.line)

    def single_quoted(self) -> Token:
        line = self.line
        i = self.pos + 1
        chunks: list[str] = []
        while True:
            if i >= len(self.src):
                self.advance(len(self.src) - self.pos)
                raise ParseError("syntax error, unexpected end of file", self.line)
            c = self.src[i]
            if c == "\\" and i + 1 < len(self.src) and self.src[i + 1] in "\\'":
                chunks.append(self.src[i + 1])
                i += 2
            elif c == "'":
                break
            else:
                chunks.append(c)
                i += 1
        self.advance(i + 1 - self.pos)
        return Token("string", "".join(chunks), line, quote="'")

    def double_quoted(self) -> Token:
        line = self.line
        self.advance(1)
        parts = self.interpolated(lambda: self.src.startswith('"', self.pos), '"')
        self.advance(1)
        if all(isinstance(p, str) for p in parts):
            return Token("string", "".join(p for p in parts if isinstance(p, str)), line, quote='"')
        return Token("template", '"', line, parts=parts)

    def heredoc(self, m: re.Match[str]) -> Token:
        line = self.line
        label = m.group(1) or m.group(2) or m.group(3)
        nowdoc = m.group(3) is not None
        self.advance(len(m.group()))
        closing = re.compile(r"^([ \t]*)" + re.escape(label) + r"\b", re.M)
        found = closing.search(self.src, self.pos)
        if found is None:
            self.advance(len(self.src) - self.pos)
            raise ParseError("syntax error, unexpected end of file", self.line)
        indent = len(found.group(1))
        body_end = max(found.start() - 1, self.pos)
        if nowdoc:
            body = self.src[self.pos:body_end]
            self.advance(found.end() - self.pos)
            return Token("string", _dedent(body, indent), line, quote="'")
        parts = self.interpolated(lambda: self.pos >= body_end, "")
        self.advance(found.end() - self.pos)
        if indent:
            parts = [_dedent(p, indent) if isinstance(p, str) else p for p in parts]
        if all(isinstance(p, str) for p in parts):
            return Token("string", "".join(p for p in parts if isinstance(p, str)), line, quote='"')
        return Token("template", '"', line, parts=parts)

    def interpolated(self, at_end: object, quote: str) -> list[str | list[Token]]:
        """Literal text and embedded expressions up to ``at_end()``, decoding escapes."""
        assert callable(at_end)
        parts: list[str | list[Token]] = []
        text: list[str] = []
        src = self.src
        while not at_end():
            if self.pos >= len(src):
                raise ParseError("syntax error, unexpected end of file", self.line)
            c = src[self.pos]
            if c == "\\" and self.pos + 1 < len(src):
                text.append(self.escape(quote))
                continue
            if c == "$" and (m := _NAME.match(src, self.pos + 1)):
                if text:
                    parts.append("".join(text))
                    text = []
                parts.append(self.simple_interpolation(m.group()))
                continue
            if c == "{" and src.startswith("{$", self.pos):
                if text:
                    parts.append("".join(text))
                    text = []
                self.advance(1)
                inner: list[Token] = []
                self.code(inner, stop_at_brace=True)
                parts.append(inner)
                continue
            if c == "$" and src.startswith("${", self.pos):
                raise ParseError("labrunner sandbox: the simulated PHP does not implement ${} interpolation",
                                 self.line, unsupported=True)
            text.append(c)
            self.advance(1)
        if text:
            parts.append("".join(text))
        return parts

    def escape(self, quote: str) -> str:
        src = self.src
        nxt = src[self.pos + 1]
        if nxt in _SIMPLE_ESCAPES:
            self.advance(2)
            return _SIMPLE_ESCAPES[nxt]
        if quote and nxt == quote:
            self.advance(2)
            return quote
        if m := re.match(r"\\([0-7]{1,3})", src[self.pos:self.pos + 4]):
            self.advance(len(m.group()))
            return chr(int(m.group(1), 8) & 0xFF).encode("latin-1").decode("utf-8", "surrogateescape") \
                if int(m.group(1), 8) & 0xFF >= 0x80 else chr(int(m.group(1), 8) & 0xFF)
        if m := re.match(r"\\x([0-9a-fA-F]{1,2})", src[self.pos:self.pos + 4]):
            self.advance(len(m.group()))
            value = int(m.group(1), 16)
            return bytes([value]).decode("utf-8", "surrogateescape")
        if m := re.match(r"\\u\{([0-9a-fA-F]+)\}", src[self.pos:self.pos + 12]):
            self.advance(len(m.group()))
            return chr(int(m.group(1), 16))
        self.advance(1)
        return "\\"

    def simple_interpolation(self, name: str) -> list[Token]:
        """``$name``, ``$name[key]`` or ``$name->prop`` inside a string, as tokens."""
        line = self.line
        self.advance(1 + len(name))
        tokens = [Token("var", name, line)]
        src = self.src
        if src.startswith("[", self.pos):
            end = src.find("]", self.pos)
            key = src[self.pos + 1:end] if end > 0 else ""
            if re.fullmatch(r"-?\d+", key):
                key_token = Token("int", key, line, number=int(key)) if not key.startswith("-") else \
                    Token("int", key, line, number=int(key))
                if key.startswith("0") and key != "0" or key.startswith("-0"):
                    key_token = Token("string", key, line, quote="'")
            elif m := re.fullmatch(r"\$([a-zA-Z_][a-zA-Z0-9_]*)", key):
                key_token = Token("var", m.group(1), line)
            elif _NAME.fullmatch(key):
                key_token = Token("string", key, line, quote="'")
            else:
                raise ParseError('syntax error, unexpected token "%s", expecting "]"' % (key[:1] or "\""), line)
            tokens += [Token("op", "[", line), key_token, Token("op", "]", line)]
            self.advance(end + 1 - self.pos)
        elif src.startswith("->", self.pos) and (m := _NAME.match(src, self.pos + 2)):
            tokens += [Token("op", "->", line), Token("ident", m.group(), line)]
            self.advance(2 + len(m.group()))
        return tokens


def _dedent(text: str, indent: int) -> str:
    if not indent:
        return text
    return "\n".join(line[indent:] if line[:indent].strip(" \t") == "" else line.lstrip(" \t")
                     for line in text.split("\n"))


def _number_token(text: str, line: int) -> Token:
    clean = text.replace("_", "")
    low = clean.lower()
    value: int | float
    if low.startswith("0x"):
        value = int(low[2:], 16)
    elif low.startswith("0b"):
        value = int(low[2:], 2)
    elif low.startswith("0o"):
        value = int(low[2:], 8)
    elif any(ch in low for ch in ".e"):
        return Token("float", text, line, number=float(clean))
    elif len(low) > 1 and low.startswith("0"):
        if not re.fullmatch(r"[0-7]+", low):
            raise ParseError("Invalid numeric literal", line)
        value = int(low, 8)
    else:
        value = int(low)
    if value > PHP_INT_MAX:
        return Token("float", text, line, number=float(value))
    return Token("int", text, line, number=value)
