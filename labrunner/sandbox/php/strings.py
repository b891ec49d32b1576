"""String functions. PHP strings are bytes: lengths and offsets count UTF-8 bytes."""

from __future__ import annotations

import html.entities
import re

from labrunner.sandbox.php.registry import constants, php
from labrunner.sandbox.php.runtime import MEMORY_LIMIT, Runtime, memory_exhausted
from labrunner.sandbox.php.values import PhpArray, Value

ENT_HTML_QUOTE_SINGLE, ENT_HTML_QUOTE_DOUBLE, ENT_IGNORE, ENT_SUBSTITUTE = 1, 2, 4, 8
ENT_XML1, ENT_XHTML, ENT_HTML5 = 16, 32, 48
constants("standard", {
    "ENT_COMPAT": 2, "ENT_QUOTES": 3, "ENT_NOQUOTES": 0, "ENT_HTML401": 0, "ENT_XML1": 16, "ENT_XHTML": 32,
    "ENT_HTML5": 48, "ENT_IGNORE": 4, "ENT_SUBSTITUTE": 8, "ENT_DISALLOWED": 128,
    "STR_PAD_RIGHT": 1, "STR_PAD_LEFT": 0, "STR_PAD_BOTH": 2,
})
_DEFAULT_FLAGS = 3 | ENT_SUBSTITUTE
_ENTITY = re.compile(r"&(?:[a-zA-Z][a-zA-Z0-9]*|#[0-9]+|#[xX][0-9a-fA-F]+);")


def b(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def s(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _valid_utf8(text: str, flags: int) -> str | None:
    try:
        b(text).decode("utf-8")
        return text
    except UnicodeDecodeError:
        if flags & ENT_SUBSTITUTE:
            return b(text).decode("utf-8", "replace")
        if flags & ENT_IGNORE:
            return b(text).decode("utf-8", "ignore")
        return None


def _escape(text: str, flags: int, double_encode: bool, table: dict[int, str]) -> str:
    checked = _valid_utf8(text, flags)
    if checked is None:
        return ""
    single = "&apos;" if flags & ENT_HTML5 == ENT_HTML5 or flags & ENT_XML1 and not flags & ENT_XHTML else "&#039;"
    out: list[str] = []
    i = 0
    while i < len(checked):
        c = checked[i]
        if c == "&":
            m = None if double_encode else _ENTITY.match(checked, i)
            if m:
                out.append(m.group())
                i = m.end()
                continue
            out.append("&amp;")
        elif c == '"' and flags & ENT_HTML_QUOTE_DOUBLE:
            out.append("&quot;")
        elif c == "'" and flags & ENT_HTML_QUOTE_SINGLE:
            out.append(single)
        elif c == "<":
            out.append("&lt;")
        elif c == ">":
            out.append("&gt;")
        elif ord(c) in table:
            out.append(table[ord(c)])
        else:
            out.append(c)
        i += 1
    return "".join(out)


def _check_charset(rt: Runtime, name: str, encoding: str | None) -> None:
    if encoding and encoding.lower().replace("-", "") not in ("utf8", ""):
        if encoding.lower() not in ("iso-8859-1", "iso8859-1", "windows-1252", "cp1252"):
            rt.warn(f"{name}(): Charset \"{encoding}\" is not supported, assuming UTF-8")


@php("htmlspecialchars(string $string, int $flags = 0, ?string $encoding = null, bool $double_encode = true)")
def htmlspecialchars(rt: Runtime, string: str, flags: int = _DEFAULT_FLAGS, encoding: str | None = None,
                     double_encode: bool = True) -> Value:
    _check_charset(rt, "htmlspecialchars", encoding)
    return _escape(string, flags, double_encode, {})


_NAMED = {code: f"&{name};" for code, name in html.entities.codepoint2name.items() if code > 127}


@php("htmlentities(string $string, int $flags = 0, ?string $encoding = null, bool $double_encode = true)")
def htmlentities(rt: Runtime, string: str, flags: int = _DEFAULT_FLAGS, encoding: str | None = None,
                 double_encode: bool = True) -> Value:
    _check_charset(rt, "htmlentities", encoding)
    return _escape(string, flags, double_encode, _NAMED)


@php("html_entity_decode(string $string, int $flags = 0, ?string $encoding = null)")
def html_entity_decode(rt: Runtime, string: str, flags: int = _DEFAULT_FLAGS, encoding: str | None = None) -> Value:
    text = html.unescape(string)
    return text if flags & 1 else text


@php("nl2br(string $string, bool $use_xhtml = true)")
def nl2br(rt: Runtime, string: str, use_xhtml: bool = True) -> Value:
    tag = "<br />" if use_xhtml else "<br>"
    return re.sub(r"(\r\n|\n\r|\n|\r)", lambda m: tag + m.group(1), string)


@php("strlen(string $string)")
def strlen(rt: Runtime, string: str) -> Value:
    return len(b(string))


@php("strtoupper(string $string)")
def strtoupper(rt: Runtime, string: str) -> Value:
    return "".join(c.upper() if c.isascii() else c for c in string)


@php("strtolower(string $string)")
def strtolower(rt: Runtime, string: str) -> Value:
    return "".join(c.lower() if c.isascii() else c for c in string)


@php("ucfirst(string $string)")
def ucfirst(rt: Runtime, string: str) -> Value:
    return string[:1].upper() + string[1:] if string[:1].isascii() else string


@php("lcfirst(string $string)")
def lcfirst(rt: Runtime, string: str) -> Value:
    return string[:1].lower() + string[1:] if string[:1].isascii() else string


@php("ucwords(string $string, string $separators = ' ')")
def ucwords(rt: Runtime, string: str, separators: str = " \t\r\n\f\v") -> Value:
    out = []
    upper = True
    for c in string:
        out.append(c.upper() if upper and c.isascii() else c)
        upper = c in separators
    return "".join(out)


_TRIM = " \t\n\r\0\x0b"


def _charlist(characters: str) -> str:
    return re.sub(r"(.)\.\.(.)", lambda m: "".join(chr(c) for c in range(ord(m.group(1)), ord(m.group(2)) + 1)),
                  characters)


@php("trim(string $string, string $characters = ' ')")
def trim(rt: Runtime, string: str, characters: str = _TRIM) -> Value:
    return string.strip(_charlist(characters))


@php("ltrim(string $string, string $characters = ' ')")
def ltrim(rt: Runtime, string: str, characters: str = _TRIM) -> Value:
    return string.lstrip(_charlist(characters))


@php("rtrim__chop(string $string, string $characters = ' ')")
def rtrim(rt: Runtime, string: str, characters: str = _TRIM) -> Value:
    return string.rstrip(_charlist(characters))


@php("str_replace(array|string $search, array|string $replace, array|string $subject, &$count = null)")
def str_replace(rt: Runtime, search: Value, replace: Value, subject: Value, count: object = None) -> Value:
    total = 0

    def one(text: str) -> str:
        nonlocal total
        pairs: list[tuple[str, str]]
        if isinstance(search, PhpArray):
            needles = [rt.to_string(v) for v in search.values()]
            if isinstance(replace, PhpArray):
                subs = [rt.to_string(v) for v in replace.values()]
                pairs = [(nd, subs[i] if i < len(subs) else "") for i, nd in enumerate(needles)]
            else:
                pairs = [(nd, rt.to_string(replace)) for nd in needles]
        else:
            if isinstance(replace, PhpArray):
                raise rt.throw("TypeError", "str_replace(): Argument #2 ($replace) must be of type string when "
                                            "argument #1 ($search) is a string")
            pairs = [(rt.to_string(search), rt.to_string(replace))]
        for needle, sub in pairs:
            if needle:
                total += text.count(needle)
                text = text.replace(needle, sub)
        return text

    if isinstance(subject, PhpArray):
        result: Value = PhpArray({k: one(rt.to_string(v)) for k, v in subject.d.items()})
    else:
        result = one(rt.to_string(subject))
    if count is not None and hasattr(count, "value"):
        count.value = total
    return result


@php("str_repeat(string $string, int $times)")
def str_repeat(rt: Runtime, string: str, times: int) -> Value:
    if times < 0:
        raise rt.throw("ValueError", "str_repeat(): Argument #2 ($times) must be greater than or equal to 0")
    size = len(b(string)) * times
    if size > MEMORY_LIMIT // 2:
        raise memory_exhausted(size + 32, rt.line)
    return string * times


@php("substr(string $string, int $offset, ?int $length = null)")
def substr(rt: Runtime, string: str, offset: int, length: int | None = None) -> Value:
    raw = b(string)
    size = len(raw)
    start = max(size + offset, 0) if offset < 0 else min(offset, size)
    if length is None:
        end = size
    elif length < 0:
        end = max(size + length, start)
    else:
        end = min(start + length, size)
    return s(raw[start:end])


def _offset(rt: Runtime, name: str, haystack: bytes, offset: int) -> int:
    if offset < -len(haystack) or offset > len(haystack):
        raise rt.throw("ValueError", f"{name}(): Argument #3 ($offset) must be contained in argument #1 ($haystack)")
    return offset + len(haystack) if offset < 0 else offset


@php("strpos(string $haystack, string $needle, int $offset = 0)")
def strpos(rt: Runtime, haystack: str, needle: str, offset: int = 0) -> Value:
    raw = b(haystack)
    found = raw.find(b(needle), _offset(rt, "strpos", raw, offset))
    return False if found < 0 else found


@php("stripos(string $haystack, string $needle, int $offset = 0)")
def stripos(rt: Runtime, haystack: str, needle: str, offset: int = 0) -> Value:
    raw = b(haystack).lower()
    found = raw.find(b(needle).lower(), _offset(rt, "stripos", raw, offset))
    return False if found < 0 else found


@php("strrpos(string $haystack, string $needle, int $offset = 0)")
def strrpos(rt: Runtime, haystack: str, needle: str, offset: int = 0) -> Value:
    raw = b(haystack)
    found = raw.rfind(b(needle), _offset(rt, "strrpos", raw, offset)) if offset >= 0 else raw.rfind(b(needle))
    return False if found < 0 else found


@php("str_contains(string $haystack, string $needle)")
def str_contains(rt: Runtime, haystack: str, needle: str) -> Value:
    return needle in haystack


@php("str_starts_with(string $haystack, string $needle)")
def str_starts_with(rt: Runtime, haystack: str, needle: str) -> Value:
    return haystack.startswith(needle)


@php("str_ends_with(string $haystack, string $needle)")
def str_ends_with(rt: Runtime, haystack: str, needle: str) -> Value:
    return haystack.endswith(needle)


@php("strstr(string $haystack, string $needle, bool $before_needle = false)")
def strstr(rt: Runtime, haystack: str, needle: str, before_needle: bool = False) -> Value:
    found = haystack.find(needle)
    if found < 0:
        return False
    return haystack[:found] if before_needle else haystack[found:]


@php("strrev(string $string)")
def strrev(rt: Runtime, string: str) -> Value:
    return s(b(string)[::-1])


@php("strcmp(string $string1, string $string2)")
def strcmp(rt: Runtime, string1: str, string2: str) -> Value:
    x, y = b(string1), b(string2)
    return (x > y) - (x < y)


@php("str_pad(string $string, int $length, string $pad_string = ' ', int $pad_type = 1)")
def str_pad(rt: Runtime, string: str, length: int, pad_string: str = " ", pad_type: int = 1) -> Value:
    missing = length - len(b(string))
    if missing <= 0 or not pad_string:
        return string
    if pad_type == 0:
        return (pad_string * missing)[:missing] + string
    if pad_type == 2:
        left = missing // 2
        return (pad_string * missing)[:left] + string + (pad_string * missing)[:missing - left]
    return string + (pad_string * missing)[:missing]


@php("implode__join(array|string $separator, ?array $array = null)")
def implode(rt: Runtime, separator: Value, array: PhpArray | None = None) -> Value:
    if array is None:
        if not isinstance(separator, PhpArray):
            raise rt.throw("TypeError", "implode(): Argument #2 ($array) must be of type ?array, null given")
        separator, array = "", separator
    if isinstance(separator, PhpArray):
        raise rt.throw("TypeError", "implode(): Argument #1 ($separator) must be of type string, array given")
    return separator.join(rt.to_string(v) for v in array.values())


@php("explode(string $separator, string $string, int $limit = 0)")
def explode(rt: Runtime, separator: str, string: str, limit: int = 2**63 - 1) -> Value:
    if separator == "":
        raise rt.throw("ValueError", "explode(): Argument #1 ($separator) cannot be empty")
    if limit >= 0:
        return PhpArray.of(list(string.split(separator, max(limit, 1) - 1)))
    return PhpArray.of(string.split(separator)[:limit])


@php("str_split(string $string, int $length = 1)")
def str_split(rt: Runtime, string: str, length: int = 1) -> Value:
    raw = b(string)
    return PhpArray.of([s(raw[i:i + length]) for i in range(0, len(raw), length)] or [""])


@php("wordwrap(string $string, int $width = 75, string $break = 'NL', bool $cut_long_words = false)")
def wordwrap(rt: Runtime, string: str, width: int = 75, break_: str = "\n", cut_long_words: bool = False) -> Value:
    import textwrap
    return break_.join(textwrap.wrap(string, width, break_long_words=cut_long_words)) if string else ""


@php("addslashes(string $string)")
def addslashes(rt: Runtime, string: str) -> Value:
    return re.sub(r"([\\'\"\x00])", lambda m: "\\0" if m.group(1) == "\x00" else "\\" + m.group(1), string)


@php("strip_tags(string $string, array|string|null $allowed_tags = null)")
def strip_tags(rt: Runtime, string: str, allowed_tags: Value = None) -> Value:
    return re.sub(r"<[^>]*>?", "", string)


@php("urlencode(string $string)")
def urlencode(rt: Runtime, string: str) -> Value:
    from urllib.parse import quote_plus
    return quote_plus(b(string), safe="-_.")


@php("rawurlencode(string $string)")
def rawurlencode(rt: Runtime, string: str) -> Value:
    from urllib.parse import quote
    return quote(b(string), safe="-_.~")


@php("urldecode(string $string)")
def urldecode(rt: Runtime, string: str) -> Value:
    from urllib.parse import unquote_to_bytes
    return s(unquote_to_bytes(string.replace("+", " ")))


@php("md5(string $string, bool $binary = false)")
def md5(rt: Runtime, string: str, binary: bool = False) -> Value:
    import hashlib
    return hashlib.md5(b(string)).hexdigest()


@php("sha1(string $string, bool $binary = false)")
def sha1(rt: Runtime, string: str, binary: bool = False) -> Value:
    import hashlib
    return hashlib.sha1(b(string)).hexdigest()


@php("base64_encode(string $string)")
def base64_encode(rt: Runtime, string: str) -> Value:
    import base64
    return base64.b64encode(b(string)).decode()


@php("bin2hex(string $string)")
def bin2hex(rt: Runtime, string: str) -> Value:
    return b(string).hex()


@php("chr(int $codepoint)")
def chr_(rt: Runtime, codepoint: int) -> Value:
    return s(bytes([codepoint % 256]))


@php("ord(string $character)")
def ord_(rt: Runtime, character: str) -> Value:
    raw = b(character)
    return raw[0] if raw else 0


@php("strtr(string $string, array|string $from, ?string $to = null)")
def strtr(rt: Runtime, string: str, from_: Value, to: str | None = None) -> Value:
    if isinstance(from_, PhpArray):
        pairs = {rt.to_string(k): rt.to_string(v) for k, v in from_.d.items() if rt.to_string(k)}
        if not pairs:
            return string
        pattern = re.compile("|".join(re.escape(k) for k in sorted(pairs, key=len, reverse=True)))
        return pattern.sub(lambda m: pairs[m.group()], string)
    to = to or ""
    size = min(len(from_), len(to))
    return string.translate(str.maketrans(from_[:size], to[:size]))


@php("substr_count(string $haystack, string $needle)")
def substr_count(rt: Runtime, haystack: str, needle: str) -> Value:
    if not needle:
        raise rt.throw("ValueError", "substr_count(): Argument #2 ($needle) cannot be empty")
    return haystack.count(needle)
