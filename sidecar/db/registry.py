"""Imports every domain's tables so Base.metadata (and Alembic) sees the whole schema."""

from sidecar.agents import tables as agents_tables  # noqa: F401
from sidecar.analytics import tables as analytics_tables  # noqa: F401
from sidecar.assessments import tables as assessments_tables  # noqa: F401
from sidecar.assignments import tables as assignments_tables  # noqa: F401
from sidecar.audit import tables as audit_tables  # noqa: F401
from sidecar.auth import tables as auth_tables  # noqa: F401
from sidecar.certificates import tables as certificates_tables  # noqa: F401
from sidecar.db.base import Base
from sidecar.drafts import tables as drafts_tables  # noqa: F401
from sidecar.gamification import tables as gamification_tables  # noqa: F401
from sidecar.grading import tables as grading_tables  # noqa: F401
from sidecar.jobs import tables as jobs_tables  # noqa: F401
from sidecar.lti import tables as lti_tables  # noqa: F401
from sidecar.mail import tables as mail_tables  # noqa: F401
from sidecar.orgs import tables as orgs_tables  # noqa: F401
from sidecar.progress import tables as progress_tables  # noqa: F401
from sidecar.projects import tables as projects_tables  # noqa: F401
from sidecar.review import tables as review_tables  # noqa: F401
from sidecar.scim import tables as scim_tables  # noqa: F401
from sidecar.sso import tables as sso_tables  # noqa: F401
from sidecar.xapi import tables as xapi_tables  # noqa: F401

metadata = Base.metadata
