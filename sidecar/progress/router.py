from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from sidecar.auth.deps import CurrentPrincipal
from sidecar.deps import CatalogDbDep, EngineDep, SettingsDep

from . import service
from .models import EventResultPublic, ProgressEventCreate, ProgressPublic

router = APIRouter(tags=["progress"])


@router.post("/progress/events", response_model=EventResultPublic, summary="Record a lesson started/completed event")
async def post_event(body: ProgressEventCreate, principal: CurrentPrincipal, engine: EngineDep,
                     settings: SettingsDep, catalog_db: CatalogDbDep) -> EventResultPublic:
    """Idempotent by event_id. Lessons with an exercise or quiz complete only from server-graded results."""
    # async, with the database work in one explicit thread hop: a sync endpoint costs a second hop
    # (FastAPI validates a sync endpoint's response in the thread pool too), and this is the
    # busiest endpoint, where every hop is a round of GIL hand-offs under load.
    return await run_in_threadpool(
        service.record_event, engine=engine, catalog_db=catalog_db, user_id=principal.user.id,
        event_id=body.event_id, lesson_id=body.lesson_id, kind=body.kind, occurred_at=body.occurred_at,
        gamification_enabled=settings.ENABLE_GAMIFICATION)


@router.get("/progress", response_model=ProgressPublic, summary="Lesson states, completion and where to continue")
def get_progress(principal: CurrentPrincipal, engine: EngineDep, catalog_db: CatalogDbDep) -> ProgressPublic:
    return service.get_progress(engine=engine, catalog_db=catalog_db, user_id=principal.user.id)
