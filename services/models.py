"""Every model, imported once so that Alembic and the mappers see the whole schema."""

from services.applications.access import AccessRecord  # noqa: F401
from services.applications.models import Application, CaseStatus, Counter, Material  # noqa: F401
from services.catalogue.models import Agency, Bundle, BundleItem, LicenceType, Matter  # noqa: F401
from services.db import Base  # noqa: F401
from services.identity.models import Account, Enterprise, Role  # noqa: F401
from services.jobs.models import OutboxJob  # noqa: F401
from services.licences.models import Licence, LicenceStatus  # noqa: F401
from services.notifications.models import Notification  # noqa: F401
from workflows.models import Branch, Event, Task, WorkflowInstance  # noqa: F401
