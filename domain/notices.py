"""Task notices: telling a member of staff that a task is theirs.

A notice lives the life of every message (claimed → sending → sent, never twice; see
`domain.messages`) with its own rules: it goes by the staff member's notice settings (their
`notice_channel`, else SMS when they have a phone, else email), not by a lead's marketing
consent, quiet hours or caps; it is written from the `task/notice` template in their first
language; its due time is on the store's clock. What became of it is kept on the task
(`Task.notice`), so a manager sees an assignee who was never told (`no_contact`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from core.signing import sign, unsign
from core.vocabulary import SuppressionReason, TouchStatus
from core.workflow_ids import task_workflow_id
from db.models import Lead, Staff, Store, Task, Touch
from db.repositories import TouchRepository
from domain.errors import UnknownTask
from domain.messages import Step, record_failed, resume
from providers.base import OutgoingMessage, ProviderError
from sequences.templates import NoticeFields, render
from sequences.vocabulary import Channel, Purpose

TEMPLATE = "task/notice"
TASK_LINK_VALID = timedelta(days=7)
_TASK_LINK = "task-link"


@dataclass(frozen=True)
class TaskLinks:
    """Links straight to a task in the console, for notices: signed and expiring, and the
    page behind them still needs the person to sign in."""

    secret: str
    base_url: str

    def __call__(self, task_id: uuid.UUID, now: datetime) -> str:
        token = sign(self.secret, _TASK_LINK, {"t": task_id.hex}, now + TASK_LINK_VALID)
        return f"{self.base_url.rstrip('/')}/console/t/{token}"


def read_task_link(secret: str, token: str, now: datetime) -> uuid.UUID | None:
    """The task a notice's link names, if the link is genuine and unexpired."""
    payload = unsign(secret, _TASK_LINK, token, now)
    try:
        return uuid.UUID(str(payload["t"])) if payload else None
    except ValueError:
        return None


def notice_key(task_id: uuid.UUID, assignment: int) -> str:
    """One notice per (task, assignment): a retry finds the same touch."""
    return f"{task_workflow_id(task_id)}:notice:{assignment}"


def _channel(staff: Staff) -> Channel:
    """Where this person wants notices: their setting, else SMS with a phone, else email."""
    return staff.notice_channel or (Channel.SMS if staff.phone_e164 else Channel.EMAIL)


def _address(staff: Staff, channel: Channel) -> str | None:
    return staff.email if channel is Channel.EMAIL else staff.phone_e164


def due_on_store_clock(due: datetime | None, store: Store) -> str:
    """The SLA due time as the store reads it: "01 Dec 15:30 IST"."""
    if due is None:
        return ""
    local = due.astimezone(ZoneInfo(store.timezone))
    return f"{local:%d %b %H:%M} {local:%Z}"


def prepare_notice(
    session: Session,
    task_id: uuid.UUID,
    assignment: int,
    repeatable: Callable[[Channel], bool],
    links: TaskLinks | None = None,
    now: datetime | None = None,
) -> Step | None:
    """The notice of the task's current assignment, claimed (or found, on a retry); None when
    the task has nobody assigned. A staff member with no address for their channel gets a
    `suppressed` / `no_contact` notice, noted on the task."""
    task = session.get(Task, task_id)
    if task is None:
        raise UnknownTask(task_id)
    staff = session.get(Staff, task.assignee_id) if task.assignee_id else None
    if staff is None:
        return None
    key = notice_key(task.id, assignment)
    touch = TouchRepository(session).by_key(key)
    found = resume(session, touch, repeatable)
    if found is not None:
        return found
    if touch is None:
        link = links(task.id, now) if links and now else ""
        touch = _claim(session, task, staff, assignment, key, link)
    channel = touch.channel
    to = _address(staff, channel) if channel else None
    if touch.status is not TouchStatus.CLAIMED or channel is None or to is None:
        return Step(touch, None)
    message = OutgoingMessage(
        touch_id=touch.id,
        channel=channel,
        to=to,
        subject=touch.subject,
        body=touch.body or "",
    )
    return Step(touch, message)


def _claim(
    session: Session, task: Task, staff: Staff, assignment: int, key: str, link: str
) -> Touch:
    """The notice, written in the staff member's language for their channel, and claimed;
    suppressed (`no_contact`) when they have no address there."""
    lead = session.get_one(Lead, task.lead_id)
    store = session.get_one(Store, task.store_id)
    channel = _channel(staff)
    fields = NoticeFields(
        staff_name=staff.name,
        store_name=store.name,
        priority=task.priority,
        task=task.kind.replace("_", " "),
        lead_name=lead.first_name or "a lead",
        reason=task.reason.rstrip("."),
        due=due_on_store_clock(task.sla_due_at, store),
        link=link,
    )
    language = staff.languages[0] if staff.languages else store.locale
    rendered = render(TEMPLATE, channel, fields, language=language)
    reachable = _address(staff, channel) is not None
    touch, _new = TouchRepository(session).claim(
        Touch(
            id=uuid.uuid4(),
            lead_id=lead.id,
            store_id=lead.store_id,
            staff_id=staff.id,
            step_id=f"task-notice-{assignment}",
            channel=channel,
            purpose=Purpose.TRANSACTIONAL,
            template=TEMPLATE,
            idempotency_key=key,
            status=TouchStatus.CLAIMED if reachable else TouchStatus.SUPPRESSED,
            reason=None if reachable else SuppressionReason.NO_CONTACT.value,
            subject=rendered.subject,
            body=rendered.body,
        )
    )
    return touch


def notice_refused(session: Session, message: OutgoingMessage, error: ProviderError) -> Step:
    """The provider refused the notice for good: it failed, with the provider's reason."""
    return Step(record_failed(session, message.touch_id, error.reason), None)


def note_on_task(session: Session, task_id: uuid.UUID, assignment: int, now: datetime) -> None:
    """What became of the task's latest notice, kept on the task: who was told, how, or why
    not (`no_contact`, a provider's refusal)."""
    touch = TouchRepository(session).by_key(notice_key(task_id, assignment))
    if touch is None:
        return
    session.get_one(Task, task_id).notice = {
        "at": now.isoformat(),
        "assignment": assignment,
        "staff_id": str(touch.staff_id),
        "touch_id": str(touch.id),
        "channel": touch.channel.value if touch.channel else None,
        "status": touch.status.value,
        "reason": touch.reason,
    }
