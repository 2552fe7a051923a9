from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, Field

from sidecar.db.engine import write_session
from sidecar.deps import EngineDep, SettingsDep
from sidecar.errors import InvalidInput, documented_errors
from sidecar.settings import Settings
from sidecar.text import JsonBool

from . import security, service
from .deps import (
    CSRF_COOKIE,
    DEVICE_COOKIE,
    SESSION_COOKIE,
    CurrentPrincipal,
    OptionalPrincipal,
    client_ip,
    csrf_token,
)
from .models import (
    CsrfPublic,
    DisplayName,
    LoginIn,
    PasswordChange,
    ResetConfirm,
    ResetRequest,
    SignInLinkConfirm,
    SignInLinkRequest,
    UserCreate,
    UserPublic,
)
from .tables import User, UserProfile

router = APIRouter(tags=["auth"])

GAMIFICATION_MODES = ("full", "moderate", "minimal", "off")


DEVICE_COOKIE_DAYS = 365


def _set_csrf_cookie(response: Response, settings: Settings, token: str) -> None:
    # Readable by our scripts (not HttpOnly) by design: they echo it in X-CSRF-Token.
    response.set_cookie(CSRF_COOKIE, token, httponly=False, samesite="lax", secure=settings.secure_cookies, path="/")


def _set_cookies(response: Response, settings: Settings, signed_in: service.SignedIn) -> None:
    secure = settings.secure_cookies
    response.set_cookie(SESSION_COOKIE, signed_in.token, max_age=settings.SESSION_DAYS * 86400, httponly=True,
                        samesite="lax", secure=secure, path="/")
    # A new session, a new CSRF token: bound to it, so one issued before sign-in stops working.
    _set_csrf_cookie(response, settings, security.csrf_for_session(settings.SECRET_KEY, signed_in.token))
    if signed_in.device:
        # Only the sign-in endpoints read it.
        response.set_cookie(DEVICE_COOKIE, signed_in.device, max_age=DEVICE_COOKIE_DAYS * 86400, httponly=True,
                            samesite="lax", secure=secure, path="/api/auth")


def set_session_cookies(response: Response, settings: Settings, signed_in: service.SignedIn) -> None:
    """The cookies of a new session, for sign-ins that other domains finish (single sign-on)."""
    _set_cookies(response, settings, signed_in)


def _signed_out(response: Response, settings: Settings) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
    # A fresh signed-out token: the session's bound one dies with the session.
    _set_csrf_cookie(response, settings, security.new_token())


def _user_agent(request: Request) -> str:
    return request.headers.get("user-agent", "")


@router.get("/auth/csrf", response_model=CsrfPublic, summary="Get (and set) the CSRF token cookie")
def get_csrf(request: Request, response: Response, settings: SettingsDep) -> CsrfPublic:
    """Signed in: the token bound to this session; signed out: the double-submit cookie's token."""
    current = request.cookies.get(CSRF_COOKIE)
    token = csrf_token(request, settings) or current or security.new_token()
    if token != current:
        _set_csrf_cookie(response, settings, token)
    return CsrfPublic(csrf_token=token)


@router.post("/auth/signup", response_model=UserPublic, status_code=status.HTTP_201_CREATED,
             summary="Create an account and sign in")
def signup(body: UserCreate, request: Request, response: Response, engine: EngineDep,
           settings: SettingsDep) -> UserPublic:
    signed_in = service.signup(engine=engine, settings=settings, email=body.email, password=body.password,
                               display_name=body.display_name, ip=client_ip(request, settings),
                               user_agent=_user_agent(request), device_cookie=request.cookies.get(DEVICE_COOKIE))
    _set_cookies(response, settings, signed_in)
    return signed_in.user


@router.post("/auth/login", response_model=UserPublic, summary="Sign in",
             responses=documented_errors({401: "The email or the password is not right (or the account is disabled)."}))
def login(body: LoginIn, request: Request, response: Response, engine: EngineDep, settings: SettingsDep) -> UserPublic:
    signed_in = service.login(engine=engine, settings=settings, email=body.email, password=body.password,
                              ip=client_ip(request, settings), user_agent=_user_agent(request),
                              device_cookie=request.cookies.get(DEVICE_COOKIE))
    _set_cookies(response, settings, signed_in)
    return signed_in.user


@router.post("/auth/signin-link", status_code=status.HTTP_202_ACCEPTED, summary="Email a one-time sign-in link")
def request_signin_link(body: SignInLinkRequest, request: Request, engine: EngineDep,
                        settings: SettingsDep) -> dict[str, str]:
    service.request_signin_link(engine=engine, settings=settings, email=body.email, ip=client_ip(request, settings))
    return {"status": "If an account exists for this email, a sign-in link is on its way."}


@router.post("/auth/signin-link/confirm", response_model=UserPublic, summary="Sign in with an emailed link")
def confirm_signin_link(body: SignInLinkConfirm, request: Request, response: Response, engine: EngineDep,
                        settings: SettingsDep) -> UserPublic:
    signed_in = service.signin_with_link(engine=engine, settings=settings, token=body.token,
                                         user_agent=_user_agent(request),
                                         device_cookie=request.cookies.get(DEVICE_COOKIE))
    _set_cookies(response, settings, signed_in)
    return signed_in.user


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT, summary="Sign out this browser")
def logout(request: Request, engine: EngineDep, settings: SettingsDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        service.logout(engine=engine, token=token)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    _signed_out(response, settings)
    return response


class RevokedPublic(BaseModel):
    revoked_sessions: int


@router.post("/auth/logout-all", response_model=RevokedPublic, summary="Sign out everywhere")
def logout_all(principal: CurrentPrincipal, engine: EngineDep, response: Response,
               settings: SettingsDep) -> RevokedPublic:
    revoked = service.logout_everywhere(engine=engine, user_id=principal.user.id)
    _signed_out(response, settings)
    return RevokedPublic(revoked_sessions=revoked)


@router.post("/auth/password", status_code=status.HTTP_204_NO_CONTENT, summary="Change password")
def change_password(body: PasswordChange, principal: CurrentPrincipal, engine: EngineDep) -> Response:
    service.change_password(engine=engine, user_id=principal.user.id, current_password=body.current_password,
                            new_password=body.new_password, keep_token=principal.token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/auth/password-reset", status_code=status.HTTP_202_ACCEPTED, summary="Email a password reset link")
def request_reset(body: ResetRequest, engine: EngineDep, settings: SettingsDep) -> dict[str, str]:
    service.request_password_reset(engine=engine, settings=settings, email=body.email)
    return {"status": "If an account exists for this email, a reset link is on its way."}


@router.post("/auth/password-reset/confirm", status_code=status.HTTP_204_NO_CONTENT,
             summary="Set a new password with a reset token")
def confirm_reset(body: ResetConfirm, engine: EngineDep) -> Response:
    service.confirm_password_reset(engine=engine, token=body.token, new_password=body.new_password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


class SessionPublic(BaseModel):
    user: UserPublic | None


@router.get("/auth/session", response_model=SessionPublic, summary="Who is signed in (never 401)")
def current_session(principal: OptionalPrincipal) -> SessionPublic:
    """For pages that work signed in or out: answers 200 with user null instead of a 401."""
    return SessionPublic(user=service.to_public(principal.user, principal.profile) if principal else None)


@router.get("/me", response_model=UserPublic, summary="The signed-in user")
def me(principal: CurrentPrincipal) -> UserPublic:
    return service.to_public(principal.user, principal.profile)


class AccountDeletion(BaseModel):
    password: str = Field(max_length=1024, description="The account's password, asked again.")


@router.delete("/me", status_code=status.HTTP_204_NO_CONTENT, summary="Delete your account")
def delete_me(body: AccountDeletion, principal: CurrentPrincipal, engine: EngineDep,
              settings: SettingsDep) -> Response:
    """Deletes the account and everything it owns, and signs out. Certificates already issued stay verifiable
    exactly as issued; their verification page then says "holder removed"."""
    service.delete_account(engine=engine, user_id=principal.user.id, password=body.password)
    answer = Response(status_code=status.HTTP_204_NO_CONTENT)
    _signed_out(answer, settings)
    return answer


class SettingsUpdate(BaseModel):
    display_name: DisplayName | None = None
    timezone: str | None = Field(None, max_length=64, description="An IANA time zone, e.g. Asia/Kolkata.")
    gamification_mode: str | None = Field(None, description="full, moderate, minimal, off, or 'default'.")
    leaderboard_opt_in: JsonBool | None = None
    leaderboard_anonymous: JsonBool | None = None
    weekly_digest: JsonBool | None = Field(None, description="Email me my week each Monday (the weekly digest).")


class SettingsPublic(BaseModel):
    display_name: str
    timezone: str
    gamification_mode: str | None
    leaderboard_opt_in: bool
    leaderboard_anonymous: bool
    weekly_digest: bool


def _settings_public(user: User, profile: UserProfile) -> SettingsPublic:
    return SettingsPublic(display_name=user.display_name, timezone=profile.timezone,
                          gamification_mode=profile.gamification_mode,
                          leaderboard_opt_in=profile.leaderboard_opt_in,
                          leaderboard_anonymous=profile.leaderboard_anonymous,
                          weekly_digest=profile.weekly_digest)


@router.get("/me/settings", response_model=SettingsPublic, summary="Profile settings")
def read_settings(principal: CurrentPrincipal) -> SettingsPublic:
    return _settings_public(principal.user, principal.profile)


@router.patch("/me/settings", response_model=SettingsPublic, summary="Update profile settings")
def update_settings(body: SettingsUpdate, principal: CurrentPrincipal, engine: EngineDep) -> SettingsPublic:
    if body.timezone is not None:
        service.valid_timezone(body.timezone)
    if body.gamification_mode is not None and body.gamification_mode not in (*GAMIFICATION_MODES, "default"):
        raise InvalidInput("gamification_mode must be full, moderate, minimal, off or default.")
    with write_session(engine) as session:
        user = session.get(User, principal.user.id)
        profile = session.get(UserProfile, principal.user.id)
        assert user is not None and profile is not None
        if body.display_name is not None:
            user.display_name = body.display_name  # trimmed and checked by DisplayName
        if body.timezone is not None:
            profile.timezone = body.timezone
        if body.gamification_mode is not None:
            profile.gamification_mode = None if body.gamification_mode == "default" else body.gamification_mode
        if body.leaderboard_opt_in is not None:
            profile.leaderboard_opt_in = body.leaderboard_opt_in
        if body.leaderboard_anonymous is not None:
            profile.leaderboard_anonymous = body.leaderboard_anonymous
        if body.weekly_digest is not None:
            profile.weekly_digest = body.weekly_digest
        return _settings_public(user, profile)
