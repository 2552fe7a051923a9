"""The FastAPI application: the API under /api and, for `drona serve`, the static site at /."""

from __future__ import annotations

import functools
import gc
import logging
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel
from sqlalchemy import Engine
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Receive, Scope, Send

from sidecar import __version__, observability
from sidecar.agents.api.router import router as agents_router
from sidecar.analytics.router import router as analytics_router
from sidecar.assessments.router import router as assessments_router
from sidecar.assignments.router import router as assignments_router
from sidecar.audit.router import router as audit_router
from sidecar.auth.deps import csrf_protect
from sidecar.auth.preview import DraftGate, is_content_creator
from sidecar.auth.router import router as auth_router
from sidecar.catalog.router import router as catalog_router
from sidecar.certificates import service as certificates_service
from sidecar.certificates.router import pages as certificate_pages
from sidecar.certificates.router import router as certificates_router
from sidecar.db.engine import get_engine, is_sqlite
from sidecar.db.migrate import upgrade
from sidecar.deps import SettingsDep
from sidecar.drafts.router import router as drafts_router
from sidecar.errors import MethodNotAllowed, NotFound, install_error_handlers
from sidecar.gamification import service as gamification_service
from sidecar.gamification.router import router as gamification_router
from sidecar.grading.router import router as grading_router
from sidecar.live import bus as live_bus
from sidecar.live.router import router as live_router
from sidecar.lti import router as lti
from sidecar.onboarding.router import router as onboarding_router
from sidecar.openapi import install_openapi
from sidecar.orgs.router import router as orgs_router
from sidecar.privacy.router import router as privacy_router
from sidecar.progress.router import router as progress_router
from sidecar.projects import router as projects
from sidecar.reports.router import router as reports_router
from sidecar.review.router import router as review_router
from sidecar.scim import router as scim
from sidecar.settings import Settings, get_settings
from sidecar.sso.router import router as sso_router
from sidecar.support.router import router as support_router
from sidecar.web.csp import SITE_POLICY_FILE, ApiPolicyHeaders, PolicyFile
from sidecar.web.limits import ROUTE_LIMITS, RequestBodyGuard
from sidecar.web.livereload import EVENTS_PATH, SCRIPT_PATH, LiveReload
from sidecar.web.static import IsolationHeaders, SiteFiles, sitemap_response
from sidecar.xapi import service as xapi_service

if TYPE_CHECKING:
    from sidecar.sandbox import Sandbox


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


def _allowed_methods(routes: list[BaseRoute], scope: Scope, *, besides: object) -> list[str]:
    """The methods of the routes (other than the one of endpoint `besides`) whose path matches the request's.

    Only the most specific paths count (the fewest parameters): .../invitations/import is the import, not
    an invitation called "import" that DELETE .../invitations/{invitation_id} would look for, so Allow
    lists what the OpenAPI document says that path takes (schemathesis checks it)."""
    allowed: dict[int, set[str]] = {}
    # iter_route_contexts: the routes of included routers, with their prefixes.
    for route in iter_route_contexts(routes):
        methods = route.methods
        if getattr(route.original_route, "endpoint", None) is besides or not methods:
            continue  # the static site's mount has no methods: it is not an API path
        match, _ = route.matches(scope)
        if match is not Match.NONE:
            allowed.setdefault((route.path_format or "").count("{"), set()).update(methods)
    return sorted(allowed[min(allowed)]) if allowed else []


class _ApiFallback:
    """The last /api route: 404 for an unknown path, 405 with Allow for a known one asked with another method.

    An ASGI app rather than a function, so that its Route takes every method: with a method list
    (a function endpoint's default is GET) a known path asked with, say, PUT could still end here
    and get a 404 instead of the 405 that tells the client what to use.
    """

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        allowed = _allowed_methods(self.app.router.routes, scope, besides=self)
        if allowed:
            raise MethodNotAllowed(f"{scope['method']} is not allowed here; use {', '.join(allowed)}.", allowed)
        raise NotFound(f"No API endpoint at {scope['path']}.")


class _IssueContext:
    """Gives each request the context in which completions issue certificates (Bronze: see
    certificates/service.py); a context variable, so it follows the request into worker threads."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Any], *,
                 context: certificates_service.IssueContext, engine: Engine) -> None:
        self.app = app
        self.context = context
        self.engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        certificates_service.set_context(self.context)
        issued = certificates_service.begin_request()
        await self.app(scope, receive, send)
        if issued:
            # Bronze was issued inside a completion's transaction: once the response is sent, bring
            # the log's static files (and its timestamp anchor, when configured) up to date.
            await anyio.to_thread.run_sync(functools.partial(
                certificates_service.publish, engine=self.engine, settings=self.context.settings))


def _sandbox_factory(settings: Settings) -> Callable[[], Sandbox]:
    """The grading sandbox, started (host processes and all) on the first request that grades."""
    def sandbox() -> Sandbox:
        # Imported late: serving pages never needs it. With GRADER_QUEUE_URL the grader fleet runs
        # learner code (sidecar/grading/fleet.py), and this process never does.
        from sidecar.grading.fleet import sandbox_for

        return sandbox_for(settings)

    return sandbox


def freeze_startup_heap() -> None:
    """Hide what is alive once the server has started (modules, routes, models, settings: hundreds of
    thousands of objects that live as long as the process) from the garbage collector. Each full collection
    walks every tracked object, so before this one landing in a request added ~0.12 s to it: every third
    organisation dashboard at 100,000 learners, its p95 (bench/bench_analytics.py, docs/analytics.md). A
    startup object that became cyclic garbage later would never be freed; they live as long as the server.
    Once per process: a process that starts many apps (the tests) freezes only what the first start left."""
    global _heap_frozen
    if not _heap_frozen:
        _heap_frozen = True
        gc.collect()
        gc.freeze()


_heap_frozen = False


def create_app(settings: Settings | None = None, *, serve_site: bool = False,
               live_reload: LiveReload | None = None,
               background: Sequence[Callable[[Settings], object]] = ()) -> FastAPI:
    """The sidecar; with serve_site, the static site too; with live_reload, pages reload on rebuilds;
    each of `background` is started with the settings once the database is upgraded (`drona serve`'s
    housekeeping, job scheduler and LRS forwarder, which would otherwise query tables not yet there)."""
    settings = settings or get_settings()
    engine = get_engine(settings.DATABASE_URL, settings.DATABASE_POOL_SIZE)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if is_sqlite(engine):
            # The embedded default upgrades its own database; PostgreSQL uses `drona db upgrade`.
            upgrade(settings.DATABASE_URL)
        gamification_service.sync_achievements(engine=engine, catalog_db=settings.catalog_db)
        await anyio.to_thread.run_sync(lambda: certificates_service.publish(engine=engine, settings=settings))
        # Fewer worker threads than anyio's default 40: the endpoints are short and CPU-bound, and
        # dozens of threads fighting over the GIL (and SQLite's one writer) only stretch latency.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.DRONA_THREADS
        # Load the embedding model and the lesson vectors now, in the background, rather than on a
        # learner's first question (seconds for a large catalog).
        threading.Thread(target=_warm_retrieval, args=(settings,), daemon=True, name="drona-warm-retrieval").start()
        for start in background:
            start(settings)
        # Live updates (XP, achievements) for open tabs: over Redis when REDIS_URL is set, so every
        # sidecar process sees every award; open streams end the moment the server is told to stop.
        bus = await live_bus.start(settings.REDIS_URL)
        live_bus.close_streams_on_signals()
        freeze_startup_heap()
        try:
            yield
        finally:
            await live_bus.stop(bus)

    # (No default_response_class: a custom one turns off FastAPI's fast path, which serialises
    # response models straight to JSON bytes, on every endpoint. Text that predates the request
    # body check is repaired where it can be stored instead: see sidecar/text.py.)
    app = FastAPI(title="Dronacharya sidecar", version=__version__, openapi_url="/openapi.json",
                  docs_url="/api/docs", redoc_url=None, lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    xapi_service.configure(settings)  # statements' homePage (APP_URL) and whether they queue for an LRS
    app.state.sandbox = _sandbox_factory(settings)  # SandboxDep (sidecar/deps.py)
    app.state.draft_viewer = functools.partial(is_content_creator, engine=engine, settings=settings)  # DraftViewerDep
    install_error_handlers(app)
    install_openapi(app)
    api = APIRouter(prefix="/api", dependencies=[Depends(csrf_protect)])
    for router in (health_router, auth_router, onboarding_router, catalog_router, progress_router,
                   gamification_router, orgs_router, grading_router, drafts_router, agents_router,
                   certificates_router, assessments_router, projects.router, review_router, assignments_router,
                   privacy_router, audit_router, support_router, sso_router, scim.router, lti.router,
                   reports_router, analytics_router, live_router):
        api.include_router(router)
    app.include_router(api)
    # LTI's login and launch are cross-site form posts from LMS platforms: outside the CSRF check, with
    # LTI's own (state cookie, one-time nonce, the platform's signature). See sidecar/lti/router.py.
    app.include_router(lti.public, prefix="/api")
    # The verification and print pages and the transparency log's files: public, outside /api.
    app.include_router(certificate_pages)
    # SCIM provisioning for organisations' identity providers: bearer tokens, not cookies, so outside /api.
    app.include_router(scim.scim)

    # Without this, unknown /api paths would fall through to the static site's HTML 404.
    fallback = Route("/api/{rest:path}", _ApiFallback(app), include_in_schema=False)
    app.router.routes.append(fallback)

    if live_reload is not None:
        app.add_api_route(EVENTS_PATH, live_reload.events_response, include_in_schema=False)
        app.add_api_route(SCRIPT_PATH, lambda: live_reload.script_response(), include_in_schema=False)

    if serve_site:

        @app.get("/sitemap.xml", include_in_schema=False)
        def sitemap(request: Request) -> Response:
            return sitemap_response(settings.site_dir, str(request.base_url))

        # Mounted last so /api routes win; html=True serves index.html and the site's 404 page.
        # A preview build's draft courses go to content creators only (DraftGate).
        # Every file of the site carries the build's Content-Security-Policy (csp.txt; docs/security.md).
        site_policy = PolicyFile(settings.DRONA_BUILD_DIR / SITE_POLICY_FILE)
        site = SiteFiles(directory=settings.site_dir, html=True, check_dir=False, live_reload=live_reload is not None,
                         policy=site_policy.policy)
        app.mount("/", DraftGate(site, catalog_db=settings.catalog_db, engine=engine, settings=settings), name="site")
    # HTML and API JSON are compressed on the fly; wasm/JS come precompressed (SiteFiles).
    # Innermost, so its refusals get the headers below; before any endpoint reads a body.
    # A Gold submission's archive is far above the default body limit, and its limit is a setting.
    # The OpenAPI document says them. SCIM's own limit: a group's PUT lists all of its members.
    app.state.body_limits = (*ROUTE_LIMITS, projects.upload_limit(settings), scim.BODY_LIMIT)
    app.add_middleware(RequestBodyGuard, limits=app.state.body_limits)
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=6)
    app.add_middleware(IsolationHeaders)
    app.add_middleware(ApiPolicyHeaders)  # JSON answers: default-src 'none'; frame-ancestors 'none'
    app.add_middleware(_IssueContext, engine=engine, context=certificates_service.IssueContext(
        settings=settings, catalog_db=settings.catalog_db, db_key=str(engine.url)))
    # Last, so outermost: request ids, latency metrics and spans cover everything above (docs/observability.md).
    observability.install(app, settings=settings, engine=engine, version=__version__)
    return app
