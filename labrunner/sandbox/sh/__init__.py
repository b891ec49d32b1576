"""The sandbox's sh: what busybox ash does with a script, for ``kubectl exec``, attach and a
container's own command.

``lexer`` reads text into tokens and words, ``parser`` tokens into a tree, ``shell`` runs the
tree command by command (``expansion`` expands its words, ``builtins`` are the commands the
shell runs itself), ``flow`` holds what passes between them: input, output, limits, and the
exceptions that end loops, functions and the shell. Programs come from
:mod:`labrunner.sandbox.processes`.
"""

from labrunner.sandbox.sh.flow import STEP_LIMIT
from labrunner.sandbox.sh.lexer import Incomplete, ShellSyntaxError
from labrunner.sandbox.sh.parser import parse
from labrunner.sandbox.sh.shell import Shell

__all__ = ["STEP_LIMIT", "Incomplete", "Shell", "ShellSyntaxError", "parse"]
