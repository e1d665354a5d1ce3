"""What every capture reads but changes a few times a year, and what never changes at all.

A capture reads its store, the newest journey for the lead's segment and the store's promoted
scoring model: three of its queries, about a fifth of the API's CPU per new lead, for rows that
change when a store is set up, marketing publishes or a refit promotes. Each is kept for
RECENT_SECONDS. A change made through this `Reference` (`forget_on_commit` after a publish or a
promotion) is seen by the very next capture; a change made by another process (the worker
promoting a model while the API captures) within RECENT_SECONDS.

What is parsed from rows that never change once written (a published version's body, a fitted
model) is kept for good.

One `Reference` per database per process: the composition roots (`create_app`, the worker)
make it beside the `Database` and hand it to whoever reads through it. Two databases never
share one, so nothing crosses databases.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.orm import Session

from core.recent import RECENT_SECONDS, Recent
from db.models import SequenceVersion
from db.repositories import ScoringModelRepository, SequenceRepository, StoreRepository
from qualification.learning import LearnedModel
from sequences.model import Sequence


@dataclass(frozen=True)
class StoreProfile:
    """What a capture or a sale needs of its store: where it is, its language and money."""

    id: uuid.UUID
    country: str
    timezone: str
    locale: str
    currency: str


class Reference:
    def __init__(self, seconds: float = RECENT_SECONDS) -> None:
        self._stores: Recent[uuid.UUID, StoreProfile] = Recent(seconds)
        self._journeys: Recent[tuple[str | None, str], SequenceVersion] = Recent(seconds)
        self._model_versions: Recent[uuid.UUID, str] = Recent(seconds)
        self._sequences: Recent[str, Sequence] = Recent(None)
        self._models: Recent[str, LearnedModel] = Recent(None, limit=64)

    def store(self, session: Session, store_id: uuid.UUID) -> StoreProfile | None:
        """The store's profile; None for an unknown id (not kept: a new store is found at
        once)."""

        def load() -> StoreProfile | None:
            store = StoreRepository(session).get(store_id)
            if store is None:
                return None
            return StoreProfile(
                store.id, store.country, store.timezone, store.locale, store.currency
            )

        return self._stores.get(store_id, load)

    def newest_journey(
        self, session: Session, segment: str | None, fallback_key: str
    ) -> SequenceVersion | None:
        """The newest published journey for the segment, else the fallback sequence, joined
        to `session` without a query when it was read a moment ago."""

        def load() -> SequenceVersion | None:
            found = SequenceRepository(session).newest_for_segment(segment, fallback_key)
            if found is not None:
                session.expunge(found)  # the kept copy belongs to no session
            return found

        kept = self._journeys.get((segment, fallback_key), load)
        # A clean copy joins this session as it is (SQLAlchemy's recipe for cached rows).
        return session.merge(kept, load=False) if kept is not None else None

    def model_version(self, session: Session, store_id: uuid.UUID) -> str | None:
        """The store's promoted model version; None while it scores by the rules (kept too:
        most stores score by the rules until their first refit)."""
        return self._model_versions.get(
            store_id,
            lambda: ScoringModelRepository(session).current_version(store_id),
            keep_missing=True,
        )

    def scoring_model(self, session: Session, store_id: uuid.UUID) -> LearnedModel | None:
        """The store's promoted model, its body read and parsed once per version."""
        version = self.model_version(session, store_id)
        if version is None:
            return None

        def parse() -> LearnedModel:
            row = ScoringModelRepository(session).by_version(version)
            return LearnedModel.from_json(row.version, row.body)

        return self._models.value(version, parse)

    def sequence(self, version: SequenceVersion) -> Sequence:
        """The version's body as a Sequence, parsed once (versions never change)."""
        return self._sequences.value(
            version.content_hash, lambda: Sequence.model_validate(version.body)
        )

    def forget_on_commit(self, session: Session) -> None:
        """Forget what is kept for seconds once `session` commits (it published or promoted)."""
        event.listen(session, "after_commit", lambda _session: self.forget(), once=True)

    def forget(self) -> None:
        self._stores.forget()
        self._journeys.forget()
        self._model_versions.forget()
