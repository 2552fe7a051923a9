"""AI endpoints (§13.2): chat (Server-Sent Events), hint, review, assess; conversations; status."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import StreamingResponse
from sqlalchemy import Engine

from sidecar.agents.api import assess as assess_service
from sidecar.agents.api import ratelimit, service, streaming
from sidecar.agents.api.models import (
    AiStatusPublic,
    AssessCreate,
    AssessPublic,
    ChatCreate,
    HintCreate,
    ReplyPublic,
    ReviewCreate,
    ReviewPublic,
    SessionDetailPublic,
    SessionPublic,
)
from sidecar.agents.memory import conversations
from sidecar.agents.policy import llm
from sidecar.auth.deps import CurrentPrincipal, Principal
from sidecar.deps import EngineDep, SettingsDep
from sidecar.orgs import service as orgs
from sidecar.settings import Settings

router = APIRouter(prefix="/ai", tags=["ai"])


def _rate_limited(principal: CurrentPrincipal, settings: SettingsDep) -> Principal:
    ratelimit.get_limiter(settings.MAX_AI_REQUESTS_PER_MINUTE, settings.REDIS_URL).hit(principal.user.id)
    return principal


LimitedPrincipal = Annotated[Principal, Depends(_rate_limited)]


# An organisation's tone (§4.2) speaks as the learner kind whose words it is.
TONE_AS_KIND = {"encouraging": "student", "balanced": "self_learner", "direct": "professional"}


def _for_learner(settings: Settings, engine: Engine, principal: Principal) -> tuple[Settings, str | None]:
    """The settings and tone of this learner's AI requests: their organisation may allow only some models
    (the rest are dropped) and set the tutor's tone for every member."""
    policy = orgs.learner_policy(engine=engine, user=principal.user)
    return llm.restrict(settings, policy.allowed_models), TONE_AS_KIND.get(policy.ai_tone or "")


# One event of the chat's stream, as OpenAPI 3.1 (without 3.2's itemSchema) and schemathesis read an
# event stream's schema: its name and its data, a JSON object.
_CHAT_EVENT: dict[str, Any] = {
    "type": "object", "required": ["event", "data"],
    "properties": {"event": {"enum": ["start", "token", "replace", "done", "error"]},
                   "data": {"type": "string", "contentMediaType": "application/json",
                            "contentSchema": {"type": "object"}}}}


def _sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


@router.post("/chat", summary="Talk with the tutor (Server-Sent Events)", response_class=StreamingResponse,
             responses={200: {"content": {"text/event-stream": {"schema": _CHAT_EVENT}},
                              "description": "`start`, then `token` events with text, possibly `replace`, then "
                                             "`done` (agent, mode, citations) or `error`."}})
async def chat(body: ChatCreate, principal: LimitedPrincipal, engine: EngineDep,
               settings: SettingsDep) -> StreamingResponse:
    """The orchestrator routes the turn to an agent. Errors found before streaming (sign-in, rate limit, unknown
    lesson) are ordinary JSON errors; later ones arrive as an `error` event."""
    if body.intent != "chat" and not body.message.strip():
        body.message = service.QUICK_ACTIONS[body.intent]  # what the learner's bubble says for a quick action
    settings, tone = await anyio.to_thread.run_sync(lambda: _for_learner(settings, engine, principal))
    prepared = await anyio.to_thread.run_sync(lambda: service.prepare(
        engine=engine, settings=settings, user=principal.user, profile=principal.profile, body=body, tone=tone))

    async def events() -> AsyncIterator[str]:
        yield _sse("start", {"session_id": prepared.session_id, "agent": prepared.agent, "mode": prepared.reply.mode,
                             "llm": prepared.use_model})
        async for event, data in streaming.reply_events(engine=engine, settings=settings, prepared=prepared):
            yield _sse(event, data)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.post("/hint", response_model=ReplyPublic, summary="The next hint, as a stored tutor turn")
async def hint(body: HintCreate, principal: LimitedPrincipal, engine: EngineDep, settings: SettingsDep) -> ReplyPublic:
    chat_body = ChatCreate(message=service.QUICK_ACTIONS["hint"], exercise_id=body.exercise_id,
                           lesson_id=body.lesson_id, session_id=body.session_id, code=body.code,
                           client_id=body.client_id, intent="hint")
    settings, tone = await anyio.to_thread.run_sync(lambda: _for_learner(settings, engine, principal))
    prepared = await anyio.to_thread.run_sync(lambda: service.prepare(
        engine=engine, settings=settings, user=principal.user, profile=principal.profile, body=chat_body, tone=tone))
    return await anyio.to_thread.run_sync(lambda: service.finish(engine=engine, prepared=prepared,
                                                                 text=prepared.reply.text, llm_used=False,
                                                                 guarded=False))


@router.post("/review", response_model=ReviewPublic, summary="Review code: correctness, efficiency, style")
def review(body: ReviewCreate, principal: LimitedPrincipal, engine: EngineDep, settings: SettingsDep) -> ReviewPublic:
    settings, _ = _for_learner(settings, engine, principal)
    return assess_service.review(engine=engine, settings=settings, user_id=principal.user.id, body=body)


@router.post("/assess", response_model=AssessPublic, summary="Adaptive questions and skill estimates")
def assess(body: AssessCreate, principal: LimitedPrincipal, engine: EngineDep, settings: SettingsDep) -> AssessPublic:
    settings, _ = _for_learner(settings, engine, principal)
    return assess_service.assess(engine=engine, settings=settings, user_id=principal.user.id, body=body)


@router.get("/status", response_model=AiStatusPublic, summary="Which tutor mode is active")
def status(settings: SettingsDep) -> AiStatusPublic:
    described = llm.describe(settings)
    return AiStatusPublic(mode=described["mode"], models=described["models"], fallbacks=described["fallbacks"],
                          requests_per_minute=settings.MAX_AI_REQUESTS_PER_MINUTE)


@router.get("/sessions", response_model=list[SessionPublic], summary="Your conversations, newest first")
def list_sessions(principal: CurrentPrincipal, engine: EngineDep,
                  lesson_id: str | None = Query(None, max_length=36)) -> list[SessionPublic]:
    return conversations.list_sessions(engine=engine, user_id=principal.user.id, lesson_id=lesson_id)


@router.get("/sessions/{session_id}", response_model=SessionDetailPublic, summary="One conversation")
def get_session(session_id: str, principal: CurrentPrincipal, engine: EngineDep) -> SessionDetailPublic:
    return conversations.get_session(engine=engine, user_id=principal.user.id, session_id=session_id)


@router.delete("/sessions/{session_id}", status_code=204, summary="Delete one conversation")
def delete_session(session_id: str, principal: CurrentPrincipal, engine: EngineDep) -> Response:
    conversations.delete_sessions(engine=engine, user_id=principal.user.id, session_id=session_id)
    return Response(status_code=204)


@router.delete("/sessions", status_code=204, summary="Delete all your conversations")
def delete_all(principal: CurrentPrincipal, engine: EngineDep) -> Response:
    conversations.delete_sessions(engine=engine, user_id=principal.user.id, session_id=None)
    return Response(status_code=204)
