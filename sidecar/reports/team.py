"""The team summary (§10.3, weekly, to each team's managers): each member's week and required courses,
and the team's totals, hidden (k-anonymity) for teams of fewer than k members."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from sidecar.orgs import service as orgs
from sidecar.settings import Settings

from .common import analytics_metrics, as_recipient, k_of, member_facts
from .messages import Message
from .render import Table, text_table

COLUMNS = (("name", "Name"), ("lessons", "Lessons this week"), ("required", "Required courses"),
           ("done", "Done"), ("overdue", "Overdue"), ("progress", "Mean progress %"))


def team_table(*, engine: Engine, settings: Settings, catalog_db: Path, team_id: str, org_id: str,
               start: datetime, end: datetime, now: datetime) -> Table:
    rows: list[dict[str, object]] = []
    for user_id, _email, name, _role in orgs.team_roster(engine=engine, team_id=team_id):
        facts = member_facts(engine=engine, settings=settings, catalog_db=catalog_db, user_id=user_id,
                             org_id=org_id, now=now)
        required = facts.required
        rows.append({"name": name, "lessons": facts.completed_between(start, end), "required": len(required),
                     "done": sum(1 for c in required if c.state == "done"),
                     "overdue": sum(1 for c in required if c.state == "overdue"),
                     "progress": f"{sum(c.percent for c in required) / len(required):.0f}" if required else ""})
    return Table(columns=COLUMNS, rows=rows, title="Members")


def team_summary_text(*, team_name: str, table: Table, k: int, start: datetime, end: datetime,
                      metrics: list[tuple[str, str]], app_url: str) -> str:
    last_day = end - timedelta(days=1)
    lines = [f"Team summary for {team_name}, {start:%d %b} to {last_day:%d %b %Y}", ""]
    if len(table.rows) >= k:
        required = sum(int(str(r["required"])) for r in table.rows)
        done = sum(int(str(r["done"])) for r in table.rows)
        lines += [f"Lessons completed by the team this week: {sum(int(str(r['lessons'])) for r in table.rows)}",
                  f"Required courses done: {done} of {required}",
                  f"Overdue: {sum(int(str(r['overdue'])) for r in table.rows)}"]
        lines += [f"{label}: {value}" for label, value in metrics]
    else:
        lines.append(f"Team totals are shown for teams of {k} or more members.")
    lines += ["", text_table(table), "", f"Open the team dashboard: {app_url.rstrip('/')}/analytics/team/", ""]
    return "\n".join(lines)


def team_summaries(*, engine: Engine, settings: Settings, catalog_db: Path, start: datetime, end: datetime,
                   now: datetime) -> Iterator[Message]:
    """One message per team and manager, for every team of every organisation that has a manager."""
    k = k_of(settings)
    for org_id in orgs.org_ids(engine=engine):
        for team_id, team_name in sorted(orgs.teams_of_org(engine=engine, org_id=org_id).items()):
            roster = orgs.team_roster(engine=engine, team_id=team_id)
            managers = [(user_id, email) for user_id, email, _name, role in roster if role == "manager"]
            if not managers:
                continue
            table = team_table(engine=engine, settings=settings, catalog_db=catalog_db, team_id=team_id,
                               org_id=org_id, start=start, end=end, now=now)
            for user_id, email in managers:
                metrics = analytics_metrics(
                    "team_dashboard", engine=engine, settings=settings, catalog_db=catalog_db, team_id=team_id,
                    now=now, actor=as_recipient(engine=engine, user_id=user_id)) if len(table.rows) >= k else []
                body = team_summary_text(team_name=team_name, table=table, k=k, start=start, end=end,
                                         metrics=metrics, app_url=settings.APP_URL)
                yield Message(target=f"{team_id}:{user_id}", to=email, subject=f"Team summary: {team_name}",
                              body=body)
