"""Sign-in and sign-out pages: session cookie (HttpOnly, SameSite=Lax, Secure), login CSRF."""
from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import DbDep, SettingsDep, csrf_checked
from api.errors import AppError
from api.web import render
from mutualaid import users
from mutualaid.users import SESSION, Principal

router = APIRouter(include_in_schema=False)
LOGIN_CSRF_COOKIE = "ma_login_csrf"


def safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no '//host', no backslash tricks)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target or "\x00" in target:
        return "/"
    return target[:500]


def _login_page(request: Request, settings: SettingsDep, *, status: int = 200, error: str | None = None,
                next_url: str = "/", username: str = "", expired: bool = False) -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    if len(token) < 20:
        token = secrets.token_urlsafe(32)
    response = render(request, "login.html", status=status, error=error, next_url=safe_next(next_url),
                      username=username, expired=expired, login_csrf=token)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, httponly=True, samesite="lax",
                        secure=settings.secure_cookies, path="/")
    return response


@router.get("/login")
def login_form(request: Request, settings: SettingsDep, next: str = "/", expired: int = 0) -> Response:
    return _login_page(request, settings, next_url=next, expired=bool(expired))


@router.post("/login")
def login(request: Request, db: DbDep, settings: SettingsDep,
          username: Annotated[str, Form(max_length=64)] = "", password: Annotated[str, Form(max_length=1024)] = "",
          csrf_token: Annotated[str, Form(max_length=200)] = "", next: Annotated[str, Form(max_length=500)] = "/",
          ) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    if not expected or not secrets.compare_digest(csrf_token.encode(), expected.encode()):
        raise AppError(403, "err.csrf")
    from api.routers.auth import client_ip

    lang = getattr(request.state, "lang", "zh")
    try:
        principal = users.authenticate(db, username.replace("\x00", ""), password.replace("\x00", ""),
                                       ip=client_ip(request))
    except users.RateLimited as e:
        response = _login_page(request, settings, status=429, next_url=next, username=username,
                               error=AppError(429, "err.rate_limited", seconds=e.retry_after).message(lang))
        response.headers["Retry-After"] = str(e.retry_after)
        return response
    except users.BadCredentials:
        return _login_page(request, settings, status=401, next_url=next, username=username,
                           error=AppError(401, "err.bad_credentials").message(lang))
    sign_in = users.open_sign_in(db, principal, kind=SESSION, ttl=settings.session_ttl, ip=client_ip(request))
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(settings.session_cookie, sign_in.token, max_age=int(settings.session_ttl.total_seconds()),
                        httponly=True, samesite="lax", secure=settings.secure_cookies, path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


@router.post("/logout")
def logout(request: Request, db: DbDep, settings: SettingsDep,
           user: Annotated[Principal, Depends(csrf_checked)]) -> Response:
    users.close_sign_in(db, request.cookies.get(settings.session_cookie, ""), actor=user.username)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(settings.session_cookie, path="/", secure=settings.secure_cookies, httponly=True,
                           samesite="lax")
    return response
