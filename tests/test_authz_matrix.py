"""The authorisation matrix (issue #18, item 8): every route of the app × every kind of caller, on SQLite and
PostgreSQL, with real path parameters that point at organisation A's resources.

ROUTES is the table: one row per (method, path template) of `create_app()`, with its access rule (RULES:
who may call it, and what each of the others gets) and a request that is valid for the callers it allows
(so that an answer is about who asks, not about what was sent). `test_every_route_is_classified` fails when
the app has a route the table does not list, or the table lists one the app no longer has: a new endpoint
cannot be added without deciding who may call it (docs/authorization.md, *Classifying a new endpoint*).

The callers: nobody signed in; a plain learner of organisation A (the owner of the learner's own resources:
certificate, draft, tutor conversation, assessment attempt, Gold project); a content creator; organisation
A's reviewer, team A's manager, admin and analytics viewer; a super admin; the same organisation roles and a
learner of a foreign organisation B; and the SCIM bearer tokens of A and of B. Each denied caller must get
exactly the status the code gives on purpose (401 signed out, 403 refused, 404 where the API hides that the
resource exists); each allowed caller must get neither 401 nor 403, and never a 5xx; a foreign caller's
allowed answer never names organisation A's resources; and a refused caller sending a body the route does
not take still gets 401 first, or its refusal or a 422, never a 2xx.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.routing import APIRoute, iter_route_contexts

from sidecar.auth import security
from sidecar.auth.roles import Role
from tests.conftest import ApiClient
from tests.test_certificates import _earn_bronze
from tests.test_org_admin import COURSE, _join
from tests.test_org_permissions import DUE, LTI_PLATFORM
from tests.test_projects import GOOD, submit, zip_of
from tests.test_security_orgs import PASSWORD, _account, _emailed, _me, _org
from tests.test_sso import provider  # noqa: F401 - a fixture: a real OpenID provider on 127.0.0.1

DOUBLE = "00000000-0000-4000-8000-000000000015"  # first-steps/printing's exercise
PRINTING = "00000000-0000-4000-8000-000000000013"  # its lesson
QUIZ = "00000000-0000-4000-8000-000000000016"
READING = "00000000-0000-4000-8000-000000000031"  # completes on reading
CHALLENGE = "00000000-0000-4000-8000-000000000041"  # third-steps/speed-run
TRACK = "00000000-0000-4000-8000-000000000010"  # the minimal fixture's demo track
SCIM_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
SCIM_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"

# ---- the callers ----------------------------------------------------------------------------------------------

NO_SESSION = ("anonymous", "scim_a", "scim_b")  # the SCIM callers send a bearer token and no session cookie
ORG_A = ("learner_a", "reviewer_a", "manager_a", "admin_a", "viewer_a")
ORG_B = ("learner_b", "reviewer_b", "manager_b", "admin_b", "viewer_b")
PLATFORM = ("creator", "root")
SIGNED_IN = ORG_A + PLATFORM + ORG_B
CALLERS = NO_SESSION + SIGNED_IN
FOREIGN = (*ORG_B, "scim_b")


@dataclass(frozen=True)
class Rule:
    """Who may call a route, and the status every other caller gets (`others`, with `special` exceptions;
    callers without a session get 401 unless `special` says otherwise)."""

    text: str
    allowed: frozenset[str]
    others: int = 403
    special: dict[str, int] = field(default_factory=dict)

    def expected(self, caller: str, deny: dict[str, int]) -> int | None:
        """None: allowed (neither 401 nor 403 nor 5xx); else the exact status of the refusal. `deny` is the
        row's own exceptions: a caller's status, or "*" for every signed-in caller refused."""
        if caller in self.allowed:
            return None
        if caller in deny:
            return deny[caller]
        if caller in self.special:
            return self.special[caller]
        if caller in NO_SESSION:
            return 401
        return deny.get("*", self.others)


def _rule(text: str, allowed: tuple[str, ...] | frozenset[str], others: int = 403, **special: int) -> Rule:
    return Rule(text, frozenset(allowed), others, special)


RULES: dict[str, Rule] = {
    "public": _rule("anyone, signed in or not", CALLERS),
    "signed_in": _rule("any signed-in user (their own data)", SIGNED_IN),
    # The learner's own resources (a certificate's holder, a draft, a conversation, an attempt, a project):
    # everyone else is told it does not exist.
    "owner": _rule("its owner only (others: 404)", ("learner_a",), others=404),
    "super_admin": _rule("super admins", ("root",)),
    "org_admin": _rule("the organisation's admins and super admins", ("admin_a", "root")),
    "team_manager": _rule("the team's managers, the organisation's admins, super admins",
                          ("manager_a", "admin_a", "root")),
    "org_viewer": _rule("the organisation's analytics viewers and admins, super admins",
                        ("viewer_a", "admin_a", "root")),
    "reviewer": _rule("reviewers of the learner's organisation (or platform-wide) and super admins",
                      ("reviewer_a", "root")),
    "any_reviewer": _rule("any reviewer (their own scope) and super admins", ("reviewer_a", "reviewer_b", "root")),
    "learner_or_manager": _rule("the learner and the managers of their teams", ("learner_a", "manager_a")),
    # SCIM: a bearer token, never a session. Each token sees its own organisation only: lists answer with it,
    # and another organisation's user or group does not exist for it (404).
    "scim_any": _rule("any SCIM bearer token (its own organisation's data)", ("scim_a", "scim_b"), others=401),
    "scim": _rule("the organisation's SCIM bearer token", ("scim_a",), others=401, scim_b=404),
    # LTI 1.3: the platform's signed message (and the state cookie of its login) is the credential; nobody
    # here holds one, so everybody is refused (tests/test_lti.py runs real launches).
    "lti_message": _rule("an LMS platform's signed message", (), others=403, anonymous=403, scim_a=403,
                         scim_b=403),
    "invitee": _rule("the invited account, with the emailed token (others: 404)", (), others=404),
    "test_only": _rule("nobody (only with DRONA_TEST_CLOCK in a local test run)", (), others=404),
    "no_endpoint": _rule("nobody: no such SCIM endpoint (404 before any token check)", (), others=404,
                         anonymous=404, scim_a=404, scim_b=404),
}
# Heavy answers (PDF rendering, the site map) are asked by these allowed callers only; refused callers, always all.
SAMPLE = ("anonymous", "learner_b", "admin_a")


# ---- the table ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    rule: str
    body: Any = None  # JSON (placeholders {name} are filled with the world's ids)
    params: dict[str, str] = field(default_factory=dict)  # path parameters other than the world's defaults
    query: dict[str, str] = field(default_factory=dict)
    form: dict[str, str] | None = None  # application/x-www-form-urlencoded instead of JSON
    kind: str = "json"  # json, scim (application/scim+json), upload (the Gold project's multipart form)
    fresh: str | None = None  # the resource an allowed call consumes: made again before each allowed caller
    phase: int = 0  # 1: ends the caller's session (signed in again after); 2: removes or decides (last)
    deny: dict[str, int] = field(default_factory=dict)  # this route's exceptions to its rule (Rule.expected)
    sample: bool = False  # a heavy answer: allowed callers in SAMPLE only
    endless: bool = False  # the allowed answer is a stream that never ends: only the refused callers are asked


ROUTES: dict[tuple[str, str], Row] = {
    # -- system, sign-in and the account
    ("GET", "/api/health"): Row("public"),
    ("GET", "/sitemap.xml"): Row("public", sample=True),  # `drona serve` (serve_site); the static site itself is public
    ("GET", "/api/auth/csrf"): Row("public"),
    ("POST", "/api/auth/signup"): Row("public", {"email": "{new_email}", "password": PASSWORD,
                                                 "display_name": "New"}),
    ("POST", "/api/auth/login"): Row("public", {"email": "spare@example.com", "password": PASSWORD}),
    ("POST", "/api/auth/signin-link"): Row("public", {"email": "spare@example.com"}),
    ("POST", "/api/auth/signin-link/confirm"): Row("public", {"token": "not-a-token"}),
    ("POST", "/api/auth/logout"): Row("public", phase=1),
    ("POST", "/api/auth/logout-all"): Row("signed_in", phase=1),
    ("POST", "/api/auth/password"): Row("signed_in", {"current_password": "wrong", "new_password": "x" * 12}),
    ("POST", "/api/auth/password-reset"): Row("public", {"email": "spare@example.com"}),
    ("POST", "/api/auth/password-reset/confirm"): Row("public", {"token": "not-a-token",
                                                                 "new_password": "correct horse 2"}),
    ("GET", "/api/auth/session"): Row("public"),
    ("GET", "/api/me"): Row("signed_in"),
    ("DELETE", "/api/me"): Row("signed_in", {"password": "not the password"}),  # 422: nothing deleted
    ("GET", "/api/me/settings"): Row("signed_in"),
    ("PATCH", "/api/me/settings"): Row("signed_in", {"leaderboard_opt_in": False}),
    ("GET", "/api/me/export"): Row("signed_in"),
    # Server-Sent Events: the test client would wait for its end for ever (tests/test_live*.py reads it).
    ("GET", "/api/me/events"): Row("signed_in", endless=True),
    # -- onboarding, catalog, progress, gamification, spaced review
    ("GET", "/api/onboarding"): Row("signed_in"),
    ("POST", "/api/onboarding/role"): Row("signed_in", {"learner_kind": "self_learner"}),
    ("GET", "/api/onboarding/skill-check"): Row("signed_in", query={"track_id": TRACK}),
    ("POST", "/api/onboarding/skill-check"): Row("signed_in", {"track_id": TRACK, "answers": {}}),
    ("POST", "/api/onboarding/goals"): Row("signed_in", {"goals": ["career"], "minutes_per_week": 60}),
    ("POST", "/api/onboarding/learning-style"): Row("signed_in", {"learning_style": "mixed"}),
    ("POST", "/api/onboarding/complete"): Row("signed_in", {"track_id": TRACK}),
    ("GET", "/api/progress/path"): Row("signed_in"),
    ("GET", "/api/catalog"): Row("public"),
    ("POST", "/api/progress/events"): Row("signed_in", {"event_id": "{event_id}", "lesson_id": READING,
                                                        "kind": "started"}),
    ("GET", "/api/progress"): Row("signed_in"),
    ("GET", "/api/gamification/profile"): Row("signed_in"),
    ("GET", "/api/gamification/leaderboard"): Row("signed_in"),
    ("GET", "/api/review"): Row("signed_in"),
    ("POST", "/api/review/answers"): Row("signed_in", {"item_key": "nothing-due", "review_id": "nothing-due",
                                                      "correct": True}),
    # -- organisations, teams, invitations (the deep cases: tests/test_org_permissions.py)
    ("POST", "/api/orgs"): Row("super_admin", {"name": "{new_org}"}),
    ("GET", "/api/orgs"): Row("signed_in"),
    ("GET", "/api/orgs/{org_id}"): Row("org_admin", deny={"*": 404}),  # hidden from all but its admins
    ("PATCH", "/api/orgs/{org_id}"): Row("org_admin", {"name": "Org a"}),
    ("GET", "/api/orgs/{org_id}/members"): Row("org_admin"),
    ("PATCH", "/api/orgs/{org_id}/members/{user_id}"): Row("org_admin", {"role": "learner"}),
    ("DELETE", "/api/orgs/{org_id}/members/{user_id}"): Row("org_admin", params={"user_id": "{spare_member}"},
                                                             fresh="member", phase=2),
    ("POST", "/api/orgs/{org_id}/invitations"): Row("org_admin", {"email": "{new_email}", "role": "learner"}),
    ("POST", "/api/orgs/{org_id}/invitations/import"): Row("org_admin", {"csv": "{new_email},learner\n"}),
    ("GET", "/api/orgs/{org_id}/invitations"): Row("org_admin"),
    ("DELETE", "/api/orgs/{org_id}/invitations/{invitation_id}"): Row("org_admin", fresh="invitation"),
    ("GET", "/api/me/organization"): Row("signed_in"),
    ("GET", "/api/me/invitations"): Row("signed_in"),
    # The pending invitation's real emailed token: addressed to someone else, it still finds nothing.
    ("POST", "/api/me/invitations/{invitation_id}/accept"): Row("invitee", {"token": "{invitation_token}"}),
    ("POST", "/api/me/invitations/{invitation_id}/decline"): Row("invitee", {"token": "{invitation_token}"}),
    ("POST", "/api/orgs/{org_id}/teams"): Row("org_admin", {"name": "{new_name}"}),
    ("GET", "/api/orgs/{org_id}/teams"): Row("org_admin"),
    ("POST", "/api/teams/{team_id}/members"): Row("team_manager", {"email": "learner-a@example.com"}),
    ("GET", "/api/teams"): Row("signed_in"),
    ("POST", "/api/orgs/{org_id}/assignments"): Row("team_manager", {"course_id": COURSE, "team_id": "{team_id}",
                                                                     "due_at": DUE}),
    ("GET", "/api/orgs/{org_id}/assignments"): Row("team_manager"),
    ("DELETE", "/api/orgs/{org_id}/assignments/{assignment_id}"): Row("team_manager", fresh="assignment"),
    ("GET", "/api/me/assignments"): Row("signed_in"),
    ("GET", "/api/teams/{team_id}/progress"): Row("team_manager"),
    ("POST", "/api/teams/{team_id}/nudges"): Row("team_manager", {"user_id": "{user_id}",
                                                                  "assignment_id": "{assignment_id}"}),
    ("GET", "/api/orgs/{org_id}/dashboard"): Row("org_viewer"),
    ("GET", "/api/orgs/{org_id}/progress.csv"): Row("org_admin"),
    ("GET", "/api/orgs/{org_id}/audit"): Row("org_admin", deny={"admin_b": 404}),
    ("GET", "/api/admin/audit"): Row("super_admin"),
    ("GET", "/api/admin/users"): Row("super_admin"),
    ("GET", "/api/admin/users/{user_id}"): Row("super_admin"),
    ("GET", "/api/orgs/{org_id}/reports/compliance"): Row("org_admin"),
    ("GET", "/api/orgs/{org_id}/reports/skills"): Row("org_admin"),
    ("GET", "/api/orgs/{org_id}/reports/executive"): Row("org_admin", sample=True),  # a PDF
    # -- single sign-on, domains, SCIM tokens, LTI platforms
    ("GET", "/api/orgs/{org_id}/sso"): Row("org_admin"),
    ("PUT", "/api/orgs/{org_id}/sso"): Row("org_admin", {"issuer": "{issuer}", "client_id": "drona",
                                                         "client_secret": "y"}),
    ("DELETE", "/api/orgs/{org_id}/sso"): Row("org_admin", fresh="sso"),
    ("GET", "/api/orgs/{org_id}/domains"): Row("org_admin"),
    ("POST", "/api/orgs/{org_id}/domains"): Row("org_admin", {"domain": "{new_domain}"}),
    ("DELETE", "/api/orgs/{org_id}/domains/{domain}"): Row("org_admin", fresh="domain"),
    ("POST", "/api/admin/orgs/{org_id}/domains/{domain}/verify"): Row("super_admin"),
    ("GET", "/api/sso/start"): Row("public", query={"org": "{org_id}"}, sample=True),  # 303 to the provider
    ("GET", "/api/sso/callback"): Row("public", query={"state": "x", "code": "y"}),
    ("POST", "/api/orgs/{org_id}/scim/tokens"): Row("org_admin", {"name": "Another IdP"}, deny={"*": 404}),
    ("GET", "/api/orgs/{org_id}/scim/tokens"): Row("org_admin", deny={"*": 404}),
    ("DELETE", "/api/orgs/{org_id}/scim/tokens/{token_id}"): Row("org_admin", fresh="scim_token", deny={"*": 404}),
    ("POST", "/api/orgs/{org_id}/lti/platforms"): Row("org_admin", {**LTI_PLATFORM, "client_id": "{new_name}"},
        deny={"admin_b": 404}),
    ("GET", "/api/orgs/{org_id}/lti/platforms"): Row("org_admin",
        deny={"admin_b": 404}),
    ("DELETE", "/api/orgs/{org_id}/lti/platforms/{platform_id}"): Row("org_admin", fresh="lti_platform",
        deny={"admin_b": 404}),
    # -- LTI 1.3: the platform's signed messages are the credential (sidecar/lti/router.py)
    ("GET", "/api/lti/jwks"): Row("public"),
    ("GET", "/api/lti/login"): Row("lti_message", query={"iss": "https://lms.example.com", "login_hint": "1",
                                                    "target_link_uri": "https://drona.example.com/"}),
    ("POST", "/api/lti/login"): Row("lti_message", form={"iss": "https://lms.example.com", "login_hint": "1",
                                                    "target_link_uri": "https://drona.example.com/"}),
    ("POST", "/api/lti/launch"): Row("lti_message", form={"id_token": "not.a.jwt", "state": "x"}),
    ("POST", "/api/lti/deep-link"): Row("lti_message", form={"id_token": "not.a.jwt", "state": "x"}),
    # -- exercises, quizzes, challenges, drafts
    ("POST", "/api/quizzes/{quiz_id}/attempts"): Row("public", {"answers": {}}),
    ("GET", "/api/quizzes/{quiz_id}/attempts/latest"): Row("signed_in"),
    # Grading runs the sandbox: the allowed callers' (empty) body is refused with 422 after the sign-in check.
    ("POST", "/api/exercises/{exercise_id}/submissions"): Row("signed_in", {}),
    ("GET", "/api/exercises/{exercise_id}/submissions"): Row("signed_in"),
    # One of the caller's own submissions by its submission id (here one nobody sent: 404 for every caller).
    ("GET", "/api/exercises/{exercise_id}/submissions/{submission_id}"): Row(
        "signed_in", params={"submission_id": "{event_id}"}),
    ("POST", "/api/exercises/{exercise_id}/hints"): Row("signed_in"),
    ("GET", "/api/challenges/{lesson_id}"): Row("signed_in", params={"lesson_id": CHALLENGE}),
    ("POST", "/api/challenges/{lesson_id}/start"): Row("signed_in", params={"lesson_id": CHALLENGE}),
    ("POST", "/api/test/clock"): Row("test_only", {"offset_seconds": 0}),
    ("GET", "/api/exercises/{exercise_id}/draft"): Row("signed_in"),
    ("PUT", "/api/exercises/{exercise_id}/draft"): Row("signed_in", {"code": "print('mine')"}),
    ("POST", "/api/exercises/{exercise_id}/draft/versions/{version_id}/restore"): Row("owner"),
    ("DELETE", "/api/exercises/{exercise_id}/draft/versions/{version_id}"): Row("owner", fresh="version"),
    ("GET", "/api/drafts"): Row("signed_in", query={"lesson_id": PRINTING}),
    # -- the tutor
    ("POST", "/api/ai/chat"): Row("signed_in", {"message": "What does print do?", "lesson_id": PRINTING}),
    ("POST", "/api/ai/hint"): Row("signed_in", {"exercise_id": DOUBLE}),
    ("POST", "/api/ai/review"): Row("signed_in", {}),  # a review runs the linters (seconds): the body is a 422
    ("POST", "/api/ai/assess"): Row("signed_in", {}),
    ("GET", "/api/ai/status"): Row("public"),
    ("GET", "/api/ai/sessions"): Row("signed_in"),
    ("GET", "/api/ai/sessions/{session_id}"): Row("owner"),
    ("DELETE", "/api/ai/sessions/{session_id}"): Row("owner", fresh="session"),
    ("DELETE", "/api/ai/sessions"): Row("signed_in", phase=2),  # all of the caller's conversations
    # -- certificates and the transparency log (verification is public by design)
    ("GET", "/api/certifications"): Row("public"),
    ("GET", "/api/certifications/{course_id}"): Row("public"),
    ("GET", "/api/me/certificates"): Row("signed_in"),
    ("GET", "/api/verify/{credential_id}"): Row("public"),
    ("GET", "/api/certificates/{credential_id}/credential.json"): Row("public"),
    ("GET", "/api/certificates/{credential_id}/bundle.json"): Row("public"),
    ("GET", "/api/certificates/{credential_id}/certificate.pdf"): Row("public", sample=True),
    ("POST", "/api/certificates/{credential_id}/revoke"): Row("super_admin", {"reason": "Matrix check"}, phase=2),
    ("GET", "/api/issuer"): Row("public"),
    ("GET", "/api/issuer/keys"): Row("public"),
    ("GET", "/api/issuer/status/1"): Row("public"),
    ("GET", "/api/transparency/entries/{index}/proof"): Row("public"),
    ("GET", "/api/transparency/consistency"): Row("public", query={"first": "1", "second": "1"}),
    ("GET", "/verify/{credential_id}"): Row("public"),
    ("GET", "/certificates/{credential_id}/print"): Row("public"),
    ("GET", "/transparency/{name}"): Row("public"),
    # -- Silver assessments
    ("GET", "/api/assessments/{course_id}"): Row("public"),
    ("POST", "/api/assessments/{course_id}/attempts"): Row("signed_in", {"consent_camera": False}),
    ("GET", "/api/assessments/attempts/{attempt_id}"): Row("owner"),
    ("POST", "/api/assessments/attempts/{attempt_id}/sections/{section}/start"): Row("owner"),
    ("PUT", "/api/assessments/attempts/{attempt_id}/sections/{section}/items/{position}"):
        Row("owner", {"answer": 0}),
    ("POST", "/api/assessments/attempts/{attempt_id}/sections/coding/items/{position}/submissions"):
        Row("owner", {"code": "x = 1"}),  # the coding section is not started: 409 for the owner, no grading
    ("POST", "/api/assessments/attempts/{attempt_id}/sections/design/replies"): Row("owner", {"text": "Hello"}),
    ("POST", "/api/assessments/attempts/{attempt_id}/sections/{section}/submit"): Row("owner", phase=2),
    ("POST", "/api/assessments/attempts/{attempt_id}/events"): Row("owner", {"kind": "focus_lost"}),
    ("GET", "/api/assessments/attempts/{attempt_id}/integrity"): Row("reviewer", deny={"reviewer_b": 404}),
    # -- Gold projects and their review
    ("GET", "/api/projects/{course_id}/options"): Row("public"),
    ("GET", "/api/projects/{course_id}"): Row("signed_in"),
    ("POST", "/api/projects/{course_id}/choice"): Row("signed_in", {"option_id": "no-such-option"}),
    ("POST", "/api/projects/{course_id}/proposal"): Row("signed_in", {"title": "A planner",
                                                                     "description": "Plans a week of meals."}),
    ("POST", "/api/projects/{course_id}/submissions"): Row("signed_in", kind="upload"),
    ("GET", "/api/projects/submissions/{submission_id}"): Row("owner"),
    # Another organisation's reviewer: the submission or proposal does not exist for them.
    ("GET", "/api/reviews/queue"): Row("any_reviewer"),
    ("GET", "/api/reviews/submissions/{submission_id}"): Row("reviewer", deny={"reviewer_b": 404}),
    ("GET", "/api/reviews/submissions/{submission_id}/files/{path}"): Row("reviewer", deny={"reviewer_b": 404}),
    ("POST", "/api/reviews/submissions/{submission_id}"): Row("reviewer", {"decision": "return",
                                                                          "feedback": "Add tests."}, phase=2,
                                                             deny={"reviewer_b": 404}),
    ("POST", "/api/reviews/proposals/{project_id}"): Row("reviewer", {"decision": "approve"},
                                                         deny={"reviewer_b": 404}),
    ("PUT", "/api/reviews/reviewers"): Row("super_admin", {"email": "reviewer-a@example.com", "reviewer": True}),
    # -- analytics
    ("GET", "/api/analytics/me"): Row("signed_in"),
    ("GET", "/api/analytics/who-sees-me"): Row("signed_in"),
    ("GET", "/api/analytics/users/{user_id}"): Row("learner_or_manager"),
    ("GET", "/api/analytics/teams/{team_id}"): Row("team_manager"),
    ("GET", "/api/analytics/orgs/{org_id}"): Row("org_viewer"),
    ("GET", "/api/analytics/platform"): Row("super_admin"),
    # -- SCIM 2.0: the organisation's bearer token, never a session; another organisation's token finds nothing
    ("GET", "/scim/v2/ServiceProviderConfig"): Row("scim_any"),
    ("GET", "/scim/v2/ResourceTypes"): Row("scim_any"),
    ("GET", "/scim/v2/ResourceTypes/{name}"): Row("scim_any", params={"name": "User"}),
    ("GET", "/scim/v2/Schemas"): Row("scim_any"),
    ("GET", "/scim/v2/Schemas/{urn}"): Row("scim_any", params={"urn": SCIM_USER}),
    ("POST", "/scim/v2/Users"): Row("scim_any", {"schemas": [SCIM_USER], "userName": "{new_email}", "active": True},
                                    kind="scim"),
    ("GET", "/scim/v2/Users"): Row("scim_any"),
    ("POST", "/scim/v2/Users/.search"): Row("scim_any", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:"
                                                                 "SearchRequest"]}, kind="scim"),
    ("GET", "/scim/v2/Users/{scim_id}"): Row("scim"),
    ("PUT", "/scim/v2/Users/{scim_id}"): Row("scim", {"schemas": [SCIM_USER], "userName": "scim-a@example.com",
                                                     "active": True}, kind="scim"),
    ("PATCH", "/scim/v2/Users/{scim_id}"): Row("scim", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:"
                                                                    "PatchOp"], "Operations": [
        {"op": "replace", "path": "active", "value": True}]}, kind="scim"),
    ("DELETE", "/scim/v2/Users/{scim_id}"): Row("scim", fresh="scim_user"),
    ("POST", "/scim/v2/Groups"): Row("scim_any", {"schemas": [SCIM_GROUP], "displayName": "{new_name}"}, kind="scim"),
    ("GET", "/scim/v2/Groups"): Row("scim_any"),
    ("POST", "/scim/v2/Groups/.search"): Row("scim_any", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:"
                                                                  "SearchRequest"]}, kind="scim"),
    ("GET", "/scim/v2/Groups/{group_id}"): Row("scim"),
    ("PUT", "/scim/v2/Groups/{group_id}"): Row("scim", {"schemas": [SCIM_GROUP], "displayName": "Support"},
                                               kind="scim"),
    ("PATCH", "/scim/v2/Groups/{group_id}"): Row("scim", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:"
                                                                      "PatchOp"], "Operations": [
        {"op": "replace", "path": "displayName", "value": "Support"}]}, kind="scim"),
    ("DELETE", "/scim/v2/Groups/{group_id}"): Row("scim", fresh="scim_group"),
    ("POST", "/scim/v2/.search"): Row("scim_any", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:"
                                                           "SearchRequest"]}, kind="scim"),
    ("GET", "/scim/v2/{rest}"): Row("no_endpoint", params={"rest": "Nothing"}),
    ("POST", "/scim/v2/{rest}"): Row("no_endpoint", params={"rest": "Nothing"}),
    ("PUT", "/scim/v2/{rest}"): Row("no_endpoint", params={"rest": "Nothing"}),
    ("PATCH", "/scim/v2/{rest}"): Row("no_endpoint", params={"rest": "Nothing"}),
    ("DELETE", "/scim/v2/{rest}"): Row("no_endpoint", params={"rest": "Nothing"}),
}


def _app_routes(app: Any) -> set[tuple[str, str]]:
    return {(method, context.path_format) for context in iter_route_contexts(app.routes)
            if isinstance(context.original_route, APIRoute) for method in (context.methods or ()) if method != "HEAD"}


def test_every_route_is_classified(make_client: Any, sqlite_url: str) -> None:
    """A new endpoint fails here until ROUTES says who may call it; a removed one until its row goes."""
    routes = _app_routes(make_client(sqlite_url).app)
    assert len(routes) > 150
    missing, gone = routes - set(ROUTES), set(ROUTES) - routes
    assert not missing and not gone, f"classify in ROUTES: {sorted(missing)}; gone from the app: {sorted(gone)}"
    assert {row.rule for row in ROUTES.values()} <= set(RULES)
    for (method, path), row in ROUTES.items():
        if row.fresh is not None:
            assert row.fresh in FRESH, (method, path, row.fresh)


# ---- the world: organisations A and B, their people and A's resources ------------------------------------------


@dataclass
class World:
    people: dict[str, Any]
    ids: dict[str, str]
    tokens: dict[str, str]  # SCIM bearer tokens of A and B
    make_client: Callable[..., Any]
    db_url: str
    counter: list[int] = field(default_factory=lambda: [0])

    def make_account(self, email: str) -> Any:
        """A new learner account, signed in in a client of its own."""
        return _account(self.make_client, self.db_url, email)

    def unique(self) -> str:
        self.counter[0] += 1
        return f"m{self.counter[0]}-{uuid.uuid4().hex[:6]}"


def _ok(response: Any, *statuses: int) -> Any:
    assert response.status_code in (statuses or (200, 201)), (response.request.url, response.status_code,
                                                              response.text)
    return response.json() if response.content and "json" in response.headers.get("content-type", "") else None


def _scim_request(client: Any, token: str | None, method: str, path: str, body: Any = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if body is not None:
        headers["Content-Type"] = "application/scim+json"
    return client.request(method, path, headers=headers, content=json.dumps(body) if body is not None else None)


@pytest.fixture
def world(make_client: Any, db_url: str, provider: str,  # noqa: F811 - the fixture
          monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    # Argon2 at its production cost makes each of the ~150 sign-ups, sign-ins and password checks here cost
    # up to a second on a busy machine; a cheap one keeps the code path (hash, verify, rehash check) the same.
    monkeypatch.setattr(security, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    # One app for every caller (each its own browser: cookies), rather than an app each.
    app = make_client(db_url).app
    browsers: list[ApiClient] = []

    def browser(_url: str = db_url) -> ApiClient:
        browsers.append(ApiClient(app))
        return browsers[-1]

    try:
        yield _world(browser, db_url, provider)
    finally:
        for client in browsers:
            client.__exit__(None, None, None)


def _world(make_client: Callable[..., Any], db_url: str, issuer: str) -> World:
    made = {"root": Role.SUPER_ADMIN, "creator": Role.CONTENT_CREATOR}
    people: dict[str, Any] = {name: _account(make_client, db_url, f"{name}@example.com", role)
                              for name, role in made.items()}
    root = people["root"]
    people["anonymous"] = make_client(db_url)
    people["scim_a"] = people["scim_b"] = people["anonymous"]
    _account(make_client, db_url, "spare@example.com")  # the account the public sign-in rows use
    ids: dict[str, str] = {}
    tokens: dict[str, str] = {}
    for tag in ("a", "b"):
        org_id = ids[f"org_{tag}"] = _org(root, f"Org {tag}")
        admin = people[f"admin_{tag}"] = _account(make_client, db_url, f"admin-{tag}@example.com")
        assert _join(root, admin, db_url, org_id, f"admin-{tag}@example.com", "enterprise_admin").status_code == 200
        for who, role in (("manager", "learner"), ("learner", "learner"), ("viewer", "analytics_viewer"),
                          ("reviewer", "learner")):
            email = f"{who}-{tag}@example.com"
            client = people[f"{who}_{tag}"] = _account(make_client, db_url, email)
            assert _join(admin, client, db_url, org_id, email, role).status_code == 200
        _ok(root.put("/api/reviews/reviewers", json={"email": f"reviewer-{tag}@example.com", "reviewer": True}))
        team = _ok(admin.post(f"/api/orgs/{org_id}/teams", json={"name": f"Team {tag}"}))
        for who, role in (("manager", "manager"), ("learner", "member")):
            _ok(admin.post(f"/api/teams/{team['id']}/members", json={"email": f"{who}-{tag}@example.com",
                                                                     "role": role}), 200, 201, 204)
        ids[f"team_{tag}"] = team["id"]
        tokens[tag] = _ok(admin.post(f"/api/orgs/{org_id}/scim/tokens", json={"name": "Okta"}))["token"]
    ids["user_id"] = _me(people["learner_a"])["id"]

    w = World(people, ids, tokens, make_client, db_url)
    admin_a, learner = people["admin_a"], people["learner_a"]
    org_a = ids["org_a"]
    ids.update(org_id=org_a, team_id=ids["team_a"], course_id=COURSE, quiz_id=QUIZ, exercise_id=DOUBLE,
               lesson_id=PRINTING, domain="org-a.example.com", name="checkpoint.json", path="README.md",
               section="conceptual", position="0", index="0", issuer=issuer)
    _ok(admin_a.post(f"/api/orgs/{org_a}/domains", json={"domain": "org-a.example.com"}))
    for kind in ("assignment", "invitation", "scim_token", "lti_platform", "sso", "member", "scim_user",
                 "scim_group"):
        FRESH[kind](w)
    # The learner's own resources: a certificate (Bronze), a kept draft version, a tutor conversation, a Silver
    # attempt, a custom Gold project (approved by their organisation's reviewer) and its submission.
    earned = _earn_bronze(learner, db_url)
    assert earned["reward"]["new_certificates"], earned
    ids["credential_id"] = _ok(learner.get("/api/me/certificates"))[0]["credential_id"]
    FRESH["version"](w)
    FRESH["session"](w)
    ids["attempt_id"] = _ok(learner.post(f"/api/assessments/{COURSE}/attempts", json={"consent_camera": False}))["id"]
    project = _ok(learner.post(f"/api/projects/{COURSE}/proposal", json={
        "title": "Recipe scaler", "description": "Scales a recipe's ingredients for any number of people."}))
    ids["project_id"] = project["id"]
    _ok(people["reviewer_a"].post(f"/api/reviews/proposals/{project['id']}", json={"decision": "approve"}))
    ids["submission_id"] = _ok(submit(learner, zip_of(GOOD)))["id"]
    return w


def _fresh_invitation(w: World) -> None:
    email = f"{w.unique()}@example.com"
    _ok(w.people["admin_a"].post(f"/api/orgs/{w.ids['org_a']}/invitations", json={"email": email}))
    w.ids["invitation_id"], w.ids["invitation_token"] = _emailed(w.db_url, email)


def _fresh_version(w: World) -> str:
    learner = w.people["learner_a"]
    url = f"/api/exercises/{DOUBLE}/draft"
    current = _ok(learner.get(url))
    revision = (current.get("draft") or {}).get("revision", 0) if current else 0
    _ok(learner.put(url, json={"code": f"print('{w.unique()}')", "base_revision": revision}))
    stale = _ok(learner.put(url, json={"code": f"print('{w.unique()}')", "base_revision": 0,
                                       "edited_at": "2000-01-01T00:00:00+00:00"}))
    return str(stale["others"][0]["id"])


FRESH: dict[str, Callable[[World], None]] = {}


def _fresh(name: str, key: str) -> Callable[[Callable[[World], str]], Callable[[World], str]]:
    def register(make: Callable[[World], str]) -> Callable[[World], str]:
        def run(w: World) -> None:
            w.ids[key] = make(w)
        FRESH[name] = run
        return make
    return register


FRESH["invitation"] = _fresh_invitation
_fresh("version", "version_id")(_fresh_version)


@_fresh("assignment", "assignment_id")
def _fresh_assignment(w: World) -> str:
    return str(_ok(w.people["admin_a"].post(f"/api/orgs/{w.ids['org_a']}/assignments", json={
        "course_id": COURSE, "team_id": w.ids["team_a"], "due_at": DUE}))["id"])


@_fresh("scim_token", "token_id")
def _fresh_scim_token(w: World) -> str:
    return str(_ok(w.people["admin_a"].post(f"/api/orgs/{w.ids['org_a']}/scim/tokens",
                                            json={"name": w.unique()}))["id"])


@_fresh("lti_platform", "platform_id")
def _fresh_lti_platform(w: World) -> str:
    return str(_ok(w.people["admin_a"].post(f"/api/orgs/{w.ids['org_a']}/lti/platforms",
                                            json={**LTI_PLATFORM, "client_id": w.unique()}))["id"])


@_fresh("sso", "sso")
def _fresh_sso(w: World) -> str:
    _ok(w.people["admin_a"].put(f"/api/orgs/{w.ids['org_a']}/sso", json={
        "issuer": w.ids["issuer"], "client_id": "drona", "client_secret": "y"}))
    return "configured"


@_fresh("domain", "domain")
def _fresh_domain(w: World) -> str:
    domain = f"{w.unique()}.example.com"
    _ok(w.people["admin_a"].post(f"/api/orgs/{w.ids['org_a']}/domains", json={"domain": domain}))
    return domain


@_fresh("member", "spare_member")
def _fresh_member(w: World) -> str:
    email = f"spare-{w.unique()}@example.com"
    client = w.make_account(email)
    assert _join(w.people["admin_a"], client, w.db_url, w.ids["org_a"], email).status_code == 200
    return str(_me(client)["id"])


@_fresh("session", "session_id")
def _fresh_session(w: World) -> str:
    return str(_ok(w.people["learner_a"].post("/api/ai/hint", json={"exercise_id": DOUBLE}))["session_id"])


@_fresh("scim_user", "scim_id")
def _fresh_scim_user(w: World) -> str:
    body = {"schemas": [SCIM_USER], "userName": f"{w.unique()}@example.com", "active": True}
    return str(_ok(_scim_request(w.people["anonymous"], w.tokens["a"], "POST", "/scim/v2/Users", body))["id"])


@_fresh("scim_group", "group_id")
def _fresh_scim_group(w: World) -> str:
    body = {"schemas": [SCIM_GROUP], "displayName": w.unique()}
    return str(_ok(_scim_request(w.people["anonymous"], w.tokens["a"], "POST", "/scim/v2/Groups", body))["id"])


# ---- asking ---------------------------------------------------------------------------------------------------

EMAILS = {"root": "root@example.com", "creator": "creator@example.com",
          **{f"{who}_{tag}": f"{who}-{tag}@example.com" for who in ("learner", "reviewer", "manager", "admin", "viewer")
             for tag in ("a", "b")}}
GENERATED = {"new_email": lambda w: f"{w.unique()}@example.com", "new_org": lambda w: f"Org {w.unique()}",
             "new_name": lambda w: w.unique(), "new_domain": lambda w: f"{w.unique()}.example.com",
             "event_id": lambda w: uuid.uuid4().hex}


def _fill(value: Any, w: World) -> Any:
    if isinstance(value, str):
        return re.sub(r"\{(\w+)\}", lambda m: GENERATED[m.group(1)](w) if m.group(1) in GENERATED
                      else w.ids[m.group(1)], value)
    if isinstance(value, dict):
        return {k: _fill(v, w) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, w) for v in value]
    return value


def _ask(w: World, caller: str, method: str, path: str, row: Row) -> Any:
    client = w.people[caller]
    url = re.sub(r"\{(\w+)\}", lambda m: _fill(row.params.get(m.group(1), f"{{{m.group(1)}}}"), w), path)
    headers = {"Authorization": f"Bearer {w.tokens[caller[-1]]}"} if caller in ("scim_a", "scim_b") else {}
    kept = dict(client.cookies)  # a public sign-in or sign-up must not turn this caller into someone else
    try:
        if row.kind == "upload":
            return client.post(url, headers=headers, data={"demo_url": "https://demo.example.com/", "notes": ""},
                               files={"archive": ("project.zip", zip_of(GOOD), "application/zip")})
        if row.form is not None:
            return client.request(method, url, headers=headers, data=_fill(row.form, w),
                                  params=_fill(row.query, w) or None, follow_redirects=False)
        if row.kind == "scim":
            headers["Content-Type"] = "application/scim+json"
            return client.request(method, url, headers=headers, content=json.dumps(_fill(row.body, w)))
        body = _fill(row.body, w) if row.body is not None else None
        return client.request(method, url, headers=headers, json=body, params=_fill(row.query, w) or None,
                              follow_redirects=False)
    finally:
        if row.phase == 1 and caller in EMAILS:  # signed out by the call: sign in again
            client.cookies.clear()
            client.get("/api/auth/csrf")
            _ok(client.post("/api/auth/login", json={"email": EMAILS[caller], "password": PASSWORD}))
        else:
            client.cookies.clear()
            for name, value in kept.items():
                client.cookies.set(name, value)


def _verdict(method: str, path: str, rule: str, expected: int | None, caller: str, answer: Any) -> str | None:
    status = answer.status_code
    where = f"{method} {path} as {caller} ({rule}): {status}"
    if status >= 500:
        return f"{where}, a server error: {answer.text[:200]}"
    if expected is None:
        return f"{where}, refused though allowed: {answer.text[:200]}" if status in (401, 403) else None
    if status != expected:
        return f"{where}, expected {expected}: {answer.text[:200]}"
    if path.startswith("/api/"):
        code = answer.json()["error"]["code"]
        if code != {401: "unauthorized", 403: "forbidden", 404: "not_found"}[status]:
            return f"{where}, error code {code}"
    return None


def test_every_caller_gets_exactly_what_its_role_allows(world: World) -> None:
    """Every route × every caller: denied callers first (the resource still there), then the allowed ones
    (each with a fresh resource where the call consumes it); calls that sign out or remove come last."""
    failures: list[str] = []
    matrix: dict[str, dict[str, int]] = {}
    # What a foreign caller may never read in an answer it is allowed (its own organisation's lists, say).
    secrets = {world.ids[k] for k in ("org_a", "team_a", "user_id", "scim_id", "group_id", "attempt_id",
                                      "submission_id", "project_id", "assignment_id")}
    for (method, path), row in sorted(ROUTES.items(), key=lambda item: item[1].phase):
        rule = RULES[row.rule]
        allowed = [c for c in CALLERS if c in rule.allowed and (not row.sample or c in SAMPLE) and not row.endless]
        order = [c for c in CALLERS if c not in rule.allowed] + allowed
        for caller in order:
            if caller in rule.allowed and row.fresh is not None:
                FRESH[row.fresh](world)
            answer = _ask(world, caller, method, path, row)
            matrix.setdefault(f"{method} {path}", {})[caller] = answer.status_code
            problem = _verdict(method, path, rule.text, rule.expected(caller, row.deny), caller, answer)
            if problem is None and caller in FOREIGN and row.rule != "public" and answer.status_code < 300:
                leaked = [s for s in secrets if s in answer.text]
                problem = f"{method} {path} as {caller}: names organisation A's {leaked}" if leaked else None
            if problem:
                failures.append(problem)
        if row.body is not None and row.kind == "json":
            # A body the route does not take, from a refused caller: the sign-in check still comes first
            # (401), and a scope check that runs after the body's validation may answer 422, never 2xx.
            for caller in ("anonymous", "admin_b"):
                expected = rule.expected(caller, row.deny)
                if expected is None:
                    continue
                answer = _ask(world, caller, method, path, replace(row, body={"unexpected": [1]}))
                if answer.status_code not in ({401} if expected == 401 else {expected, 422}):
                    failures.append(f"{method} {path} as {caller} with a wrong body: {answer.status_code}, "
                                    f"expected {expected}: {answer.text[:200]}")
        if row.fresh is not None:
            FRESH[row.fresh](world)
    if os.environ.get("DRONA_AUTHZ_DUMP"):  # the answers seen, to read when classifying a route
        with open(os.environ["DRONA_AUTHZ_DUMP"], "w", encoding="utf-8") as out:
            json.dump(matrix, out, indent=1)
    assert len(matrix) == len(ROUTES)
    assert not failures, f"{len(failures)} wrong answers:\n" + "\n".join(failures)
