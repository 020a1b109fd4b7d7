"""FastAPI dependencies: the database, a session, who is asking, what they may do, CSRF."""
from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from api.authz import can
from api.errors import AppError, LoginRequired
from api.jobs import JobRegistry
from api.settings import Settings
from mutualaid.store.db import Database
from mutualaid.users import API, SESSION, Principal, resolve_sign_in

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_BEARER = {"WWW-Authenticate": "Bearer"}


def get_db(request: Request) -> Database:
    return request.app.state.db


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_jobs(request: Request) -> JobRegistry:
    return request.app.state.jobs


DbDep = Annotated[Database, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
JobsDep = Annotated[JobRegistry, Depends(get_jobs)]


def get_session(db: DbDep) -> Iterator[Session]:
    """A read session for the request (use cases that write open their own transaction)."""
    with db.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]

# --- JSON API: bearer tokens -------------------------------------------------------------------

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/token", auto_error=False,
                                     description="POST user name and password to /api/v1/token")


def current_user(db: DbDep, token: Annotated[str | None, Depends(oauth2_scheme)]) -> Principal:
    if not token:
        raise AppError(401, "err.login_required", headers=_BEARER)
    with db.sessions() as session:
        found = resolve_sign_in(session, token, kind=API)
    if found is None:
        raise AppError(401, "err.session_expired", headers=_BEARER)
    return found[0]


CurrentUser = Annotated[Principal, Depends(current_user)]


def require(permission: str) -> Callable[..., Principal]:
    """Dependency: the API user, if their role has ``permission`` (else 403)."""

    def dependency(user: CurrentUser) -> Principal:
        if not can(user, permission):
            raise AppError(403, "err.forbidden")
        return user

    dependency.__name__ = f"require_{permission.replace('.', '_')}"
    return dependency


# --- pages: session cookie + CSRF token ---------------------------------------------------------

def page_user(request: Request, db: DbDep, settings: SettingsDep) -> Principal:
    raw = request.cookies.get(settings.session_cookie)
    if not raw:
        raise LoginRequired(expired=False)
    with db.sessions() as session:
        found = resolve_sign_in(session, raw, kind=SESSION)
    if found is None:
        raise LoginRequired(expired=True)
    request.state.user, request.state.csrf = found
    return found[0]


PageUser = Annotated[Principal, Depends(page_user)]


async def csrf_checked(request: Request, user: PageUser) -> Principal:
    """Unsafe methods must echo the session's CSRF token (form field or X-CSRF-Token header)."""
    if request.method in UNSAFE:
        sent = request.headers.get("x-csrf-token")
        if not sent:
            form = await request.form()
            value = form.get("csrf_token")
            sent = value if isinstance(value, str) else None
        if not sent or not secrets.compare_digest(sent.encode(), request.state.csrf.encode()):
            raise AppError(403, "err.csrf")
    return user


def page_require(permission: str) -> Callable[..., object]:
    """Dependency for pages: signed in, CSRF-checked on POST, role has ``permission``."""

    async def dependency(request: Request, user: Annotated[Principal, Depends(csrf_checked)]) -> Principal:
        if not can(user, permission):
            raise AppError(403, "err.forbidden")
        return user

    dependency.__name__ = f"page_require_{permission.replace('.', '_')}"
    return dependency


# --- page dependencies by permission (signed in, CSRF-checked, role allowed) -----------------------
Adjudicator = Annotated[Principal, Depends(page_require("adjudication.run"))]
AuditReader = Annotated[Principal, Depends(page_require("audit.read"))]
BatchReader = Annotated[Principal, Depends(page_require("batches.read"))]
BatchSubmitter = Annotated[Principal, Depends(page_require("batches.submit"))]
ClaimReader = Annotated[Principal, Depends(page_require("claims.read"))]
Reviewer = Annotated[Principal, Depends(page_require("claims.review"))]
Exporter = Annotated[Principal, Depends(page_require("decisions.export"))]
LedgerImporter = Annotated[Principal, Depends(page_require("ledger.import"))]
ReconReader = Annotated[Principal, Depends(page_require("recon.read"))]
ReconResolver = Annotated[Principal, Depends(page_require("recon.resolve"))]
ReconRunner = Annotated[Principal, Depends(page_require("recon.run"))]
RosterImporter = Annotated[Principal, Depends(page_require("rosters.import"))]
UserAdmin = Annotated[Principal, Depends(page_require("users.manage"))]
