"""A sequence as the YAML marketing reads and writes: a published body written back as YAML,
YAML text read with the line of every key, and a line-by-line diff of two versions.

A published body is stored as JSON with every default spelled out; written back, only what
differs from the defaults is shown, so a version reads like the file it came from and
publishing it unchanged publishes nothing new.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Literal

import yaml

from sequences.loader import KeyPath
from sequences.model import Sequence


class SourceProblem(ValueError):
    """YAML that cannot be read: the line (counted from 1) where reading stopped and why, and
    the line where what it was reading began (an unclosed `{` is found on a later line)."""

    def __init__(
        self, line: int, message: str, began: int | None = None, began_what: str = ""
    ) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message
        self.began = began
        self.began_what = began_what


def to_yaml(body: dict[str, Any]) -> str:
    """A published body as YAML, defaults left out, keys in the language's order."""
    sequence = Sequence.model_validate(body)
    shown = sequence.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    return yaml.safe_dump(shown, sort_keys=False, allow_unicode=True, width=96)


@dataclass(frozen=True)
class Source:
    """YAML text read: the body, and its node tree (which knows each key's line)."""

    body: Any
    root: yaml.Node | None


def read(text: str) -> Source:
    """Read YAML text; SourceProblem names the line where it stops making sense."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        body = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 1
        began = error.context_mark.line + 1 if error.context_mark is not None else None
        raise SourceProblem(
            line,
            error.problem or error.context or "not valid YAML",
            began if began != line else None,
            f"{error.context} that starts here" if error.context else "",
        ) from error
    except yaml.YAMLError as error:
        raise SourceProblem(1, str(error)) from error
    return Source(body, root)


def line_of(root: yaml.Node | None, path: KeyPath) -> int:
    """The line (from 1) of the key at `path`; as far as the text goes when a key is missing
    (a required field left out points at its parent)."""
    if root is None:
        return 1
    node: yaml.Node = root
    line = root.start_mark.line + 1
    for part in path:
        found: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    line, found = key.start_mark.line + 1, value
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part >= 0:
            found = node.value[part] if part < len(node.value) else None
            line = found.start_mark.line + 1 if found is not None else line
        if found is None:
            break
        node = found
    return line


@dataclass(frozen=True)
class DiffLine:
    """One line of a diff: in both, only in the older, only in the newer, or a gap of lines
    that did not change."""

    kind: Literal["same", "removed", "added", "gap"]
    old: int | None  # its number in the older text
    new: int | None  # its number in the newer text
    text: str


def diff(older: str, newer: str, context: int = 3) -> list[DiffLine]:
    """The lines that changed between two texts, with `context` unchanged lines around each
    change and a gap where more were left out."""
    if older == newer:
        return []
    before, after = older.splitlines(), newer.splitlines()
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    lines: list[DiffLine] = []
    shown_to = 0  # the older text's lines shown or passed so far
    for group in matcher.get_grouped_opcodes(context):
        if group[0][1] > shown_to:
            lines.append(DiffLine("gap", None, None, ""))
        for tag, a1, a2, b1, b2 in group:
            if tag == "equal":
                lines += [
                    DiffLine("same", a1 + i + 1, b1 + i + 1, before[a1 + i]) for i in range(a2 - a1)
                ]
            else:
                lines += [DiffLine("removed", i + 1, None, before[i]) for i in range(a1, a2)]
                lines += [DiffLine("added", None, i + 1, after[i]) for i in range(b1, b2)]
        shown_to = group[-1][2]
    if shown_to < len(before):
        lines.append(DiffLine("gap", None, None, ""))
    return lines
