"""gitml.core.text: key paths, numbers, Markdown cells and one-line messages, exactly as people read them."""

from __future__ import annotations

import re

import pytest

from gitml.core import text


def test_flatten_nested_mappings_to_dotted_keys():
    tree = {"a": 1, "b": {"c": 2, "d": {"e": "x"}}}

    assert text.flatten(tree) == {"a": 1, "b.c": 2, "b.d.e": "x"}


def test_flatten_keeps_insertion_order():
    assert list(text.flatten({"z": 1, "a": {"y": 2, "b": 3}})) == ["z", "a.y", "a.b"]


def test_flatten_lists_and_empty_mappings_are_leaves():
    tree = {"steps": [{"_target_": "x"}, 2], "docs": {}, "n": None}

    assert text.flatten(tree) == {"steps": [{"_target_": "x"}, 2], "docs": {}, "n": None}


def test_flatten_non_string_keys_become_text():
    assert text.flatten({1: {True: "a"}}) == {"1.True": "a"}


def test_flatten_with_prefix():
    assert text.flatten({"a": {"b": 1}}, prefix="params") == {"params.a.b": 1}


@pytest.mark.parametrize("root", [None, 3, "text", [1, 2], {}])
def test_flatten_a_root_that_is_not_a_non_empty_mapping_has_no_keys(root):
    assert text.flatten(root) == {}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "–"),
        (True, "yes"),
        (False, "no"),
        (0, "0"),
        (1234567, "1,234,567"),
        (-1000, "-1,000"),
        (0.5, "0.5"),
        (0.000123456, "0.0001235"),
        (2 / 3, "0.6667"),
        (123456.0, "1.235e+05"),
        (1.0, "1"),
        (float("nan"), "nan"),
        ("a", "a"),
    ],
)
def test_number_formats_each_kind(value, expected):
    assert text.number(value) == expected


def test_number_digits_are_significant_digits():
    assert text.number(2 / 3, digits=2) == "0.67"
    assert text.number(1234.5678, digits=6) == "1234.57"
    assert text.number(1234567, digits=2) == "1,234,567"  # counts are never rounded


def test_number_missing_marker():
    assert text.number(None, missing="-") == "-"
    assert text.number(0, missing="-") == "0"
    assert text.number(False, missing="-") == "no"


@pytest.mark.parametrize(
    ("value", "limit", "expected"),
    [
        ("short", 10, "short"),
        ("exactly10!", 10, "exactly10!"),
        ("eleven char", 10, "eleven cha… (1 more characters)"),
        ("abcdef", 3, "abc… (3 more characters)"),
        ("", 0, ""),
    ],
)
def test_cut_keeps_limit_characters_and_counts_the_rest(value, limit, expected):
    assert text.cut(value, limit) == expected


def test_cut_of_a_huge_value_is_short_and_says_how_much_was_cut():
    shown = text.cut("x" * 5_000_000)

    assert shown == "x" * text.LIMIT + f"… ({5_000_000 - text.LIMIT:,} more characters)"


def test_quoted_is_the_repr_of_short_values():
    assert text.quoted("col") == "'col'"
    assert text.quoted(3) == "3"
    assert text.quoted("a\nb") == "'a\\nb'"


def test_quoted_cuts_a_long_string_inside_its_quotes():
    assert text.quoted("y" * 1_000_000, limit=4) == "'yyyy'… (999,996 more characters)"


def test_quoted_cuts_any_long_repr():
    assert text.quoted(list(range(100)), limit=10) == "[0, 1, 2, … (380 more characters)"


def test_md_cell_escapes_pipes():
    assert text.md_cell("a|b") == "a\\|b"


def test_md_cell_joins_lines_and_collapses_whitespace():
    assert text.md_cell("  one\ntwo\r\n\tthree  ") == "one two three"


def test_md_cell_formats_any_value():
    assert text.md_cell(3) == "3"
    assert text.md_cell(None) == "None"


def test_md_cell_respects_limit():
    assert text.md_cell("a" * 20, limit=10) == "aaaaaaaaaa… (10 more characters)"
    assert text.md_cell("short", limit=10) == "short"
    assert text.md_cell("a" * 20) == "a" * 20  # no limit: the whole text


def test_md_cell_cut_never_leaves_a_bare_pipe():
    for limit in range(3, 12):
        cell = text.md_cell("a|b||c|", limit=limit)
        assert re.search(r"(?<!\\)\|", cell) is None, cell


def test_one_line_escapes_control_characters():
    assert text.one_line("a\nb\rc\td\x00e\x1bf\x7fg") == "a\\x0ab\\x0dc\\x09d\\x00e\\x1bf\\x7fg"


def test_one_line_leaves_printable_text_alone():
    assert text.one_line("plain – text, ünïcode ✓") == "plain – text, ünïcode ✓"
    assert "\n" not in text.one_line("x\n" * 5)


def test_reason_is_the_first_line():
    assert text.reason(ValueError("first line\nsecond line")) == "first line"


def test_reason_strips_surrounding_whitespace():
    assert text.reason(RuntimeError("\n  padded  \n")) == "padded"


@pytest.mark.parametrize("exc", [ValueError(), KeyboardInterrupt(), OSError("  \n ")])
def test_reason_without_message_is_the_type_name(exc):
    assert text.reason(exc) == type(exc).__name__
