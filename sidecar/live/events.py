"""The live events: what a tab needs to follow the learner's XP and show an achievement's toast."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any


def _new_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class LiveEvent:
    """One event for one learner: `type` is `xp` or `achievement`; `id` is unique (the SSE id; the
    site ignores an id it has seen)."""

    type: str
    data: dict[str, Any]
    id: str = field(default_factory=_new_id)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "data": self.data}

    @classmethod
    def from_json(cls, value: Any) -> LiveEvent | None:
        """An event read back from the wire (Redis); None when it is not one."""
        if not isinstance(value, dict):
            return None
        kind, data, event_id = value.get("type"), value.get("data"), value.get("id")
        if not isinstance(kind, str) or not isinstance(data, dict) or not isinstance(event_id, str):
            return None
        return cls(type=kind, data=data, id=event_id)


def xp_event(*, total_xp: int, delta: int, reason: str, sources: list[str], level: int, level_title: str,
             level_floor_xp: int, next_level_xp: int | None, level_progress: float,
             streak: dict[str, Any] | None = None) -> LiveEvent:
    """XP was added: the new total and level (the header shows them), the XP added and why."""
    return LiveEvent(type="xp", data={
        "total_xp": total_xp, "delta": delta, "reason": reason, "sources": sources, "level": level,
        "level_title": level_title, "level_floor_xp": level_floor_xp, "next_level_xp": next_level_xp,
        "level_progress": level_progress, "streak": streak})


def achievement_event(*, achievement_id: str, slug: str, title: str, description: str, category: str,
                      earned_at: str) -> LiveEvent:
    """An achievement was unlocked: what its toast shows (an achievement is earned once per learner, so
    its id also tells a tab that showed it from its own answer not to show it again)."""
    return LiveEvent(type="achievement", data={
        "id": achievement_id, "slug": slug, "title": title, "description": description, "category": category,
        "earned_at": earned_at})
