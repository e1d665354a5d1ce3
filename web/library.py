"""The sequence library, for marketing: every sequence and its versions, what changed between
two versions, the dated plan for a sample lead, each template as a lead would receive it,
and publishing a new version from YAML (problems shown beside their lines).

Reading, previewing and publishing go through `domain.sequences`, as the API's /v1/sequences
does; only reading YAML text (and finding a key's line) is the console's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.orm import Session

from db.types import utcnow
from domain import sequences
from domain.accounts import Person
from domain.errors import Conflict, DomainError, InvalidSequence
from domain.fields import CalendarDate, Plannable, TimeZone
from domain.reference import Reference
from sequences.preview import LeadSample
from sequences.source import SourceProblem, line_of, read, to_yaml
from sequences.templates import SAMPLE_FIELDS
from sequences.vocabulary import Occasion, Segment
from web import session
from web.inbox import read as read_db
from web.pages import Refused, allow, back_to, database, person, refusal, render, sentence

router = APIRouter(prefix="/console/sequences", include_in_schema=False)

SEGMENTS = [segment.value for segment in Segment]
OCCASIONS = [occasion.value for occasion in Occasion]
KEY = r"^[a-z][a-z0-9_]{0,62}$"
MAX_NAME = 60


async def _marketer(request: Request) -> Person:
    me = await person(request)
    allow(me.authors_sequences, "work on sequences; the library is for marketing")
    return me


def _number(value: str | None) -> int | None:
    """A version number from the query string (None: the newest); nonsense is a 422."""
    if not value:
        return None
    if not value.isdigit() or not 1 <= int(value) <= 1_000_000:
        raise Refused(422, "A version is a whole number from 1.")
    return int(value)


@router.get("")
async def library_page(request: Request) -> Response:
    """Every sequence at its newest version."""
    me = await _marketer(request)
    newest = await read_db(request, sequences.library)
    return render(request, "library.html", {"person": me, "newest": newest})


# --- publishing a new version --------------------------------------------------------------------


@dataclass(frozen=True)
class SourceLine:
    number: int
    text: str
    problems: list[str]


def _annotated(text: str, problems: dict[int, list[str]]) -> list[SourceLine]:
    """The text's lines, each with its problems (one found past the end is on the last)."""
    lines = text.splitlines()
    if not lines:
        return []
    beyond = [m for n, found in sorted(problems.items()) if n > len(lines) for m in found]
    return [
        SourceLine(n, line, problems.get(n, []) + (beyond if n == len(lines) else []))
        for n, line in enumerate(lines, start=1)
    ]


@router.get("/new")
async def publish_page(request: Request, start: str | None = None) -> Response:
    """The form to publish a version: YAML pasted or uploaded; `start` fills in a sequence's
    newest version to edit."""
    me = await _marketer(request)
    text = ""
    if start:
        newest = await read_db(request, lambda db: sequences.version_of(db, start))
        text = to_yaml(newest.body)
    return render(request, "publish.html", {"person": me, "text": text, "lines": None})


@router.post("")
async def publish(request: Request) -> Response:
    """Publish YAML as a new version; refused with each problem beside its line."""
    fields, files = await session.form_with_files(request)
    me = await _marketer(request)
    upload = files.get("file")
    raw = upload if upload is not None else fields.get("text", "").encode()
    if len(raw) > session.MAX_FORM_BYTES:
        raise Refused(413, "That file is too large; a sequence fits in 64 KiB.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(422, "That file is not UTF-8 text; save it as UTF-8 YAML.") from None
    text = text.replace("\r\n", "\n")

    def refused(problems: dict[int, list[str]], summary: str, status: int = 422) -> Response:
        context = {
            "person": me,
            "text": text,
            "lines": _annotated(text, problems),
            "summary": summary,
        }
        return render(request, "publish.html", context, status)

    if not text.strip():
        return refused({}, "Paste the sequence's YAML or choose a file.")
    try:
        source = read(text)
    except SourceProblem as problem:
        marks = {problem.line: [sentence(problem.message)]}
        if problem.began is not None and problem.began_what:
            marks[problem.began] = [sentence(problem.began_what)]
        return refused(marks, "This is not valid YAML: nothing published.")
    if not isinstance(source.body, dict):
        return refused({1: ["A sequence is a mapping: key, name, steps, …"]}, "Not a sequence.")
    reference: Reference = request.app.state.reference
    body: dict[str, Any] = source.body

    def store(db: Session) -> sequences.Published:
        return sequences.publish(db, reference, body, by=(me.name or me.email)[:100])

    try:
        published = await run_in_threadpool(database(request).run, store)
    except InvalidSequence as error:
        problems: dict[int, list[str]] = {}
        for found in error.problems:
            problems.setdefault(line_of(source.root, found.path), []).append(
                sentence(found.message)
            )
        count = len(error.problems)
        return refused(problems, f"{count} problem{'s' if count != 1 else ''}: nothing published.")
    except Conflict as error:
        line = line_of(source.root, ("occasion",))
        return refused({line: [sentence(str(error))]}, "Refused: nothing published.", 409)
    except DomainError as error:
        raise refusal(error) from error
    version = published.version
    outcome = "published" if published.created else "unchanged"
    return back_to(
        request, f"/console/sequences/{version.key}?version={version.version}&{outcome}=1"
    )


# --- one sequence ------------------------------------------------------------------------------


@router.get("/{key}")
async def sequence_page(
    request: Request,
    key: str,
    version: str | None = None,
    published: str | None = None,
    unchanged: str | None = None,
) -> Response:
    """A sequence's versions, and one of them (the newest unless chosen) as YAML."""
    me = await _marketer(request)
    number = _number(version)

    def find(db: Session) -> tuple[Any, Any]:
        return sequences.versions_of(db, key), sequences.version_of(db, key, number)

    versions, shown = await read_db(request, find)
    context = {
        "person": me,
        "key": key,
        "versions": versions,
        "shown": shown,
        "source": to_yaml(shown.body),
        "published": published == "1",
        "unchanged": unchanged == "1",
    }
    return render(request, "sequence.html", context)


@router.get("/{key}/diff")
async def diff_page(request: Request, key: str, older: str = "", newer: str = "") -> Response:
    """What changed from one version to another."""
    me = await _marketer(request)
    before, after = _number(older), _number(newer)
    if before is None or after is None:
        raise Refused(422, "Choose two versions to compare.")
    compared = await read_db(request, lambda db: sequences.compare(db, key, before, after))
    versions = await read_db(request, lambda db: sequences.versions_of(db, key))
    context = {"person": me, "key": key, "diff": compared, "versions": versions}
    return render(request, "diff.html", context)


_TIMEZONE: TypeAdapter[str] = TypeAdapter(TimeZone)
_DAY: TypeAdapter[date] = TypeAdapter(CalendarDate)
_MOMENT: TypeAdapter[datetime] = TypeAdapter(Plannable)


@dataclass(frozen=True)
class SampleForm:
    """The sample lead as the preview form gives it (strings), and what was wrong with it."""

    timezone: str = "Asia/Kolkata"
    segment: str = ""
    score: str = ""
    occasion: str = ""
    day: str = ""
    start: str = ""
    version: str = ""


def _first_error(error: ValidationError) -> str:
    return sentence(error.errors()[0]["msg"].removeprefix("Value error, "))


def _sample(form: SampleForm) -> tuple[LeadSample, datetime | None, dict[str, str]]:
    """The sample lead and the enrollment time (None: now), or the problems by field."""
    problems: dict[str, str] = {}
    timezone = "Asia/Kolkata"
    try:
        timezone = _TIMEZONE.validate_python(form.timezone.strip())
    except ValidationError as error:
        problems["timezone"] = _first_error(error)
    score = None
    if form.score.strip():
        if not form.score.strip().isdigit() or int(form.score) > 100:
            problems["score"] = "A score is a whole number from 0 to 100."
        else:
            score = int(form.score)
    occasions: dict[Occasion, date] = {}
    if form.occasion or form.day:
        if form.occasion not in OCCASIONS:
            problems["occasion"] = "Choose which occasion the date is."
        else:
            try:
                occasions[Occasion(form.occasion)] = _DAY.validate_python(form.day)
            except ValidationError as error:
                problems["day"] = _first_error(error)
    start = None
    if form.start:
        try:
            local = datetime.fromisoformat(form.start)
            if local.tzinfo is None and "timezone" not in problems:
                local = local.replace(tzinfo=ZoneInfo(timezone))
            start = _MOMENT.validate_python(local)
        except ValueError as error:
            problems["start"] = (
                _first_error(error)
                if isinstance(error, ValidationError)
                else "Give the start as a date and time."
            )
    sample = LeadSample(
        timezone=timezone,
        segment=form.segment if form.segment in SEGMENTS else None,
        score=score,
        occasions=occasions,
    )
    return sample, start, problems


@router.get("/{key}/preview")
async def preview_page(
    request: Request,
    key: str,
    timezone: str = "Asia/Kolkata",
    segment: str = "",
    score: str = "",
    occasion: str = "",
    day: str = "",
    start: str = "",
    version: str = "",
) -> Response:
    """The dated plan of what a version would do for a sample lead."""
    me = await _marketer(request)
    form = SampleForm(timezone, segment, score, occasion, day[:10], start[:16], version)
    number = _number(version)
    sample, enrolled_at, problems = _sample(form)
    reference: Reference = request.app.state.reference
    versions = await read_db(request, lambda db: sequences.versions_of(db, key))
    planned = None
    if not problems:
        planned = await read_db(
            request,
            lambda db: sequences.preview(
                db,
                reference,
                key,
                number=number,
                sample=sample,
                enrolled_at=enrolled_at or utcnow(),
            ),
        )
    context = {
        "person": me,
        "key": key,
        "form": form,
        "problems": problems,
        "planned": planned,
        "enrolled_local": planned.enrolled_at.astimezone(ZoneInfo(planned.timezone))
        if planned
        else None,
        "versions": versions,
        "segments": SEGMENTS,
        "occasions": OCCASIONS,
    }
    return render(request, "preview.html", context, 422 if problems else 200)


@router.get("/{key}/templates")
async def templates_page(
    request: Request, key: str, version: str = "", name: str = SAMPLE_FIELDS.first_name
) -> Response:
    """Each template the version sends, on every channel it has, for a sample lead."""
    me = await _marketer(request)
    number = _number(version)
    first_name = name.strip()[:MAX_NAME] or SAMPLE_FIELDS.first_name
    fields = SAMPLE_FIELDS.model_copy(update={"first_name": first_name})
    reference: Reference = request.app.state.reference
    shown, rendered = await read_db(
        request, lambda db: sequences.rendered_templates(db, reference, key, number, fields)
    )
    versions = await read_db(request, lambda db: sequences.versions_of(db, key))
    context = {
        "person": me,
        "key": key,
        "shown": shown,
        "rendered": rendered,
        "versions": versions,
        "fields": fields,
    }
    return render(request, "templates.html", context)
