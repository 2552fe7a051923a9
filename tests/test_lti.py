"""LTI 1.3 (issue #16): launches from a real platform implementation (lti1p3platform) on 127.0.0.1.

The platform signs id_tokens with its own key, serves its JWKS, its OAuth 2 token endpoint and an AGS score
endpoint over HTTP from a thread; the tool is the app (TestClient), whose JWKS the platform reads. Grade
passback is driven mostly by a reading lesson's completion through progress (the same completion path and
hook every completion takes), and once through the real grading path: a passing exercise submission graded
in the sandbox. tests/e2e/test_lti.py runs the launch and deep linking in Chromium.
"""

from __future__ import annotations

import base64
import html
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.registration import Registration as PlatformRegistration
from sqlalchemy import func, select

from sidecar.auth.roles import Role
from sidecar.auth.tables import User
from sidecar.catalog.service import get_index
from sidecar.db.base import utcnow
from sidecar.db.engine import get_engine, read_session, write_session
from sidecar.lti import passback
from sidecar.lti.tables import LtiAccount, LtiPlatform, LtiScoreOutbox, LtiState, LtiToolKey
from tests.test_org_admin import _join
from tests.test_security_orgs import _account, _org

ISSUER = "https://lms.example.test"
CLIENT_ID = "drona-tool"
DEPLOYMENT = "deployment-1"
READING = "00000000-0000-4000-8000-000000000031"  # second-steps/reading-code: completes on reading
OTHER_LESSON = "00000000-0000-4000-8000-000000000013"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
TOOL = "https://testserver"


def _pem_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


class _Conf(LTI1P3PlatformConfAbstract):
    def init_platform_config(self, **kwargs: Any) -> None:
        self.reg: PlatformRegistration = kwargs["registration"]
        self._registration = self.reg

    def get_registration_by_params(self, **kwargs: Any) -> PlatformRegistration:
        return self.reg


class _Launch(LTIAdvantageMessageLaunchAbstract):
    def render_launch_form(self, launch_data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return launch_data  # what the auto-submitting form would post: id_token, state, launch_url


class _Req:
    """lti1p3platform's request: the tool's authorisation request arrives as query parameters."""

    def __init__(self, query: dict[str, str]) -> None:
        self.get_data = query
        self.form_data: dict[str, str] = {}


class Platform:
    """A small LMS: keys, registration and an HTTP server for JWKS, tokens and scores."""

    def __init__(self, *, issuer: str = ISSUER, deployment: str = DEPLOYMENT, tool: str = TOOL,
                 host: str = "127.0.0.1") -> None:
        self.private, self.public = _pem_pair()
        self.scores: list[dict[str, Any]] = []
        self.next_launch: dict[str, Any] = {}  # how /auth answers a browser (the e2e tests)
        self.deep_link_jwts: list[str] = []
        self.tokens_issued = 0
        self.fail_scores = 0  # answer this many score posts with 500 first
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, code: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _html(self, code: int, text: str) -> None:
                data = text.encode()
                self.send_response(code)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path == "/jwks":
                    self._send(200, {"keys": platform.reg.get_jwks()})
                elif self.path.startswith("/auth?"):  # the platform's authorisation endpoint, for a browser
                    query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                    form = platform.launch(query, **platform.next_launch)
                    self._html(200, f'<!doctype html><html lang="en"><title>LMS</title><body>'
                                    f'<form id="f" method="post" action="{html.escape(form["launch_url"])}">'
                                    f'<input type="hidden" name="id_token" value="{form["id_token"]}">'
                                    f'<input type="hidden" name="state" value="{html.escape(form["state"])}">'
                                    f'</form><script>document.getElementById("f").submit()</script></body></html>')
                else:
                    self._send(404, {})

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                if self.path == "/deep-link-return":
                    platform.deep_link_jwts.append(parse_qs(body)["JWT"][0])
                    self._html(200, '<!doctype html><html lang="en"><title>LMS</title><body><main>'
                                    '<h1>Lessons added</h1></main></body></html>')
                elif self.path == "/token":
                    form = {k: v[0] for k, v in parse_qs(body).items()}
                    try:
                        answer = platform.conf().get_access_token(form)
                    except Exception as exc:  # noqa: BLE001 - a refused assertion is a 400, as a real LMS says
                        self._send(400, {"error": "invalid_client", "detail": str(exc)})
                        return
                    platform.tokens_issued += 1
                    self._send(200, answer)
                elif self.path.startswith("/lineitems/") and self.path.endswith("/scores"):
                    token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                    scope = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
                    try:
                        valid = platform.conf().validate_token(token, allowed_scopes=[scope])
                    except Exception:  # noqa: BLE001 - a token this platform did not sign
                        valid = False
                    if not valid:
                        self._send(401, {})
                        return
                    if platform.fail_scores > 0:
                        platform.fail_scores -= 1
                        self._send(500, {"error": "try later"})
                        return
                    platform.scores.append({"path": self.path, "type": self.headers.get("Content-Type"),
                                            **json.loads(body)})
                    self._send(200, {})
                else:
                    self._send(404, {})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://{host}:{self.server.server_address[1]}"
        self.reg = (PlatformRegistration().set_iss(issuer).set_client_id(CLIENT_ID).set_deployment_id(deployment)
                    .set_oidc_login_url(tool + "/api/lti/login").set_launch_url(tool + "/api/lti/launch")
                    .set_deeplink_launch_url(tool + "/api/lti/launch")
                    .set_platform_private_key(self.private).set_platform_public_key(self.public))
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def conf(self) -> _Conf:
        return _Conf(registration=self.reg)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def registration_body(self, **changes: Any) -> dict[str, Any]:
        return {"name": "Test LMS", "issuer": self.reg.get_iss(), "client_id": CLIENT_ID,
                "deployment_ids": [DEPLOYMENT], "auth_login_url": self.url + "/auth",
                "auth_token_url": self.url + "/token", "key_set_url": self.url + "/jwks", **changes}

    def launch(self, authorisation: dict[str, str], *, sub: str = "lms-user-1", email: str | None = "lea@example.com",
               roles: tuple[str, ...] = (LEARNER,), lesson_id: str | None = READING, deep_link: bool = False,
               ags: bool = True, expires_in: int = 300) -> dict[str, Any]:
        """The platform's answer to the tool's authorisation request: the signed id_token and the state."""
        message = _Launch(_Req(authorisation), self.conf())  # type: ignore[arg-type]
        message.set_user_data(sub, list(roles), full_name="Lea Learner", email_address=email)
        message.set_id_token_expiration(expires_in)
        if deep_link:
            message.set_dl(deep_link_return_url=self.url + "/deep-link-return", title="Pick",
                           accept_types={"ltiResourceLink"})
        else:
            message.set_resource_link_claim("link-1", title="A lesson")
            if lesson_id:
                message.set_custom_parameters_claim({"lesson_id": lesson_id})
            if ags:
                message.set_ags(lineitems_url=self.url + "/lineitems", lineitem_url=self.url + "/lineitems/7")
        return dict(message.lti_launch())


@pytest.fixture
def platform() -> Iterator[Platform]:
    found = Platform()
    yield found
    found.close()


@pytest.fixture
def lms(make_client: Any, db_url: str, platform: Platform) -> dict[str, Any]:
    """An organisation, its admin, and the platform registered by that admin."""
    root = _account(make_client, db_url, "root@example.com", Role.SUPER_ADMIN)
    org_id = _org(root, "Acme")
    admin = _account(make_client, db_url, "admin@example.com")
    assert _join(root, admin, db_url, org_id, "admin@example.com", "enterprise_admin").status_code == 200
    registered = admin.post(f"/api/orgs/{org_id}/lti/platforms", json=platform.registration_body())
    assert registered.status_code == 201, registered.text
    tool_jwks = admin.get("/api/lti/jwks").json()
    platform.reg.set_tool_key_set(tool_jwks)  # what the LMS admin pastes (or fetches) from the tool
    return {"root": root, "admin": admin, "org_id": org_id, "platform": registered.json(), "db_url": db_url}


def _browser(make_client: Any, db_url: str) -> Any:
    client = make_client(db_url)
    # The state cookie is Secure (SameSite=None); the jar sends it only to an https origin.
    client.base_url = client.base_url.copy_with(scheme="https")
    return client


def _login(browser: Any, *, iss: str = ISSUER, message_hint: str = "resource") -> Any:
    return browser.get("/api/lti/login", params={"iss": iss, "login_hint": "lms-user-1", "client_id": CLIENT_ID,
                                                 "target_link_uri": TOOL + "/api/lti/launch",
                                                 "lti_message_hint": message_hint, "lti_deployment_id": DEPLOYMENT},
                       follow_redirects=False)


def _authorise(browser: Any, platform: Platform, **launch: Any) -> dict[str, Any]:
    started = _login(browser)
    assert started.status_code == 302, started.text
    target = urlsplit(started.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == platform.url + "/auth"
    query = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert query["redirect_uri"] == "http://127.0.0.1:8000/api/lti/launch"  # APP_URL's launch URL
    assert query["response_mode"] == "form_post" and query["nonce"] and query["state"]
    return platform.launch(query, **launch)


def _post_launch(browser: Any, form: dict[str, Any]) -> Any:
    return browser.post("/api/lti/launch", data={"id_token": form["id_token"], "state": form["state"]},
                        headers={"Origin": "https://lms.example.test"}, follow_redirects=False)


def test_a_resource_link_launch_signs_the_learner_in_and_opens_the_lesson(make_client: Any, lms: dict[str, Any],
                                                                          platform: Platform) -> None:
    browser = _browser(make_client, lms["db_url"])
    answer = _post_launch(browser, _authorise(browser, platform))
    assert answer.status_code == 303, answer.text
    lesson = get_index(catalog_db=browser.app.state.settings.catalog_db).lessons[READING]
    assert answer.headers["location"] == "/" + lesson.url and lesson.url.rstrip("/").endswith("reading-code")
    me = browser.get("/api/me")
    assert me.status_code == 200
    assert me.json()["email"] == "lea@example.com" and me.json()["organization_id"] == lms["org_id"]
    assert me.json()["display_name"] == "Lea Learner"
    # The same platform user, again (a new login): the same account, no second one.
    again = _browser(make_client, lms["db_url"])
    assert _post_launch(again, _authorise(again, platform, email="changed@example.com")).status_code == 303
    assert again.get("/api/me").json()["id"] == me.json()["id"]
    with read_session(get_engine(lms["db_url"])) as session:
        assert session.scalar(select(func.count()).select_from(LtiAccount)) == 1
    # The organisation's admin sees the new member; the join is in the audit log.
    members = {m["email"] for m in lms["admin"].get(f"/api/orgs/{lms['org_id']}/members").json()}
    assert "lea@example.com" in members


def test_the_admin_sees_the_tool_urls_and_the_private_key_stays_on_the_server(lms: dict[str, Any]) -> None:
    tool = lms["platform"]["tool"]
    assert tool == {"login_url": "http://127.0.0.1:8000/api/lti/login",
                    "launch_url": "http://127.0.0.1:8000/api/lti/launch",
                    "deep_linking_url": "http://127.0.0.1:8000/api/lti/launch",
                    "jwks_url": "http://127.0.0.1:8000/api/lti/jwks"}
    keys = lms["admin"].get("/api/lti/jwks").json()["keys"]
    assert len(keys) == 1 and keys[0]["kty"] == "RSA" and keys[0]["kid"] and keys[0]["alg"] == "RS256"
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(keys[0])  # public parts only
    with read_session(get_engine(lms["db_url"])) as session:
        row = session.get(LtiToolKey, "tool")
        assert row is not None and b"ENCRYPTED PRIVATE KEY" in bytes(row.private_pem)
    audit = lms["admin"].get(f"/api/orgs/{lms['org_id']}/audit").json()
    assert any(e["action"] == "lti.platform.register" for e in audit)


def test_deep_linking_returns_signed_links_to_the_picked_lessons(make_client: Any, lms: dict[str, Any],
                                                                 platform: Platform) -> None:
    browser = _browser(make_client, lms["db_url"])
    page = _post_launch(browser, _authorise(browser, platform, deep_link=True, roles=(INSTRUCTOR,)))
    assert page.status_code == 200, page.text
    assert 'lang="en"' in page.text and "<label>" in page.text and "<legend>" in page.text
    launch_id = re.search(r'name="launch_id" value="([^"]+)"', page.text)
    assert launch_id is not None and READING in page.text
    # The picker's form is posted from the tool's own page inside the LMS: no session, no CSRF token.
    answer = browser.post("/api/lti/deep-link", data={"launch_id": launch_id.group(1),
                                                      "lesson_id": [READING, OTHER_LESSON]})
    assert answer.status_code == 200, answer.text
    action = re.search(r'action="([^"]+)"', answer.text)
    token = re.search(r'name="JWT" value="([^"]+)"', answer.text)
    assert action is not None and token is not None
    assert action.group(1) == platform.url + "/deep-link-return"
    items = platform.conf().validate_deeplinking_resp({"JWT": token.group(1)})  # verified with the tool's JWKS
    assert [i["custom"]["lesson_id"] for i in items] == [READING, OTHER_LESSON]
    assert all(i["type"] == "ltiResourceLink" and i["lineItem"]["scoreMaximum"] == 100 for i in items)
    assert items[0]["lineItem"]["resourceId"] == READING and items[0]["url"].endswith("/api/lti/launch")
    # One answer per launch: the launch id is spent.
    again = browser.post("/api/lti/deep-link", data={"launch_id": launch_id.group(1), "lesson_id": [READING]})
    assert again.status_code == 403


def test_a_learner_cannot_open_the_lesson_picker(make_client: Any, lms: dict[str, Any], platform: Platform) -> None:
    browser = _browser(make_client, lms["db_url"])
    answer = _post_launch(browser, _authorise(browser, platform, deep_link=True, roles=(LEARNER,)))
    assert answer.status_code == 403
    assert browser.post("/api/lti/deep-link", data={"launch_id": "lti1p3-launch-" + str(uuid.uuid4()),
                                                    "lesson_id": [READING]}).status_code == 403


def _wait_for(predicate: Any, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_completing_the_lesson_posts_the_score_once(make_client: Any, lms: dict[str, Any],
                                                   platform: Platform) -> None:
    browser = _browser(make_client, lms["db_url"])
    me_before = _post_launch(browser, _authorise(browser, platform, sub="lms-user-9"))
    assert me_before.status_code == 303
    assert platform.scores == []  # launched, not completed: nothing to report
    done = browser.post("/api/progress/events", json={"event_id": str(uuid.uuid4()), "lesson_id": READING,
                                                      "kind": "completed"})
    assert done.status_code in (200, 201), done.text
    # Sent after commit by the app's sender thread, without the learner's request waiting for it.
    assert _wait_for(lambda: len(platform.scores) == 1), platform.scores
    score = platform.scores[0]
    assert score["path"] == "/lineitems/7/scores" and score["type"] == "application/vnd.ims.lis.v1.score+json"
    assert score["userId"] == "lms-user-9" and score["scoreGiven"] == 100 and score["scoreMaximum"] == 100
    assert score["activityProgress"] == "Completed" and score["gradingProgress"] == "FullyGraded"
    assert score["timestamp"]
    # The same completion again (another event, a relaunch): never a second score.
    browser.post("/api/progress/events", json={"event_id": str(uuid.uuid4()), "lesson_id": READING,
                                               "kind": "completed"})
    _post_launch(browser, _authorise(browser, platform, sub="lms-user-9"))
    engine = get_engine(lms["db_url"])
    settings = browser.app.state.settings
    assert passback.deliver_due(engine=engine, settings=settings) == 0
    time.sleep(0.5)
    assert len(platform.scores) == 1
    with read_session(engine) as session:
        row = session.scalars(select(LtiScoreOutbox)).one()
        assert row.sent_at is not None and row.attempts == 1


def test_a_failed_post_is_retried_later(make_client: Any, lms: dict[str, Any], platform: Platform) -> None:
    engine = get_engine(lms["db_url"])
    browser = _browser(make_client, lms["db_url"])
    platform.fail_scores = 1
    assert _post_launch(browser, _authorise(browser, platform, sub="lms-user-3")).status_code == 303
    browser.post("/api/progress/events", json={"event_id": str(uuid.uuid4()), "lesson_id": READING,
                                               "kind": "completed"})

    def attempted() -> bool:
        with read_session(engine) as session:
            row = session.scalars(select(LtiScoreOutbox)).first()
            return row is not None and row.attempts >= 1 and row.claimed_until is None

    assert _wait_for(attempted)
    with read_session(engine) as session:
        row = session.scalars(select(LtiScoreOutbox)).one()
        assert row.sent_at is None and "LtiServiceException" in (row.last_error or "")
        assert row.next_attempt_at > row.created_at  # backed off
    assert platform.scores == []
    # Due again (time passes): the next round sends it.
    with get_engine(lms["db_url"]).begin() as conn:
        conn.execute(LtiScoreOutbox.__table__.update().values(next_attempt_at=row.created_at))
    assert _wait_for(lambda: passback.deliver_due(engine=engine, settings=browser.app.state.settings) >= 0
                     and len(platform.scores) == 1)
    assert platform.scores[0]["userId"] == "lms-user-3"


def test_a_launch_after_completing_reports_the_grade(make_client: Any, lms: dict[str, Any],
                                                     platform: Platform) -> None:
    browser = _browser(make_client, lms["db_url"])
    # First launch without grades (an ungraded link), complete, then a graded link's launch.
    assert _post_launch(browser, _authorise(browser, platform, ags=False)).status_code == 303
    browser.post("/api/progress/events", json={"event_id": str(uuid.uuid4()), "lesson_id": READING,
                                               "kind": "completed"})
    assert _post_launch(browser, _authorise(browser, platform)).status_code == 303
    assert _wait_for(lambda: len(platform.scores) == 1)


@pytest.mark.parametrize("tamper", ["forged", "expired", "wrong_key", "not_claims"])
def test_bad_id_tokens_are_refused(make_client: Any, lms: dict[str, Any], platform: Platform, tamper: str) -> None:
    browser = _browser(make_client, lms["db_url"])
    form = _authorise(browser, platform, expires_in=-30 if tamper == "expired" else 300)
    if tamper == "forged":
        head, body, signature = form["id_token"].split(".")
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        claims["email"] = "admin@example.com"
        body = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
        form["id_token"] = f"{head}.{body}.{signature}"
    if tamper == "not_claims":  # a well-formed JWT whose body is a list: a refusal, not a server error
        head, _, signature = form["id_token"].split(".")
        form["id_token"] = f"{head}.{base64.urlsafe_b64encode(b'[1, 2]').decode().rstrip('=')}.{signature}"
    if tamper == "wrong_key":  # signed by someone else's key under the platform's kid
        impostor = Platform()
        try:
            impostor.reg.set_platform_public_key(platform.public)  # same kid in the header
            form = impostor.launch({"nonce": "n", "state": form["state"], "redirect_uri": "x",
                                    "client_id": CLIENT_ID})
        finally:
            impostor.close()
    answer = _post_launch(browser, form)
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"]["code"] == "forbidden"
    assert browser.get("/api/me").status_code == 401


def test_a_replayed_launch_is_refused(make_client: Any, lms: dict[str, Any], platform: Platform) -> None:
    browser = _browser(make_client, lms["db_url"])
    form = _authorise(browser, platform)
    assert _post_launch(browser, form).status_code == 303
    replay = _post_launch(browser, form)
    assert replay.status_code == 403 and "nonce" in replay.json()["error"]["message"].lower()
    # Another browser (no state cookie) posting a fresh token is refused too.
    fresh = _authorise(browser, platform)
    stranger = _browser(make_client, lms["db_url"])
    assert _post_launch(stranger, fresh).status_code == 403
    assert stranger.get("/api/me").status_code == 401


def test_an_unknown_issuer_or_deployment_is_refused(make_client: Any, lms: dict[str, Any]) -> None:
    browser = _browser(make_client, lms["db_url"])
    assert _login(browser, iss="https://unknown.example.test").status_code == 403
    for other in (Platform(issuer="https://unknown.example.test"), Platform(deployment="deployment-2")):
        try:
            other.reg.set_tool_key_set(lms["admin"].get("/api/lti/jwks").json())
            started = _login(browser)  # a real login at the registered issuer: state and nonce are valid
            query = {k: v[0] for k, v in parse_qs(urlsplit(started.headers["location"]).query).items()}
            answer = _post_launch(browser, other.launch(query))
            assert answer.status_code == 403, answer.text
        finally:
            other.close()
    assert browser.get("/api/me").status_code == 401


def test_an_existing_account_elsewhere_is_not_taken_over(make_client: Any, lms: dict[str, Any],
                                                         platform: Platform) -> None:
    """A platform may not sign in as any address it names: not an outsider's account, not the admin's."""
    _account(make_client, lms["db_url"], "outsider@example.com")
    for email in ("outsider@example.com", "admin@example.com", "root@example.com"):
        browser = _browser(make_client, lms["db_url"])
        answer = _post_launch(browser, _authorise(browser, platform, sub=f"sub-{email}", email=email))
        assert answer.status_code == 409, (email, answer.text)
        assert browser.get("/api/me").status_code == 401


def test_seats_are_enforced(make_client: Any, lms: dict[str, Any], platform: Platform) -> None:
    members = len(lms["admin"].get(f"/api/orgs/{lms['org_id']}/members").json())
    assert lms["root"].patch(f"/api/orgs/{lms['org_id']}", json={"seat_limit": members}).status_code == 200
    browser = _browser(make_client, lms["db_url"])
    answer = _post_launch(browser, _authorise(browser, platform))
    assert answer.status_code == 409 and "seat" in answer.json()["error"]["message"]
    assert browser.get("/api/me").status_code == 401
    # All or nothing: no account and no link were left behind by the refusal.
    with read_session(get_engine(lms["db_url"])) as session:
        assert session.scalar(select(func.count()).select_from(User).where(User.email == "lea@example.com")) == 0
        assert session.scalar(select(func.count()).select_from(LtiAccount)) == 0


def test_a_foreign_admin_can_neither_see_nor_change_registrations(make_client: Any, lms: dict[str, Any],
                                                                  platform: Platform) -> None:
    db_url, org_id, platform_id = lms["db_url"], lms["org_id"], lms["platform"]["id"]
    other_org = _org(lms["root"], "Other")
    foreign = _account(make_client, db_url, "foreign@example.com")
    assert _join(lms["root"], foreign, db_url, other_org, "foreign@example.com", "enterprise_admin").status_code == 200
    learner = _account(make_client, db_url, "plain@example.com")
    for who in (foreign, learner):
        assert who.get(f"/api/orgs/{org_id}/lti/platforms").status_code in (403, 404)
        assert who.delete(f"/api/orgs/{org_id}/lti/platforms/{platform_id}").status_code in (403, 404)
        assert who.post(f"/api/orgs/{org_id}/lti/platforms",
                        json=platform.registration_body(client_id="theirs")).status_code in (403, 404)
    # Their own organisation's path does not reach the first organisation's platform either.
    assert foreign.delete(f"/api/orgs/{other_org}/lti/platforms/{platform_id}").status_code == 404
    assert foreign.get(f"/api/orgs/{other_org}/lti/platforms").json() == []
    listed = lms["admin"].get(f"/api/orgs/{org_id}/lti/platforms").json()
    assert [p["id"] for p in listed] == [platform_id] and listed[0]["client_id"] == CLIENT_ID
    # The same issuer and client id cannot be registered twice (launches must name one organisation).
    assert lms["root"].post(f"/api/orgs/{other_org}/lti/platforms",
                            json=platform.registration_body()).status_code == 409
    # The owner removes it: launches stop.
    assert lms["admin"].delete(f"/api/orgs/{org_id}/lti/platforms/{platform_id}").status_code == 204
    with read_session(get_engine(db_url)) as session:
        assert session.scalar(select(func.count()).select_from(LtiPlatform)) == 0
    browser = _browser(make_client, db_url)
    assert _login(browser).status_code == 403


def test_old_login_state_expires(make_client: Any, lms: dict[str, Any], platform: Platform) -> None:
    browser = _browser(make_client, lms["db_url"])
    form = _authorise(browser, platform)
    with write_session(get_engine(lms["db_url"])) as session:  # the login was long ago
        for row in session.scalars(select(LtiState)):
            row.expires_at = utcnow() - timedelta(seconds=1)
    assert _post_launch(browser, form).status_code == 403


PRINTING = "00000000-0000-4000-8000-000000000013"  # first-steps/printing: completed by its exercise
DOUBLE = "00000000-0000-4000-8000-000000000015"


def test_a_passing_graded_submission_posts_the_score(make_client: Any, lms: dict[str, Any],
                                                     platform: Platform) -> None:
    """The real grading path: the sandbox grades the submission, its pass completes the lesson, the hook queues."""
    browser = _browser(make_client, lms["db_url"])
    assert _post_launch(browser, _authorise(browser, platform, sub="lms-coder", lesson_id=PRINTING)).status_code == 303
    failing = browser.post(f"/api/exercises/{DOUBLE}/submissions",
                           json={"code": "def double(n):\n    return n\n", "submission_id": uuid.uuid4().hex})
    assert failing.status_code in (200, 201) and failing.json()["passed"] is False, failing.text
    time.sleep(0.5)
    assert platform.scores == []  # a failing submission completes nothing
    passing = browser.post(f"/api/exercises/{DOUBLE}/submissions",
                           json={"code": "def double(n):\n    return n * 2\n", "submission_id": uuid.uuid4().hex})
    assert passing.status_code in (200, 201) and passing.json()["passed"] is True, passing.text
    assert _wait_for(lambda: len(platform.scores) == 1), platform.scores
    assert platform.scores[0]["userId"] == "lms-coder" and platform.scores[0]["scoreGiven"] == 100
