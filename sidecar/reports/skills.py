"""The skill inventory (§10.3, for HR, quarterly): people × skills, each cell the estimated mastery (0..1)
from the learner model's per-skill estimates (agents.memory.state, the tutor's own), and a last row with
each skill's mean over the people who have an estimate, hidden where fewer than k do."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from sidecar.agents.memory import state as mastery
from sidecar.auth.tables import User
from sidecar.orgs import service as orgs
from sidecar.settings import Settings

from .common import check_org_admin, k_of
from .executive import org_admins
from .messages import Message
from .render import Table, csv_text

MEAN_ROW = "(organisation mean)"


def skill_table(*, engine: Engine, settings: Settings, catalog_db: Path, org_id: str) -> Table:
    estimates: list[tuple[str, str, dict[str, float]]] = []
    for user_id, email, name, _role in orgs.org_roster(engine=engine, org_id=org_id):
        known = mastery.refresh_mastery(engine=engine, catalog_db=catalog_db, user_id=user_id)
        estimates.append((email, name, known))
    skills = sorted({skill for _e, _n, known in estimates for skill in known})
    rows: list[dict[str, object]] = []
    for email, name, known in estimates:
        rows.append({"email": email, "name": name, "skills_mastered": sum(1 for p in known.values() if p >= 0.95),
                     **{f"skill:{s}": f"{known[s]:.2f}" for s in skills if s in known}})
    k = k_of(settings)
    mean: dict[str, object] = {"email": MEAN_ROW, "name": ""}
    hidden = 0
    for skill in skills:
        values = [known[skill] for _e, _n, known in estimates if skill in known]
        if len(values) >= k:
            mean[f"skill:{skill}"] = f"{sum(values) / len(values):.2f}"
        else:
            hidden += 1
    rows.append(mean)
    columns = [("email", "Email"), ("name", "Name"), ("skills_mastered", "Skills mastered (p ≥ 0.95)")]
    columns += [(f"skill:{s}", s) for s in skills]
    note = (f"Means over fewer than {k} people are left out ({hidden} skill(s))." if hidden else None)
    return Table(columns=columns, rows=rows, title="Skill inventory", note=note)


def skill_report(*, engine: Engine, settings: Settings, catalog_db: Path, actor: User, org_id: str,
                 now: datetime) -> tuple[str, Table]:
    check_org_admin(actor, org_id)
    name, _seats, _teams = orgs.org_overview(engine=engine, org_id=org_id)
    return name, skill_table(engine=engine, settings=settings, catalog_db=catalog_db, org_id=org_id)


def skill_inventories(*, engine: Engine, settings: Settings, catalog_db: Path, quarter: str) -> Iterator[Message]:
    """One message per organisation and admin, with the inventory as a CSV attachment."""
    for org_id in orgs.org_ids(engine=engine):
        admins = org_admins(engine=engine, org_id=org_id)
        if not admins:
            continue
        name, _seats, _teams = orgs.org_overview(engine=engine, org_id=org_id)
        table = skill_table(engine=engine, settings=settings, catalog_db=catalog_db, org_id=org_id)
        data = csv_text(table).encode("utf-8")
        body = (f"The skill inventory of {name} for {quarter} is attached (CSV): {len(table.rows) - 1} people, "
                f"{len(table.columns) - 3} skills.\n")
        for user_id, email in admins:
            yield Message(target=f"{org_id}:{user_id}", to=email, subject=f"Skill inventory, {quarter}: {name}",
                          body=body, attachments=[(f"skill-inventory-{quarter}.csv", "text/csv", data)])
