"""The syntax tree the parser builds and the interpreter walks. Every node knows its line, which
is the line PHP names in an error raised while evaluating it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union


@dataclass(eq=False)
class Node:
    line: int


# Expressions

@dataclass(eq=False)
class Lit(Node):
    value: object


@dataclass(eq=False)
class Interp(Node):
    parts: list[Union[str, Node]]


@dataclass(eq=False)
class Var(Node):
    name: str


@dataclass(eq=False)
class ArrayItem:
    key: Node | None
    value: Node
    spread: bool = False


@dataclass(eq=False)
class ArrayLit(Node):
    items: list[ArrayItem]


@dataclass(eq=False)
class Dim(Node):
    base: Node
    key: Node | None


@dataclass(eq=False)
class Prop(Node):
    base: Node
    name: str | Node
    nullsafe: bool = False


@dataclass(eq=False)
class ClassConst(Node):
    cls: str
    name: str


@dataclass(eq=False)
class Arg:
    value: Node
    spread: bool = False
    name: str | None = None


@dataclass(eq=False)
class Call(Node):
    name: str | Node
    args: list[Arg]


@dataclass(eq=False)
class StaticCall(Node):
    cls: str
    name: str
    args: list[Arg]


@dataclass(eq=False)
class MethodCall(Node):
    obj: Node
    name: str
    args: list[Arg]
    nullsafe: bool = False


@dataclass(eq=False)
class New(Node):
    cls: str
    args: list[Arg]


@dataclass(eq=False)
class Bin(Node):
    op: str
    left: Node
    right: Node


@dataclass(eq=False)
class Unary(Node):
    op: str
    expr: Node


@dataclass(eq=False)
class Cast(Node):
    type: str
    expr: Node


@dataclass(eq=False)
class Assign(Node):
    target: Node
    value: Node


@dataclass(eq=False)
class ListAssign(Node):
    targets: list[tuple[Node | None, Node | None]]
    value: Node


@dataclass(eq=False)
class AssignOp(Node):
    op: str
    target: Node
    value: Node


@dataclass(eq=False)
class IncDec(Node):
    op: str
    prefix: bool
    target: Node


@dataclass(eq=False)
class Ternary(Node):
    cond: Node
    then: Node | None
    otherwise: Node


@dataclass(eq=False)
class Isset(Node):
    exprs: list[Node]


@dataclass(eq=False)
class Empty(Node):
    expr: Node


@dataclass(eq=False)
class Silence(Node):
    expr: Node


@dataclass(eq=False)
class Const(Node):
    name: str


@dataclass(eq=False)
class Exit(Node):
    expr: Node | None


@dataclass(eq=False)
class Print(Node):
    expr: Node


@dataclass(eq=False)
class Include(Node):
    kind: str
    expr: Node


@dataclass(eq=False)
class Param:
    name: str
    default: Node | None = None
    variadic: bool = False
    by_ref: bool = False


@dataclass(eq=False)
class Closure(Node):
    params: list[Param]
    uses: list[str]
    body: list[Node]
    arrow: bool = False


@dataclass(eq=False)
class MatchArm:
    conds: list[Node] | None
    result: Node


@dataclass(eq=False)
class Match(Node):
    subject: Node
    arms: list[MatchArm]


@dataclass(eq=False)
class InstanceOf(Node):
    expr: Node
    cls: str


@dataclass(eq=False)
class Throw(Node):
    expr: Node


# Statements

@dataclass(eq=False)
class Echo(Node):
    exprs: list[Node]


@dataclass(eq=False)
class ExprStmt(Node):
    expr: Node


@dataclass(eq=False)
class If(Node):
    branches: list[tuple[Node, list[Node]]]
    otherwise: list[Node] | None


@dataclass(eq=False)
class While(Node):
    cond: Node
    body: list[Node]


@dataclass(eq=False)
class DoWhile(Node):
    body: list[Node]
    cond: Node


@dataclass(eq=False)
class For(Node):
    init: list[Node]
    cond: list[Node]
    step: list[Node]
    body: list[Node]


@dataclass(eq=False)
class Foreach(Node):
    subject: Node
    key: Node | None
    value: Node
    body: list[Node]
    by_ref: bool = False


@dataclass(eq=False)
class Switch(Node):
    subject: Node
    cases: list[tuple[Node | None, list[Node]]]


@dataclass(eq=False)
class Break(Node):
    levels: int = 1


@dataclass(eq=False)
class Continue(Node):
    levels: int = 1


@dataclass(eq=False)
class Return(Node):
    expr: Node | None


@dataclass(eq=False)
class FunctionDecl(Node):
    name: str
    params: list[Param]
    body: list[Node]


@dataclass(eq=False)
class Global(Node):
    names: list[str]


@dataclass(eq=False)
class Static(Node):
    vars: list[tuple[str, Node | None]]


@dataclass(eq=False)
class Unset(Node):
    targets: list[Node]


@dataclass(eq=False)
class Catch:
    types: list[str]
    var: str | None
    body: list[Node]


@dataclass(eq=False)
class Try(Node):
    body: list[Node]
    catches: list[Catch]
    final: list[Node] | None


@dataclass(eq=False)
class Block(Node):
    body: list[Node] = field(default_factory=list)


@dataclass(eq=False)
class Unsupported(Node):
    """A construct PHP has and the sandbox does not run (a class, a namespace): reaching it ends
    the script with the sandbox's own fatal error naming it."""
    what: str
