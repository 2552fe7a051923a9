from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query

from sidecar.auth.deps import CurrentPrincipal
from sidecar.deps import EngineDep, SettingsDep

from . import service
from .models import GamificationProfilePublic, LeaderboardPublic

router = APIRouter(tags=["gamification"])


@router.get("/gamification/profile", response_model=GamificationProfilePublic,
            summary="XP, level, streak and achievements")
def profile(principal: CurrentPrincipal, engine: EngineDep, settings: SettingsDep) -> GamificationProfilePublic:
    return service.get_profile(engine=engine, user_id=principal.user.id, enabled=settings.ENABLE_GAMIFICATION,
                               catalog_db=settings.catalog_db)


@router.get("/gamification/leaderboard", response_model=LeaderboardPublic, summary="Weekly or all-time leaderboard")
def get_leaderboard(
    principal: CurrentPrincipal, engine: EngineDep, settings: SettingsDep,
    scope: Literal["global", "team", "class", "cohort"] = "global",
    period: Literal["weekly", "all_time"] = "weekly",
    view: Literal["top", "neighbours"] = "top",
    team_id: str | None = Query(None, description="Which of your teams, classes or cohorts (default: all of them)."),
) -> LeaderboardPublic:
    """Global lists only learners who opted in; team, class and cohort boards need membership."""
    return service.leaderboard(engine=engine, viewer_id=principal.user.id, scope=scope, period=period, view=view,
                               team_id=team_id, enabled=settings.ENABLE_GAMIFICATION)
