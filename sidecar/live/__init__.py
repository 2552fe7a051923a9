"""Live updates for the signed-in learner: XP and achievements pushed to every open tab and device.

- `bus.py`: publish(user_id, event) / subscribe, in process for the embedded default, over Redis
  pub/sub when REDIS_URL is set (one channel per Redis database; every sidecar process fans out to
  its own streams), plus the per-learner cap on open streams (shared through Redis too).
- `events.py`: the events (`xp`, `achievement`), each with a unique id. The gamification domain
  publishes them only after the transaction that awarded the XP or unlocked the achievement commits
  (sidecar/db/engine.py's CommitHooks): a rolled-back award publishes nothing.
- `router.py`: `GET /api/me/events`, the Server-Sent Events stream the site's live.js listens on.

See docs/scale-out.md, *Several sidecar processes*.
"""

from .bus import publish
from .events import LiveEvent, achievement_event, xp_event

__all__ = ["LiveEvent", "achievement_event", "publish", "xp_event"]
