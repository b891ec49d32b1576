"""How PHP 8.3 reports a problem, and the Python exceptions that carry one out of the interpreter.

Without a php.ini (the php images ship none) ``display_errors`` is on, ``html_errors`` is on for
the apache2handler SAPI and ``log_errors`` is on with no ``error_log``, so each error is both
printed into the page and sent to Apache's error log (the container's stderr). The texts follow
``php_error_cb`` in php-src's ``main/main.c``: the display form escapes the message (ENT_COMPAT)
only for fatal and parse errors; the log form is ``PHP <type>:  <message> in <file> on line <n>``,
and Apache writes a newline inside it as the two characters ``\\n``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from labrunner.sandbox.php.values import PhpObject

E_ERROR = 1
E_WARNING = 2
E_PARSE = 4
E_NOTICE = 8
E_COMPILE_ERROR = 64
E_USER_ERROR = 256
E_USER_WARNING = 512
E_USER_NOTICE = 1024
E_DEPRECATED = 8192
E_USER_DEPRECATED = 16384
E_ALL = 32767

TYPE_NAMES = {E_ERROR: "Fatal error", E_COMPILE_ERROR: "Fatal error", E_USER_ERROR: "Fatal error",
              E_WARNING: "Warning", E_USER_WARNING: "Warning", E_PARSE: "Parse error", E_NOTICE: "Notice",
              E_USER_NOTICE: "Notice", E_DEPRECATED: "Deprecated", E_USER_DEPRECATED: "Deprecated"}
FATAL = E_ERROR | E_PARSE | E_COMPILE_ERROR | E_USER_ERROR


def escape_html(text: str) -> str:
    """php-src's ``escape_html``: htmlspecialchars with ENT_COMPAT (single quotes stay)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def display_form(kind: int, message: str, file: str, line: int) -> str:
    """The text ``display_errors`` with ``html_errors`` puts into the page."""
    shown = escape_html(message) if kind in (E_ERROR, E_PARSE, E_COMPILE_ERROR) else message
    return f"<br />\n<b>{TYPE_NAMES[kind]}</b>:  {shown} in <b>{file}</b> on line <b>{line}</b><br />\n"


def log_form(kind: int, message: str, file: str, line: int) -> str:
    """The line Apache's error log gets from ``log_errors``, newlines escaped as Apache does."""
    text = f"PHP {TYPE_NAMES[kind]}:  {message} in {file} on line {line}"
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")


class ParseError(Exception):
    """A compile-time error: nothing of the file runs."""

    def __init__(self, message: str, line: int, *, warning: bool = False, unsupported: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.warning = warning
        self.unsupported = unsupported


class FatalError(Exception):
    """An E_ERROR that is not an exception (the time limit, the memory limit): the script ends."""

    def __init__(self, message: str, line: int, file: str | None = None, kind: int = E_ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.file = file
        self.kind = kind


class PhpThrow(Exception):
    """A PHP exception object in flight."""

    def __init__(self, obj: PhpObject) -> None:
        super().__init__(obj.cls)
        self.obj = obj


class ExitSignal(Exception):
    """exit()/die(): the script ends normally."""


class BreakSignal(Exception):
    def __init__(self, levels: int) -> None:
        super().__init__(levels)
        self.levels = levels


class ContinueSignal(Exception):
    def __init__(self, levels: int) -> None:
        super().__init__(levels)
        self.levels = levels


class ReturnSignal(Exception):
    def __init__(self, value: object) -> None:
        super().__init__()
        self.value = value
