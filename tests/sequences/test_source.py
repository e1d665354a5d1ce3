"""Sequences as YAML text: published bodies written back, problems found at their lines, and
the line diff between two versions."""

from __future__ import annotations

import pytest
import yaml

from sequences.loader import SequenceError, load_library, parse_sequence
from sequences.source import SourceProblem, diff, line_of, read, to_yaml
from tests.sequences.samples import TRUNK_SHOW


def _problem_lines(text: str) -> dict[int, str]:
    source = read(text)
    with pytest.raises(SequenceError) as refused:
        parse_sequence(source.body, "upload")
    return {
        line_of(source.root, problem.path): problem.message for problem in refused.value.problems
    }


@pytest.mark.parametrize(
    ("old", "new", "line", "words"),
    [
        ("at: {days: 2}", "at: {days: two}", 8, "valid integer"),
        ("  - id: call", "  - id: reminder", 10, "duplicate step id"),
        ("engagement/four_cs", "engagement/no_such_thing", 9, "unknown template"),
        ("at: {days: 3}", "at: {days: 1}", 11, "is earlier than step 'reminder'"),
        ("role: associate", "role: jeweller", 12, "Input should be"),
        # A required field left out points at the key that lacks it.
        (", template: engagement/welcome}", "}", 6, "Field required"),
        ("name: Trunk show invitations\n", "", 1, "Field required"),
    ],
)
def test_a_problem_is_found_at_the_line_of_its_key(old, new, line, words):
    text = TRUNK_SHOW.replace(old, new, 1)
    found = _problem_lines(text)
    assert line in found, found
    assert words in found[line]


def test_a_goto_backwards_is_found_at_its_step():
    text = TRUNK_SHOW + "  - id: again\n    goto: reminder\n"
    assert "goes back to 'reminder'" in _problem_lines(text)[14]


def test_yaml_that_cannot_be_read_names_the_line_and_where_it_began():
    with pytest.raises(SourceProblem) as refused:
        read(TRUNK_SHOW.replace("at: {days: 2}", "at: {days: 2"))
    assert refused.value.line == 9
    assert "expected ',' or '}'" in refused.value.message
    assert refused.value.began == 8
    assert refused.value.began_what == "while parsing a flow mapping that starts here"


def test_every_library_sequence_reads_back_from_its_yaml_unchanged():
    for sequence in load_library().values():
        body = sequence.model_dump(mode="json", by_alias=True)
        text = to_yaml(body)
        again = parse_sequence(yaml.safe_load(text), sequence.key)
        assert again.model_dump(mode="json", by_alias=True) == body, sequence.key
        # Defaults are left out, as in the files (a journey with no goal says so).
        assert "when: null" not in text and "wait_for: null" not in text


def test_the_diff_shows_what_changed_with_its_line_numbers_and_gaps():
    older = "\n".join(f"line {n}" for n in range(1, 21))
    newer = older.replace("line 10", "line ten").replace("line 20", "line 20\nline 21")
    lines = diff(older, newer, context=2)
    shown = [(line.kind, line.old, line.new, line.text) for line in lines]
    assert shown == [
        ("gap", None, None, ""),
        ("same", 8, 8, "line 8"),
        ("same", 9, 9, "line 9"),
        ("removed", 10, None, "line 10"),
        ("added", None, 10, "line ten"),
        ("same", 11, 11, "line 11"),
        ("same", 12, 12, "line 12"),
        ("gap", None, None, ""),
        ("same", 19, 19, "line 19"),
        ("same", 20, 20, "line 20"),
        ("added", None, 21, "line 21"),
    ]
    assert diff(older, older) == []
