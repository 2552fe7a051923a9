from __future__ import annotations

from fastapi import APIRouter

from sidecar.deps import CatalogDbDep

from . import service
from .models import CatalogPublic

router = APIRouter(tags=["catalog"])


@router.get("/catalog", response_model=CatalogPublic, summary="The course catalog tree")
def read_catalog(catalog_db: CatalogDbDep) -> CatalogPublic:
    """Tracks → courses → modules → lessons with ids, types, XP and the exercise and quiz ids of each lesson."""
    return service.get_catalog(catalog_db=catalog_db)
