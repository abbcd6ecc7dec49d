"""ADQL text checks and lexical forms (specir.tap.grammar)."""

import time

import pytest

from specir.errors import SpecIRQueryError
from specir.tap.grammar import ADQLError, parse, prepare


def test_adql_error_is_a_query_error_and_pickles():
    import pickle

    err = ADQLError("table 'x' does not exist", "query another")
    assert isinstance(err, SpecIRQueryError)
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == str(err) and again.fix == "query another"


def test_comments_are_removed_outside_literals():
    p = prepare("SELECT '--not a comment' AS a FROM t -- trailing comment")
    assert "--not a comment" in p.text and "trailing" not in p.text
    parse(p)  # parses once the comment is gone


@pytest.mark.parametrize(
    ("text", "number"),
    [("1e308", "1.0e308"), ("2e0", "2.0e0"), ("1E-3", "1.0e-3"), ("3.5e+2", "3.5e+2")],
)
def test_numeric_literals_take_every_adql_form(text, number):
    assert f"SELECT {number} " in prepare(f"SELECT {text} FROM t").text


def test_numeric_literal_outside_double_range_is_refused():
    with pytest.raises(ADQLError, match="1e400 is outside the double-precision range"):
        prepare("SELECT 1e400 FROM t")


def test_unicode_literals_and_delimited_identifiers_are_kept():
    p = prepare("""SELECT "é""x" FROM t WHERE name = 'café'""")
    assert p.text.isascii()
    assert sorted(p.literals.values()) == ['"é""x"', "'café'"]


def test_bare_non_ascii_is_refused_in_adql_terms():
    with pytest.raises(ADQLError, match="string literal or a delimited"):
        prepare("SELECT café FROM t")


def test_depth_and_length_are_checked_before_any_parse():
    deep = "SELECT " + "(" * 10_000 + "1" + ")" * 10_000 + " FROM t"
    start = time.perf_counter()
    with pytest.raises(ADQLError, match="nested deeper than"):
        prepare(deep)
    assert time.perf_counter() - start < 1.0  # the 20 kB hostile query costs nothing
    with pytest.raises(ADQLError, match="longer than 50 characters"):
        prepare("SELECT a FROM t WHERE " + "a = 1 AND " * 10, max_chars=50)


@pytest.mark.parametrize("text", ["SELECT 'open FROM t", 'SELECT "open FROM t', "", "  -- only"])
def test_unterminated_tokens_and_empty_queries(text):
    with pytest.raises(ADQLError):
        parse(prepare(text))
