"""Onboarding (§4.3): role → skill check → goals → learning style → personalised path → start.

The skill check is a short diagnostic drawn from the track's quiz items (graded here, answer keys
stay in catalog.db); the path orders the track's modules and marks those whose skills the
learner already showed as optional. The assessor agent later makes the check adaptive.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from sidecar.auth.tables import User, UserProfile
from sidecar.catalog import readers
from sidecar.db.base import utcnow
from sidecar.db.engine import read_session, write_session
from sidecar.db.upsert import insert_ignore
from sidecar.errors import InvalidInput, NotFound
from sidecar.grading.service import is_correct
from sidecar.progress.tables import Enrollment
from sidecar.text import repair
from sidecar.timezones import is_zone_key

from .models import OnboardingPublic, PathModulePublic, PathPublic, SkillCheckItemPublic, SkillCheckPublic

ITEMS_PER_MODULE = 2
STEPS = ("role", "skill-check", "goals", "learning-style", "path")


def _next_step(user: User, state: dict[str, Any], onboarded: bool) -> str:
    if onboarded:
        return "done"
    if not user.learner_kind:
        return "role"
    for step in STEPS[1:]:
        if step not in state:
            return step
    return "path"


def get_state(*, user: User, profile: UserProfile) -> OnboardingPublic:
    # repair: goals stored before request bodies were checked may hold lone surrogates, which no
    # response can encode; they are shown as U+FFFD rather than failing this page for good.
    state = repair(dict(profile.onboarding or {}))
    return OnboardingPublic(step=_next_step(user, state, profile.onboarded_at is not None),
                            learner_kind=user.learner_kind, state=state)


def _update(engine: Engine, user_id: str, **changes: Any) -> OnboardingPublic:
    with write_session(engine) as session:
        user = session.get(User, user_id)
        profile = session.get(UserProfile, user_id)
        assert user is not None and profile is not None
        if "learner_kind" in changes:
            user.learner_kind = changes.pop("learner_kind")
        state = repair(dict(profile.onboarding or {}))  # (see get_state) stored repaired from now on
        state.update(changes)
        profile.onboarding = state  # a new dict, so the JSON column is marked changed
        return get_state(user=user, profile=profile)


def set_role(*, engine: Engine, user_id: str, learner_kind: str) -> OnboardingPublic:
    return _update(engine, user_id, learner_kind=learner_kind)


def _track_items(catalog_db: Path, track_id: str) -> list[dict[str, Any]]:
    per_module: dict[str, int] = {}
    picked = []
    for row in readers.quiz_items(catalog_db, track_id=track_id):
        if per_module.get(row["module_id"], 0) < ITEMS_PER_MODULE:
            per_module[row["module_id"]] = per_module.get(row["module_id"], 0) + 1
            picked.append(row)
    return picked


def _active_track(catalog_db: Path, track_id: str) -> None:
    track = readers.tracks(catalog_db).get(track_id)
    if track is None or track.status != "active":
        raise NotFound("No active track with that id.")


def skill_check(*, catalog_db: Path, track_id: str) -> SkillCheckPublic:
    _active_track(catalog_db, track_id)
    items = _track_items(catalog_db, track_id)
    return SkillCheckPublic(track_id=track_id, items=[SkillCheckItemPublic(
        id=i["id"], kind=i["kind"], prompt=i["prompt"], code=i["code"],
        choices=json.loads(i["choices"]) if i["choices"] else None, skills=json.loads(i["skills"])) for i in items])


def grade_skill_check(*, engine: Engine, catalog_db: Path, user_id: str, track_id: str,
                      answers: dict[str, Any]) -> dict[str, Any]:
    items = _track_items(catalog_db, track_id)
    if not items:
        raise NotFound("No skill check for that track.")
    by_skill: dict[str, list[bool]] = {}
    correct = 0
    for item in items:
        ok = is_correct(item, answers.get(item["id"]))
        correct += ok
        for skill in json.loads(item["skills"]):
            by_skill.setdefault(skill, []).append(ok)
    known = sorted(skill for skill, results in by_skill.items() if all(results))
    result = {"track_id": track_id, "known_skills": known, "correct": correct, "total": len(items)}
    _update(engine, user_id, **{"skill-check": result})
    return result


def skill_check_items(*, catalog_db: Path, track_id: str) -> list[dict[str, Any]]:
    """The track's diagnostic items with their answer keys (server side only: the assessor grades them)."""
    _active_track(catalog_db, track_id)
    return _track_items(catalog_db, track_id)


def record_skill_check(*, engine: Engine, user_id: str, track_id: str, known_skills: list[str], correct: int,
                       total: int) -> None:
    """Store an adaptive check's outcome the way the fixed check stores its own."""
    _update(engine, user_id, **{"skill-check": {"track_id": track_id, "known_skills": sorted(known_skills),
                                                "correct": correct, "total": total, "adaptive": True}})


def set_goals(*, engine: Engine, user_id: str, goals: list[str], minutes_per_week: int) -> OnboardingPublic:
    cleaned = [g.strip()[:200] for g in goals if g.strip()]
    if not cleaned:
        raise InvalidInput("Tell us at least one goal.")
    return _update(engine, user_id, goals={"goals": cleaned, "minutes_per_week": minutes_per_week})


def set_style(*, engine: Engine, user_id: str, learning_style: str) -> OnboardingPublic:
    return _update(engine, user_id, **{"learning-style": learning_style})


def build_path(*, catalog_db: Path, track_id: str, known_skills: set[str]) -> PathPublic:
    """The track's modules in order; a module is optional when the check tested its skills and the
    learner showed every one of them (skills the check did not ask about count as unknown)."""
    modules = readers.track_modules(catalog_db, track_id)
    if not modules:
        raise NotFound("No active track with that id.")
    tested: dict[str, set[str]] = {}
    for item in _track_items(catalog_db, track_id):
        tested.setdefault(item["module_id"], set()).update(json.loads(item["skills"]))
    path: list[PathModulePublic] = []
    start_url = None
    for module in modules:
        skills = tested.get(module.id, set())
        optional = bool(skills) and skills <= known_skills
        path.append(PathModulePublic(module_id=module.id, course_id=module.course_id, title=module.title,
                                     url=module.url, optional=optional))
        if start_url is None and not optional:
            first = next((lesson for lesson in readers.lessons(catalog_db).values() if lesson.module_id == module.id),
                         None)
            start_url = first.url if first else None
    return PathPublic(track_id=track_id, modules=path, start_url=start_url)


def complete(*, engine: Engine, catalog_db: Path, user_id: str, track_id: str, timezone: str | None) -> PathPublic:
    if timezone and not is_zone_key(timezone):
        raise InvalidInput("timezone must be an IANA time zone such as Europe/Berlin.", {"timezone": timezone[:64]})
    with write_session(engine) as session:
        user = session.get(User, user_id)
        profile = session.get(UserProfile, user_id)
        assert user is not None and profile is not None
        if not user.learner_kind:
            raise InvalidInput("Choose how you learn (student, professional or self-learner) first.")
        check = (profile.onboarding or {}).get("skill-check") or {}
        known = set(check.get("known_skills", [])) if check.get("track_id") == track_id else set()
        path = build_path(catalog_db=catalog_db, track_id=track_id, known_skills=known)
        if timezone:
            profile.timezone = timezone
        if profile.onboarded_at is None:
            profile.onboarded_at = utcnow()
        state = repair(dict(profile.onboarding or {}))
        state["path"] = {"track_id": track_id}
        profile.onboarding = state
        stored = [m.model_dump() for m in path.modules]
        if not insert_ignore(session, Enrollment, {"user_id": user_id, "track_id": track_id, "path": stored,
                                                   "enrolled_at": utcnow()}, ["user_id", "track_id"]):
            enrollment = session.get(Enrollment, (user_id, track_id))
            assert enrollment is not None
            enrollment.path = stored
    return path


def get_path(*, engine: Engine, catalog_db: Path, user_id: str, track_id: str | None) -> PathPublic:
    with read_session(engine) as session:
        query = select(Enrollment).where(Enrollment.user_id == user_id)
        if track_id:
            query = query.where(Enrollment.track_id == track_id)
        enrollment = session.scalars(query.order_by(Enrollment.enrolled_at.desc())).first()
        profile = session.get(UserProfile, user_id)
    if enrollment is None or profile is None:
        raise NotFound("No learning path yet: finish onboarding first.")
    check = (profile.onboarding or {}).get("skill-check") or {}
    known = set(check.get("known_skills", [])) if check.get("track_id") == enrollment.track_id else set()
    return build_path(catalog_db=catalog_db, track_id=enrollment.track_id, known_skills=known)
