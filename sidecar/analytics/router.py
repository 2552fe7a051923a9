"""GET /api/analytics/*: the four levels of dashboards, as JSON or one chart's table as CSV.

Who may see each is decided in service.py (403 in the one error shape otherwise). `?format=csv&chart=<id>`
answers text/csv of that chart's rows (header: its column labels), formula-safe for spreadsheets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

import anyio.to_thread
from fastapi import APIRouter, Path, Query, Response

from sidecar.auth.deps import CurrentPrincipal
from sidecar.deps import CatalogDbDep, EngineDep, SettingsDep
from sidecar.errors import InvalidInput

from . import service
from .models import DashboardPublic, VisibilityPublic

router = APIRouter(prefix="/analytics", tags=["analytics"])

Id = Annotated[str, Path(max_length=64)]
Format = Annotated[Literal["json", "csv"], Query(description="`csv`: one chart's table (name it with `chart`).")]
Chart = Annotated[str | None, Query(max_length=64, description="With format=csv: the chart's id.")]
CSV: dict[int | str, dict[str, Any]] = {200: {"content": {"application/json": {}, "text/csv": {}}}}


async def _answer(build: Callable[[], DashboardPublic], fmt: str, chart: str | None,
                  filename: str) -> DashboardPublic | Response:
    if fmt == "csv" and not chart:
        raise InvalidInput("Name the chart to export: ?format=csv&chart=<chart id>.")
    dashboard = await anyio.to_thread.run_sync(build)
    if fmt != "csv" or chart is None:
        return dashboard
    text = service.chart_csv(dashboard, chart)
    return Response(content=text.encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}-{chart}.csv"',
                             "Cache-Control": "no-store"})


@router.get("/me", response_model=DashboardPublic, responses=CSV, summary="Your dashboard")
async def my_dashboard(principal: CurrentPrincipal, engine: EngineDep, settings: SettingsDep, catalog_db: CatalogDbDep,
                       format: Format = "json", chart: Chart = None) -> DashboardPublic | Response:  # noqa: A002
    """Skill map, progress, recommendations (what to review, what next) and the weekly trend."""
    return await _answer(lambda: service.learner_dashboard(engine=engine, settings=settings, catalog_db=catalog_db,
                                                           actor=principal.user), format, chart, "my-dashboard")


@router.get("/who-sees-me", response_model=VisibilityPublic, summary="Who may see your analytics")
def who_sees_me(principal: CurrentPrincipal, engine: EngineDep, settings: SettingsDep) -> VisibilityPublic:
    """The managers of each team you are in (the only people who may open your dashboard) and the k below
    which your organisation's team and organisation aggregates are hidden."""
    return service.visibility(engine=engine, settings=settings, actor=principal.user)


@router.get("/users/{user_id}", response_model=DashboardPublic, responses=CSV,
            summary="A learner's dashboard (the learner, and the managers of a team they are in)")
async def user_dashboard(user_id: Id, principal: CurrentPrincipal, engine: EngineDep, settings: SettingsDep,
                         catalog_db: CatalogDbDep, format: Format = "json",  # noqa: A002
                         chart: Chart = None) -> DashboardPublic | Response:
    return await _answer(lambda: service.learner_dashboard(engine=engine, settings=settings, catalog_db=catalog_db,
                                                           actor=principal.user, user_id=user_id),
                         format, chart, "learner-dashboard")


@router.get("/teams/{team_id}", response_model=DashboardPublic, responses=CSV,
            summary="A team's dashboard (its managers, and the organisation's admins)")
async def team_dashboard(team_id: Id, principal: CurrentPrincipal, engine: EngineDep, settings: SettingsDep,
                         catalog_db: CatalogDbDep, format: Format = "json",  # noqa: A002
                         chart: Chart = None) -> DashboardPublic | Response:
    """Team progress, deadlines and the weekly trend; each person's progress and the struggle alerts only
    for the team's managers. Aggregates over fewer than k people are suppressed."""
    return await _answer(lambda: service.team_dashboard(engine=engine, settings=settings, catalog_db=catalog_db,
                                                        actor=principal.user, team_id=team_id),
                         format, chart, "team-dashboard")


@router.get("/orgs/{org_id}", response_model=DashboardPublic, responses=CSV,
            summary="An organisation's dashboard (its admins and analytics viewers)")
async def org_dashboard(org_id: Id, principal: CurrentPrincipal, engine: EngineDep, settings: SettingsDep,
                        catalog_db: CatalogDbDep, format: Format = "json",  # noqa: A002
                        chart: Chart = None) -> DashboardPublic | Response:
    """Company progress, compliance (required courses done and overdue), skill gaps, hours and completion."""
    return await _answer(lambda: service.org_dashboard(engine=engine, settings=settings, catalog_db=catalog_db,
                                                       actor=principal.user, org_id=org_id),
                         format, chart, "organisation-dashboard")


@router.get("/platform", response_model=DashboardPublic, responses=CSV,
            summary="The platform's dashboard (super admins)")
async def platform_dashboard(principal: CurrentPrincipal, engine: EngineDep, settings: SettingsDep,
                             format: Format = "json", chart: Chart = None) -> DashboardPublic | Response:  # noqa: A002
    """Users, engagement and the AI: tutor turns, hint-to-pass conversion, leaks stopped, model latency and cost."""
    return await _answer(lambda: service.platform_dashboard(engine=engine, settings=settings, actor=principal.user),
                         format, chart, "platform-dashboard")
