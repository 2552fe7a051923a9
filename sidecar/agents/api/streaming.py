"""Turning a prepared turn into reply events: the offline reply in word groups, or the model's
reply through the stream guard, falling back to the offline reply when the model fails or leaks."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import anyio.to_thread
from sqlalchemy import Engine

from sidecar.agents.api import service
from sidecar.agents.guard.guarded import StreamGuard
from sidecar.agents.policy import llm, orchestrator, prompts
from sidecar.settings import Settings

logger = logging.getLogger("drona.agents")
_PIECES = re.compile(r"\S+\s*|\s+")


def _chunks(text: str, words: int = 4) -> list[str]:
    pieces = _PIECES.findall(text)
    return ["".join(pieces[i:i + words]) for i in range(0, len(pieces), words)]


async def reply_events(*, engine: Engine, settings: Settings,
                       prepared: service.Prepared) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    if prepared.replay is not None:
        for chunk in _chunks(prepared.replay.text):
            yield "token", {"text": chunk}
        yield "done", prepared.replay.model_dump()
        return
    text, llm_used, guarded = prepared.reply.text, False, False
    calls: list[llm.ModelCall] = []  # each model tried, with latency and cost (the platform dashboard)
    if prepared.use_model:
        gate = StreamGuard(prepared.policy)
        shown = False
        try:
            messages = prompts.build_messages(prepared.turn, prepared.agent, prepared.reply.mode, prepared.reply.text)
            async for delta in llm.stream(settings, prepared.agent, messages, calls=calls):
                piece = gate.feed(delta)
                if piece:
                    shown = True
                    yield "token", {"text": piece}
                if gate.verdict is not None:
                    break
            if gate.verdict is None:
                piece = gate.finish()
                if piece:
                    shown = True
                    yield "token", {"text": piece}
            if gate.verdict is not None:
                guarded = True
                await anyio.to_thread.run_sync(lambda: service.log_leak(
                    engine=engine, user_id=prepared.turn.user_id, session_id=prepared.session_id,
                    exercise_id=prepared.turn.exercise.id if prepared.turn.exercise else None, source="llm",
                    verdict=gate.verdict))
                yield "replace", {"text": text, "reason": "The reply gave too much away, so here is a hint instead."}
            elif orchestrator.repeats(gate.released, prepared.turn):
                # Never the same reply twice in a conversation (§7.3), the model's included.
                yield "replace", {"text": text, "reason": "That would have repeated an earlier reply."}
            else:
                text, llm_used = gate.released, True
        except llm.ModelError:
            if shown:
                yield "replace", {"text": text, "reason": "The model stopped answering."}
            else:
                for chunk in _chunks(text):
                    yield "token", {"text": chunk}
        if not text.strip():
            text = prepared.reply.text
    else:
        for chunk in _chunks(text):
            yield "token", {"text": chunk}
    try:
        if calls:
            await anyio.to_thread.run_sync(lambda: service.record_model_calls(engine=engine, calls=calls))
        public = await anyio.to_thread.run_sync(lambda: service.finish(engine=engine, prepared=prepared, text=text,
                                                                       llm_used=llm_used, guarded=guarded))
    except Exception:  # noqa: BLE001 - the stream has begun: report in-band
        logger.exception("storing a tutor reply failed")
        yield "error", {"error": {"code": "internal_error", "message": "The reply could not be saved."}}
        return
    yield "done", public.model_dump()
