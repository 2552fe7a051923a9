"""The weekly digest (§10.3): each learner's week by email: lessons completed, their courses, what is due,
certificates earned. For the learners who were active that week or have an unfinished required course,
unless they turned it off in Profile and settings (each email says where)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from sidecar.auth import service as auth
from sidecar.orgs import service as orgs
from sidecar.progress import service as progress
from sidecar.settings import Settings

from .common import MemberFacts, fmt_date, member_facts
from .messages import Message

DIGEST_SETTING = "Email me my week each Monday"  # the checkbox's label in site/src/account/settings.js
STATE_TEXT = {"overdue": "overdue", "due_soon": "due soon", "open": "open"}


def digest_text(*, name: str, facts: MemberFacts, start: datetime, end: datetime, app_url: str) -> str:
    last_day = end - timedelta(days=1)
    lines = [f"Hello {name},", "", f"Your week, {start:%d %b} to {last_day:%d %b %Y}:", "",
             f"- Lessons completed: {facts.completed_between(start, end)}"]
    earned = facts.certificates_between(start, end)
    for cert in earned:
        lines.append(f"- Certificate earned: {cert.tier_title}, {cert.course_title}")
    due = [c for c in facts.required if c.state in STATE_TEXT]
    if due:
        lines += ["", "Required courses:"]
        lines += [f"- {c.course_title}: {c.percent:g}% done, due {fmt_date(c.due_at)} ({STATE_TEXT[c.state or '']})"
                  for c in due]
    started = [c for c in facts.courses if c.state is None and c.percent < 100]
    if started:
        lines += ["", "Your courses:"]
        lines += [f"- {c.course_title}: {c.percent:g}% ({c.completed_lessons} of {c.total_lessons} lessons)"
                  for c in started]
    lines += ["", f"Continue at {app_url.rstrip('/')}/dashboard/", "",
              f"You get this email each Monday. To stop it, untick \"{DIGEST_SETTING}\" in Profile and settings: "
              f"{app_url.rstrip('/')}/account/settings/", ""]
    return "\n".join(lines)


def weekly_digests(*, engine: Engine, settings: Settings, catalog_db: Path, start: datetime, end: datetime,
                   now: datetime) -> Iterator[Message]:
    """One message per learner active in [start, end) or with an unfinished required course."""
    readers = progress.active_between(engine=engine, start=start, end=end)
    members: dict[str, str] = {}
    for org_id in orgs.org_ids(engine=engine):
        for user_id, _email, _name, _role in orgs.org_roster(engine=engine, org_id=org_id):
            members[user_id] = org_id
    wanted = readers | set(members)
    for user_id in sorted(wanted - auth.digest_opted_out(engine=engine, user_ids=wanted)):
        person = auth.account(engine=engine, user_id=user_id)
        if not person.is_active:
            continue
        facts = member_facts(engine=engine, settings=settings, catalog_db=catalog_db, user_id=user_id,
                             org_id=members.get(user_id),
                             now=now)
        unfinished = any(c.state in STATE_TEXT for c in facts.required)
        if user_id not in readers and not unfinished:
            continue
        yield Message(target=user_id, to=person.email, subject=f"Your week in learning: {start:%d %b %Y}",
                      body=digest_text(name=person.display_name, facts=facts, start=start, end=end,
                                       app_url=settings.APP_URL))
