"""Published sequence versions: immutable, newest wins for new enrollments."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Sequence as Seq
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import defer

from db.models import SequenceVersion
from db.repositories.base import Repository


def content_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


class SequenceRepository(Repository[SequenceVersion]):
    model = SequenceVersion

    def latest(self, key: str) -> SequenceVersion | None:
        return self.session.scalars(
            select(SequenceVersion)
            .where(SequenceVersion.key == key)
            .order_by(SequenceVersion.version.desc())
        ).first()

    def version(self, key: str, number: int) -> SequenceVersion | None:
        return self.session.scalars(
            select(SequenceVersion).where(
                SequenceVersion.key == key, SequenceVersion.version == number
            )
        ).first()

    def versions(self, key: str) -> Seq[SequenceVersion]:
        return self.session.scalars(
            select(SequenceVersion)
            .where(SequenceVersion.key == key)
            .order_by(SequenceVersion.version)
        ).all()

    @staticmethod
    def _newest() -> Select[SequenceVersion]:
        """Each sequence's newest version, ordered by key."""
        newest = (
            select(SequenceVersion.key, func.max(SequenceVersion.version).label("version"))
            .group_by(SequenceVersion.key)
            .subquery()
        )
        return (
            select(SequenceVersion)
            .join(
                newest,
                (SequenceVersion.key == newest.c.key)
                & (SequenceVersion.version == newest.c.version),
            )
            .order_by(SequenceVersion.key)
        )

    def latest_of_each(self) -> Seq[SequenceVersion]:
        """The newest version of every sequence, ordered by key."""
        return self.session.scalars(self._newest()).all()

    def latest_for_segment(self, segment: str) -> SequenceVersion | None:
        """The newest published journey (not a countdown) for the segment, if any.

        Filtered in SQL on the body's JSON, so a capture does not load every sequence. Every
        capture asks this, so the statement is built once (building it cost more than running
        it).
        """
        return self.session.scalars(_latest_for_segment(), {"segment": segment}).first()

    def newest_for_segment(self, segment: str | None, fallback_key: str) -> SequenceVersion | None:
        """The newest published journey for the segment, else the fallback sequence."""
        found = self.latest_for_segment(segment) if segment else None
        return found or self.latest(fallback_key)

    def publish(self, key: str, name: str, body: dict[str, Any], *, by: str) -> SequenceVersion:
        """A new immutable version, unless the body is the same as the latest one."""
        latest = self.latest(key)
        digest = content_hash(body)
        if latest is not None and latest.content_hash == digest:
            return latest
        version = SequenceVersion(
            key=key,
            version=(latest.version + 1) if latest else 1,
            name=name,
            body=body,
            content_hash=digest,
            published_by=by,
        )
        return self.add(version)


@functools.cache
def _latest_for_segment() -> Select[SequenceVersion]:
    body = SequenceVersion.body
    return (
        SequenceRepository._newest()
        .where(
            body["segment"].as_string() == bindparam("segment"),
            body["occasion"].as_string().is_(None),
        )
        .options(defer(SequenceVersion.body))  # read only if its parse is not memoised
        .limit(1)
    )
