"""What the reports share: who may read an organisation's reports, k-anonymity, and the facts about one
member read through the domains' services (assignments, progress, certificates)."""

from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from sidecar.assignments import service as assignments
from sidecar.assignments.models import MemberCourseProgress
from sidecar.auth import service as auth
from sidecar.auth.roles import Role, has_role
from sidecar.auth.tables import User
from sidecar.certificates import service as certificates
from sidecar.certificates.models import CertificatePublic
from sidecar.errors import Forbidden
from sidecar.progress import service as progress
from sidecar.settings import Settings

logger = logging.getLogger("drona.reports")
TIER_ORDER = {"gold": 3, "silver": 2, "bronze": 1}


def k_of(settings: Settings) -> int:
    """The smallest group an aggregate may describe (settings ANALYTICS_K, default 5)."""
    return settings.ANALYTICS_K


def as_recipient(*, engine: Engine, user_id: str) -> User:
    """The account a scheduled report goes to, as the actor the dashboards check: a report shows what its
    recipient may see (a detached copy: nothing is written through it)."""
    record = auth.account(engine=engine, user_id=user_id)
    return User(id=record.id, email=record.email, display_name=record.display_name, role=record.role,
                organization_id=record.organization_id, is_active=record.is_active)


def check_org_admin(actor: User, org_id: str) -> None:
    """Organisation reports are for its enterprise admins (and super admins)."""
    if has_role(actor.role, Role.SUPER_ADMIN):
        return
    if not (has_role(actor.role, Role.ENTERPRISE_ADMIN) and actor.organization_id == org_id):
        raise Forbidden("Only this organisation's admins may read its reports.")


def fmt_date(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d}" if moment else ""


def percent(value: float | None) -> str:
    return "" if value is None else f"{value:g}%"


@dataclass(frozen=True)
class MemberFacts:
    courses: list[MemberCourseProgress]  # required first (state set), then those only started
    certificates: list[CertificatePublic]  # valid ones, best tier first
    lessons_completed: list[datetime]  # when each completed lesson was completed

    @property
    def required(self) -> list[MemberCourseProgress]:
        return [c for c in self.courses if c.state is not None]

    def best_certificate(self, course_id: str) -> CertificatePublic | None:
        return next((c for c in self.certificates if c.course_id == course_id), None)

    def completed_between(self, start: datetime, end: datetime) -> int:
        return sum(1 for at in self.lessons_completed if start <= at < end)

    def certificates_between(self, start: datetime, end: datetime) -> list[CertificatePublic]:
        return [c for c in self.certificates if start <= c.issued_at < end]


def member_facts(*, engine: Engine, settings: Settings, catalog_db: Path, user_id: str, org_id: str | None,
                 now: datetime) -> MemberFacts:
    mine = progress.get_progress(engine=engine, catalog_db=catalog_db, user_id=user_id)
    if org_id is not None:
        courses = assignments.member_courses(engine=engine, catalog_db=catalog_db, user_id=user_id, org_id=org_id,
                                             now=now)
    else:
        courses = [MemberCourseProgress(course_id=c.course_id, course_title=c.title, percent=c.percent,
                                        completed_lessons=c.completed_lessons, total_lessons=c.total_lessons,
                                        assignment_id=None, due_at=None, state=None) for c in mine.courses]
    done = [lesson.completed_at for lesson in mine.lessons if lesson.state == "completed" and lesson.completed_at]
    certs = [c for c in certificates.my_certificates(engine=engine, settings=settings, user_id=user_id)
             if c.status == "valid"]
    certs.sort(key=lambda c: (-TIER_ORDER.get(c.tier, 0), c.issued_at))
    return MemberFacts(courses=courses, certificates=certs, lessons_completed=done)


def analytics_metrics(function: str, **available: Any) -> list[tuple[str, str]]:
    """(label, value) of the metrics that `sidecar.analytics.service.<function>` (team_dashboard, org_dashboard)
    reports and does not suppress, asked as `actor`; [] when it cannot answer (a report still goes out with its
    own figures). The arguments it declares are filled from `available` by name."""
    try:
        from sidecar.analytics import service as analytics  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return []
    dashboard = getattr(analytics, function, None)
    if dashboard is None:
        return []
    try:
        wanted = inspect.signature(dashboard).parameters
        body = dashboard(**{name: value for name, value in available.items() if name in wanted})
        data = body.model_dump() if hasattr(body, "model_dump") else dict(body)
    except Exception as exc:  # noqa: BLE001 - the report goes out with its own figures, never not at all
        logger.warning("analytics %s unavailable for a report: %s: %s", function, type(exc).__name__, exc)
        return []
    found: list[tuple[str, str]] = []
    for metric in data.get("metrics") or []:
        if metric.get("suppressed") or metric.get("value") is None:
            continue
        value = metric["value"]
        unit = metric.get("unit") or ""
        shown = f"{value:.2f}" if isinstance(value, float) else str(value)
        found.append((str(metric.get("label") or metric.get("id")), f"{shown} {unit}".strip()))
    return found
