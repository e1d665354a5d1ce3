"""Publishing the sequence library from `sequences/library/` into immutable versions."""

from __future__ import annotations

from sqlalchemy.orm import Session

from db.models import SequenceVersion
from db.repositories import SequenceRepository
from sequences.loader import load_library
from sequences.model import Sequence


def publish_library(session: Session, *, by: str = "library") -> list[SequenceVersion]:
    """Publish each library sequence whose content differs from its latest version."""
    repository = SequenceRepository(session)
    return [
        repository.publish(sequence.key, sequence.name, sequence_body(sequence), by=by)
        for sequence in load_library().values()
    ]


def sequence_body(sequence: Sequence) -> dict[str, object]:
    return sequence.model_dump(mode="json", by_alias=True)
