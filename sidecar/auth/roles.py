"""Roles of the design's §4.1 hierarchy and the learner kinds of §4.2."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    SUPER_ADMIN = "super_admin"
    ENTERPRISE_ADMIN = "enterprise_admin"
    CONTENT_CREATOR = "content_creator"
    ANALYTICS_VIEWER = "analytics_viewer"
    TEAM_MANAGER = "team_manager"
    # Reviews Gold projects and approves custom project proposals (§9.3); scope in sidecar/projects.
    REVIEWER = "reviewer"
    LEARNER = "learner"


class LearnerKind(StrEnum):
    STUDENT = "student"
    PROFESSIONAL = "professional"
    SELF_LEARNER = "self_learner"


# Who may act for whom: a role also holds the powers of the roles listed under it.
IMPLIED: dict[Role, set[Role]] = {
    Role.SUPER_ADMIN: set(Role),
    # An organisation's admin also reads its dashboards and sees its draft courses.
    Role.ENTERPRISE_ADMIN: {Role.ENTERPRISE_ADMIN, Role.TEAM_MANAGER, Role.ANALYTICS_VIEWER, Role.CONTENT_CREATOR,
                            Role.LEARNER},
    Role.TEAM_MANAGER: {Role.TEAM_MANAGER, Role.LEARNER},
    Role.CONTENT_CREATOR: {Role.CONTENT_CREATOR, Role.LEARNER},
    Role.ANALYTICS_VIEWER: {Role.ANALYTICS_VIEWER, Role.LEARNER},
    Role.REVIEWER: {Role.REVIEWER, Role.LEARNER},
    Role.LEARNER: {Role.LEARNER},
}


def has_role(actual: str, wanted: Role) -> bool:
    try:
        return wanted in IMPLIED[Role(actual)]
    except ValueError:
        return False
