from __future__ import annotations

from fastapi import APIRouter, Query, Response

from sidecar.auth.deps import CurrentPrincipal
from sidecar.deps import CatalogDbDep, EngineDep

from . import service
from .models import DraftSavePublic, DraftStatePublic, DraftUpdate

router = APIRouter(tags=["drafts"])


@router.get("/exercises/{exercise_id}/draft", response_model=DraftStatePublic,
            summary="Your saved code for an exercise, kept versions and last graded code")
def get_draft(exercise_id: str, principal: CurrentPrincipal, engine: EngineDep,
              catalog_db: CatalogDbDep) -> DraftStatePublic:
    return service.get_state(engine=engine, catalog_db=catalog_db, user_id=principal.user.id, exercise_id=exercise_id)


@router.put("/exercises/{exercise_id}/draft", response_model=DraftSavePublic, summary="Save your code for an exercise")
def put_draft(exercise_id: str, body: DraftUpdate, principal: CurrentPrincipal, engine: EngineDep,
              catalog_db: CatalogDbDep) -> DraftSavePublic:
    """Send the revision the edit was based on. When the draft moved on since (another browser, an
    offline edit), the later edit by `edited_at` becomes the draft and the other is kept in `others`:
    neither is lost."""
    return service.save(engine=engine, catalog_db=catalog_db, user_id=principal.user.id, exercise_id=exercise_id,
                        code=body.code, base_revision=body.base_revision, edited_at=body.edited_at)


@router.post("/exercises/{exercise_id}/draft/versions/{version_id}/restore", response_model=DraftStatePublic,
             summary="Make a kept version your draft again")
def restore_version(exercise_id: str, version_id: str, principal: CurrentPrincipal, engine: EngineDep,
                    catalog_db: CatalogDbDep) -> DraftStatePublic:
    """The draft it replaces is kept in its place, so a restore can be undone."""
    return service.restore(engine=engine, catalog_db=catalog_db, user_id=principal.user.id,
                           exercise_id=exercise_id, version_id=version_id)


@router.delete("/exercises/{exercise_id}/draft/versions/{version_id}", status_code=204,
               summary="Forget a kept version")
def discard_version(exercise_id: str, version_id: str, principal: CurrentPrincipal, engine: EngineDep,
                    catalog_db: CatalogDbDep) -> Response:
    service.discard(engine=engine, catalog_db=catalog_db, user_id=principal.user.id, exercise_id=exercise_id,
                    version_id=version_id)
    return Response(status_code=204)


@router.get("/drafts", response_model=list[DraftStatePublic], summary="Your drafts for every exercise of a lesson")
def lesson_drafts(principal: CurrentPrincipal, engine: EngineDep, catalog_db: CatalogDbDep,
                  lesson_id: str = Query(max_length=36)) -> list[DraftStatePublic]:
    return service.lesson_states(engine=engine, catalog_db=catalog_db, user_id=principal.user.id,
                                 lesson_id=lesson_id)
