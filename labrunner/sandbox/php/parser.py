"""Tokens to a syntax tree: PHP 8.3's grammar for the subset the sandbox runs.

Precedence follows the PHP manual's operator table (``.`` below ``+``/``-`` since PHP 8); an
assignment binds whenever its left side is a variable, as PHP's grammar makes ``!$a = f()`` mean
``!($a = f())``. Constructs the sandbox does not run but PHP accepts (classes, namespaces) parse to
:class:`~labrunner.sandbox.php.nodes.Unsupported`, so the page fails where PHP would have run it.
"""

from __future__ import annotations

from labrunner.sandbox.php import nodes as n
from labrunner.sandbox.php.errors import ParseError
from labrunner.sandbox.php.expressions import TERNARY_BP, ExpressionParser
from labrunner.sandbox.php.lexer import Token, tokenize

UNSUPPORTED_KEYWORDS = {"class": "classes", "interface": "interfaces", "trait": "traits", "enum": "enums",
                        "namespace": "namespaces", "use": "use declarations", "goto": "goto",
                        "abstract": "classes", "final": "classes", "readonly": "classes", "yield": "generators",
                        "clone": "clone", "declare": "declare", "const": "const declarations"}


def parse(source: str) -> list[n.Node]:
    """Parse a whole file. Raises ParseError with PHP's message and line."""
    return _Parser(tokenize(source)).program()


def parse_tokens(tokens: list[Token], line: int) -> n.Node:
    """One expression from tokens embedded in a string (``{$a['k']}``)."""
    parser = _Parser(tokens + [Token("eof", "", line)])
    expr = parser.expr()
    if parser.peek().kind != "eof":
        parser.fail(parser.peek())
    return expr


class _Parser(ExpressionParser):
    # Statements

    def program(self) -> list[n.Node]:
        body = self.statements(())
        if self.peek().kind != "eof":
            self.fail(self.peek())
        return body

    def statements(self, until: tuple[str, ...]) -> list[n.Node]:
        body: list[n.Node] = []
        while True:
            tok = self.peek()
            if tok.kind == "eof" or (tok.kind in ("op", "keyword") and tok.value in until):
                return body
            stmt = self.statement()
            if stmt is not None:
                body.append(stmt)

    def block_or_statement(self) -> list[n.Node]:
        if self.accept("{"):
            body = self.statements(("}",))
            self.expect("}")
            return body
        stmt = self.statement()
        return [] if stmt is None else [stmt]

    def statement(self) -> n.Node | None:
        tok = self.peek()
        line = tok.line
        if tok.kind == "inline_html":
            self.next()
            return n.Echo(line, [n.Lit(line, tok.value)])
        if tok.kind == "close_tag" or self.at(";"):
            self.next()
            return None
        if tok.kind == "open_echo":
            self.next()
            exprs = [self.expr()]
            while self.accept(","):
                exprs.append(self.expr())
            self.end_statement('"," or ";"')
            return n.Echo(line, exprs)
        if tok.kind == "keyword":
            handler = getattr(self, "stmt_" + tok.value, None)
            if handler is not None:
                result: n.Node | None = handler()
                return result
            if tok.value in UNSUPPORTED_KEYWORDS and not (tok.value == "use" and False):
                return self.unsupported(UNSUPPORTED_KEYWORDS[tok.value])
        if self.at("{"):
            self.next()
            body = self.statements(("}",))
            self.expect("}")
            return n.Block(line, body)
        if tok.kind == "ident" and self.at(":", 1):
            return self.unsupported("goto labels")
        expr = self.expr()
        self.end_statement()
        return n.ExprStmt(line, expr)

    def unsupported(self, what: str) -> n.Node:
        """Skip a construct the sandbox does not run, through its braces or its semicolon."""
        line = self.peek().line
        depth = 0
        while self.peek().kind != "eof":
            tok = self.next()
            if tok.kind == "op" and tok.value == "{":
                depth += 1
            elif tok.kind == "op" and tok.value == "}":
                depth -= 1
                if depth == 0:
                    break
            elif depth == 0 and (tok.kind == "close_tag" or tok.kind == "op" and tok.value == ";"):
                break
        return n.Unsupported(line, what)

    def stmt_echo(self) -> n.Node:
        line = self.next().line
        exprs = [self.expr()]
        while self.accept(","):
            exprs.append(self.expr())
        self.end_statement('"," or ";"')
        return n.Echo(line, exprs)

    def paren_expr(self) -> n.Node:
        self.expect("(")
        expr = self.expr()
        self.expect(")", "")
        return expr

    def stmt_if(self) -> n.Node:
        line = self.next().line
        cond = self.paren_expr()
        if self.accept(":"):
            branches = [(cond, self.statements(("elseif", "else", "endif")))]
            otherwise = None
            while True:
                if self.accept("elseif"):
                    c = self.paren_expr()
                    self.expect(":")
                    branches.append((c, self.statements(("elseif", "else", "endif"))))
                elif self.accept("else"):
                    if self.at("if"):
                        self.fail(self.peek(), '":"')
                    self.expect(":")
                    otherwise = self.statements(("endif",))
                else:
                    self.expect("endif")
                    self.end_statement()
                    return n.If(line, branches, otherwise)
        branches = [(cond, self.block_or_statement())]
        otherwise = None
        while True:
            if self.at("elseif") or (self.at("else") and self.at("if", 1)):
                if self.next().value == "else":
                    self.next()
                c = self.paren_expr()
                branches.append((c, self.block_or_statement()))
            elif self.accept("else"):
                otherwise = self.block_or_statement()
                return n.If(line, branches, otherwise)
            else:
                return n.If(line, branches, otherwise)

    def loop_body(self, end: str) -> list[n.Node]:
        if self.accept(":"):
            body = self.statements((end,))
            self.expect(end)
            self.end_statement()
            return body
        return self.block_or_statement()

    def stmt_while(self) -> n.Node:
        line = self.next().line
        cond = self.paren_expr()
        return n.While(line, cond, self.loop_body("endwhile"))

    def stmt_do(self) -> n.Node:
        line = self.next().line
        body = self.block_or_statement()
        self.expect("while")
        cond = self.paren_expr()
        self.end_statement()
        return n.DoWhile(line, body, cond)

    def stmt_for(self) -> n.Node:
        line = self.next().line
        self.expect("(")
        parts: list[list[n.Node]] = []
        for closer in (";", ";", ")"):
            exprs: list[n.Node] = []
            if not self.at(closer):
                exprs.append(self.expr())
                while self.accept(","):
                    exprs.append(self.expr())
            self.expect(closer)
            parts.append(exprs)
        return n.For(line, parts[0], parts[1], parts[2], self.loop_body("endfor"))

    def stmt_foreach(self) -> n.Node:
        line = self.next().line
        self.expect("(")
        subject = self.expr()
        self.expect("as")
        by_ref = self.accept("&")
        value = self.expr(TERNARY_BP + 1)
        key = None
        if self.accept("=>"):
            key = value
            by_ref = self.accept("&")
            value = self.expr(TERNARY_BP + 1)
        self.expect(")")
        return n.Foreach(line, subject, key, value, self.loop_body("endforeach"), by_ref)

    def stmt_switch(self) -> n.Node:
        line = self.next().line
        subject = self.paren_expr()
        alt = not self.at("{")
        self.expect(":" if alt else "{")
        end = "endswitch" if alt else "}"
        cases: list[tuple[n.Node | None, list[n.Node]]] = []
        while not self.accept(end):
            if self.accept("case"):
                label: n.Node | None = self.expr()
            else:
                self.expect("default", "")
                label = None
            if not self.accept(":"):
                self.expect(";")
            cases.append((label, self.statements(("case", "default", end))))
        if alt:
            self.end_statement()
        return n.Switch(line, subject, cases)

    def levels(self) -> int:
        tok = self.peek()
        if tok.kind == "int":
            self.next()
            return int(tok.number)
        return 1

    def stmt_break(self) -> n.Node:
        line = self.next().line
        levels = self.levels()
        self.end_statement()
        return n.Break(line, levels)

    def stmt_continue(self) -> n.Node:
        line = self.next().line
        levels = self.levels()
        self.end_statement()
        return n.Continue(line, levels)

    def stmt_return(self) -> n.Node:
        line = self.next().line
        expr = None if self.at(";") or self.peek().kind == "close_tag" else self.expr()
        self.end_statement()
        return n.Return(line, expr)

    def stmt_function(self) -> n.Node:
        if self.at("(", 1) or self.at("&", 1) and self.at("(", 2):
            return self.expr_statement()
        line = self.next().line
        self.accept("&")
        name = self.name()
        params = self.params()
        self.return_type()
        self.expect("{")
        body = self.statements(("}",))
        self.expect("}")
        return n.FunctionDecl(line, name, params, body)

    def expr_statement(self) -> n.Node:
        line = self.peek().line
        expr = self.expr()
        self.end_statement()
        return n.ExprStmt(line, expr)

    def stmt_global(self) -> n.Node:
        line = self.next().line
        names = []
        while True:
            tok = self.next()
            if tok.kind != "var":
                self.fail(tok)
            names.append(tok.value)
            if not self.accept(","):
                break
        self.end_statement()
        return n.Global(line, names)

    def stmt_static(self) -> n.Node:
        if self.peek(1).kind != "var":
            return self.expr_statement()
        line = self.next().line
        pairs: list[tuple[str, n.Node | None]] = []
        while True:
            tok = self.next()
            default = self.expr() if self.accept("=") else None
            pairs.append((tok.value, default))
            if not self.accept(","):
                break
        self.end_statement()
        return n.Static(line, pairs)

    def stmt_unset(self) -> n.Node:
        line = self.next().line
        self.expect("(")
        targets = []
        while not self.at(")"):
            targets.append(self.expr())
            if not self.accept(","):
                break
        self.expect(")")
        self.end_statement()
        return n.Unset(line, targets)

    def stmt_try(self) -> n.Node:
        line = self.next().line
        self.expect("{")
        body = self.statements(("}",))
        self.expect("}")
        catches = []
        while self.accept("catch"):
            self.expect("(")
            types = [self.name()]
            while self.accept("|"):
                types.append(self.name())
            var = self.next().value if self.peek().kind == "var" else None
            self.expect(")")
            self.expect("{")
            catches.append(n.Catch([t.lstrip("\\") for t in types], var, self.statements(("}",))))
            self.expect("}")
        final = None
        if self.accept("finally"):
            self.expect("{")
            final = self.statements(("}",))
            self.expect("}")
        if not catches and final is None:
            self.fail(self.peek(), 'token "catch" or "finally"')
        return n.Try(line, body, catches, final)

    def stmt_declare(self) -> n.Node | None:
        line = self.next().line
        self.expect("(")
        name = self.name()
        self.expect("=")
        self.expr()
        self.expect(")")
        if name.lower() != "strict_types":
            return n.Unsupported(line, f"declare({name})")
        self.end_statement()
        return None
