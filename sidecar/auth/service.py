"""Accounts, sign-in sessions, password changes and resets, emailed sign-in links.

Throttling (README, "Sign-in throttling"): failed passwords count per account and wait longer
each time (exponential back-off, capped), counted apart for browsers the owner has signed in with
(device cookies), so strangers cannot lock the owner out; the emailed one-time sign-in link always
works. A per-address bucket (the client address as TRUSTED_PROXIES allows) slows one source down.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError
from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sidecar.db.base import utcnow
from sidecar.db.engine import read_session, read_tx, write_session
from sidecar.errors import Conflict, InvalidInput, NotFound, RateLimited, Unauthorized
from sidecar.mail import send_email
from sidecar.settings import Settings
from sidecar.timezones import is_zone_key

from . import security
from .models import UserCreate, UserPublic
from .roles import LearnerKind, Role
from .tables import AuthSession, LoginAttempt, PasswordResetToken, SignInLink, User, UserProfile

RESET_TOKEN_MINUTES = 60
SIGNIN_LINK_MINUTES = 15
IP_FAILURE_FACTOR = 4  # an address may fail this many times more than one account before it is throttled
BACKOFF_BASE_SECONDS = 2  # the first wait once LOGIN_MAX_FAILURES is reached; doubles with each failure
LINKS_PER_WINDOW = 3  # sign-in link emails per address per LOGIN_WINDOW_SECONDS; more are answered alike, unsent
# Kinds of login_attempts rows that are password guesses (a sign-up of a taken address checks its password).
GUESSES = ("password", "signup")
TAKEN_MESSAGE = ("We could not create an account with these details. If you already have one, sign in, ask for "
                 "a sign-in link or reset your password.")


@dataclass
class SignedIn:
    user: UserPublic
    token: str
    device: str | None = None  # a new device cookie for this browser (None: it already has a valid one)


def valid_timezone(name: str) -> str:
    # Not ZoneInfo(name) alone: it opens whatever the name points at ("Europe" is a folder).
    if not is_zone_key(name):
        raise InvalidInput(f"'{name[:80]}' is not a known time zone (use a name like Europe/Berlin).")
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
    checked = check_new_account(email=email, password=password, display_name=display_name)
    email = normalize_email(checked.email)
    if session.scalar(select(User.id).where(User.email == email)):
        raise Conflict("An account with this email already exists.")
    user = User(id=str(uuid.uuid4()), email=email, password_hash=security.hash_password(password),
                display_name=checked.display_name, role=role.value)
    session.add(user)
    session.add(UserProfile(user_id=user.id, timezone=timezone, onboarding={}))
    try:
        session.flush()
    except IntegrityError:
        # Two sign-ups with one email at the same moment: the unique index decides.
        raise Conflict("An account with this email already exists.") from None
    return user


# An address that cannot take a password (accounts made by an organisation's identity provider):
# not an Argon2 hash, so every password check fails (security.verify_password) until the owner sets
# one through a reset link sent to the address.
NO_PASSWORD = "!no-password"  # noqa: S105 - a marker, not a secret

# Called inside the transaction that first marks an account's address as verified (a sign-in link or a
# reset link came to it), with the session and the account. Domains above auth act on it (sso: joining the
# organisation that verified the address's domain) without auth importing them.
EmailVerifiedHook = Callable[[Session, User], None]
_email_verified_hooks: list[EmailVerifiedHook] = []


def register_email_verified_hook(hook: EmailVerifiedHook) -> None:
    if hook not in _email_verified_hooks:
        _email_verified_hooks.append(hook)


def _mark_email_verified(session: Session, user: User, now: datetime) -> None:
    if user.email_verified_at is not None:
        return
    user.email_verified_at = now
    for hook in _email_verified_hooks:
        hook(session, user)


def create_user_without_password(*, session: Session, email: str, display_name: str,
                                 verified_at: datetime | None = None) -> User:
    """An account made on an identity provider's word (single sign-on): no password until its owner
    sets one by a reset link. The address is the provider's, verified there (`verified_at`)."""
    email = normalize_email(email)
    if session.scalar(select(User.id).where(User.email == email)):
        raise Conflict("An account with this email already exists.")
    name = " ".join(display_name.split())[:80] or email.split("@")[0][:80]
    user = User(id=str(uuid.uuid4()), email=email, password_hash=NO_PASSWORD, display_name=name,
                role=Role.LEARNER.value, email_verified_at=verified_at)
    session.add(user)
    session.add(UserProfile(user_id=user.id, timezone="UTC", onboarding={}))
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("An account with this email already exists.") from None
    return user


def signed_in_by_provider(*, session: Session, settings: Settings, user: User, user_agent: str,
                          device_cookie: str | None) -> SignedIn:
    """A session for an account an identity provider vouched for (single sign-on), started exactly as a
    password or link sign-in starts one, inside the caller's transaction."""
    if not user.is_active:
        raise Unauthorized("This account is disabled.")
    device = security.device_id(settings.SECRET_KEY, device_cookie, user.id)
    return _signed_in(session=session, settings=settings, user=user, user_agent=user_agent, device=device)


def _start_session(*, session: Session, settings: Settings, user: User, user_agent: str) -> str:
    token = security.new_token()
    session.add(AuthSession(token_hash=security.token_hash(token), user_id=user.id,
                            expires_at=utcnow() + timedelta(days=settings.SESSION_DAYS),
                            user_agent=user_agent[:255]))
    return token


def _signed_in(*, session: Session, settings: Settings, user: User, user_agent: str,
               device: str | None) -> SignedIn:
    token = _start_session(session=session, settings=settings, user=user, user_agent=user_agent)
    # A browser the owner signed in with gets a device cookie: its failed passwords are then counted
    # apart from strangers', so their failures never make this browser wait.
    new_device = None if device else security.device_cookie(settings.SECRET_KEY, user.id)
    return SignedIn(to_public(user, session.get(UserProfile, user.id)), token, new_device)


def sign_in_vouched(*, session: Session, settings: Settings, user_id: str, user_agent: str = "") -> SignedIn:
    """A session for an account that a trusted party vouches for (an LTI platform's verified launch), in the
    caller's transaction: no password, and no device cookie (that browser has not shown it knows one)."""
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise NotFound("No such account.")
    token = _start_session(session=session, settings=settings, user=user, user_agent=user_agent)
    return SignedIn(to_public(user, session.get(UserProfile, user.id)), token, None)


def _lock_user(session: Session, email: str) -> User | None:
    # FOR UPDATE (PostgreSQL; SQLite already has one writer): concurrent guesses at one account are
    # counted one after the other, so a burst cannot slip past the back-off together.
    return session.scalar(select(User).where(User.email == email).with_for_update())


def signup(*, engine: Engine, settings: Settings, email: str, password: str, display_name: str, ip: str = "",
           user_agent: str = "", device_cookie: str | None = None) -> SignedIn:
    """Create an account and sign in. For an address that has an account, it answers as for a new
    one when the password is that account's (a sign-in); otherwise it refuses with a message that
    does not say why, and emails the address's owner. Sign-up signs in at once (no verification
    email), so a refusal cannot look like a success: README "Sign-up and existing addresses"."""
    email = normalize_email(email)
    with write_session(engine) as session:
        # Checked before the address is looked at, so it answers alike for new and taken addresses.
        _check_address(session, settings, ip)
        existing = _lock_user(session, email)
        if existing is None:
            user = create_user(session=session, email=email, password=password, display_name=display_name)
            return _signed_in(session=session, settings=settings, user=user, user_agent=user_agent, device=None)
        device = security.device_id(settings.SECRET_KEY, device_cookie, existing.id)
        _check_password_backoff(session, settings, email=email, device=device)
        ok = security.verify_password(existing.password_hash, password) and existing.is_active
        if not ok:
            _notify_taken_signup(session, settings, existing)
        session.add(LoginAttempt(email=email, ip=ip[:64], succeeded=ok, kind="signup", device=device))
        signed_in = _signed_in(session=session, settings=settings, user=existing, user_agent=user_agent,
                               device=device) if ok else None
    if signed_in is None:
        # Raised after the commit so the failed attempt counts for throttling.
        raise Conflict(TAKEN_MESSAGE)
    return signed_in


def _notify_taken_signup(session: Session, settings: Settings, user: User) -> None:
    """Tell the owner, at most once per throttling window (no mail bombing through our sign-up form)."""
    since = utcnow() - timedelta(seconds=settings.LOGIN_WINDOW_SECONDS)
    earlier = session.scalar(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.email == user.email, LoginAttempt.kind == "signup", LoginAttempt.succeeded.is_(False),
        LoginAttempt.at >= since)) or 0
    if earlier:
        return
    base = settings.APP_URL.rstrip("/")
    send_email(settings=settings, session=session, to=user.email,
               subject="Someone tried to create a Dronacharya account with your address",
               body=f"Hello {user.display_name},\n\nSomeone tried to create a new Dronacharya account with this "
                    "email address, which already has an account.\n\nIf it was you, sign in instead:\n\n"
                    f"{base}/account/signin/\n\nForgot your password? Choose a new one here:\n\n"
                    f"{base}/account/reset/\n\nIf it was not you, you need not do anything: nothing was "
                    "changed and nobody was signed in.\n")


def _retry_after(seconds: float) -> int:
    return max(1, math.ceil(seconds))


def _backoff_seconds(settings: Settings, failures: int) -> int:
    """The wait after the latest failure: none for the first LOGIN_MAX_FAILURES, then 2, 4, 8 ...
    seconds up to LOGIN_BACKOFF_MAX_SECONDS."""
    extra = failures - settings.LOGIN_MAX_FAILURES
    if extra < 0:
        return 0
    return int(min(BACKOFF_BASE_SECONDS * 2 ** min(extra, 30), settings.LOGIN_BACKOFF_MAX_SECONDS))


def _check_password_backoff(session: Session, settings: Settings, *, email: str, device: str | None) -> None:
    """Per-account exponential back-off, in two buckets: attempts from a browser the owner signed in
    with (its device cookie) and everyone else's. Strangers fill only the second, so they can slow
    guessing down but never lock the owner's browser out; on a new browser, the emailed sign-in
    link always works. Attempts refused here are not counted: they are not guesses."""
    now = utcnow()
    since = now - timedelta(seconds=settings.LOGIN_WINDOW_SECONDS)
    query = select(func.count(), func.max(LoginAttempt.at)).where(
        LoginAttempt.email == email, LoginAttempt.kind.in_(GUESSES), LoginAttempt.succeeded.is_(False),
        LoginAttempt.at >= since, LoginAttempt.device == device if device else LoginAttempt.device.is_(None))
    failures, latest = session.execute(query).one()
    wait = _backoff_seconds(settings, int(failures or 0))
    if wait and latest is not None:
        remaining = (_aware(latest) + timedelta(seconds=wait) - now).total_seconds()
        if remaining > 0:
            raise RateLimited("Too many failed sign-ins for this account. Wait a little, or sign in with a link "
                              "sent to your email.", retry_after=_retry_after(remaining))


def _check_address(session: Session, settings: Settings, ip: str) -> None:
    """The per-address bucket: many failed guesses from one client address (at any accounts)."""
    now = utcnow()
    since = now - timedelta(seconds=settings.LOGIN_WINDOW_SECONDS)
    failures, oldest = session.execute(select(func.count(), func.min(LoginAttempt.at)).where(
        LoginAttempt.ip == ip[:64], LoginAttempt.kind.in_(GUESSES), LoginAttempt.succeeded.is_(False),
        LoginAttempt.at >= since)).one()
    if int(failures or 0) >= settings.LOGIN_MAX_FAILURES * IP_FAILURE_FACTOR and oldest is not None:
        remaining = (_aware(oldest) + timedelta(seconds=settings.LOGIN_WINDOW_SECONDS) - now).total_seconds()
        raise RateLimited("Too many failed sign-ins from your network. Wait a few minutes, or sign in with a link "
                          "sent to your email.", retry_after=_retry_after(remaining))


def _aware(value: datetime | str) -> datetime:
    # Aggregates (max, min) come back without the column's type on some drivers: SQLite gives text.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def login(*, engine: Engine, settings: Settings, email: str, password: str, ip: str, user_agent: str = "",
          device_cookie: str | None = None) -> SignedIn:
    email = normalize_email(email)
    with write_session(engine) as session:
        user = _lock_user(session, email)
        device = security.device_id(settings.SECRET_KEY, device_cookie, user.id) if user else None
        if device is None:
            # A trusted browser skips the address bucket too: a shared address (a school's NAT)
            # being abused by someone else must not keep the owner's own browser out.
            _check_address(session, settings, ip)
        _check_password_backoff(session, settings, email=email, device=device)
        ok = security.verify_password(user.password_hash if user else None, password)
        succeeded = bool(ok and user and user.is_active)
        session.add(LoginAttempt(email=email, ip=ip[:64], succeeded=succeeded, kind="password", device=device))
        signed_in = None
        if succeeded and user is not None:
            if security.needs_rehash(user.password_hash):
                user.password_hash = security.hash_password(password)
            signed_in = _signed_in(session=session, settings=settings, user=user, user_agent=user_agent,
                                   device=device)
    if signed_in is None:
        # Raised after the commit so the failed attempt is recorded for throttling.
        raise Unauthorized("Email or password is not right.")
    return signed_in


def request_signin_link(*, engine: Engine, settings: Settings, email: str, ip: str) -> None:
    """Email a one-time sign-in link. Answers alike whether or not the address has an account; at
    most LINKS_PER_WINDOW emails per address per window (the rest are answered alike, unsent: the
    owner's inbox already holds a fresh link), and a per-address cap on requests (429)."""
    email = normalize_email(email)
    now = utcnow()
    since = now - timedelta(seconds=settings.LOGIN_WINDOW_SECONDS)
    with write_session(engine) as session:
        from_ip = session.scalar(select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.ip == ip[:64], LoginAttempt.kind == "link", LoginAttempt.at >= since)) or 0
        if from_ip >= settings.LOGIN_MAX_FAILURES * IP_FAILURE_FACTOR:
            raise RateLimited("Too many sign-in link requests from your network. Wait a few minutes.",
                              retry_after=settings.LOGIN_WINDOW_SECONDS)
        sent = session.scalar(select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.email == email, LoginAttempt.kind == "link", LoginAttempt.succeeded.is_(True),
            LoginAttempt.at >= since)) or 0
        user = session.scalar(select(User).where(User.email == email, User.is_active.is_(True)))
        send = user is not None and sent < LINKS_PER_WINDOW
        session.add(LoginAttempt(email=email, ip=ip[:64], kind="link", succeeded=send))
        if not send or user is None:
            return
        token = security.new_token()
        session.add(SignInLink(token_hash=security.token_hash(token), user_id=user.id, created_at=now,
                               expires_at=now + timedelta(minutes=SIGNIN_LINK_MINUTES)))
        # In the fragment (#), which browsers never send to a server: the token stays out of access logs.
        link = f"{settings.APP_URL.rstrip('/')}/account/signin/#link={token}"
        send_email(settings=settings, session=session, to=user.email, subject="Your Dronacharya sign-in link",
                   body=f"Hello {user.display_name},\n\nTo sign in, open this link within {SIGNIN_LINK_MINUTES} "
                        f"minutes (it works once):\n\n{link}\n\n"
                        "If you did not ask for this, ignore this email: nobody can use it but you.\n")


def signin_with_link(*, engine: Engine, settings: Settings, token: str, user_agent: str = "",
                     device_cookie: str | None = None) -> SignedIn:
    """Sign in with an emailed link: once, within SIGNIN_LINK_MINUTES, and never after a password
    change. Not subject to the password back-off: it is the owner's way in during an attack."""
    now = utcnow()
    with write_session(engine) as session:
        record = session.get(SignInLink, security.token_hash(token), with_for_update=True)
        user = session.get(User, record.user_id) if record else None
        if (record is None or user is None or record.used_at is not None or record.expires_at <= now
                or not user.is_active or record.created_at < user.password_changed_at):
            raise InvalidInput("This sign-in link is not valid any more. Ask for a new one.")
        # The other links of this account are spent too: one sign-in for any links sent so far.
        session.execute(update(SignInLink).where(SignInLink.user_id == user.id, SignInLink.used_at.is_(None))
                        .values(used_at=now))
        _mark_email_verified(session, user, now)  # the link came to this address: its owner reads its mail
        device = security.device_id(settings.SECRET_KEY, device_cookie, user.id)
        return _signed_in(session=session, settings=settings, user=user, user_agent=user_agent, device=device)


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


def _set_password(session: Session, user: User, new_password: str, *, keep_token: str | None = None) -> None:
    """Every password change (own, reset, admin) goes through here: it spends every outstanding reset
    token and sign-in link of the account (they were sent for the old password) and signs out every
    other browser."""
    now = utcnow()
    user.password_hash = security.hash_password(new_password)
    user.password_changed_at = now
    session.execute(update(PasswordResetToken).where(PasswordResetToken.user_id == user.id,
                                                     PasswordResetToken.used_at.is_(None)).values(used_at=now))
    session.execute(update(SignInLink).where(SignInLink.user_id == user.id, SignInLink.used_at.is_(None))
                    .values(used_at=now))
    revoke = update(AuthSession).where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
    if keep_token is not None:
        revoke = revoke.where(AuthSession.token_hash != security.token_hash(keep_token))
    session.execute(revoke.values(revoked_at=now))


def change_password(*, engine: Engine, user_id: str, current_password: str, new_password: str,
                    keep_token: str) -> None:
    with write_session(engine) as session:
        user = session.get(User, user_id)
        if user is None or not security.verify_password(user.password_hash, current_password):
            raise InvalidInput("The current password is not right.")
        # The browser that changed it stays signed in; others signed in with the old password are not.
        _set_password(session, user, new_password, keep_token=keep_token)


def delete_account(*, engine: Engine, user_id: str, password: str) -> None:
    """Delete the account and, by the database's cascades, everything it owns (progress, submissions, XP,
    tutor sessions, drafts, memberships). Certificates already issued are kept as issued, with the holder
    unlinked (ON DELETE SET NULL): they stay verifiable and say "holder removed". The password is asked
    again so that a stolen session alone cannot erase an account."""
    with write_session(engine) as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("No such account.")
        if not security.verify_password(user.password_hash, password):
            raise InvalidInput("The password is not right; the account was not deleted.")
        session.delete(user)


def admin_set_password(*, engine: Engine, user_id: str, new_password: str) -> None:
    """An administrator (or the CLI) sets an account's password: every session, reset token and
    sign-in link of the account ends."""
    if not 8 <= len(new_password) <= 256:
        raise InvalidInput("A password has 8 to 256 characters.")
    with write_session(engine) as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("No such account.")
        _set_password(session, user, new_password)


def request_password_reset(*, engine: Engine, settings: Settings, email: str) -> None:
    """Always succeeds from the caller's view, so it cannot be used to find accounts."""
    email = normalize_email(email)
    with write_session(engine) as session:
        user = session.scalar(select(User).where(User.email == email, User.is_active.is_(True)))
        if user is None:
            return
        token = security.new_token()
        session.add(PasswordResetToken(token_hash=security.token_hash(token), user_id=user.id, created_at=utcnow(),
                                       expires_at=utcnow() + timedelta(minutes=RESET_TOKEN_MINUTES)))
        # In the fragment (#), which browsers never send to a server: the token stays out of access logs.
        link = f"{settings.APP_URL.rstrip('/')}/account/reset/#token={token}"
        send_email(settings=settings, session=session, to=user.email, subject="Reset your Dronacharya password",
                   body=f"Hello {user.display_name},\n\nTo choose a new password, open this link within "
                        f"{RESET_TOKEN_MINUTES} minutes:\n\n{link}\n\n"
                        "If you did not ask for this, ignore this email.\n")


def confirm_password_reset(*, engine: Engine, token: str, new_password: str) -> None:
    now = utcnow()
    with write_session(engine) as session:
        record = session.get(PasswordResetToken, security.token_hash(token), with_for_update=True)
        user = session.get(User, record.user_id) if record else None
        # created_at before the last password change: issued for the old password (belt and braces:
        # _set_password already spends them).
        if (record is None or user is None or record.used_at is not None or record.expires_at <= now
                or record.created_at < user.password_changed_at):
            raise InvalidInput("This reset link is not valid any more. Ask for a new one.")
        _set_password(session, user, new_password)
        _mark_email_verified(session, user, now)  # the link came to this address: its owner reads its mail


def emails_of(*, session: Session, user_ids: set[str]) -> dict[str, str]:
    """user id -> email address, for the ids that still have an account (other domains' listings)."""
    if not user_ids:
        return {}
    return {str(i): str(e) for i, e in session.execute(select(User.id, User.email).where(User.id.in_(user_ids)))}


@dataclass(frozen=True)
class AccountRecord:
    """An account as support sees it: never its password hash or tokens."""

    id: str
    email: str
    display_name: str
    role: str
    organization_id: str | None
    is_active: bool
    email_verified: bool
    created_at: datetime


def _record(user: User) -> AccountRecord:
    return AccountRecord(id=user.id, email=user.email, display_name=user.display_name, role=user.role,
                         organization_id=user.organization_id, is_active=user.is_active,
                         email_verified=user.email_verified_at is not None, created_at=user.created_at)


def search_accounts(*, engine: Engine, query: str, limit: int, offset: int = 0) -> list[AccountRecord]:
    """Accounts whose email or display name contains `query` (any case; every account when empty), newest first."""
    wanted = query.strip().lower()
    statement = select(User).order_by(User.created_at.desc(), User.id).limit(limit).offset(offset)
    if wanted:
        # LIKE's own wildcards in the query are searched for literally.
        pattern = "%" + wanted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.where(func.lower(User.email).like(pattern, escape="\\")
                                    | func.lower(User.display_name).like(pattern, escape="\\"))
    with read_session(engine) as session:
        return [_record(user) for user in session.scalars(statement)]


def account(*, engine: Engine, user_id: str) -> AccountRecord:
    with read_session(engine) as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("No such account.")
        return _record(user)


def digest_opted_out(*, engine: Engine, user_ids: set[str]) -> set[str]:
    """Of these accounts, those who turned the weekly digest off (Profile and settings)."""
    if not user_ids:
        return set()
    with read_session(engine) as session:
        return set(session.scalars(select(UserProfile.user_id).where(UserProfile.user_id.in_(user_ids),
                                                                     UserProfile.weekly_digest.is_(False))))


def session_summary(*, engine: Engine, user_id: str) -> tuple[int, datetime | None]:
    """(signed-in browsers now, when the latest session began)."""
    now = utcnow()
    with read_session(engine) as session:
        active = session.scalar(select(func.count()).select_from(AuthSession).where(
            AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None), AuthSession.expires_at > now))
        latest = session.scalar(select(func.max(AuthSession.created_at)).where(AuthSession.user_id == user_id))
    return int(active or 0), latest
