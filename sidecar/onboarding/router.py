from __future__ import annotations

from fastapi import APIRouter, Query

from sidecar.auth.deps import CurrentPrincipal
from sidecar.deps import CatalogDbDep, EngineDep

from . import service
from .models import (
    CompleteIn,
    GoalsIn,
    OnboardingPublic,
    PathPublic,
    RoleSelect,
    SkillCheckAnswers,
    SkillCheckPublic,
    SkillCheckResultPublic,
    StyleIn,
)

router = APIRouter(tags=["onboarding"])


@router.get("/onboarding", response_model=OnboardingPublic, summary="Where the learner is in onboarding")
def state(principal: CurrentPrincipal) -> OnboardingPublic:
    return service.get_state(user=principal.user, profile=principal.profile)


@router.post("/onboarding/role", response_model=OnboardingPublic, summary="Step 1: how you learn")
def role(body: RoleSelect, principal: CurrentPrincipal, engine: EngineDep) -> OnboardingPublic:
    return service.set_role(engine=engine, user_id=principal.user.id, learner_kind=body.learner_kind.value)


@router.get("/onboarding/skill-check", response_model=SkillCheckPublic, summary="Step 2: the diagnostic questions")
def get_skill_check(principal: CurrentPrincipal, catalog_db: CatalogDbDep,
                    track_id: str = Query(description="The track the learner wants to follow.")) -> SkillCheckPublic:
    return service.skill_check(catalog_db=catalog_db, track_id=track_id)


@router.post("/onboarding/skill-check", response_model=SkillCheckResultPublic, summary="Step 2: grade the check")
def post_skill_check(body: SkillCheckAnswers, principal: CurrentPrincipal, engine: EngineDep,
                     catalog_db: CatalogDbDep) -> SkillCheckResultPublic:
    result = service.grade_skill_check(engine=engine, catalog_db=catalog_db, user_id=principal.user.id,
                                       track_id=body.track_id, answers=body.answers)
    return SkillCheckResultPublic(known_skills=result["known_skills"], correct=result["correct"],
                                  total=result["total"])


@router.post("/onboarding/goals", response_model=OnboardingPublic, summary="Step 3: goals")
def goals(body: GoalsIn, principal: CurrentPrincipal, engine: EngineDep) -> OnboardingPublic:
    return service.set_goals(engine=engine, user_id=principal.user.id, goals=body.goals,
                             minutes_per_week=body.minutes_per_week)


@router.post("/onboarding/learning-style", response_model=OnboardingPublic, summary="Step 4: learning style")
def style(body: StyleIn, principal: CurrentPrincipal, engine: EngineDep) -> OnboardingPublic:
    return service.set_style(engine=engine, user_id=principal.user.id, learning_style=body.learning_style)


@router.post("/onboarding/complete", response_model=PathPublic, summary="Step 5: the personalised path")
def complete(body: CompleteIn, principal: CurrentPrincipal, engine: EngineDep, catalog_db: CatalogDbDep) -> PathPublic:
    return service.complete(engine=engine, catalog_db=catalog_db, user_id=principal.user.id,
                            track_id=body.track_id, timezone=body.timezone)


@router.get("/progress/path", response_model=PathPublic, summary="The learner's personalised path")
def path(principal: CurrentPrincipal, engine: EngineDep, catalog_db: CatalogDbDep,
         track_id: str | None = None) -> PathPublic:
    return service.get_path(engine=engine, catalog_db=catalog_db, user_id=principal.user.id,
                            track_id=track_id)
