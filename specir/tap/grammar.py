"""Reading ADQL text: cheap admission checks, the ADQL 2.1 lexical forms, and the parse.

The parse tree comes from the ADQL 2.0 grammar of queryparser-python3 (ANTLR). Before it sees
the text, :func:`prepare` scans it once, in linear time, and

* refuses text longer than ``max_chars`` or nested deeper than ``max_depth`` parentheses
  (the ANTLR parse of deeply nested text takes minutes, so this is checked first);
* removes ADQL 2.1 ``--`` comments;
* stands in ASCII placeholders for string literals and delimited identifiers holding
  non-ASCII characters or doubled quotes (the grammar's lexer accepts neither), restored
  when the SQL is written;
* rewrites numeric literals without a decimal point (``1e308``, ``2E-3``) into the form the
  grammar accepts and refuses those outside the double range.

:func:`parse` then lexes the text once more and, where the ADQL 2.1 functions the grammar
lacks are called (``LOWER``, ``UPPER`` and ``COALESCE`` are reserved words there, and
``CAST(x AS type)`` has no rule), renames the call to a per-query user-defined function name
(and ``AS type`` to a string argument), so that the grammar's own ``user_defined_function``
rule parses it; :class:`specir.tap.functions.FunctionsMixin` translates these calls.
"""

import math
import re
import secrets
from dataclasses import dataclass, field

import antlr4
from antlr4.atn.PredictionMode import PredictionMode
from antlr4.error.ErrorListener import ErrorListener
from antlr4.error.Errors import ParseCancellationException
from antlr4.error.ErrorStrategy import BailErrorStrategy
from queryparser.adql.ADQLLexer import ADQLLexer
from queryparser.adql.ADQLParser import ADQLParser

from specir.errors import SpecIRQueryError

__all__ = [
    "KEYWORD_FUNCTIONS",
    "ADQLError",
    "Prepared",
    "is_term",
    "numeric_constant",
    "parse",
    "prepare",
]

MAX_CHARS = 100_000
"""Longest ADQL text accepted by default."""
MAX_DEPTH = 30
"""Deepest parenthesis nesting accepted by default."""
KEYWORD_FUNCTIONS = ("LOWER", "UPPER", "COALESCE", "CAST")
"""ADQL 2.1 functions whose names the ADQL 2.0 grammar reserves (see :func:`parse`)."""


class ADQLError(SpecIRQueryError):
    """An ADQL query that cannot be run, phrased in ADQL terms.

    Examples
    --------
    >>> str(ADQLError("table 'x' does not exist", "query one of the published tables"))
    "QUERY: table 'x' does not exist. Fix: query one of the published tables"
    """

    def __init__(self, problem, fix="rewrite the query (see /tap/examples for working ones)"):
        super().__init__("QUERY", problem, fix)

    def __reduce__(self):
        return (type(self), (self.problem, self.fix))


@dataclass
class Prepared:
    """ADQL text ready for the grammar, and what its placeholders stand for."""

    text: str
    literals: dict = field(default_factory=dict)
    """Placeholder (as lexed, quotes included) -> SQL text to emit instead."""
    depth: int = 0
    """Deepest parenthesis nesting of the text."""
    nonce: str = ""
    """Random per-query text of the placeholders."""
    functions: dict = field(default_factory=dict)
    """Per-query function name (lower case) -> the ADQL 2.1 function it stands for; filled
    by :func:`parse`."""


_NUMBER = re.compile(r"(?<![\w.])(\d+)(?:\.(\d*))?([eE])([+-]?\d+)")


def _fix_number(match):
    whole, frac, _, exp = match.groups()
    text = f"{whole}.{frac or '0'}e{exp}"
    if not math.isfinite(float(text)):
        raise ADQLError(f"the number {match.group(0)} is outside the double-precision range")
    return text


def _quoted(text, i, quote):
    """End index (exclusive) of the quoted token starting at ``text[i]``."""
    j = i + 1
    while True:
        j = text.find(quote, j)
        if j < 0:
            kind = "string literal" if quote == "'" else "delimited identifier"
            raise ADQLError(f"a {kind} opened at character {i + 1} is never closed")
        if text.startswith(quote * 2, j):
            j += 2
            continue
        return j + 1


def prepare(adql, *, max_chars=MAX_CHARS, max_depth=MAX_DEPTH):
    """Check and rewrite ADQL text for the grammar (see the module docstring).

    Examples
    --------
    >>> prepare("SELECT 1e3 FROM t -- a comment").text
    'SELECT 1.0e3 FROM t  '
    >>> prepare("SELECT ((((1))))", max_depth=3)
    Traceback (most recent call last):
    ...
    specir.tap.grammar.ADQLError: QUERY: parentheses are nested deeper than 3 levels. Fix: ...
    """
    if not adql or not adql.strip():
        raise ADQLError("QUERY is empty", "pass an ADQL SELECT statement")
    if len(adql) > max_chars:
        raise ADQLError(f"the query is longer than {max_chars} characters", "shorten it")
    out, literals, nonce = [], {}, secrets.token_hex(3)
    depth, deepest, i, start = 0, 0, 0, 0
    while i < len(adql):
        c = adql[i]
        if c in "'\"":
            j = _quoted(adql, i, c)
            token = adql[i:j]
            if not token.isascii() or (c == '"' and '""' in token):
                holder = f"{c}zz{nonce}_{len(literals)}{c}"
                literals[holder] = token
                token = holder
            out.append(_NUMBER.sub(_fix_number, adql[start:i]) + token)
            i = start = j
            continue
        if c == "-" and adql.startswith("--", i):
            end = adql.find("\n", i)
            end = len(adql) if end < 0 else end
            out.append(_NUMBER.sub(_fix_number, adql[start:i]) + " ")
            i = start = end
            continue
        if c == "(":
            depth += 1
            deepest = max(deepest, depth)
            if depth > max_depth:
                raise ADQLError(
                    f"parentheses are nested deeper than {max_depth} levels", "simplify the query"
                )
        elif c == ")":
            depth -= 1
        i += 1
    out.append(_NUMBER.sub(_fix_number, adql[start:]))
    text = "".join(out)
    if not text.isascii():
        bad = next(ch for ch in text if not ch.isascii())
        raise ADQLError(
            f"the character {bad!r} may only appear inside a string literal or a delimited "
            'identifier ("name")',
            "quote it",
        )
    return Prepared(text, literals, deepest, nonce)


class _Raise(ErrorListener):
    def syntaxError(self, recognizer, offendingSymbol, line, column, msg, e):
        near = getattr(offendingSymbol, "text", None)
        where = f" near {near!r}" if near and near != "<EOF>" else ""
        raise ADQLError(
            f"ADQL syntax error at line {line}, column {column + 1}{where}: {msg}",
            "correct the syntax (ADQL 2.1, section 2)",
        )


def _lexer(text):
    lexer = ADQLLexer(antlr4.InputStream(text))
    lexer.removeErrorListeners()
    lexer.addErrorListener(_Raise())
    return lexer


def _single_statement(text):
    tokens = antlr4.CommonTokenStream(_lexer(text))
    tokens.fill()
    semis = [t for t in tokens.tokens if t.type == ADQLParser.SEMI]
    visible = [t for t in tokens.tokens if t.channel == 0 and t.type != antlr4.Token.EOF]
    if not visible:
        raise ADQLError("QUERY holds only comments", "pass an ADQL SELECT statement")
    if len(semis) > 1 or (semis and visible[-1] is not semis[0]):
        raise ADQLError("only one ADQL statement per query is allowed", "remove the ';' chain")
    return (text if semis else text.rstrip() + ";"), visible


_KEYWORD_TYPES = {getattr(ADQLParser, name): name for name in KEYWORD_FUNCTIONS}


def _cast_type(visible, k):
    """Edit turning ``AS type`` of the CAST whose '(' is ``visible[k]`` into ``, 'type'``."""
    depth, as_token = 0, None
    for j in range(k, len(visible)):
        t = visible[j]
        if t.type == ADQLParser.LPAREN:
            depth += 1
        elif t.type == ADQLParser.RPAREN:
            depth -= 1
            if depth == 0:
                break
        elif t.type == ADQLParser.AS and depth == 1 and as_token is None:
            as_token = j
    else:
        return None
    if as_token is None or as_token + 1 == j:
        raise ADQLError("CAST needs a target type", "write CAST(expression AS type)")
    words = " ".join(t.text for t in visible[as_token + 1 : j]).upper()
    words = re.sub(r"\s*([()])\s*", r"\1", words)
    if not re.fullmatch(r"[A-Z0-9 ()]+", words):
        raise ADQLError(f"CAST to {words!r} is not an ADQL type", "see ADQL 2.1, section 2.3.8")
    return visible[as_token].start, visible[j - 1].stop + 1, f", '{words}'"


def _rename_functions(text, visible, prepared):
    """Text with the ADQL 2.1 keyword-named function calls renamed (module docstring)."""
    edits = []
    for k, t in enumerate(visible[:-1]):
        name = _KEYWORD_TYPES.get(t.type)
        if name is None or visible[k + 1].type != ADQLParser.LPAREN:
            continue
        alias = f"zzfn{prepared.nonce}_{name.lower()}"
        prepared.functions[alias] = name
        edits.append((t.start, t.stop + 1, alias))
        if name == "CAST":
            cast = _cast_type(visible, k + 1)
            if cast is not None:
                edits.append(cast)
    for start, stop, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[stop:]
    return text


def parse(prepared):
    """The ANTLR parse tree and parser of prepared text; raises :class:`ADQLError`.

    Fills ``prepared.functions`` (see the module docstring).
    """
    text, visible = _single_statement(prepared.text)
    text = _rename_functions(text, visible, prepared)
    # two-stage parse: fast SLL prediction, then full LL (and its error message) on failure
    for mode in (PredictionMode.SLL, PredictionMode.LL):
        stream = antlr4.CommonTokenStream(_lexer(text))
        parser = ADQLParser(stream)
        parser.removeErrorListeners()
        parser._interp.predictionMode = mode
        if mode == PredictionMode.SLL:
            parser._errHandler = BailErrorStrategy()
        else:
            parser.addErrorListener(_Raise())
        try:
            tree = parser.query()
            break
        except ParseCancellationException:
            continue
        except RecursionError:
            raise ADQLError("the query is nested too deeply", "simplify it") from None
    if stream.LA(1) != antlr4.Token.EOF:
        raise ADQLError("unexpected text after the end of the query", "send a single SELECT")
    return tree, parser


def is_term(node):
    """True for a terminal (token) node of the parse tree."""
    return isinstance(node, antlr4.tree.Tree.TerminalNode)


def numeric_constant(node):
    """The float value of a node whose text is a (signed) number, else None."""
    try:
        value = float(node.getText())
    except ValueError:
        return None
    return value if math.isfinite(value) else None
