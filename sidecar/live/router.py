"""`GET /api/me/events`: the signed-in learner's live updates as Server-Sent Events.

The stream starts with `ready` once it is subscribed, then carries `xp` and `achievement` events
(sidecar/live/events.py; `id:` is the event's unique id), and a comment every HEARTBEAT_S so that
proxies keep it open. Every RECHECK_S it checks that the session is still valid: a session signed
out (or an account deactivated) elsewhere gets `signed_out` and the stream ends. At most
MAX_STREAMS_PER_USER streams per learner at once, across processes with Redis (more: 429). When the
server shuts down, every stream ends at once (bus.close_streams_on_signals), so the graceful
shutdown never waits on them.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import anyio.to_thread
from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from sidecar.auth import service as auth_service
from sidecar.auth.deps import CurrentPrincipal
from sidecar.deps import EngineDep, SettingsDep
from sidecar.errors import ErrorResponse, RateLimited, Unavailable

from . import bus
from .events import LiveEvent

HEARTBEAT_S = 15.0
RECHECK_S = 60.0
MAX_STREAMS_PER_USER = 5
RETRY_MS = 5000  # the browser's EventSource waits this long before reconnecting by itself

router = APIRouter(tags=["live"])


def _sse(event: str, data: dict[str, object], event_id: str | None = None) -> str:
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


def frame(event: LiveEvent) -> str:
    """An event as one SSE frame: its id, its type, its data with the id inside too."""
    return _sse(event.type, {"id": event.id, **event.data}, event.id)


@router.get(
    "/me/events", summary="Live updates for the signed-in learner (Server-Sent Events)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}},
                     "description": "`ready`, then `xp` and `achievement` events as they happen in any tab, device or "
                                    "sidecar process, a comment every 15 s, `signed_out` when the session ends."},
               429: {"model": ErrorResponse,
                     "description": f"More than {MAX_STREAMS_PER_USER} streams of this learner are open."}})
async def events(principal: CurrentPrincipal, engine: EngineDep, settings: SettingsDep) -> StreamingResponse:
    user_id, token = principal.user.id, principal.token
    live = bus.current()
    subscription = bus.Subscription(user_id, asyncio.get_running_loop())
    try:
        claimed = await live.claim(user_id, subscription.id, MAX_STREAMS_PER_USER)
    except Exception as exc:  # noqa: BLE001 - Redis unreachable: the tab backs off and retries
        raise Unavailable("Live updates are unavailable right now; try again shortly.") from exc
    if not claimed:
        raise RateLimited(f"At most {MAX_STREAMS_PER_USER} live update streams per learner are open at once; "
                          "close a tab first.", int(HEARTBEAT_S))

    def signed_in() -> bool:
        return auth_service.user_for_token(engine=engine, settings=settings, token=token) is not None

    async def body() -> AsyncIterator[str]:
        live.fanout.add(subscription)  # here, so that a response never sent leaves nothing behind
        try:
            yield f"retry: {RETRY_MS}\n" + _sse("ready", {"stream": subscription.id})
            checked = time.monotonic()
            while True:
                try:
                    event = await subscription.get(HEARTBEAT_S)
                except TimeoutError:
                    if time.monotonic() - checked >= RECHECK_S:
                        checked = time.monotonic()
                        if not await anyio.to_thread.run_sync(signed_in):
                            yield _sse("signed_out", {})
                            return
                    await live.renew(user_id, subscription.id)
                    yield ": keep-alive\n\n"
                    continue
                if event is None:  # the server is stopping, or the stream fell behind: the tab reconnects
                    return
                yield frame(event)
        finally:
            live.fanout.remove(subscription)
            subscription.closed = True
            release = asyncio.ensure_future(live.release(user_id, subscription.id))
            release.add_done_callback(_ignore)

    return StreamingResponse(body(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def _ignore(task: asyncio.Future[None]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved: a failed release lapses after STREAM_TTL_S anyway
