"""The FastAPI application: the API under /api and, for `drona serve`, the static site at /."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from pydantic import BaseModel
from starlette.middleware.gzip import GZipMiddleware

from sidecar import __version__
from sidecar.agents.router import router as agents_router
from sidecar.auth.deps import csrf_protect
from sidecar.auth.router import router as auth_router
from sidecar.catalog.router import router as catalog_router
from sidecar.db.engine import get_engine, is_sqlite
from sidecar.db.migrate import upgrade
from sidecar.deps import SettingsDep
from sidecar.errors import NotFound, install_error_handlers
from sidecar.gamification import service as gamification_service
from sidecar.gamification.router import router as gamification_router
from sidecar.grading.router import router as grading_router
from sidecar.onboarding.router import router as onboarding_router
from sidecar.orgs.router import router as orgs_router
from sidecar.progress.router import router as progress_router
from sidecar.settings import Settings, get_settings
from sidecar.web.livereload import EVENTS_PATH, SCRIPT_PATH, LiveReload
from sidecar.web.static import IsolationHeaders, SiteFiles, sitemap_response


class HealthPublic(BaseModel):
    status: str
    version: str
    catalog: bool


health_router = APIRouter(tags=["system"])


@health_router.get("/health", response_model=HealthPublic, summary="Liveness and catalog availability")
def health(settings: SettingsDep) -> HealthPublic:
    return HealthPublic(status="ok", version=__version__, catalog=settings.catalog_db.is_file())


def _warm_retrieval(settings: Settings) -> None:
    if not settings.catalog_db.is_file():
        return
    try:
        from sidecar.agents.retrieval import get_retriever

        get_retriever(settings.catalog_db, settings).search("warm up", k=1)
    except Exception:  # noqa: BLE001 - the first real question will report the problem
        logging.getLogger("drona").warning("could not prepare lesson retrieval at start-up", exc_info=True)


def create_app(settings: Settings | None = None, *, serve_site: bool = False,
               live_reload: LiveReload | None = None) -> FastAPI:
    """The sidecar; with serve_site, the static site too; with live_reload, pages reload on rebuilds."""
    settings = settings or get_settings()
    engine = get_engine(settings.DATABASE_URL, settings.DATABASE_POOL_SIZE)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if is_sqlite(engine):
            # The embedded default upgrades its own database; PostgreSQL uses `drona db upgrade`.
            upgrade(settings.DATABASE_URL)
        gamification_service.sync_achievements(engine=engine, catalog_db=settings.catalog_db)
        # Fewer worker threads than anyio's default 40: the endpoints are short and CPU-bound, and
        # dozens of threads fighting over the GIL (and SQLite's one writer) only stretch latency.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.DRONA_THREADS
        # Load the embedding model and the lesson vectors now, in the background, rather than on a
        # learner's first question (seconds for a large catalog).
        threading.Thread(target=_warm_retrieval, args=(settings,), daemon=True, name="drona-warm-retrieval").start()
        yield

    app = FastAPI(title="Dronacharya sidecar", version=__version__, openapi_url="/openapi.json",
                  docs_url="/api/docs", redoc_url=None, lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    install_error_handlers(app)
    api = APIRouter(prefix="/api", dependencies=[Depends(csrf_protect)])
    for router in (health_router, auth_router, onboarding_router, catalog_router, progress_router,
                   gamification_router, orgs_router, grading_router, agents_router):
        api.include_router(router)
    app.include_router(api)

    @app.api_route("/api/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    def api_not_found(rest: str) -> None:
        # Without this, unknown /api paths would fall through to the static site's HTML 404.
        raise NotFound(f"No API endpoint at /api/{rest}.")

    if live_reload is not None:
        app.add_api_route(EVENTS_PATH, live_reload.events_response, include_in_schema=False)
        app.add_api_route(SCRIPT_PATH, lambda: live_reload.script_response(), include_in_schema=False)

    if serve_site:

        @app.get("/sitemap.xml", include_in_schema=False)
        def sitemap(request: Request) -> Response:
            return sitemap_response(settings.site_dir, str(request.base_url))

        # Mounted last so /api routes win; html=True serves index.html and the site's 404 page.
        app.mount("/", SiteFiles(directory=settings.site_dir, html=True, check_dir=False,
                                 live_reload=live_reload is not None), name="site")
    # HTML and API JSON are compressed on the fly; wasm/JS come precompressed (SiteFiles).
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=6)
    app.add_middleware(IsolationHeaders)
    return app
