"""Every table, imported once so the metadata (and Alembic) sees them all."""

from models.apikey import ApiKey
from models.artifact import Artifact
from models.document import AuditLog, Document, DocumentField
from models.key_limits import LlmBudgetDay, RateBucket
from models.market import PncpCheckpoint, PncpContratacao, PncpDetailGap, PncpItem, PncpQuarantine, PncpResultado
from models.notification import DeliveryAttempt, Event, Notification, Subscription
from models.pncp_documents import PncpDocument, PncpDocumentSection
from models.price_index import PriceIndexValue
from models.price_research import PriceResearch, ResearchItem, ResearchPrice
from models.publication import PncpPublication
from models.search import DocumentSearch, SearchVector
from models.signature import DocumentSignature
from models.template import Template

__all__ = [
    "ApiKey",
    "Artifact",
    "AuditLog",
    "DeliveryAttempt",
    "Document",
    "DocumentField",
    "DocumentSearch",
    "DocumentSignature",
    "Event",
    "LlmBudgetDay",
    "Notification",
    "PncpCheckpoint",
    "PncpContratacao",
    "PncpDetailGap",
    "PncpDocument",
    "PncpDocumentSection",
    "PncpPublication",
    "PncpItem",
    "PncpQuarantine",
    "PncpResultado",
    "PriceIndexValue",
    "PriceResearch",
    "RateBucket",
    "ResearchItem",
    "ResearchPrice",
    "Subscription",
    "SearchVector",
    "Template",
]
