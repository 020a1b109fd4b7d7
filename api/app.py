"""The web application: JSON API under /api/v1 and server-rendered pages, one FastAPI app.

    from api.app import create_app
    app = create_app(Database(url))          # uvicorn: mutualaid serve

Authentication: the pages use a session cookie (HttpOnly, SameSite=Lax, Secure unless
switched off for plain-HTTP development) plus a CSRF token on every form; the API uses
bearer tokens from ``POST /api/v1/token``. Both are random secrets stored as SHA-256 with
an expiry (mutualaid.users).
"""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

import mutualaid
from api.errors import AppError, LoginRequired
from api.jobs import JobRegistry
from api.middleware import WebMiddleware
from api.settings import Settings
from api.web import lang_of, render
from mutualaid.i18n import ui
from mutualaid.store.db import Database, is_busy

log = logging.getLogger(__name__)
API_PREFIX = "/api/v1"
STATIC = Path(__file__).parent / "static"

DESCRIPTION = """
Claims processing for trade-union employee mutual-aid medical protection.

Every command of the CLI is here: import rosters, submit claim batches, run the
adjudication, read decisions with their rule trace, decide claims under review,
import the fund ledger, reconcile a month, download the reports.

**Sign in**: `POST /api/v1/token` with `username` and `password` (form fields); send the
token as `Authorization: Bearer <token>`. Roles: `clerk` (claim batches of their units),
`auditor` (reviews, adjudication, rosters, audit log), `finance` (ledger, reconciliation),
`admin` (users, and everything else).

**Money** is text with two decimals (`"7140.00"`). **Errors** are `{"detail": "中文 / English",
"code": "..."}`. A review must send back the claim's `version`: when someone else decided
the claim meanwhile the answer is `409` and nothing is recorded.
"""


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX)


def _error_page(request: Request, status: int, message: str) -> Response:
    if request.headers.get("hx-request") == "true":
        return render(request, "_error.html", status=status, message=message)
    return render(request, "error.html", status=status, message=message)


def routers() -> list[tuple[str, APIRouter]]:
    """(prefix, router) of every router of the app: the JSON API, then the pages."""
    from api.pages import auth as auth_pages
    from api.pages import casework as casework_pages
    from api.pages import claims as claim_pages
    from api.pages import finance as finance_pages
    from api.pages import policy_office as office_pages
    from api.pages import settlements as settlement_pages
    from api.routers import auth, casework, claims, finance, settlements
    from api.routers.payments import routes as payment_routes  # payment runs (批量代发): API and pages

    return [(API_PREFIX, r) for r in (auth.router, auth.admin, claims.router, finance.router, casework.router,
                                      settlements.router)] + \
        [("", r) for r in (auth_pages.router, claim_pages.router, finance_pages.router, casework_pages.router,
                           settlement_pages.router, office_pages.router)] + \
        payment_routes()


def route_table() -> set[tuple[str, str]]:
    """Every (method, path) the app answers, for the authorisation matrix test."""
    return {(m, prefix + r.path) for prefix, router in routers() for r in router.routes
            if isinstance(r, APIRoute) for m in r.methods if m != "HEAD"}


def create_app(db: Database, settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    jobs = JobRegistry(db)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        jobs.shutdown()

    app = FastAPI(
        title="mutualaid", version=getattr(mutualaid, "__version__", "0.1.0"), description=DESCRIPTION,
        openapi_url=f"{API_PREFIX}/openapi.json", docs_url=None, redoc_url=None, lifespan=lifespan,
        openapi_tags=[
            {"name": "auth", "description": "bearer tokens"},
            {"name": "batches", "description": "claim batches (clerks)"},
            {"name": "adjudication", "description": "the batch run and background jobs"},
            {"name": "claims", "description": "claims, decisions with their rule trace, reviews"},
            {"name": "imports", "description": "enrollment rosters and the fund ledger"},
            {"name": "reconciliation", "description": "monthly reconciliation (finance)"},
            {"name": "audit", "description": "the audit log"},
            {"name": "dashboard", "description": "figures at a glance"},
            {"name": "users", "description": "user accounts (admin)"},
            {"name": "payments", "description": "payment runs to members' bank cards (finance)"},
        ],
    )
    app.state.db = db
    app.state.settings = settings
    app.state.jobs = jobs
    settings.upload_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    settings.reports_dir.mkdir(parents=True, exist_ok=True, mode=0o700)

    for prefix, router in routers():
        app.include_router(router, prefix=prefix)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(WebMiddleware, max_body=settings.max_upload_bytes, secure=settings.secure_cookies)

    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": exc.message("both"), "code": exc.code}, status_code=exc.status,
                                headers=exc.headers)
        response = _error_page(request, exc.status, exc.message(lang_of(request)))
        response.headers.update(exc.headers)
        return response

    @app.exception_handler(OperationalError)
    async def database_busy(request: Request, exc: OperationalError) -> Response:
        """SQLite's "database is locked" (a long import holds the write lock): 503 with
        Retry-After, never a 500 for a request that has nothing to do with the import."""
        if not is_busy(exc):
            raise exc
        return await app_error(request, AppError(503, "err.db_busy", headers={"Retry-After": "5"}))

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        location = f"/login?next={quote(target, safe='')}" + ("&expired=1" if exc.expired else "")
        if request.headers.get("hx-request") == "true":
            return Response(status_code=204, headers={"HX-Redirect": location})
        response = RedirectResponse(location, status_code=303)
        if exc.expired:
            response.delete_cookie(settings.session_cookie, path="/")
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        details = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}"
                            for e in exc.errors()[:5])
        if _is_api(request):
            return JSONResponse({"detail": jsonable_errors(exc), "code": "err.invalid"}, status_code=422)
        return _error_page(request, 400, ui("err.invalid", lang_of(request), details=details))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "err.not_found", 403: "err.forbidden", 413: "err.request_too_large"}.get(exc.status_code)
        if _is_api(request) or request.url.path.startswith("/static/"):
            detail = ui(code, "both") if code else exc.detail
            return JSONResponse({"detail": detail, "code": code}, status_code=exc.status_code,
                                headers=getattr(exc, "headers", None))
        message = ui(code, lang_of(request)) if code else str(exc.detail)
        return _error_page(request, exc.status_code, message)

    return app


def jsonable_errors(exc: RequestValidationError) -> list[dict[str, object]]:
    """FastAPI's 422 detail, minus the echoed input (it may hold a password)."""
    return [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()]
