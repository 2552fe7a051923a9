from __future__ import annotations

import json

from fastapi import APIRouter, Response

from sidecar.auth.deps import CurrentPrincipal
from sidecar.deps import EngineDep

from . import service

router = APIRouter(tags=["privacy"])


@router.get("/me/export", summary="Download everything stored about your account (JSON)",
            responses={200: {"content": {"application/json": {}}}})
def export_me(principal: CurrentPrincipal, engine: EngineDep) -> Response:
    """Your account and every row that belongs to it: progress, submissions and their code, XP, tutor
    conversations, drafts, reviews, certificates... Password and token hashes are left out."""
    data = service.export_account(engine=engine, user_id=principal.user.id)
    return Response(json.dumps(data, ensure_ascii=False, indent=1), media_type="application/json", headers={
        "Content-Disposition": 'attachment; filename="dronacharya-account.json"', "Cache-Control": "no-store"})
