"""Accounts, sign-in sessions, password changes and resets."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError
from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sidecar.db.base import utcnow
from sidecar.db.engine import read_tx, write_session
from sidecar.errors import Conflict, InvalidInput, RateLimited, Unauthorized
from sidecar.mail import send_email
from sidecar.settings import Settings

from . import security
from .models import UserCreate, UserPublic
from .roles import LearnerKind, Role
from .tables import AuthSession, LoginAttempt, PasswordResetToken, User, UserProfile

RESET_TOKEN_MINUTES = 60
IP_FAILURE_FACTOR = 4  # an address may fail this many times more than one account before it is throttled


@dataclass
class SignedIn:
    user: UserPublic
    token: str


def valid_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"'{name}' is not a known time zone (use a name like Europe/Berlin).") from None
    return name


def normalize_email(email: str) -> str:
    return email.strip().lower()


def to_public(user: User, profile: UserProfile | None) -> UserPublic:
    return UserPublic(
        id=user.id, email=user.email, display_name=user.display_name, role=Role(user.role),
        learner_kind=LearnerKind(user.learner_kind) if user.learner_kind else None,
        organization_id=user.organization_id, timezone=profile.timezone if profile else "UTC",
        onboarded=bool(profile and profile.onboarded_at))


def check_new_account(*, email: str, password: str, display_name: str) -> UserCreate:
    """The sign-up API's own rules, for every way an account is made (the CLI included): an address
    the sign-in form would refuse could never sign in."""
    try:
        return UserCreate(email=email.strip(), password=password, display_name=display_name.strip())
    except ValidationError as exc:
        reasons = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg'].rstrip('.')}" for e in exc.errors())
        raise InvalidInput(f"The account cannot be created: {reasons}.") from None


def create_user(*, session: Session, email: str, password: str, display_name: str, role: Role = Role.LEARNER,
                timezone: str = "UTC") -> User:
    email = normalize_email(check_new_account(email=email, password=password, display_name=display_name).email)
    if session.scalar(select(User.id).where(User.email == email)):
        raise Conflict("An account with this email already exists.")
    user = User(id=str(uuid.uuid4()), email=email, password_hash=security.hash_password(password),
                display_name=display_name.strip(), role=role.value)
    session.add(user)
    session.add(UserProfile(user_id=user.id, timezone=timezone, onboarding={}))
    try:
        session.flush()
    except IntegrityError:
        # Two sign-ups with one email at the same moment: the unique index decides.
        raise Conflict("An account with this email already exists.") from None
    return user


def _start_session(*, session: Session, settings: Settings, user: User, user_agent: str) -> str:
    token = security.new_token()
    session.add(AuthSession(token_hash=security.token_hash(token), user_id=user.id,
                            expires_at=utcnow() + timedelta(days=settings.SESSION_DAYS),
                            user_agent=user_agent[:255]))
    return token


def signup(*, engine: Engine, settings: Settings, email: str, password: str, display_name: str,
           user_agent: str = "") -> SignedIn:
    with write_session(engine) as session:
        user = create_user(session=session, email=email, password=password, display_name=display_name)
        token = _start_session(session=session, settings=settings, user=user, user_agent=user_agent)
        profile = session.get(UserProfile, user.id)
        return SignedIn(to_public(user, profile), token)


def _check_throttle(session: Session, settings: Settings, email: str, ip: str) -> None:
    since = utcnow() - timedelta(seconds=settings.LOGIN_WINDOW_SECONDS)
    failures = session.scalar(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.email == email, LoginAttempt.at >= since, LoginAttempt.succeeded.is_(False))) or 0
    ip_failures = session.scalar(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.ip == ip, LoginAttempt.at >= since, LoginAttempt.succeeded.is_(False))) or 0
    if failures >= settings.LOGIN_MAX_FAILURES or ip_failures >= settings.LOGIN_MAX_FAILURES * IP_FAILURE_FACTOR:
        raise RateLimited("Too many failed sign-ins. Wait a few minutes, or reset your password.",
                          retry_after=settings.LOGIN_WINDOW_SECONDS)


def login(*, engine: Engine, settings: Settings, email: str, password: str, ip: str, user_agent: str = "") -> SignedIn:
    email = normalize_email(email)
    with write_session(engine) as session:
        _check_throttle(session, settings, email, ip)
        user = session.scalar(select(User).where(User.email == email))
        ok = security.verify_password(user.password_hash if user else None, password)
        session.add(LoginAttempt(email=email, ip=ip[:64], succeeded=bool(ok and user and user.is_active)))
        if not ok or user is None or not user.is_active:
            failed = True
        else:
            failed = False
            if security.needs_rehash(user.password_hash):
                user.password_hash = security.hash_password(password)
            token = _start_session(session=session, settings=settings, user=user, user_agent=user_agent)
            signed_in = SignedIn(to_public(user, session.get(UserProfile, user.id)), token)
    if failed:
        # Raised after the commit so the failed attempt is recorded for throttling.
        raise Unauthorized("Email or password is not right.")
    return signed_in


_USER_COLUMNS = [c.name for c in User.__table__.columns]
_PROFILE_COLUMNS = [c.name for c in UserProfile.__table__.columns]
# Every authenticated request runs this: one plain-SQL join on the driver's connection costs a
# fraction of the ORM query (it bounded the progress-event throughput of issue 3's benchmark).
_SESSION_SQL = ("SELECT s.expires_at, s.revoked_at, "  # noqa: S608 - column names come from our tables
                + ", ".join(f"u.{c}" for c in _USER_COLUMNS) + ", " + ", ".join(f"p.{c}" for c in _PROFILE_COLUMNS)
                + " FROM auth_sessions s JOIN users u ON u.id = s.user_id "
                "JOIN user_profiles p ON p.user_id = u.id WHERE s.token_hash = :token_hash")


@dataclass(frozen=True)
class SignedInUser:
    user: User
    profile: UserProfile
    stale: bool  # past half its lifetime: extend it (refresh_session), off the request's hot path


def user_for_token(*, engine: Engine, settings: Settings, token: str) -> SignedInUser | None:
    """The session's user, read only (no write: safe to call on the event loop for SQLite)."""
    now = utcnow()
    token_hash = security.token_hash(token)
    users, profiles, sessions = User.__table__.c, UserProfile.__table__.c, AuthSession.__table__.c
    with read_tx(engine) as tx:
        row = tx.row(_SESSION_SQL, {"token_hash": token_hash})
        if row is None:
            return None
        expires_at = tx.from_db(sessions.expires_at, row[0])
        revoked_at = tx.from_db(sessions.revoked_at, row[1])
        split = 2 + len(_USER_COLUMNS)
        user = User(**{c: tx.from_db(users[c], v) for c, v in zip(_USER_COLUMNS, row[2:split], strict=True)})
        profile = UserProfile(**{c: tx.from_db(profiles[c], v)
                                 for c, v in zip(_PROFILE_COLUMNS, row[split:], strict=True)})
    if revoked_at is not None or expires_at <= now or not user.is_active:
        return None
    return SignedInUser(user, profile, stale=expires_at - now < timedelta(days=settings.SESSION_DAYS) / 2)


def refresh_session(*, engine: Engine, settings: Settings, token: str) -> None:
    """Sliding expiry, written at most once per half period rather than on every request."""
    with write_session(engine) as session:
        session.execute(update(AuthSession).where(AuthSession.token_hash == security.token_hash(token),
                                                  AuthSession.revoked_at.is_(None))
                        .values(expires_at=utcnow() + timedelta(days=settings.SESSION_DAYS)))


def logout(*, engine: Engine, token: str) -> None:
    with write_session(engine) as session:
        session.execute(update(AuthSession).where(AuthSession.token_hash == security.token_hash(token),
                                                  AuthSession.revoked_at.is_(None)).values(revoked_at=utcnow()))


def logout_everywhere(*, engine: Engine, user_id: str) -> int:
    with write_session(engine) as session:
        result = session.execute(update(AuthSession).where(AuthSession.user_id == user_id,
                                                           AuthSession.revoked_at.is_(None))
                                 .values(revoked_at=utcnow()))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def change_password(*, engine: Engine, user_id: str, current_password: str, new_password: str,
                    keep_token: str) -> None:
    with write_session(engine) as session:
        user = session.get(User, user_id)
        if user is None or not security.verify_password(user.password_hash, current_password):
            raise InvalidInput("The current password is not right.")
        user.password_hash = security.hash_password(new_password)
        user.password_changed_at = utcnow()
        # Other browsers signed in with the old password are signed out.
        session.execute(update(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None),
                                                  AuthSession.token_hash != security.token_hash(keep_token))
                        .values(revoked_at=utcnow()))


def request_password_reset(*, engine: Engine, settings: Settings, email: str) -> None:
    """Always succeeds from the caller's view, so it cannot be used to find accounts."""
    email = normalize_email(email)
    with write_session(engine) as session:
        user = session.scalar(select(User).where(User.email == email, User.is_active.is_(True)))
        if user is None:
            return
        token = security.new_token()
        session.add(PasswordResetToken(token_hash=security.token_hash(token), user_id=user.id,
                                       expires_at=utcnow() + timedelta(minutes=RESET_TOKEN_MINUTES)))
        link = f"{settings.APP_URL.rstrip('/')}/account/reset/?token={token}"
        send_email(settings=settings, session=session, to=user.email, subject="Reset your Dronacharya password",
                   body=f"Hello {user.display_name},\n\nTo choose a new password, open this link within "
                        f"{RESET_TOKEN_MINUTES} minutes:\n\n{link}\n\n"
                        "If you did not ask for this, ignore this email.\n")


def confirm_password_reset(*, engine: Engine, token: str, new_password: str) -> None:
    now = utcnow()
    with write_session(engine) as session:
        record = session.get(PasswordResetToken, security.token_hash(token))
        if record is None or record.used_at is not None or record.expires_at <= now:
            raise InvalidInput("This reset link is not valid any more. Ask for a new one.")
        user = session.get(User, record.user_id)
        if user is None:
            raise InvalidInput("This reset link is not valid any more. Ask for a new one.")
        record.used_at = now
        user.password_hash = security.hash_password(new_password)
        user.password_changed_at = now
        session.execute(update(AuthSession).where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
                        .values(revoked_at=now))
