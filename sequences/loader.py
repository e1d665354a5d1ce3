"""Load and validate sequence files. Errors name the file, the step and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sequences.model import TIMING_KINDS, Sequence
from sequences.templates import TEMPLATE_DIR, TemplateProblem, check_template

LIBRARY_DIR = Path(__file__).parent / "library"


class SequenceError(ValueError):
    """A sequence that cannot be published; the message says where and why."""


def _describe(error: ValidationError, body: Any) -> str:
    problems = []
    for item in error.errors():
        loc = list(item["loc"])
        where = []
        if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
            steps = body.get("steps") if isinstance(body, dict) else None
            step_id = None
            if isinstance(steps, list) and loc[1] < len(steps) and isinstance(steps[loc[1]], dict):
                step_id = steps[loc[1]].get("id")
            where.append(f"step {step_id!r}" if step_id else f"step #{loc[1] + 1}")
            loc = loc[2:]
        if loc:
            # Drop the union tags pydantic puts in the path (e.g. at.offset.days -> at.days).
            parts = [
                str(p)
                for i, p in enumerate(loc)
                if not (i and loc[i - 1] == "at" and p in TIMING_KINDS)
            ]
            where.append("field " + ".".join(parts))
        prefix = ", ".join(where)
        problems.append(f"{prefix}: {item['msg']}" if prefix else item["msg"])
    return "; ".join(problems)


def parse_sequence(body: Any, origin: str, templates: Path = TEMPLATE_DIR) -> Sequence:
    """Validate a sequence body (already parsed from YAML or JSON) and its templates."""
    try:
        sequence = Sequence.model_validate(body)
    except ValidationError as error:
        raise SequenceError(f"{origin}: {_describe(error, body)}") from error
    for step in sequence.steps:
        if step.send is None:
            continue
        try:
            check_template(step.send.template, templates)
        except TemplateProblem as problem:
            raise SequenceError(
                f"{origin}: step {step.id!r}, field send.template: {problem}"
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
