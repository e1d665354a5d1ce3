"""All queries live here, one module per aggregate on one small base (`base.Repository`).

Repositories never commit: the caller owns the unit of work (`Database.run` / `read`).
"""

from db.repositories.accounts import StaffAccountRepository
from db.repositories.base import Repository
from db.repositories.catalogue import (
    ImportRunRepository,
    OutboundCallRepository,
    ProductRepository,
)
from db.repositories.consent import Capture, ConsentRepository
from db.repositories.enrollments import EnrollmentRepository
from db.repositories.events import EventRepository
from db.repositories.integrations import (
    ExternalIdRepository,
    IntegrationEventRepository,
    IntegrationSecretRepository,
)
from db.repositories.keys import ApiKeyRepository, hash_api_key
from db.repositories.lead_directory import LeadDirectory, LeadFilter
from db.repositories.leads import LeadRepository
from db.repositories.purchases import PurchaseRepository
from db.repositories.reports import WeeklyReportRepository
from db.repositories.requests import IdempotentRequestRepository
from db.repositories.scoring import QualificationReader, ScoringModelRepository
from db.repositories.sequences import SequenceRepository, content_hash
from db.repositories.staff import StaffRepository
from db.repositories.stores import StoreRepository
from db.repositories.tasks import OPEN_TASK_STATUSES, TaskRepository
from db.repositories.touches import TouchRepository
from db.repositories.webhooks import WebhookReceiptRepository

__all__ = [
    "OPEN_TASK_STATUSES",
    "ApiKeyRepository",
    "Capture",
    "ConsentRepository",
    "EnrollmentRepository",
    "EventRepository",
    "ExternalIdRepository",
    "IdempotentRequestRepository",
    "ImportRunRepository",
    "IntegrationEventRepository",
    "IntegrationSecretRepository",
    "LeadDirectory",
    "LeadFilter",
    "LeadRepository",
    "OutboundCallRepository",
    "ProductRepository",
    "PurchaseRepository",
    "QualificationReader",
    "Repository",
    "ScoringModelRepository",
    "SequenceRepository",
    "StaffAccountRepository",
    "StaffRepository",
    "StoreRepository",
    "TaskRepository",
    "TouchRepository",
    "WebhookReceiptRepository",
    "WeeklyReportRepository",
    "content_hash",
    "hash_api_key",
]
