"""Every model, imported once so that Alembic and the mappers see the whole schema."""

from services.applications.access import AccessRecord  # noqa: F401
from services.applications.comments import CaseComment  # noqa: F401
from services.applications.models import Application, ApplicationDraft, CaseStatus, Counter, Material  # noqa: F401
from services.applications.tallies import BranchTally, QueueTally  # noqa: F401
from services.audit.models import AuditEntry, AuditHead, AuditRoot  # noqa: F401
from services.catalogue.models import (  # noqa: F401
    Agency,
    Bundle,
    BundleItem,
    EligibilityQuestion,
    LicenceType,
    MaterialItem,
    Matter,
)
from services.db import Base  # noqa: F401
from services.identity.mandates import Mandate  # noqa: F401
from services.identity.models import Account, Enterprise, PasswordToken, RecoveryCode, Role  # noqa: F401
from services.identity.sessions import WebSession  # noqa: F401
from services.jobs.models import OutboxJob  # noqa: F401
from services.licences.models import (  # noqa: F401
    Licence,
    LicenceEvent,
    LicenceNumberReservation,
    LicenceStatus,
    ShareLink,
    ShareLinkUse,
)
from services.notifications.mail import MailMessage  # noqa: F401
from services.notifications.models import Notification  # noqa: F401
from services.ratings import FollowUp, FollowUpAction, Rating  # noqa: F401
from services.recommendations import NextStep  # noqa: F401
from workflows.models import Branch, CalendarNotice, Event, Task, WorkflowInstance  # noqa: F401
