from __future__ import annotations

from fastapi import APIRouter

from sidecar.deps import CatalogDbDep, DraftViewerDep

from . import service
from .models import CatalogPublic

router = APIRouter(tags=["catalog"])


@router.get("/catalog", response_model=CatalogPublic, summary="The course catalog tree")
def read_catalog(catalog_db: CatalogDbDep, draft_viewer: DraftViewerDep) -> CatalogPublic:
    """Tracks → courses → modules → lessons with ids, types, XP and the exercise and quiz ids of each lesson.

    A preview build's draft courses (status `draft`) are listed for content creators only."""
    tree = service.get_catalog(catalog_db=catalog_db)
    return tree if draft_viewer else service.without_drafts(tree)
