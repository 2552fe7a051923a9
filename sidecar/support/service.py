"""Support views: a super admin looks up accounts and reads one account's state, read-only.

Nothing here signs in as the learner or changes their data: support answers "what happened" from what the
learner's own pages show, and each look at an account is written to the audit log (the learner's
organisation's admins see it in theirs)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from sidecar.audit import service as audit
from sidecar.auth import service as auth
from sidecar.auth.roles import Role, has_role
from sidecar.auth.tables import User
from sidecar.certificates import service as certificates
from sidecar.db.engine import write_session
from sidecar.errors import Forbidden
from sidecar.gamification import service as gamification
from sidecar.orgs import service as orgs
from sidecar.progress import service as progress
from sidecar.settings import Settings

from .models import AccountRowPublic, GamificationSummaryPublic, SessionsPublic, SupportViewPublic

MAX_PAGE = 100


def _super_admin(actor: User) -> None:
    if not has_role(actor.role, Role.SUPER_ADMIN):
        raise Forbidden("Support views are for super admins.")


def _rows(engine: Engine, records: list[auth.AccountRecord]) -> list[AccountRowPublic]:
    names = orgs.org_names(engine=engine, org_ids={r.organization_id for r in records if r.organization_id})
    return [AccountRowPublic(id=r.id, email=r.email, display_name=r.display_name, role=r.role,
                             organization_id=r.organization_id,
                             organization_name=names.get(r.organization_id) if r.organization_id else None,
                             is_active=r.is_active, email_verified=r.email_verified, created_at=r.created_at)
            for r in records]


def search_accounts(*, engine: Engine, actor: User, query: str, limit: int, offset: int) -> list[AccountRowPublic]:
    _super_admin(actor)
    return _rows(engine, auth.search_accounts(engine=engine, query=query, limit=min(limit, MAX_PAGE), offset=offset))


def support_view(*, engine: Engine, settings: Settings, catalog_db: Path, actor: User,
                 user_id: str) -> SupportViewPublic:
    _super_admin(actor)
    record = auth.account(engine=engine, user_id=user_id)  # NotFound for an unknown id
    active, last = auth.session_summary(engine=engine, user_id=user_id)
    courses = [c for c in progress.get_progress(engine=engine, catalog_db=catalog_db, user_id=user_id).courses
               if c.completed_lessons or c.completed]
    profile = gamification.get_profile(engine=engine, user_id=user_id, enabled=True, catalog_db=catalog_db)
    earned = sum(1 for a in profile.achievements if a.earned_at is not None)
    view = SupportViewPublic(
        account=_rows(engine, [record])[0], sessions=SessionsPublic(active=active, last_sign_in_at=last),
        courses=courses,
        gamification=GamificationSummaryPublic(xp=profile.xp, level=profile.level,
                                               streak_days=profile.streak.current, achievements_earned=earned),
        certificates=certificates.my_certificates(engine=engine, settings=settings, user_id=user_id))
    with write_session(engine) as session:
        audit.record(session, actor_id=actor.id, organization_id=record.organization_id, action="support.view",
                     target_type="user", target_id=user_id)
    return view
