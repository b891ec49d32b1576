"""The expression half of the PHP grammar (a Pratt parser), shared by statements and by the
expressions embedded in strings."""

from __future__ import annotations

from labrunner.sandbox.php import nodes as n
from labrunner.sandbox.php.errors import ParseError
from labrunner.sandbox.php.lexer import Token

BINARY: dict[str, tuple[int, bool]] = {
    "or": (1, False), "xor": (2, False), "and": (3, False), "??": (6, True), "||": (7, False), "&&": (8, False),
    "|": (9, False), "^": (10, False), "&": (11, False),
    "==": (12, False), "!=": (12, False), "===": (12, False), "!==": (12, False), "<>": (12, False),
    "<=>": (12, False), "<": (13, False), "<=": (13, False), ">": (13, False), ">=": (13, False),
    ".": (14, False), "<<": (15, False), ">>": (15, False), "+": (16, False), "-": (16, False),
    "*": (17, False), "/": (17, False), "%": (17, False), "instanceof": (19, False), "**": (20, True),
}
"""Binding power and right-associativity, from the PHP manual's precedence table."""
ASSIGN_OPS = {"=", "+=", "-=", "*=", "/=", ".=", "%=", "**=", "??=", "&=", "|=", "^=", "<<=", ">>="}
TERNARY_BP = 5
UNARY_BP = 20
NOT_BP = 18
LVALUES = (n.Var, n.Dim, n.Prop)


class ExpressionParser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0

    # Token helpers

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def next(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind != "eof":
            self.i += 1
        return tok

    def at(self, value: str, ahead: int = 0) -> bool:
        tok = self.peek(ahead)
        return tok.kind in ("op", "keyword") and tok.value == value

    def accept(self, value: str) -> bool:
        if self.at(value):
            self.i += 1
            return True
        return False

    def fail(self, tok: Token, expecting: str = "") -> ParseError:
        tail = f", expecting {expecting}" if expecting else ""
        raise ParseError(f"syntax error, unexpected {tok.describe()}{tail}", tok.line)

    def expect(self, value: str, expecting: str | None = None) -> Token:
        if not self.at(value):
            self.fail(self.peek(), expecting if expecting is not None else f'"{value}"')
        return self.next()

    def name(self) -> str:
        tok = self.next()
        if tok.kind in ("ident", "keyword"):
            return tok.value
        raise self.fail(tok, "identifier")

    def end_statement(self, expecting: str = "") -> None:
        tok = self.peek()
        if tok.kind == "close_tag" or self.at(";"):
            self.next()
            return
        self.fail(tok, expecting)

    # Functions

    def params(self) -> list[n.Param]:
        self.expect("(")
        params = []
        while not self.at(")"):
            while self.peek().kind == "keyword" and self.peek().value in ("public", "private", "protected",
                                                                           "readonly"):
                self.next()
            self.skip_type()
            by_ref = self.accept("&")
            variadic = self.accept("...")
            tok = self.next()
            if tok.kind != "var":
                self.fail(tok, "variable")
            default = self.expr() if self.accept("=") else None
            params.append(n.Param(tok.value, default, variadic, by_ref))
            if not self.accept(","):
                break
        self.expect(")")
        return params

    def skip_type(self) -> None:
        self.accept("?")
        while self.peek().kind in ("ident", "keyword") and self.peek().value not in ("function", "fn") \
                or self.at("("):
            if self.accept("("):
                self.skip_type()
                self.expect(")")
            else:
                self.next()
            if not (self.accept("|") or (self.at("&") and self.peek(1).kind in ("ident", "keyword")
                                         and self.accept("&"))):
                break

    def return_type(self) -> None:
        if self.accept(":"):
            self.skip_type()

    def statements(self, until: tuple[str, ...]) -> list[n.Node]:
        raise NotImplementedError

    # Expressions

    def expr(self, min_bp: int = 0) -> n.Node:
        left = self.unary()
        while True:
            tok = self.peek()
            if tok.kind not in ("op", "keyword"):
                return left
            op = tok.value
            if op in ASSIGN_OPS and isinstance(left, LVALUES):
                self.next()
                if op == "=" and self.at("&"):
                    raise ParseError("labrunner sandbox: the simulated PHP does not implement references (=&)",
                                     tok.line, unsupported=True)
                value = self.expr(4)
                left = n.Assign(tok.line, left, value) if op == "=" else n.AssignOp(tok.line, op[:-1], left, value)
                continue
            if op == "=" and isinstance(left, n.ArrayLit):
                self.next()
                left = n.ListAssign(tok.line, self.list_targets(left), self.expr(4))
                continue
            if op == "?" and TERNARY_BP >= min_bp:
                self.next()
                if self.accept(":"):
                    left = n.Ternary(tok.line, left, None, self.expr(TERNARY_BP + 1))
                else:
                    then = self.expr(4)
                    self.expect(":", "")
                    left = n.Ternary(tok.line, left, then, self.expr(TERNARY_BP + 1))
                continue
            if op not in BINARY:
                return left
            bp, right_assoc = BINARY[op]
            if bp < min_bp:
                return left
            self.next()
            if op == "instanceof":
                left = n.InstanceOf(tok.line, left, self.name().lstrip("\\"))
                continue
            right = self.expr(bp if right_assoc else bp + 1)
            left = n.Bin(tok.line, "!=" if op == "<>" else op, left, right)

    def list_targets(self, array: n.ArrayLit) -> list[tuple[n.Node | None, n.Node | None]]:
        return [(item.key, item.value) for item in array.items]

    def unary(self) -> n.Node:
        tok = self.peek()
        line = tok.line
        if tok.kind == "op":
            if tok.value == "!":
                self.next()
                return n.Unary(line, "!", self.expr(NOT_BP))
            if tok.value in ("-", "+", "~"):
                self.next()
                return n.Unary(line, tok.value, self.expr(UNARY_BP))
            if tok.value == "@":
                self.next()
                return n.Silence(line, self.expr(UNARY_BP))
            if tok.value in ("++", "--"):
                self.next()
                return n.IncDec(line, tok.value, True, self.postfix(self.primary()))
            if tok.value == "&":
                raise ParseError("labrunner sandbox: the simulated PHP does not implement references (&)", line,
                                 unsupported=True)
        if tok.kind == "cast":
            self.next()
            return n.Cast(line, tok.value, self.expr(UNARY_BP))
        if tok.kind == "keyword":
            if tok.value == "print":
                self.next()
                return n.Print(line, self.expr(4))
            if tok.value in ("include", "include_once", "require", "require_once"):
                self.next()
                return n.Include(line, tok.value, self.expr(4))
            if tok.value == "throw":
                self.next()
                return n.Throw(line, self.expr(0))
            if tok.value == "new":
                self.next()
                cls = self.name().lstrip("\\")
                args = self.args() if self.at("(") else []
                return self.postfix(n.New(line, cls, args))
        return self.postfix(self.primary())

    def args(self) -> list[n.Arg]:
        self.expect("(")
        args: list[n.Arg] = []
        while not self.at(")"):
            if self.accept("..."):
                if self.at(")"):
                    raise ParseError("labrunner sandbox: the simulated PHP does not implement first-class "
                                     "callable syntax", self.peek().line, unsupported=True)
                args.append(n.Arg(self.expr(), spread=True))
            elif self.peek().kind in ("ident", "keyword") and self.at(":", 1) and not self.at("::", 1):
                name = self.next().value
                self.next()
                args.append(n.Arg(self.expr(), name=name))
            else:
                args.append(n.Arg(self.expr()))
            if not self.accept(","):
                break
        self.expect(")", "")
        return args

    def array_items(self, closer: str) -> list[n.ArrayItem]:
        items: list[n.ArrayItem] = []
        while not self.at(closer):
            if self.at(","):
                self.next()
                items.append(n.ArrayItem(None, n.Lit(self.peek().line, None)))
                continue
            if self.accept("..."):
                items.append(n.ArrayItem(None, self.expr(), spread=True))
            else:
                if self.at("&"):
                    raise ParseError("labrunner sandbox: the simulated PHP does not implement references (&)",
                                     self.peek().line, unsupported=True)
                value = self.expr()
                if self.accept("=>"):
                    items.append(n.ArrayItem(value, self.expr()))
                else:
                    items.append(n.ArrayItem(None, value))
            if not self.accept(","):
                break
        self.expect(closer, "")
        return items

    def primary(self) -> n.Node:
        tok = self.next()
        line = tok.line
        kind = tok.kind
        if kind == "var":
            return n.Var(line, tok.value)
        if kind in ("int", "float"):
            return n.Lit(line, tok.number)
        if kind == "string":
            return n.Lit(line, tok.value)
        if kind == "template":
            from labrunner.sandbox.php.parser import parse_tokens
            return n.Interp(line, [p if isinstance(p, str) else parse_tokens(p, line) for p in tok.parts])
        if kind == "ident":
            if self.at("("):
                return n.Call(line, tok.value, self.args())
            if self.at("::"):
                self.next()
                member = self.next()
                if member.kind == "var" or member.kind == "keyword" and member.value == "class":
                    raise ParseError("labrunner sandbox: the simulated PHP does not implement static members",
                                     line, unsupported=True)
                if self.at("("):
                    return n.StaticCall(line, tok.value, member.value, self.args())
                return n.ClassConst(line, tok.value, member.value)
            low = tok.value.lower()
            if low in ("true", "false", "null"):
                return n.Lit(line, {"true": True, "false": False, "null": None}[low])
            return n.Const(line, tok.value)
        if kind == "op":
            if tok.value == "(":
                inner = self.expr()
                self.expect(")", "")
                return inner
            if tok.value == "[":
                return n.ArrayLit(line, self.array_items("]"))
            if tok.value == "$":
                raise ParseError("labrunner sandbox: the simulated PHP does not implement variable variables",
                                 line, unsupported=True)
        if kind == "keyword":
            word = tok.value
            if word == "array" and self.at("("):
                self.next()
                return n.ArrayLit(line, self.array_items(")"))
            if word == "list" and self.at("("):
                self.next()
                return n.ArrayLit(line, self.array_items(")"))
            if word == "isset":
                self.expect("(")
                exprs = [self.expr()]
                while self.accept(",") and not self.at(")"):
                    exprs.append(self.expr())
                self.expect(")", "")
                return n.Isset(line, exprs)
            if word == "empty":
                self.expect("(")
                inner = self.expr()
                self.expect(")", "")
                return n.Empty(line, inner)
            if word in ("exit", "die"):
                value = None
                if self.accept("("):
                    if not self.at(")"):
                        value = self.expr()
                    self.expect(")", "")
                return n.Exit(line, value)
            if word in ("function", "fn") or word == "static" and self.peek().value in ("function", "fn"):
                if word == "static":
                    word = self.next().value
                return self.closure(line, word == "fn")
            if word == "match":
                return self.match(line)
            if word == "clone":
                raise ParseError("labrunner sandbox: the simulated PHP does not implement clone", line,
                                 unsupported=True)
        raise self.fail(tok)

    def closure(self, line: int, arrow: bool) -> n.Node:
        self.accept("&")
        params = self.params()
        uses: list[str] = []
        if not arrow and self.accept("use"):
            self.expect("(")
            while not self.at(")"):
                if self.at("&"):
                    raise ParseError("labrunner sandbox: the simulated PHP does not implement references (&)",
                                     line, unsupported=True)
                uses.append(self.next().value)
                if not self.accept(","):
                    break
            self.expect(")")
        self.return_type()
        if arrow:
            self.expect("=>")
            body = self.expr(4)
            return n.Closure(line, params, [], [n.Return(body.line, body)], arrow=True)
        self.expect("{")
        stmts = self.statements(("}",))
        self.expect("}")
        return n.Closure(line, params, uses, stmts)

    def match(self, line: int) -> n.Node:
        self.expect("(")
        subject = self.expr()
        self.expect(")")
        self.expect("{")
        arms: list[n.MatchArm] = []
        while not self.at("}"):
            conds: list[n.Node] | None
            if self.accept("default"):
                conds = None
            else:
                conds = [self.expr()]
                while self.accept(",") and not self.at("=>"):
                    conds.append(self.expr())
            self.expect("=>")
            arms.append(n.MatchArm(conds, self.expr()))
            if not self.accept(","):
                break
        self.expect("}")
        return n.Match(line, subject, arms)

    def postfix(self, node: n.Node) -> n.Node:
        while True:
            tok = self.peek()
            if tok.kind != "op":
                return node
            if tok.value == "[":
                self.next()
                key = None if self.at("]") else self.expr()
                self.expect("]", "")
                node = n.Dim(tok.line, node, key)
            elif tok.value == "{" and False:
                return node
            elif tok.value in ("->", "?->"):
                self.next()
                member = self.next()
                if member.kind in ("ident", "keyword"):
                    name: str | n.Node = member.value
                elif member.kind == "var":
                    name = n.Var(member.line, member.value)
                elif member.kind == "op" and member.value == "{":
                    name = self.expr()
                    self.expect("}")
                else:
                    raise self.fail(member)
                if self.at("(") and isinstance(name, str):
                    node = n.MethodCall(tok.line, node, name, self.args(), tok.value == "?->")
                else:
                    node = n.Prop(tok.line, node, name, tok.value == "?->")
            elif tok.value == "(":
                node = n.Call(tok.line, node, self.args())
            elif tok.value in ("++", "--") and isinstance(node, LVALUES):
                self.next()
                node = n.IncDec(tok.line, tok.value, False, node)
            else:
                return node
