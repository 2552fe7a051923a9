"""An organisation's settings (issue #16, §4.2): branding on its members' pages, the tutor's tone, the AI
models its learners' requests may use, and how long tutor conversations and draft versions are kept.
On SQLite and PostgreSQL; the model is LiteLLM's custom provider (tests/llm_provider.py), never a paid API."""

from __future__ import annotations

import itertools
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update

from sidecar.agents.policy import llm
from sidecar.agents.tables import AiSession
from sidecar.db.base import utcnow
from sidecar.db.engine import get_engine, read_session, write_session
from sidecar.drafts.tables import DraftVersion
from sidecar.privacy.service import purge_expired
from sidecar.settings import Settings
from tests.llm_provider import install
from tests.test_agents_api import DOUBLE, chat
from tests.test_org_admin import _join
from tests.test_org_admin import org as org  # noqa: F401 - the fixture, used by name
from tests.test_security_orgs import _account

LOGO = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJ"
        "RU5ErkJggg==")


def test_branding_and_settings_are_the_admins_and_reach_members(make_client, db_url: str, org) -> None:
    boss, org_id = org["boss"], org["org"]
    lea = _account(make_client, db_url, "lea@example.com")
    assert _join(boss, lea, db_url, org_id, "lea@example.com").status_code == 200
    changed = boss.patch(f"/api/orgs/{org_id}", json={
        "branding": {"logo": LOGO, "primary_color": "#0a7d4f"}, "ai_tone": "direct",
        "allowed_models": ["dronatest/scripted"], "retention_days": 30})
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["branding"] == {"logo": LOGO, "primary_color": "#0a7d4f", "accent_color": None}
    assert (body["ai_tone"], body["allowed_models"], body["retention_days"]) == ("direct", ["dronatest/scripted"], 30)
    assert lea.get("/api/me/organization").json() == {"id": org_id, "name": "Acme", "branding": body["branding"]}
    assert lea.patch(f"/api/orgs/{org_id}", json={"ai_tone": "encouraging"}).status_code == 403
    for bad in ({"branding": {"logo": "javascript:alert(1)"}},
                {"branding": {"logo": "data:image/svg+xml;base64,PHN2Zz4="}},
                {"branding": {"primary_color": "red; background: url(x)"}}, {"ai_tone": "sarcastic"},
                {"retention_days": 0}):
        answer = boss.patch(f"/api/orgs/{org_id}", json=bad)
        assert answer.status_code == 422, (bad, answer.text)
    assert boss.patch(f"/api/orgs/{org_id}", json={"branding": None}).json()["branding"]["logo"] is None
    outsider = make_client(db_url)
    outsider.signup("out@example.com")
    assert outsider.get("/api/me/organization").json() is None


def test_restrict_keeps_only_the_allowed_models() -> None:
    base = Settings(AI_MODEL="a/one", AI_AGENT_MODELS={"assessor": "b/two"}, AI_FALLBACK_MODELS=["c/three", "a/one"])
    assert llm.restrict(base, None) is base
    only_c = llm.restrict(base, ["c/three"])
    assert (only_c.AI_MODEL, only_c.AI_AGENT_MODELS, only_c.AI_FALLBACK_MODELS) == ("c/three", {}, ["c/three"])
    assert llm.model_for(only_c, "assessor") == "c/three"
    none = llm.restrict(base, [])
    assert llm.model_for(none, "tutor") is None and llm.describe(none)["mode"] == "offline"


def test_members_get_the_organisations_models_and_tone(make_client, db_url: str, org) -> None:
    provider = install()
    # A different question each time: the tutor never shows the same reply twice (§7.3).
    asked = itertools.count(1)
    provider.reply = lambda messages: f"Question {next(asked)}: which line decides what the function gives back?"
    boss, org_id = org["boss"], org["org"]
    lea = make_client(db_url, AI_MODEL="dronatest/scripted")
    lea.signup("lea@example.com")
    assert _join(boss, lea, db_url, org_id, "lea@example.com").status_code == 200
    loner = make_client(db_url, AI_MODEL="dronatest/scripted")
    loner.signup("loner@example.com")
    # Each question in a conversation of its own, so that the answer is about the model, not about the
    # tutor moving on to hints in a long conversation.
    def ask(client: Any, question: str) -> dict[str, Any]:
        return chat(client, question, exercise_id=DOUBLE, session_id=None)

    assert ask(lea, "What is a function?")["llm"] is True, "no restriction yet"
    boss.patch(f"/api/orgs/{org_id}", json={"allowed_models": [], "ai_tone": "encouraging"})
    calls = len(provider.calls)
    done = ask(lea, "What does return do?")
    assert done["llm"] is False and len(provider.calls) == calls, "no model allowed: the offline policy answers"
    assert ask(loner, "What does return do?")["llm"] is True, "other learners are not affected"
    boss.patch(f"/api/orgs/{org_id}", json={"allowed_models": ["dronatest/scripted"]})
    assert ask(lea, "What is a parameter?")["llm"] is True
    assert "be encouraging and patient" in provider.calls[-1][0]["content"], "the organisation's tone"
    boss.patch(f"/api/orgs/{org_id}", json={"ai_tone": "direct"})
    assert ask(lea, "What is an argument?")["llm"] is True
    assert "be direct and efficient" in provider.calls[-1][0]["content"]


def test_retention_deletes_old_conversations_and_draft_versions_of_members_only(make_client, db_url: str,
                                                                               org) -> None:
    boss, org_id = org["boss"], org["org"]
    lea = _account(make_client, db_url, "lea@example.com")
    assert _join(boss, lea, db_url, org_id, "lea@example.com").status_code == 200
    loner = make_client(db_url)
    loner.signup("loner@example.com")
    for client in (lea, loner):
        chat(client, "What is a function?", exercise_id=DOUBLE)
    engine = get_engine(db_url)
    with write_session(engine) as session:
        session.execute(update(AiSession).values(updated_at=utcnow() - timedelta(days=40)))
        for user_id in session.scalars(select(AiSession.user_id)).all():
            session.add(DraftVersion(id=str(uuid.uuid4()), user_id=user_id, exercise_id=DOUBLE, code="x = 1",
                                     edited_at=utcnow(), kept_at=utcnow() - timedelta(days=40), reason="conflict"))
    assert purge_expired(engine=engine, now=utcnow()) == {"conversations": 0, "draft_versions": 0}, "no rule yet"
    boss.patch(f"/api/orgs/{org_id}", json={"retention_days": 30})
    assert purge_expired(engine=engine, now=utcnow()) == {"conversations": 1, "draft_versions": 1}
    with read_session(engine) as session:
        assert session.scalar(select(func.count()).select_from(AiSession)) == 1, "the loner's stays"
        assert session.scalar(select(func.count()).select_from(DraftVersion)) == 1
    assert lea.get("/api/ai/sessions").json() == []
    assert purge_expired(engine=engine, now=utcnow()) == {"conversations": 0, "draft_versions": 0}


def test_a_members_certificate_wears_the_organisations_branding_in_the_company_format(make_client, db_url: str,
                                                                                      org) -> None:
    from tests.test_certificates import _earn_bronze

    boss, org_id = org["boss"], org["org"]
    lea = _account(make_client, db_url, "lea@example.com")
    assert _join(boss, lea, db_url, org_id, "lea@example.com").status_code == 200
    boss.patch(f"/api/orgs/{org_id}", json={"branding": {"logo": LOGO, "primary_color": "#0a7d4f"}})
    credential_id = _earn_bronze(lea, db_url)["reward"]["new_certificates"][0]["credential_id"]
    stranger = make_client(db_url)
    verified = stranger.get(f"/api/verify/{credential_id}").json()
    assert verified["org"] == {"name": "Acme", "logo_url": LOGO, "color": "#0a7d4f"}
    printed = stranger.get(f"/certificates/{credential_id}/print?format=company").text
    assert f'src="{LOGO}"' in printed and "--accent:#0a7d4f" in printed and "Acme" in printed
    pdf = stranger.get(f"/api/certificates/{credential_id}/certificate.pdf?format=company")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and b"/Subtype /Image" in pdf.content
    plain = stranger.get(f"/api/certificates/{credential_id}/certificate.pdf").content
    assert b"/Subtype /Image" not in plain, "the logo only on the company format"
