"""Load and validate sequence files. Errors name the file, the step and the field."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from sequences.model import TIMING_KINDS, Sequence, StepProblem
from sequences.templates import TEMPLATE_DIR, TemplateProblem, check_template

LIBRARY_DIR = Path(__file__).parent / "library"


KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class SequenceProblem:
    """One thing wrong with a sequence, at the path of the key it concerns
    (`("steps", 2, "at", "days")`), so an editor can show it beside that line."""

    path: KeyPath
    message: str


class SequenceError(ValueError):
    """A sequence that cannot be published; the message says where and why, and `problems`
    says where by path."""

    def __init__(self, message: str, problems: tuple[SequenceProblem, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


def _untagged(loc: KeyPath) -> KeyPath:
    """Without the union tags pydantic puts in a path (`at.offset.days` is `at.days`)."""
    return tuple(
        part
        for i, part in enumerate(loc)
        if not (i and loc[i - 1] == "at" and part in TIMING_KINDS)
    )


def _path(item: ErrorDetails) -> KeyPath:
    """Where pydantic's error is, as keys of the body; for a rule across steps, the step
    (and field) that breaks it."""
    cause = (item.get("ctx") or {}).get("error")
    if isinstance(cause, StepProblem):
        return ("steps", cause.index, *cause.field.split("."))
    return _untagged(item["loc"])


def _where(loc: KeyPath, body: Any) -> str:
    """ "step 'welcome', field send.template": the step by its id, then the field."""
    where = []
    if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
        steps = body.get("steps") if isinstance(body, dict) else None
        step_id = None
        if isinstance(steps, list) and loc[1] < len(steps) and isinstance(steps[loc[1]], dict):
            step_id = steps[loc[1]].get("id")
        where.append(f"step {step_id!r}" if step_id else f"step #{loc[1] + 1}")
        loc = loc[2:]
    if loc:
        where.append("field " + ".".join(str(part) for part in loc))
    return ", ".join(where)


def _describe(error: ValidationError, body: Any) -> tuple[str, tuple[SequenceProblem, ...]]:
    problems = tuple(
        SequenceProblem(_path(item), item["msg"].removeprefix("Value error, "))
        for item in error.errors()
    )
    described = []
    for item in error.errors():
        prefix = _where(_untagged(item["loc"]), body)
        described.append(f"{prefix}: {item['msg']}" if prefix else item["msg"])
    return "; ".join(described), problems


def parse_sequence(body: Any, origin: str, templates: Path = TEMPLATE_DIR) -> Sequence:
    """Validate a sequence body (already parsed from YAML or JSON) and its templates."""
    try:
        sequence = Sequence.model_validate(body)
    except ValidationError as error:
        message, problems = _describe(error, body)
        raise SequenceError(f"{origin}: {message}", problems) from error
    for index, step in enumerate(sequence.steps):
        if step.send is None:
            continue
        try:
            check_template(step.send.template, templates)
        except TemplateProblem as problem:
            raise SequenceError(
                f"{origin}: step {step.id!r}, field send.template: {problem}",
                (SequenceProblem(("steps", index, "send", "template"), str(problem)),),
            ) from problem
    return sequence


def load_sequence_file(path: Path, templates: Path = TEMPLATE_DIR) -> Sequence:
    try:
        body = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise SequenceError(f"{path.name}: not valid YAML: {error}") from error
    return parse_sequence(body, path.name, templates)


def load_library(
    directory: Path = LIBRARY_DIR, templates: Path = TEMPLATE_DIR
) -> dict[str, Sequence]:
    """Every sequence in the library folder, keyed by its key."""
    sequences: dict[str, Sequence] = {}
    for path in sorted(directory.glob("*.yaml")):
        sequence = load_sequence_file(path, templates)
        if sequence.key in sequences:
            raise SequenceError(f"{path.name}: key {sequence.key!r} is used by another file")
        sequences[sequence.key] = sequence
    return sequences
