"""The organisation's reports on demand (§10.3), for its admins: compliance (CSV or PDF), the skill
inventory (CSV) and the executive summary of a month (PDF). The weekly and monthly emails are sent by
the scheduled jobs (sidecar/jobs); the personal progress report is the learner's live dashboard."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response

from sidecar.auth.deps import CurrentPrincipal
from sidecar.db.base import utcnow
from sidecar.deps import CatalogDbDep, EngineDep, SettingsDep

from .compliance import compliance_document, compliance_report
from .executive import executive_report, last_month, month_bounds
from .render import csv_text, pdf_bytes
from .skills import skill_report

router = APIRouter(tags=["reports"])

Id = Annotated[str, Path(max_length=64)]
CSV: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {}}}}
PDF: dict[int | str, dict[str, Any]] = {200: {"content": {"application/pdf": {}}}}
BOTH: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {}, "application/pdf": {}}}}


def _file(data: str | bytes, media_type: str, filename: str) -> Response:
    return Response(data, media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


@router.get("/orgs/{org_id}/reports/compliance", summary="Compliance report: required courses per person (CSV or PDF)",
            responses=BOTH)
def compliance(org_id: Id, principal: CurrentPrincipal, engine: EngineDep, settings: SettingsDep,
               catalog_db: CatalogDbDep, format: Literal["csv", "pdf"] = "csv") -> Response:  # noqa: A002
    """One row per member and required course: due date, progress, completed or not, due state, and the
    certificate that proves it. For the organisation's admins."""
    now = utcnow()
    name, table = compliance_report(engine=engine, settings=settings, catalog_db=catalog_db, actor=principal.user,
                                    org_id=org_id, now=now)
    if format == "pdf":
        return _file(pdf_bytes(compliance_document(name, table, now=now)), "application/pdf",
                     f"compliance-{now:%Y-%m-%d}.pdf")
    return _file(csv_text(table), "text/csv", f"compliance-{now:%Y-%m-%d}.csv")


@router.get("/orgs/{org_id}/reports/skills", summary="Skill inventory: people × skills mastery (CSV)", responses=CSV)
def skills(org_id: Id, principal: CurrentPrincipal, engine: EngineDep, settings: SettingsDep,
           catalog_db: CatalogDbDep, format: Literal["csv"] = "csv") -> Response:  # noqa: A002
    """Each member's estimated mastery (0..1) of every skill someone in the organisation has practised, and the
    organisation's mean per skill where at least k people have an estimate. For the organisation's admins."""
    now = utcnow()
    _name, table = skill_report(engine=engine, settings=settings, catalog_db=catalog_db, actor=principal.user,
                                org_id=org_id, now=now)
    return _file(csv_text(table), "text/csv", f"skill-inventory-{now:%Y-%m-%d}.csv")


@router.get("/orgs/{org_id}/reports/executive", summary="Executive summary of a month (PDF)", responses=PDF)
def executive(org_id: Id, principal: CurrentPrincipal, engine: EngineDep, settings: SettingsDep,
              catalog_db: CatalogDbDep,
              month: Annotated[str | None, Query(pattern=r"^(19|2\d)\d\d-(0[1-9]|1[0-2])$",
                                                 description="YYYY-MM; default: last month")] = None) -> Response:
    """Counts only (no one named), each hidden below k people. For the organisation's admins."""
    now = utcnow()
    month = month or last_month(now)
    start, end = month_bounds(month)
    pdf = executive_report(engine=engine, settings=settings, catalog_db=catalog_db, actor=principal.user,
                           org_id=org_id, month=month, start=start, end=end, now=now)
    return _file(pdf, "application/pdf", f"executive-summary-{month}.pdf")
